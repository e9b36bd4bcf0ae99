"""Detecting a run that has collapsed while its loss stays finite.

Without batch normalisation a too-large learning rate shows as a non-finite loss. With it the
loss can stay finite while the network is lost: BN rescales whatever the weights become, so the
weights can decay to zero or blow up while the loss sits far above its starting value and the
accuracy at chance. Two signs are watched, both cheap enough for the training loop:

- the parameters: a non-finite entry, or one larger than :data:`PARAM_LIMIT` in magnitude (a
  trained network's entries are of order 1), checked at the history's record points;
- the mini-batch loss: above ``LOSS_FACTOR * max(L0, ln K)`` (``L0`` the first mini-batch loss,
  ``K`` the number of classes) on at least :data:`SUSTAINED` of the steps of a window.

A network that stays at chance (a deep network without BN at a tiny initial sigma) has a loss
near ``ln K`` and is not flagged: it is slow, not broken.
"""

from __future__ import annotations

import math

import numpy as np

#: a parameter entry beyond this magnitude means the run has blown up
PARAM_LIMIT = 1e4
#: how far above max(L0, ln K) the loss must stay to count as collapsed
LOSS_FACTOR = 3.0
#: the share of a window's steps whose loss must be that high
SUSTAINED = 0.9
#: the longest window (update steps); shorter runs use a tenth of their steps, at least 10
MAX_WINDOW = 100


class CollapseWatch:
    """Counts the mini-batch losses far above the start, window by window, and checks the parameters.

    ``step`` returns a message when the loss has stayed high over a whole window, ``params``
    when a parameter is non-finite or exploded; both say what to change (lower ``eta_max``).
    """

    def __init__(self, n_classes: int, total_steps: int, eta_max: float) -> None:
        self.chance = math.log(n_classes)
        self.window = min(MAX_WINDOW, max(10, total_steps // 10))
        self.eta_max = eta_max
        self.threshold = math.inf  # set by the first loss
        self.start = math.nan
        self.high = 0

    def step(self, step: int, loss: float) -> str | None:
        """Note the loss of update ``step`` (0-based); a message if the loss stayed high over the window."""
        if step == 0:
            self.start = float(loss)
            self.threshold = LOSS_FACTOR * max(self.start, self.chance)
        self.high += loss > self.threshold
        if (step + 1) % self.window:
            return None
        high, self.high = self.high, 0
        if high < SUSTAINED * self.window:
            return None
        return (
            f"training collapsed at update step {step}: the mini-batch loss stayed above {self.threshold:.3g} "
            f"({LOSS_FACTOR:g} times max(starting loss {self.start:.3g}, ln K)) on {high} of the last "
            f"{self.window} steps; lower eta_max (now {self.eta_max})"
        )

    def params(self, step: int, params: dict[str, np.ndarray]) -> str | None:
        """A message if a parameter is non-finite or larger than :data:`PARAM_LIMIT` in magnitude."""
        for name, p in params.items():
            largest = float(np.max(np.abs(p))) if p.size else 0.0
            if not largest <= PARAM_LIMIT:  # also catches NaN
                return (
                    f"training diverged at update step {step}: {name} reached |{largest:.3g}| "
                    f"(a trained network's parameters are of order 1); lower eta_max (now {self.eta_max})"
                )
        return None
