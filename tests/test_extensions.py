"""Options beyond the assignment: BN after the ReLU, dropout, PreciseBN, augmentation in training, Adam."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424.errors import ConfigError
from dd2424.gradcheck import gradcheck_network, max_relative_error
from dd2424.network import KLayerNet
from dd2424.augment import mirror
from dd2424.layers import softmax
from dd2424.training import TrainConfig, evaluate, train


@pytest.mark.parametrize("hidden", [(12,), (12, 10), (12, 10, 8)])
@pytest.mark.parametrize("bn_position, batch_norm, dropout", [("after", True, 0.0), ("before", True, 0.3), ("after", True, 0.3), ("before", False, 0.3)])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_new_backward_passes_match_finite_differences(hidden, bn_position, batch_norm, dropout, lam):
    # Finite differences are meaningless where a ReLU sits exactly at its kink (e.g. a sample whose units
    # were all cut, entering a layer whose biases are still 0); these seeds put no unit there.
    entries = gradcheck_network(hidden, batch_norm=batch_norm, bn_position=bn_position, dropout=dropout, lam=lam,
                                n_inputs=12, n_samples=10, seed=len(hidden) + 1)  # fmt: skip
    assert max_relative_error(entries) < 1e-7
    if bn_position == "after":  # the hidden biases are trained there: their gradients are real
        assert max(e.max_abs_grad for e in entries if e.param == "b" and e.layer < len(hidden) + 1) > 1e-4


def _batch(n=40, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, 5, n)


def test_dropout_only_in_training_and_only_with_a_generator():
    X, y = _batch()
    net = KLayerNet([12, 30, 5], batch_norm=False, dropout=0.5, dtype=np.float64)
    plain = KLayerNet([12, 30, 5], batch_norm=False, dtype=np.float64)
    assert net.training_cost(X, y, 0.0) == plain.training_cost(X, y, 0.0)  # no rng: no dropout
    dropped = net.training_cost(X, y, 0.0, rng=np.random.default_rng(1))
    assert dropped != plain.training_cost(X, y, 0.0)
    assert dropped == net.training_cost(X, y, 0.0, rng=np.random.default_rng(1))  # same masks, same cost
    assert np.array_equal(net.predict_proba(X), plain.predict_proba(X))  # evaluation never drops


def test_bn_after_relu_evaluation_matches_training_with_batch_statistics():
    X, y = _batch(n=64)
    net = KLayerNet([12, 9, 7, 5], bn_position="after", dtype=np.float64)
    _, _, stats = net.forward_backward(X, y, 0.0)
    net.update_running_averages(stats)
    scores_train, _, _ = net._train_forward(X, None)
    assert np.allclose(net.scores(X), scores_train)


def test_precise_bn_uses_equal_weights_over_batches():
    X, y = _batch(n=300)
    net = KLayerNet([12, 9, 5], dtype=np.float64)
    net.precise_bn(X, batch_size=100)
    batch_means = [net._train_forward(X[i : i + 100], None)[2].means[0] for i in (0, 100, 200)]
    batch_vars = [net._train_forward(X[i : i + 100], None)[2].variances[0] for i in (0, 100, 200)]
    assert np.allclose(net.running_means[0], np.mean(batch_means, axis=0))
    assert np.allclose(net.running_vars[0], np.mean(batch_vars, axis=0))
    with pytest.raises(ConfigError, match="PreciseBN"):
        net.precise_bn(X[:50], batch_size=100)


def _images(n, seed):
    """Tiny image-shaped data (3072 values per row) whose class is the mean brightness band."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = (rng.standard_normal((n, 3072)) * 0.5 + (y[:, None] - 1.0)).astype(np.float32)
    return SimpleNamespace(X=X, y=y)


def test_training_with_every_option_is_deterministic_and_learns():
    data = SimpleNamespace(train=_images(400, 0), val=_images(100, 1), test=_images(100, 2), label_names=("a", "b", "c"))
    config = TrainConfig(hidden=(32, 16), bn_position="after", dropout=0.2, flip=True, max_shift=2, optimizer="adam",
                         eta_min=1e-5, eta_max=1e-3, n_s=20, cycles=2, batch_size=50, precise_bn=400,
                         history_train_samples=200)  # fmt: skip
    results = []
    for _ in range(2):
        net = config.build_network(3072, 3)
        results.append(train(net, data, config))
    a, b = results
    assert a.history == b.history and a.final == b.final
    assert a.final["val"]["accuracy"] > 0.9
    assert a.final_running_averages is not None and set(a.final_running_averages) == {"val", "test"}  # what the report compares


