"""Skip connections (`docs/maths.md`, section 6): which layers pair, the block's layer functions, the
whole network's gradients (numerical and PyTorch autograd), evaluation mode and the command line."""

import json
import subprocess
import sys

import numpy as np
import pytest

from dd2424 import layers
from dd2424.cli import main
from dd2424.config import TrainConfig
from dd2424.errors import ConfigError
from dd2424.gradcheck import check_gradients, max_relative_error, numerical_gradient, relative_errors
from dd2424.network import KLayerNet
from dd2424.skip import skip_blocks

WIDE6 = [12, *[7] * 6, 4]  # 6 hidden layers of one width: the assignment's 7-layer network, narrow


# ----------------------------------------------------------------------------- which layers pair


@pytest.mark.parametrize(
    "hidden, blocks",
    [((50,) * 6, [(2, 3), (4, 5)]), ((50,) * 5, [(2, 3), (4, 5)]), ((50,) * 3, [(2, 3)]), ((50,) * 4, [(2, 3)]),
     ((50, 30, 20, 20, 10, 10, 10, 10), [(6, 7)]), ((50, 50, 30, 30, 30), [(4, 5)])],
)  # fmt: skip
def test_blocks_are_the_pairs_2j_2j_plus_1_of_their_inputs_width(hidden, blocks):
    assert skip_blocks([3072, *hidden, 10]) == blocks


@pytest.mark.parametrize("hidden", [(50, 30), (50,), (50, 50), (50, 50, 30), (50, 30, 30)])
def test_no_block_is_a_config_error_naming_the_widths(hidden):
    with pytest.raises(ConfigError, match=str(list(hidden)).replace("[", r"\[").replace("]", r"\]")):
        KLayerNet([10, *hidden, 3], skip=True)
    with pytest.raises(ConfigError, match="skip"):
        TrainConfig(hidden=hidden, skip=True)


def test_inner_layers_have_no_bn_parameters():
    net = KLayerNet(WIDE6, batch_norm=True, skip=True)
    assert net.bn_layers == [1, 3, 5, 6]
    assert {k for k in net.params if k.startswith("gamma")} == {"gamma1", "gamma3", "gamma5", "gamma6"}
    assert {k for k in net.params if k.startswith("beta")} == {"beta1", "beta3", "beta5", "beta6"}
    assert all(f"W{l}" in net.params and f"b{l}" in net.params for l in range(1, 8))


def test_config_builds_a_skip_network_and_records_the_option_only_when_set():
    assert TrainConfig(hidden=(50,) * 6, skip=True).build_network(20, 10).blocks == [(2, 3), (4, 5)]
    assert "skip" not in TrainConfig().to_dict() and TrainConfig(hidden=(50,) * 3, skip=True).to_dict()["skip"] is True


# ----------------------------------------------------------------------------- the block's layer functions


