"""The report's Discussion, written from ``results/summary.json``.

Each function returns one paragraph (Markdown) about one experiment: what it shows and why.
Every number comes from the summary, and every comparative sentence follows from the paired
rule of the method section (:mod:`.claims`): two settings trained with the same seeds differ
*really* when the 95 % Student-t confidence interval of their paired difference excludes zero,
and are *within noise* otherwise, so a rerun with other results rewrites the claims, not only
the numbers.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .claims import interval, paired_stats, pct
from .discussion_choices import chosen_against_default, initialisation, lambda_search, lambda_zero_text, layer_gains
from .tables import fmt_pct, plural
from .wording import CHANCE, INPUT_DIMS, ci, points, stuck
from .wording import cap as _cap, join as _join, was as _was

__all__ = ["batch_norm_at_depth", "gradient_scales", "initialisation", "lambda_zero_text", "layer_gains", "lambda_search",
           "chosen_against_default", "ladder", "leave_one_out", "trials", "comparison", "mistakes_text", "pictures_text",
           "points", "ci", "stuck", "CHANCE", "INPUT_DIMS"]  # fmt: skip

def batch_norm_at_depth(training: Mapping, figure: str = "the gradient-norm figure") -> str:
    """What BN does for the 3-layer and the 9-layer networks, on test and training accuracy, and what the
    per-layer gradient norms of the 9-layer networks show (``figure``: how the text cites their figure)."""
    t = {k: v["test_accuracy"] for k, v in training.items()}
    tr = {k: v["train_accuracy"] for k, v in training.items()}
    shallow, deep = paired_stats(t["3layer_bn"], t["3layer_nobn"]), paired_stats(t["9layer_bn"], t["9layer_nobn"])
    depth_cost = paired_stats(t["3layer_nobn"], t["9layer_nobn"])
    numbers = f"{pct(t['3layer_bn'])} with it against {pct(t['3layer_nobn'])} without"
    if shallow.verdict == "higher":
        first = (f"At three layers batch normalisation is a small improvement on the test set: {numbers}, "
                 f"{points(shallow)} {ci(shallow)}, a real but modest difference.")  # fmt: skip
    elif shallow.verdict == "lower":
        first = f"At three layers batch normalisation lowers the test accuracy: {numbers}, {points(shallow)} {ci(shallow)}."
    else:
        first = (f"At three layers batch normalisation makes no difference the seeds can tell on the test set ({numbers}; "
                 f"{interval(shallow)}, which contains zero).")  # fmt: skip
    train_gap = paired_stats(tr["3layer_bn"], tr["3layer_nobn"])
    if train_gap.verdict == "higher" and train_gap.mean > shallow.mean:
        first += (f" It does more for the fit than for generalisation: the training accuracy rises from "
                  f"{pct(tr['3layer_nobn'])} to {pct(tr['3layer_bn'])} {ci(train_gap)}, more than the test accuracy "
                  f"does, so part of what BN gains in optimisation is given back as a larger gap between training and test.")  # fmt: skip
    spread_nobn = 100 * training["9layer_nobn"]["test_accuracy"]["std"]
    lead = " Depth is where it matters." if deep.verdict == "higher" and deep.mean > shallow.mean else ""
    cost = (f"loses {points(depth_cost)} against the three-layer one {ci(depth_cost)}" if depth_cost.verdict == "higher"
            else f"is not measurably worse than the three-layer one {ci(depth_cost)}")  # fmt: skip
    second = (f"{lead} Without BN the nine-layer network {cost} and reaches {pct(t['9layer_nobn'])}, with a standard "
              f"deviation of {spread_nobn:.1f} points from seed to seed; with BN it reaches {pct(t['9layer_bn'])}")  # fmt: skip
    second += {"higher": f", {points(deep)} more {ci(deep)}.", "lower": f", {points(deep)} less {ci(deep)}."}.get(
        deep.verdict, f", a difference within noise {ci(deep)}.")  # fmt: skip
    return first + second + gradient_scales(training, figure)


def gradient_scales(training: Mapping, figure: str = "the gradient-norm figure") -> str:
    """What the per-layer gradient norms of the 9-layer networks show about why depth needs BN (a softer,
    unmeasured sentence when the runs recorded none)."""
    a, b = (training.get(k, {}).get("grad_norms") for k in ("9layer_nobn", "9layer_bn"))
    if not a or not b or a.get("grad_spread") is None or b.get("grad_spread") is None:
        return (" A common explanation is that without normalisation the layers' gradients end up on very different "
                "scales, so that one learning-rate schedule cannot suit all of them; these runs did not measure it.")
    wide, narrow = a["grad_spread"], b["grad_spread"]
    measured = (f" {_cap(figure)} measures it: along training, the median gradient norm of the {a['layers']} weight "
                f"matrices differs by a factor of {_factor(wide)} between the largest and the smallest layer without BN, "
                f"and by {_factor(narrow)} with BN.")  # fmt: skip
    if wide >= 2 * narrow:
        return measured + (" Without normalisation every layer scales its input by a factor that depends on its weights, "
                           "and over eight hidden layers, six of them only 10 to 20 units wide, these factors compound: "
                           "the layers receive gradients on very different scales, and one learning-rate schedule cannot "
                           "suit all of them. BN brings every layer's scores back to zero mean and unit variance over the "
                           "mini-batch, so each layer sees inputs on the same scale whatever happened below it, and the "
                           "schedule tuned for the shallow network also trains the deep one.")  # fmt: skip
    return measured + (f" The spread is {'no' if wide <= narrow else 'not much'} wider without BN than with it, so unequal gradient scales across the "
                       "layers do not explain what BN does for this network, and this measurement leaves the mechanism open.")  # fmt: skip


def _factor(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def ladder(beyond: Mapping) -> str:
    """What each rung of the ablation ladder bought and what it cost in training time."""
    rows = beyond["rows"]
    steps = []
    for previous, row in zip(rows, rows[1:]):
        steps.append({
            "name": row["ingredient"], "gain": 100 * row["val_gain"], "within": row.get("verdict") not in ("higher", "lower"),
            "cost": row["train_seconds_per_seed"] / previous["train_seconds_per_seed"],
        })  # fmt: skip

    def priced(step: dict) -> str:
        cost = "at no extra cost in time" if step["cost"] < 1.15 else f"for {step['cost']:.1f} times the time per seed"
        return f"{step['name']} ({step['gain']:+.1f} points, {cost})"

    helped = sorted((s for s in steps if not s["within"] and s["gain"] > 0), key=lambda s: -s["gain"])
    hurt = [s for s in steps if not s["within"] and s["gain"] < 0]
    neutral = [s["name"] for s in steps if s["within"]]
    text = "Read from top to bottom, the ladder shows where the accuracy of a fully connected network comes from. "
    if helped:
        text += f"Measured on validation accuracy, the gains came from {_join([priced(s) for s in helped])}. "
        dear = max(helped, key=lambda s: s["cost"] / max(s["gain"], 1e-9))
        if dear["cost"] >= 2:
            text += (f"Per point gained, {dear['name']} was the most expensive step: it multiplied the time per seed by "
                     f"{dear['cost']:.1f} for {dear['gain']:.1f} points. ")  # fmt: skip
    if neutral:
        text += (f"For {_join(neutral)} the paired 95 % confidence interval of the change contains zero: within noise "
                 f"where {'it' if len(neutral) == 1 else 'they'} {_was(neutral)} added, so "
                 f"{'it stays' if len(neutral) == 1 else 'they stay'} in the ladder, which drops only what is shown to hurt. ")  # fmt: skip
    if hurt:
        text += (f"{_cap(_join([s['name'] for s in hurt]))} lowered validation accuracy where it was added, with the whole "
                 "paired interval below zero. ")  # fmt: skip
    text += trials(beyond)
    best, base = beyond["best"], beyond["baseline"]
    total = best["train_seconds"]["mean"] / rows[0]["train_seconds_per_seed"]
    gain = paired_stats(best["test_accuracy"], base["test_accuracy"])
    text += (f"Altogether the best network ({best['step']}) trains {total:.0f} times as long as the baseline, "
             f"{best['train_seconds']['mean'] / 60:.1f} minutes per seed, and is "
             + (f"{points(gain)} {'more' if gain.mean > 0 else 'less'} accurate on the test set {ci(gain)}. "
                if gain.real else f"not measurably more accurate on the test set {ci(gain)}. "))  # fmt: skip
    return text + leave_one_out(beyond)


def leave_one_out(beyond: Mapping) -> str:
    """What augmentation and ZCA whitening still buy at the longest schedule (one seed each, said so)."""
    rows = beyond.get("leave_one_out") or []
    if not rows:
        return ""
    parts = []
    for r in rows:
        added = r.get("change") == "added back"  # dropped at the short schedule, tried again at the long one
        if r.get("val_buys") is None:
            parts.append(f"{'with' if added else 'without'} {r['ingredient']} the run of seed {r['seed']} did not reach a "
                         "finite accuracy")  # fmt: skip
            continue
        verb = "still adds" if r["val_buys"] > 0 else "no longer adds anything, changing it by" if r["val_buys"] == 0 else "costs"
        if added:
            verb = f"added back, {'adds' if r['val_buys'] > 0 else 'changes nothing, by' if r['val_buys'] == 0 else 'costs'}"
        parts.append(f"{r['ingredient']} {verb} {abs(100 * r['val_buys']):.2f} points of validation accuracy "
                     f"({fmt_pct(r['val_with'])} % with it, {fmt_pct(r['val_without'])} % without; test "
                     f"{100 * r['test_buys']:+.2f} points)" if r.get("test_buys") is not None else
                     f"{r['ingredient']} {verb} {abs(100 * r['val_buys']):.2f} points of validation accuracy")  # fmt: skip
    row = rows[0]["row"]
    return (f"Left out of the longest configuration ({row} row), or added back to it where the ladder dropped it, one at a "
            f"time, with one seed each, so with no "
            f"confidence interval and only as large a difference as one seed can show: {'; '.join(parts)}.")  # fmt: skip


def trials(beyond: Mapping) -> str:
    """What the ladder's one rule dropped: the ingredients shown to hurt (empty when none was)."""
    dropped = beyond.get("dropped") or []
    if not dropped:
        return "No ingredient was shown to hurt, so the ladder dropped none. "
    return (f"{_cap(_join([_tried(d) for d in dropped]))} {_was(dropped)} shown to lower validation accuracy "
            f"(the whole paired interval below zero) and {_was(dropped)} dropped; the ladder went on from the row "
            f"{'it was' if len(dropped) == 1 else 'they were'} added to. ")  # fmt: skip


