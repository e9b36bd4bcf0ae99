"""KLayerNet: parameter layout, explicit running averages, evaluation mode, errors."""

import numpy as np
import pytest

from dd2424.errors import ConfigError
from dd2424.network import KLayerNet


def _batch(n=32, d=20, c=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, c, n)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_params_and_grads_have_the_documented_keys_and_shapes(batch_norm):
    net = KLayerNet([20, 7, 6, 5], batch_norm=batch_norm, dtype=np.float64)
    keys = {"W1", "W2", "W3", "b1", "b2", "b3"} | ({"gamma1", "gamma2", "beta1", "beta2"} if batch_norm else set())
    assert set(net.params) == keys
    assert net.params["W1"].shape == (20, 7) and net.params["W3"].shape == (6, 5)
    X, y = _batch()
    cost, grads = net.cost_and_grads(X, y, 0.01)
    assert set(grads) == keys
    assert all(grads[k].shape == net.params[k].shape and grads[k].dtype == np.float64 for k in keys)
    assert np.isfinite(cost)


def test_initialisation_scales_and_seed():
    he = KLayerNet([3072, 50, 10], init="he", seed=3)
    assert he.params["W1"].std() == pytest.approx(np.sqrt(2 / 3072), rel=0.02)
    assert KLayerNet([3072, 50, 10], init="xavier").params["W1"].std() == pytest.approx(np.sqrt(1 / 3072), rel=0.02)
    assert KLayerNet([3072, 50, 10], init=1e-4).params["W2"].std() == pytest.approx(1e-4, rel=0.1)
    assert np.array_equal(he.params["W1"], KLayerNet([3072, 50, 10], init="he", seed=3).params["W1"])
    assert not np.array_equal(he.params["W1"], KLayerNet([3072, 50, 10], init="he", seed=4).params["W1"])
    assert he.params["W1"].dtype == np.float32 and np.all(he.params["b1"] == 0)
    bn = KLayerNet([10, 4, 3])
    assert np.all(bn.params["gamma1"] == 1) and np.all(bn.params["beta1"] == 0)


def test_computing_gradients_leaves_running_averages_alone():
    net = KLayerNet([20, 8, 5], batch_norm=True, dtype=np.float64)
    X, y = _batch()
    net.cost_and_grads(X, y, 0.0)
    assert net.running_means is None  # a gradient check must not move them
    _, _, stats = net.forward_backward(X, y, 0.0)
    net.update_running_averages(stats)  # first batch: copied
    assert np.allclose(net.running_means[0], stats.means[0]) and np.allclose(net.running_vars[0], stats.variances[0])
    X2, y2 = _batch(seed=1)
    _, _, stats2 = net.forward_backward(X2 * 3 + 1, y2, 0.0)
    net.update_running_averages(stats2)
    assert np.allclose(net.running_means[0], 0.9 * stats.means[0] + 0.1 * stats2.means[0])
    assert np.allclose(net.running_vars[0], 0.9 * stats.variances[0] + 0.1 * stats2.variances[0])


def test_evaluation_mode_uses_running_averages_and_is_per_sample():
    net = KLayerNet([20, 8, 5], batch_norm=True, dtype=np.float64)
    X, y = _batch(n=50)
    _, _, stats = net.forward_backward(X, y, 0.0)
    net.update_running_averages(stats)
    # with the running averages equal to this batch's statistics, evaluation = training mode
    p_train = _train_mode_proba(net, X)
    assert np.allclose(net.predict_proba(X), p_train)
    # evaluation of one sample does not depend on the others (unlike training mode)
    assert np.allclose(net.predict_proba(X[:1]), net.predict_proba(X)[:1])
    # chunked evaluation equals one-shot evaluation
    assert np.allclose(net.scores(X, chunk=7), net.scores(X, chunk=1000))
    metrics = net.evaluate(X, y, lam=0.1)
    assert metrics["cost"] == pytest.approx(metrics["loss"] + 0.1 * float(net.weight_penalty()))
    assert metrics["accuracy"] == pytest.approx(np.mean(net.predict(X) == y))


def _train_mode_proba(net, X):
    from dd2424 import layers

    x = X
    for l in range(1, net.k):
        s = x @ net.params[f"W{l}"]
        s, *_ = layers.batchnorm_train_forward(s, net.params[f"gamma{l}"], net.params[f"beta{l}"], net.bn_eps)
        x = np.maximum(s, 0)
    return layers.softmax(x @ net.params[f"W{net.k}"] + net.params[f"b{net.k}"])


def test_bn_network_cannot_evaluate_before_training():
    with pytest.raises(ConfigError, match="running averages"):
        KLayerNet([20, 8, 5]).predict(np.zeros((2, 20)))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"sizes": [3072]}, "at least"), ({"sizes": [10, 0, 3]}, "positive"), ({"init": "bogus"}, "initialisation"),
     ({"init": -1.0}, "sigma"), ({"dtype": np.int32}, "dtype"), ({"bn_eps": 0.0}, "bn_eps")],
)  # fmt: skip
def test_impossible_settings_raise_clear_errors(kwargs, match):
    kwargs = {"sizes": [10, 4, 3], **kwargs}
    with pytest.raises(ConfigError, match=match):
        KLayerNet(kwargs.pop("sizes"), **kwargs)


def test_wrong_input_shape_is_reported():
    net = KLayerNet([20, 8, 5], batch_norm=False)
    with pytest.raises(ConfigError, match=r"\(n, 20\)"):
        net.cost_and_grads(np.zeros((4, 19)), np.zeros(4, int), 0.0)
