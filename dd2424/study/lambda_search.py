"""Chapter 03, ``03_lambda_search.ipynb``: the L2 regularisation lambda of the 3-layer BN network, chosen on validation.

A coarse stage over decades, a fine stage between the neighbours of the best coarse value
(log-uniform random values and an evenly spaced log grid, so no wide gap is left unsampled), then the chosen lambda retrained for more cycles. Chapter 04 reads the chosen
value back from this chapter's summary part (:func:`chosen_lambda`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..training import TrainConfig
from .chapter import Chapter
from .context import Context
from .paths import Paths
from .profiles import ChapterSettings, Profile, check_non_empty, check_positive
from .stats import accuracy_stats, total_seconds
from .tables import Column, fmt_lam, fmt_pct


@dataclass(frozen=True)
class LambdaSettings(ChapterSettings):
    """What a profile fixes for the lambda search: its stages, their seeds, and the retraining of the choice."""

    lambda_coarse: tuple[float, ...]  # coarse stage values
    lambda_search_seeds: tuple[int, ...]  # seeds of every searched value
    lambda_fine_n: int  # how many random values the fine stage draws
    lambda_fine_seed: int  # the random generator's seed of the fine stage
    final_cycles: int  # cycles of the retraining with the chosen lambda
    final_seeds: tuple[int, ...]  # seeds of that retraining
    lambda_fine_grid: int = 0  # how many evenly spaced (log scale) values the fine stage adds to the random ones

    def check(self) -> None:
        check_positive(self, "final_cycles")
        if not isinstance(self.lambda_fine_grid, (int, np.integer)) or self.lambda_fine_grid < 0:
            raise ConfigError(f"lambda_fine_grid must be an integer >= 0, got {self.lambda_fine_grid!r}")
        if not isinstance(self.lambda_fine_n, (int, np.integer)) or self.lambda_fine_n < 0:
            raise ConfigError(f"lambda_fine_n must be an integer >= 0, got {self.lambda_fine_n!r}")
        check_non_empty(self, "lambda_search_seeds", "final_seeds", "lambda_coarse")
        if len(self.lambda_coarse) < 2 or any(not (isinstance(v, (int, float)) and v > 0) for v in self.lambda_coarse):
            raise ConfigError(f"lambda_coarse needs at least two positive values, got {list(self.lambda_coarse)}")


_DECADES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
SETTINGS = {
    "full": LambdaSettings(_DECADES, lambda_search_seeds=(0, 1, 2), lambda_fine_n=6, lambda_fine_seed=0, final_cycles=3,
                           final_seeds=tuple(range(10)), lambda_fine_grid=6),
    "quick": LambdaSettings(_DECADES, lambda_search_seeds=(0,), lambda_fine_n=4, lambda_fine_seed=0, final_cycles=3,
                            final_seeds=(0, 1)),
    "smoke": LambdaSettings((1e-3, 1e-2, 1e-1), lambda_search_seeds=(0,), lambda_fine_n=2, lambda_fine_seed=0,
                            final_cycles=2, final_seeds=(0, 1)),
}  # fmt: skip


def planned_runs(profile: Profile, settings: LambdaSettings) -> int:
    """Training runs of one execution of the notebook: coarse and fine values x search seeds, and the final retraining."""
    s = settings
    return (len(s.lambda_coarse) + s.lambda_fine_n + s.lambda_fine_grid) * len(s.lambda_search_seeds) + len(s.final_seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json."""
    runs = sum(len(r.get("seeds", [])) for r in section.get("coarse", []) + section.get("fine", []))
    runs += len(section.get("final", {}).get("seeds", []))
    return {"training_seconds": section.get("compute_seconds", 0.0), "runs": runs}


CHAPTER = Chapter("03_lambda_search.ipynb", summary=("lambda_search",), settings=SETTINGS, planned_runs=planned_runs,
                  timing=timing)  # fmt: skip

#: the names of the chapter's figure and tables
FIGURE, TABLE, FINAL_TABLE = "lambda_search", "lambda_search", "lambda_final"


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
            "stage": stage, "lam": float(lam), "seeds": val["seeds"], "n": val["n"], "val_values": val["values"],
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


def fine_grid(interval: tuple[float, float], n: int) -> list[float]:
    """``n`` values evenly spaced on a log scale strictly inside ``interval`` (3 significant digits)."""
    lo, hi = np.log10(interval[0]), np.log10(interval[1])
    return [float(f"{10 ** (lo + (hi - lo) * i / (n + 1)):.3g}") for i in range(1, n + 1)]


def fine_stage(interval: tuple[float, float], n_random: int, seed: int, n_grid: int, exclude: Iterable[float] = ()) -> list[float]:
    """The fine stage's values: :func:`fine_lambdas` and :func:`fine_grid`, sorted, without repeats or the values
    in ``exclude`` (the coarse stage's, already trained). The random values stay the same whatever ``n_grid``."""
    taken = {float(v) for v in exclude}
    return sorted({v for v in fine_lambdas(interval, n_random, seed) + fine_grid(interval, n_grid) if v not in taken})


def summary_part(ctx: Context, coarse: Sequence[dict], fine: Sequence[dict], chosen: Mapping, final: Mapping,
                 records: Sequence[dict]) -> dict:  # fmt: skip
    """The summary part: the section ``lambda_search`` with both stages' rows, the choice and its retraining.

    ``final``: the retraining's :func:`~.stats.summarize_runs`; ``records``: every run of the
    chapter (both stages and the retraining), whose times make its compute time.
    """
    return {"lambda_search": {
        "coarse": list(coarse), "fine": list(fine), "seeds": list(ctx.settings.lambda_search_seeds),
        "best_coarse": best_lambda_row(coarse)["lam"], "fine_interval": list(fine_interval(coarse)),
        "chosen_lambda": chosen["lam"], "chosen_stage": chosen["stage"],
        "chosen_val_accuracy": {"mean": chosen["val_mean"], "std": chosen["val_std"], "n": chosen["n"]},
        "final": dict(final), "figure": ctx.name(FIGURE), "table": ctx.name(TABLE), "final_table": ctx.name(FINAL_TABLE),
        "compute_seconds": total_seconds(records),
    }}  # fmt: skip


def chosen_lambda(paths: Paths, profile: str, default: float) -> tuple[float, str]:
    """The lambda chosen by 03_lambda_search in ``paths`` for ``profile``, or ``default``; and where it came from."""
    part = paths.summary_parts / f"{CHAPTER.stem}.json"
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