def test_residual_forward_is_the_assignments_formula():
    rng = np.random.default_rng(0)
    x, W1, b1, W2, b2 = rng.standard_normal((5, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal((4, 4)), rng.standard_normal(4)
    s, cache = layers.residual_forward(x.copy(), W1, b1, W2, b2)
    np.testing.assert_allclose(s, np.maximum(x @ W1 + b1, 0) @ W2 + b2 + x, rtol=1e-14)
    np.testing.assert_array_equal(cache.x, x)
    s_nobias, _ = layers.residual_forward(x, W1, b1, W2, None)
    np.testing.assert_allclose(s_nobias, s - b2, rtol=1e-13, atol=1e-14)


def test_residual_backward_against_numerical_gradients():
    rng = np.random.default_rng(1)
    x, W1, b1, W2 = rng.standard_normal((6, 5)), rng.standard_normal((5, 5)), rng.standard_normal(5), rng.standard_normal((5, 5))
    pre = x @ W1 + b1
    b1 += np.where(np.abs(pre).min(axis=0) < 0.05, 0.2, 0.0)  # keep the inner ReLU's kinks away from the differences
    ds = rng.standard_normal((6, 5))
    _, cache = layers.residual_forward(x, W1, b1, W2, None)
    ds_copy = ds.copy()
    g = layers.residual_backward(ds, cache, W1, W2)
    np.testing.assert_array_equal(ds, ds_copy)  # the upstream gradient is not changed

    def loss():
        return np.sum(layers.residual_forward(x, W1, b1, W2, None)[0] * ds)

    for analytic, wrt in [(g.dx, x), (g.dW_inner, W1), (g.db_inner, b1), (g.dW_sum, W2)]:
        assert relative_errors(analytic, numerical_gradient(loss, wrt, h=1e-6)).max() < 1e-7
    np.testing.assert_allclose(x.T @ g.ds_inner, g.dW_inner, rtol=1e-14)  # what a product gradient evaluates to
    skipped = layers.residual_backward(ds, cache, W1, W2, need_dw=False)
    assert skipped.dW_inner is None and skipped.dW_sum is None
    np.testing.assert_allclose(skipped.dx, g.dx, rtol=1e-15)


# ----------------------------------------------------------------------------- the whole network


def _moved(net, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for value in net.params.values():  # every parameter off its initial value (gamma off 1, beta off 0)
        value += scale * rng.standard_normal(value.shape)
    return net


@pytest.mark.parametrize("batch_norm, bn_position", [(True, "before"), (True, "after"), (False, "before")])
def test_network_gradients_match_finite_differences(batch_norm, bn_position):
    # 20 samples: with few, an inner unit can be active on every sample, and BN on the sum then cancels
    # its bias exactly; the numerical reference reads rounding noise (~1e-13) there, which the check's
    # relative error (floor 1e-10) turns into 1e-3 although both gradients are zero to that noise
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 12)), rng.integers(0, 4, 20)
    net = _moved(KLayerNet(WIDE6, batch_norm=batch_norm, bn_position=bn_position, seed=3, dtype=np.float64, skip=True), 3, 0.1)
    entries = check_gradients(net, X, y, lam=0.01)
    assert max_relative_error(entries) < 1e-7
    assert {(e.layer, e.param) for e in entries} >= {(2, "W"), (2, "b"), (3, "W"), (7, "b")}


def test_gradients_with_dropout_match_finite_differences():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((10, 12)), rng.integers(0, 4, 10)
    net = _moved(KLayerNet([12, 7, 7, 7, 4], batch_norm=True, seed=1, dtype=np.float64, skip=True, dropout=0.2), 1, 0.1)
    assert max_relative_error(check_gradients(net, X, y, lam=0.0)) < 1e-7


def _torch_skip_cost(torch, net, params, X, y, lam):
    """The skip network written independently with PyTorch's layers, from the assignment's formulas."""
    import torch.nn.functional as F

    def bn(s, l):
        if not net.batch_norm:
            return s
        zeros, ones = torch.zeros(s.shape[1], dtype=s.dtype), torch.ones(s.shape[1], dtype=s.dtype)
        return F.batch_norm(s, zeros, ones, params[f"gamma{l}"], params[f"beta{l}"], training=True, eps=net.bn_eps)

    x = F.relu(bn(X @ params["W1"] + params["b1"], 1))
    for inner, total in [(2, 3), (4, 5)]:  # s(l+1) = W(l+1) max(W(l) x(l-1) + b(l), 0) + b(l+1) + x(l-1)
        h = F.relu(x @ params[f"W{inner}"] + params[f"b{inner}"])
        x = F.relu(bn(h @ params[f"W{total}"] + params[f"b{total}"] + x, total))
    x = F.relu(bn(x @ params["W6"] + params["b6"], 6))
    scores = x @ params["W7"] + params["b7"]
    return F.cross_entropy(scores, y) + lam * sum((params[f"W{l}"] ** 2).sum() for l in range(1, 8))


@pytest.mark.parametrize("batch_norm", [True, False])
def test_gradients_match_pytorch_autograd_in_float64(batch_norm, torch):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((9, 12)), rng.integers(0, 4, 9)
    net = _moved(KLayerNet(WIDE6, batch_norm=batch_norm, seed=1, dtype=np.float64, skip=True), 6)
    cost, grads, _ = net.forward_backward(X, y, 0.1)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    t_cost = _torch_skip_cost(torch, net, params, torch.from_numpy(X), torch.from_numpy(y), 0.1)
    t_cost.backward()
    assert float(cost) == pytest.approx(t_cost.item(), rel=1e-13)
    assert set(grads) == set(params)
    for key, g in grads.items():
        expected = params[key].grad.numpy()
        if batch_norm and key in ("b1", "b3", "b5", "b6"):  # cancelled by BN: ours is exactly zero
            assert np.all(g == 0) and np.abs(expected).max() < 1e-12
        else:
            np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_product_gradients_equal_the_evaluated_ones(dtype):
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((8, 12)), rng.integers(0, 4, 8)
    net = _moved(KLayerNet(WIDE6, batch_norm=True, seed=2, dtype=dtype, skip=True), 2)
    _, plain, _ = net.forward_backward(X, y, 0.0, penalty=False)
    _, products, _ = net.forward_backward(X, y, 0.0, penalty=False, products=True)
    for key, g in plain.items():
        np.testing.assert_allclose(np.asarray(products[key]), g, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6, err_msg=key)


def test_evaluation_with_the_batch_statistics_equals_training_mode():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((16, 12))
    net = _moved(KLayerNet(WIDE6, batch_norm=True, seed=4, dtype=np.float64, skip=True), 4, 0.1)
    train_scores, _, stats = net._train_forward(X, None)
    assert [m.shape for m in stats.means] == [(7,)] * 4  # BN on layers 1, 3, 5 and 6 only
    net.update_running_averages(stats)
    np.testing.assert_allclose(net.scores(X), train_scores, rtol=1e-9, atol=1e-12)
    net.precise_bn(X, batch_size=16)  # one batch: the population statistics are that batch's
    np.testing.assert_allclose(net.scores(X), train_scores, rtol=1e-9, atol=1e-12)
    assert net.first_hidden_output(X).shape == (16, 7)  # layer 1 is never in a block


def test_float32_compiled_path_matches_float64():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((20, 12)), rng.integers(0, 4, 20)
    net = _moved(KLayerNet(WIDE6, batch_norm=True, seed=5, dtype=np.float64, skip=True), 5, 0.1)
    cost64, grads64, _ = net.forward_backward(X, y, 0.01)
    cost32, grads32, _ = net.astype(np.float32).forward_backward(X.astype(np.float32), y, 0.01)
    assert float(cost32) == pytest.approx(float(cost64), rel=1e-5)
    for key, g in grads64.items():
        np.testing.assert_allclose(grads32[key], g, rtol=2e-3, atol=2e-5, err_msg=key)


# ----------------------------------------------------------------------------- command line


def test_gradcheck_skip_json(capsys):
    assert main(["gradcheck", "--hidden", "10,10,10,10,10,10", "--bn", "--skip", "--inputs", "8", "--samples", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["skip"] is True and out["max_relative_error"] < 1e-7
    params = {(e["layer"], e["param"]) for e in out["entries"]}
    assert (3, "gamma") in params and (2, "gamma") not in params and (4, "beta") not in params


@pytest.mark.parametrize("command", ["train", "gradcheck"])
def test_skip_with_widths_that_do_not_allow_it_exits_2_with_one_line(command):
    proc = subprocess.run([sys.executable, "-m", "dd2424.cli", command, "--hidden", "50,30", "--skip"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "[50, 30]" in lines[0] and "skip" in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.realdata
def test_train_a_skip_network_on_real_data(real_data, capsys):
    status = main(["train", "--hidden", "50,50,50,50,50,50", "--bn", "--skip", "--n-s", "50", "--cycles", "1",
                   "--history-train-samples", "1000", "--json"])  # fmt: skip
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["skip"] is True and summary["val_accuracy"] > 0.2


@pytest.mark.parametrize("bn", ["--bn", "--no-bn"])
def test_the_assignments_skip_network_passes_the_default_gradient_check(bn, capsys):
    assert main(["gradcheck", "--hidden", "20,20,20,20,20,20", bn, "--skip", "--lam", "0.01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reference"] == "complex" and out["max_relative_error"] < 1e-7


def test_complex_step_is_exact_where_centred_differences_hit_their_floor():
    """Without BN the skip network's initial cost is large (about 7 here), and the smallest output
    weight gradients (about 1e-8) sit below the centred differences' rounding floor in extended
    precision; the complex step has none."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 15)), rng.integers(0, 10, 20)
    net = KLayerNet([15, *[20] * 6, 10], batch_norm=False, seed=0, dtype=np.float64, skip=True)
    assert max_relative_error(check_gradients(net, X, y, 0.0, reference="complex")) < 1e-10
    assert max_relative_error(check_gradients(net, X, y, 0.0, reference="extended")) > 1e-7


def test_bench_case_times_both_networks():
    from dd2424.bench.skip import skip_vs_plain

    result = skip_vs_plain((8, 8, 8), repeats=4, rounds=2)
    assert result["steps"] == 4 and result["plain_ms_per_step"] > 0 and result["skip_ms_per_step"] > 0
    assert result["ratio_skip_vs_plain"] == pytest.approx(result["skip_ms_per_step"] / result["plain_ms_per_step"])
