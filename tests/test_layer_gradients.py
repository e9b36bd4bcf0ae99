"""Each layer's backward function on its own against a numerical gradient of that layer.

For a layer ``out = f(inputs)`` and a fixed random upstream gradient ``dout``, the scalar
``L = sum(out * dout)`` has the gradients that the backward function returns; centred
differences of ``L`` (float64) check them one layer at a time, beside the whole-network checks.
"""

import numpy as np
import pytest

from dd2424 import layers
from dd2424.gradcheck import numerical_gradient, relative_errors

TOL = 1e-7


def _check(analytic, f, x):
    numeric = numerical_gradient(f, x, h=1e-6)
    assert relative_errors(analytic, numeric).max() < TOL


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_affine_backward(rng):
    x, W, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    loss = lambda: np.sum(layers.affine_forward(x, W, b)[0] * dout)  # noqa: E731
    dx, dW, db = layers.affine_backward(dout, x, W)
    _check(dx, loss, x)
    _check(dW, loss, W)
    _check(db, loss, b)


def test_relu_backward(rng):
    s = rng.standard_normal((6, 5))
    s[np.abs(s) < 0.05] = 0.5  # keep the kinks away from the finite differences
    dout = rng.standard_normal((6, 5))
    out, cache = layers.relu_forward(s.copy())
    ds = layers.relu_backward(dout.copy(), cache)
    _check(ds, lambda: np.sum(layers.relu_forward(s.copy())[0] * dout), s)


def test_dropout_backward(rng):
    x, dout = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    _, mask = layers.dropout_forward(x.copy(), 0.3, np.random.default_rng(7))

    def loss():  # the same mask on every evaluation: the same generator state
        return np.sum(layers.dropout_forward(x.copy(), 0.3, np.random.default_rng(7))[0] * dout)

    _check(layers.dropout_backward(dout.copy(), mask), loss, x)


def test_batchnorm_backward(rng):
    s, gamma, beta = rng.normal(2.0, 3.0, (10, 4)), rng.normal(1.0, 0.2, 4), rng.standard_normal(4)
    dout = rng.standard_normal((10, 4))
    loss = lambda: np.sum(layers.batchnorm_train_forward(s.copy(), gamma, beta, 1e-12)[0] * dout)  # noqa: E731
    _, cache, _, _ = layers.batchnorm_train_forward(s.copy(), gamma, beta, 1e-12)
    ds, dgamma, dbeta = layers.batchnorm_backward(dout.copy(), cache)
    _check(ds, loss, s)
    _check(dgamma, loss, gamma)
    _check(dbeta, loss, beta)


def test_softmax_cross_entropy_backward(rng):
    s, y = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    _, G = layers.softmax_cross_entropy(s, y)
    _check(G, lambda: layers.softmax_cross_entropy(s, y)[0], s)


def test_label_smoothing_loss_and_backward(rng):
    s, y = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    loss, G = layers.softmax_cross_entropy(s, y, smoothing=0.2)
    _check(G, lambda: layers.softmax_cross_entropy(s, y, smoothing=0.2)[0], s)
    targets = 0.8 * np.eye(5)[y] + 0.2 / 5  # the smoothed targets, written out
    assert loss == pytest.approx(-(targets * layers.log_softmax(s)).sum(axis=1).mean())
