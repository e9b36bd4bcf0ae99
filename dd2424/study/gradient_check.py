"""Chapter 01, ``01_gradient_check.ipynb``: analytic against numerical gradients, every depth, BN on/off, lambda 0 and > 0.

Each case (network, lambda, reference) is saved in ``results/gradcheck/`` under a hash of its
inputs, the code version and ``gradcheck.py``, and reused while they are unchanged. No training
runs. The profile fixes the checked networks and the input (:class:`GradcheckSettings`).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..experiments import code_version, write_json_atomic
from ..files import json_ready
from .chapter import Chapter
from .context import Context
from .profiles import ChapterSettings, check_non_empty, check_positive
from .tables import Column, fmt_num, fmt_sci, fmt_yes

#: the module whose source enters each saved check's name (a change to it recomputes the checks)
GRADCHECK_SOURCE = Path(__file__).resolve().parents[1] / "gradcheck.py"


@dataclass(frozen=True)
class GradcheckSettings(ChapterSettings):
    """What a profile fixes for the gradient check: the networks' hidden sizes, the input, the positive lambda."""

    gradcheck_hidden: tuple[tuple[int, ...], ...]
    gradcheck_inputs: int  # input dimensions used (the first ones of the training images)
    gradcheck_samples: int  # mini-batch size (the first training images)
    gradcheck_lam: float  # the positive lambda checked besides zero

    def check(self) -> None:
        check_positive(self, "gradcheck_inputs", "gradcheck_samples")
        check_non_empty(self, "gradcheck_hidden")


