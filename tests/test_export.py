"""The report's export: a self-contained HTML page with rendered mathematics, an A4 PDF, files 0644."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from html.parser import HTMLParser

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dd2424 import export

TABLE = """| step | what it changes | validation acc. (%) | ± std | test acc. (%) |
|:---|---:|---:|---:|---:|
| baseline | the assignment's 3-layer network with BN, trained with the cyclical learning rate | 35.00 | 0.00 | 30.70 |
| width | hidden layers [1024, 512], lambda 0.0001 (less L2 for a wider network), batches of 250 | 32.50 | 2.83 | 29.80 |
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _tiny_notebook():
    nb = new_notebook(metadata={"title": "A tiny report"})
    nb.cells = [
        new_markdown_cell("# Method\n\nThe cost adds $\\lambda \\sum_l \\|W_l\\|_F^2$ to the loss, with\n\n"
                          "$$\\hat{s} = \\frac{s - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}}$$\n\n" + TABLE),  # fmt: skip
        new_code_cell("display(Markdown(...))", metadata={"tags": ["remove_input"]}, outputs=[
            new_output("display_data", data={"text/markdown": "Commit 6b13c7c0123456789abcdef0123456789abcdef01, "
                                                              "$\\lambda = 0.005$.", "text/plain": "<md>"}),
        ]),  # fmt: skip
        new_markdown_cell("## Results\n\nText."),
    ]
    return nb


class _Resources(HTMLParser):
    """Collects every script source and stylesheet link of a page, and whether a remote CSS import occurs."""

    def __init__(self):
        super().__init__()
        self.scripts, self.links, self.styles, self.text = [], [], [], []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link":
            self.links.append(attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    nbformat.write(_tiny_notebook(), folder / "report.ipynb")
    out = folder / "report"
    status = export.export_report(folder / "report.ipynb", out, emit=lambda line: None)
    return out, status


def test_the_html_loads_nothing_from_the_network(exported):
    out, _ = exported
    page = _Resources()
    page.feed((out / "dd2424-report.html").read_text())
    assert page.scripts == [], f"scripts with a src: {page.scripts}"
    remote = lambda url: "//" in url  # noqa: E731 (http://, https:// and protocol-relative //host)
    assert not [link for link in page.links if remote(link.get("href", ""))]
    assert not [css for css in page.styles if "@import" in css and "url(" in css and "//" in css]


def test_the_html_has_a_title_numbered_sections_and_rendered_mathematics(exported):
    out, _ = exported
    html = (out / "dd2424-report.html").read_text()
    page = _Resources()
    page.feed(html)
    text = "".join(page.text)
    assert 'class="dd2424-title"' in html and "A tiny report" in text
    assert '<span class="dd2424-secnum">1</span> Method' in html and '<span class="dd2424-secnum">1.1</span> Results' in html
    assert html.count("<math") >= 3  # inline, display and the one inside a Markdown output
    assert "$\\lambda" not in html and "$$" not in text and "\\frac" not in text
    assert "<table" in html


def test_the_report_files_are_0644_and_no_temporary_file_is_left(exported):
    out, _ = exported
    names = sorted(p.name for p in out.iterdir())
    assert all(not name.startswith(".") for name in names), names
    for name in names:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_the_pdf_is_a4(exported):
    out, status = exported
    missing = [tool for tool in ("xelatex", "pandoc", "pdfinfo") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install {export.LATEX_PACKAGES} poppler-utils)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    assert status == 0
    info = subprocess.run(["pdfinfo", str(out / "dd2424-report.pdf")], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split("x"))
    assert (round(width), round(height)) == (595, 842), size


def test_the_latex_template_typesets_a_paper(tmp_path):
    """The LaTeX source: A4 geometry, floated figures, the table fitted to the text width (tables.lua)."""
    if shutil.which("pandoc") is None:
        if _in_ci():
            pytest.fail("pandoc not installed")
        pytest.skip("pandoc not installed")
    from nbconvert import LatexExporter

    exporter = LatexExporter(config=export._config(), template_name=export.LATEX_TEMPLATE,
                             extra_template_basedirs=[str(export.TEMPLATES)])  # fmt: skip
    resources = {"metadata": {"name": "t", "path": str(tmp_path)},
                 "dd2424_pandoc_args": [f"--lua-filter={export.TABLES_FILTER}"]}  # fmt: skip
    tex, _ = exporter.from_notebook_node(_tiny_notebook(), resources=resources)
    assert "a4paper" in tex and "margin=2.5cm" in tex and "\\raggedbottom" in tex
    assert "\\title{A tiny report}" in tex
    assert "\\real{" in tex  # relative column widths: the long text column wraps
    assert "\\hyphenpenalty=10000" in tex  # headers are never hyphenated
    assert "\\seqsplit{6b13c7c0123456789abcdef" in tex  # the long hash may break


def test_unsupported_latex_is_shown_as_source_not_an_error():
    assert export.latex_to_mathml("\\lambda").startswith("<math")
    assert "math-source" in export.latex_to_mathml("\\left( x")  # no \\right: latex2mathml refuses it
