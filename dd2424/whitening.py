"""ZCA whitening of the inputs (`docs/maths.md`, section 6), fitted on the training split only.

The inputs are already standardised, so their mean is zero and their covariance is
``C = X^T X / n``. With ``C = U diag(l) U^T``, ZCA maps a row ``x`` to ``x Z`` with
``Z = U diag(1 / sqrt(l + eps)) U^T``: the directions of large variance (smooth colour gradients)
are scaled down and the small ones (edges) up, to unit variance, while ``Z`` stays symmetric so
that a whitened image still looks like an image (its edges), and flips and translations of it
still make sense. ``eps`` keeps the smallest directions (JPEG noise) from being amplified.

``C`` is averaged with the covariance of the mirrored images, so ``Z`` commutes exactly with a
horizontal flip: flipping a whitened image equals whitening the flipped one, and training-time
and test-time flips see the same inputs.

A network trained on whitened rows ``x Z`` computes ``x Z W_1`` in its first layer; replacing
``W_1`` by ``Z W_1`` (:func:`fold_into_first_layer`) gives the same network on standardised rows,
so everything after training (evaluation, pictures of the first layer) sees ordinary inputs.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .augment import mirror
from .errors import ConfigError
from .network import KLayerNet


def fit_zca(X: np.ndarray, eps: float, mirrored: bool = True, chunk: int = 5000) -> np.ndarray:
    """The symmetric whitening matrix ``Z`` (d, d) of zero-mean rows ``X``, in ``X``'s dtype.

    The covariance is accumulated in float64 over chunks of rows, with the mirrored images
    unless ``mirrored=False`` (for rows that are not CIFAR-10 images).
    """
    if not (eps > 0 and np.isfinite(eps)):
        raise ConfigError(f"the ZCA epsilon must be a positive number, got {eps}")
    n, d = X.shape
    C = np.zeros((d, d))
    for start in range(0, n, chunk):
        rows = X[start : start + chunk]
        for view in (rows, mirror(rows)) if mirrored else (rows,):
            C += (view.T @ view).astype(np.float64)  # the product in X's dtype: float32 BLAS is twice as fast
    C /= (2 if mirrored else 1) * n
    variances, U = np.linalg.eigh(C)
    Z = (U / np.sqrt(np.maximum(variances, 0.0) + eps)) @ U.T
    return Z.astype(X.dtype)


def whiten(X: np.ndarray, Z: np.ndarray, chunk: int = 5000) -> np.ndarray:
    """``X Z`` into a new C-contiguous array, a chunk of rows at a time."""
    out = np.empty((X.shape[0], Z.shape[1]), dtype=Z.dtype)
    for start in range(0, X.shape[0], chunk):
        np.matmul(X[start : start + chunk], Z, out=out[start : start + chunk])
    return out


def whitened_splits(data, Z: np.ndarray) -> SimpleNamespace:
    """The training, validation and test splits of ``data`` with their rows whitened by ``Z``."""
    return SimpleNamespace(**{
        name: SimpleNamespace(X=whiten(split.X, Z), y=split.y)
        for name, split in (("train", data.train), ("val", data.val), ("test", data.test))
    })  # fmt: skip


def fold_into_first_layer(net: KLayerNet, Z: np.ndarray) -> None:
    """``W_1 <- Z W_1``: the network on whitened rows becomes the same network on standardised rows."""
    net.params["W1"] = np.ascontiguousarray(Z @ net.params["W1"]).astype(net.dtype, copy=False)
