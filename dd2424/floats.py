"""Numbered figures and tables, cited by number in the text, alike in the PDF and the HTML report.

In the report notebook, one :class:`Floats` shows every figure and table under a key and writes
the citations::

    floats = Floats()
    md(f"{floats.ref('fig:curves-3layer')} shows the loss ...")   # [Figure 1](#fig-curves-3layer)
    floats.figure("fig:curves-3layer", plotting.FigureFiles(...), "caption in Markdown")
    floats.table("tab:lambda-search", markdown_table, "caption in Markdown")

A key is ``fig:<name>`` or ``tab:<name>`` (``<name>``: letters, digits, ``_`` and ``-``); its
anchor is ``fig-<name>``. A citation is a Markdown link to the anchor whose text is the kind and
a number (``[Figure 1](#fig-curves-3layer)``). The numbers the notebook shows are provisional;
the export (:func:`prepare`) numbers the floats in the order they are shown, rewrites
every citation with those numbers, drops the caption paragraphs shown in the notebook and puts
each float's number and caption in its output's metadata (``dd2424_float``), from which the
LaTeX template writes a ``figure``/``table`` float with ``\\caption`` and ``\\hypertarget`` and the
HTML template a ``<figure id=...>`` with a ``<figcaption>`` and the caption as the image's alt
text. :func:`float_problems` lists floats nobody cites, floats shown before their first citation
and citations of floats nobody shows. Cite a float before showing it.

:func:`declare_authors` sets the report's author line the same way (``nb.metadata.authors``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

FLOAT = "dd2424_float"  # output metadata: a float's kind, key, anchor, caption and number
CAPTION_OF = "dd2424_caption_of"  # output metadata: the caption paragraph the notebook shows
AUTHORS = "dd2424_authors"  # output metadata: the report's authors
KINDS = {"fig": "figure", "tab": "table"}
WORDS = {"figure": "Figure", "table": "Table"}
KEY = re.compile(r"^(fig|tab):([A-Za-z0-9_-]+)$")
#: a citation as :meth:`Floats.ref` writes it, whatever number it holds
CITATION = re.compile(r"\[(Figure|Table)(?:[\s\u00a0][^\]]*)?\]\(#((?:fig|tab)-[A-Za-z0-9_-]+)\)")


def anchor(key: str) -> str:
    """The HTML id and LaTeX hypertarget of a key: ``fig:curves`` -> ``fig-curves``."""
    return _parse(key)[0] + "-" + _parse(key)[1]


def kind_of(key: str) -> str:
    """``figure`` or ``table``."""
    return KINDS[_parse(key)[0]]


def _parse(key: str) -> tuple[str, str]:
    match = KEY.match(key)
    if match is None:
        raise ValueError(f"float key {key!r}: write fig:<name> or tab:<name> (letters, digits, _ and -)")
    return match.group(1), match.group(2)


def citation(key: str, number: int | str) -> str:
    """The Markdown of a citation: ``[Figure 3](#fig-key)`` (a non-breaking space before the number)."""
    return f"[{WORDS[kind_of(key)]}\u00a0{number}](#{anchor(key)})"


class Floats:
    """The report's figures and tables: shows them under a key, and cites them (see the module docstring)."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._shown: set[str] = set()

    def ref(self, key: str) -> str:
        """A citation of ``key`` for the text, e.g. ``[Figure 3](#fig-key)``; the float may be shown later."""
        return citation(key, self._number(key))

    def figure(self, key: str, image: Any, caption: str) -> None:
        """Show ``image`` (anything IPython displays as PNG/PDF, e.g. ``plotting.FigureFiles``) as figure ``key``."""
        self._show(key, "figure", image, caption)

    def table(self, key: str, markdown: str, caption: str) -> None:
        """Show the Markdown table ``markdown`` as table ``key``, its caption above it."""
        from IPython.display import Markdown

        self._show(key, "table", Markdown(markdown), caption)

    def _show(self, key: str, kind: str, obj: Any, caption: str) -> None:
        from IPython.display import Markdown, display

        if kind_of(key) != kind:
            raise ValueError(f"float key {key!r} is not a {kind}: a {kind} key starts with {kind[:3]}:")
        if key in self._shown:
            raise ValueError(f"float {key!r} is shown twice: give each figure and table its own key")
        self._shown.add(key)
        number = self._number(key)
        info = {"kind": kind, "key": key, "anchor": anchor(key), "caption": caption.strip(), "number": number}
        caption_md = Markdown(f"*{WORDS[kind]} {number}: {caption.strip()}*")
        if kind == "table":
            display(caption_md, metadata={CAPTION_OF: key})
        display(obj, metadata={FLOAT: info})
        if kind == "figure":
            display(caption_md, metadata={CAPTION_OF: key})

    def _number(self, key: str) -> int:
        kind = kind_of(key)
        if key not in self._numbers:
            self._numbers[key] = 1 + sum(kind_of(k) == kind for k in self._numbers)
        return self._numbers[key]


def declare_authors(names: Sequence[str]) -> None:
    """Set the report's author line (the export moves it into ``nb.metadata.authors``)."""
    from IPython.display import display

    display({"text/plain": ""}, raw=True, metadata={AUTHORS: [str(n) for n in names]})


# --------------------------------------------------------------------------- export side


def _outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.get("outputs", [])


def float_numbers(nb) -> dict[str, int]:
    """Every float's key and its number: figures and tables each counted in the order they are shown."""
    numbers: dict[str, int] = {}
    counts = {"figure": 0, "table": 0}
    for output in _outputs(nb):
        info = output.get("metadata", {}).get(FLOAT)
        if info:
            counts[info["kind"]] += 1
            numbers[info["key"]] = counts[info["kind"]]
    return numbers


def _events(nb):
    """The report in reading order: ``("text", markdown)`` for every Markdown text, ``("float", key)`` for every float."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            yield "text", cell.source
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            meta = output.get("metadata", {})
            if "text/markdown" in output.get("data", {}) and CAPTION_OF not in meta and FLOAT not in meta:
                yield "text", output["data"]["text/markdown"]
            if meta.get(FLOAT):
                yield "float", meta[FLOAT]["key"]
                yield "text", meta[FLOAT]["caption"]


def float_problems(nb) -> list[str]:
    """What is wrong with the floats of an executed report, in words; empty when nothing is.

    A float that no text cites, a citation of a float that is not shown, and a float shown
    before the text first cites it (LaTeX may then print it a page before its citation).
    """
    numbers = float_numbers(nb)
    anchors = {anchor(k): k for k in numbers}
    cited: set[str] = set()
    problems, early = [], []
    for event, value in _events(nb):
        if event == "float":
            if value not in cited:
                early.append(value)
            continue
        for match in CITATION.finditer(value):
            if match.group(2) in anchors:
                cited.add(anchors[match.group(2)])
            else:
                problems.append(f"{match.group(0)!r} cites {match.group(2)}, which no figure or table has")
    problems += [f"{WORDS[kind_of(k)]} {numbers[k]} ({k}) is shown before the text cites it" for k in early if k in cited]
    problems += [f"{WORDS[kind_of(k)]} {n} ({k}) is never cited in the text" for k, n in numbers.items() if k not in cited]
    return problems


def _resolve(text: str, numbers: dict[str, int]) -> str:
    keys = {anchor(k): k for k in numbers}

    def one(match: re.Match) -> str:
        key = keys.get(match.group(2))
        return citation(key, numbers[key]) if key else f"[{match.group(1)}\u00a0??](#{match.group(2)})"

    return CITATION.sub(one, text)


def prepare(nb) -> None:
    """Make an executed report ready for its templates (in place): see the module docstring.

    Numbers the floats, resolves the citations, moves the declared authors into
    ``nb.metadata.authors``, drops the caption paragraphs shown for the notebook's reader and puts
    every Markdown text in the report's number style (:func:`dd2424.typeset.typeset_markdown`).
    Runs before nbconvert's own preprocessors, which remove tagged cells.
    """
    from .typeset import typeset_markdown

    numbers = float_numbers(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = typeset_markdown(_resolve(cell.source, numbers))
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {})
            if CAPTION_OF in meta:
                continue
            if AUTHORS in meta:
                nb.metadata["authors"] = [{"name": name} for name in meta[AUTHORS]]
                continue
            data = output.get("data", {})
            if "text/markdown" in data:
                data["text/markdown"] = typeset_markdown(_resolve(data["text/markdown"], numbers))
            if FLOAT in meta:
                info = meta[FLOAT]
                info["number"] = numbers[info["key"]]
                info["caption"] = typeset_markdown(_resolve(info["caption"], numbers))
                info["label"] = f"{WORDS[info['kind']]} {info['number']}"
            kept.append(output)
        cell.outputs = kept
