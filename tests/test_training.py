"""The trainer: determinism, history, divergence, and learning on the real data."""

from types import SimpleNamespace

import numpy as np
import pytest

from dd2424.errors import ConfigError
from dd2424.training import HISTORY_KEYS, TrainConfig, train


def _toy_data(n=600, d=30, c=4, seed=0):
    """Separable-ish Gaussian blobs: a small problem the network can learn quickly."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((c, d)) * 2

    def split(m):
        y = rng.integers(0, c, m)
        return SimpleNamespace(X=(centres[y] + rng.standard_normal((m, d))).astype(np.float32), y=y)

    return SimpleNamespace(train=split(n), val=split(200), test=split(200), label_names=tuple("abcd"))


def _run(config, data=None):
    data = data or _toy_data()
    net = config.build_network(data.train.X.shape[1], len(data.label_names))
    return net, train(net, data, config)


SMALL = dict(hidden=(16, 16), n_s=30, cycles=2, batch_size=50)


def test_same_seed_gives_identical_history_and_parameters():
    net_a, a = _run(TrainConfig(seed=5, **SMALL))
    net_b, b = _run(TrainConfig(seed=5, **SMALL))
    assert a.history == b.history
    assert all(np.array_equal(net_a.params[k], net_b.params[k]) for k in net_a.params)
    _, c = _run(TrainConfig(seed=6, **SMALL))
    assert c.history["train_loss"] != a.history["train_loss"]


def test_history_is_recorded_often_enough_and_learns():
    _, result = _run(TrainConfig(**SMALL))
    h = result.history
    assert set(h) == set(HISTORY_KEYS)
    assert len(h["step"]) >= 10 * 2  # at least 10 records per cycle over 2 cycles
    assert h["step"][-1] == 2 * 30 * 2
    assert h["eta"][-1] == pytest.approx(1e-5 + (1e-1 - 1e-5) / 30)  # last update of the falling edge
    assert result.final["val"]["accuracy"] > 0.8
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert result.train_seconds > 0 and result.eval_seconds > 0


def test_divergence_stops_with_a_clear_message():
    _, result = _run(TrainConfig(hidden=(16,), batch_norm=False, init=30.0, eta_min=1e3, eta_max=1e4, lam=0.0,
                                 n_s=20, cycles=1, batch_size=50))  # fmt: skip
    assert result.diverged and result.diverged_at_step is not None
    assert "diverged" in result.message and "eta_max" in result.message
    assert result.final == {}
    assert result.train_seconds > 0  # the time it ran is kept, not reset to 0


@pytest.mark.parametrize(
    "kwargs",
    [{"lam": -1.0}, {"eta_min": 0.0}, {"eta_max": 1e-6}, {"n_s": 0}, {"cycles": 0}, {"batch_size": 0}, {"dtype": "float16"}],
)
def test_impossible_hyper_parameters_are_rejected(kwargs):
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)


def test_batch_larger_than_training_set_is_rejected():
    with pytest.raises(ConfigError, match="larger than the training set"):
        _run(TrainConfig(hidden=(8,), batch_size=1000, n_s=5, cycles=1))


@pytest.mark.realdata
def test_short_real_run_clearly_learns(real_data):
    config = TrainConfig(hidden=(50, 50), batch_norm=True, n_s=450, cycles=1, records_per_cycle=2)
    net, result = _run(config, real_data)
    assert not result.diverged
    assert result.final["val"]["accuracy"] > 0.40, result.final
    assert result.final["test"]["accuracy"] > 0.40, result.final
