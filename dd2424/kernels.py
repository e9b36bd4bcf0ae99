"""Loops that numpy cannot fuse, compiled by numba: the optimisers' updates and the augmentation of a mini-batch.

numpy evaluates Adam's ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` and
``theta <- theta - s m / (sqrt(v) + eps)`` one operation at a time: about fourteen passes over
each parameter, 3.7 M numbers for the wide network, every one of them a round trip through
the cache. A compiled loop makes one pass and keeps an element's intermediate values in
registers, as PyTorch's fused Adam does; on these machines that is about 2 ms per step
instead of 12 for the wide network (``dd2424 bench``). In the same way the gather of a
mini-batch, its translation and its mirror are one pass instead of four copies.

Every element is written on its own, with the same float operations in the same order, so the
result does not depend on how many threads share the loop. The loops are written in the
parameters' own precision: the constants are cast to the parameters' dtype before the call,
so float32 parameters are updated in float32 arithmetic, as numpy would.

Threads: :func:`compute_threads` sets one count for BLAS and for these loops. The loops run on
numba's ``workqueue`` threading layer (``NUMBA_THREADING_LAYER``, or ``DD2424_LOOP_LAYER``,
overrides it), whose threads sleep between loops.
"""
from __future__ import annotations

import contextlib
import functools
import os
import types
from typing import Iterator

import numpy as np

from .errors import ConfigError

# Numba's "workqueue" threads sleep between parallel loops; an OpenMP pool would keep spinning
# on the core that OpenBLAS's threads need for the next matrix product.
os.environ.setdefault("NUMBA_THREADING_LAYER", os.environ.get("DD2424_LOOP_LAYER", "workqueue"))

import numba  # noqa: E402  (after the threading layer is chosen)
from numba import prange  # noqa: E402

#: below this many elements (1 MiB of float32) a loop runs on one thread: waking the others costs about 0.1 ms
PARALLEL_MIN = 1 << 18


def _fused(loop, work=lambda first, *rest: first.size):
    """``loop`` compiled twice, serial and parallel; the returned function picks one by ``work(*args)``, the elements it writes."""
    options = {"nogil": True, "cache": True, "error_model": "numpy"}  # "numpy": no zero-division checks in the loop
    # numba's on-disk cache tells functions apart by name, so the serial one gets a name of its own
    serial_loop = types.FunctionType(loop.__code__, loop.__globals__, f"{loop.__name__}_serial")
    serial_loop.__qualname__ = serial_loop.__name__
    serial, parallel = numba.njit(**options)(serial_loop), numba.njit(parallel=True, **options)(loop)

    def run(*args):
        return (parallel if work(*args) >= PARALLEL_MIN else serial)(*args)

    run.__name__, run.__doc__ = loop.__name__, loop.__doc__
    return run


@_fused
def adam_update(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, decay):  # pragma: no cover
    """One Adam step over flat arrays, in place: ``g`` gains the L2 term ``decay * p`` first."""
    for i in prange(p.size):
        grad = g[i] + decay * p[i]
        m_i = beta1 * m[i] + one_minus_beta1 * grad
        v_i = beta2 * v[i] + one_minus_beta2 * (grad * grad)
        m[i] = m_i
        v[i] = v_i
        p[i] = p[i] - step_size * m_i / (np.sqrt(v_i) + eps)


@_fused
def sgd_update(p, g, eta, decay):  # pragma: no cover
    """``p <- p - eta (g + decay p)`` over flat arrays, in place."""
    for i in prange(p.size):
        p[i] = p[i] - eta * (g[i] + decay * p[i])


@functools.partial(_fused, work=lambda *args: args[-1].size)
def augment_rows(images, rows, shift_y, shift_x, flip, out):  # pragma: no cover
    """``out[i] = images[rows[i]]`` translated by ``(-shift_y[i], -shift_x[i])``, zero-filled, then mirrored where ``flip[i]``.

    ``images`` is ``(N, C, H, W)``, ``out`` is ``(n, C, H, W)``: pixel ``(r, c)`` of an output
    image is pixel ``(r + shift_y, c' + shift_x)`` of its source, with ``c' = W - 1 - c`` for a
    mirrored image and ``c' = c`` otherwise, or zero where that falls outside the source.
    """
    n, channels, height, width = out.shape
    for i in prange(n):
        source = images[rows[i]]
        for ch in range(channels):
            for r in range(height):
                r_in = r + shift_y[i]
                for c in range(width):
                    c_in = (width - 1 - c if flip[i] else c) + shift_x[i]
                    inside = 0 <= r_in < height and 0 <= c_in < width
                    out[i, ch, r, c] = source[ch, r_in, c_in] if inside else 0


def flat(array: np.ndarray) -> np.ndarray:
    """A 1-d view of a C-contiguous array (a reshape that copies would update the copy)."""
    if not array.flags.c_contiguous:
        raise ConfigError(f"the update works through flat views of the parameters: an array of shape {array.shape} must be C-contiguous")
    return array.reshape(-1)


def set_threads(threads: int) -> None:
    """Let the compiled loops use ``threads`` threads (at most the number numba started with)."""
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


@contextlib.contextmanager
def compute_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` threads for BLAS and for the compiled loops inside the block (``None``: leave both as they are)."""
    from threadpoolctl import threadpool_limits

    if threads is None:
        yield
        return
    before = numba.get_num_threads()
    with threadpool_limits(limits=threads):
        set_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(before)
