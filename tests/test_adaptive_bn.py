"""Adaptive BN: statistics of the evaluated inputs on a copy of the network, the shifted test set, and the
four test evaluations every BN run records."""

import copy
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424 import whitening
from dd2424.adaptive_bn import SHIFT, adapt_rows, adapted, adaptive_bn_metrics, shifted_inputs
from dd2424.augment import mirror
from dd2424.experiments import run_training
from dd2424.training import TrainConfig, evaluate, train


def _blobs(n, d=12, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(42).standard_normal((c, d)) * 2
    y = rng.integers(0, c, n)
    return SimpleNamespace(X=(centres[y] + rng.standard_normal((n, d))).astype(np.float32), y=y, n=n)


def _data(d=12):
    return SimpleNamespace(train=_blobs(400, d, seed=0), val=_blobs(100, d, seed=1), test=_blobs(300, d, seed=2),
                           label_names=("a", "b", "c"))  # fmt: skip


SMALL = dict(hidden=(16, 16), n_s=20, cycles=1, batch_size=50)


def _trained(config=TrainConfig(**SMALL), data=None):
    data = data or _data()
    net = config.build_network(data.train.X.shape[1], 3)
    return net, train(net, data, config), data


def test_adapted_is_a_copy_with_the_statistics_of_the_given_rows_and_leaves_the_network_alone():
    net, _, data = _trained()
    before = copy.deepcopy((net.running_means, net.running_vars, net.params))
    twin = adapted(net, data.test.X * 3 + 1, batch_size=50)
    for kept, now in zip(before[0] + before[1], net.running_means + net.running_vars):
        assert np.array_equal(kept, now)
    assert all(np.array_equal(before[2][k], net.params[k]) for k in net.params)
    reference = copy.deepcopy(net)
    reference.precise_bn(data.test.X * 3 + 1, 50)
    for ours, theirs in zip(twin.running_means + twin.running_vars, reference.running_means + reference.running_vars):
        assert np.array_equal(ours, theirs)
    assert not np.allclose(twin.running_means[0], net.running_means[0])  # the inputs' statistics, not the training's


def test_the_shift_is_the_stated_change_of_pixels_and_the_same_every_time():
    rng = np.random.default_rng(0)
    mean, std = rng.uniform(100, 150, 48), rng.uniform(40, 70, 48)
    pixels = rng.uniform(0, 255, (20, 48))
    X = ((pixels - mean) / std).astype(np.float32)
    clean = shifted_inputs(X, mean, std, contrast=0.5, brightness=80.0, noise=0.0)
    assert np.allclose(clean * std + mean, 0.5 * pixels + 80.0, atol=1e-3)
    noisy = shifted_inputs(X, mean, std, contrast=0.5, brightness=80.0, noise=10.0, seed=3)
    assert np.array_equal(noisy, shifted_inputs(X, mean, std, contrast=0.5, brightness=80.0, noise=10.0, seed=3))
    assert (noisy * std - clean * std).std() == pytest.approx(10.0, rel=0.1)  # the noise in pixel units
    assert not np.array_equal(noisy, shifted_inputs(X, mean, std, contrast=0.5, brightness=80.0, noise=10.0, seed=4))
    assert X.dtype == noisy.dtype and np.array_equal(X, ((pixels - mean) / std).astype(np.float32))  # X untouched


def test_the_shift_of_read_only_rows_is_computed_once_and_cannot_be_changed():
    rng = np.random.default_rng(1)
    mean, std = rng.uniform(100, 150, 48), rng.uniform(40, 70, 48)
    X = rng.standard_normal((30, 48)).astype(np.float32)
    fresh = shifted_inputs(X, mean, std)  # writeable rows: computed every time, never kept
    assert fresh is not shifted_inputs(X, mean, std) and not fresh.flags.writeable
    X.flags.writeable = False
    first = shifted_inputs(X, mean, std)
    assert shifted_inputs(X, mean, std) is first and np.array_equal(first, fresh)
    assert shifted_inputs(X, mean, std, seed=1) is not first  # other arguments: computed again
    twin = X.copy()
    twin.flags.writeable = False
    assert shifted_inputs(twin, mean, std) is not first  # other rows with the same values: computed again
    with pytest.raises(ValueError):
        first += 1  # read-only: no caller can change what the next run is given

def test_adapt_rows_mirrors_some_images_and_leaves_other_rows_alone():
    X = np.random.default_rng(0).standard_normal((40, 3072)).astype(np.float32)
    rows = adapt_rows(X)
    same = np.all(rows == X, axis=1)
    flipped = np.all(rows == mirror(X), axis=1)
    assert np.all(same | flipped) and 5 < flipped.sum() < 35
    assert np.array_equal(rows, adapt_rows(X))  # a fixed seed
    small = np.ones((5, 12), dtype=np.float32)
    assert adapt_rows(small) is small


def test_adaptive_bn_undoes_a_global_linear_shift_that_the_running_averages_suffer_from():
    """With BN before the ReLU, the first layer's scores move by a per-unit scale and offset under a
    global brightness and contrast change, which recomputed statistics remove (up to BN's epsilon)."""
    data = _data()
    config = TrainConfig(**SMALL, dtype="float64")
    net = config.build_network(12, 3)
    train(net, data, config)
    shift = dict(contrast=0.5, brightness=2.0, noise=0.0, seed=0)

    def scores(model, X, y):
        return {"scores": model.scores(X), **evaluate(model, X, y)}

    out = adaptive_bn_metrics(net, data.test.X.astype(np.float64), data.test.y, scores, shift=shift, batch_size=50)
    assert np.allclose(out["shifted_adaptive"]["scores"], out["test_adaptive"]["scores"], atol=1e-4)
    assert out["shifted"]["accuracy"] < out["test"]["accuracy"] - 0.2  # the running averages no longer fit
    assert out["test"]["accuracy"] == evaluate(net, data.test.X, data.test.y)["accuracy"]


@pytest.mark.parametrize("precise_bn", [0, 200])
def test_every_bn_run_records_the_four_evaluations_beside_its_final_metrics(precise_bn):
    net, result, data = _trained(TrainConfig(**SMALL, precise_bn=precise_bn, lam=0.01))
    record = result.adaptive_bn
    assert set(record) == {"test", "test_adaptive", "shifted", "shifted_adaptive"}
    assert record["test"] == result.final["test"]  # the same statistics as the final metrics (after PreciseBN, if on)
    assert all(set(m) == {"loss", "cost", "accuracy"} for m in record.values())
    again = adaptive_bn_metrics(net, data.test.X, data.test.y, lambda n, X, y: evaluate(n, X, y, 0.01), batch_size=50)
    assert again == record  # deterministic, and the trained network was not changed by recording it
    assert (result.final_running_averages is not None) == bool(precise_bn)  # PreciseBN's comparison as before
    _, plain, _ = _trained(TrainConfig(**{**SMALL, "batch_norm": False}))
    assert plain.adaptive_bn is None


def test_the_run_record_stores_it():
    config = TrainConfig(**SMALL)
    data = _data()
    data = SimpleNamespace(**vars(data), source="toy", provenance="toy", sha256="0" * 64, official=False)
    record = run_training(config, data)
    assert record["adaptive_bn"]["test"]["accuracy"] == record["test_accuracy"]
    assert run_training(dataclasses.replace(config, batch_norm=False), data)["adaptive_bn"] is None


def _low_rank_images(n, seed):
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 8))
    X = factors @ np.random.default_rng(99).standard_normal((8, 3072)) + 0.01 * rng.standard_normal((n, 3072))
    return SimpleNamespace(X=X.astype(np.float32), y=(factors[:, 0] > 0).astype(np.int64))


