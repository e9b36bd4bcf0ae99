"""Loops that numpy cannot fuse, compiled by numba: the optimisers' updates, the augmentation of a mini-batch
and a hidden layer's bias, ReLU, batch normalisation and dropout in training mode.

numpy evaluates Adam's ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` and
``theta <- theta - s m / (sqrt(v) + eps)`` one operation at a time: about fourteen passes over
each parameter, 3.7 M numbers for the wide network, every one of them a round trip through
the cache. A compiled loop makes one pass and keeps an element's intermediate values in
registers, as PyTorch's fused Adam does; on these machines that is about 2 ms per step
instead of 12 for the wide network (``dd2424 bench``). In the same way the gather of a
mini-batch, its translation and its mirror are one pass instead of four copies, and a hidden
layer's bias, ReLU, batch normalisation and dropout are two passes over its scores each way
instead of about ten numpy operations.

The loops are written in the parameters' own precision: the constants are cast to the
parameters' dtype before the call, so float32 parameters are updated in float32 arithmetic, as
numpy would.

Threads: the loops run on one thread; :func:`compute_threads` sets BLAS's. A second thread never
paid for them on these 2-core machines (``benchmarks/README.md``): after a matrix product,
OpenBLAS's threads keep spinning on the other core for a while, and a parallel loop that needs
it runs slower than a serial one.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import numba
import numpy as np

from .errors import ConfigError

#: the compiled loops' options: no GIL, cached on disk, and numpy's rules for a division by zero (no checks in the loop)
_compiled = functools.partial(numba.njit, nogil=True, cache=True, error_model="numpy")


@_compiled
def adam_update(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, decay):  # pragma: no cover
    """One Adam step over flat arrays, in place: ``g`` gains the L2 term ``decay * p`` first."""
    for i in range(p.size):
        grad = g[i] + decay * p[i]
        m_i = beta1 * m[i] + one_minus_beta1 * grad
        v_i = beta2 * v[i] + one_minus_beta2 * (grad * grad)
        m[i] = m_i
        v[i] = v_i
        p[i] = p[i] - step_size * m_i / (np.sqrt(v_i) + eps)


@_compiled
def sgd_update(p, g, eta, decay):  # pragma: no cover
    """``p <- p - eta (g + decay p)`` over flat arrays, in place."""
    for i in range(p.size):
        p[i] = p[i] - eta * (g[i] + decay * p[i])


@_compiled
def augment_rows(images, rows, shift_y, shift_x, flip, out):  # pragma: no cover
    """``out[i] = images[rows[i]]`` translated by ``(-shift_y[i], -shift_x[i])``, zero-filled, then mirrored where ``flip[i]``.

    ``images`` is ``(N, C, H, W)``, ``out`` is ``(n, C, H, W)``: pixel ``(r, c)`` of an output
    image is pixel ``(r + shift_y, c' + shift_x)`` of its source, with ``c' = W - 1 - c`` for a
    mirrored image and ``c' = c`` otherwise, or zero where that falls outside the source.
    """
    n, channels, height, width = out.shape
    for i in range(n):
        source = images[rows[i]]
        for ch in range(channels):
            for r in range(height):
                r_in = r + shift_y[i]
                for c in range(width):
                    c_in = (width - 1 - c if flip[i] else c) + shift_x[i]
                    inside = 0 <= r_in < height and 0 <= c_in < width
                    out[i, ch, r, c] = source[ch, r_in, c_in] if inside else 0


#: columns per block of the hidden-block loops: 250 rows of 64 float32 columns (64 KB) stay in the
#: L2 cache across a block's passes
BLOCK_COLUMNS = 64


@_compiled
def hidden_block_forward(s, bias, gamma, beta, eps, relu_first, relu_last, bits, threshold, scale,
                         out, mean, var, inv_std):  # pragma: no cover  # fmt: skip
    """A hidden layer's training-mode block after its product ``s``, in place where it can be.

    ``v = s + bias``, then ``max(v, 0)`` with ``relu_first`` (``s`` keeps ``v``); batch
    normalisation of ``v`` with its column mean and biased variance (written to ``mean``,
    ``var`` and ``inv_std = (var + eps)^-1/2``), ``y = gamma (v - mean) inv_std + beta``;
    ``max(y, 0)`` with ``relu_last``; inverted dropout where ``threshold > 0``: ``out = scale y``
    where ``bits >= threshold``, else 0. Column sums run down the rows, as numpy's do, in
    float64; the rest is in ``s``'s dtype.
    """
    n, d = s.shape
    zero = np.zeros(1, dtype=s.dtype)[0]  # a literal 0 would turn float32 arithmetic into float64
    for block in range((d + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS):
        j0 = block * BLOCK_COLUMNS
        width = min(d, j0 + BLOCK_COLUMNS) - j0
        total = np.zeros(width)
        for i in range(n):
            for k in range(width):
                v = s[i, j0 + k] + bias[j0 + k]
                if relu_first and v < 0:
                    v = zero
                s[i, j0 + k] = v
                total[k] += v
        for k in range(width):
            mean[j0 + k] = total[k] / n
            total[k] = 0.0
        for i in range(n):
            for k in range(width):
                centred = np.float64(s[i, j0 + k] - mean[j0 + k])
                total[k] += centred * centred
        for k in range(width):
            var[j0 + k] = total[k] / n
            inv_std[j0 + k] = 1.0 / np.sqrt(total[k] / n + eps)
        for i in range(n):
            for k in range(width):
                j = j0 + k
                y = (s[i, j] - mean[j]) * inv_std[j] * gamma[j] + beta[j]
                if relu_last and y < 0:
                    y = zero
                if threshold > 0:
                    y = y * scale if bits[i, j] >= threshold else zero
                out[i, j] = y


@_compiled
def hidden_block_backward(dout, v, out, mean, inv_std, gamma, relu_first, relu_last, bits, threshold, scale,
                          dgamma, dbeta, dbias):  # pragma: no cover  # fmt: skip
    """The gradients of :func:`hidden_block_forward`, in place on ``dout`` (which ends as ``dL/ds``).

    ``G`` is ``dout`` through dropout and the last ReLU (with ``relu_last`` both are zero exactly
    where ``out`` is); with ``h = (v - mean) inv_std``: ``dgamma = sum_i G h``, ``dbeta = sum_i G``
    and ``dv = gamma inv_std (G - dbeta / n - h dgamma / n)``, zero where the first ReLU cut
    (``v`` not positive) with ``relu_first``; ``dbias = sum_i dv``. Sums in float64.
    """
    n, d = dout.shape
    zero = np.zeros(1, dtype=dout.dtype)[0]
    for block in range((d + BLOCK_COLUMNS - 1) // BLOCK_COLUMNS):
        j0 = block * BLOCK_COLUMNS
        width = min(d, j0 + BLOCK_COLUMNS) - j0
        sum_g, sum_gh, sum_dv = np.zeros(width), np.zeros(width), np.zeros(width)
        for i in range(n):
            for k in range(width):
                j = j0 + k
                g = dout[i, j]
                if relu_last:
                    g = g * scale if out[i, j] > 0 else zero
                elif threshold > 0:
                    g = g * scale if bits[i, j] >= threshold else zero
                dout[i, j] = g
                sum_g[k] += g
                sum_gh[k] += g * ((v[i, j] - mean[j]) * inv_std[j])
        mean_g = np.empty(width, dtype=dout.dtype)  # the means in dout's dtype, for the pass below
        mean_gh = np.empty(width, dtype=dout.dtype)
        for k in range(width):
            dbeta[j0 + k] = sum_g[k]
            dgamma[j0 + k] = sum_gh[k]
            mean_g[k] = sum_g[k] / n
            mean_gh[k] = sum_gh[k] / n
        for i in range(n):
            for k in range(width):
                j = j0 + k
                h = (v[i, j] - mean[j]) * inv_std[j]
                dv = gamma[j] * inv_std[j] * (dout[i, j] - mean_g[k] - h * mean_gh[k])
                if relu_first and not v[i, j] > 0:
                    dv = zero
                dout[i, j] = dv
                sum_dv[k] += dv
        for k in range(width):
            dbias[j0 + k] = sum_dv[k]


def flat(array: np.ndarray) -> np.ndarray:
    """A 1-d view of a C-contiguous array (a reshape that copies would update the copy)."""
    if not array.flags.c_contiguous:
        raise ConfigError(f"the update works through flat views of the parameters: an array of shape {array.shape} must be C-contiguous")
    return array.reshape(-1)


@contextlib.contextmanager
def compute_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` BLAS threads inside the block (``None``: leave the count as it is)."""
    from threadpoolctl import threadpool_limits

    if threads is None:
        yield
        return
    with threadpool_limits(limits=threads):
        yield
