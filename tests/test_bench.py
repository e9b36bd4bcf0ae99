"""``dd2424 bench`` in a tiny mode, and our gradients against PyTorch's autograd (when installed)."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424 import bench as bench_module
from dd2424.cli import main
from dd2424.experiments import machine_info
from dd2424.network import KLayerNet

CASES = {"3-layer float32", "3-layer float64", "9-layer float32", "9-layer float64", "wide float32", "best float32"}
CASE_KEYS = {"ms_per_step", "floor_ms_per_step", "step_over_floor", "gather_ms", "eval_ms", "step_traced_peak_mib",
             "eval_traced_peak_mib"}  # fmt: skip
BEST_KEYS = {"ms_per_step", "floor_ms_per_step", "step_over_floor", "gather_ms"}  # the best configuration's whole step
TORCH_KEYS = {"torch_ms_per_step", "ratio_vs_torch"}


def _toy_data(n=400, d=3072, c=10, seed=0):
    rng = np.random.default_rng(seed)

    def split(m):
        return SimpleNamespace(X=rng.standard_normal((m, d)).astype(np.float32), y=rng.integers(0, c, m))

    return SimpleNamespace(train=split(n), val=split(50), test=split(50), n_classes=c)


def _positive_finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _check_result(result, with_torch):
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN or infinity
    assert set(result["cases"]) == CASES
    for name, case in result["cases"].items():
        expected = (BEST_KEYS if name == "best float32" else CASE_KEYS) | (TORCH_KEYS if with_torch else set())
        assert expected <= set(case), (name, expected - set(case))
        assert all(_positive_finite(case[key]) for key in expected), (name, case)
        assert case["ms_per_step"] >= case["gather_ms"]
        if not with_torch:
            assert not TORCH_KEYS & set(case)
    assert _positive_finite(result["peak_rss_mib"]) and _positive_finite(result["peak_rss_mib_before_torch"])
    machine = result["machine"]
    assert machine["cpu_count"] >= 1 and machine["threads"] == result["threads"] and machine["numpy"] == np.__version__
    assert machine["blas"] and all("internal_api" in lib for lib in machine["blas"])
    shared = machine_info()  # the one machine_info: what a run record names, which the benchmark's conditions extend
    assert machine["cpu"] == shared["cpu"] and machine["cpu_count"] == shared["cores"]
    assert result["torch_ran"] is with_torch


def test_tiny_bench_reports_every_case_with_positive_numbers():
    result = bench_module.bench(_toy_data(), repeats=3, threads=1, use_torch=False, full_run=False)
    _check_result(result, with_torch=False)
    assert result["full_run"] is None and "--no-torch" in result["torch_skipped_because"]
    table = bench_module.format_table(result)
    assert all(name in table for name in CASES) and "floor" in table


def test_bench_command_prints_one_json_object(monkeypatch, capsys):
    toy = _toy_data(n=300)
    monkeypatch.setattr("dd2424.data.load_cifar10", lambda source=None: toy)
    assert main(["bench", "--json", "--repeats", "2", "--no-torch", "--no-full-run", "--threads", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    _check_result(result, with_torch=False)
    assert _positive_finite(result["data_load_s"]) and result["n_train"] == 300


def test_tiny_bench_against_pytorch(torch):
    result = bench_module.bench(_toy_data(), repeats=2, threads=1, use_torch=True, full_run=False)
    _check_result(result, with_torch=True)
    assert result["machine"]["torch"]


# ----------------------------------------------------------------------------- gradients vs PyTorch autograd


def _torch_cost(torch, net, params, X, y, lam):
    """The cost of ``net`` written with PyTorch's own layers (``F.batch_norm`` in training mode,
    ``F.cross_entropy``), as an independent reference. Hidden biases are kept in the graph so that
    their exactly-zero gradient under BN is checked too. Also returns the batch statistics."""
    import torch.nn.functional as F

    x, stats = X, []
    for l in range(1, net.k):
        s = x @ params[f"W{l}"] + params[f"b{l}"]
        if net.batch_norm:
            mean = torch.zeros(s.shape[1], dtype=s.dtype)
            var = torch.zeros(s.shape[1], dtype=s.dtype)
            # momentum 1: the "running" averages become this batch's mean and unbiased variance
            s = F.batch_norm(s, mean, var, params[f"gamma{l}"], params[f"beta{l}"], training=True, momentum=1.0,
                             eps=net.bn_eps)  # fmt: skip
            stats.append((mean, var))
        x = F.relu(s)
    scores = x @ params[f"W{net.k}"] + params[f"b{net.k}"]
    penalty = sum((params[f"W{l}"] ** 2).sum() for l in range(1, net.k + 1))
    return F.cross_entropy(scores, y) + lam * penalty, stats


@pytest.mark.parametrize("batch_norm", [True, False])
def test_gradients_match_pytorch_autograd_in_float64(batch_norm, torch):
    rng = np.random.default_rng(0)
    n, lam = 9, 0.1
    net = KLayerNet([12, 7, 6, 4], batch_norm=batch_norm, seed=1, dtype=np.float64)
    for key, value in net.params.items():  # move every parameter off its initial value
        value += 0.3 * rng.standard_normal(value.shape)
    X, y = rng.standard_normal((n, 12)), rng.integers(0, 4, n)

    cost, grads, stats = net.forward_backward(X, y, lam)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    t_cost, t_stats = _torch_cost(torch, net, params, torch.from_numpy(X), torch.from_numpy(y), lam)
    t_cost.backward()
    assert float(cost) == pytest.approx(t_cost.item(), rel=1e-13)
    assert set(grads) == set(params)
    for key, g in grads.items():
        np.testing.assert_allclose(g, params[key].grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=key)
    if batch_norm:
        for l, (mean, var) in enumerate(t_stats):
            # ours leaves out the hidden bias b, which only shifts the mean
            np.testing.assert_allclose(stats.means[l] + net.params[f"b{l + 1}"], mean.numpy(), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(stats.variances[l] * n / (n - 1), var.numpy(), rtol=1e-12)  # ours is biased
        assert all(np.all(grads[f"b{l}"] == 0) for l in range(1, net.k))  # cancelled by BN


def test_best_case_is_the_ladders_last_row():
    from dd2424.bench.best import best_config

    c = best_config()
    assert c.hidden == (512, 256) and c.bn_position == "after" and c.optimizer == "adam"
    assert c.dropout > 0 and c.flip and c.max_shift > 0 and c.batch_size == 250 and c.dtype == "float32"
    assert c.zca > 0 and c.label_smoothing == 0 and c.dropout == 0.1  # no trial applied
