"""Shared fixtures."""

from __future__ import annotations

import os

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def real_data():
    """The real CIFAR-10 Dataset from $DD2424_CIFAR10 (default cache, so reruns are fast).

    Skipped when the variable is unset, except in CI (``CI`` set), where that is a failure:
    CI must never skip the real-data tests silently.
    """
    path = os.environ.get("DD2424_CIFAR10", "")
    if not path:
        message = (
            "DD2424_CIFAR10 is not set: point it to a cifar-10-python.tar.gz or "
            "cifar-10-batches-py folder (offline copy: "
            "cifar-10-python.jpeg-derived.tar.gz, see README.md, Data)"
        )
        if _in_ci():
            pytest.fail(f"CI is set but {message}", pytrace=False)
        pytest.skip(message)
    from dd2424.data import load_cifar10

    return load_cifar10(path)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, for the cross-checks against our maths and the benchmark's comparison.

    Skipped when it is not installed, except in CI, where that is a failure (``.ci/run``
    installs the CPU build).
    """
    try:
        import torch as module
    except ImportError as error:
        message = f"PyTorch is not installed ({error}); make test installs it where it can (see README.md, Tests)"
        if _in_ci():
            pytest.fail(f"CI is set but {message}", pytrace=False)
        pytest.skip(message)
    return module


def require_tools(*tools: str) -> None:
    """Skip the calling test when a command-line tool it needs (xelatex, pandoc, pdftotext) is missing.

    The PDF needs LaTeX tools that a newcomer may not have: outside CI the test skips, saying what
    to install; in CI (``CI`` set, where ``.ci/run`` installs them) a missing tool is a failure.
    """
    import shutil

    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not found: the PDF tests need them; install (Debian/Ubuntu, as root) "
        "`make latex` or apt-get install texlive-xetex texlive-fonts-recommended texlive-plain-generic "
        "pandoc poppler-utils (the HTML report needs none of them)"
    )
    if _in_ci():
        pytest.fail(f"CI is set but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pdf_tools() -> None:
    """xelatex, pandoc and pdftotext, or a skip (a failure in CI): see :func:`require_tools`."""
    require_tools("xelatex", "pandoc", "pdftotext")
