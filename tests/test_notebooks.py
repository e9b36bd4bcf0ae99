"""The notebooks as stored in git: no outputs, a parameters cell first, the parameters the pipeline passes."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from dd2424 import sweeps
from dd2424.report import REMOVE_CELL_TAGS, REMOVE_INPUT_TAGS, REPORT_NOTEBOOK

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PIPELINE_PARAMETERS = {"profile", "output_dir", "data", "jobs", "scheduler", "force", "progress_log"}


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _parameters(nb) -> set[str]:
    tree = ast.parse(_code_cells(nb)[0].source)
    return {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets}


def test_every_pipeline_notebook_exists():
    names = {p.name for p in NOTEBOOKS}
    assert {notebook for notebook, _, _ in sweeps.pipeline_steps("full")} | {REPORT_NOTEBOOK} <= names


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
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("notebook", sorted({n for n, _, _ in sweeps.pipeline_steps("full")}))
def test_pipeline_parameters_are_declared_with_defaults(notebook):
    nb = nbformat.read(NOTEBOOKS[0].parent / notebook, as_version=4)
    declared = _parameters(nb)
    passed = PIPELINE_PARAMETERS | {k for n, _, params in sweeps.pipeline_steps("full") if n == notebook for k in params}
    assert passed <= declared, f"the pipeline passes {sorted(passed - declared)} that the notebook does not declare"
    namespace: dict = {}
    exec(_code_cells(nb)[0].source, namespace)  # the defaults run as they are (JupyterLab: run top to bottom)
    assert namespace["profile"] in sweeps.PROFILES and namespace["output_dir"] is None


def test_report_notebook_shows_no_code():
    nb = nbformat.read(NOTEBOOKS[0].parent / REPORT_NOTEBOOK, as_version=4)
    for cell in _code_cells(nb):
        tags = set(cell.metadata.get("tags", []))
        assert tags & (REMOVE_CELL_TAGS | REMOVE_INPUT_TAGS), f"untagged code cell starting {cell.source[:40]!r}"
    assert nb.metadata.get("title")
