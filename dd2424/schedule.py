"""Learning-rate schedules: the triangular cyclical rate and its decays (`docs/maths.md`, sections 5 and 6)."""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError


def cyclical_eta(t: int | np.ndarray, eta_min: float, eta_max: float, n_s: int) -> float | np.ndarray:
    """Triangular cyclical learning rate at update step ``t`` (0-based).

    Within each cycle of ``2 n_s`` steps, eta rises linearly from ``eta_min`` (at ``t = 2 l n_s``)
    to ``eta_max`` (at ``t = (2 l + 1) n_s``) and falls back to ``eta_min`` (at ``t = 2 (l + 1) n_s``).
    Works element-wise on an array of steps. Validate the settings once with
    :func:`check_cyclical`; this function is called every step and does not.
    """
    if np.ndim(t) == 0:
        phase = int(t) % (2 * n_s)
        return eta_min + (eta_max - eta_min) * min(phase, 2 * n_s - phase) / n_s
    phase = np.mod(t, 2 * n_s)
    rising = np.minimum(phase, 2 * n_s - phase) / n_s  # 0 -> 1 -> 0 over a cycle
    return eta_min + (eta_max - eta_min) * rising


def check_cyclical(eta_min: float, eta_max: float, n_s: int) -> None:
    """Raise :class:`ConfigError` for an impossible cyclical schedule."""
    if not (0 < eta_min <= eta_max and np.isfinite(eta_max)):
        raise ConfigError(f"need 0 < eta_min <= eta_max, got eta_min={eta_min}, eta_max={eta_max}")
    if int(n_s) != n_s or n_s < 1:
        raise ConfigError(f"n_s (half a cycle, in update steps) must be a positive integer, got {n_s}")


#: the learning-rate decays of ``TrainConfig.lr_decay``; "none" is the plain cyclical rate above
LR_DECAYS = ("none", "cyclical", "cosine")
#: the default peak factor of the "cyclical" decay (the only decay that uses one)
DEFAULT_DECAY_FACTOR = 0.5


def decayed_eta(
    t: int, eta_min: float, eta_max: float, n_s: int, decay: str = "none", factor: float = DEFAULT_DECAY_FACTOR,
    total_steps: int = 0,
) -> float:
    """Learning rate at update step ``t`` (0-based) with the decay ``decay`` (:data:`LR_DECAYS`).

    - ``"none"``: :func:`cyclical_eta`, unchanged.
    - ``"cyclical"``: triangular cycles whose peak decays by ``factor`` per cycle,
      ``eta_t = eta_min + (eta_max - eta_min) * factor^c * tri(t)`` with ``c = floor(t / 2 n_s)``
      the cycle and ``tri(t)`` the triangle of :func:`cyclical_eta` (0 -> 1 -> 0 over a cycle).
    - ``"cosine"``: a linear warm-up from ``eta_min`` to ``eta_max`` over the first ``n_s``
      steps, then one cosine down to ``eta_min`` at ``t = total_steps``:
      ``eta_t = eta_min + (eta_max - eta_min) (1 + cos(pi (t - n_s) / max(1, total_steps - n_s))) / 2``.

    Validate the settings once with :func:`check_decay`; this function is called every step.
    """
    if decay == "none":
        return cyclical_eta(t, eta_min, eta_max, n_s)
    if decay == "cyclical":
        phase = int(t) % (2 * n_s)
        peak = (eta_max - eta_min) * factor ** (int(t) // (2 * n_s))
        return eta_min + peak * min(phase, 2 * n_s - phase) / n_s
    if t < n_s:  # cosine: warm-up
        return eta_min + (eta_max - eta_min) * t / n_s
    progress = min(1.0, (t - n_s) / max(1, total_steps - n_s))
    return eta_min + (eta_max - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def check_decay(decay: str, factor: float) -> None:
    """Raise :class:`ConfigError` for an unknown decay, a factor outside (0, 1], or a factor without ``"cyclical"``."""
    if decay not in LR_DECAYS:
        raise ConfigError(f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {decay!r}")
    if not 0 < factor <= 1:
        raise ConfigError(f"lr_decay_factor (the peak's factor per cycle) must be in (0, 1], got {factor}")
    if factor != DEFAULT_DECAY_FACTOR and decay != "cyclical":
        raise ConfigError(f"lr_decay_factor applies to lr_decay='cyclical' only (got lr_decay={decay!r}); "
                          f"leave it at {DEFAULT_DECAY_FACTOR}")  # fmt: skip
