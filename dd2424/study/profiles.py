"""Profiles: what ``full``, ``quick`` or ``smoke`` fixes for every chapter, and the checks of a chapter's own settings.

``full`` is the real experiment on all the data, ``quick`` a reduced one that takes a few
minutes, ``smoke`` a seconds-long check used by the tests. A :class:`Profile` holds what the
chapters share (data sizes, schedule, seeds, batch, recording); what only one chapter uses
lives in that chapter's module, as a :class:`ChapterSettings` dataclass per profile (its
``SETTINGS`` table, see :mod:`dd2424.study.chapter`). A notebook parameter named like a field of
either overrides it (:func:`get_profile`, :meth:`dd2424.study.chapter.Chapter.settings_for`);
the pipeline passes none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..files import json_ready


@dataclass(frozen=True)
class Profile:
    """The settings every chapter shares.

    ``None`` split sizes mean the whole split. ``seeds`` are used by the headline
    configurations (training curves, sensitivity grid, ablation ladder); the lambda search has
    its own seeds (chapter 03's settings).
    """

    name: str
    n_train: int | None
    n_val: int | None
    n_test: int | None
    n_s: int
    cycles: int
    seeds: tuple[int, ...]
    batch_size: int = 100
    records_per_cycle: int = 10
    default_lam: float = 0.005
    #: the history's training metrics on the first this many training images: as many as the validation
    #: split has, so both curves have the same precision, at a tenth of the cost of all 45,000 (which cost
    #: a 3-layer run half as much as its training); the final metrics always use every image
    history_train_samples: int = 5000

    def to_dict(self) -> dict:
        """Every field, as plain JSON values (part of ``settings`` in summary.json)."""
        return json_ready(dataclasses.asdict(self))


@dataclass(frozen=True)
class ChapterSettings:
    """Base of a chapter's own settings (one frozen dataclass per chapter, one instance per profile).

    A subclass lists its fields, each named so that no other chapter and no :class:`Profile`
    field uses the name (they share summary.json's ``settings`` and the notebooks' parameter
    names), and overrides :meth:`check` with one clear error per bad value.
    """

    def check(self) -> None:
        """Raise :class:`ConfigError` for a value the chapter cannot run with."""

    def to_dict(self) -> dict:
        """Every field, as plain JSON values (part of ``settings`` in summary.json)."""
        return json_ready(dataclasses.asdict(self))


PROFILES: dict[str, Profile] = {
    "full": Profile(name="full", n_train=None, n_val=None, n_test=None, n_s=2250, cycles=2, seeds=tuple(range(10))),
    "quick": Profile(name="quick", n_train=10000, n_val=None, n_test=None, n_s=500, cycles=2, seeds=(0, 1)),
    "smoke": Profile(name="smoke", n_train=1000, n_val=200, n_test=500, n_s=20, cycles=1, seeds=(0, 1)),
}  # fmt: skip

#: the profile fields a notebook parameter of the same name overrides
PROFILE_FIELDS = frozenset(f.name for f in dataclasses.fields(Profile)) - {"name"}


def get_profile(name: str, **overrides: Any) -> Profile:
    """The profile ``name`` with the non-``None`` ``overrides`` applied (lists become tuples)."""
    check_profile_name(name)
    unknown = set(overrides) - PROFILE_FIELDS
    if unknown:
        raise ConfigError(f"unknown profile setting(s) {sorted(unknown)}; known: {sorted(PROFILE_FIELDS)}")
    profile = dataclasses.replace(PROFILES[name], **changes(overrides))
    _check_profile(profile)
    return profile


def check_profile_name(name: str) -> None:
    """Raise :class:`ConfigError` unless ``name`` is one of :data:`PROFILES`."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")


def changes(overrides: dict[str, Any]) -> dict[str, Any]:
    """The non-``None`` ``overrides``, lists as tuples (a notebook's list parameters)."""
    return {k: _tuples(v) for k, v in overrides.items() if v is not None}


def _check_profile(p: Profile) -> None:
    check_positive(p, "n_s", "cycles", "batch_size", "records_per_cycle", "history_train_samples")
    check_non_empty(p, "seeds")


def check_positive(settings: Any, *names: str) -> None:
    """Raise :class:`ConfigError` unless each field ``names`` of ``settings`` is a positive integer."""
    for name in names:
        value = getattr(settings, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def check_non_empty(settings: Any, *names: str) -> None:
    """Raise :class:`ConfigError` unless each field ``names`` of ``settings`` is a non-empty list."""
    for name in names:
        value = getattr(settings, name)
        if not isinstance(value, tuple) or not value:
            raise ConfigError(f"{name} must be a non-empty list, got {value!r}")


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
