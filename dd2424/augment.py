"""On-the-fly data augmentation of training mini-batches: random horizontal flips and translations.

Images are rows of 3072 values, the R, G and B planes of 32x32 one after another (the CIFAR-10
layout), already standardised. Every operation is vectorised over the batch; a translated image
is filled with zeros at its border, i.e. with the training mean pixel after standardisation.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError
from .kernels import augment_rows

SIDE, CHANNELS = 32, 3


def as_images(X: np.ndarray) -> np.ndarray:
    """View ``(n, 3072)`` rows as ``(n, 3, 32, 32)`` images (no copy)."""
    if X.ndim != 2 or X.shape[1] != CHANNELS * SIDE * SIDE:
        raise ConfigError(f"augmentation needs CIFAR-10 rows of {CHANNELS * SIDE * SIDE} values, got shape {X.shape}")
    return X.reshape(X.shape[0], CHANNELS, SIDE, SIDE)


def mirror(X: np.ndarray) -> np.ndarray:
    """Every image mirrored left-right (a new array): the second view of test-time flip averaging."""
    return np.ascontiguousarray(as_images(X)[:, :, :, ::-1]).reshape(X.shape)


def random_flip(X: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right with probability ``p``; returns a new array."""
    images = as_images(X)
    flip = rng.random(X.shape[0]) < p
    out = images.copy()
    out[flip] = images[flip, :, :, ::-1]
    return out.reshape(X.shape)


def random_translate(X: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Shift each image by independent random ``(dy, dx)`` in ``[-max_shift, max_shift]``, zero-filled.

    Pads the batch once and reads every image's shifted window through a strided view. (The
    trainer uses :func:`augment_batch`, which makes the same draws in one compiled pass; this
    is the readable reference it is tested against.)
    """
    if max_shift == 0:
        return X.copy()
    if not 0 < max_shift < SIDE:
        raise ConfigError(f"max_shift must be between 0 and {SIDE - 1} pixels, got {max_shift}")
    images = as_images(X)
    n, k = X.shape[0], max_shift
    padded = np.zeros((n, CHANNELS, SIDE + 2 * k, SIDE + 2 * k), dtype=X.dtype)
    padded[:, :, k : k + SIDE, k : k + SIDE] = images
    windows = np.lib.stride_tricks.sliding_window_view(padded, (SIDE, SIDE), axis=(2, 3))  # (n, 3, 2k+1, 2k+1, 32, 32)
    dy = rng.integers(0, 2 * k + 1, n)
    dx = rng.integers(0, 2 * k + 1, n)
    out = windows[np.arange(n), :, dy, dx]  # (n, 3, 32, 32): window (dy, dx) = shift by (k - dy, k - dx)
    return np.ascontiguousarray(out).reshape(X.shape)


def augment_batch(
    X: np.ndarray, rng: np.random.Generator, flip: bool = True, max_shift: int = 0, rows: np.ndarray | None = None
) -> np.ndarray:
    """Translate and/or flip the mini-batch ``X[rows]`` (all of ``X`` by default) into a new array.

    The result and the random draws are exactly those of :func:`random_translate` followed by
    :func:`random_flip` on ``X[rows]``, but the gather, the shift and the mirror are one pass
    (:func:`dd2424.kernels.augment_rows`) instead of four copies of the batch.
    """
    images = np.ascontiguousarray(as_images(X))  # the compiled copy reads flat rows (no copy for the usual C-ordered X)
    if not 0 <= max_shift < SIDE:
        raise ConfigError(f"max_shift must be between 0 and {SIDE - 1} pixels, got {max_shift}")
    rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
    if rows.size and (rows.min() < 0 or rows.max() >= X.shape[0]):  # the compiled copy does not check its reads
        raise IndexError(f"rows must be indices of X's {X.shape[0]} images, got values from {rows.min()} to {rows.max()}")
    n, k = rows.size, max_shift
    shift_y = rng.integers(0, 2 * k + 1, n) - k if k else np.zeros(n, dtype=np.int64)  # the draws of random_translate
    shift_x = rng.integers(0, 2 * k + 1, n) - k if k else np.zeros(n, dtype=np.int64)
    mirrored = rng.random(n) < 0.5 if flip else np.zeros(n, dtype=bool)  # the draw of random_flip
    out = np.empty((n, X.shape[1]), dtype=X.dtype)
    augment_rows(images, rows, shift_y, shift_x, mirrored, as_images(out))
    return out
