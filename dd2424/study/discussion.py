"""The report's Discussion, written from ``results/summary.json``.

Each function returns one paragraph (Markdown) about one experiment: what it shows and why.
Every number comes from the summary; what the sentences claim follows the rule of the method
section (a difference is real when it exceeds the sum of the two standard deviations, with at
least two seeds a side, :func:`dd2424.study.stats.compare`), so a rerun with other results
rewrites the claims, not only the numbers.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .stats import Comparison, compare
from .tables import fmt_pct, fmt_power, plural

INPUT_DIMS = 3072
CHANCE = 0.1
#: test accuracy (%) of fully connected networks on CIFAR-10 with unsupervised pre-training and
#: deformations, as reported by Lin, Memisevic and Konda (2015), reference [5] of the report
PUBLISHED_FULLY_CONNECTED = 78


def points(c: Comparison, digits: int = 1) -> str:
    """The absolute difference of means in percentage points: ``5.4 points``."""
    return f"{abs(100 * c.difference):.{digits}f} points"


def pct(stats: Mapping) -> str:
    """``53.44 %`` from an accuracy-stats dict."""
    return f"{fmt_pct(stats['mean'])} %"


def batch_norm_at_depth(training: Mapping) -> str:
    """What BN does for the 3-layer and the 9-layer networks, on test and training accuracy."""
    t = {k: v["test_accuracy"] for k, v in training.items()}
    tr = {k: v["train_accuracy"] for k, v in training.items()}
    shallow, deep = compare(t["3layer_bn"], t["3layer_nobn"]), compare(t["9layer_bn"], t["9layer_nobn"])
    depth_cost = compare(t["3layer_nobn"], t["9layer_nobn"])
    if shallow.real:
        first = (f"At three layers batch normalisation is a small improvement: {pct(t['3layer_bn'])} on the test set "
                 f"against {pct(t['3layer_nobn'])} without it, {points(shallow, 2)}, a real but modest difference.")  # fmt: skip
    else:
        first = (f"At three layers batch normalisation makes no measurable difference on the test set "
                 f"({pct(t['3layer_bn'])} with it, {pct(t['3layer_nobn'])} without).")  # fmt: skip
    train_gap = compare(tr["3layer_bn"], tr["3layer_nobn"])
    if train_gap.real and train_gap.difference > 0:
        first += (f" It does more for the fit than for generalisation: the training accuracy rises from "
                  f"{pct(tr['3layer_nobn'])} to {pct(tr['3layer_bn'])}, so most of what BN gains in optimisation "
                  f"is given back as a larger gap between training and test.")  # fmt: skip
    spread_nobn = 100 * training["9layer_nobn"]["test_accuracy"]["std"]
    second = (f" Depth is where it matters. Without BN the nine-layer network loses {points(depth_cost)} against the "
              f"three-layer one and reaches {pct(t['9layer_nobn'])}, with a spread of {spread_nobn:.1f} points from "
              f"seed to seed; with BN it reaches {pct(t['9layer_bn'])}")  # fmt: skip
    second += (f", {points(deep)} more." if deep.real and deep.difference > 0 else ", no better than without it.")
    why = (" Without normalisation every layer multiplies the scale of its input by a factor that depends on its "
           "weights, and over eight hidden layers, six of them only 10 to 20 units wide, these factors compound: the "
           "first layers receive gradients on a very different scale from the last, and one learning-rate schedule "
           "cannot suit all of them, which also makes the outcome depend on the seed. BN brings every layer's scores "
           "back to zero mean and unit variance over the mini-batch, so each layer sees inputs on the same scale "
           "whatever happened below it, and the schedule tuned for the shallow network also trains the deep one.")
    return first + second + why


def layer_gains(sigma: float, hidden: Sequence[int]) -> list[float]:
    """``sigma * sqrt(d_in)`` of every layer: how much a layer scales the spread of its input at initialisation."""
    sizes = [INPUT_DIMS, *hidden]
    return [sigma * math.sqrt(d) for d in sizes]


def initialisation(sensitivity: Mapping, hidden: Sequence[int]) -> str:
    """Why a small sigma stops the network without BN and not with it."""
    grid = {(c["sigma"], c["batch_norm"]): c["test_accuracy"] for c in sensitivity["grid"]}
    sigmas = sorted(sensitivity["sigmas"], reverse=True)
    stuck = [s for s in sigmas if grid[(s, False)]["n"] and grid[(s, False)]["mean"] < CHANCE + 0.02]
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
    if stuck:
        which = f"$\\sigma$ = {_join([fmt_power(s) for s in stuck])}"
        text += (f"Without BN, the network with {which} never left "
                 f"this state: its test accuracy is {pct(grid[(stuck[-1], False)])}, one constant prediction, on every "
                 f"seed, because the L2 penalty pulls the weights towards zero faster than these gradients can grow "
                 f"them. ")  # fmt: skip
    else:
        text += "Without BN the network still escaped this state for every $\\sigma$ tried, only more slowly. "
    trained = [s for s in sigmas if s not in stuck]
    if len(trained) > 1:
        c = compare(grid[(trained[0], False)], grid[(trained[-1], False)])
        text += (f"Between $\\sigma$ = {fmt_power(trained[0])} and {fmt_power(trained[-1])} the network without BN "
                 + (f"loses {points(c)}. " if c.real and c.difference > 0 else "reaches about the same accuracy. "))
    if all_bn_train:
        values = ", ".join(pct(grid[(s, True)]) for s in sigmas)
        text += (f"With BN the scale of the weights no longer matters at the start: the normalisation divides each "
                 f"layer's scores by their own standard deviation, whatever $\\sigma$ made it, and the backward pass "
                 f"multiplies the gradient by the same factor, so every $\\sigma$ trains alike ({values} for "
                 f"$\\sigma$ = {', '.join(fmt_power(s) for s in sigmas)}).")  # fmt: skip
    return text


def lambda_search(search: Mapping, default: Mapping) -> str:
    """What the lambda search found: where the optimum is, how flat it is, what the final network gained."""
    rows = [*search["coarse"], *search["fine"]]
    best = max(rows, key=lambda r: r["val_mean"] if r["val_mean"] is not None else -1)
    close = [r for r in rows if r["val_mean"] is not None and best["val_mean"] - r["val_mean"] <= (best["val_std"] or 0) + (r["val_std"] or 0)]
    lo, hi = min(r["lam"] for r in close), max(r["lam"] for r in close)
    coarse = sorted(search["coarse"], key=lambda r: r["lam"])
    low, high = coarse[0], coarse[-1]
    text = (f"The validation accuracy is flat near its optimum: {len(close)} of the {len(rows)} values of $\\lambda$ tried "
            f"are within the spread across seeds of the best one, between $\\lambda$ = {fmt_power(lo)} and "
            f"{fmt_power(hi)}, so the search locates a good range rather than a single best value, and "
            f"$\\lambda$ = {fmt_power(search['chosen_lambda'])} is one point inside it. ")  # fmt: skip
    if low["val_mean"] is not None and high["val_mean"] is not None:
        text += (f"Away from it the two ends behave differently: with almost no penalty ($\\lambda$ = {fmt_power(low['lam'])}) "
                 f"the network still reaches {fmt_pct(low['val_mean'])} % on validation, while $\\lambda$ = {fmt_power(high['lam'])} "
                 f"holds the weights so small that it falls to {fmt_pct(high['val_mean'])} %; too much regularisation "
                 f"costs far more than too little for a network of this size. ")  # fmt: skip
    final = search["final"]
    c = compare(final["test_accuracy"], default["test_accuracy"])
    cycles = final["config"]["cycles"]
    text += (f"Retrained for {plural(cycles, 'cycle')}, the chosen value gives {pct(final['test_accuracy'])} on the test set "
             f"against {pct(default['test_accuracy'])} for the default network; ")  # fmt: skip
    text += (f"the {points(c, 2)} {'gained' if c.difference > 0 else 'lost'} come from two changes at once, the new "
             f"$\\lambda$ and the longer training, and the flat validation curve suggests most of it is the extra cycle."
             if c.real else "with both $\\lambda$ and the length changed, the two are not distinguishable.")  # fmt: skip
    return text


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
    gain = compare(best["test_accuracy"], base["test_accuracy"])
    text += (f"Altogether the best network ({best['step']}) trains {total:.0f} times as long as the baseline, "
             f"{best['train_seconds']['mean'] / 60:.1f} minutes per seed, and is {points(gain)} more accurate on the test set.")  # fmt: skip
    return text


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


def comparison(summary: Mapping) -> str:
    """Our headline numbers against the original report's single runs and published results."""
    from .training_curves import SEED_REPORT

    training = summary["training"]
    jpeg = summary["data"]["provenance"].startswith("JPEG-compressed")
    ours = {k: 100 * training[k]["test_accuracy"]["mean"] for k in SEED_REPORT}
    diffs = {k: ours[k] - SEED_REPORT[k] for k in SEED_REPORT}
    widest = max(SEED_REPORT, key=lambda k: training[k]["test_accuracy"]["std"])
    text = (f"The original report's single runs reached {SEED_REPORT['3layer_nobn']} % without and "
            f"{SEED_REPORT['3layer_bn']} % with BN at 3 layers, {SEED_REPORT['9layer_nobn']} % and "
            f"{SEED_REPORT['9layer_bn']} % at 9 layers; our means differ from them by "
            + ", ".join(f"{d:+.1f}" for d in diffs.values()) + " points in the same order. ")
    text += (f"A single run is one draw from a spread that we measured at up to "
             f"{100 * training[widest]['test_accuracy']['std']:.1f} points (standard deviation, "
             f"{widest.replace('layer_', '-layer network ').replace('nobn', 'without BN').replace('bn', 'with BN')}), ")
    text += ("and our images are a JPEG-compressed copy of CIFAR-10, not the official archive. "
             if jpeg else "and the original's data split is not known exactly. ")
    names = {"3layer_nobn": "3 layers without BN", "3layer_bn": "3 layers with BN",
             "9layer_nobn": "9 layers without BN", "9layer_bn": "9 layers with BN"}  # fmt: skip
    close = [names[k] for k, d in diffs.items() if abs(d) <= 2]
    far = [names[k] for k, d in diffs.items() if abs(d) > 2]
    if close:
        text += f"For {_join(close)} the two agree within two points, as these two sources of difference allow. "
    if far:
        text += (f"For {_join(far)} ours are further away than they explain; the original report does not state "
                 f"enough of its settings to find out why. ")  # fmt: skip
    shallow = compare(training["3layer_bn"]["test_accuracy"], training["3layer_nobn"]["test_accuracy"])
    if SEED_REPORT["3layer_bn"] < SEED_REPORT["3layer_nobn"]:
        text += ("The original report found BN slightly worse than no BN at 3 layers; with several seeds "
                 + ("we find the opposite, by a small but real margin. " if shallow.real and shallow.difference > 0 else
                    "the difference is within the spread of the seeds. " if not shallow.real else
                    "we find the same. "))  # fmt: skip
    best = summary["beyond"]["best"]["test_accuracy"]
    text += (f"Fully connected networks can go much further than the assignment's: Lin, Memisevic and Konda [5] "
             f"report about {PUBLISHED_FULLY_CONNECTED} % on CIFAR-10 with unsupervised pre-training and deformations "
             f"of the training images. Our best network, at {pct(best)}" + (" on the JPEG-compressed copy" if jpeg else "")
             + ", uses neither pre-training nor any data beyond the training split, and what limits it here is the "
             "training time that two CPU cores allow.")  # fmt: skip
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
    text += (" The errors concentrate among the animals, whose colour and rough shape a fully connected network sees "
             "without any notion of where in the image they are; vehicles, which differ in colour, background and "
             "silhouette, are easier." if _animals_worst(nets) else "")
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
