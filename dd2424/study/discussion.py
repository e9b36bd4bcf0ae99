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
from .paired import PairedDifference
from .tables import fmt_pct, fmt_power, plural

INPUT_DIMS = 3072
CHANCE = 0.1


def points(d: PairedDifference, digits: int = 2) -> str:
    """The absolute mean paired difference in percentage points: ``5.40 points``."""
    return f"{abs(100 * d.mean):.{digits}f} points"


def ci(d: PairedDifference) -> str:
    """``(paired over 10 seeds, 95 % confidence interval [+0.20, +1.00] points)``."""
    return f"({interval(d)})"


def stuck(stats: Mapping) -> bool:
    """Whether a configuration stayed at chance: its mean test accuracy within 2 points of 10 %."""
    return bool(stats["n"]) and stats["mean"] < CHANCE + 0.02


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
                 f"the paired interval {ci(shallow)} contains zero).")  # fmt: skip
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
    return measured + (" The spread is not much wider without BN than with it, so unequal gradient scales across the "
                       "layers do not explain what BN does for this network, and this measurement leaves the mechanism open.")  # fmt: skip


def _factor(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def layer_gains(sigma: float, hidden: Sequence[int]) -> list[float]:
    """``sigma * sqrt(d_in)`` of every layer: how much a layer scales the spread of its input at initialisation."""
    sizes = [INPUT_DIMS, *hidden]
    return [sigma * math.sqrt(d) for d in sizes]


def initialisation(sensitivity: Mapping, hidden: Sequence[int]) -> str:
    """Why a small sigma stops the network without BN and not with it, with what the lambda = 0 control shows."""
    grid = {(c["sigma"], c["batch_norm"]): c["test_accuracy"] for c in sensitivity["grid"]}
    sigmas = sorted(sensitivity["sigmas"], reverse=True)
    stopped = [s for s in sigmas if stuck(grid[(s, False)])]
    all_bn_train = all(grid[(s, True)]["n"] and grid[(s, True)]["mean"] > CHANCE + 0.1 for s in sigmas)
    smallest = sigmas[-1]
    gains = layer_gains(smallest, hidden)
    product = math.prod(gains)
    text = (f"With {plural(len(hidden) + 1, 'layer')} and every weight drawn from $N(0, \\sigma^2)$, a layer with "
            f"$d$ inputs scales the spread of its input by about $\\sigma\\sqrt{{d}}$ at the start. For "
            f"$\\sigma$ = {fmt_power(smallest)} these factors are "
            + ", ".join(f"{g:.1e}" for g in gains)
            + f", so the output scores start about {product:.0e} times smaller than the input: every class gets the "
            f"same probability, and the gradient of each weight matrix carries the product of the tiny weights above "
            f"it. ")  # fmt: skip
    if stopped:
        low = stopped[-1]
        every = all(v is not None and v < CHANCE + 0.02 for v in grid[(low, False)]["values"])
        text += (f"Without BN, the network with $\\sigma$ = {_join([fmt_power(s) for s in stopped])} never left this "
                 f"state: its test accuracy is {pct(grid[(low, False)])}, one constant prediction"
                 f"{', on every seed' if every else ' on average'}. ") + lambda_zero_text(sensitivity)  # fmt: skip
    else:
        text += "Without BN the network still escaped this state for every $\\sigma$ tried, only more slowly. "
    trained = [s for s in sigmas if s not in stopped]
    if len(trained) > 1:
        d = paired_stats(grid[(trained[0], False)], grid[(trained[-1], False)])
        text += (f"Between $\\sigma$ = {fmt_power(trained[0])} and {fmt_power(trained[-1])} the network without BN "
                 + (f"loses {points(d)} {ci(d)}. " if d.verdict == "higher" else
                    f"gains {points(d)} {ci(d)}. " if d.verdict == "lower" else
                    f"reaches the same accuracy within noise {ci(d)}. "))  # fmt: skip
    if all_bn_train:
        values = ", ".join(pct(grid[(s, True)]) for s in sigmas)
        text += (f"With BN the scale of the weights no longer matters at the start: the normalisation divides each "
                 f"layer's scores by their own standard deviation, whatever $\\sigma$ made it, and the backward pass "
                 f"multiplies the gradient by the same factor. ")  # fmt: skip
        pairs = [(a, b, paired_stats(grid[(a, True)], grid[(b, True)])) for i, a in enumerate(sigmas) for b in sigmas[i + 1 :]]
        real = [(a, b, d) for a, b, d in pairs if d.real]
        if not real:
            text += (f"Every $\\sigma$ trains alike with BN ({values} for $\\sigma$ = "
                     f"{', '.join(fmt_power(s) for s in sigmas)}): every paired difference between two of them has a 95 % "
                     f"confidence interval that contains zero.")  # fmt: skip
        else:
            said = "; ".join(f"$\\sigma$ = {fmt_power(a)} is {points(d)} {d.verdict} than {fmt_power(b)} {ci(d)}"
                             for a, b, d in real)  # fmt: skip
            text += (f"The accuracy with BN still depends a little on $\\sigma$ ({values} for $\\sigma$ = "
                     f"{', '.join(fmt_power(s) for s in sigmas)}): {said}, small beside what BN changes without it.")  # fmt: skip
    return text


def lambda_zero_text(sensitivity: Mapping) -> str:
    """What the control without L2 penalty shows about the stuck network (nothing claimed without the control)."""
    zero = sensitivity.get("lambda_zero")
    cell = next((c for c in sensitivity["grid"] if zero and c["sigma"] == zero["sigma"] and not c["batch_norm"]), None)
    if not zero or cell is None or not zero["test_accuracy"]["n"]:
        return "With gradients this small, it did not leave that state in the training time given. "
    d = paired_stats(zero["test_accuracy"], cell["test_accuracy"])
    lam = fmt_power(sensitivity["lam"])
    if stuck(zero["test_accuracy"]):
        return (f"The L2 penalty is not what holds it there: the control trained without any penalty ($\\lambda$ = 0, "
                f"the same seeds) stays at {pct(zero['test_accuracy'])} as well; the gradients alone are too small to "
                f"move it in the training time given. ")  # fmt: skip
    if d.verdict == "higher":
        return (f"The control trained without any L2 penalty ($\\lambda$ = 0, the same seeds) reaches "
                f"{pct(zero['test_accuracy'])}, {points(d)} more than with $\\lambda$ = {lam} {ci(d)}: the penalty, "
                f"which pulls the weights towards zero while these gradients are still tiny, is what holds the network "
                f"at the start. ")  # fmt: skip
    return (f"The control trained without any L2 penalty ($\\lambda$ = 0, the same seeds) reaches "
            f"{pct(zero['test_accuracy'])}, not measurably different from $\\lambda$ = {lam} {ci(d)}. ")


def lambda_search(search: Mapping, default: Mapping) -> str:
    """What the lambda search found: how flat the optimum is (paired against the best value on the search seeds),
    whether the chosen value beats the default on validation, and what the retrained network gained."""
    rows = [*search["coarse"], *search["fine"]]
    best = max(rows, key=lambda r: r["val_mean"] if r["val_mean"] is not None else -1)
    per_seed = lambda r: {"seeds": r["seeds"], "values": r.get("val_values") or []}  # noqa: E731
    verdicts = {id(r): paired_stats(per_seed(best), per_seed(r)).verdict for r in rows if r is not best}
    close = [r for r in rows if r is best or verdicts[id(r)] != "higher"]
    lo, hi = min(r["lam"] for r in close), max(r["lam"] for r in close)
    if "undetermined" in verdicts.values():
        text = (f"With {plural(len(search['seeds']), 'search seed')} per value, the values of $\\lambda$ tried cannot "
                f"be told apart from the best one by a paired interval; $\\lambda$ = "
                f"{fmt_power(search['chosen_lambda'])} is the highest mean, not a value shown to be better. ")  # fmt: skip
    elif len(close) > 1:
        text = (f"The validation accuracy is flat near its optimum: {len(close)} of the {len(rows)} values of $\\lambda$ "
                f"tried are within noise of the best one (the paired 95 % confidence interval of their difference over "
                f"the search seeds contains zero), between $\\lambda$ = {fmt_power(lo)} and {fmt_power(hi)}, so the "
                f"search locates a good range rather than a single best value, and $\\lambda$ = "
                f"{fmt_power(search['chosen_lambda'])} is one point inside it. ")  # fmt: skip
    else:
        text = (f"The best value, $\\lambda$ = {fmt_power(best['lam'])}, is higher on validation than every other value "
                f"tried, each by a paired difference whose 95 % interval excludes zero. ")  # fmt: skip
    coarse = sorted(search["coarse"], key=lambda r: r["lam"])
    low, high = coarse[0], coarse[-1]
    if low["val_mean"] is not None and high["val_mean"] is not None:
        text += (f"Away from it the two ends behave differently: with almost no penalty ($\\lambda$ = {fmt_power(low['lam'])}) "
                 f"the network still reaches {fmt_pct(low['val_mean'])} % on validation, while $\\lambda$ = "
                 f"{fmt_power(high['lam'])} holds the weights so small that it falls to {fmt_pct(high['val_mean'])} %"
                 + ("; too much regularisation costs far more than too little for a network of this size. "
                    if high["val_mean"] < low["val_mean"] else ". "))  # fmt: skip
    text += chosen_against_default(search, default)
    return text


def chosen_against_default(search: Mapping, default: Mapping) -> str:
    """Whether the chosen lambda beats the default on validation (paired over the search seeds), and what the
    retrained network's change on the test set can be credited to."""
    final, lam = search["final"], default["config"]["lam"]
    chosen = next((r for r in [*search["coarse"], *search["fine"]] if r["lam"] == search["chosen_lambda"]), None)
    text, beats = "", None
    if chosen is not None and chosen.get("val_values") and chosen["lam"] != lam:
        v = paired_stats({"seeds": chosen["seeds"], "values": chosen["val_values"]}, default["val_accuracy"])
        beats = v.verdict == "higher"
        text += (f"On validation the chosen value beats the default $\\lambda$ = {fmt_power(lam)} by {points(v)} {ci(v)}. "
                 if beats else
                 f"On validation the chosen value does not beat the default $\\lambda$ = {fmt_power(lam)}: the paired "
                 f"difference is {100 * v.mean:+.2f} points {ci(v)}, so the search confirms the default's range rather "
                 f"than improving on it. ")  # fmt: skip
    d = paired_stats(final["test_accuracy"], default["test_accuracy"])
    cycles, base_cycles = final["config"]["cycles"], default["config"]["cycles"]
    longer = cycles != base_cycles
    text += (f"Retrained for {plural(cycles, 'cycle')}, the chosen value gives {pct(final['test_accuracy'])} on the test "
             f"set against {pct(default['test_accuracy'])} for the default network"
             + (f" ({plural(base_cycles, 'cycle')})" if longer else "") + "; ")  # fmt: skip
    if not d.real:
        return text + f"the difference is within noise {ci(d)}."
    text += f"the {points(d)} {'gained' if d.mean > 0 else 'lost'} {ci(d)} "
    if not longer:
        return text + "come from the new $\\lambda$."
    if beats is False:
        return text + ("come with one change that validation does not credit, the new $\\lambda$, and one it cannot "
                       "separate, the longer training: they are better credited to the longer training.")  # fmt: skip
    return text + "come from two changes at once, the new $\\lambda$ and the longer training, which this report does not separate."


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
        if r.get("val_buys") is None:
            parts.append(f"without {r['ingredient']} the run of seed {r['seed']} did not reach a finite accuracy")
            continue
        verb = "still adds" if r["val_buys"] > 0 else "no longer adds anything, changing it by" if r["val_buys"] == 0 else "costs"
        parts.append(f"{r['ingredient']} {verb} {abs(100 * r['val_buys']):.2f} points of validation accuracy "
                     f"({fmt_pct(r['val_with'])} % with it, {fmt_pct(r['val_without'])} % without; test "
                     f"{100 * r['test_buys']:+.2f} points)" if r.get("test_buys") is not None else
                     f"{r['ingredient']} {verb} {abs(100 * r['val_buys']):.2f} points of validation accuracy")  # fmt: skip
    row = rows[0]["row"]
    return (f"Left out of the longest configuration ({row} row) one at a time, with one seed each, so with no "
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


def _join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _was(items: Sequence) -> str:
    """The verb for a subject of ``len(items)`` things: "was" or "were"."""
    return "was" if len(items) == 1 else "were"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
