"""Weight gradients left as products, and SGD's update folded into them: the same numbers as evaluating them."""

import numpy as np
import pytest

from dd2424 import blas
from dd2424.blas import ProductGradient, accumulate_product
from dd2424.errors import ConfigError
from dd2424.network import KLayerNet
from dd2424.optimizers import SGD, Adam


def _operands(dtype, n=37, d=29, h=23, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in ((d, h), (n, d), (n, h)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accumulate_product_is_beta_c_plus_alpha_a_transposed_b(dtype):
    C, a, b = _operands(dtype)
    real = np.dtype(dtype).type
    expected = real(0.75) * C + real(-0.3) * (a.T.astype(np.float64) @ b.astype(np.float64))
    accumulate_product(C, a, b, alpha=-0.3, beta=0.75)
    assert C.dtype == dtype
    assert np.allclose(C, expected, rtol=50 * np.finfo(dtype).eps, atol=50 * np.finfo(dtype).eps)


def test_numpys_own_blas_is_found_for_float32_and_float64():
    """The wheels this project installs link numpy with OpenBLAS, whose gemm the fused update calls."""
    if "openblas" not in str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]).lower():
        pytest.skip("numpy is not linked with OpenBLAS here; the fused update falls back to numpy")
    assert blas.has_fused_update(np.float32) and blas.has_fused_update(np.float64)
    assert not blas.has_fused_update(np.longdouble)


def test_the_numpy_fallback_gives_the_same_update(monkeypatch):
    C, a, b = _operands(np.float64)
    fused = C.copy()
    accumulate_product(fused, a, b, alpha=-0.1, beta=0.99)
    monkeypatch.setattr(blas, "_gemm", lambda dtype: None)
    plain = C.copy()
    accumulate_product(plain, a, b, alpha=-0.1, beta=0.99)
    assert np.allclose(fused, plain, rtol=1e-13, atol=1e-13)
    # operands BLAS cannot take as they are (a Fortran-ordered input, mixed dtypes) take the numpy path
    mixed = C.copy()
    accumulate_product(mixed, np.asfortranarray(a), b.astype(np.float32), alpha=-0.1, beta=0.99)
    assert np.allclose(mixed, plain, rtol=1e-6, atol=1e-6)


def test_accumulate_product_rejects_shapes_that_do_not_fit():
    C, a, b = _operands(np.float64)
    with pytest.raises(ValueError, match="cannot accumulate"):
        accumulate_product(C, a, b[:-1], alpha=1.0, beta=1.0)
    with pytest.raises(ValueError, match="cannot accumulate"):
        accumulate_product(C.T.copy(), a, b, alpha=1.0, beta=1.0)
    C.flags.writeable = False  # BLAS would write through the pointer regardless
    with pytest.raises(ValueError, match="read-only"):
        accumulate_product(C, a, b, alpha=1.0, beta=1.0)


def _net(dtype, **options):
    return KLayerNet([12, 9, 7, 5], dtype=dtype, seed=3, **options)


def _batch(seed=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((16, 12)), rng.integers(0, 5, 16)


@pytest.mark.parametrize(
    "dtype, options",
    [(np.float32, {"bn_position": "after", "dropout": 0.2}), (np.float64, {}), (np.float64, {"batch_norm": False})],
)
def test_products_evaluate_to_the_networks_weight_gradients_exactly(dtype, options):
    """The caches a product keeps must not be overwritten by the rest of the backward pass."""
    X, y = _batch()
    net = _net(dtype, **options)
    _, arrays, _ = net.forward_backward(X, y, 0.0, np.random.default_rng(5), penalty=False)
    _, lazy, _ = net.forward_backward(X, y, 0.0, np.random.default_rng(5), penalty=False, products=True)
    assert arrays.keys() == lazy.keys()
    for name, grad in lazy.items():
        is_weight = name.startswith("W")
        assert isinstance(grad, ProductGradient) == is_weight
        assert grad.shape == net.params[name].shape
        assert np.array_equal(np.asarray(grad), arrays[name]), name


@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_an_optimiser_step_from_products_matches_the_step_from_arrays(optimizer):
    X, y = _batch()
    decay = {f"W{l}": 0.02 for l in (1, 2, 3)}
    nets = [_net(np.float64, bn_position="after"), _net(np.float64, bn_position="after")]
    optimisers = [optimizer(), optimizer()]
    for step in range(3):
        for net, opt, products in zip(nets, optimisers, (False, True)):
            _, grads, _ = net.forward_backward(X, y, 0.01, penalty=False, products=products)
            opt.step(net.params, grads, 0.05, decay)
    for name in nets[0].params:
        assert np.allclose(nets[0].params[name], nets[1].params[name], rtol=1e-12, atol=1e-12), name
    assert not np.allclose(nets[0].params["W1"], _net(np.float64).params["W1"])


def test_products_leave_the_l2_term_to_the_optimiser():
    X, y = _batch()
    with pytest.raises(ConfigError, match="penalty=False"):
        _net(np.float64).forward_backward(X, y, 0.01, products=True)
