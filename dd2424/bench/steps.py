"""The three steps that ``dd2424 bench`` times side by side: ours, its matrix-product floor, PyTorch's.

Each builder returns a function of no arguments that runs one training step on the next
mini-batch of a fixed random order (:class:`Batches`), so the three see the same work.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..network import BN_ALPHA, KLayerNet
from ..training import gradient_step

BATCH = 100
LAM = 0.005
ETA = 0.01  # a constant learning rate: computing the cyclical one costs nothing measurable


class Batches:
    """Consecutive mini-batches of a fixed random permutation of the training rows, like the trainer's."""

    def __init__(self, n: int, size: int = BATCH, seed: int = 0) -> None:
        self.order = np.random.default_rng(seed).permutation(n)
        self.size, self.position = size, 0

    def next(self) -> np.ndarray:
        if self.position + self.size > self.order.size:
            self.position = 0
        batch = self.order[self.position : self.position + self.size]
        self.position += self.size
        return batch



def our_step(net: KLayerNet, X: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    batches = Batches(X.shape[0])

    def step():
        batch = batches.next()
        return gradient_step(net, X[batch], y[batch], LAM, ETA)  # the trainer's gather and update

    return step


def floor_step(net: KLayerNet, X: np.ndarray, batch_size: int = BATCH) -> Callable[[], object]:
    """The matrix products of a step of ``net``, nothing else.

    Forward ``x_l = x_{l-1} @ W_l`` for every layer; backward ``dW_l = x_{l-1}^T @ G_l`` for every
    layer and ``G_{l-1} = G_l @ W_l^T`` for all but the first (the data needs no gradient), with
    the operand layouts that :mod:`dd2424.layers` uses.
    """
    rng = np.random.default_rng(1)
    x0 = np.asarray(X[Batches(X.shape[0], batch_size).next()], dtype=net.dtype)
    Ws = net.weights()
    Gs = [rng.standard_normal((batch_size, W.shape[1])).astype(net.dtype) for W in Ws]

    def step():
        inputs = [x0]
        for W in Ws[:-1]:
            inputs.append(inputs[-1] @ W)
        scores = inputs[-1] @ Ws[-1]
        for l in range(len(Ws) - 1, -1, -1):
            _dW = inputs[l].T @ Gs[l]
            if l > 0:
                _dx = Gs[l] @ Ws[l].T
        return scores

    return step


def torch_step(net: KLayerNet, X: np.ndarray, y: np.ndarray, threads: int) -> Callable[[], object]:
    """The same network and step in PyTorch, as fast as a plain PyTorch loop gets.

    Same initial parameters; hidden layers without bias (BN cancels it, as in ours);
    ``BatchNorm1d`` with our epsilon and momentum ``1 - alpha = 0.1``; SGD with
    ``weight_decay = 2 lambda`` on the weight matrices only (our cost has ``lambda ||W||^2``);
    ``zero_grad(set_to_none=True)``; multi-tensor (``foreach``) SGD. Its one difference in the
    maths, which does not change the work: PyTorch's running variance is the unbiased one.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    dtype = getattr(torch, net.dtype.name)
    modules: list[nn.Module] = []
    for l in range(1, net.k + 1):
        d_in, d_out = net.params[f"W{l}"].shape
        modules.append(nn.Linear(d_in, d_out, bias=(l == net.k), dtype=dtype))
        if l < net.k:
            modules += [nn.BatchNorm1d(d_out, eps=net.bn_eps, momentum=1 - BN_ALPHA, dtype=dtype), nn.ReLU()]
    model = nn.Sequential(*modules).train()
    opt = torch.optim.SGD(torch_twin_groups(model, net, LAM), lr=ETA, foreach=True)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)  # shared memory, no copy
    batches = Batches(X.shape[0])

    def step():
        batch = torch.from_numpy(batches.next())
        xb, yb = Xt[batch].to(dtype), yt[batch]  # .to is a no-op in float32, a conversion in float64
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_twin_groups(model, net: KLayerNet, lam: float) -> list[dict]:
    """Give ``model``'s linear layers ``net``'s initial weights; parameter groups with ``weight_decay = 2 lam``
    on those weights only (our cost has ``lam ||W||^2``) and none on biases and BN parameters."""
    import torch

    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for l, W in enumerate(weights, start=1):
            W.copy_(torch.from_numpy(net.params[f"W{l}"].T))  # PyTorch stores W as (d_out, d_in)
    decayed = {id(p) for p in weights}
    others = [p for p in model.parameters() if id(p) not in decayed]
    return [{"params": weights, "weight_decay": 2 * lam}, {"params": others, "weight_decay": 0.0}]


def torch_available() -> tuple[bool, str]:
    try:
        import torch  # noqa: F401
    except ImportError as error:
        return False, f"PyTorch is not installed ({error}); pip install 'dd2424[torch]' to compare"
    return True, ""

