"""The registry of chapters: which notebooks the report pipeline runs, in which order, with which parameters.

:data:`CHAPTERS` is the one list that drives :mod:`dd2424.report` (the notebooks it executes,
their parameters and the planned number of training runs behind the progress lines) and
:func:`dd2424.study.summary.build_summary` (which summary parts it merges into
``results/summary.json`` and how each adds to ``timing``). ``report.ipynb`` runs after them
and is not listed.

Adding an experiment: a module ``dd2424/study/<name>.py`` (its configurations, tables and
:data:`Chapter.planned_runs` / :data:`Chapter.timing` functions), a notebook
``notebooks/NN_<name>.ipynb`` (title cell, typed parameters cell, ``open_chapter``), and one
:class:`Chapter` entry below. ``tests/test_registry.py`` checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from . import beyond, gradient_check, init_sensitivity, lambda_search, training_curves
from .paths import project_root
from .profiles import Profile

#: parameters the pipeline passes to every notebook of the registry (each must declare them)
COMMON_PARAMETERS = ("profile", "output_dir", "data", "jobs", "scheduler", "force", "progress_log")


@dataclass(frozen=True)
class Step:
    """One execution of a chapter's notebook: its executed name (also its summary part) and parameters."""

    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chapter:
    """A notebook of the report and what the pipeline needs to know about it.

    ``summary``: the top-level keys of summary.json its parts write. ``planned_runs(profile)``:
    training runs of ONE step (reused or not); a minimum where the runs depend on results (the
    trials of chapter 05). ``timing(section)``: for each of ``summary``'s
    sections, its share of summary.json's ``timing`` (``training_seconds``, ``gradcheck_seconds``,
    ``runs``). ``optional``: skipped while its notebook is not in ``notebooks/`` yet.
    """

    notebook: str
    steps: tuple[Step, ...]
    summary: tuple[str, ...]
    planned_runs: Callable[[Profile], int] = lambda profile: 0
    timing: Callable[[Mapping], Mapping[str, float]] | None = None
    optional: bool = False

    @property
    def stem(self) -> str:
        """The notebook's name without ``.ipynb``, e.g. ``03_lambda_search``."""
        return Path(self.notebook).stem

    def runs(self, profile: Profile) -> int:
        """Training runs of every step of this chapter."""
        return self.planned_runs(profile) * len(self.steps)


def _single(notebook: str, **kwargs: Any) -> Chapter:
    """A chapter whose notebook runs once, with the common parameters only."""
    return Chapter(notebook, (Step(Path(notebook).stem),), **kwargs)


CHAPTERS: tuple[Chapter, ...] = (
    _single("01_gradient_check.ipynb", summary=("gradcheck",), planned_runs=gradient_check.planned_runs,
            timing=gradient_check.timing),
    Chapter("02_training_curves.ipynb", tuple(Step(name, params) for name, params in training_curves.steps()),
            summary=("training",), planned_runs=training_curves.planned_runs, timing=training_curves.timing),
    _single("03_lambda_search.ipynb", summary=("lambda_search",), planned_runs=lambda_search.planned_runs,
            timing=lambda_search.timing),
    _single("04_init_sensitivity.ipynb", summary=("sensitivity",), planned_runs=init_sensitivity.planned_runs,
            timing=init_sensitivity.timing),
    _single("05_beyond.ipynb", summary=("beyond",), planned_runs=beyond.planned_runs, timing=beyond.timing),
    # pictures of the best ladder network and of the 3-layer BN network, from the saved runs of 02 and 05 (no training)
    _single("06_pictures.ipynb", summary=("pictures",)),
)  # fmt: skip


def notebooks_dir() -> Path | None:
    """``notebooks/`` of the source checkout, or None outside one."""
    root = project_root()
    return root / "notebooks" if root else None


def chapters(include_missing: bool = False) -> list[Chapter]:
    """The chapters the pipeline runs, in order: every entry, less optional ones whose notebook is missing."""
    folder = notebooks_dir()
    return [c for c in CHAPTERS
            if include_missing or not c.optional or (folder is not None and (folder / c.notebook).is_file())]  # fmt: skip


def chapter_of(notebook: str) -> Chapter:
    """The chapter of a notebook, by file name or stem (``"03_lambda_search"``)."""
    for c in CHAPTERS:
        if notebook in (c.notebook, c.stem):
            return c
    raise KeyError(f"{notebook!r} is not a registered chapter; known: {', '.join(c.stem for c in CHAPTERS)}")


def pipeline_steps() -> list[tuple[Chapter, Step]]:
    """Every (chapter, step) the pipeline executes, in order (``report.ipynb`` comes after them)."""
    return [(c, s) for c in chapters() for s in c.steps]


def planned_runs(profile: Profile) -> int:
    """How many training runs the whole pipeline asks for (reused or not), at least."""
    return sum(c.runs(profile) for c in chapters())


def summary_parts() -> list[str]:
    """The summary parts (``results/summary/<part>.json``) the pipeline's steps write, in order."""
    return [s.name for _, s in pipeline_steps()]
