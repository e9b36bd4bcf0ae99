import re
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424.cli import _config_from_args, build_parser
from dd2424.config import TrainConfig
from dd2424.errors import ConfigError
from dd2424.schedule import check_cyclical, cyclical_eta, decayed_eta
from dd2424.training import train


@pytest.mark.parametrize(
    "t, expected",
    [(0, 1e-5), (2250, 1e-1), (4500, 1e-5), (6750, 1e-1), (9000, 1e-5), (1125, (1e-5 + 1e-1) / 2), (3375, (1e-5 + 1e-1) / 2)],
)
def test_turning_points_and_midpoints(t, expected):
    assert cyclical_eta(t, 1e-5, 1e-1, 2250) == pytest.approx(expected, rel=1e-12)


def test_array_form_matches_scalar_form_and_is_triangular():
    t = np.arange(0, 9001)
    eta = cyclical_eta(t, 1e-5, 1e-1, 2250)
    assert np.allclose(eta, [cyclical_eta(int(i), 1e-5, 1e-1, 2250) for i in t])
    steps = np.diff(eta)
    assert np.allclose(np.abs(steps), (1e-1 - 1e-5) / 2250)


@pytest.mark.parametrize("eta_min, eta_max, n_s", [(0, 1e-1, 10), (1e-1, 1e-2, 10), (1e-5, 1e-1, 0), (1e-5, float("inf"), 5)])
def test_impossible_schedules_are_rejected(eta_min, eta_max, n_s):
    with pytest.raises(ConfigError):
        check_cyclical(eta_min, eta_max, n_s)


def test_no_decay_is_the_cyclical_rate_exactly():
    assert all(decayed_eta(t, 1e-5, 1e-1, 50, "none", total_steps=400) == cyclical_eta(t, 1e-5, 1e-1, 50) for t in range(401))


def test_cyclical_decay_multiplies_each_peak_by_the_factor_and_keeps_the_troughs():
    eta_min, eta_max, n_s = 1e-5, 1e-1, 50
    peaks = [decayed_eta((2 * c + 1) * n_s, eta_min, eta_max, n_s, "cyclical", 0.5) for c in range(3)]
    assert peaks == pytest.approx([eta_max, eta_min + (eta_max - eta_min) / 2, eta_min + (eta_max - eta_min) / 4], rel=1e-12)
    assert [decayed_eta(2 * c * n_s, eta_min, eta_max, n_s, "cyclical", 0.5) for c in range(4)] == pytest.approx([eta_min] * 4)
    # within a cycle it is the triangle, scaled: the rising edge of the second cycle at a quarter
    assert decayed_eta(2 * n_s + n_s // 2, eta_min, eta_max, n_s, "cyclical", 0.5) == pytest.approx(
        eta_min + (eta_max - eta_min) * 0.5 * 0.5, rel=1e-12)
    assert decayed_eta(n_s // 2, eta_min, eta_max, n_s, "cyclical", 1.0) == cyclical_eta(n_s // 2, eta_min, eta_max, n_s)


def test_cosine_warms_up_linearly_then_falls_by_one_cosine_to_eta_min():
    eta_min, eta_max, n_s, total = 1e-5, 1e-3, 100, 1000
    eta = np.array([decayed_eta(t, eta_min, eta_max, n_s, "cosine", total_steps=total) for t in range(total + 1)])
    assert eta[0] == eta_min and eta[n_s] == pytest.approx(eta_max) and eta[total] == pytest.approx(eta_min)
    assert eta[n_s // 2] == pytest.approx((eta_min + eta_max) / 2)  # linear warm-up
    assert eta[n_s + (total - n_s) // 2] == pytest.approx((eta_min + eta_max) / 2)  # half-way down the cosine
    assert eta[n_s + (total - n_s) // 4] == pytest.approx(eta_min + (eta_max - eta_min) * (1 + np.cos(np.pi / 4)) / 2)
    assert np.all(np.diff(eta[:n_s + 1]) > 0) and np.all(np.diff(eta[n_s:]) < 0)


@pytest.mark.parametrize("decay, factor, fragment", [
    ("linear", 0.5, "lr_decay must be one of"), ("cyclical", 0.0, "(0, 1]"), ("cyclical", 1.5, "(0, 1]"),
    ("cyclical", float("nan"), "(0, 1]"), ("cosine", 0.3, "applies to lr_decay='cyclical' only"),
    ("none", 0.9, "applies to lr_decay='cyclical' only"),
])  # fmt: skip
def test_impossible_decays_are_rejected_by_the_configuration(decay, factor, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        TrainConfig(lr_decay=decay, lr_decay_factor=factor)


def test_the_default_leaves_run_keys_unchanged_and_a_decay_is_recorded():
    assert not {"lr_decay", "lr_decay_factor"} & set(TrainConfig().to_dict())
    assert TrainConfig(lr_decay="cyclical", lr_decay_factor=0.7).to_dict()["lr_decay_factor"] == 0.7


def test_the_cli_offers_the_decay():
    args = build_parser().parse_args(["train", "--lr-decay", "cosine", "--optimizer", "adam", "--eta-max", "1e-3"])
    assert _config_from_args(args).lr_decay == "cosine"
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["train", "--lr-decay", "step"])
    assert exit_info.value.code == 2


def test_training_follows_the_decayed_rate():
    rng = np.random.default_rng(0)
    data = SimpleNamespace(**{name: SimpleNamespace(X=rng.standard_normal((m, 8)).astype(np.float32), y=rng.integers(0, 3, m))
                              for name, m in (("train", 200), ("val", 50), ("test", 50))})  # fmt: skip
    config = TrainConfig(hidden=(8,), n_s=10, cycles=2, batch_size=50, records_per_cycle=5, lr_decay="cyclical", lr_decay_factor=0.25)
    result = train(config.build_network(8, 3), data, config)
    # a record at step s holds the rate of the update that step made (step s - 1)
    expected = [decayed_eta(s - 1, 1e-5, 1e-1, 10, "cyclical", 0.25) for s in result.history["step"]]
    assert result.history["eta"] == pytest.approx(expected, rel=1e-12)
    assert max(result.history["eta"][5:]) < 0.3 * max(result.history["eta"][:5])
