"""Export the executed report notebook to ``dd2424-report.html`` and ``dd2424-report.pdf``.

Both go through nbconvert with small templates kept in this package (``templates/``):

- ``dd2424_latex`` (extends nbconvert's ``latex``): A4 with 2.5 cm margins (a 16 cm = 6.3 in
  text width, the width :mod:`dd2424.plotting` draws its figures at), the notebook's metadata
  title and authors, every figure and table a numbered ``[htbp]`` float with its caption and a
  hyperlink target, floats kept inside their section (a float barrier at every section and
  subsection), ``\\raggedbottom``, printed lines and long hashes broken, and Markdown tables
  set as unbreakable ``tabular``\\ s fitted to the text width by the pandoc filter
  ``templates/dd2424_latex/tables.lua``;
- ``dd2424_html`` (extends ``lab``): a self-contained page that loads nothing from the network
  (no require.js, MathJax or mermaid), a visible title and author line, numbered sections (the
  numbers written into the headings) and every figure and table a ``<figure>`` with an id, a
  ``<figcaption>`` and, for images, the caption as alt text. The mathematics is written as
  MathML at export time (latex2mathml), which browsers render natively.

Before either, :mod:`dd2424.floats` numbers the figures and tables and resolves the citations
of them in the text, and :func:`dd2424.typeset.typeset_markdown` puts every Markdown text in the
report's number style (powers of ten, Greek symbols, no break before ``%``).

Both files are written to temporary names in the report folder, made mode 0644 and renamed
only when everything is written (the PDF failing leaves the previous files alone).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import os
import re
import shutil
import tempfile
from html import escape
from pathlib import Path
from typing import Callable, Iterator

from .floats import float_problems, prepare
from .typeset import plain_text

REPORT_NAME = "dd2424-report"
LATEX_PACKAGES = "texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc"
#: cell tags the export understands (set them in JupyterLab's property inspector)
REMOVE_CELL_TAGS = {"remove_cell", "parameters", "injected-parameters"}
REMOVE_INPUT_TAGS = {"remove_input"}
EXIT_FAILED = 1

TEMPLATES = Path(__file__).parent / "templates"
HTML_TEMPLATE, LATEX_TEMPLATE = "dd2424_html", "dd2424_latex"
TABLES_FILTER = TEMPLATES / LATEX_TEMPLATE / "tables.lua"
FILE_MODE = 0o644


def export_report(executed: Path, report_dir: Path, emit: Callable[[str], None] = print,
                  source_date: str | None = None) -> int:  # fmt: skip
    """Write ``<report_dir>/dd2424-report.html`` and, with LaTeX available, ``.pdf``; exit status.

    Both are written to temporary names and renamed at the end. Without xelatex or pandoc the
    HTML is still written and the status is 0, after a warning naming the packages to install.
    ``source_date`` (ISO 8601, such as the summary's ``generated``) is the PDF's creation date
    and the seed of its document ID (:func:`source_date_epoch`): the same notebook and date give
    the same bytes. Without it, the time of the export.
    """
    import nbformat

    executed, report_dir = Path(executed), Path(report_dir)
    nb = nbformat.read(executed, as_version=4)
    resources = {"metadata": {"name": REPORT_NAME, "path": str(executed.parent)}}

    for problem in float_problems(nb):
        emit(f"dd2424 report: warning: {problem}")
    report_dir.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, Path]] = []
    try:
        html = export_html(nb, resources)
        written.append((_temp_file(report_dir, html.encode()), report_dir / f"{REPORT_NAME}.html"))
        missing = [tool for tool in ("xelatex", "pandoc") if shutil.which(tool) is None]
        status = 0
        if missing:
            emit(f"dd2424 report: warning: {' and '.join(missing)} not found, so no PDF; the HTML report is written. "
                 f"To get the PDF install (Debian/Ubuntu): apt-get install {LATEX_PACKAGES}")  # fmt: skip
        else:
            try:
                with source_date_epoch(source_date):
                    pdf = export_pdf(nb, resources)
                written.append((_temp_file(report_dir, pdf), report_dir / f"{REPORT_NAME}.pdf"))
            except Exception as error:  # LatexFailed and friends: keep the HTML, say why
                tail = "\n".join(str(getattr(error, "output", error)).strip().splitlines()[-15:])
                emit(f"dd2424 report: the PDF export failed ({type(error).__name__}); the HTML report is written.\n{tail}")
                status = EXIT_FAILED
        for tmp, final in written:
            os.replace(tmp, final)
        written = []
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
    outputs = [report_dir / f"{REPORT_NAME}.{ext}" for ext in ("pdf", "html")]
    emit("dd2424 report: wrote " + ", ".join(str(p) for p in outputs if p.exists()))
    return status


@contextlib.contextmanager
def source_date_epoch(stamp: str | None) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` (with ``FORCE_SOURCE_DATE``) set to the time ``stamp`` while the block runs: TeX's
    date and xdvipdfmx's creation date and document ID then come from it, not from the clock. No-op for ``None``."""
    if not stamp:
        yield
        return
    moment = datetime.datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    saved = {name: os.environ.get(name) for name in ("SOURCE_DATE_EPOCH", "FORCE_SOURCE_DATE")}
    os.environ.update(SOURCE_DATE_EPOCH=str(int(moment.timestamp())), FORCE_SOURCE_DATE="1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def export_html(nb, resources: dict | None = None) -> str:
    """The notebook as one self-contained HTML page (see the module docstring)."""
    exporter = _html_exporter_class()(config=_config(), template_name=HTML_TEMPLATE,
                                      extra_template_basedirs=[str(TEMPLATES)])  # fmt: skip
    exporter.register_filter("dd2424_plain", plain_text)
    resources = dict(resources or {"metadata": {"name": REPORT_NAME, "path": "."}})
    resources["dd2424_first_heading"] = first_heading(nb)
    html, _ = exporter.from_notebook_node(_prepared(nb), resources=resources)
    return number_headings(html)


def export_pdf(nb, resources: dict | None = None) -> bytes:
    """The notebook typeset by xelatex through the ``dd2424_latex`` template (needs pandoc and xelatex)."""
    from nbconvert import PDFExporter

    exporter = PDFExporter(config=_config(), template_name=LATEX_TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])
    resources = dict(resources or {"metadata": {"name": REPORT_NAME, "path": "."}})
    resources["dd2424_pandoc_args"] = [f"--lua-filter={TABLES_FILTER}"]
    pdf, _ = exporter.from_notebook_node(_prepared(nb), resources=resources)
    return pdf


def first_heading(nb) -> str | None:
    """The text of the notebook's first Markdown heading, or None."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if match:
                    return match.group(1)
    return None


def number_headings(html: str) -> str:
    """Write the section numbers into the report's ``<h1>``-``<h3>`` (1, 1.1, 1.1.1, as in the PDF).

    Only the headings inside ``<main>`` after the title block are numbered (not the page title);
    each gets a leading ``<span class="dd2424-secnum">``.
    """
    start = html.find("<main")
    if start < 0:
        return html
    title = html.find('class="dd2424-title"', start)
    if title >= 0:
        start = html.find("</header>", title)
    counters = [0, 0, 0]

    def number(match: re.Match) -> str:
        level = int(match.group(1)) - 1
        counters[level] += 1
        counters[level + 1 :] = [0] * (2 - level)
        label = ".".join(str(c) for c in counters[: level + 1])
        return f'{match.group(0)}<span class="dd2424-secnum">{label}</span> '

    return html[:start] + re.sub(r"<h([1-3])(?:\s[^>]*)?>", number, html[start:])


def latex_to_mathml(tex: str, display: str = "inline") -> str:
    """``tex`` as a MathML element; the escaped source in a ``<code>`` if latex2mathml cannot convert it."""
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # an unsupported command: show the source rather than fail the report
        tag = "div" if display == "block" else "span"
        return f'<{tag} class="math-source"><code>{escape(tex)}</code></{tag}>'


# --------------------------------------------------------------------------- nbconvert pieces


def _config():
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = REMOVE_CELL_TAGS
    config.TagRemovePreprocessor.remove_input_tags = REMOVE_INPUT_TAGS
    config.TemplateExporter.exclude_input = True  # --no-input: no code even in an untagged cell
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    config.HTMLExporter.embed_images = True  # Markdown images inline too: the page stands alone
    return config


def _html_exporter_class():
    """An HTMLExporter whose Markdown renderer writes the mathematics as MathML."""
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    try:
        from jinja2 import pass_context
    except ImportError:  # pragma: no cover - jinja2 < 3
        from jinja2 import contextfilter as pass_context

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body: str) -> str:
            return latex_to_mathml(body, "block")

        def multiline_math(self, text: str) -> str:
            inner = text.strip()
            for left, right in (("$$", "$$"), ("\\[", "\\]")):
                if inner.startswith(left) and inner.endswith(right):
                    inner = inner[len(left) : -len(right)]
            return latex_to_mathml(inner, "block")

        def latex_environment(self, name: str, body: str) -> str:
            return latex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

        def inline_math(self, body: str) -> str:
            return latex_to_mathml(body, "inline")

    class ReportHTMLExporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            path = context.get("resources", {}).get("metadata", {}).get("path", "")
            renderer = MathMLRenderer(
                escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images, path=path,
                anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )  # fmt: skip
            return MarkdownWithMath(renderer=renderer).render(source)

    return ReportHTMLExporter


def _prepared(nb):
    """A copy of ``nb`` with its floats numbered, citations resolved and text typeset (:func:`dd2424.floats.prepare`)."""
    nb = copy.deepcopy(nb)
    prepare(nb)
    return nb


def _temp_file(folder: Path, content: bytes) -> Path:
    """``content`` in a new temporary file of ``folder``, flushed to disk, mode 0644 (not mkstemp's 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
