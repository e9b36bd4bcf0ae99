"""The report's comparisons as paired differences over shared seeds, and the sentences that follow from them.

Every comparative sentence of the report rests on one rule (:mod:`.paired`): two settings
trained with the same seeds are compared seed by seed, and their difference is *real* when the
95 % Student-t confidence interval of the mean paired difference excludes zero, *within noise*
otherwise. :func:`comparisons` computes every comparison the report makes from the merged
summary (the per-seed values that each accuracy-stats dict holds), for ``comparisons`` in
``results/summary.json``; :func:`phrase` turns one into a sentence.
"""

from __future__ import annotations

from typing import Mapping

from .paired import PairedDifference, paired_difference
from .tables import fmt_pct


def per_seed(stats: Mapping) -> dict[int, float | None]:
    """``{seed: value}`` of an accuracy-stats dict (``seeds`` and ``values``, as :func:`~.stats.accuracy_stats`)."""
    return dict(zip(stats.get("seeds") or [], stats.get("values") or []))


def paired_stats(a: Mapping, b: Mapping) -> PairedDifference:
    """``a - b`` of two accuracy-stats dicts, paired over the seeds both have."""
    return paired_difference(per_seed(a), per_seed(b))


def sigma_key(sigma: float) -> str:
    """``1e-04``: a sigma in a comparison's name."""
    return f"{sigma:.0e}"


def comparisons(summary: Mapping) -> dict[str, dict]:
    """Every paired comparison the report makes, by name: ``a`` and ``b`` (what is compared), ``metric``,
    and the :class:`PairedDifference` (``mean``, ``low``, ``high``, ``n``, ``verdict``; fractions of 1)."""
    out: dict[str, dict] = {}

    def add(name: str, a: Mapping, b: Mapping, label_a: str, label_b: str, metric: str = "test_accuracy") -> None:
        out[name] = {"a": label_a, "b": label_b, "metric": metric, **paired_stats(a[metric], b[metric]).to_dict()}

    t = summary.get("training", {})
    for depth in ("3layer", "9layer"):
        if f"{depth}_bn" in t and f"{depth}_nobn" in t:
            add(f"bn_vs_nobn_{depth}", t[f"{depth}_bn"], t[f"{depth}_nobn"], f"{depth} with BN", f"{depth} without BN")
            add(f"bn_vs_nobn_{depth}_train", t[f"{depth}_bn"], t[f"{depth}_nobn"], f"{depth} with BN",
                f"{depth} without BN", "train_accuracy")  # fmt: skip
    for bn in ("nobn", "bn"):
        if f"3layer_{bn}" in t and f"9layer_{bn}" in t:
            add(f"3layer_vs_9layer_{bn}", t[f"3layer_{bn}"], t[f"9layer_{bn}"], f"3layer_{bn}", f"9layer_{bn}")
    z = summary.get("sensitivity")
    if z:
        cells = {(c["sigma"], c["batch_norm"]): c for c in z["grid"]}
        sigmas = sorted(z["sigmas"], reverse=True)
        for s in sigmas:
            if (s, True) in cells and (s, False) in cells:
                add(f"bn_vs_nobn_sigma_{sigma_key(s)}", cells[(s, True)], cells[(s, False)], f"sigma {s:g} with BN",
                    f"sigma {s:g} without BN")  # fmt: skip
        for bn, tag in ((True, "bn"), (False, "nobn")):
            for i, s in enumerate(sigmas):
                for r in sigmas[i + 1 :]:
                    if (s, bn) in cells and (r, bn) in cells:
                        add(f"sigma_{sigma_key(s)}_vs_{sigma_key(r)}_{tag}", cells[(s, bn)], cells[(r, bn)],
                            f"sigma {s:g} {tag}", f"sigma {r:g} {tag}")  # fmt: skip
        zero = z.get("lambda_zero")
        if zero and (zero["sigma"], False) in cells:
            add("lambda_zero_vs_lambda", zero, cells[(zero["sigma"], False)], f"sigma {zero['sigma']:g} without BN, lambda 0",
                f"sigma {zero['sigma']:g} without BN, lambda {z['lam']:.3g}")  # fmt: skip
    search = summary.get("lambda_search")
    if search and "3layer_bn" in t:
        chosen = chosen_row(search)
        if chosen is not None and chosen.get("val_values") is not None:
            values = {"seeds": chosen["seeds"], "values": chosen["val_values"]}
            out["lambda_chosen_vs_default_val"] = {
                "a": f"lambda {search['chosen_lambda']:.3g}", "b": "the default lambda", "metric": "val_accuracy",
                **paired_stats(values, t["3layer_bn"]["val_accuracy"]).to_dict()}  # fmt: skip
        add("lambda_final_vs_default", search["final"], t["3layer_bn"], "chosen lambda, retrained", "the default network")
    beyond = summary.get("beyond")
    if beyond and "best" in beyond and "baseline" in beyond:
        add("ladder_best_vs_baseline", beyond["best"], beyond["baseline"], "the ladder's best", "its baseline")
    return out


def chosen_row(search: Mapping) -> Mapping | None:
    """The search row of the chosen lambda (its stage's), or None."""
    rows = [*search.get("coarse", []), *search.get("fine", [])]
    return next((r for r in rows if r["lam"] == search["chosen_lambda"] and r["stage"] == search.get("chosen_stage", r["stage"])), None)


def points(value: float | None) -> str:
    """A difference of fractions in signed percentage points: ``+0.51``."""
    return "-" if value is None else f"{100 * value:+.2f}"


def interval(d: PairedDifference | Mapping) -> str:
    """``95 % confidence interval [-0.12, +0.64] points, paired over 10 seeds``."""
    d = d.to_dict() if isinstance(d, PairedDifference) else d
    seeds = f"{d['n']} seed" if d["n"] == 1 else f"{d['n']} seeds"
    return f"paired over {seeds}, 95 % confidence interval [{points(d['low'])}, {points(d['high'])}] points"


def phrase(d: PairedDifference | Mapping, name_a: str, name_b: str, what: str = "test accuracy") -> str:
    """One sentence on ``a - b``: a difference is claimed only when its paired 95 % interval excludes zero."""
    d = d.to_dict() if isinstance(d, PairedDifference) else d
    if d["n"] == 0:
        return f"The {what} of {name_a} and {name_b} cannot be compared: they share no seed with a finite accuracy."
    if d["verdict"] == "undetermined":
        return (f"{_cap(name_a)} differs from {name_b} by {points(d['mean'])} points in {what} on the one seed they "
                f"share; one seed gives no confidence interval, so no difference is claimed.")  # fmt: skip
    if d["verdict"] in ("higher", "lower"):
        return (f"{_cap(name_a)} has a {abs(100 * d['mean']):.2f} points {d['verdict']} {what} than {name_b} "
                f"({interval(d)}): the interval excludes zero, a real difference.")  # fmt: skip
    return (f"{_cap(name_a)} and {name_b} reach the same {what} within noise: the paired difference, "
            f"{points(d['mean'])} points, has a 95 % confidence interval [{points(d['low'])}, {points(d['high'])}] "
            f"over {d['n']} seeds that contains zero, so no difference is claimed.")  # fmt: skip


def pct(stats: Mapping) -> str:
    """``53.44 %`` from an accuracy-stats dict."""
    return f"{fmt_pct(stats['mean'])} %"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
