"""Numbered figures and tables cited by number (dd2424.floats), the number style (dd2424.typeset), and the report's layout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from dd2424 import export, floats
from dd2424.typeset import NBSP, fmt_power, plain_text, typeset_markdown

ROOT = Path(__file__).resolve().parents[1]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
TABLE = "| stage | lambda | sigma | test acc. (%) |\n|:---|---:|---:|---:|\n| coarse | 0.0001 | 0.1 | 51.35 |\n"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _skip_without(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install {export.LATEX_PACKAGES} poppler-utils)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


class _Image:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"image/png": PNG, "text/plain": "<image>"}


@pytest.fixture
def shown(monkeypatch):
    """What the code of a cell displays, as the outputs a kernel would store (data and metadata)."""
    import IPython.display
    from IPython.core.formatters import format_display_data

    outputs = []

    def display(obj, raw=False, metadata=None, **kw):
        data, meta = (obj, {}) if raw else format_display_data(obj)
        outputs.append(new_output("display_data", data=data, metadata={**(meta or {}), **(metadata or {})}))

    monkeypatch.setattr(IPython.display, "display", display)
    return outputs


def _report(shown, ref_first: str = "tab:b") -> nbformat.NotebookNode:
    """A report: a forward citation of ``ref_first``, two tables, a figure, an output heading and the authors."""
    f = floats.Floats()
    floats.declare_authors(["A. Author"])
    early = f.ref(ref_first)
    f.table("tab:a", TABLE, "the first table, $\\lambda$ against accuracy.")
    f.table("tab:b", TABLE, "the second table.")
    f.figure("fig:x", _Image(), "a figure with $\\sigma$ = 1e-4 in its caption.")
    from IPython.display import Markdown, display

    display(Markdown("## What the classifier learned"))
    display(Markdown(f"{f.ref('tab:a')} and {f.ref('fig:x')} show it, at 83 % with 53.37 ± 0.24 %."))
    nb = new_notebook(metadata={"title": "A tiny report"})
    nb.cells = [new_markdown_cell(f"# Results\n\n{early} comes first in the text."),
                new_code_cell("", metadata={"tags": ["remove_input"]}, outputs=list(shown))]  # fmt: skip
    return nb


# --------------------------------------------------------------------------- numbers and citations


def test_the_notebook_numbers_each_kind_by_first_mention_and_links_the_anchor():
    f = floats.Floats()
    assert f.ref("fig:b") == "[Figure\u00a01](#fig-b)"
    assert f.ref("tab:a") == "[Table\u00a01](#tab-a)" and f.ref("fig:a") == "[Figure\u00a02](#fig-a)"
    assert f.ref("fig:b").startswith("[Figure\u00a01]")  # the same key keeps its number


@pytest.mark.parametrize("key", ["curves", "figure:x", "fig:", "fig:a b", "tab:x.y"])
def test_a_malformed_key_is_refused_with_the_form_to_use(key):
    with pytest.raises(ValueError, match="fig:<name> or tab:<name>"):
        floats.Floats().ref(key)


def test_a_float_shown_twice_or_under_the_wrong_kind_is_refused(shown):
    f = floats.Floats()
    f.figure("fig:x", _Image(), "c")
    with pytest.raises(ValueError, match="shown twice"):
        f.figure("fig:x", _Image(), "c")
    with pytest.raises(ValueError, match="not a table"):
        f.table("fig:y", TABLE, "c")


def test_the_export_numbers_floats_in_display_order_and_rewrites_every_citation(shown):
    nb = _report(shown)  # tab:b is cited (provisional Table 1) before tab:a is shown
    assert floats.float_numbers(nb) == {"tab:a": 1, "tab:b": 2, "fig:x": 1}
    floats.prepare(nb)
    assert "[Table\u00a02](#tab-b) comes first" in nb.cells[0].source
    texts = [o.data["text/markdown"] for o in nb.cells[1].outputs if "text/markdown" in o.data]
    assert not any(t.startswith("*Table") or t.startswith("*Figure") for t in texts)  # the notebook's captions are dropped
    assert "[Table\u00a01](#tab-a) and [Figure\u00a01](#fig-x)" in texts[-1]
    infos = [o.metadata[floats.FLOAT] for o in nb.cells[1].outputs if floats.FLOAT in o.metadata]
    assert [(i["label"], i["anchor"]) for i in infos] == [("Table 1", "tab-a"), ("Table 2", "tab-b"), ("Figure 1", "fig-x")]
    assert nb.metadata.authors == [{"name": "A. Author"}]


def test_float_problems_name_uncited_floats_and_citations_of_unknown_ones(shown):
    f = floats.Floats()
    f.figure("fig:x", _Image(), "c")
    nb = new_notebook()
    nb.cells = [new_markdown_cell(f"{f.ref('tab:gone')} is cited."), new_code_cell("", outputs=list(shown))]
    problems = floats.float_problems(nb)
    assert any("tab-gone" in p and "no figure or table" in p for p in problems)
    assert any(p.startswith("Figure 1 (fig:x) is never cited") for p in problems)
    nb.cells.append(new_markdown_cell(f"{f.ref('fig:x')} shows it."))
    assert [p for p in floats.float_problems(nb) if "fig:x" in p] == ["Figure 1 (fig:x) is shown before the text cites it"]
    nb.cells.insert(0, nb.cells.pop())  # cited, then shown
    assert [p for p in floats.float_problems(nb) if "fig:x" in p] == []


# --------------------------------------------------------------------------- number style


@pytest.mark.parametrize("value, text", [(1e-5, "$10^{-5}$"), (0.00346, "$3.46 \\times 10^{-3}$"), (0.1, "$10^{-1}$"),
                                         (2.5, "$2.5$"), (0, "$0$"), (None, "-"), (float("nan"), "-")])  # fmt: skip
def test_fmt_power_writes_powers_of_ten(value, text):
    assert fmt_power(value) == text


def test_prose_gets_powers_of_ten_and_unbreakable_percentages_but_code_and_maths_stay():
    text = typeset_markdown("error 5.90e-08, `run-1e5.json`, $\\lambda = 0.005$, [a](#x-1e5), lambda 0.0001; 83 % and 53.37 ± 0.24 %.")
    assert "error $5.90 \\times 10^{-8}$" in text and "$\\lambda$ = $10^{-4}$" in text
    assert "`run-1e5.json`" in text and "$\\lambda = 0.005$" in text and "(#x-1e5)" in text
    assert typeset_markdown("from git commit 396e179 (code version 0a3c781a97b8)") == "from git commit 396e179 (code version 0a3c781a97b8)"
    assert typeset_markdown("between 1e-5 and 0.001, lambda = 0.00346, +0.00 points, 0.01") == \
        "between $10^{-5}$ and $10^{-3}$, $\\lambda$ = $3.46 \\times 10^{-3}$, +0.00 points, 0.01"  # fmt: skip
    assert typeset_markdown("| gain |\n|---:|\n| -0.64 |\n\n3-layer, 2026-11-29, (-0.7 points)") == \
        "| gain |\n|---:|\n| \u22120.64 |\n\n3-layer, 2026-11-29, (\u22120.7 points)"  # fmt: skip
    assert f"83{NBSP}%" in text and f"53.37{NBSP}±{NBSP}0.24{NBSP}%" in text


def test_tables_get_greek_headers_and_powers_of_ten_in_their_scale_columns():
    lines = typeset_markdown(TABLE + "| fine | 1e-6 | 0.001 | 50.00 |\n").splitlines()
    assert lines[0] == "| stage | $\\lambda$ | $\\sigma$ | test acc. (%) |"
    assert lines[2] == "| coarse | $10^{-4}$ | $10^{-1}$ | 51.35 |"
    assert lines[3] == "| fine | $10^{-6}$ | $10^{-3}$ | 50.00 |"
    assert typeset_markdown("| param |\n|---|\n| gamma |\n| b |").splitlines()[2:] == ["| $\\gamma$ |", "| b |"]


def test_alt_text_is_plain_text():
    assert plain_text("*accuracy* against $\\lambda$ = $3 \\times 10^{-5}$, see [Table 2](#tab-a)") == \
        "accuracy against λ = 3 × 10⁻⁵, see Table 2"  # fmt: skip


# --------------------------------------------------------------------------- HTML and LaTeX


def test_the_html_has_figures_with_captions_as_alt_text_anchored_citations_and_numbered_headings(shown):
    html = export.export_html(_report(shown))
    assert "No description has been provided" not in html
    alt = re.search(r'<img [^>]*alt="([^"]*)"', html).group(1)
    assert alt == "Figure 1: a figure with σ = 10⁻⁴ in its caption."
    assert re.search(r'<figure class="dd2424-float" id="fig-x">', html) and "<figcaption><strong>Figure 1:</strong>" in html
    assert 'id="tab-a"' in html and 'id="tab-b"' in html and "<strong>Table 2:</strong>" in html
    for target in re.findall(r'<a href="#((?:fig|tab)-[\w-]+)"', html):
        assert f'id="{target}"' in html
    numbered = re.findall(r'<h([1-3])[^>]*><span class="dd2424-secnum">([\d.]+)</span> ([^<]*)', html)
    assert [(n, t.strip()) for _, n, t in numbered] == [("1", "Results"), ("1.1", "What the classifier learned")]
    assert "A. Author" in html


def test_the_latex_has_captioned_floats_with_targets_and_no_breakable_tables(shown, tmp_path):
    _skip_without("pandoc")
    from nbconvert import LatexExporter

    exporter = LatexExporter(config=export._config(), template_name=export.LATEX_TEMPLATE,
                             extra_template_basedirs=[str(export.TEMPLATES)])  # fmt: skip
    resources = {"metadata": {"name": "t", "path": str(tmp_path)},
                 "dd2424_pandoc_args": [f"--lua-filter={export.TABLES_FILTER}"]}  # fmt: skip
    tex, _ = exporter.from_notebook_node(export._prepared(_report(shown)), resources=resources)
    assert "longtable}" not in tex.split("\\begin{document}")[1]
    assert tex.count("\\begin{table}[htbp]") == 2 and tex.count("\\begin{figure}[htbp]") == 1
    assert "\\setcounter{table}{1}%\n\\caption[]{the second table.}\\hypertarget{tab-b}{}" in tex
    assert "\\hyperlink{tab-a}{Table~1}" in tex and "\\hyperlink{fig-x}{Figure~1}" in tex  # from an output
    assert re.search(r"\\hyperref\[tab-b\]\{Table.2\}", tex) and "\\label{tab-b}" in tex  # from a Markdown cell
    assert "\\usepackage[section]{placeins}" in tex and "\\author{A. Author}" in tex
    assert "83~\\%" in tex  # no line break before the percent sign


def test_a_table_too_long_for_a_page_is_a_longtable_whose_header_repeats(shown, tmp_path):
    _skip_without("pandoc")
    from nbconvert import LatexExporter

    f = floats.Floats()
    long = TABLE + "".join(f"| fine | 0.001 | 0.1 | {i} |\n" for i in range(45))
    from IPython.display import Markdown, display

    display(Markdown(f"{f.ref('tab:long')} and {f.ref('tab:short')}."))
    f.table("tab:long", long, "a long table.")
    f.table("tab:short", TABLE, "a short table.")
    nb = new_notebook()
    nb.cells = [new_code_cell("", outputs=list(shown))]
    exporter = LatexExporter(config=export._config(), template_name=export.LATEX_TEMPLATE,
                             extra_template_basedirs=[str(export.TEMPLATES)])  # fmt: skip
    resources = {"metadata": {"name": "t", "path": str(tmp_path)},
                 "dd2424_pandoc_args": [f"--lua-filter={export.TABLES_FILTER}"]}  # fmt: skip
    body = exporter.from_notebook_node(export._prepared(nb), resources=resources)[0].split("\\begin{document}")[1]
    assert body.count("\\begin{longtable}") == 1 and "\\endhead" in body and body.count("\\begin{table}[htbp]") == 1
    assert body.index("\\hypertarget{tab-long}") < body.index("\\begin{longtable}") < body.index("\\hypertarget{tab-short}")


def _pages(pdf: Path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    return [subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.replace("\u00a0", " ") for i in range(1, n + 1)]  # fmt: skip


def layout_problems(pdf: Path) -> list[str]:
    """Floats of a PDF that are never cited, or whose caption is not on the page of their first citation or the next."""
    captions, cited = {}, {}
    for page, text in enumerate(_pages(pdf), 1):
        for match in re.finditer(r"(Figure|Table) (\d+)(:?)", text):
            (captions if match.group(3) else cited).setdefault(f"{match.group(1)} {match.group(2)}", page)
    problems = []
    for name, page in captions.items():
        if name not in cited:
            problems.append(f"{name} (page {page}) is never cited")
        elif not 0 <= page - cited[name] <= 1:
            problems.append(f"{name}: caption on page {page}, first cited on page {cited[name]}")
    return problems


# --------------------------------------------------------------------------- the report itself


@pytest.fixture(scope="module")
def committed_report(tmp_path_factory):
    """report.ipynb executed on a copy of the committed full results (no training), and its PDF when LaTeX is there."""
    if not (ROOT / "results" / "summary").is_dir():
        pytest.skip("no committed results/summary in this checkout")
    from dd2424.code_version import code_version

    committed = json.loads((ROOT / "results" / "summary.json").read_text()).get("code_version")
    if committed != code_version():  # the report notebook reads what the current code writes
        pytest.skip(f"the committed results come from code version {committed}, the code is {code_version()}: "
                    "`make report` rebuilds them (the smoke pipeline's tests check the report meanwhile)")
    import papermill

    from dd2424 import report

    out = tmp_path_factory.mktemp("committed")
    for folder in ("results/summary", "results/tables", "figures"):
        shutil.copytree(ROOT / folder, out / folder)
    executed = out / "build" / "report.ipynb"
    executed.parent.mkdir(parents=True)
    papermill.execute_notebook(str(ROOT / "notebooks" / "report.ipynb"), str(executed), kernel_name="python3",
                               parameters={"profile": "full", "output_dir": str(out)}, progress_bar=False,
                               cwd=str(ROOT / "notebooks"), kernel_manager_class=report._kernel_manager_class())  # fmt: skip
    return nbformat.read(executed, as_version=4), executed, out


def test_the_report_shows_and_cites_every_figure_and_table(committed_report):
    nb, _, _ = committed_report
    numbers = floats.float_numbers(nb)
    assert sum(k.startswith("fig:") for k in numbers) >= 8 and sum(k.startswith("tab:") for k in numbers) >= 8
    assert floats.float_problems(nb) == []
    assert nb.cells[-1].outputs[-1].metadata[floats.FLOAT]["key"] == "tab:gradcheck-layers"  # the appendix's table
    assert not any(o.metadata.get(floats.AUTHORS) == ["dd2424"] for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_the_report_pdf_keeps_every_caption_beside_its_first_citation(committed_report):
    _skip_without("xelatex", "pandoc", "pdftotext", "pdfinfo")
    nb, executed, out = committed_report
    assert export.export_report(executed, out / "report", emit=lambda line: None) == 0
    pdf = out / "report" / f"{export.REPORT_NAME}.pdf"
    assert layout_problems(pdf) == []
    pages = _pages(pdf)
    appendix = next(i for i, text in enumerate(pages) if "Appendix" in text and "gradient errors per layer" in text)
    references = next(i for i, text in enumerate(pages) if "[9] C. Szegedy" in text)
    appendix_table = f"Table {floats.float_numbers(nb)['tab:gradcheck-layers']}:"
    assert references <= appendix and any(appendix_table in text for text in pages[appendix:])
    assert not re.search(r"\d\n%", "\n".join(pages))  # no line starts with the % of a number on the line before


if __name__ == "__main__":  # the layout check of a PDF: python tests/test_floats.py report/dd2424-report.pdf
    print("\n".join(layout_problems(Path(sys.argv[1]))) or "no layout problems")
