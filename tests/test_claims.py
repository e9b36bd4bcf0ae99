"""The report's paired comparisons (summary.json ``comparisons``), the original report's table, the gradient-norm
summary, the denser fine lambda stage, the lambda = 0 control and the ladder's leave-one-out."""

from __future__ import annotations

import dataclasses

import pytest

from dd2424.errors import ConfigError
from dd2424.study import claims, discussion, gradient_scale, init_sensitivity, lambda_search, original
from dd2424.study.ladder import Ingredient, Row, leave_one_out
from dd2424.training import TrainConfig


def _acc(values, seeds=None):
    seeds = list(range(len(values))) if seeds is None else seeds
    n = len(values)
    mean = sum(values) / n
    return {"mean": mean, "std": 0.0, "n": n, "values": list(values), "seeds": seeds}


def _entry(values, **extra):
    return {"test_accuracy": _acc(values), "val_accuracy": _acc(values), "train_accuracy": _acc(values), **extra}


def _summary(bn9=(0.52, 0.51, 0.53)):
    training = {"3layer_bn": _entry([0.534, 0.536, 0.535], config={"lam": 0.005, "cycles": 2}),
                "3layer_nobn": _entry([0.530, 0.529, 0.533]),
                "9layer_bn": _entry(list(bn9)), "9layer_nobn": _entry([0.46, 0.47, 0.44])}  # fmt: skip
    grid = [{"sigma": s, "batch_norm": bn, **_entry([0.1, 0.1, 0.1] if (s == 1e-4 and not bn) else [0.53, 0.531, 0.529])}
            for s in (0.1, 1e-4) for bn in (False, True)]  # fmt: skip
    sensitivity = {"sigmas": [0.1, 1e-4], "grid": grid, "lam": 0.00346,
                   "lambda_zero": {"sigma": 1e-4, "batch_norm": False, "lam": 0.0, **_entry([0.1, 0.1, 0.1])}}  # fmt: skip
    chosen = {"stage": "fine", "lam": 0.00346, "seeds": [0, 1, 2], "val_values": [0.531, 0.533, 0.532], "val_mean": 0.532}
    search = {"coarse": [], "fine": [chosen], "chosen_lambda": 0.00346, "chosen_stage": "fine",
              "final": _entry([0.539, 0.540, 0.538], config={"cycles": 3})}  # fmt: skip
    beyond = {"best": _entry([0.72, 0.73, 0.725]), "baseline": _entry([0.534, 0.536, 0.535])}
    gradcheck = {"max_by_param": {"float64": {"W": 1e-5, "b": 8e-8}}}
    return {"training": training, "sensitivity": sensitivity, "lambda_search": search, "beyond": beyond,
            "gradcheck": gradcheck, "data": {"provenance": "official archive"}}  # fmt: skip


def test_comparisons_hold_every_paired_difference_the_report_quotes():
    c = claims.comparisons(_summary())
    assert {"bn_vs_nobn_3layer", "bn_vs_nobn_9layer", "3layer_vs_9layer_nobn", "bn_vs_nobn_sigma_1e-04",
            "sigma_1e-01_vs_1e-04_bn", "lambda_zero_vs_lambda", "lambda_chosen_vs_default_val",
            "lambda_final_vs_default", "ladder_best_vs_baseline"} <= set(c)  # fmt: skip
    deep = c["bn_vs_nobn_9layer"]
    assert deep["n"] == 3 and deep["verdict"] == "higher" and deep["low"] < deep["mean"] < deep["high"]
    assert deep["mean"] == pytest.approx((0.06 + 0.04 + 0.09) / 3)
    assert c["lambda_zero_vs_lambda"]["verdict"] == "within noise"  # identical values: no difference
    assert c["lambda_chosen_vs_default_val"]["verdict"] == "lower" and c["lambda_chosen_vs_default_val"]["n"] == 3
    flipped = claims.comparisons(_summary(bn9=(0.44, 0.48, 0.45)))["bn_vs_nobn_9layer"]
    assert flipped["verdict"] == "within noise"


def test_a_comparison_pairs_only_the_seeds_both_sides_ran():
    a, b = _acc([0.5, 0.6, 0.7], seeds=[0, 1, 2]), _acc([0.4, 0.5], seeds=[1, 2])
    d = claims.paired_stats(a, b)
    assert d.n == 2 and d.mean == pytest.approx(0.2)


