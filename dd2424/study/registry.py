"""The registry of chapters: which chapter modules the report pipeline runs, in which order.

:data:`CHAPTER_MODULES` is the one list of the report's chapters: the names of their modules in
``dd2424/study/``, in the order of their notebooks' numbers. Each module's ``CHAPTER``
(:class:`~.chapter.Chapter`, the chapter contract) says everything else: its notebook, its
settings per profile, its planned runs, its timing, its summary sections and, for a notebook run
more than once, its steps. From them :mod:`dd2424.report` takes the notebooks it executes and
the planned number of training runs behind the progress lines, and
:func:`dd2424.study.summary.build_summary` the summary parts it merges into
``results/summary.json``, the ``settings`` it records and each chapter's share of ``timing``.
``report.ipynb`` runs after them and is not listed.

Adding a chapter takes exactly three things:

1. a module ``dd2424/study/<name>.py`` with its configurations, tables and numbers, and its
   contract ``CHAPTER = Chapter(notebook="NN_<name>.ipynb", summary=("<section>",), ...)``
   (``settings={"full": ..., "quick": ..., "smoke": ...}`` with a frozen
   :class:`~.profiles.ChapterSettings` subclass when a profile fixes something for it alone,
   ``planned_runs=`` when it trains, ``timing=`` when its section holds compute time or runs);
   it imports only the shared modules and, if it reads their results, earlier chapters;
2. a notebook ``notebooks/NN_<name>.ipynb``: a title cell, a ``parameters`` cell with
   :data:`COMMON_PARAMETERS` and its own (typed), ``ctx = open_chapter("NN_<name>", globals())``,
   its cells, and ``ctx.save_part(<name>.summary_part(ctx, ...))`` at the end;
3. one line here: ``"<name>"`` in :data:`CHAPTER_MODULES`, at its number's place.

``tests/test_registry.py`` and ``tests/test_notebooks.py`` check that the three agree.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from ..errors import ConfigError
from .chapter import Chapter, Step
from .paths import project_root
from .profiles import Profile

#: the chapter modules of ``dd2424/study/``, in the order of their notebooks (and of the pipeline)
CHAPTER_MODULES: tuple[str, ...] = (
    "gradient_check",
    "training_curves",
    "lambda_search",
    "init_sensitivity",
    "beyond",
    "pictures",  # no training: the saved runs of 02 and 05, drawn
    "deeper",  # 7 and 9 layers with Adam, width and skips; Adaptive BN on its own, 02's and 05's networks
)

#: parameters the pipeline passes to every notebook of the registry (each must declare them)
COMMON_PARAMETERS = ("profile", "output_dir", "data", "jobs", "scheduler", "force", "progress_log")

#: each module's contract, in the registry's order
CHAPTERS: tuple[Chapter, ...] = tuple(import_module(f"{__package__}.{name}").CHAPTER for name in CHAPTER_MODULES)


def _check_setting_names(chapters: tuple[Chapter, ...]) -> None:
    """Two chapters may not share a setting's name: they share summary.json's ``settings``."""
    owner: dict[str, str] = {}
    for c in chapters:
        for name in sorted(c.setting_names):
            if name in owner:
                raise ConfigError(f"{c.stem} and {owner[name]} both have a setting {name!r}; rename one of them")
            owner[name] = c.stem


_check_setting_names(CHAPTERS)


def notebooks_dir() -> Path | None:
    """``notebooks/`` of the source checkout, or None outside one."""
    root = project_root()
    return root / "notebooks" if root else None


def chapters(include_missing: bool = False) -> list[Chapter]:
    """The chapters the pipeline runs, in order: every entry, less optional ones whose notebook is missing."""
    folder = notebooks_dir()
    return [c for c in CHAPTERS
            if include_missing or not c.optional or (folder is not None and (folder / c.notebook).is_file())]  # fmt: skip


def chapter_of(notebook: str) -> Chapter:
    """The chapter of a notebook, by file name or stem (``"03_lambda_search"``)."""
    for c in CHAPTERS:
        if notebook in (c.notebook, c.stem):
            return c
    raise KeyError(f"{notebook!r} is not a registered chapter; known: {', '.join(c.stem for c in CHAPTERS)}")


def pipeline_steps() -> list[tuple[Chapter, Step]]:
    """Every (chapter, step) the pipeline executes, in order (``report.ipynb`` comes after them)."""
    return [(c, s) for c in chapters() for s in c.steps]


def planned_runs(profile: Profile) -> int:
    """How many training runs the whole pipeline asks for (reused or not), at least."""
    return sum(c.runs(profile) for c in chapters())


def summary_parts() -> list[str]:
    """The summary parts (``results/summary/<part>.json``) the pipeline's steps write, in order."""
    return [s.name for _, s in pipeline_steps()]


def settings_of(profile: Profile) -> dict:
    """Every setting of ``profile``: its shared fields, then each chapter's own (``settings`` in summary.json)."""
    out = profile.to_dict()
    for chapter in chapters():
        own = chapter.settings_for(profile.name)
        out.update(own.to_dict() if own is not None else {})
    return out
