"""The building blocks of the network, one short function per formula of `docs/maths.md`.

Samples are rows: an input ``x`` of a layer has shape ``(n, d_in)`` and a weight matrix
``W`` has shape ``(d_in, d_out)``, so the affine map ``s = W x + b`` of column vectors
reads ``s = x @ W + b`` here (rows).

Every ``*_forward`` returns ``(out, cache)`` and the matching ``*_backward`` takes the
upstream gradient and that cache, in the style of the CS231n layer functions. No function
here keeps state: the batch-normalisation running averages live in the network.

The trainer runs a hidden layer's bias, ReLU, BN and dropout as one compiled block
(:func:`hidden_block_train_forward`); the functions above are the formulas it implements, and
the tests hold the block to them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import kernels

# ----------------------------------------------------------------------------- affine


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``s = x W + b``; ``b=None`` skips the bias (it is cancelled by a following BN).

    Returns ``(s, cache)``, where the cache is ``x``, the only thing the backward pass needs
    besides ``W``.
    """
    s = x @ W
    if b is not None:
        s += b
    return s, x


def affine_backward(
    ds: np.ndarray, x: np.ndarray, W: np.ndarray, need_dx: bool = True, need_db: bool = True, need_dw: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of ``s = x W + b``: ``dx = ds W^T``, ``dW = x^T ds``, ``db = sum_i ds_i``.

    ``need_dx=False`` skips ``dx`` for the first layer, whose input is the data;
    ``need_db=False`` skips ``db`` for a layer without bias (followed by BN); ``need_dw=False``
    skips ``dW`` for a caller that keeps it as the product ``x^T ds``
    (:class:`dd2424.blas.ProductGradient`). A skipped gradient is returned as ``None``.
    """
    dW = x.T @ ds if need_dw else None  # BLAS reads x transposed in place: no copy of the mini-batch
    db = ds.sum(axis=0) if need_db else None
    dx = ds @ W.T if need_dx else None
    return dx, dW, db


# ----------------------------------------------------------------------------- ReLU


def relu_forward(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = max(0, s)``, in place on ``s`` (the pre-activation is not needed afterwards).

    The cache is the output itself: ``x > 0`` is the mask of the backward pass.
    """
    np.maximum(s, 0, out=s)
    return s, s


def relu_backward(dx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient through the ReLU: zero where the output ``x`` was zero (in place on ``dx``)."""
    # multiplying by the 0/1 mask is about 3x faster than the boolean assignment dx[x <= 0] = 0
    # (the results differ only in the sign of zeros, and where dx is inf or NaN, i.e. in a run
    # whose cost is already non-finite)
    return np.multiply(dx, x > 0, out=dx)


# ----------------------------------------------------------------------------- inverted dropout


#: dropout decides with 16 random bits per unit: a unit is dropped when its bits are below
#: ``round(p * 2^16)``, so the probability is ``p`` to within 2^-17 (0.1 becomes 0.1000061). Four
#: units per 64-bit draw make the masks about four times cheaper to draw than uniform floats.
DROPOUT_LEVELS = 1 << 16


def dropout_draw(shape: tuple[int, ...], p: float, rng: np.random.Generator) -> tuple[np.ndarray, int, float]:
    """The random bits of a dropout mask, the threshold below which a unit is dropped, and the scale of the kept ones.

    ``scale = 1 / (1 - threshold / 2^16)``, one over the probability of keeping a unit, so the
    expected output equals the input.
    """
    size = int(np.prod(shape))
    raw = rng.bit_generator.random_raw(-(-size // 4))  # 64 bits: four units
    bits = raw.view(np.uint16)[:size].reshape(shape)
    threshold = min(round(p * DROPOUT_LEVELS), DROPOUT_LEVELS - 1)
    return bits, threshold, DROPOUT_LEVELS / (DROPOUT_LEVELS - threshold)


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout: zero each unit with probability ``p`` and scale the rest by ``1/(1-p)``.

    The expected output equals ``x``, so evaluation uses the layer unchanged. The cache is the
    scaled mask ``m`` (0 or ``1/(1-p)``); the output is ``x * m`` (in place on ``x``). The mask
    comes from :func:`dropout_draw`.
    """
    bits, threshold, scale = dropout_draw(x.shape, p, rng)
    mask = np.where(bits >= threshold, x.dtype.type(scale), x.dtype.type(0))
    x *= mask
    return x, mask


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Gradient through dropout: the same mask (in place on ``dout``)."""
    dout *= mask
    return dout


# ----------------------------------------------------------------------------- batch normalisation


class BatchNormCache(NamedTuple):
    """What the BN backward pass needs: the normalised scores, ``(v + eps)^-1/2`` and gamma."""

    s_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray


def batchnorm_train_forward(
    s: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> tuple[np.ndarray, BatchNormCache, np.ndarray, np.ndarray]:
    """BN in training mode: normalise with the mini-batch statistics.

    ``mu`` and ``v`` are the mean and the *biased* variance (divide by n) of each column of
    ``s``; ``s_hat = (s - mu) / sqrt(v + eps)`` and ``s_tilde = gamma * s_hat + beta``.
    Returns ``(s_tilde, cache, mu, v)``; the caller keeps ``mu`` and ``v`` for the running
    averages.
    """
    n = s.shape[0]
    mu = s.sum(axis=0) / n  # what s.mean(axis=0) computes, without its Python-level overhead
    s_hat = s - mu
    var = np.einsum("ij,ij->j", s_hat, s_hat) / n
    inv_std = 1.0 / np.sqrt(var + eps)
    s_hat *= inv_std
    s_tilde = s_hat * gamma
    s_tilde += beta
    return s_tilde, BatchNormCache(s_hat, inv_std, gamma), mu, var


def batchnorm_eval_forward(
    s: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mu: np.ndarray, var: np.ndarray, eps: float
) -> np.ndarray:
    """BN in evaluation mode: the same map with fixed statistics (the running averages).

    Folded into one scale and shift per column: ``gamma / sqrt(v + eps) * s + (beta - ...)``.
    """
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mu * scale
    out = s * scale
    out += shift
    return out


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of BN in training mode (statistics from the batch), `docs/maths.md` section 3.

    ``dgamma = sum_i G_i * s_hat_i``, ``dbeta = sum_i G_i``; then with ``G <- G * gamma``,
    ``ds = (v + eps)^-1/2 * (G - mean(G) - s_hat * mean(G * s_hat))``.
    Returns ``(ds, dgamma, dbeta)``.
    """
    s_hat, inv_std, gamma = cache
    n = dout.shape[0]
    dgamma = np.einsum("ij,ij->j", dout, s_hat)
    dbeta = dout.sum(axis=0)
    # mean(G * gamma) = gamma * dbeta / n and mean(G * gamma * s_hat) = gamma * dgamma / n
    scale = gamma * inv_std
    ds = dout - dbeta / n
    ds -= s_hat * (dgamma / n)
    ds *= scale
    return ds, dgamma, dbeta


# ----------------------------------------------------------------------------- skip connection


class ResidualCache(NamedTuple):
    """What :func:`residual_backward` needs: the block's input ``x`` and the inner layer's output ``h``."""

    x: np.ndarray
    h: np.ndarray


def residual_forward(
    x: np.ndarray, W_inner: np.ndarray, b_inner: np.ndarray, W_sum: np.ndarray, b_sum: np.ndarray | None
) -> tuple[np.ndarray, ResidualCache]:
    """The sum of a skip-connection block: ``s = max(x W_inner + b_inner, 0) W_sum + b_sum + x``.

    ``x`` is the block's input ``x(l-1)``; the inner layer has its bias and a ReLU and no BN;
    ``b_sum=None`` leaves the sum's bias out (it is cancelled by a following BN). ``W_inner``
    and ``W_sum`` are square, so ``s`` has the width of ``x``. The caller applies the sum
    layer's BN and ReLU to ``s``. Returns ``(s, cache)``.
    """
    h, _ = relu_forward(affine_forward(x, W_inner, b_inner)[0])
    s, _ = affine_forward(h, W_sum, b_sum)
    s += x
    return s, ResidualCache(x, h)


class ResidualGrads(NamedTuple):
    """Gradients of :func:`residual_forward`; ``ds_inner`` is ``dL/d(x W_inner + b_inner)``."""

    dx: np.ndarray
    dW_inner: np.ndarray | None
    db_inner: np.ndarray
    dW_sum: np.ndarray | None
    ds_inner: np.ndarray


def residual_backward(
    ds: np.ndarray, cache: ResidualCache, W_inner: np.ndarray, W_sum: np.ndarray, need_dw: bool = True
) -> ResidualGrads:
    """Gradients of the block's sum from ``ds = dL/ds``, `docs/maths.md` section 6.

    Back through the sum layer's product (``dh = ds W_sum^T``, ``dW_sum = h^T ds``), the inner
    ReLU and affine map (``G = dh * 1[h > 0]``, ``dW_inner = x^T G``, ``db_inner = sum_i G_i``),
    and at the block's start the skip's gradient: ``dx = G W_inner^T + ds``. The sum's bias
    gradient is ``sum_i ds_i``, left to the caller. ``need_dw=False`` skips both ``dW``.
    ``ds`` is not changed.
    """
    x, h = cache
    dh, dW_sum, _ = affine_backward(ds, h, W_sum, need_db=False, need_dw=need_dw)
    ds_inner = relu_backward(dh, h)
    dx, dW_inner, db_inner = affine_backward(ds_inner, x, W_inner, need_dw=need_dw)
    dx += ds  # the residual: x reaches s directly as well
    return ResidualGrads(dx, dW_inner, db_inner, dW_sum, ds_inner)


# ----------------------------------------------------------------------------- a hidden layer's block, compiled


class HiddenBlockCache(NamedTuple):
    """What :func:`hidden_block_backward` needs: the normalised layer's input ``v``, the block's output,
    the statistics, gamma, the ReLU's position and the dropout draw."""

    v: np.ndarray
    out: np.ndarray
    mean: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    relu_first: bool
    bits: np.ndarray
    threshold: int
    scale: float


_NO_BITS = np.zeros((1, 1), dtype=np.uint16)


def hidden_block_train_forward(
    s: np.ndarray, b: np.ndarray | None, gamma: np.ndarray, beta: np.ndarray, eps: float, bn_position: str,
    p: float = 0.0, rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, HiddenBlockCache, np.ndarray, np.ndarray]:  # fmt: skip
    """Bias, ReLU, BN in training mode and dropout of a hidden layer, after its product ``s``, in one compiled loop.

    The same maths as ``s + b``, :func:`relu_forward`, :func:`batchnorm_train_forward` (BN
    ``"before"`` or ``"after"`` the ReLU) and :func:`dropout_forward` (with ``p > 0`` and ``rng``)
    applied one after the other, with their random draws, in two passes over the data instead of
    about ten (:func:`dd2424.kernels.hidden_block_forward`; float32 and float64 only). ``s`` is
    overwritten. Returns ``(out, cache, mu, v)`` like :func:`batchnorm_train_forward`.
    """
    n, d = s.shape
    real = s.dtype.type
    bits, threshold, scale = dropout_draw(s.shape, p, rng) if p and rng is not None else (_NO_BITS, 0, 1.0)
    out = np.empty_like(s)
    mean, var, inv_std = (np.empty(d, dtype=s.dtype) for _ in range(3))
    bias = np.zeros(d, dtype=s.dtype) if b is None else b
    relu_first = bn_position == "after"
    kernels.hidden_block_forward(s, bias, gamma, beta, real(eps), relu_first, not relu_first, bits, threshold,
                                 real(scale), out, mean, var, inv_std)  # fmt: skip
    return out, HiddenBlockCache(s, out, mean, inv_std, gamma, relu_first, bits, threshold, scale), mean, var


def hidden_block_backward(dout: np.ndarray, cache: HiddenBlockCache) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`hidden_block_train_forward`: ``(ds, dgamma, dbeta, db)``, in place on ``dout``."""
    c = cache
    d = dout.shape[1]
    dgamma, dbeta, db = (np.empty(d, dtype=dout.dtype) for _ in range(3))
    kernels.hidden_block_backward(dout, c.v, c.out, c.mean, c.inv_std, c.gamma, c.relu_first, not c.relu_first, c.bits,
                                  c.threshold, dout.dtype.type(c.scale), dgamma, dbeta, db)  # fmt: skip
    return dout, dgamma, dbeta, db


# ----------------------------------------------------------------------------- softmax and cross-entropy


def log_softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(s)``, stable for huge or tiny scores (the row maximum is subtracted)."""
    shifted = s - s.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(s: np.ndarray) -> np.ndarray:
    """Row-wise class probabilities ``p = exp(s) / sum exp(s)``, computed stably."""
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p


def cross_entropy(log_p: np.ndarray, y: np.ndarray, smoothing: float = 0.0) -> np.floating:
    """Mean cross-entropy ``-(1/n) sum_i log p_i[y_i]`` from log-probabilities (a scalar of their dtype).

    With label ``smoothing`` eps the target of a sample is ``(1 - eps) * one_hot(y) + eps / K``
    instead of the one-hot vector, which adds ``-eps * mean_k log p_k`` per sample.
    """
    n = y.shape[0]
    loss = -log_p[np.arange(n), y].sum() / n
    if smoothing:
        loss = (1 - smoothing) * loss - smoothing * log_p.mean(axis=1).sum() / n
    return loss


def softmax_cross_entropy(s: np.ndarray, y: np.ndarray, smoothing: float = 0.0) -> tuple[np.floating, np.ndarray]:
    """Mean cross-entropy of the scores ``s`` and its gradient ``G = (P - T) / n``.

    ``T`` is one-hot, or with label ``smoothing`` eps ``(1 - eps) * one_hot + eps / K``.
    """
    log_p = log_softmax(s)
    loss = cross_entropy(log_p, y, smoothing)
    n = y.shape[0]
    G = np.exp(log_p)
    G[np.arange(n), y] -= 1.0 - smoothing
    if smoothing:
        G -= smoothing / s.shape[1]
    G /= n
    return loss, G