def test_phrase_says_real_within_noise_or_undetermined():
    real = claims.phrase(claims.paired_stats(_acc([0.53, 0.54, 0.535]), _acc([0.51, 0.512, 0.508])), "BN", "no BN")
    assert "a real difference" in real and "paired over 3 seeds" in real
    noise = claims.phrase(claims.paired_stats(_acc([0.53, 0.51, 0.52]), _acc([0.52, 0.52, 0.52])), "BN", "no BN")
    assert "within noise" in noise and "contains zero" in noise
    one = claims.phrase(claims.paired_stats(_acc([0.6]), _acc([0.5])), "BN", "no BN")
    assert "no difference is claimed" in one and "one seed" in one


def test_the_original_reports_numbers_stand_beside_ours_in_one_table():
    rows = original.comparison_rows(_summary())
    by_what = {r["what"]: r for r in rows}
    assert by_what["chosen lambda"]["original"] == 8.88e-3 and by_what["chosen lambda"]["ours"] == 0.00346
    assert by_what["test accuracy with the chosen lambda"]["original"] == 52.53
    assert by_what["test accuracy, sigma 1e-4, no BN"]["original"] == 43.98
    assert by_what["test accuracy, sigma 1e-4, no BN"]["ours"] == pytest.approx(10.0)
    assert by_what["test accuracy, sigma 1e-4, BN"]["original"] == 48.81
    assert by_what["test accuracy, 9 layers, BN"]["seeds"] == 3
    assert by_what["largest relative gradient error, W"]["original"] == original.GRAD_ERROR_W
    assert original.fmt_value(52.534, "accuracy") == "52.53" and "10^{-3}" in original.fmt_value(8.88e-3, "lambda")
    from dd2424.study import training_curves

    assert training_curves.SEED_REPORT is original.NETWORKS  # quoted once


def _record(seed, grads, weights=None, steps=(0, 10, 20)):
    history = {"step": list(steps)}
    for layer, g in enumerate(grads, start=1):
        history[f"grad_norm_W{layer}"] = [g * (1 + 0.1 * i) for i in range(len(steps))]
        history[f"weight_norm_W{layer}"] = [(weights or [1.0] * len(grads))[layer - 1]] * len(steps)
    return {"seed": seed, "history": history}


def test_gradient_norms_are_summarised_per_layer_with_their_spread():
    records = [_record(0, [0.01, 0.1, 1.0]), _record(1, [0.03, 0.1, 1.0])]
    s = gradient_scale.summarize(records)
    assert s["layers"] == 3 and s["runs"] == 2
    assert s["grad_median"][0] == pytest.approx(0.02 * 1.1)  # mean of the seeds, median along training
    assert s["grad_spread"] == pytest.approx(1.0 / 0.02)
    assert gradient_scale.summarize([{"seed": 0, "history": {"step": [0], "train_loss": [1.0]}}]) is None
    fig = gradient_scale.plot_grad_norms(gradient_scale.mean_norms(records), "without BN",
                                         gradient_scale.mean_norms(records), "with BN")  # fmt: skip
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 3


def test_the_denser_fine_stage_keeps_the_random_values_and_fills_the_gaps():
    interval = (1e-3, 1e-1)
    random = lambda_search.fine_lambdas(interval, 6, seed=0)
    values = lambda_search.fine_stage(interval, 6, 0, 6, exclude=[1e-3, 1e-2, 1e-1])
    assert set(random) <= set(values) and len(values) == 12 and values == sorted(values)
    grid = lambda_search.fine_grid(interval, 6)
    assert len(grid) == 6 and all(1e-3 < v < 1e-1 for v in grid)
    ratios = [b / a for a, b in zip(grid, grid[1:])]
    assert max(ratios) == pytest.approx(min(ratios), rel=0.01)  # evenly spaced on a log scale
    assert 1e-2 not in lambda_search.fine_stage(interval, 0, 0, 7, exclude=[1e-2])  # the coarse value is not retrained
    with pytest.raises(ConfigError, match="lambda_fine_grid"):
        lambda_search.CHAPTER.settings_for("full", lambda_fine_grid=-1)


def test_the_lambda_zero_control_trains_the_smallest_sigma_without_bn_and_penalty():
    from dd2424.study.context import Context
    from dd2424.study.profiles import get_profile

    ctx = Context.__new__(Context)
    ctx.profile, ctx.data_info = get_profile("full"), {"n_train": 45000}
    configs = init_sensitivity.lambda_zero_configs(ctx, 1e-4)
    assert [c.seed for c in configs] == list(range(10))
    assert all(c.lam == 0.0 and not c.batch_norm and c.init == 1e-4 and c.hidden == (50, 50) for c in configs)
    cell = init_sensitivity.lambda_zero_cell([{"seed": 0, "config": configs[0].to_dict(), "test_accuracy": 0.1,
                                               "val_accuracy": 0.1, "train_accuracy": 0.1}], 1e-4)  # fmt: skip
    assert cell["lam"] == 0.0 and cell["sigma"] == 1e-4 and cell["test_accuracy"]["n"] == 1


