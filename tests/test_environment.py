"""environment.yml and pyproject.toml must list the same runtime dependencies."""

import re
import tomllib
from pathlib import Path

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
