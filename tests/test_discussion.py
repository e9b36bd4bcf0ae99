"""The Discussion's claims follow the numbers: a rerun with other results rewrites the claims, not only the numbers.

Every comparison is paired over seeds (:mod:`dd2424.study.claims`), so the synthetic summaries give
per-seed values; ``_stats(mean, noise)`` spreads them around ``mean`` by a fixed pattern times ``noise``.
"""

import copy

import pytest

from dd2424.study import discussion

SEEDS = list(range(10))
PATTERN = [0.3, -0.5, 0.1, 0.8, -0.9, 0.2, -0.1, 0.6, -0.4, -0.1]  # mean 0


def _stats(mean, noise=0.002, n=10, shift=0):
    values = [mean + noise * PATTERN[(i + shift) % 10] for i in range(n)]
    m = sum(values) / n
    sd = (sum((v - m) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"mean": m, "std": sd, "n": n, "values": values, "seeds": SEEDS[:n]}


def _training(bn3=0.534, nobn3=0.530, bn9=0.519, nobn9=0.465, noise9=0.015, grad=None):
    hidden3, hidden9 = [50, 50], [50, 30, 20, 20, 10, 10, 10, 10]
    out = {}
    for i, (name, mean, hidden, bn, noise) in enumerate((("3layer_bn", bn3, hidden3, True, 0.002),
                                                         ("3layer_nobn", nobn3, hidden3, False, 0.002),
                                                         ("9layer_bn", bn9, hidden9, True, 0.002),
                                                         ("9layer_nobn", nobn9, hidden9, False, noise9))):  # fmt: skip
        out[name] = {"test_accuracy": _stats(mean, noise, shift=i), "train_accuracy": _stats(mean + 0.05, 0.001, shift=i),
                     "val_accuracy": _stats(mean, noise, shift=i),
                     "config": {"hidden": hidden, "batch_norm": bn, "lam": 0.005, "cycles": 2}}  # fmt: skip
    if grad:
        for name, spread in zip(("9layer_nobn", "9layer_bn"), grad):
            out[name]["grad_norms"] = {"layers": 9, "grad_spread": spread}
    return out


def test_bn_claims_follow_the_paired_intervals():
    real = discussion.batch_norm_at_depth(_training())
    assert "a real but modest difference" in real and "5.40 points more (paired over 10 seeds" in real
    assert "Depth is where it matters" in real
    none = discussion.batch_norm_at_depth(_training(bn3=0.5301, nobn3=0.530, bn9=0.4651, nobn9=0.465))
    assert "makes no difference the seeds can tell" in none and "a difference within noise" in none
    assert "Depth is where it matters" not in none and "5.40" not in none


def test_the_depth_mechanism_is_claimed_only_when_the_gradient_norms_show_it():
    unmeasured = discussion.batch_norm_at_depth(_training())
    assert "these runs did not measure it" in unmeasured
    shown = discussion.batch_norm_at_depth(_training(grad=(120.0, 3.0)), figure="Figure 4")
    assert "Figure 4 measures it" in shown and "factor of 120" in shown and "by 3.0 with BN" in shown
    assert "these factors compound" in shown
    not_shown = discussion.batch_norm_at_depth(_training(grad=(4.0, 3.0)))
    assert "leaves the mechanism open" in not_shown and "compound" not in not_shown


def _sensitivity(stuck_mean=0.10, bn_means=(0.53, 0.53, 0.53), zero=None):
    grid = []
    sigmas = (0.1, 1e-3, 1e-4)
    for sigma, bn_mean in zip(sigmas, bn_means):
        for bn in (False, True):
            mean = bn_mean if bn else stuck_mean if sigma == 1e-4 else 0.53
            grid.append({"sigma": sigma, "batch_norm": bn, "test_accuracy": _stats(mean, 0.0 if mean < 0.2 else 0.003)})
    out = {"sigmas": list(sigmas), "grid": grid, "lam": 0.005}
    if zero is not None:
        out["lambda_zero"] = {"sigma": 1e-4, "batch_norm": False, "lam": 0.0, "test_accuracy": _stats(zero, 0.0 if zero < 0.2 else 0.003)}
    return out


def test_initialisation_explains_the_stuck_network_with_computed_gains():
    text = discussion.initialisation(_sensitivity(), [50, 50])
    assert "5.5e-03, 7.1e-04, 7.1e-04" in text  # 1e-4 * sqrt(3072), 1e-4 * sqrt(50) twice
    assert "never left" in text and "Every $\\sigma$ trains alike" in text
    assert "L2 penalty" not in text  # no control: no claim about the penalty
    escaped = discussion.initialisation(_sensitivity(stuck_mean=0.45), [50, 50])
    assert "never left" not in escaped and "escaped" in escaped


def test_sigma_with_bn_is_called_alike_only_when_every_paired_interval_contains_zero():
    text = discussion.initialisation(_sensitivity(bn_means=(0.5368, 0.5346, 0.5290)), [50, 50])
    assert "trains alike" not in text and "still depends a little on $\\sigma$" in text
    assert "0.78 points higher than" in text


def test_the_lambda_zero_control_decides_the_penalty_sentence():
    held = discussion.initialisation(_sensitivity(zero=0.45), [50, 50])
    assert "is what holds the network" in held and "35.00 points more" in held
    not_held = discussion.initialisation(_sensitivity(zero=0.10), [50, 50])
    assert "The L2 penalty is not what holds it there" in not_held and "is what holds" not in not_held


def _search(chosen_val, default_val=0.53, final=0.539, seeds=(0, 1, 2)):
    def row(lam, val, stage="coarse", shift=0):
        s = _stats(val, 0.002, n=len(seeds), shift=shift)
        return {"stage": stage, "lam": lam, "seeds": list(seeds), "n": len(seeds), "val_mean": s["mean"],
                "val_std": s["std"], "val_values": s["values"]}  # fmt: skip

    coarse = [row(1e-6, 0.51), row(1e-4, 0.52), row(1e-2, 0.525), row(1e-1, 0.48)]
    fine = [row(3.46e-3, chosen_val, "fine"), row(5e-3, chosen_val - 0.0005, "fine", shift=1)]
    return {"coarse": coarse, "fine": fine, "chosen_lambda": 3.46e-3, "seeds": list(seeds),
            "final": {"test_accuracy": _stats(final), "config": {"cycles": 3}}}  # fmt: skip


def test_lambda_search_says_honestly_when_the_choice_does_not_beat_the_default():
    default = _training()["3layer_bn"]
    worse = discussion.chosen_against_default(_search(chosen_val=0.5295), default)
    assert "does not beat the default" in worse and "better credited to the longer training" in worse
    flat = discussion.lambda_search(_search(chosen_val=0.5295), default)
    assert "flat near its optimum" in flat and "2 of the 6 values" in flat
    better = discussion.chosen_against_default(_search(chosen_val=0.545), default)
    assert "beats the default" in better and "does not beat" not in better
    assert "two changes at once" in better
    same = discussion.chosen_against_default(_search(chosen_val=0.545, final=0.534), default)
    assert "the difference is within noise" in same


def _beyond(gains=(0.006, 0.0, 0.009, 0.018, -0.0025, 0.004, 0.013, 0.087), seconds=(15, 15, 15, 109, 116, 119, 122, 158, 950)):
    rows, val = [], 0.53
    for i, (secs) in enumerate(seconds):
        gain = None if i == 0 else gains[i - 1]
        val += gain or 0
        verdict = None if gain is None else "within noise" if abs(gain) <= 0.004 else "higher" if gain > 0 else "lower"
        rows.append({"ingredient": f"step{i}", "val_gain": gain, "val_std": 0.002, "train_seconds_per_seed": secs,
                     "verdict": verdict})  # fmt: skip
    best = {"step": "step8", "train_seconds": {"mean": 950.0, "max": 985.0}, "test_accuracy": _stats(0.666, shift=3)}
    return {"rows": rows, "best": best, "baseline": {"test_accuracy": _stats(0.534)}}


def test_ladder_names_gains_costs_and_neutral_steps():
    text = discussion.ladder(_beyond())
    assert text.index("step8 (+8.7 points") < text.index("step4 (+1.8 points")  # largest gain first
    assert "For step2, step5 and step6 the paired 95 % confidence interval of the change contains zero" in text
    assert "step3 was the most expensive step" in text and "7.3 times" in text
    assert "13.20 points more accurate on the test set (paired over 10 seeds" in text
    hurt = discussion.ladder(_beyond(gains=(0.006, 0.0, 0.009, 0.018, -0.02, 0.004, 0.013, 0.087)))
    assert "Step5 lowered validation accuracy" in hurt
    assert "the ladder dropped none" in text


def test_the_leave_one_out_rows_are_labelled_as_one_seed():
    beyond = _beyond()
    beyond["leave_one_out"] = [
        {"ingredient": "augmentation", "row": "longer training", "seed": 0, "val_with": 0.73, "val_without": 0.70,
         "val_buys": 0.03, "test_with": 0.72, "test_without": 0.69, "test_buys": 0.03},
        {"ingredient": "ZCA whitening", "row": "longer training", "seed": 0, "val_with": 0.73, "val_without": 0.74,
         "val_buys": -0.01, "test_with": 0.72, "test_without": 0.73, "test_buys": -0.01},
    ]  # fmt: skip
    text = discussion.ladder(beyond)
    assert "with one seed each, so with no confidence interval" in text
    assert "augmentation still adds 3.00 points" in text and "ZCA whitening costs 1.00 points" in text
    assert "one seed" not in discussion.ladder(_beyond())


def test_the_dropped_ingredients_are_named_with_their_paired_gain():
    beyond = _beyond()
    beyond["seeds"] = [0, 1, 2]
    beyond["rows"][6]["trial"] = True
    beyond["dropped"] = [
        {"ingredient": "label smoothing", "tried_on": "ZCA whitening", "val_gain": -0.004, "seeds": 3, "run_seeds": [0, 1, 2]},
        {"ingredient": "more dropout", "tried_on": "ZCA whitening", "val_gain": None, "seeds": 0, "run_seeds": [0, 1, 2]},
    ]  # fmt: skip
    text = discussion.ladder(beyond)
    assert ("Label smoothing (-0.4 points on the ZCA whitening row, 3 seeds) and more dropout (no finite accuracy on the "
            "ZCA whitening row, 3 seeds) were shown to lower validation accuracy") in text
    assert "the ladder went on from the row they were added to" in text and "nan" not in text


def _summary(**training):
    return {"training": _training(**training), "data": {"provenance": "JPEG-compressed copy of CIFAR-10, not the official archive"},
            "beyond": {"best": {"test_accuracy": _stats(0.666)}}, "lambda_search": _search(0.545),
            "sensitivity": _sensitivity()}  # fmt: skip


def test_comparison_quotes_every_number_of_the_original_report():
    summary = _summary()
    text = discussion.comparison(summary, "Table 9")
    assert text.startswith("Table 9 sets every number")
    assert "JPEG-compressed copy of CIFAR-10, not the official archive" in text
    assert "8.88 \\times 10^{-3}" in text and "52.53 %" in text and "43.98 %" in text and "48.81 %" in text
    assert "TEST set" in text and "never does in the training time given" in text
    official = copy.deepcopy(summary)
    official["data"]["provenance"] = "official archive (md5 verified)"
    assert "JPEG" not in discussion.comparison(official)


def test_comparison_follows_the_paired_bn_verdict_at_three_layers():
    assert "we find the opposite, by a small but real margin" in discussion.comparison(_summary())
    assert "the difference is within noise" in discussion.comparison(_summary(bn3=0.5301, nobn3=0.530))


def _pictures(shared=True):
    def mistakes(first):
        return [{"index": first + i, "true": "cat", "predicted": "frog", "p_predicted": 1.0 - 0.01 * i} for i in range(4)]

    nets = {"best": {"label": "best ladder network", "mistakes": mistakes(0)},
            "3layer_bn": {"label": "3-layer network", "mistakes": mistakes(2 if shared else 100)}}  # fmt: skip
    return {"order": ["best", "3layer_bn"], "networks": nets, "mistakes_shown": 4}


def test_the_confident_mistakes_are_counted_and_discussed_as_label_error_candidates():
    text = discussion.mistakes_text(_pictures(), "Figure 8")
    assert text.startswith("Figure 8 shows the 4 test images")
    assert "2 images are among the most confident mistakes of both networks, 2 of them given the same wrong class" in text
    assert "labelled cat and taken for frog with p = 1.00" in text and "mislabelled images [10]" in text
    assert "0 images are among" in discussion.mistakes_text(_pictures(shared=False), "Figure 8")
    assert discussion.mistakes_text({**_pictures(), "mistakes_shown": 0}) == ""


@pytest.mark.parametrize("items, joined", [(["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")])
def test_join(items, joined):
    assert discussion._join(items) == joined


def test_one_search_seed_gives_no_verdict_on_the_chosen_lambda():
    default = _training()["3layer_bn"]
    text = discussion.chosen_against_default(_search(chosen_val=0.545, seeds=(0,)), default)
    assert "too few for an interval" in text and "beats" not in text and "1 seed they share" in text
