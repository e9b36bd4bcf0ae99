"""The compiled loops: the same numbers as the numpy formulas."""

import numpy as np
import pytest

from threadpoolctl import threadpool_info

from dd2424.augment import augment_batch, random_flip, random_translate
from dd2424.errors import ConfigError
from dd2424.kernels import compute_threads, flat
from dd2424.network import KLayerNet
from dd2424.optimizers import SGD, Adam


def _numpy_adam(theta, grads, eta, c, dtype):
    """Adam with L2 coefficient ``c``, one numpy operation at a time, in ``dtype`` arithmetic."""
    real = np.dtype(dtype).type
    theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = g + real(c) * theta
        m = real(0.9) * m + real(1 - 0.9) * g
        v = real(0.999) * v + real(1 - 0.999) * (g * g)
        step = real(eta * np.sqrt(1 - 0.999**t) / (1 - 0.9**t))
        theta = theta - step * m / (np.sqrt(v) + real(1e-8))
    return theta


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_is_the_numpy_formula_in_the_parameters_precision(dtype):
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(70001).astype(dtype)
    grads = [rng.standard_normal(theta.size).astype(dtype) for _ in range(4)]
    params, opt = {"W": theta.copy()}, Adam()
    for g in grads:
        opt.step(params, {"W": g.copy()}, 0.01, {"W": 0.003})
    expected = _numpy_adam(theta, grads, 0.01, 0.003, dtype)
    assert params["W"].dtype == dtype
    # one rounding of difference at most (numpy may evaluate a product in another order)
    assert np.allclose(params["W"], expected, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert not np.allclose(params["W"], theta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_sgd_is_the_numpy_formula_in_the_parameters_precision(dtype):
    rng = np.random.default_rng(1)
    params = {"W": rng.standard_normal((300, 200)).astype(dtype), "b": rng.standard_normal(200).astype(dtype)}
    grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
    real = np.dtype(dtype).type
    expected = {"W": params["W"] - real(0.05) * (grads["W"] + real(0.01) * params["W"]), "b": params["b"] - real(0.05) * grads["b"]}
    SGD().step(params, grads, 0.05, {"W": 0.01})
    for k in params:
        assert params[k].dtype == dtype
        assert np.allclose(params[k], expected[k], rtol=2 * np.finfo(dtype).eps, atol=0)


def _blas_threads() -> int:
    return max(p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas")


def test_compute_threads_sets_blas_and_restores_the_previous_count():
    before = _blas_threads()
    with compute_threads(1):
        assert _blas_threads() == 1
    assert _blas_threads() == before
    with compute_threads(None):  # None leaves it alone
        assert _blas_threads() == before


def test_flat_refuses_an_array_it_would_have_to_copy():
    with pytest.raises(ConfigError, match="C-contiguous"):
        flat(np.zeros((4, 4)).T)
    a = np.zeros((3, 4))
    flat(a)[5] = 1.0
    assert a[1, 1] == 1.0


@pytest.mark.parametrize("flip, shift", [(True, 3), (True, 0), (False, 2), (False, 0), (True, 31), (False, 31), (True, 16)])
def test_fused_augmentation_is_gather_translate_then_flip(flip, shift):
    """The one-pass kernel gives, bit for bit and from the same draws, what the numpy steps give
    (shifts up to 31 pixels leave rows and columns wholly outside the source)."""
    X = np.random.default_rng(2).standard_normal((40, 3072)).astype(np.float32)
    rows = np.random.default_rng(3).permutation(40)[:25]
    fused = augment_batch(X, np.random.default_rng(4), flip, shift, rows=rows)
    rng, expected = np.random.default_rng(4), X[rows]
    if shift:
        expected = random_translate(expected, rng, shift)
    if flip:
        expected = random_flip(expected, rng)
    assert fused.shape == (25, 3072) and np.array_equal(fused, expected)
    assert np.array_equal(X, np.random.default_rng(2).standard_normal((40, 3072)).astype(np.float32))  # input untouched


def test_fused_augmentation_rejects_rows_outside_the_images():
    X = np.zeros((5, 3072), dtype=np.float32)
    for rows in ([0, 5], [-1, 2]):
        with pytest.raises(IndexError, match="indices of X's 5 images"):
            augment_batch(X, np.random.default_rng(0), True, 2, rows=np.array(rows))


def test_fused_augmentation_reads_rows_that_are_not_contiguous():
    """A Fortran-ordered batch gives what its C-ordered copy gives."""
    X = np.random.default_rng(2).standard_normal((30, 3072)).astype(np.float32)
    expected = augment_batch(X, np.random.default_rng(4), True, 3)
    assert np.array_equal(augment_batch(np.asfortranarray(X), np.random.default_rng(4), True, 3), expected)


def test_a_step_without_the_penalty_leaves_it_to_the_optimiser():
    """``penalty=False``: the cost is the loss alone and the gradients lack ``2 lam W``, which the update's decay adds back."""
    rng = np.random.default_rng(5)
    net = KLayerNet([20, 8, 3], batch_norm=True, seed=0, dtype=np.float64)
    X, y, lam = rng.standard_normal((10, 20)), rng.integers(0, 3, 10), 0.1
    cost, full, _ = net.forward_backward(X, y, lam)
    loss, bare, _ = net.forward_backward(X, y, lam, penalty=False)
    assert cost == pytest.approx(loss + lam * float(net.weight_penalty()))
    for name in net.params:
        added = 2 * lam * net.params[name] if name in net.penalised() else 0.0
        assert np.allclose(full[name], bare[name] + added)


def _composed_block(s, b, gamma, beta, position, p, seed):
    """Bias, ReLU, BN and dropout composed from the layer functions, forward then backward of ``dout``."""
    from dd2424 import layers

    s = s + (0 if b is None else b)
    if position == "before":
        y, bn, mu, var = layers.batchnorm_train_forward(s, gamma, beta, 1e-8)
        y, relu = layers.relu_forward(y)
    else:
        h, relu = layers.relu_forward(s)
        y, bn, mu, var = layers.batchnorm_train_forward(h, gamma, beta, 1e-8)
    mask = None
    if p:
        y, mask = layers.dropout_forward(y, p, np.random.default_rng(seed))

    def backward(dout):
        g = dout.copy() if mask is None else layers.dropout_backward(dout.copy(), mask)
        if position == "before":
            g, dgamma, dbeta = layers.batchnorm_backward(layers.relu_backward(g, relu), bn)
        else:
            g, dgamma, dbeta = layers.batchnorm_backward(g, bn)
            g = layers.relu_backward(g, relu)
        return g, dgamma, dbeta, g.sum(axis=0)

    return y, mu, var, backward


@pytest.mark.parametrize("position", ["before", "after"])
@pytest.mark.parametrize("p", [0.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_compiled_hidden_block_is_the_composition_of_the_layer_functions(position, p, dtype):
    from dd2424 import layers

    rng = np.random.default_rng(4)
    n, d = 300, 1000
    s = (rng.standard_normal((n, d)) + 0.3).astype(dtype)
    b = None if position == "before" else (0.1 * rng.standard_normal(d)).astype(dtype)
    gamma, beta = (1 + 0.1 * rng.standard_normal(d)).astype(dtype), (0.1 * rng.standard_normal(d)).astype(dtype)
    dout = rng.standard_normal((n, d)).astype(dtype)
    y, mu, var, backward = _composed_block(s, b, gamma, beta, position, p, seed=5)
    out, cache, block_mu, block_var = layers.hidden_block_train_forward(s.copy(), b, gamma, beta, 1e-8, position, p,
                                                                        np.random.default_rng(5))  # fmt: skip
    grads = layers.hidden_block_backward(dout.copy(), cache)
    tol = 0 if dtype == np.float64 else 1e-5  # float64: the same sums in the same order; float32: rounding
    for got, want in [(out, y), (block_mu, mu), (block_var, var), *zip(grads[:3], backward(dout)[:3])]:
        assert got.dtype == dtype
        assert np.allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    assert np.array_equal(out == 0, y == 0)  # the same units cut by the ReLU and by dropout
    if position == "after":  # a real bias: its gradient is the column sum of ds
        assert np.allclose(grads[3], backward(dout)[3], rtol=tol, atol=tol * n)


def test_dropout_drops_with_the_given_probability_and_keeps_the_mean():
    from dd2424 import layers

    x = np.ones((400, 500))
    out, mask = layers.dropout_forward(x.copy(), 0.1, np.random.default_rng(0))
    dropped = np.mean(out == 0)
    assert abs(dropped - 0.1) < 4 * np.sqrt(0.1 * 0.9 / x.size)  # four standard errors
    assert abs(out.mean() - 1.0) < 0.01  # inverted dropout: the kept units are scaled by 1 / (1 - p)
    _, threshold, scale = layers.dropout_draw((3,), 0.1, np.random.default_rng(0))
    assert abs(threshold / layers.DROPOUT_LEVELS - 0.1) <= 0.5 / layers.DROPOUT_LEVELS and scale == pytest.approx(1 / 0.9, rel=1e-4)