_NETWORKS = ((20,), (20, 20), (20, 20, 20))
SETTINGS = {
    "full": GradcheckSettings(_NETWORKS, gradcheck_inputs=15, gradcheck_samples=20, gradcheck_lam=0.01),
    "quick": GradcheckSettings(_NETWORKS, gradcheck_inputs=15, gradcheck_samples=20, gradcheck_lam=0.01),
    "smoke": GradcheckSettings(((8,), (8, 8), (8, 8, 8)), gradcheck_inputs=10, gradcheck_samples=8, gradcheck_lam=0.01),
}  # fmt: skip


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json."""
    return {"gradcheck_seconds": section.get("compute_seconds", 0.0)}


CHAPTER = Chapter("01_gradient_check.ipynb", summary=("gradcheck",), settings=SETTINGS, timing=timing)


def gradient_check_cases(settings: GradcheckSettings) -> list[dict]:
    """Every network the gradient check covers: each depth, BN on/off, lambda 0 and > 0, both references."""
    return [
        {"hidden": list(h), "layers": len(h) + 1, "batch_norm": bn, "lam": lam, "reference": ref}
        for h in settings.gradcheck_hidden for bn in (True, False) for lam in (0.0, settings.gradcheck_lam)
        for ref in ("extended", "float64")
    ]  # fmt: skip


def run_gradient_checks(ctx: Context, seed: int = 0) -> list[dict]:
    """Run (or reuse, from ``results/gradcheck/``) every case of :func:`gradient_check_cases`.

    The input is the first ``gradcheck_samples`` training images, first ``gradcheck_inputs``
    dimensions. Returns one row per case, layer and parameter (the case's keys plus
    ``layer, param, max, mean, max_abs_grad``), with ``seconds`` per case.
    """
    s = ctx.settings
    X = np.asarray(ctx.data.train.X[: s.gradcheck_samples, : s.gradcheck_inputs], dtype=np.float64)
    y = np.asarray(ctx.data.train.y[: s.gradcheck_samples])
    cases = gradient_check_cases(s)
    gc_source = GRADCHECK_SOURCE.read_bytes()
    todo, results = [], [None] * len(cases)
    for i, case in enumerate(cases):
        blob = json.dumps({"case": case, "X": hashlib.sha256(X.tobytes()).hexdigest(), "y": y.tolist(), "seed": seed,
                           "code": code_version(), "gradcheck": hashlib.sha256(gc_source).hexdigest()}, sort_keys=True)  # fmt: skip
        path = ctx.paths.gradcheck / f"{case['layers']}layer_{hashlib.sha256(blob.encode()).hexdigest()[:16]}.json"
        if not ctx.force and path.exists():
            try:
                results[i] = json.loads(path.read_text())
                continue
            except (OSError, json.JSONDecodeError):
                pass
        todo.append((i, case, path))
    if todo:
        if ctx.jobs > 1 and len(todo) > 1:
            from joblib import Parallel, delayed

            computed = Parallel(n_jobs=ctx.jobs)(delayed(_one_gradient_check)(c, X, y, seed) for _, c, _ in todo)
        else:
            computed = [_one_gradient_check(c, X, y, seed) for _, c, _ in todo]
        for (i, _, path), record in zip(todo, computed):
            write_json_atomic(path, record)
            results[i] = record
    rows = []
    for record in results:
        for entry in record["entries"]:
            rows.append({**record["case"], **entry, "seconds": record["seconds"]})
    return rows


def _one_gradient_check(case: dict, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    from ..gradcheck import DEFAULT_H, entries_as_dicts, gradcheck_network

    tic = time.perf_counter()
    entries = gradcheck_network(case["hidden"], batch_norm=case["batch_norm"], lam=case["lam"], X=X, y=y, seed=seed,
                                reference=case["reference"])  # fmt: skip
    return json_ready({"case": case, "h": DEFAULT_H[case["reference"]], "seconds": time.perf_counter() - tic,
                   "entries": entries_as_dicts(entries)})  # fmt: skip


def gradcheck_maxima(rows: Sequence[dict]) -> list[dict]:
    """One row per network (depth, BN, lambda): the largest relative error for each reference."""
    out: dict[tuple, dict] = {}
    for r in rows:
        key = (r["layers"], r["batch_norm"], r["lam"])
        row = out.setdefault(key, {"layers": r["layers"], "hidden": r["hidden"], "batch_norm": r["batch_norm"],
                                   "lam": r["lam"], "max_extended": 0.0, "max_float64": 0.0})  # fmt: skip
        col = f"max_{r['reference']}"
        row[col] = max(row[col], r["max"])
    return list(out.values())


def gradcheck_layer_table(rows: Sequence[dict], layers: int, batch_norm: bool, lam: float) -> list[dict]:
    """Per layer and parameter of one network: max and mean relative error for both references."""
    out: dict[tuple, dict] = {}
    for r in rows:
        if (r["layers"], r["batch_norm"], r["lam"]) != (layers, batch_norm, lam):
            continue
        row = out.setdefault((r["layer"], r["param"]), {"lam": lam, "layer": r["layer"], "param": r["param"]})
        row[f"max_{r['reference']}"] = r["max"]
        row[f"mean_{r['reference']}"] = r["mean"]
        row["max_abs_grad"] = r["max_abs_grad"]
    return list(out.values())


def gradcheck_summary(rows: Sequence[dict], settings: GradcheckSettings) -> dict:
    """The gradient-check numbers for summary.json (the section ``gradcheck`` but for its table's name and depth)."""
    from ..gradcheck import DEFAULT_H

    by_param: dict[str, dict[str, float]] = {}
    for r in rows:
        ref = by_param.setdefault(r["reference"], {})
        ref[r["param"]] = max(ref.get(r["param"], 0.0), r["max"])
    return {
        "max": {ref: max(vals.values()) for ref, vals in by_param.items()},
        "max_by_param": by_param,
        "h": dict(DEFAULT_H),
        "networks": gradcheck_maxima(rows),
        "n_inputs": settings.gradcheck_inputs,
        "n_samples": settings.gradcheck_samples,
        "lam_positive": settings.gradcheck_lam,
        "longdouble_eps": float(np.finfo(np.longdouble).eps),
        "compute_seconds": sum(_case_seconds(rows)),
    }


def _case_seconds(rows: Sequence[dict]) -> list[float]:
    seen, out = set(), []
    for r in rows:
        key = (tuple(r["hidden"]), r["batch_norm"], r["lam"], r["reference"])
        if key not in seen:
            seen.add(key)
            out.append(r["seconds"])
    return out


def deepest_layers(settings: GradcheckSettings) -> int:
    """The number of layers of the deepest checked network (its per-layer table is the report's)."""
    return max(len(h) for h in settings.gradcheck_hidden) + 1


def summary_part(ctx: Context, summary: Mapping, deepest: int) -> dict:
    """The summary part: the section ``gradcheck``, :func:`gradcheck_summary` with the per-layer table's name and depth."""
    return {"gradcheck": {**summary, "layers_table": ctx.name(LAYERS_TABLE), "deepest": deepest}}


def gradcheck_text(summary: Mapping) -> str:
    """Markdown: the maxima of both references and why the float64 one is limited by its rounding."""
    mx, h = summary["max"], summary["h"]
    eps64 = float(np.finfo(np.float64).eps)
    floor = eps64 * math.log(10) / (2 * h["float64"])
    return (
        f"The largest relative error over every network, layer and parameter is **{fmt_num(mx['extended'])}** with the "
        f"extended-precision reference ($h$ = {fmt_num(h['extended'])}), the main result, and {fmt_num(mx['float64'])} "
        f"with the usual float64 reference ($h$ = {fmt_num(h['float64'])}). The second number says more about the "
        f"reference than about the gradients. In float64 the cost $J$ carries a relative rounding error of about "
        f"$\\epsilon$ = {fmt_num(eps64)}, which the centred difference divides by $2h$, so the numerical gradient has an "
        f"absolute error of about $\\epsilon J / 2h$ = {fmt_num(floor, 0)} ($J = \\ln 10$ at initialisation). Divided by "
        f"$|g_a| + |g_n|$, this floor alone reads as a relative error of about {fmt_num(floor / 2e-5, 0)} for an entry "
        f"whose gradient is $10^{{-5}}$, even when the analytic gradient is exact, and a weight matrix has entries of "
        f"every size down to zero. Evaluated in extended precision (numpy's longdouble, $\\epsilon$ = "
        f"{fmt_num(summary['longdouble_eps'])} on the machine that ran the check), the same cost lowers that floor, "
        f"which is why the check relies on the extended reference."
    )


#: the per-layer table of the deepest network with BN
LAYERS_TABLE = "gradcheck_layers"

GRADCHECK_MAXIMA_COLUMNS = (
    Column("layers", "layers"),
    Column("hidden", "hidden", lambda v: str(list(v))),
    Column("batch_norm", "BN", fmt_yes),
    Column("lam", "lambda", lambda v: f"{v:g}"),
    Column("max_extended", "max rel. error (extended ref.)", fmt_sci),
    Column("max_float64", "max rel. error (float64 ref.)", fmt_sci),
)
GRADCHECK_LAYER_COLUMNS = (
    Column("lam", "lambda", lambda v: f"{v:g}"),
    Column("layer", "layer"),
    Column("param", "param"),
    Column("max_extended", "max (extended)", fmt_sci),
    Column("mean_extended", "mean (extended)", fmt_sci),
    Column("max_float64", "max (float64)", fmt_sci),
    Column("mean_float64", "mean (float64)", fmt_sci),
    Column("max_abs_grad", "max abs. gradient", fmt_sci),
)
GRADCHECK_ENTRY_COLUMNS = (
    Column("layers", "layers"),
    Column("hidden", "hidden", lambda v: str(list(v))),
    Column("batch_norm", "BN", fmt_yes),
    Column("lam", "lambda", lambda v: f"{v:g}"),
    Column("reference", "reference"),
    Column("layer", "layer"),
    Column("param", "param"),
    Column("max", "max rel. error", fmt_sci),
    Column("mean", "mean rel. error", fmt_sci),
    Column("max_abs_grad", "max abs. gradient", fmt_sci),
)
