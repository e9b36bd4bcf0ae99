"""The layer functions: stable softmax, BN train vs evaluation behaviour."""

import numpy as np

from dd2424 import layers


def test_softmax_is_stable_for_extreme_scores():
    s = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 - 1, -1e4 - 2], [1e-30, 0.0, 0.0]])
    p = layers.softmax(s)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    assert p[0, 0] == 1.0
    loss, G = layers.softmax_cross_entropy(s, np.array([2, 0, 1]))
    assert np.isfinite(loss) and np.all(np.isfinite(G))
    assert np.isclose(loss, (2e4 + np.log1p(np.exp(-1) + np.exp(-2)) + np.log(3)) / 3)


def test_softmax_cross_entropy_gradient_is_p_minus_y_over_n():
    s = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 0])
    _, G = layers.softmax_cross_entropy(s, y)
    Y = np.eye(3)[y]
    assert np.allclose(G, (layers.softmax(s) - Y) / 2)


def test_float32_softmax_is_finite_for_huge_logits():
    s = np.array([[1e38, -1e38]], dtype=np.float32)  # the true loss, 2e38, is representable
    loss, G = layers.softmax_cross_entropy(s, np.array([1]))
    assert np.isfinite(loss) and np.all(np.isfinite(G))


def test_batchnorm_training_normalises_the_batch_and_returns_its_statistics():
    rng = np.random.default_rng(0)
    s = rng.normal(3.0, 2.0, (64, 5))
    gamma, beta = np.full(5, 2.0), np.full(5, -1.0)
    out, cache, mu, var = layers.batchnorm_train_forward(s.copy(), gamma, beta, 1e-12)
    assert np.allclose(mu, s.mean(axis=0)) and np.allclose(var, s.var(axis=0))  # biased variance
    assert np.allclose(out.mean(axis=0), -1.0) and np.allclose(out.std(axis=0), 2.0)


def test_batchnorm_evaluation_uses_the_given_statistics_not_the_batch():
    rng = np.random.default_rng(1)
    s = rng.normal(3.0, 2.0, (10, 4))
    gamma, beta = np.ones(4), np.zeros(4)
    mu, var = np.zeros(4), np.ones(4)
    out = layers.batchnorm_eval_forward(s, gamma, beta, mu, var, 1e-12)
    assert np.allclose(out, s)  # fixed statistics 0 / 1: the identity, whatever the batch
    # and it matches the training-mode formula when given the batch's own statistics
    train_out, _, bmu, bvar = layers.batchnorm_train_forward(s.copy(), gamma, beta, 1e-12)
    assert np.allclose(layers.batchnorm_eval_forward(s, gamma, beta, bmu, bvar, 1e-12), train_out)
