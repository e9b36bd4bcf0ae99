"""Chapter 03, ``03_lambda_search.ipynb``: the L2 regularisation lambda of the 3-layer BN network, chosen on validation.

A coarse stage over decades, a fine stage of log-uniform values between the neighbours of the
best coarse value, then the chosen lambda retrained for more cycles. Chapter 04 reads the chosen
value back from this chapter's summary part (:func:`chosen_lambda`).
"""

from __future__ import annotations

import json
import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..training import TrainConfig
from .context import Context
from .paths import Paths
from .profiles import Profile
from .stats import accuracy_stats
from .tables import Column, fmt_lam, fmt_pct

#: the summary part (and executed notebook) of the pipeline's run of this chapter
PART = "03_lambda_search"


def planned_runs(profile: Profile) -> int:
    """Training runs of one execution of the notebook: coarse and fine values x search seeds, and the final retraining."""
    p = profile
    return (len(p.lambda_coarse) + p.lambda_fine_n) * len(p.lambda_search_seeds) + len(p.final_seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json."""
    runs = sum(len(r.get("seeds", [])) for r in section.get("coarse", []) + section.get("fine", []))
    runs += len(section.get("final", {}).get("seeds", []))
    return {"training_seconds": section.get("compute_seconds", 0.0), "runs": runs}


def lambda_configs(ctx: Context, lams: Iterable[float], seeds: Sequence[int], cycles: int | None = None) -> list[TrainConfig]:
    """3-layer [50, 50] BN configurations, one per (lambda, seed), lambda-major."""
    cycles = ctx.profile.cycles if cycles is None else cycles
    return [ctx.config(hidden=(50, 50), batch_norm=True, lam=float(lam), cycles=cycles, seed=s)
            for lam in lams for s in seeds]  # fmt: skip


def lambda_rows(lams: Sequence[float], records: Sequence[dict], stage: str) -> list[dict]:
    """Group ``records`` (from :func:`lambda_configs`, lambda-major) into one row per lambda."""
    per = len(records) // len(lams)
    rows = []
    for i, lam in enumerate(lams):
        group = records[i * per : (i + 1) * per]
        val, test = accuracy_stats(group, "val_accuracy"), accuracy_stats(group, "test_accuracy")
        rows.append({
            "stage": stage, "lam": float(lam), "seeds": val["seeds"], "n": val["n"],
            "val_mean": val["mean"], "val_std": val["std"] if val["n"] > 1 else None,
            "test_mean": test["mean"], "test_std": test["std"] if test["n"] > 1 else None,
            "diverged": sum(bool(r.get("diverged")) for r in group),
        })  # fmt: skip
    return rows


def best_lambda_row(rows: Sequence[dict]) -> dict:
    """The row with the highest mean VALIDATION accuracy (test accuracy is never looked at)."""
    finite = [r for r in rows if r["val_mean"] is not None and math.isfinite(r["val_mean"])]
    if not finite:
        raise ConfigError("every lambda diverged: no value can be chosen")
    return max(finite, key=lambda r: r["val_mean"])


def fine_interval(coarse_rows: Sequence[dict]) -> tuple[float, float]:
    """The interval between the neighbours of the best coarse lambda (on validation), log scale.

    At an end of the coarse grid, the missing neighbour is mirrored by the same log step, so
    the interval always has the best value inside it.
    """
    lams = sorted(r["lam"] for r in coarse_rows)
    i = lams.index(best_lambda_row(coarse_rows)["lam"])
    lo = lams[i - 1] if i > 0 else float(f"{lams[i] ** 2 / lams[i + 1]:.6g}")
    hi = lams[i + 1] if i + 1 < len(lams) else float(f"{lams[i] ** 2 / lams[i - 1]:.6g}")
    return float(lo), float(hi)


def fine_lambdas(interval: tuple[float, float], n: int, seed: int) -> list[float]:
    """``n`` log-uniform values in ``interval`` (3 significant digits, sorted, reproducible from ``seed``)."""
    lo, hi = np.log10(interval[0]), np.log10(interval[1])
    draws = 10 ** np.random.default_rng(seed).uniform(lo, hi, n)
    return sorted(float(f"{v:.3g}") for v in draws)



def chosen_lambda(paths: Paths, profile: str, default: float) -> tuple[float, str]:
    """The lambda chosen by 03_lambda_search in ``paths`` for ``profile``, or ``default``; and where it came from."""
    part = paths.summary_parts / f"{PART}.json"
    try:
        found = json.loads(part.read_text())
        if found.get("profile") == profile:
            lam = float(found["lambda_search"]["chosen_lambda"])
            return lam, f"the value chosen by the lambda search ({part.name})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return default, f"the default {default:g} (no lambda search result of the {profile} profile in {paths.summary_parts})"



LAMBDA_COLUMNS = (
    Column("stage", "stage"),
    Column("lam", "lambda", fmt_lam),
    Column("n", "seeds"),
    Column("val_mean", "validation acc. (%)", fmt_pct),
    Column("val_std", "std", fmt_pct, seeds_key="n"),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std ", fmt_pct, seeds_key="n"),
)
