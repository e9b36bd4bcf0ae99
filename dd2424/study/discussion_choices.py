"""The Discussion's paragraphs on the two choices of the assignment: the initial weights' scale and lambda.

Split from :mod:`.discussion` (which re-exports them); the same paired rule decides every claim.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .claims import paired_stats, pct
from .tables import fmt_pct, fmt_power, plural
from .wording import CHANCE, INPUT_DIMS, ci, join as _join, points, stuck


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
        text += ("With BN the scale of the weights no longer matters at the start: the normalisation divides each "
                 "layer's scores by their own standard deviation, whatever $\\sigma$ made it, and the backward pass "
                 "multiplies the gradient by the same factor. ")  # fmt: skip
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
    """What the lambda search found: how flat the optimum is (paired against the best value on the search seeds)
    and how its two ends differ; :func:`chosen_against_default` says what the choice gained over the default."""
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
    if low["val_mean"] is not None and high["val_mean"] is not None and high["val_mean"] < low["val_mean"]:
        text += (f"Away from it the two ends behave differently: with almost no penalty ($\\lambda$ = {fmt_power(low['lam'])}) "
                 f"the network still reaches {fmt_pct(low['val_mean'])} % on validation, while $\\lambda$ = "
                 f"{fmt_power(high['lam'])} holds the weights so small that it falls to {fmt_pct(high['val_mean'])} %; too "
                 f"much regularisation costs more than too little for a network of this size. ")  # fmt: skip
    elif low["val_mean"] is not None and high["val_mean"] is not None:
        text += (f"At the ends of the coarse grid the network reaches {fmt_pct(low['val_mean'])} % on validation with "
                 f"$\\lambda$ = {fmt_power(low['lam'])} and {fmt_pct(high['val_mean'])} % with {fmt_power(high['lam'])}. ")  # fmt: skip
    return text


def chosen_against_default(search: Mapping, default: Mapping) -> str:
    """Whether the chosen lambda beats the default on validation (paired over the search seeds), and what the
    retrained network's change on the test set can be credited to."""
    final, lam = search["final"], default["config"]["lam"]
    chosen = next((r for r in [*search["coarse"], *search["fine"]] if r["lam"] == search["chosen_lambda"]), None)
    text, beats = "", None
    if chosen is not None and chosen.get("val_values") and chosen["lam"] != lam:
        v = paired_stats({"seeds": chosen["seeds"], "values": chosen["val_values"]}, default["val_accuracy"])
        beats = None if v.verdict == "undetermined" else v.verdict == "higher"
        text += (f"On validation the chosen value and the default $\\lambda$ = {fmt_power(lam)} differ by "
                 f"{100 * v.mean:+.2f} points on the {plural(v.n, 'seed')} they share, too few for an interval. "
                 if beats is None else
                 f"On validation the chosen value beats the default $\\lambda$ = {fmt_power(lam)} by {points(v)} {ci(v)}. "
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
