"""The notebooks as stored in git: a title, typed parameters, no outputs, one kernelspec, the registry's parameters."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from dd2424.explore import EXPLORE_NOTEBOOK
from dd2424.export import REMOVE_CELL_TAGS, REMOVE_INPUT_TAGS
from dd2424.report import REPORT_NOTEBOOK
from dd2424.study.notebook import parameters_of
from dd2424.study.profiles import PROFILES
from dd2424.study.registry import COMMON_PARAMETERS, chapters

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CHAPTER_NOTEBOOKS = [p for p in NOTEBOOKS if p.name not in (REPORT_NOTEBOOK, EXPLORE_NOTEBOOK)]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean_with_a_parameters_cell_first(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = _code_cells(nb)
    assert cells, "no code cell"
    for cell in cells:
        assert cell.outputs == [], f"stored outputs in a cell starting {cell.source[:40]!r}"
        assert cell.execution_count is None
    assert "parameters" in cells[0].metadata.get("tags", []), "the first code cell is not tagged 'parameters'"
    assert dict(nb.metadata.kernelspec) == KERNELSPEC


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_notebook_has_a_title_above_typed_parameters(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), "no title cell first"
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    declared = parameters_of(path)
    assert set(COMMON_PARAMETERS) <= set(declared)
    untyped = [name for name, (annotation, _) in declared.items() if annotation is None]
    assert not untyped, f"parameters without a type annotation: {untyped}"
    namespace: dict = {}
    exec(nb.cells[1].source, namespace)  # the defaults run as they are (JupyterLab: run top to bottom)
    assert namespace["profile"] in PROFILES and namespace["output_dir"] is None


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_shows_the_parameter_types(path):
    papermill = pytest.importorskip("papermill")
    inspected = papermill.inspect_notebook(str(path))
    assert inspected["profile"]["inferred_type_name"] == "str"
    assert inspected["jobs"]["inferred_type_name"] == "int" and inspected["force"]["inferred_type_name"] == "bool"
    lists = [name for name, (annotation, _) in parameters_of(path).items() if annotation == "list"]
    assert all(inspected[name]["inferred_type_name"] == "list" for name in lists)


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_no_cell_ends_with_a_bare_value(path):
    """A cell's last statement is an assignment, a call of display/ctx.* or a statement: no stray ``PosixPath(...)``."""
    import ast

    for cell in _code_cells(nbformat.read(path, as_version=4))[1:]:
        last = ast.parse(cell.source).body[-1]
        if isinstance(last, ast.Expr):
            assert isinstance(last.value, ast.Call), f"a bare value ends {cell.source[:40]!r}"
            func = ast.unparse(last.value.func)
            assert func == "display" or func.startswith("ctx."), f"{func}(...) may leave an output in {cell.source[:40]!r}"


def test_report_notebook_shows_no_code():
    nb = nbformat.read(NOTEBOOKS[0].parent / REPORT_NOTEBOOK, as_version=4)
    for cell in _code_cells(nb):
        tags = set(cell.metadata.get("tags", []))
        assert tags & (REMOVE_CELL_TAGS | REMOVE_INPUT_TAGS), f"untagged code cell starting {cell.source[:40]!r}"
    assert nb.metadata.get("title")


def test_every_registered_chapter_is_a_notebook_here():
    names = {p.name for p in NOTEBOOKS}
    assert {c.notebook for c in chapters()} <= names


def test_report_notebook_has_a_title_cell_that_the_export_drops():
    nb = nbformat.read(NOTEBOOKS[0].parent / REPORT_NOTEBOOK, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert set(first.metadata.get("tags", [])) & REMOVE_CELL_TAGS  # the PDF and HTML take their title from the metadata


def test_report_notebook_defaults_follow_the_chapters_and_leave_committed_results_alone(tmp_path):
    """Run with its defaults (as JupyterLab does), the report reads the same profile's folder as notebooks 01-06,
    never the committed results of the project folder, and leaves them byte for byte as they are."""
    papermill = pytest.importorskip("papermill")
    from dd2424.report import _kernel_manager_class
    from dd2424.study.paths import default_output_dir, project_root

    report = NOTEBOOKS[0].parent / REPORT_NOTEBOOK
    declared, chapter = parameters_of(report), parameters_of(CHAPTER_NOTEBOOKS[0])
    assert declared["profile"] == chapter["profile"] and declared["output_dir"] == chapter["output_dir"] == ("str", None)
    assert default_output_dir(declared["profile"][1]) != project_root()
    committed = project_root() / "results" / "summary.json"
    before = committed.read_bytes() if committed.exists() else None
    try:
        papermill.execute_notebook(str(report), str(tmp_path / "report.ipynb"), kernel_name="python3",
                                   cwd=str(tmp_path), progress_bar=False,
                                   kernel_manager_class=_kernel_manager_class())  # as the pipeline starts it
    except papermill.PapermillExecutionError as error:  # no results of that profile yet: a clear error, nothing written
        assert "summary" in str(error) or "results" in str(error)
    after = committed.read_bytes() if committed.exists() else None
    assert after == before


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_language_info_is_what_the_kernel_reports(path):
    """JupyterLab writes the kernel's language_info into a notebook when the kernel starts; stored complete, the
    notebook opens without being marked modified."""
    info = nbformat.read(path, as_version=4).metadata.language_info
    assert info.get("pygments_lexer") == "ipython3" and info.get("codemirror_mode") == {"name": "ipython", "version": 3}
    assert {"file_extension", "mimetype", "nbconvert_exporter", "version"} <= set(info)


def test_explore_notebook_is_not_a_chapter_and_declares_typed_settings():
    """00 is for exploring: typed parameters (papermill shows them), no output_dir default in results/, never run by the report."""
    from dd2424.explore import SETTINGS
    from dd2424.study.registry import pipeline_steps

    path = NOTEBOOKS[0].parent / EXPLORE_NOTEBOOK
    declared = parameters_of(path)
    assert set(SETTINGS) | {"profile", "output_dir", "seeds", "form"} <= set(declared)
    assert all(annotation for annotation, _ in declared.values()) and declared["output_dir"] == ("str", None)
    assert declared["form"] == ("bool", False)  # the form is optional: papermill runs without ipywidgets' frontend
    assert EXPLORE_NOTEBOOK not in {chapter.notebook for chapter, _ in pipeline_steps()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_of_every_notebook_parses(path):
    """A syntax error in a notebook's cell (say, a quote inside an f-string's text) shows here in a second,
    not minutes into a pipeline."""
    import ast

    for number, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            try:
                ast.parse(source)
            except SyntaxError as error:
                pytest.fail(f"{path.name}, cell {number}: {error}")