def _tried(dropped: Mapping) -> str:
    """``label smoothing (-0.4 points on the ZCA whitening row, 3 seeds)``: a dropped ingredient and its gain."""
    gain = dropped.get("val_gain")
    number = f"{100 * gain:+.1f} points" if gain is not None and math.isfinite(gain) else "no finite accuracy"
    seeds = len(dropped.get("run_seeds") or []) or dropped["seeds"]
    return f"{dropped['ingredient']} ({number} on the {dropped['tried_on']} row, {plural(seeds, 'seed')})"


def comparison(summary: Mapping, table: str = "the comparison table") -> str:
    """Our numbers against the original report's and published results (:func:`.original.comparison_text`)."""
    from .original import comparison_text

    return comparison_text(summary, table)


def mistakes_text(pictures: Mapping, figure: str = "the figure of mistakes") -> str:
    """What the most confident mistakes show: how many both networks share, and that such shared, near-certain
    mistakes are the candidates for label errors of the test set (empty when the summary has no mistakes)."""
    nets = [pictures["networks"][key] for key in pictures["order"]]
    n = pictures.get("mistakes_shown") or 0
    lists = [net.get("mistakes") or [] for net in nets]
    if not n or not all(lists):
        return ""
    shown = [{m["index"]: m for m in mistakes[:n]} for mistakes in lists]
    shared = set.intersection(*(set(s) for s in shown)) if len(shown) > 1 else set()
    sure = [m for s in shown for m in s.values() if m["p_predicted"] >= 0.99]
    top = lists[0][0]
    text = (f"{_cap(figure)} shows the {n} test images each network got wrong with the highest probability. "
            f"{len(sure)} of the {sum(len(s) for s in shown)} shown were predicted with a probability of 0.99 or more")
    if len(shown) > 1:
        same = sum(shown[0][i]["predicted"] == shown[1][i]["predicted"] for i in shared)
        text += (f", and {len(shared)} {'image is' if len(shared) == 1 else 'images are'} among the most confident "
                 f"mistakes of both networks, {same} of them given the same wrong class by both, although the two "
                 f"networks differ in size, inputs and training")  # fmt: skip
    text += (f". The most confident mistake of the {nets[0]['label']} is a test image labelled {top['true']} and taken "
             f"for {top['predicted']} with p = {top['p_predicted']:.2f}. Such mistakes are not all errors of the networks: "
             f"the CIFAR-10 test set is known to contain mislabelled images [10], and an image that networks trained "
             f"independently give the same wrong class with near certainty is the first candidate for one; "
             f"{figure.replace('the ', '', 1) if figure.startswith('the ') else figure} lets the reader check each by "
             f"eye, and its accuracies count such an image as wrong.")  # fmt: skip
    return text


