"""Statistics over seeds: accuracy stats, mean curves, and paired comparisons of two configurations (:mod:`.claims`).

Every configuration of the report is trained with several seeds; these functions turn the run
records (:func:`dd2424.experiments.run_many`) into the numbers and sentences the report quotes.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..experiments import mean_std
from .claims import paired_stats, phrase
from .paired import PairedDifference

__all__ = ["mean_std", "accuracy_stats", "summarize_runs", "mean_curves", "seed_rows", "total_seconds", "compare",
           "phrase_comparison", "CURVE_KEYS"]  # fmt: skip

CURVE_KEYS = ("train_loss", "val_loss", "train_cost", "val_cost", "train_accuracy", "val_accuracy")


def accuracy_stats(records: Sequence[dict], key: str = "test_accuracy") -> dict:
    """Mean, std (ddof 1; 0 for one value) and count over runs of ``key``, with the per-seed values (None = diverged)."""
    values = [r.get(key) for r in records]
    mean, std, n = mean_std(values)
    return {"mean": mean, "std": std, "n": n, "values": values, "seeds": [r["seed"] for r in records]}


def summarize_runs(records: Sequence[dict]) -> dict:
    """The numbers a report quotes about one configuration run with several seeds.

    ``run_files``: each seed's saved run; for a record derived from a saved run without training
    (an evaluation-only ladder row, ``derived_from``), that run's file.
    """
    config = dict(records[0]["config"])
    config.pop("seed")
    return {
        "config": config,
        "seeds": [r["seed"] for r in records],
        "test_accuracy": accuracy_stats(records, "test_accuracy"),
        "val_accuracy": accuracy_stats(records, "val_accuracy"),
        "train_accuracy": accuracy_stats(records, "train_accuracy"),
        "diverged": sum(bool(r.get("diverged")) for r in records),
        "run_files": [r.get("cached_as") or r.get("derived_from") for r in records],
        "compute_seconds": sum(r.get("wall_seconds") or 0.0 for r in records),
    }


def mean_curves(records: Sequence[dict], keys: Sequence[str] = CURVE_KEYS) -> dict:
    """Per update step: mean, std, min and max over the runs of each history key.

    Runs are aligned by step; a run that diverged contributes up to its last record. Returns
    ``{"step": [...], "n": [...runs per step], key: {"mean", "std", "min", "max"}}`` (lists).
    """
    steps = sorted({s for r in records for s in r["history"]["step"]})
    index = {s: i for i, s in enumerate(steps)}
    out: dict[str, Any] = {"step": steps}
    counts = np.zeros(len(steps), dtype=int)
    for r in records:
        for s in r["history"]["step"]:
            counts[index[s]] += 1
    out["n"] = counts.tolist()
    for key in keys:
        table = np.full((len(records), len(steps)), np.nan)
        for i, r in enumerate(records):
            for s, v in zip(r["history"]["step"], r["history"][key]):
                table[i, index[s]] = np.nan if v is None else v
        with warnings.catch_warnings():  # steps where every run had diverged give NaN, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            out[key] = {
                "mean": np.nanmean(table, axis=0).tolist(),
                "std": (np.nanstd(table, axis=0, ddof=1) if len(records) > 1 else np.zeros(len(steps))).tolist(),
                "min": np.nanmin(table, axis=0).tolist(),
                "max": np.nanmax(table, axis=0).tolist(),
            }
    return out


def seed_rows(records: Sequence[dict]) -> list[dict]:
    """One table row per run: seed and its train/validation/test accuracy (:data:`~.tables.SEED_COLUMNS`)."""
    return [
        {"seed": r["seed"], "train_accuracy": r.get("train_accuracy"), "val_accuracy": r.get("val_accuracy"),
         "test_accuracy": r.get("test_accuracy"), "diverged": bool(r.get("diverged")),
         "seconds": r.get("wall_seconds"), "run_file": r.get("cached_as")}
        for r in records
    ]  # fmt: skip


def total_seconds(records: Iterable[dict]) -> float:
    """The summed wall time of runs (as measured when each was computed)."""
    return float(sum(r.get("wall_seconds") or 0.0 for r in records))


def compare(a: Mapping, b: Mapping) -> PairedDifference:
    """``a - b`` of two :func:`accuracy_stats` dicts, paired over the seeds both ran (:mod:`.paired`): ``real`` when
    its 95 % confidence interval excludes zero."""
    return paired_stats(a, b)


def phrase_comparison(a: Mapping, b: Mapping, name_a: str, name_b: str, what: str = "test accuracy") -> str:
    """One sentence saying how ``a`` compares with ``b``, claiming a difference only when its paired interval excludes zero."""
    return phrase(compare(a, b), name_a, name_b, what)
