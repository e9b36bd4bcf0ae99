"""The compiled loops: the same numbers as the numpy formulas, whatever the number of threads."""

import numpy as np
import pytest

import numba

from dd2424.augment import augment_batch, random_flip, random_translate
from dd2424.errors import ConfigError
from dd2424.kernels import PARALLEL_MIN, compute_threads, flat
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
    theta = rng.standard_normal(2 * PARALLEL_MIN + 7).astype(dtype)  # large enough for the parallel loop
    grads = [rng.standard_normal(theta.size).astype(dtype) for _ in range(4)]
    params, opt = {"W": theta.copy()}, Adam()
    for g in grads:
        opt.step(params, {"W": g.copy()}, 0.01, {"W": 0.003})
    expected = _numpy_adam(theta, grads, 0.01, 0.003, dtype)
    assert params["W"].dtype == dtype
    # one rounding of difference at most (numpy may evaluate a product in another order)
    assert np.allclose(params["W"], expected, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert not np.allclose(params["W"], theta)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_updates_do_not_depend_on_the_number_of_threads(make):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba started with one thread")
    rng = np.random.default_rng(1)
    start = {"W": rng.standard_normal((600, 500)).astype(np.float32), "b": rng.standard_normal(500).astype(np.float32)}
    assert start["W"].size >= PARALLEL_MIN > start["b"].size  # one parameter takes the parallel loop, one the serial
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in start.items()} for _ in range(3)]
    finals = []
    for threads in (1, 2):
        params, opt = {k: v.copy() for k, v in start.items()}, make()
        with compute_threads(threads):
            assert numba.get_num_threads() == threads
            for g in grads:
                opt.step(params, {k: v.copy() for k, v in g.items()}, 0.05, {"W": 0.01})
        finals.append(params)
    assert all(np.array_equal(finals[0][k], finals[1][k]) for k in start)


def test_the_parallel_augmentation_does_not_depend_on_the_number_of_threads():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba started with one thread")
    X = np.random.default_rng(6).standard_normal((300, 3072)).astype(np.float32)
    rows = np.random.default_rng(7).permutation(300)[:100]
    assert rows.size * X.shape[1] >= PARALLEL_MIN
    outs = []
    for threads in (1, 2):
        with compute_threads(threads):
            outs.append(augment_batch(X, np.random.default_rng(8), True, 3, rows=rows))
    rng, expected = np.random.default_rng(8), X[rows]
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], random_flip(random_translate(expected, rng, 3), rng))


def test_compute_threads_restores_the_previous_count():
    before = numba.get_num_threads()
    with compute_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_flat_refuses_an_array_it_would_have_to_copy():
    with pytest.raises(ConfigError, match="C-contiguous"):
        flat(np.zeros((4, 4)).T)
    a = np.zeros((3, 4))
    flat(a)[5] = 1.0
    assert a[1, 1] == 1.0


@pytest.mark.parametrize("flip, shift", [(True, 3), (True, 0), (False, 2), (False, 0)])
def test_fused_augmentation_is_gather_translate_then_flip(flip, shift):
    """The one-pass kernel gives, bit for bit and from the same draws, what the numpy steps give."""
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
