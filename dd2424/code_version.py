"""The version of the code that computes results: a hash of every module a training run executes.

Saved runs are reused only while this version is unchanged, so it must change whenever any
module that training, the network, the data path or a run's analysis imports changes. The set
is not kept by hand: it is found by following the package's own imports (top-level and inside
functions) from the modules a run starts in (:data:`ROOTS`), so a module that training starts
to import is hashed from then on. Comments, docstrings and blank lines do not enter the hash:
editing them leaves saved runs valid, while any change to the code itself retrains.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import tokenize
from pathlib import Path

PACKAGE = "dd2424"
PACKAGE_DIR = Path(__file__).resolve().parent

#: where a run's numbers come from: the trainer (network, layers, optimisers, augmentation,
#: schedule), the data path, and the per-run analysis stored beside the metrics
ROOTS = ("training", "data", "analysis")

#: modules a run imports only to SHOW its progress (a bar, record lines, a result's one-line and
#: HTML forms): they compute nothing a run records, so editing them keeps saved runs valid. A
#: module listed here must not compute results; tests/test_code_version.py checks that it imports
#: nothing but display helpers from the package.
DISPLAY_ONLY = frozenset({"progress"})


def package_imports(module: str, package_dir: Path = PACKAGE_DIR) -> set[str]:
    """The modules of the package that ``module`` imports anywhere in its source."""
    tree = ast.parse((package_dir / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .x import y
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x, y
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
                parts = node.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.add(parts[1])
    return {name for name in found if (package_dir / f"{name}.py").is_file()}


def computing_modules(roots: tuple[str, ...] = ROOTS, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every module reachable from ``roots`` through the package's imports, sorted (:data:`DISPLAY_ONLY` left out)."""
    seen: set[str] = set()
    todo = [r for r in roots if (package_dir / f"{r}.py").is_file()]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(package_imports(name, package_dir) - seen - DISPLAY_ONLY)
    return sorted(seen)


def code_tokens(source: str) -> list[tuple[int, str]]:
    """The tokens of ``source`` that carry code: no comments, blank lines or docstrings."""
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    kept = []
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    previous_type = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        if tok.type == tokenize.STRING and tok.start[0] in docstring_lines:
            continue
        if tok.type == tokenize.NEWLINE and previous_type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, None):
            continue  # the NEWLINE that ended a removed docstring
        kept.append((tok.type, tok.string))
        previous_type = tok.type
    return kept


def version_of(modules: list[str], package_dir: Path = PACKAGE_DIR) -> str:
    """A short hash of the code tokens of ``modules``."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode() + b"\0")
        for tok_type, text in code_tokens((package_dir / f"{name}.py").read_text()):
            digest.update(f"{tok_type}:{text}\0".encode())
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The version of the modules that compute results: it changes exactly when their code does."""
    return version_of(computing_modules())
