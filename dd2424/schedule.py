"""Learning-rate schedules: the triangular cyclical rate (`docs/maths.md`, section 5)."""

from __future__ import annotations

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
