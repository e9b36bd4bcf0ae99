"""ZCA whitening: what the matrix does to the data, its symmetry under flips, folding it into a network, and its
cache in the process."""

import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424 import whitening
from dd2424.augment import mirror
from dd2424.errors import ConfigError
from dd2424.network import KLayerNet
from dd2424.training import TrainConfig, evaluate, train
from dd2424.whitening import fit_zca, fold_into_first_layer, whiten


def _correlated(n: int, d: int, seed: int) -> np.ndarray:
    """Zero-mean rows of ``d`` values whose neighbours share noise (a smooth random field)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X = X + 0.8 * np.roll(X, 1, axis=1)  # a filter without zeros: every direction keeps some variance
    return X - X.mean(axis=0)


def test_zca_is_symmetric_and_whitens():
    X = _correlated(4000, 48, 0)
    Z = fit_zca(X, eps=1e-4, mirrored=False)
    assert np.allclose(Z, Z.T)
    C = whiten(X, Z).T @ whiten(X, Z) / X.shape[0]
    assert np.allclose(C, np.eye(48), atol=1e-3)
    assert not np.allclose(X.T @ X / X.shape[0], np.eye(48), atol=0.5)


def test_a_larger_epsilon_whitens_less():
    X = _correlated(4000, 48, 1)
    var_small = whiten(X, fit_zca(X, eps=1e-3, mirrored=False)).var(axis=0).mean()
    var_large = whiten(X, fit_zca(X, eps=10.0, mirrored=False)).var(axis=0).mean()
    assert var_large < 0.5 * var_small


@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan")])
def test_the_epsilon_must_be_positive(eps):
    with pytest.raises(ConfigError, match="epsilon"):
        fit_zca(np.zeros((10, 48)), eps, mirrored=False)
    if eps != 0.0:
        with pytest.raises(ConfigError, match="zca"):
            TrainConfig(zca=eps)


def test_folding_gives_the_same_network_on_standardised_rows():
    X = _correlated(300, 48, 2)
    Z = fit_zca(X, eps=0.1, mirrored=False)
    net = KLayerNet([48, 16, 4], dtype=np.float64, seed=3)
    net.update_running_averages(net.forward_backward(whiten(X, Z), np.arange(300) % 4, 0.0)[2])
    on_whitened = net.scores(whiten(X, Z))
    fold_into_first_layer(net, Z)
    assert np.allclose(net.scores(X), on_whitened, atol=1e-8)


def _low_rank_images(n: int, seed: int) -> SimpleNamespace:
    """Image rows made of 8 hidden factors plus faint noise; the first factor's sign is the class."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 8))
    X = factors @ np.random.default_rng(99).standard_normal((8, 3072)) + 0.01 * rng.standard_normal((n, 3072))
    return SimpleNamespace(X=X.astype(np.float32), y=(factors[:, 0] > 0).astype(np.int64))


def test_training_with_zca_flips_and_returns_a_network_on_standardised_rows():
    data = SimpleNamespace(train=_low_rank_images(500, 4), val=_low_rank_images(200, 5), test=_low_rank_images(200, 6))
    Z = fit_zca(data.train.X, eps=0.1)
    # the covariance includes the mirrored images, so flipping a whitened image is whitening the flipped one
    assert np.allclose(mirror(whiten(data.val.X, Z)), whiten(mirror(data.val.X), Z), atol=1e-4)
    config = TrainConfig(hidden=(32,), zca=0.1, flip=True, n_s=30, cycles=1, batch_size=50, eta_max=0.05)
    net = config.build_network(3072, 2)
    result = train(net, data, config)
    assert result.final["val"]["accuracy"] > 0.8
    # the returned network, on the standardised rows, makes the final metrics' predictions
    assert evaluate(net, data.val.X, data.val.y)["accuracy"] == pytest.approx(result.final["val"]["accuracy"], abs=0.01)
    assert "zca" in config.to_dict() and "zca" not in TrainConfig().to_dict()


def _zca_run(data, config):
    net = config.build_network(3072, 2)
    return net, train(net, data, config)


@pytest.fixture
def fresh_cache():
    whitening.clear_whitening_cache()
    yield
    whitening.clear_whitening_cache()


def _spy_on_fit(monkeypatch, pause: float = 0.0, fake: bool = False) -> list:
    """Count the fits of ``Z`` (each made ``pause`` seconds slower; ``fake``: a cheap diagonal ``Z``)."""
    calls, fit = [], whitening.fit_zca

    def counted(X, eps, *args, **kwargs):
        calls.append(eps)
        time.sleep(pause)
        if fake:
            return (np.eye(X.shape[1]) / np.sqrt(1 + eps)).astype(X.dtype)
        return fit(X, eps, *args, **kwargs)

    monkeypatch.setattr(whitening, "fit_zca", counted)
    return calls


def test_a_cached_whitening_gives_bit_identical_runs_and_counts_its_seconds_in_every_run(fresh_cache, monkeypatch):
    data = SimpleNamespace(train=_low_rank_images(300, 4), val=_low_rank_images(100, 5), test=_low_rank_images(100, 6))
    config = TrainConfig(hidden=(16,), zca=0.1, flip=True, n_s=10, cycles=1, batch_size=50, eta_max=0.05)
    calls = _spy_on_fit(monkeypatch, pause=0.3, fake=True)  # the cache, not the fit, is under test
    net_a, a = _zca_run(data, config)  # computes the whitening
    net_b, b = _zca_run(data, replace(config, seed=1))  # another seed: reuses it
    net_c, c = _zca_run(data, config)  # the first run again, from the cache
    assert calls == [0.1]
    whitening.clear_whitening_cache()
    net_d, d = _zca_run(data, config)  # the first run again, computed afresh
    assert calls == [0.1, 0.1]
    for net, result in ((net_c, c), (net_d, d)):
        assert result.history == a.history and result.final == a.final
        assert all(np.array_equal(net.params[k], net_a.params[k]) for k in net_a.params)
    assert b.history != a.history
    assert min(a.train_seconds, b.train_seconds, c.train_seconds, d.train_seconds) >= 0.3  # the fit counts in each run


def test_the_cache_never_serves_other_data_or_another_epsilon(fresh_cache, monkeypatch):
    data = SimpleNamespace(train=_low_rank_images(200, 4), val=_low_rank_images(50, 5), test=_low_rank_images(50, 6))
    calls = _spy_on_fit(monkeypatch, fake=True)
    first = whitening.whitening(data, 0.1)
    assert whitening.whitening(data, 0.1).Z is first.Z and calls == [0.1]
    copy = SimpleNamespace(**{name: SimpleNamespace(X=getattr(data, name).X.copy(), y=getattr(data, name).y)
                              for name in ("train", "val", "test")})  # fmt: skip
    whitening.whitening(copy, 0.1)  # equal values, other arrays: computed again
    whitening.whitening(data, 1.0)  # another epsilon
    assert calls == [0.1, 0.1, 1.0] and len(whitening._cache) == whitening.CACHE_SIZE == 2
    whitening.whitening(data, 0.1)  # the oldest entry went out
    assert calls == [0.1, 0.1, 1.0, 0.1]
    relabelled = SimpleNamespace(train=SimpleNamespace(X=data.train.X, y=1 - data.train.y), val=data.val, test=data.test)
    reused = whitening.whitening(relabelled, 0.1)  # the same rows: reused, with the labels of the data asked for
    assert calls[-1:] == [0.1] and len(calls) == 4 and np.array_equal(reused.data.train.y, 1 - data.train.y)
    assert np.array_equal(reused.data.val.X, whiten(data.val.X, reused.Z))
