"""The chapter contract: what a chapter module declares so that the pipeline, its notebook and the summary agree.

Every chapter module (``dd2424/study/<name>.py``, listed in :mod:`.registry`) ends its contract
in one object, ``CHAPTER = Chapter(...)``, that says

* ``notebook``: its notebook in ``notebooks/`` (``"NN_<name>.ipynb"``);
* ``summary``: the top-level key(s) of ``results/summary.json`` its summary part writes
  (:meth:`Context.save_part` refuses any other);
* ``settings``: what each profile fixes for it alone, one frozen
  :class:`~.profiles.ChapterSettings` per profile name (``{}``: nothing of its own); its notebook
  reads them as ``ctx.settings`` and a notebook parameter of the same name overrides one;
* ``planned_runs(profile, settings)``: the training runs of ONE execution of the notebook (reused
  or not; a minimum where the runs depend on results, as the trials of chapter 05);
* ``timing(section)``: for each of its summary sections, its share of summary.json's ``timing``
  (``training_seconds``, ``gradcheck_seconds``, ``runs``);
* ``steps`` and ``part_of``, for a notebook the pipeline runs more than once (chapter 02): each
  execution (:class:`Step`: executed name and parameters) and how a set of parameter values
  names its summary part; by default one step, and the part, named like the notebook (its stem).

The :class:`~.context.Context` of a notebook carries its chapter's resolved settings and its
part's name, so a notebook never spells either.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from .profiles import PROFILE_FIELDS, PROFILES, ChapterSettings, Profile, changes, check_profile_name


@dataclass(frozen=True)
class Step:
    """One execution of a chapter's notebook by the pipeline: its executed name (also its summary part) and parameters."""

    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


def no_runs(profile: Profile, settings: ChapterSettings | None) -> int:
    """``planned_runs`` of a chapter that trains nothing."""
    return 0


@dataclass(frozen=True)
class Chapter:
    """A chapter of the report: its notebook and what the pipeline, the notebook and the summary need (module docstring)."""

    notebook: str
    summary: tuple[str, ...]
    settings: Mapping[str, ChapterSettings] = field(default_factory=dict)
    planned_runs: Callable[[Profile, Any], int] = no_runs
    timing: Callable[[Mapping], Mapping[str, float]] | None = None
    steps: tuple[Step, ...] = ()
    part_of: Callable[[Mapping[str, Any]], str] | None = None
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.steps:
            object.__setattr__(self, "steps", (Step(self.stem),))
        if self.settings and set(self.settings) != set(PROFILES):
            raise ConfigError(f"{self.notebook}: settings are given for {sorted(self.settings)}, but every profile "
                              f"needs them: {sorted(PROFILES)}")  # fmt: skip
        shared = self.setting_names & PROFILE_FIELDS
        if shared:
            raise ConfigError(f"{self.notebook}: settings {sorted(shared)} are named like profile fields; rename them")

    @property
    def stem(self) -> str:
        """The notebook's name without ``.ipynb``, e.g. ``03_lambda_search``."""
        return Path(self.notebook).stem

    @property
    def setting_names(self) -> frozenset[str]:
        """The names of this chapter's own settings (the notebook parameters that override them)."""
        types = {type(s) for s in self.settings.values()}
        return frozenset(f.name for t in types for f in dataclasses.fields(t))

    def settings_for(self, profile: str, **overrides: Any) -> ChapterSettings | None:
        """This chapter's settings of ``profile`` with the non-``None`` ``overrides`` applied and checked (None: it has none)."""
        check_profile_name(profile)
        unknown = set(overrides) - self.setting_names
        if unknown:
            raise ConfigError(f"{self.stem} has no setting(s) {sorted(unknown)}; its settings: {sorted(self.setting_names)}")
        if not self.settings:
            return None
        settings = dataclasses.replace(self.settings[profile], **changes(overrides))
        settings.check()
        return settings

    def runs(self, profile: Profile) -> int:
        """Training runs of every step of this chapter, with ``profile`` and this chapter's settings of that profile."""
        return self.planned_runs(profile, self.settings_for(profile.name)) * len(self.steps)

    def part_name(self, values: Mapping[str, Any]) -> str:
        """The summary part (without suffix) of an execution with the notebook parameters ``values``."""
        return self.part_of(values) if self.part_of is not None else self.stem
