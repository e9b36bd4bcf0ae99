"""environment.yml and pyproject.toml must list the same runtime dependencies; the package builds cleanly."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {_name(r) for r in pyproject["project"]["dependencies"]}
    test_deps = {_name(r) for r in pyproject["project"]["optional-dependencies"]["test"]}
    conda, section = set(), None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^[a-z]+:", line):
            section = line.split(":")[0]
        m = re.match(r"^\s{2}- ([A-Za-z0-9_.\-]+)", line)  # conda packages, not the pip sub-list
        if section == "dependencies" and m and m.group(1) not in ("pip", "python"):
            conda.add(_name(m.group(1)))
    assert runtime <= conda, f"missing from environment.yml: {sorted(runtime - conda)}"
    assert test_deps <= conda, f"test deps missing from environment.yml: {sorted(test_deps - conda)}"
    assert conda <= runtime | test_deps, f"in environment.yml but not pyproject.toml: {sorted(conda - runtime - test_deps)}"
    assert "-e ." in (ROOT / "environment.yml").read_text()  # the package itself, editable


def test_the_package_builds_without_setuptools_warnings_and_ships_every_template(tmp_path):
    """pip install -e . printed ~80 lines of BuildBackendWarning for the template folders. The wheel of a
    copy of the package, with a template folder and a subpackage added as later work may, has every file
    and no warning: packaging finds what is there, with no list to keep up to date."""
    import shutil
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "dd2424", src / "dd2424", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    (src / "dd2424" / "templates" / "later" / "part").mkdir(parents=True)
    (src / "dd2424" / "templates" / "later" / "part" / "extra.tex.j2").write_text("x")
    (src / "dd2424" / "later_pkg").mkdir()
    (src / "dd2424" / "later_pkg" / "__init__.py").write_text("")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", str(tmp_path / "wheel"),
                           str(src)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Warning" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(p.relative_to(src)) for p in (src / "dd2424").rglob("*") if p.is_file()}
    assert expected <= shipped, sorted(expected - shipped)


@pytest.mark.parametrize("reachable, installed, said", [
    ("pytorch", 1, []), ("default", 2, []),
    ("none", 2, ["make: PyTorch could not be installed from either index; the tests skip their PyTorch cross-checks (CI requires them)"]),
])  # fmt: skip
def test_make_tries_the_pytorch_index_once_then_the_default_one_quietly(tmp_path, reachable, installed, said):
    """Without PyTorch's index pip printed about 40 retry warnings: now one short try there, then the
    default index, and pip's own output is never shown (one line when both fail)."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("")
    (venv / ".installed").write_text("")  # newer than pyproject.toml: no installation of the package
    log = tmp_path / "pip.log"
    fake = venv / "bin" / "python"  # a pip that prints retry warnings and reaches only one index
    fake.write_text(f"""#!/bin/sh
echo "$@" >> {log}
echo "WARNING: Retrying (Retry(total=4)) after connection broken" >&2
case "$*" in *download.pytorch.org*) [ {reachable} = pytorch ] ;; *) [ {reachable} = default ] ;; esac
""")  # fmt: skip
    fake.chmod(0o755)
    proc = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), ".venv/.torch"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 0 and lines[0].startswith("make: installing PyTorch") and lines[1:] == said
    calls = log.read_text().splitlines()
    assert len(calls) == installed and "--index-url https://download.pytorch.org/whl/cpu" in calls[0]
    assert "--retries 0" in calls[0] and all("torch" in c for c in calls)
    assert (venv / ".torch").exists() == (reachable != "none")


def test_the_editable_install_builds_without_setuptools_warnings(tmp_path):
    """``pip install -e .`` builds an editable wheel (PEP 660). With the packages found in the project folder
    (package-dir ""), setuptools writes one .pth line to that folder and warns about nothing; with an
    import hook instead it printed a BuildBackendWarning on every install."""
    import shutil
    import subprocess
    import sys

    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "dd2424", src / "dd2424", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    code = "import setuptools.build_meta as b; print(b.build_editable(%r))" % str(tmp_path / "wheel")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    # pip shows setuptools' notices (InformationOnly, SetuptoolsWarning) as "BuildBackendWarning"
    assert not any(word in output for word in ("Warning", "InformationOnly", "meta path finder")), output[-2000:]
    assert list((tmp_path / "wheel").glob("*.whl"))
