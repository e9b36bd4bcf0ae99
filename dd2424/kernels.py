"""Loops that numpy cannot fuse, compiled by numba: the optimisers' updates, the augmentation of a mini-batch
and a hidden layer's bias, ReLU, batch normalisation and dropout in training mode.

numpy evaluates Adam's ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` and
``theta <- theta - s m / (sqrt(v) + eps)`` one operation at a time: about fourteen passes over
each parameter, 3.7 M numbers for the wide network, every one of them a round trip through
the cache. A compiled loop makes one pass and keeps an element's intermediate values in
registers, as PyTorch's fused Adam does; on these machines that is about 2 ms per step
instead of 12 for the wide network (``dd2424 bench``). In the same way the gather of a
mini-batch, its translation and its mirror are one pass instead of four copies, and a hidden
layer's bias, ReLU, batch normalisation and dropout are three passes over its scores forward
and two backward, along whole rows, instead of about ten numpy operations.

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


#: the index type of the copies in :func:`augment_rows`: unsigned, so numba emits no check for negative indices
_index = np.uint64


@_compiled
def augment_rows(images, rows, shift_y, shift_x, flip, out):  # pragma: no cover
    """``out[i] = images[rows[i]]`` translated by ``(-shift_y[i], -shift_x[i])``, zero-filled, then mirrored where ``flip[i]``.

    ``images`` is ``(N, C, H, W)``, ``out`` is ``(n, C, H, W)``, both C-contiguous: pixel
    ``(r, c)`` of an output image is pixel ``(r + shift_y, c' + shift_x)`` of its source, with
    ``c' = W - 1 - c`` for a mirrored image and ``c' = c`` otherwise, or zero where that falls
    outside the source. Each output row is one run of copied pixels (read forwards, written
    forwards or backwards) between runs of zeros, so the copies vectorise; the indices are
    unsigned, which spares them numba's check for negative indices.
    """
    n, channels, height, width = out.shape
    source_pixels, out_pixels = images.reshape(-1), out.reshape(-1)
    zero = np.zeros(1, dtype=out.dtype)[0]
    plane = height * width
    for i in range(n):
        dy, dx = shift_y[i], shift_x[i]
        first, stop = max(0, -dx), min(width, width - dx)  # the columns c' whose source column c' + dx is inside
        count = max(0, stop - first)
        # the output columns that get a pixel: [first, stop), or mirrored [width - stop, width - first)
        lo, hi = (width - stop, width - first) if flip[i] else (first, stop)
        for ch in range(channels):
            for r in range(height):
                target = _index(i * channels * plane + ch * plane + r * width)
                r_in = r + dy
                if r_in < 0 or r_in >= height or count == 0:
                    for k in range(_index(width)):
                        out_pixels[target + k] = zero
                    continue
                source = _index(rows[i] * channels * plane + ch * plane + r_in * width + first + dx)
                for k in range(_index(lo)):
                    out_pixels[target + k] = zero
                for k in range(_index(hi), _index(width)):
                    out_pixels[target + k] = zero
                if flip[i]:
                    last = target + _index(hi - 1)
                    for k in range(_index(count)):
                        out_pixels[last - k] = source_pixels[source + k]
                else:
                    start = target + _index(lo)
                    for k in range(_index(count)):
                        out_pixels[start + k] = source_pixels[source + k]



@_compiled
def hidden_block_forward(s, bias, gamma, beta, eps, relu_first, relu_last, bits, threshold, scale,
                         out, mean, var, inv_std):  # pragma: no cover  # fmt: skip
    """A hidden layer's training-mode block after its product ``s``, in place where it can be.

    ``v = s + bias``, then ``max(v, 0)`` with ``relu_first`` (``s`` keeps ``v``); batch
    normalisation of ``v`` with its column mean and biased variance (written to ``mean``,
    ``var`` and ``inv_std = (var + eps)^-1/2``), ``y = gamma (v - mean) inv_std + beta``;
    ``max(y, 0)`` with ``relu_last``; inverted dropout where ``threshold > 0``: ``out = scale y``
    where ``bits >= threshold``, else 0. Column sums run down the rows, as numpy's do, in
    float64; the rest is in ``s``'s dtype. Every pass runs along whole rows, which numba
    vectorises (a 250 x 1024 float32 batch, 1 MB, stays in the L2 cache between passes).
    """
    n, d = s.shape
    zero = np.zeros(1, dtype=s.dtype)[0]  # a literal 0 would turn float32 arithmetic into float64
    total = np.zeros(d)
    for i in range(n):
        for j in range(d):
            v = s[i, j] + bias[j]
            if relu_first and v < 0:
                v = zero
            s[i, j] = v
            total[j] += v
    for j in range(d):
        mean[j] = total[j] / n
        total[j] = 0.0
    for i in range(n):
        for j in range(d):
            centred = np.float64(s[i, j] - mean[j])
            total[j] += centred * centred
    for j in range(d):
        var[j] = total[j] / n
        inv_std[j] = 1.0 / np.sqrt(total[j] / n + eps)
    for i in range(n):
        if threshold > 0:  # two copies of the loop: the test stays out of the inner one
            for j in range(d):
                y = (s[i, j] - mean[j]) * inv_std[j] * gamma[j] + beta[j]
                if relu_last and y < 0:
                    y = zero
                out[i, j] = y * scale if bits[i, j] >= threshold else zero
        else:
            for j in range(d):
                y = (s[i, j] - mean[j]) * inv_std[j] * gamma[j] + beta[j]
                if relu_last and y < 0:
                    y = zero
                out[i, j] = y


@_compiled
def hidden_block_backward(dout, v, out, mean, inv_std, gamma, relu_first, relu_last, bits, threshold, scale,
                          dgamma, dbeta, dbias):  # pragma: no cover  # fmt: skip
    """The gradients of :func:`hidden_block_forward`, in place on ``dout`` (which ends as ``dL/ds``).

    ``G`` is ``dout`` through dropout and the last ReLU (with ``relu_last`` both are zero exactly
    where ``out`` is); with ``h = (v - mean) inv_std``: ``dgamma = sum_i G h``, ``dbeta = sum_i G``
    and ``dv = gamma inv_std (G - dbeta / n - h dgamma / n)``, zero where the first ReLU cut
    (``v`` not positive) with ``relu_first``; ``dbias = sum_i dv``. Sums in float64, down the rows.
    """
    n, d = dout.shape
    zero = np.zeros(1, dtype=dout.dtype)[0]
    sum_g, sum_gh, sum_dv = np.zeros(d), np.zeros(d), np.zeros(d)
    for i in range(n):
        for j in range(d):
            g = dout[i, j]
            if relu_last:
                g = g * scale if out[i, j] > 0 else zero
            elif threshold > 0:
                g = g * scale if bits[i, j] >= threshold else zero
            dout[i, j] = g
            sum_g[j] += g
            sum_gh[j] += g * ((v[i, j] - mean[j]) * inv_std[j])
    mean_g = np.empty(d, dtype=dout.dtype)  # the means in dout's dtype, for the pass below
    mean_gh = np.empty(d, dtype=dout.dtype)
    for j in range(d):
        dbeta[j] = sum_g[j]
        dgamma[j] = sum_gh[j]
        mean_g[j] = sum_g[j] / n
        mean_gh[j] = sum_gh[j] / n
    for i in range(n):
        for j in range(d):
            h = (v[i, j] - mean[j]) * inv_std[j]
            dv = gamma[j] * inv_std[j] * (dout[i, j] - mean_g[j] - h * mean_gh[j])
            if relu_first and not v[i, j] > 0:
                dv = zero
            dout[i, j] = dv
            sum_dv[j] += dv
    for j in range(d):
        dbias[j] = sum_dv[j]


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