@pytest.fixture
def cheap_whitening(monkeypatch):
    """A diagonal ``Z`` with unequal entries instead of the eigendecomposition (a minute on 3072 dimensions)."""
    whitening.clear_whitening_cache()
    scale = np.random.default_rng(1).uniform(0.5, 2.0, 3072)
    monkeypatch.setattr(whitening, "fit_zca", lambda X, eps, *args, **kwargs: np.diag(scale).astype(X.dtype))
    yield
    whitening.clear_whitening_cache()


def test_with_zca_the_evaluations_see_standardised_rows_and_the_folded_network(cheap_whitening):
    data = SimpleNamespace(train=_low_rank_images(300, 4), val=_low_rank_images(100, 5), test=_low_rank_images(200, 6),
                           mean=np.full(3072, 120.0), std=np.full(3072, 60.0))  # fmt: skip
    config = TrainConfig(hidden=(16,), zca=0.1, n_s=10, cycles=1, batch_size=50, eta_max=0.05)
    net = config.build_network(3072, 2)
    result = train(net, data, config)
    again = adaptive_bn_metrics(net, data.test.X, data.test.y, lambda n, X, y: evaluate(n, X, y, config.lam),
                                data.mean, data.std, config.batch_size)  # fmt: skip
    assert again == result.adaptive_bn
    assert result.adaptive_bn["test"]["accuracy"] == pytest.approx(result.final["test"]["accuracy"], abs=0.01)


def test_the_documented_shift_is_the_one_used():
    assert SHIFT == {"contrast": 0.5, "brightness": 80.0, "noise": 10.0, "seed": 0}
    X = np.zeros((2, 4), dtype=np.float32)
    assert np.array_equal(shifted_inputs(X), shifted_inputs(X, **SHIFT))
