"""A weight gradient left as a product, and the one BLAS call numpy cannot make: ``W <- beta W + alpha x^T G``.

The gradient of an affine layer's weights is a product, ``dW = x^T G`` (:func:`dd2424.layers.affine_backward`).
Plain gradient descent then makes a pass of its own over ``W`` and ``dW``:
``W <- (1 - eta c) W - eta dW``. For the wide network's first layer, 3 M weights, that pass moves
about 38 MB, and writing ``dW`` another 13 MB. BLAS's ``gemm`` computes
``C <- alpha A^T B + beta C`` in one call, while each block of ``C`` is in the cache, so with
``alpha = -eta`` and ``beta = 1 - eta c`` the update costs no more than the product alone and
``dW`` is never written. numpy's ``matmul`` has no ``beta``, so this module looks up ``gemm``
in the BLAS library that numpy itself calls (through numpy's own extension module, so that the
threads :func:`dd2424.kernels.compute_threads` sets apply to it) and checks it on a small
product before trusting it. Where it cannot be found (another BLAS build, another platform)
:func:`accumulate_product` computes the same update with numpy.

A network asked for its gradients as products (``KLayerNet.forward_backward(products=True)``)
returns each ``dW`` as a :class:`ProductGradient`; :class:`dd2424.optimizers.SGD` hands it to
:func:`accumulate_product`, and anything else can evaluate it with ``np.asarray``.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
#: names of ``cblas_?gemm`` in numpy's builds: the ``64_`` suffix marks 64-bit integer arguments (ILP64)
_SYMBOLS = ("scipy_cblas_{}gemm64_", "cblas_{}gemm64_", "scipy_cblas_{}gemm", "cblas_{}gemm")
_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d"}


@dataclass(frozen=True)
class ProductGradient:
    """The gradient ``a^T b`` of an affine layer's weights (``a = x``, the layer's input; ``b = G = dJ/ds``), not yet evaluated."""

    a: np.ndarray
    b: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.a.shape[1], self.b.shape[1])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        product = self.a.T @ self.b  # BLAS reads a transposed in place
        return product if dtype is None else product.astype(dtype, copy=False)


def accumulate_product(C: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: float, beta: float) -> None:
    """``C <- beta C + alpha a^T b``, in place, in one BLAS call where numpy's BLAS allows it.

    ``C`` is ``(d, h)``, ``a`` is ``(n, d)`` and ``b`` is ``(n, h)``, all of one dtype. The
    scalars are rounded to that dtype first, as the element-wise updates of
    :mod:`dd2424.kernels` do.
    """
    if C.shape != (a.shape[1], b.shape[1]) or a.shape[0] != b.shape[0]:
        raise ValueError(f"cannot accumulate a^T b with a {a.shape}, b {b.shape} into C {C.shape}")
    if not C.flags.writeable:
        raise ValueError("cannot accumulate into a read-only C: pass a writeable array (a copy, or one with writeable=True)")
    real = C.dtype.type
    gemm = _gemm(C.dtype) if a.dtype == b.dtype == C.dtype and all(m.flags.c_contiguous for m in (C, a, b)) else None
    if gemm is None or C.size == 0 or a.shape[0] == 0:
        product = a.T @ b
        C *= real(beta)
        C += real(alpha) * product.astype(C.dtype, copy=False)
        return
    gemm(C, a, b, real(alpha), real(beta))


def has_fused_update(dtype: np.dtype | type) -> bool:
    """Whether :func:`accumulate_product` runs as one BLAS call for C-contiguous arrays of ``dtype``."""
    return _gemm(np.dtype(dtype)) is not None


@functools.cache
def _gemm(dtype: np.dtype) -> Callable | None:
    """``gemm(C, a, b, alpha, beta)`` from numpy's BLAS for ``dtype``, or ``None`` where there is none that works."""
    if dtype not in _PREFIX:
        return None
    numpy_core = _numpy_extension()
    if numpy_core is None:
        return None
    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    for pattern in _SYMBOLS:
        name = pattern.format(_PREFIX[dtype])
        try:
            function = getattr(numpy_core, name)  # dlsym searches the module and the libraries it loaded
        except AttributeError:
            continue
        integer = ctypes.c_int64 if name.endswith("64_") else ctypes.c_int
        pointer = ctypes.c_void_p
        function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real, pointer,
                             integer, pointer, integer, real, pointer, integer]  # fmt: skip
        function.restype = None

        def gemm(C, a, b, alpha, beta, function=function):
            (n, d), h = a.shape, b.shape[1]
            function(_ROW_MAJOR, _TRANS, _NO_TRANS, d, h, n, alpha, a.ctypes.data, d, b.ctypes.data, h, beta, C.ctypes.data, h)

        return gemm if _works(gemm, dtype) else None
    return None


def _numpy_extension() -> ctypes.CDLL | None:
    """numpy's compiled core, whose symbol lookups reach the BLAS library it was linked with."""
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy 2, numpy 1
        try:
            return ctypes.CDLL(importlib.import_module(module).__file__)
        except (ImportError, AttributeError, OSError, TypeError):
            continue
    return None


def _works(gemm: Callable, dtype: np.dtype) -> bool:
    """Whether ``gemm`` computes a small ``beta C + alpha a^T b`` as numpy does."""
    rng = np.random.default_rng(0)
    a, b, C = (rng.standard_normal(shape).astype(dtype) for shape in ((5, 3), (5, 4), (3, 4)))
    expected = dtype.type(0.5) * C - dtype.type(2.0) * (a.T @ b)
    gemm(C, a, b, dtype.type(-2.0), dtype.type(0.5))
    return bool(np.allclose(C, expected, rtol=1e-5, atol=1e-5))
