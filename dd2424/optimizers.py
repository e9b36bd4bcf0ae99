"""Parameter updates: plain mini-batch gradient descent and Adam, each given the learning rate of the step.

An optimiser updates a ``params`` dict in place from a ``grads`` dict with the same keys; the
learning-rate schedule stays outside, in :mod:`dd2424.schedule`. ``decay`` optionally names the
parameters whose L2 term the update adds itself: ``decay[name] = c`` adds ``c * theta`` to the
gradient inside the update's pass over ``theta`` (``c = 2 lambda`` for ``lambda ||W||^2``), so
the network need not make a separate pass over every weight matrix for it.

Both work through the parameters in blocks of :data:`BLOCK` elements, so that a block's arrays
stay in the cache between the dozen operations of the update instead of streaming from memory
for each. (Sharing the blocks among threads gains nothing here: after a matrix product OpenBLAS's
own threads keep spinning on the other core for a while.)
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from .errors import ConfigError

#: elements per block: a block's arrays (256 KiB each in float32) stay in a 2 MiB L2 cache
BLOCK = 65536


def for_each_block(update: Callable[[str, slice], None], sizes: Mapping[str, int]) -> None:
    """Call ``update(name, block)`` for every block of :data:`BLOCK` elements of every named array."""
    for name, size in sizes.items():
        for start in range(0, size, BLOCK):
            update(name, slice(start, min(start + BLOCK, size)))


class _BlockedOptimizer:
    """What SGD and Adam share: a check of the parameters' layout and one block of scratch memory."""

    def __init__(self) -> None:
        self._scratch: np.ndarray | None = None

    def _prepare(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        if self._scratch is None:
            for name, param in params.items():
                if not param.flags.c_contiguous:
                    raise ConfigError(f"the update works through flat views of the parameters: {name} must be C-contiguous")
            self._scratch = np.empty(BLOCK, dtype=next(iter(params.values())).dtype)
        return self._scratch

    @staticmethod
    def _add_decay(g: np.ndarray, p: np.ndarray, c: float, tmp: np.ndarray) -> None:
        """``g <- g + c p`` in place (the L2 term's gradient; the trainer is done with ``g``)."""
        if c:
            np.multiply(p, c, out=tmp)
            g += tmp


class SGD(_BlockedOptimizer):
    """``theta <- theta - eta * (grad + c theta)``; the gradients are scaled in place (the trainer is done with them)."""

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], eta: float,
             decay: Mapping[str, float] | None = None) -> None:  # fmt: skip
        scratch = self._prepare(params)
        decay = decay or {}
        flat = {name: (params[name].reshape(-1), grads[name].reshape(-1)) for name in params}

        def update(name: str, block: slice) -> None:
            p, g = (a[block] for a in flat[name])
            self._add_decay(g, p, decay.get(name, 0.0), scratch[: p.size])
            g *= eta
            p -= g

        for_each_block(update, {name: params[name].size for name in params})


class Adam(_BlockedOptimizer):
    """Adam (Kingma and Ba, 2015) with bias-corrected first and second moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``theta <- theta - eta * m_hat / (sqrt(v_hat) + eps)``. The L2 term of the cost is part of
    ``g`` (classic L2 regularisation, not decoupled weight decay), whether the network added it
    or ``decay`` asks the update to.
    """

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise ConfigError(f"Adam needs 0 <= beta1, beta2 < 1 and eps > 0, got {beta1}, {beta2}, {eps}")
        super().__init__()
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], eta: float,
             decay: Mapping[str, float] | None = None) -> None:  # fmt: skip
        scratch = self._prepare(params)
        decay = decay or {}
        self.t += 1
        # the paper's efficient form: both bias corrections folded into the step size
        step_size = eta * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, param in params.items():
            if name not in self.m:
                self.m[name], self.v[name] = np.zeros_like(param), np.zeros_like(param)
        flat = {name: [a.reshape(-1) for a in (params[name], grads[name], self.m[name], self.v[name])] for name in params}

        def update(name: str, block: slice) -> None:
            p, g, m, v = (a[block] for a in flat[name])
            tmp = scratch[: p.size]
            self._add_decay(g, p, decay.get(name, 0.0), tmp)
            self._update(p, g, m, v, tmp, step_size)

        for_each_block(update, {name: params[name].size for name in params})

    def _update(self, p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, tmp: np.ndarray, step_size: float) -> None:
        """One block of the update, in place, with ``tmp`` as the only temporary."""
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp


def make_optimizer(name: str) -> SGD | Adam:
    """``"sgd"`` or ``"adam"``."""
    if name == "sgd":
        return SGD()
    if name == "adam":
        return Adam()
    raise ConfigError(f"unknown optimiser {name!r}; use 'sgd' or 'adam'")
