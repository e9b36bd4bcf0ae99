"""Analytic gradients against centred differences, for 2-, 3- and 4-layer networks."""

import numpy as np
import pytest

from dd2424.gradcheck import check_gradients, gradcheck_network, max_relative_error, numerical_gradient, relative_errors
from dd2424.network import KLayerNet

HIDDEN = {2: (12,), 3: (12, 10), 4: (12, 10, 8)}


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_every_gradient_matches_finite_differences(k, batch_norm, lam):
    entries = gradcheck_network(HIDDEN[k], batch_norm=batch_norm, lam=lam, n_inputs=12, n_samples=10, seed=k)
    names = {(e.layer, e.param) for e in entries}
    expected = {(l, "W") for l in range(1, k + 1)} | {(l, "b") for l in range(1, k + 1)}
    if batch_norm:
        expected |= {(l, p) for l in range(1, k) for p in ("gamma", "beta")}
    assert names == expected  # every parameter of every layer was checked
    assert max_relative_error(entries) < 1e-7, entries
    # the check is not vacuous: gradients were of a real size
    assert max(e.max_abs_grad for e in entries if e.param == "W") > 1e-3


def test_float64_reference_is_close_but_noisier():
    ext = gradcheck_network((12, 10), batch_norm=True, n_inputs=12, n_samples=10, seed=1)
    f64 = gradcheck_network((12, 10), batch_norm=True, n_inputs=12, n_samples=10, seed=1, reference="float64")
    assert max_relative_error(f64) < 1e-4
    assert np.mean([e.mean for e in f64]) < 1e-7
    assert max_relative_error(ext) < max_relative_error(f64)  # the extended reference is the sharper one


def test_gradient_check_detects_a_wrong_gradient():
    """A deliberately broken backward pass must be caught (the check can fail)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 6)), rng.integers(0, 4, 8)
    net = KLayerNet([6, 5, 4], batch_norm=True, dtype=np.float64)
    original = net.forward_backward

    def broken(X, y, lam, rng=None):
        cost, grads, stats = original(X, y, lam, rng)
        grads["gamma1"] = grads["gamma1"] * 1.001
        return cost, grads, stats

    net.forward_backward = broken
    entries = check_gradients(net, X, y, 0.0)
    bad = [e for e in entries if e.param == "gamma" and e.layer == 1][0]
    assert bad.max > 1e-4


def test_numerical_gradient_of_a_known_function_restores_the_input():
    x = np.array([0.5, -1.0, 2.0])
    g = numerical_gradient(lambda: float(np.sum(x**3)), x, 1e-5)
    assert np.allclose(g, 3 * x**2, rtol=1e-8)
    assert np.array_equal(x, [0.5, -1.0, 2.0])


def test_relative_error_formula():
    err = relative_errors(np.array([1.0, 0.0, 1e-12]), np.array([1.1, 0.0, 0.0]), eps=1e-10)
    assert np.allclose(err, [0.1 / 2.1, 0.0, 1e-12 / 1e-10])


def test_gradcheck_needs_float64():
    net = KLayerNet([4, 3, 2], dtype=np.float32)
    with pytest.raises(ValueError, match="float64"):
        check_gradients(net, np.zeros((2, 4)), np.array([0, 1]), 0.0)


def test_complex_step_gradient_of_a_polynomial():
    from dd2424.gradcheck import numerical_gradient

    x = np.array([0.3, -1.7, 2.0], dtype=np.clongdouble)
    g = numerical_gradient(lambda: np.sum(x**3 - 2 * x), x, h=1e-30)
    np.testing.assert_allclose(g, 3 * x.real.astype(np.float64) ** 2 - 2, rtol=1e-15)
    assert np.all(x.imag == 0)  # restored
