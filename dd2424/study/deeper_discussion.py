"""The report's discussion of chapter 07, written from the summary sections ``deep`` and ``adaptive_bn``.

Each function returns one Markdown paragraph. Every claim follows the verdict of a paired
difference (:mod:`.paired`: real when its 95 % interval excludes zero), so a rerun whose numbers
flip rewrites the claims, not only the numbers.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .tables import fmt_interval, fmt_pct, plural

NARROW_STEPS = ("adam", "skip", "skip_nobn")
WIDE_STEPS = ("wide", "wide_skip", "wide_skip_nobn")


def points(value: float) -> str:
    """``1.23 points`` (absolute value)."""
    return f"{abs(100 * value):.2f} points"


def change(d: Mapping, what: str = "the mean validation accuracy") -> str:
    """A verb phrase for a paired difference: ``raises the mean validation accuracy by 1.23 points (95 % interval
    [+0.50, +1.96], 10 seeds)``; a difference whose interval holds zero is said to be within noise."""
    n, verdict = d.get("n") or 0, d.get("verdict")
    if not n or d.get("mean") is None:
        return f"cannot be compared on {what}: no seed ran on both sides"
    interval = f"95 % interval {fmt_interval(d.get('low'), d.get('high'))}, {plural(n, 'seed')}"
    if verdict == "higher":
        return f"raises {what} by {points(d['mean'])} ({interval})"
    if verdict == "lower":
        return f"lowers {what} by {points(d['mean'])} ({interval})"
    if verdict == "within noise":
        return f"changes {what} by {100 * d['mean']:+.2f} points, within noise ({interval}, which holds zero)"
    return f"changes {what} by {100 * d['mean']:+.2f} points on {plural(n, 'seed')}, too few to judge"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _verdict(deep: Mapping, key: str) -> str:
    return (deep["variants"][key]["gain"] or {}).get("val", {}).get("verdict", "undetermined")


def _gain(deep: Mapping, key: str) -> Mapping:
    return (deep["variants"][key]["gain"] or {}).get("val", {})


def seven_layer_steps(deep: Mapping) -> str:
    """What each step of the 7-layer variants buys over the one before it, narrow and wide."""
    v, s = deep["variants"], deep["settings"]
    sgd = v["sgd"]
    text = (f"The narrow 7-layer network ({s['deep_narrow']} units per hidden layer) with the assignment's settings "
            f"and BN reaches {fmt_pct(sgd['val_accuracy']['mean'])} % on validation "
            f"({fmt_pct(sgd['test_accuracy']['mean'])} % on test). ")  # fmt: skip
    text += " ".join(f"{_cap(v[k]['step'])} {change(_gain(deep, k))}." for k in NARROW_STEPS)
    text += (f" Going to {s['deep_wide']} units per layer {change(_gain(deep, 'wide'))} against the narrow network "
             f"with Adam; on the wide network adding skip connections {change(_gain(deep, 'wide_skip'))}, and removing "
             f"BN from the wide skip network {change(_gain(deep, 'wide_skip_nobn'))}.")  # fmt: skip
    return text


def seven_layer_claims(deep: Mapping) -> str:
    """What the steps show, claim by claim, each following its verdict; then the best variant by validation."""
    claims = []
    claims.append(_step_claim(deep, "adam", {
        "higher": "Adam with a decaying rate is a real improvement over gradient descent with the cyclical rate for "
                  "this deeper network",
        "lower": "Adam with a decaying rate does worse than the assignment's gradient descent with the cyclical rate",
        None: "Adam with a decaying rate buys nothing measurable over the assignment's cyclical gradient descent"}))  # fmt: skip
    skips = [_verdict(deep, k) for k in ("skip", "wide_skip")]
    if "higher" in skips:
        paid = [g for g, v in zip(("narrow", "wide"), skips) if v == "higher"]
        rest = [g for g, v in zip(("narrow", "wide"), skips) if v != "higher"]
        where = (f"on the {paid[0]} network, not measurably on the {rest[0]} one" if rest else "at both widths")
        claims.append(f"Skip connections pay {where}: the identity path gives the block's input and its gradient a "
                      f"way around the two layers of the block.")  # fmt: skip
    elif "lower" in skips:
        claims.append("Skip connections cost accuracy here: a block's inner layer has no BN, and adding the block's "
                      "input to its sum changes the scale of what the sum's BN normalises.")
    else:
        claims.append("With BN the skip connections buy nothing measurable at seven layers: BN already brings every "
                      "layer's scores back to one scale, so the identity path has little left to fix at this depth.")
    nobn = [_verdict(deep, k) for k in ("skip_nobn", "wide_skip_nobn")]
    if "lower" in nobn:
        claims.append("Skips do not replace BN: without it the skip networks lose accuracy, since the identity paths "
                      "carry the gradient through the blocks but leave the scale of every layer's scores to the "
                      "weights (in this engine a network without BN has no BN anywhere, on the sums nor on the "
                      "plain layers).")
    elif "higher" in nobn:
        claims.append("Without BN the skip networks do better still (in this engine no BN means none anywhere): "
                      "with the identity paths keeping the signal, BN's noise from the mini-batch statistics "
                      "costs more than its normalisation buys.")
    else:
        claims.append("With the skip connections, BN is no longer needed: the networks without any BN reach the same "
                      "accuracy within noise (in this engine no BN means none anywhere, on the sums nor on the plain "
                      "layers).")
    claims.append(_step_claim(deep, "wide", {
        "higher": "More hidden nodes pay", "lower": "More hidden nodes cost accuracy in this training budget",
        None: "More hidden nodes change nothing measurable over these seeds"}))  # fmt: skip
    best = deep["variants"][deep["best"]]
    claims.append(f"By mean validation accuracy the best variant is **{deep['best'].replace('_', ' ')}** "
                  f"({fmt_pct(best['val_accuracy']['mean'])} % on validation, "
                  f"{fmt_pct(best['test_accuracy']['mean'])} % on test); the test set chose nothing.")  # fmt: skip
    return " ".join(claims)


def _step_claim(deep: Mapping, key: str, said: Mapping[str | None, str]) -> str:
    """``said[verdict]`` for the validation verdict of step ``key`` (``None``: within noise), then what its paired
    change of TRAINING accuracy shows: a step that loses on validation but gains on the training images overfits;
    one that loses on both fits less in the same number of steps."""
    val = _verdict(deep, key)
    train = (deep["variants"][key]["gain"] or {}).get("train") or {}
    head = said.get(val if val in ("higher", "lower") else None)
    fit = train.get("verdict")
    if not train.get("n"):
        return head + "."
    what = "the mean training accuracy"
    if val == "lower" and fit == "higher":
        return f"{head}: it {change(train, what)}, so it fits the training images better and generalises worse."
    if val == "lower" and fit == "lower":
        return f"{head}, and not by overfitting: it also {change(train, what)}, so it fits the training images less in the same number of steps."
    if val == "lower":
        return (f"{head}; it {change(train, what)}, so what it loses is not shown to be a poorer fit of the training "
                f"images.")  # fmt: skip
    return f"{head}; on the training images it {change(train, what)}."


def _pair(deep: Mapping, a: str, b: str) -> Mapping:
    return next(p for p in deep["nine_layer"]["pairs"] if (p["a"], p["b"]) == (a, b))


def nine_layer_text(deep: Mapping) -> str:
    """Does a skip connection make depth pay? The 9-layer network with a skip, with and without BN, on test accuracy."""
    nets = deep["nine_layer"]["networks"]
    test = "the mean test accuracy"
    text = (f"The assignment's 9-layer network has one place for a skip connection: hidden layers 6 and 7, whose "
            f"block input, layer 5, has their width of 10 units; the wider layers below differ in width. With BN the "
            f"skip {change(_pair(deep, 'skip_bn', 'bn')['test'], test)}; without BN it "
            f"{change(_pair(deep, 'skip_nobn', 'plain')['test'], test)}, and against the BN network without a skip it "
            f"{change(_pair(deep, 'skip_nobn', 'bn')['test'], test)}. ")  # fmt: skip
    depth = _pair(deep, "skip_bn", "3layer_bn")["test"]
    if depth.get("verdict") == "lower":
        text += (f"Depth still does not pay: with a skip and BN the 9-layer network stays {points(depth['mean'])} below "
                 f"the 3-layer network with BN ({fmt_pct(nets['skip_bn']['test_accuracy']['mean'])} % against "
                 f"{fmt_pct(nets['3layer_bn']['test_accuracy']['mean'])} %): one skip over the last, narrowest layers "
                 f"leaves the bottleneck of 10 and 20 units below it, which no shortcut widens.")  # fmt: skip
    elif depth.get("verdict") == "higher":
        text += (f"With a skip and BN depth finally pays: the 9-layer network beats the 3-layer one with BN by "
                 f"{points(depth['mean'])}.")
    else:
        text += (f"With a skip and BN the 9-layer network draws level with the 3-layer one with BN (the paired "
                 f"difference, {100 * (depth.get('mean') or 0):+.2f} points, is within noise): depth neither pays nor "
                 f"costs any more.")  # fmt: skip
    return text


def _labels(section: Mapping, key: str, verdict: str) -> list[str]:
    return [section["networks"][k]["label"] for k in section["order"] if section["networks"][k][key].get("verdict") == verdict]


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _share(values: Sequence[float]) -> str:
    low, high = round(100 * min(values)), round(100 * max(values))
    return f"{low} %" if low == high else f"between {low} % and {high} %"


def adaptive_text(section: Mapping) -> str:
    """What Adaptive BN does on the ordinary and on the shifted test set, over the networks of the table."""
    n = len(section["order"])
    shift = section["shift"]
    text = (f"The shifted test set halves the contrast of every image, brightens it by {shift['brightness']:g} grey "
            f"levels and adds noise of standard deviation {shift['noise']:g} (pixels 0-255). ")  # fmt: skip
    parts = []
    for key, where in (("gain_test", "on the ordinary test set"), ("gain_shifted", "on the shifted one")):
        up, down = _labels(section, key, "higher"), _labels(section, key, "lower")
        if not up and not down:
            parts.append(f"{where} Adaptive BN changes the accuracy of none of the {n} networks beyond noise")
            continue
        said = [f"raises the accuracy of the {_join(up)}" if up else "", f"lowers that of the {_join(down)}" if down else ""]
        parts.append(f"{where} Adaptive BN {' and '.join(p for p in said if p)} (of {n} networks)")
    text += _cap(parts[0]) + "; " + parts[1] + ". "
    costs = [section["networks"][k]["shift_cost"] for k in section["order"]]
    gains = [section["networks"][k]["gain_shifted"] for k in section["order"]]
    hurt = [c for c in costs if c.get("verdict") == "lower"]
    if hurt:
        recovered = [g["mean"] / -c["mean"] for c, g in zip(costs, gains)
                     if c.get("verdict") == "lower" and g.get("mean") is not None]  # fmt: skip
        who = ("every network loses" if len(hurt) == n else
               f"{len(hurt)} of the {n} networks {'loses' if len(hurt) == 1 else 'lose'}")  # fmt: skip
        text += (f"With its running averages {who} accuracy on the shifted set (up to "
                 f"{points(min(c['mean'] for c in hurt))}), because its BN layers subtract the means of the training "
                 f"images from inputs whose means moved; Adaptive BN recomputes the means and variances on the "
                 f"shifted images themselves and recovers {_share(recovered)} of the loss. On the ordinary test set the "
                 f"statistics of the test "
                 f"images are those of the training images up to sampling noise, so there is little to recover.")  # fmt: skip
    else:
        text += "The shift costs no network measurable accuracy, so Adaptive BN has nothing to recover."
    return text


def precise_text(section: Mapping) -> str:
    """Running averages, PreciseBN and Adaptive BN on the same networks (``adaptive_bn.precise``)."""
    nets = [section["networks"][k] for k in section["order"]]
    text = (f"The BN networks of the training curves were also trained once more with the same seeds and PreciseBN after "
            f"training, their BN statistics recomputed with the final weights on {section['samples']:,} training images. ")  # fmt: skip
    if all(n["same_networks"] for n in nets):
        text += ("Training is deterministic for a seed, so these are the same networks (the same accuracy with the "
                 "running averages, to the last digit), and the three sources of BN statistics are compared on them. ")  # fmt: skip
    else:
        text += "Not every twin reproduced its network exactly, so the comparison is paired over seeds, not over identical weights. "
    for n in nets:
        t, s = n["test"], n["shifted"]
        text += (f"On the {n['label']}, PreciseBN in place of the running averages {change(t['precise_vs_running'], 'the test accuracy')} "
                 f"and {change(s['precise_vs_running'], 'the shifted accuracy')}; Adaptive BN in place of PreciseBN "
                 f"{change(s['adaptive_vs_precise'], 'the shifted accuracy')}. ")  # fmt: skip
    rescued = all(n["shifted"]["adaptive_vs_precise"].get("verdict") == "higher" for n in nets)
    precise_helps = [n for n in nets if n["shifted"]["precise_vs_running"].get("verdict") == "higher"]
    if rescued and not precise_helps:
        text += ("Under the shift, better estimates of the training images' statistics are not what is missing: only "
                 "statistics of the evaluated images recover the accuracy.")  # fmt: skip
    elif rescued:
        text += ("Under the shift PreciseBN recovers part of the loss, and statistics of the evaluated images recover "
                 "more.")  # fmt: skip
    else:
        text += "Under the shift, statistics of the evaluated images do not beat PreciseBN's on every network."
    return text
