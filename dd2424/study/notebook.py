"""The first cell of every chapter notebook: :func:`open_chapter` turns its parameters into a :class:`Context`.

A notebook's parameters cell (tagged ``parameters``, typed so that ``papermill --help-notebook``
shows them) is the one place its defaults live; :func:`notebook_parameters` reads them back from
the notebook file. :func:`open_chapter` then

* parses list parameters given as text (``papermill -p seeds "[0, 1]"`` passes a string),
* passes the parameters named like profile fields (``seeds``, ``n_s``, ...) or like the chapter's
  own settings (``sigmas``, ``ablation_wide``, ...) as their overrides,
* names the summary part (the chapter's ``part_name`` of these values, ``ctx.part``),
* names the outputs: a parameter set of the registry (the pipeline's own) or the notebook's
  defaults keeps the plain names the report reads; any other set gets a suffix made of its
  non-default values (``sensitivity-lam=0.01``), so it never overwrites the default run's
  figures, tables or summary part in the same output folder.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

from ..errors import ConfigError
from .chapter import Chapter
from .context import Context
from .profiles import PROFILE_FIELDS
from .registry import COMMON_PARAMETERS, chapter_of, notebooks_dir


def open_chapter(notebook: str, parameters: Mapping[str, Any]) -> Context:
    """The :class:`Context` of a chapter notebook, from its parameters (pass ``globals()``).

    ``notebook`` is the notebook's name (``"03_lambda_search"``); the parsed parameter values
    are in ``ctx.params`` (use them rather than the raw globals: lists given as text are parsed).
    """
    chapter = chapter_of(notebook)
    declared = notebook_parameters(chapter)
    values = {name: parse_parameter(name, parameters.get(name, default), annotation)
              for name, (annotation, default) in declared.items()}  # fmt: skip
    common = {k: values[k] for k in COMMON_PARAMETERS if k in values}
    overrides = {k: v for k, v in values.items() if k in PROFILE_FIELDS | chapter.setting_names}
    ctx = Context(common.pop("profile", "quick"), suffix=output_suffix(chapter, declared, values), chapter=chapter,
                  part=chapter.part_name(values), **common, **overrides)  # fmt: skip
    ctx.params = SimpleNamespace(**values)
    return ctx


def notebook_parameters(chapter: Chapter) -> dict[str, tuple[str | None, Any]]:
    """The parameters cell of a chapter's notebook: name -> (type annotation or None, default value)."""
    folder = notebooks_dir()
    path = folder / chapter.notebook if folder else None
    if path is None or not path.is_file():
        raise ConfigError(f"{chapter.notebook} not found: the notebooks need a source checkout of dd2424 (notebooks/)")
    return parameters_of(path)


def parameters_of(path: Path) -> dict[str, tuple[str | None, Any]]:
    """Name -> (annotation, default) of the assignments in a notebook's cell tagged ``parameters``."""
    cells = json.loads(path.read_text())["cells"]
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ConfigError(f"{path.name} has no cell tagged 'parameters'")
    out: dict[str, tuple[str | None, Any]] = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = (ast.unparse(node.annotation), ast.literal_eval(node.value))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = (None, ast.literal_eval(node.value))
    return out


def parse_parameter(name: str, value: Any, annotation: str | None) -> Any:
    """``value`` as the parameter's type: a list parameter given as text (``-p seeds "[0, 1]"``) is parsed."""
    if annotation != "list" or not isinstance(value, str):
        return value
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = None
    if not isinstance(parsed, (list, tuple)):
        raise ConfigError(f"parameter {name} must be a list, got the text {value!r}; write it as a Python list "
                          f"(-p {name} \"[0, 1]\") or pass it as YAML (-y \"{name}: [0, 1]\")")  # fmt: skip
    return list(parsed)


def output_suffix(chapter: Chapter, declared: Mapping[str, tuple[str | None, Any]], values: Mapping[str, Any]) -> str:
    """``""`` for the notebook's defaults or a registry step's parameters, else ``-name=value_...`` of the non-default ones."""
    defaults = {k: default for k, (_, default) in declared.items() if k not in COMMON_PARAMETERS}

    def changed(params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: _plain(v) for k, v in params.items() if k in defaults and _plain(v) != _plain(defaults[k])}

    given = changed(values)
    if not given or any(changed(step.parameters) == given for step in chapter.steps):
        return ""
    return "-" + "_".join(f"{k}={_slug(v)}" for k, v in given.items())


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _slug(value: Any) -> str:
    if isinstance(value, list):
        return ("+" if any(isinstance(v, list) for v in value) else ",").join(_slug(v) for v in value)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9._+-]", "", text)
