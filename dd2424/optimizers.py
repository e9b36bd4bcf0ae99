"""Parameter updates: plain mini-batch gradient descent and Adam, each given the learning rate of the step.

An optimiser updates a ``params`` dict in place from a ``grads`` dict with the same keys; the
learning-rate schedule stays outside, in :mod:`dd2424.schedule`. ``decay`` optionally names the
parameters whose L2 term the update adds itself: ``decay[name] = c`` adds ``c * theta`` to the
gradient inside the update's pass over ``theta`` (``c = 2 lambda`` for ``lambda ||W||^2``), so
the network need not make a separate pass over every weight matrix for it.

The formulas are below; the loops that apply them element by element, in one pass over each
parameter, are in :mod:`dd2424.kernels`. A gradient may also come as a
:class:`dd2424.blas.ProductGradient` (``dW = x^T G`` not yet evaluated): SGD then folds its
update into that product (:func:`dd2424.blas.accumulate_product`), and Adam evaluates it.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .blas import ProductGradient, accumulate_product
from .errors import ConfigError
from .kernels import adam_update, flat, sgd_update

#: a parameter's gradient: an array, or a weight gradient ``x^T G`` left as a product
Gradient = np.ndarray | ProductGradient


class SGD:
    """``theta <- theta - eta * (grad + c theta)``, i.e. ``theta <- (1 - eta c) theta - eta grad``."""

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, Gradient], eta: float,
             decay: Mapping[str, float] | None = None) -> None:  # fmt: skip
        decay = decay or {}
        for name, param in params.items():
            real, grad, c = param.dtype.type, grads[name], decay.get(name, 0.0)
            if isinstance(grad, ProductGradient):
                accumulate_product(param, grad.a, grad.b, alpha=-real(eta), beta=real(1) - real(eta) * real(c))
            else:
                sgd_update(flat(param), flat(grad), real(eta), real(c))


class Adam:
    """Adam (Kingma and Ba, 2015) with bias-corrected first and second moments.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``theta <- theta - eta * m_hat / (sqrt(v_hat) + eps)``. The L2 term of the cost is part of
    ``g`` (classic L2 regularisation, not decoupled weight decay), whether the network added it
    or ``decay`` asks the update to.
    """

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1 and eps > 0):
            raise ConfigError(f"Adam needs 0 <= beta1, beta2 < 1 and eps > 0, got {beta1}, {beta2}, {eps}")
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, Gradient], eta: float,
             decay: Mapping[str, float] | None = None) -> None:  # fmt: skip
        decay = decay or {}
        self.t += 1
        # the paper's efficient form: both bias corrections folded into the step size
        step_size = eta * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, param in params.items():
            if name not in self.m:
                self.m[name], self.v[name] = np.zeros_like(param), np.zeros_like(param)
            real = param.dtype.type  # float32 parameters are updated in float32 arithmetic
            adam_update(
                flat(param), flat(np.asarray(grads[name])), flat(self.m[name]), flat(self.v[name]),
                real(self.beta1), real(1 - self.beta1), real(self.beta2), real(1 - self.beta2),
                real(self.eps), real(step_size), real(decay.get(name, 0.0)),
            )  # fmt: skip


def make_optimizer(name: str) -> SGD | Adam:
    """``"sgd"`` or ``"adam"``."""
    if name == "sgd":
        return SGD()
    if name == "adam":
        return Adam()
    raise ConfigError(f"unknown optimiser {name!r}; use 'sgd' or 'adam'")
