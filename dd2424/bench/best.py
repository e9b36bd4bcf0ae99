"""The step of the ablation ladder's best configuration, timed by ``dd2424 bench`` beside PyTorch's.

The configuration is the ladder's (:func:`dd2424.study.beyond.default_ladder` applied to the
assignment's network): hidden layers [512, 256], BN after the ReLU, dropout 0.1, random flips
and shifts of up to 3 pixels, Adam, batches of 250, float32 (the ZCA whitening of its inputs is
done once before training and is not part of a step). A step is everything the trainer
does per mini-batch: gather, augmentation, dropout masks, forward, backward, BN running
averages and the Adam update (:func:`dd2424.training.gradient_step`). PyTorch's step does the
same work with its own layers, its tensor augmentation and its fused Adam (classic L2 on the
weights, as ours); the floor is the step's matrix products alone
(:func:`dd2424.bench.steps.floor_step`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..augment import augment_batch
from ..network import BN_ALPHA, KLayerNet
from ..optimizers import Adam
from ..training import TrainConfig, gradient_step
from .steps import Batches, floor_step, torch_twin_groups

ETA = 1e-3  # a constant rate, the top of the best configuration's cycle


def best_config() -> TrainConfig:
    """The last row of the full profile's ladder without its trials, applied to the assignment's 3-layer BN network.

    (Whether a trial stays is decided by the ladder's results; none of them changes the work of a step.)
    """
    from ..study.beyond import default_ladder

    config = TrainConfig()
    for ingredient in default_ladder():
        if not ingredient.trial:
            config = ingredient.apply(config)
    return config


def our_step(net: KLayerNet, config: TrainConfig, X: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """The trainer's step for ``config``: gather, augment, then :func:`gradient_step` with Adam and dropout."""
    batches = Batches(X.shape[0], config.batch_size)
    augment_rng, dropout_rng, adam = np.random.default_rng(2), np.random.default_rng(3), Adam()

    def step():
        batch = batches.next()
        xb = augment_batch(X, augment_rng, config.flip, config.max_shift, rows=batch)
        return gradient_step(net, xb, y[batch], config.lam, ETA, adam, dropout_rng)

    return step


def torch_step(net: KLayerNet, config: TrainConfig, X: np.ndarray, y: np.ndarray, threads: int) -> Callable[[], object]:
    """The same step in PyTorch: Linear, ReLU, BatchNorm1d, Dropout per hidden layer; flips and
    zero-filled shifts on tensors; ``Adam(fused=True)`` with ``weight_decay = 2 lambda`` on the weights."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    modules: list[nn.Module] = []
    for l in range(1, net.k + 1):
        d_in, d_out = net.params[f"W{l}"].shape
        modules.append(nn.Linear(d_in, d_out))
        if l < net.k:
            modules += [nn.ReLU(), nn.BatchNorm1d(d_out, eps=net.bn_eps, momentum=1 - BN_ALPHA), nn.Dropout(config.dropout)]
    model = nn.Sequential(*modules).train()
    opt = torch.optim.Adam(torch_twin_groups(model, net, config.lam), lr=ETA, fused=True)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    batches, k, side = Batches(X.shape[0], config.batch_size), config.max_shift, 32
    generator = torch.Generator().manual_seed(2)
    offsets = torch.arange(side)

    def augment(xb: "torch.Tensor") -> "torch.Tensor":
        n = xb.shape[0]
        images = xb.view(n, 3, side, side)
        flip = torch.rand(n, generator=generator) < 0.5
        images = torch.where(flip[:, None, None, None], images.flip(3), images)
        padded = F.pad(images, (k, k, k, k))
        dy = torch.randint(0, 2 * k + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * k + 1, (n,), generator=generator)
        rows, cols = (dy[:, None] + offsets)[:, :, None], (dx[:, None] + offsets)[:, None, :]
        shifted = padded[torch.arange(n)[:, None, None], :, rows, cols]  # (n, 32, 32, 3)
        return shifted.permute(0, 3, 1, 2).reshape(n, -1)

    def step():
        batch = torch.from_numpy(batches.next())
        xb, yb = augment(Xt[batch]), yt[batch]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return step


def best_case_steps(
    config: TrainConfig, X: np.ndarray, y: np.ndarray, n_classes: int, threads: int, with_torch: bool
) -> dict[str, Callable[[], object]]:
    """The step functions to time side by side for ``config`` (:func:`best_config`), on fresh networks."""
    net = config.build_network(X.shape[1], n_classes)
    steps = {"ours": our_step(net, config, X, y), "floor": floor_step(net, X, config.batch_size)}
    if with_torch:
        steps["torch"] = torch_step(config.build_network(X.shape[1], n_classes), config, X, y, threads)
    return steps
