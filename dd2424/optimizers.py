"""Parameter updates: plain mini-batch gradient descent and Adam, each given the learning rate of the step.

An optimiser updates a ``params`` dict in place from a ``grads`` dict with the same keys; the
learning-rate schedule stays outside, in :mod:`dd2424.schedule`.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError


class SGD:
    """``theta <- theta - eta * grad``; the gradients are scaled in place (the trainer is done with them)."""

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], eta: float) -> None:
        for name, param in params.items():
            grad = grads[name]
            grad *= eta
            param -= grad


class Adam:
    """Adam (Kingma and Ba, 2015) with bias-corrected first and second moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``theta <- theta - eta * m_hat / (sqrt(v_hat) + eps)``. The L2 term of the cost is part of
    ``g`` (classic L2 regularisation, not decoupled weight decay).
    """

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise ConfigError(f"Adam needs 0 <= beta1, beta2 < 1 and eps > 0, got {beta1}, {beta2}, {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self._scratch: dict[str, np.ndarray] = {}

    #: elements per block of the update: the block's five arrays (256 KiB each in float32) stay
    #: in a 2 MiB L2 cache between the dozen operations, instead of streaming from memory each time
    BLOCK = 65536

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], eta: float) -> None:
        self.t += 1
        # the paper's efficient form: both bias corrections folded into the step size
        step_size = eta * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, param in params.items():
            if name not in self.m:
                if not param.flags.c_contiguous:
                    raise ConfigError(f"Adam updates parameters in place through flat views: {name} must be C-contiguous")
                self.m[name] = np.zeros_like(param)
                self.v[name] = np.zeros_like(param)
                self._scratch[name] = np.empty(min(param.size, self.BLOCK), dtype=param.dtype)
            flat = [a.reshape(-1) for a in (param, grads[name], self.m[name], self.v[name])]
            for start in range(0, param.size, self.BLOCK):
                p, g, m, v = (a[start : start + self.BLOCK] for a in flat)
                self._update(p, g, m, v, self._scratch[name][: p.size], step_size)

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
