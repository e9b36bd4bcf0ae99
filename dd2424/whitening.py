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

Every seed of a configuration, and every later configuration with the same epsilon, whitens the
same training data, so :func:`whitening` computes ``Z`` and the whitened splits once per process
and hands them out again (:data:`CACHE_SIZE` entries).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from threadpoolctl import threadpool_info

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


def fold_into_first_layer(net: KLayerNet, Z: np.ndarray) -> None:
    """``W_1 <- Z W_1``: the network on whitened rows becomes the same network on standardised rows."""
    net.params["W1"] = np.ascontiguousarray(Z @ net.params["W1"]).astype(net.dtype, copy=False)


#: whitenings kept in a process: the ladder's two epsilons (about 0.75 GB each on the full data)
CACHE_SIZE = 2


@dataclass(frozen=True)
class Whitening:
    """A ZCA whitening of a dataset: ``Z``, the whitened splits, and the seconds it took to compute."""

    Z: np.ndarray
    data: SimpleNamespace
    seconds: float


@dataclass(frozen=True, eq=False)
class _Entry:
    """A cached whitening and what it was computed from: the split arrays themselves (compared with
    ``is``: holding them keeps their ``id`` from being reused), the epsilon and the BLAS threads."""

    arrays: tuple[np.ndarray, ...]
    eps: float
    threads: tuple[int, ...]
    Z: np.ndarray
    whitened: tuple[np.ndarray, ...]
    seconds: float

    def matches(self, arrays: tuple[np.ndarray, ...], eps: float, threads: tuple[int, ...]) -> bool:
        return self.eps == eps and self.threads == threads and all(a is b for a, b in zip(self.arrays, arrays))


_cache: list[_Entry] = []  # most recently used last


def whitening(data, eps: float) -> Whitening:
    """``fit_zca`` on ``data.train`` and every split of ``data`` whitened with it, computed once per process.

    An entry is reused only for the very same split arrays (identity, not equality), the same
    epsilon and the same BLAS thread count (which could change the last bits of the products),
    so a reused whitening is bit for bit the one a fresh computation would give. The split
    arrays must not be modified in place while the process uses them (nothing in dd2424 does).
    ``seconds`` is the time of the fit and the whitening when they were computed, the same
    for every run that uses the entry, so the time a run reports does not depend on which
    run of the process came first.
    """
    arrays = tuple(split.X for split in (data.train, data.val, data.test))
    threads = _blas_threads()
    entry = next((e for e in _cache if e.matches(arrays, eps, threads)), None)
    if entry is None:
        tic = time.perf_counter()
        Z = fit_zca(data.train.X, eps)
        whitened = tuple(whiten(X, Z) for X in arrays)
        entry = _Entry(arrays, eps, threads, Z, whitened, time.perf_counter() - tic)
    _cache[:] = [*(e for e in _cache if e is not entry), entry][-CACHE_SIZE:]
    return Whitening(entry.Z, _with_rows(data, entry.whitened), entry.seconds)


def _with_rows(data, rows: tuple[np.ndarray, ...]) -> SimpleNamespace:
    """The training, validation and test splits of ``data`` with their rows replaced by ``rows`` (in that order)."""
    splits = (("train", data.train), ("val", data.val), ("test", data.test))
    return SimpleNamespace(**{name: SimpleNamespace(X=X, y=split.y) for (name, split), X in zip(splits, rows)})


def clear_whitening_cache() -> None:
    """Forget every cached whitening (tests; or to free the memory)."""
    _cache.clear()


def _blas_threads() -> tuple[int, ...]:
    """The thread counts of the loaded BLAS libraries."""
    return tuple(p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas")
