"""Per-layer gradient norms on a fixed probe batch, for the history (`docs/maths.md`, section 6).

How large each layer's gradient is, along training, shows whether the first layers of a deep
network learn on the same scale as the last. The probe is the same batch at every record, so the
curves change only with the network; it is evaluated in training mode (BN with the probe's own
batch statistics, as a training step sees them) without dropout, and touches neither the running
averages nor any random generator, so recording it leaves the training itself unchanged.
"""

from __future__ import annotations

import numpy as np

from .network import KLayerNet

#: the probe batch: the first rows of the training split
PROBE_ROWS = 500


def grad_norm_keys(k: int) -> list[str]:
    """The history keys of a ``k``-layer network: ``grad_norm_W1..k`` then ``weight_norm_W1..k``."""
    return [f"grad_norm_W{l}" for l in range(1, k + 1)] + [f"weight_norm_W{l}" for l in range(1, k + 1)]


def grad_norms(net: KLayerNet, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``||dL/dW_l||_F`` and ``||W_l||_F`` of every layer, keyed as :func:`grad_norm_keys`.

    ``L`` is the training loss (cross-entropy, with the network's label smoothing) on the rows
    ``X`` without the L2 term, whose gradient ``2 lambda W_l`` is known from ``||W_l||``. The
    ratio ``grad_norm / weight_norm`` is the relative change a unit learning rate would make.
    """
    _, grads, _ = net.forward_backward(X, y, 0.0, None, penalty=False)  # no rng: no dropout, no draws
    out = {f"grad_norm_W{l}": float(np.linalg.norm(grads[f"W{l}"])) for l in range(1, net.k + 1)}
    out.update({f"weight_norm_W{l}": float(np.linalg.norm(W)) for l, W in enumerate(net.weights(), start=1)})
    return out
