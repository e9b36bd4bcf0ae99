"""The code version that keys saved runs: it covers every module a run executes and changes with any of them."""

import shutil
from pathlib import Path

import pytest

from dd2424 import code_version as cv

PACKAGE = Path(cv.__file__).parent


def test_hashed_set_is_what_training_imports():
    modules = cv.computing_modules()
    # the modules the numbers of a run depend on, the two the old hand-kept list missed among them
    for name in ("training", "network", "layers", "optimizers", "kernels", "augment", "schedule", "data", "analysis"):
        assert name in modules
    # and not the plumbing around runs: changing a plot or the report must not retrain anything
    for name in ("plotting", "report", "cli", "experiments"):
        assert name not in modules


@pytest.fixture
def package_copy(tmp_path):
    target = tmp_path / "dd2424"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_any_computing_module_change_changes_the_version(package_copy):
    modules = cv.computing_modules(package_dir=package_copy)
    before = cv.version_of(modules, package_copy)
    for name in modules:
        path = package_copy / f"{name}.py"
        original = path.read_text()
        path.write_text(original + "\n_CHANGED = 1\n")
        assert cv.version_of(modules, package_copy) != before, name
        path.write_text(original)
    assert cv.version_of(modules, package_copy) == before


def test_a_new_import_is_followed(package_copy):
    (package_copy / "newhelper.py").write_text("X = 1\n")
    path = package_copy / "augment.py"
    path.write_text(path.read_text() + "\n\ndef _late():\n    from .newhelper import X\n    return X\n")
    assert "newhelper" in cv.computing_modules(package_dir=package_copy)


def test_comments_and_docstrings_do_not_count():
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # double\n'
    edited = '"""A module."""\n\n\ndef f(x):\n    """Two times x, reworded."""\n\n    return 2 * x\n'
    assert cv.code_tokens(code) == cv.code_tokens(edited)
    assert cv.code_tokens(code) != cv.code_tokens(code.replace("2 * x", "3 * x"))
    assert cv.code_tokens('x = "a"\n') != cv.code_tokens('x = "b"\n')  # strings that are not docstrings count


def test_display_only_modules_compute_nothing_and_stay_out_of_the_version():
    from dd2424.code_version import DISPLAY_ONLY, computing_modules, package_imports

    assert "progress" in DISPLAY_ONLY and "training" in computing_modules()
    for name in DISPLAY_ONLY:
        assert package_imports(name) == set(), f"{name} is display-only and must not import the package's computing code"
        assert name not in computing_modules()