def pictures_text(pictures: Mapping) -> str:
    """What the confusion matrices and the first layer show, for the networks of the pictures chapter."""
    from .pictures import describe_first_layer

    nets = [pictures["networks"][key] for key in pictures["order"]]
    parts = []
    for net in nets:
        pairs = net["confused_pairs"][:2]
        confused = _join([f"{p['true']} taken for {p['predicted']} ({100 * p['fraction']:.0f} % of the {p['true']} images)"
                          for p in pairs])  # fmt: skip
        best = _join([f"{c['class']} ({100 * c['accuracy']:.0f} %)" for c in net["best"]])
        worst = _join([f"{c['class']} ({100 * c['accuracy']:.0f} %)" for c in net["worst"]])
        parts.append(f"For the {net['label']} (seed {net['seed']}), the classes recognised best are {best} and the "
                     f"worst {worst}; the most frequent confusions are {confused}.")  # fmt: skip
    text = " ".join(parts)
    text += (" The errors concentrate among the animals. A fully connected network gives every pixel position its "
             "own weights: it is position-specific and has no translation invariance, so the same animal at another "
             "place or in another pose in the image is a new pattern to it, to be learned from examples of that "
             "place; vehicles, which differ in colour, background and silhouette, are easier." if _animals_worst(nets) else "")
    text += "\n\n" + " ".join(describe_first_layer(net["first_layer"], net["label"]) for net in nets)
    return text


ANIMALS = {"bird", "cat", "deer", "dog", "frog", "horse"}


def _animals_worst(nets: Sequence[Mapping]) -> bool:
    """Whether every network's worst classes and most confused pairs are animals."""
    return all(
        all(c["class"] in ANIMALS for c in net["worst"])
        and all(p["true"] in ANIMALS and p["predicted"] in ANIMALS for p in net["confused_pairs"][:2])
        for net in nets
    )
