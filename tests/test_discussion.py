"""The Discussion's claims follow the numbers: a rerun with other results rewrites the claims, not only the numbers."""

import copy

import pytest

from dd2424.study import discussion


def _stats(mean, std=0.002, n=3):
    return {"mean": mean, "std": std, "n": n}


def _training(bn3=0.534, nobn3=0.530, bn9=0.519, nobn9=0.465, std9=0.015):
    hidden3, hidden9 = [50, 50], [50, 30, 20, 20, 10, 10, 10, 10]
    out = {}
    for name, mean, hidden, bn, std in (("3layer_bn", bn3, hidden3, True, 0.001), ("3layer_nobn", nobn3, hidden3, False, 0.002),
                                        ("9layer_bn", bn9, hidden9, True, 0.001), ("9layer_nobn", nobn9, hidden9, False, std9)):
        out[name] = {"test_accuracy": _stats(mean, std), "train_accuracy": _stats(mean + 0.05, 0.001),
                     "config": {"hidden": hidden, "batch_norm": bn}}
    return out


def test_bn_claims_follow_the_numbers():
    real = discussion.batch_norm_at_depth(_training())
    assert "a real but modest difference" in real and "5.4 points more" in real
    none = discussion.batch_norm_at_depth(_training(bn3=0.531, nobn3=0.530, bn9=0.466, nobn9=0.465))
    assert "no measurable difference" in none and "no better than without it" in none


def _sensitivity(stuck_mean=0.10):
    grid = []
    for sigma in (0.1, 1e-3, 1e-4):
        for bn in (False, True):
            mean = stuck_mean if (sigma == 1e-4 and not bn) else 0.53
            grid.append({"sigma": sigma, "batch_norm": bn, "test_accuracy": _stats(mean, 0.0 if mean < 0.2 else 0.003)})
    return {"sigmas": [0.1, 1e-3, 1e-4], "grid": grid}


def test_initialisation_explains_the_stuck_network_with_computed_gains():
    text = discussion.initialisation(_sensitivity(), [50, 50])
    assert "5.5e-03, 7.1e-04, 7.1e-04" in text  # 1e-4 * sqrt(3072), 1e-4 * sqrt(50) twice
    assert "never left" in text and "every $\\sigma$ trains alike" in text
    escaped = discussion.initialisation(_sensitivity(stuck_mean=0.45), [50, 50])
    assert "never left" not in escaped and "escaped" in escaped


def _beyond(gains=(0.006, 0.0, 0.009, 0.018, -0.0025, 0.004, 0.013, 0.087), seconds=(15, 15, 15, 109, 116, 119, 122, 158, 950)):
    rows, val = [], 0.53
    for i, (secs) in enumerate(seconds):
        gain = None if i == 0 else gains[i - 1]
        val += gain or 0
        verdict = None if gain is None else "within noise" if abs(gain) <= 0.004 else "higher" if gain > 0 else "lower"
        rows.append({"ingredient": f"step{i}", "val_gain": gain, "val_std": 0.002, "train_seconds_per_seed": secs,
                     "verdict": verdict})  # fmt: skip
    best = {"step": "step8", "train_seconds": {"mean": 950.0, "max": 985.0}, "test_accuracy": _stats(0.666)}
    return {"rows": rows, "best": best, "baseline": {"test_accuracy": _stats(0.534)}}


def test_ladder_names_gains_costs_and_neutral_steps():
    text = discussion.ladder(_beyond())
    assert text.index("step8 (+8.7 points") < text.index("step4 (+1.8 points")  # largest gain first
    assert "For step2, step5 and step6 the paired 95 % confidence interval of the change contains zero" in text
    assert "step3 was the most expensive step" in text and "7.3 times" in text
    assert "13.2 points more accurate" in text
    hurt = discussion.ladder(_beyond(gains=(0.006, 0.0, 0.009, 0.018, -0.02, 0.004, 0.013, 0.087)))
    assert "Step5 lowered validation accuracy" in hurt
    assert "the ladder dropped none" in text


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


def test_comparison_says_which_data_and_how_far_from_the_original():
    summary = {"training": _training(), "data": {"provenance": "JPEG-compressed copy of CIFAR-10, not the official archive"},
               "beyond": {"best": {"test_accuracy": _stats(0.666)}}}
    text = discussion.comparison(summary)
    assert "JPEG-compressed copy of CIFAR-10, not the official archive" in text
    official = copy.deepcopy(summary)
    official["data"]["provenance"] = "official archive (md5 verified)"
    assert "JPEG" not in discussion.comparison(official)


@pytest.mark.parametrize("items, joined", [(["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")])
def test_join(items, joined):
    assert discussion._join(items) == joined
