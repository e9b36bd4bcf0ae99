"""Profiles: every setting of the report's experiments that ``full``, ``quick`` or ``smoke`` fixes.

``full`` is the real experiment on all the data, ``quick`` a reduced one that takes a few
minutes, ``smoke`` a seconds-long check used by the tests. A notebook may override any field
(:func:`get_profile`); the pipeline passes none.
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
    """Every setting of the report's experiments that a profile fixes.

    ``None`` split sizes mean the whole split. ``seeds`` are used by the headline
    configurations (training curves, sensitivity grid, ablation ladder); the lambda search has
    its own seeds.
    """

    name: str
    n_train: int | None
    n_val: int | None
    n_test: int | None
    n_s: int
    cycles: int
    seeds: tuple[int, ...]
    gradcheck_hidden: tuple[tuple[int, ...], ...]
    gradcheck_inputs: int
    gradcheck_samples: int
    gradcheck_lam: float
    lambda_coarse: tuple[float, ...]
    lambda_search_seeds: tuple[int, ...]
    lambda_fine_n: int
    lambda_fine_seed: int
    final_cycles: int
    final_seeds: tuple[int, ...]
    sigmas: tuple[float, ...]
    batch_size: int = 100
    records_per_cycle: int = 10
    default_lam: float = 0.005
    ablation_wide: tuple[int, ...] = (1024, 512)
    ablation_batch: int = 250
    ablation_longer: int = 8
    ablation_threads: int = 2

    def to_dict(self) -> dict:
        """Every field, as plain JSON values (``settings`` in summary.json)."""
        return json_ready(dataclasses.asdict(self))


_DECADES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
_SIGMAS = (1e-1, 1e-3, 1e-4)

PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full", n_train=None, n_val=None, n_test=None, n_s=2250, cycles=2, seeds=(0, 1, 2),
        gradcheck_hidden=((20,), (20, 20), (20, 20, 20)), gradcheck_inputs=15, gradcheck_samples=20,
        gradcheck_lam=0.01, lambda_coarse=_DECADES, lambda_search_seeds=(0, 1), lambda_fine_n=6,
        lambda_fine_seed=0, final_cycles=3, final_seeds=(0, 1, 2), sigmas=_SIGMAS,
    ),
    "quick": Profile(
        name="quick", n_train=10000, n_val=None, n_test=None, n_s=500, cycles=2, seeds=(0, 1),
        gradcheck_hidden=((20,), (20, 20), (20, 20, 20)), gradcheck_inputs=15, gradcheck_samples=20,
        gradcheck_lam=0.01, lambda_coarse=_DECADES, lambda_search_seeds=(0,), lambda_fine_n=4,
        lambda_fine_seed=0, final_cycles=3, final_seeds=(0, 1), sigmas=_SIGMAS,
    ),
    "smoke": Profile(
        name="smoke", n_train=1000, n_val=200, n_test=500, n_s=20, cycles=1, seeds=(0, 1),
        gradcheck_hidden=((8,), (8, 8), (8, 8, 8)), gradcheck_inputs=10, gradcheck_samples=8,
        gradcheck_lam=0.01, lambda_coarse=(1e-3, 1e-2, 1e-1), lambda_search_seeds=(0,), lambda_fine_n=2,
        lambda_fine_seed=0, final_cycles=2, final_seeds=(0, 1), sigmas=_SIGMAS,
        ablation_wide=(64, 32), ablation_longer=2, ablation_threads=1,
    ),
}  # fmt: skip

#: the profile fields a notebook parameter of the same name overrides
PROFILE_FIELDS = frozenset(f.name for f in dataclasses.fields(Profile)) - {"name"}


def get_profile(name: str, **overrides: Any) -> Profile:
    """The profile ``name`` with the non-``None`` ``overrides`` applied (lists become tuples)."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    unknown = set(overrides) - PROFILE_FIELDS
    if unknown:
        raise ConfigError(f"unknown profile setting(s) {sorted(unknown)}; known: {sorted(PROFILE_FIELDS)}")
    changes = {k: _tuples(v) for k, v in overrides.items() if v is not None}
    profile = dataclasses.replace(PROFILES[name], **changes)
    _check_profile(profile)
    return profile


def _check_profile(p: Profile) -> None:
    def positive(name: str, value: Any) -> None:
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    for name in ("n_s", "cycles", "final_cycles", "gradcheck_inputs", "gradcheck_samples", "batch_size", "records_per_cycle",
                 "ablation_batch", "ablation_longer", "ablation_threads"):  # fmt: skip
        positive(name, getattr(p, name))
    if not isinstance(p.lambda_fine_n, (int, np.integer)) or p.lambda_fine_n < 0:
        raise ConfigError(f"lambda_fine_n must be an integer >= 0, got {p.lambda_fine_n!r}")
    for name in ("seeds", "lambda_search_seeds", "final_seeds", "lambda_coarse", "sigmas", "gradcheck_hidden", "ablation_wide"):
        value = getattr(p, name)
        if not isinstance(value, tuple) or not value:
            raise ConfigError(f"{name} must be a non-empty list, got {value!r}")
    if len(p.lambda_coarse) < 2 or any(not (isinstance(v, (int, float)) and v > 0) for v in p.lambda_coarse):
        raise ConfigError(f"lambda_coarse needs at least two positive values, got {list(p.lambda_coarse)}")
    if any(not (isinstance(v, (int, float)) and v > 0) for v in p.sigmas):
        raise ConfigError(f"sigmas must be positive numbers, got {list(p.sigmas)}")


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