def test_precise_bn_during_training_changes_only_the_evaluations_in_the_history():
    data = SimpleNamespace(train=_images(400, 0), val=_images(100, 1), test=_images(100, 2), label_names=("a", "b", "c"))
    base = TrainConfig(hidden=(16,), eta_min=1e-5, eta_max=1e-2, n_s=16, cycles=1, batch_size=50, precise_bn=400,
                       records_per_cycle=4)  # fmt: skip
    runs = {}
    for per_epoch in (0, 2):
        config = replace(base, precise_bn_per_epoch=per_epoch)
        net = config.build_network(3072, 3)
        runs[per_epoch] = (net, train(net, data, config))
    (plain_net, plain), (precise_net, precise) = runs[0], runs[2]
    for name, value in plain_net.params.items():  # BN statistics never enter the updates
        assert np.array_equal(value, precise_net.params[name])
    assert plain.final == precise.final  # both end with the same PreciseBN statistics
    assert plain.history["train_cost"] != precise.history["train_cost"]  # evaluated with other statistics


def test_test_time_flips_average_the_probabilities_of_each_image_and_its_mirror():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 3072)).astype(np.float32), rng.integers(0, 4, 30)
    net = KLayerNet([3072, 16, 4], dtype=np.float32)
    net.update_running_averages(net.forward_backward(X, y, 0.0)[2])
    assert np.array_equal(mirror(mirror(X)), X) and not np.array_equal(mirror(X), X)
    averaged = evaluate(net, X, y, 0.01, test_flips=True, chunk=7)  # chunks must not change the result
    p = (softmax(net.scores(X).astype(np.float64)) + softmax(net.scores(mirror(X)).astype(np.float64))) / 2
    assert averaged["accuracy"] == (p.argmax(axis=1) == y).mean()
    assert np.isclose(averaged["loss"], -np.log(p[np.arange(30), y]).mean())
    assert np.isclose(averaged["cost"] - averaged["loss"], 0.01 * float(net.weight_penalty()))
    symmetric = (X + mirror(X)) / 2  # images equal to their mirror: averaging changes nothing
    assert np.allclose(list(evaluate(net, symmetric, y, 0.01, test_flips=True).values()),
                       list(evaluate(net, symmetric, y, 0.01).values()))  # fmt: skip


def test_defaults_reproduce_spec_training_and_hide_from_the_configuration():
    config = TrainConfig()
    assert not {"dropout", "flip", "optimizer", "bn_position", "precise_bn", "test_flips"} & set(config.to_dict())
    assert TrainConfig(dropout=0.1).to_dict()["dropout"] == 0.1


@pytest.mark.parametrize("kwargs", [{"dropout": 1.0}, {"bn_position": "middle"}, {"max_shift": 40}, {"optimizer": "rmsprop"}, {"precise_bn": -1}, {"precise_bn_per_epoch": 2}])
def test_impossible_extension_settings_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)


def test_label_smoothing_gradients_of_the_whole_network_match_finite_differences():
    from dd2424.gradcheck import numerical_gradient, relative_errors

    X, y = _batch(n=10, d=8)
    net = KLayerNet([8, 12, 5], bn_position="after", label_smoothing=0.1, dtype=np.float64, seed=2)
    cost, grads = net.cost_and_grads(X, y, 0.01)
    assert cost == net.training_cost(X, y, 0.01)
    assert cost != KLayerNet([8, 12, 5], bn_position="after", dtype=np.float64, seed=2).training_cost(X, y, 0.01)
    for name in ("W1", "b1", "gamma1", "W2", "b2"):
        numeric = numerical_gradient(lambda: net.training_cost(X, y, 0.01), net.params[name], h=1e-6)
        assert relative_errors(grads[name], numeric).max() < 1e-5  # float64 differences; a wrong term gives ~1e-2
    with pytest.raises(ConfigError, match="smoothing"):
        KLayerNet([8, 5], label_smoothing=1.0)
