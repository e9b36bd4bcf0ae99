"""The trainer: determinism, history, divergence, test-time flips, and learning on the real data."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424.errors import ConfigError
from dd2424.experiments import run_training
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


@pytest.mark.parametrize("bn_position, n_s, eta_max, sign", [("before", 200, 1e3, "mini-batch loss stayed above"),
                                                            ("after", 30, 10.0, "reached")])  # fmt: skip
def test_a_collapse_that_bn_keeps_finite_is_a_divergence(bn_position, n_s, eta_max, sign):
    """With BN a too-large eta_max leaves the loss finite but the network lost: the run stops as diverged."""
    _, result = _run(TrainConfig(hidden=(16, 16), n_s=n_s, cycles=1, batch_size=50, eta_max=eta_max, bn_position=bn_position))
    assert result.diverged and result.diverged_at_step is not None and result.final == {}
    assert sign in result.message and "lower eta_max" in result.message


@pytest.mark.parametrize("kwargs", [dict(hidden=(16,) * 8, batch_norm=False, init=1e-4), dict(init=1e-4),
                                    dict(optimizer="adam", eta_max=1e-3), dict(bn_position="after")])  # fmt: skip
def test_slow_or_normal_runs_are_not_collapses(kwargs):
    """A deep network without BN at a tiny sigma sits at chance (loss ln K) for a while: slow, not broken."""
    _, result = _run(TrainConfig(**{**SMALL, **kwargs}))
    assert not result.diverged, result.message


def test_collapse_watch_needs_a_sustained_loss_or_exploded_parameters():
    from dd2424.collapse import CollapseWatch

    watch = CollapseWatch(n_classes=10, total_steps=1000, eta_max=0.1)  # a window of 100 steps
    losses = [2.3] + [2.3, 50.0] * 49 + [2.3]  # half the steps spike: not sustained
    assert not any(watch.step(step, loss) for step, loss in enumerate(losses))
    messages = [watch.step(100 + step, 2.3 if step % 20 == 0 else 50.0) for step in range(100)]
    assert messages[:-1] == [None] * 99 and "step 199" in messages[-1] and "lower eta_max (now 0.1)" in messages[-1]
    assert watch.params(7, {"W1": np.ones((3, 3)), "beta1": np.full(3, 0.5)}) is None
    assert "W1" in watch.params(7, {"W1": np.array([1.0, np.nan])})
    assert "gamma2" in watch.params(7, {"W1": np.ones(3), "gamma2": np.array([-2e4])})


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


def _images(n, seed):
    """Image-shaped rows (3072 values) whose class is the brightness of the left half: mirroring changes the inputs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.standard_normal((n, 3, 32, 32)) * 0.5
    X[..., :16] += y[:, None, None, None] - 1.0
    return SimpleNamespace(X=X.reshape(n, 3072).astype(np.float32), y=y, n=n)


def _image_data():
    return SimpleNamespace(train=_images(300, 0), val=_images(100, 1), test=_images(100, 2), label_names=("a", "b", "c"),
                           source="toy", provenance="toy images", sha256="0" * 64, official=False)  # fmt: skip


@pytest.mark.parametrize("precise_bn", [0, 300])
def test_test_flips_change_only_the_final_metrics_which_a_run_without_them_records_beside(precise_bn):
    data = _image_data()
    plain = TrainConfig(hidden=(16,), flip=True, max_shift=1, n_s=12, cycles=1, batch_size=50, records_per_cycle=4,
                        precise_bn=precise_bn)  # fmt: skip
    (net_a, a), (net_b, b) = _run(plain, data), _run(dataclasses.replace(plain, test_flips=True), data)
    assert a.history == b.history  # the history never evaluates with flips
    assert all(np.array_equal(net_a.params[k], net_b.params[k]) for k in net_a.params)  # the same training
    assert a.final_test_flips == b.final and b.final_test_flips is None  # after PreciseBN as well, when there is one
    assert a.final_test_flips != a.final
    if not precise_bn:  # the last record evaluates the final network: single views
        assert a.history["val_loss"][-1] == pytest.approx(a.final["val"]["loss"], rel=1e-6)
        assert b.history["val_loss"][-1] != pytest.approx(b.final["val"]["loss"], rel=1e-6)


def test_the_run_record_holds_the_final_metrics_and_analysis_with_flips_only_for_a_run_trained_with_flips():
    data = _image_data()
    config = TrainConfig(hidden=(16,), flip=True, n_s=10, cycles=1, batch_size=50)
    record = run_training(config, data)
    assert record["final_test_flips"]["val"]["accuracy"] == pytest.approx(
        run_training(dataclasses.replace(config, test_flips=True), data)["val_accuracy"])
    assert set(record["analysis_test_flips"]) == {"confusion", "mistakes"}
    assert sum(map(sum, record["analysis_test_flips"]["confusion"])) == 100
    unflipped = run_training(dataclasses.replace(config, flip=False), data)
    assert unflipped["final_test_flips"] is None and unflipped["analysis_test_flips"] is None