def test_leave_one_out_trains_the_last_row_without_each_ingredient_with_one_seed():
    base = TrainConfig(flip=True, max_shift=3, zca=1.0)
    row = Row("longer training", "", base, [{"seed": s, "val_accuracy": 0.70, "test_accuracy": 0.69} for s in (0, 1, 2)])
    trained = []

    def run(configs, label):
        trained.extend(configs)
        c = configs[0]
        return [{"seed": c.seed, "val_accuracy": 0.66 if not c.flip else 0.71, "test_accuracy": 0.65,
                 "wall_seconds": 5.0, "cached_as": f"{label}.json"}]  # fmt: skip

    removals = [Ingredient("augmentation", "", {"flip": False, "max_shift": 0}), Ingredient("ZCA whitening", "", {"zca": 0.0})]
    out = leave_one_out(row, removals, 0, run)
    assert [c.seed for c in trained] == [0, 0]
    assert (trained[0].flip, trained[0].max_shift, trained[0].zca) == (False, 0, 1.0)
    assert (trained[1].flip, trained[1].zca) == (True, 0.0)
    assert out[0]["val_buys"] == pytest.approx(0.04) and out[1]["val_buys"] == pytest.approx(-0.01)
    assert out[0]["seeds"] == 1 and out[0]["row"] == "longer training"
    with pytest.raises(ConfigError, match="no run of seed 7"):
        leave_one_out(row, removals, 7, run)
    assert dataclasses.replace(base) == base  # the row's configuration is left as it was


def test_leave_one_out_skips_an_ingredient_the_row_does_not_have():
    """When the ladder dropped ZCA whitening, "without ZCA" is the row itself: nothing to train or to report."""
    row = Row("longer training", "", TrainConfig(flip=True), [{"seed": 0, "val_accuracy": 0.7, "test_accuracy": 0.7}])
    trained = []

    def run(configs, label):
        trained.extend(configs)
        return [{"seed": 0, "val_accuracy": 0.6, "test_accuracy": 0.6}]

    removals = [Ingredient("augmentation", "", {"flip": False, "max_shift": 0}), Ingredient("ZCA whitening", "", {"zca": 0.0})]
    out = leave_one_out(row, removals, 0, run)
    assert [r["ingredient"] for r in out] == ["augmentation"] and len(trained) == 1 and not trained[0].flip


def test_leave_one_out_adds_back_an_ingredient_the_ladder_dropped_and_the_discussion_says_so():
    """Augmentation dropped at the short schedule: the longest row is trained once WITH it, and "it buys" is still
    with minus without, so the long schedule shows what the dropped step would have bought."""
    row = Row("longer training", "", TrainConfig(zca=1.0), [{"seed": 0, "val_accuracy": 0.60, "test_accuracy": 0.59}])
    trained = []

    def run(configs, label):
        trained.append((configs[0], label))
        return [{"seed": 0, "val_accuracy": 0.66 if configs[0].flip else 0.55, "test_accuracy": 0.65}]

    removals = [Ingredient("augmentation", "", {"flip": False, "max_shift": 0}), Ingredient("ZCA whitening", "", {"zca": 0.0})]
    additions = {"augmentation": Ingredient("augmentation", "flips and shifts", {"flip": True, "max_shift": 3})}
    out = leave_one_out(row, removals, 0, run, additions)
    (added, label), (removed, _) = trained
    assert (added.flip, added.max_shift, added.zca, label) == (True, 3, 1.0, "longer training with augmentation")
    assert removed.zca == 0.0 and not removed.flip
    assert [r["change"] for r in out] == ["added back", "left out"]
    assert out[0]["val_with"] == 0.66 and out[0]["val_without"] == 0.60 and out[0]["val_buys"] == pytest.approx(0.06)
    assert out[1]["val_with"] == 0.60 and out[1]["val_buys"] == pytest.approx(0.05)
    text = discussion.leave_one_out({"leave_one_out": out})
    assert "augmentation added back, adds 6.00 points" in text and "ZCA whitening still adds 5.00 points" in text
    out[0]["val_buys"] = -0.02
    assert "augmentation added back, costs 2.00 points" in discussion.leave_one_out({"leave_one_out": out})
    out[0]["val_buys"] = None  # the added-back run diverged: said of the run WITH the ingredient
    assert "with augmentation the run of seed 0 did not reach a finite accuracy" in discussion.leave_one_out({"leave_one_out": out})

