"""The original assignment report's numbers, quoted in ONE place, and the table that sets them beside ours.

Every constant below is copied from the original report (``report-to-reproduce.md``): its
gradient check of a 4-layer network (Figure 1), the test accuracies of its four single runs
(Figures 2-5), its lambda search (10 random values between 1e-3 and 1e-2, the best chosen on
the TEST set) and its sigma = 1e-4 runs (Figures 8 and 9, lambda 8.88e-3). This report's
counterparts come from ``results/summary.json``, so the table changes when the results do.
"""

from __future__ import annotations

from typing import Mapping

from ..typeset import fmt_power
from .tables import Column

#: largest relative error of the analytic gradient, 4-layer network (original report, Figure 1)
GRAD_ERROR_W = 1.5194166686578661e-09
GRAD_ERROR_B = 4.4997783276157223e-07
#: test accuracy (%) of the single runs of Figures 2-5 of the original report
NETWORKS = {"3layer_nobn": 52.38, "3layer_bn": 51.13, "9layer_nobn": 40.4, "9layer_bn": 47.81}
#: the lambda the original report chose (on the test set) and its test accuracy (%)
LAMBDA = 8.88e-3
LAMBDA_TEST = 52.53
#: test accuracy (%) with every weight N(0, 1e-4^2), lambda 8.88e-3, without and with BN (Figures 8 and 9)
SIGMA = 1e-4
SIGMA_NOBN_TEST = 43.98
SIGMA_BN_TEST = 48.81

#: how the four networks are named in the table
NETWORK_LABELS = {"3layer_nobn": "3 layers, no BN", "3layer_bn": "3 layers, BN",
                  "9layer_nobn": "9 layers, no BN", "9layer_bn": "9 layers, BN"}  # fmt: skip


def comparison_rows(summary: Mapping) -> list[dict]:
    """One row per number of the original report: what, the original's value, ours (mean over our seeds, or the
    gradient check's largest error in float64), how many seeds ours has, and why the two may differ."""
    rows = []
    by_param = summary.get("gradcheck", {}).get("max_by_param", {}).get("float64", {})
    for param, theirs in (("W", GRAD_ERROR_W), ("b", GRAD_ERROR_B)):
        if param in by_param:
            rows.append(_row(f"largest relative gradient error, {param}", theirs, by_param[param], None, "error",
                             "other networks and step h; both far below 1e-4"))  # fmt: skip
    training = summary.get("training", {})
    for key, theirs in NETWORKS.items():
        if key in training:
            stats = training[key]["test_accuracy"]
            rows.append(_row(f"test accuracy, {NETWORK_LABELS[key]}", theirs, _pct(stats), stats["n"], "accuracy",
                             "one run against a mean over seeds; data copy"))  # fmt: skip
    search = summary.get("lambda_search")
    if search:
        rows.append(_row("chosen lambda", LAMBDA, search["chosen_lambda"], None, "lambda",
                         "chosen on the test set there, on validation here"))  # fmt: skip
        final = search["final"]["test_accuracy"]
        rows.append(_row("test accuracy with the chosen lambda", LAMBDA_TEST, _pct(final), final["n"], "accuracy",
                         f"{search['final']['config']['cycles']} cycles here; selection on the test set there"))  # fmt: skip
    sensitivity = summary.get("sensitivity")
    if sensitivity:
        cells = {(c["sigma"], c["batch_norm"]): c["test_accuracy"] for c in sensitivity["grid"]}
        for bn, theirs in ((False, SIGMA_NOBN_TEST), (True, SIGMA_BN_TEST)):
            stats = cells.get((SIGMA, bn))
            if stats is not None:
                rows.append(_row(f"test accuracy, sigma 1e-4, {'BN' if bn else 'no BN'}", theirs, _pct(stats),
                                 stats["n"], "accuracy", f"lambda {sensitivity['lam']:.3g} here, {LAMBDA:g} there"))  # fmt: skip
    return rows


def _pct(stats: Mapping) -> float | None:
    return None if stats.get("mean") is None else 100 * stats["mean"]


def _row(what: str, theirs: float, ours: float | None, n: int | None, kind: str, why: str) -> dict:
    return {"what": what, "original": theirs, "ours": ours, "seeds": n, "kind": kind, "why": why}


def fmt_value(value: float | None, kind: str) -> str:
    """An accuracy as ``52.38`` (percent), an error or a lambda in powers of ten."""
    if value is None:
        return "-"
    return f"{value:.2f}" if kind == "accuracy" else fmt_power(value, digits=3 if kind == "lambda" else 2)


#: the columns of the comparison table (values in percent for accuracies)
COLUMNS = (
    Column("what", "quantity"),
    Column("original", "original report", row_fmt=lambda r: fmt_value(r["original"], r["kind"])),
    Column("ours", "this report", row_fmt=lambda r: fmt_value(r["ours"], r["kind"])),
    Column("seeds", "seeds", lambda n: str(n)),
    Column("why", "why they may differ"),
)

__all__ = ["GRAD_ERROR_W", "GRAD_ERROR_B", "NETWORKS", "LAMBDA", "LAMBDA_TEST", "SIGMA", "SIGMA_NOBN_TEST",
           "SIGMA_BN_TEST", "comparison_rows", "fmt_value", "COLUMNS"]  # fmt: skip
