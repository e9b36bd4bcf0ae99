"""Per-layer gradient norms in the history: their values, and that recording them changes no training."""

import copy
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424.grad_norms import PROBE_ROWS, grad_norm_keys, grad_norms
from dd2424.study.stats import mean_curves
from dd2424.training import HISTORY_KEYS, TrainConfig, train


def _data(n=600, d=20, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((c, d)) * 2

    def split(m):
        y = rng.integers(0, c, m)
        return SimpleNamespace(X=(centres[y] + rng.standard_normal((m, d))).astype(np.float32), y=y)

    return SimpleNamespace(train=split(n), val=split(100), test=split(100), label_names=("a", "b", "c"))


SMALL = dict(hidden=(16, 16, 16), n_s=20, cycles=1, batch_size=50, records_per_cycle=4, lam=0.01)


def _run(config, data):
    net = config.build_network(data.train.X.shape[1], 3)
    return net, train(net, data, config)


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.2, "batch_norm": False}, {"precise_bn": 300, "precise_bn_per_epoch": 2}])
def test_recording_the_norms_adds_keys_and_changes_nothing_else(extra):
    data = _data()
    config = TrainConfig(**SMALL, **extra)
    net_off, off = _run(config, data)
    net_on, on = _run(TrainConfig(**SMALL, **extra, record_grad_norms=True), data)
    assert set(off.history) == set(HISTORY_KEYS)
    assert list(on.history) == [*HISTORY_KEYS, *grad_norm_keys(4)]
    assert {k: on.history[k] for k in HISTORY_KEYS} == off.history  # no random draw, no running average touched
    assert all(np.array_equal(net_on.params[k], net_off.params[k]) for k in net_on.params)
    assert on.final == off.final and on.adaptive_bn == off.adaptive_bn
    assert all(len(on.history[k]) == len(on.history["step"]) for k in grad_norm_keys(4))
    assert all(v > 0 for k in grad_norm_keys(4) for v in on.history[k])
    assert "record_grad_norms" in TrainConfig(record_grad_norms=True).to_dict() and "record_grad_norms" not in config.to_dict()


def test_the_last_record_is_the_gradient_of_the_loss_on_the_probe_batch_in_training_mode():
    data = _data(n=700)
    net, result = _run(TrainConfig(**SMALL, record_grad_norms=True), data)
    probe_X, probe_y = data.train.X[:PROBE_ROWS], data.train.y[:PROBE_ROWS]
    means = copy.deepcopy(net.running_means)
    _, grads = net.cost_and_grads(probe_X, probe_y, lam=0.0)  # batch statistics of the probe, no L2 term
    for l in range(1, 5):
        assert result.history[f"grad_norm_W{l}"][-1] == pytest.approx(np.linalg.norm(grads[f"W{l}"]), rel=1e-5)
        assert result.history[f"weight_norm_W{l}"][-1] == pytest.approx(np.linalg.norm(net.params[f"W{l}"]), rel=1e-6)
    assert grad_norms(net, probe_X, probe_y) == {k: result.history[k][-1] for k in grad_norm_keys(4)}
    assert all(np.array_equal(a, b) for a, b in zip(means, net.running_means))


def test_the_norms_are_curves_the_study_averages_over_seeds():
    data = _data()
    records = [{"history": _run(TrainConfig(**SMALL, seed=s, record_grad_norms=True), data)[1].history} for s in (0, 1)]
    curves = mean_curves(records, keys=["train_loss", "grad_norm_W1", "weight_norm_W4"])
    assert len(curves["grad_norm_W1"]["mean"]) == len(curves["step"]) == 4
    assert all(np.isfinite(curves["grad_norm_W1"]["mean"]))
