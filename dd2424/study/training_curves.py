"""Chapter 02, ``02_training_curves.ipynb``: loss, cost and accuracy along training, several seeds, one architecture per step.

The pipeline runs the notebook once per entry of :data:`TRAINING_CURVES` (the 3-layer and
9-layer networks, without and with BN; the registry's steps), each writing the summary part
``02_training_curves-<name>`` under ``training.<name>``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..training import TrainConfig
from .context import Context
from .profiles import Profile
from .tables import Column, fmt_pct, fmt_yes

#: the four runs of the notebook (seed Figures 2-5): name, hidden sizes, BN
TRAINING_CURVES: tuple[tuple[str, tuple[int, ...], bool], ...] = (
    ("3layer_nobn", (50, 50), False),
    ("3layer_bn", (50, 50), True),
    ("9layer_nobn", (50, 30, 20, 20, 10, 10, 10, 10), False),
    ("9layer_bn", (50, 30, 20, 20, 10, 10, 10, 10), True),
)

#: test accuracies (%) of the seed report's single runs (seed/report-to-reproduce.md), quoted by the report
SEED_REPORT = {"3layer_nobn": 52.38, "3layer_bn": 51.13, "9layer_nobn": 40.4, "9layer_bn": 47.81}


def steps() -> list[tuple[str, dict]]:
    """The pipeline's executions of the notebook: (executed name, parameters), one per :data:`TRAINING_CURVES` entry."""
    return [(f"02_training_curves-{name}", {"name": name, "hidden": list(hidden), "batch_norm": bn})
            for name, hidden, bn in TRAINING_CURVES]  # fmt: skip


def planned_runs(profile: Profile) -> int:
    """Training runs of one execution of the notebook: one per seed."""
    return len(profile.seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json (``section`` is ``training``)."""
    return {"training_seconds": sum(t.get("compute_seconds", 0.0) for t in section.values()),
            "runs": sum(len(t.get("seeds", [])) for t in section.values())}  # fmt: skip


def training_curve_configs(ctx: Context, hidden: Sequence[int], batch_norm: bool, init: str | float, lam: float,
                           seeds: Sequence[int] | None = None, cycles: int | None = None) -> list[TrainConfig]:  # fmt: skip
    """One configuration per seed (02_training_curves)."""
    seeds = ctx.profile.seeds if seeds is None else seeds
    cycles = ctx.profile.cycles if cycles is None else cycles
    return [ctx.config(hidden=tuple(hidden), batch_norm=batch_norm, init=init, lam=lam, cycles=cycles, seed=s)
            for s in seeds]  # fmt: skip


def curves_name(hidden: Sequence[int], batch_norm: bool) -> str:
    """The default name of a training-curves configuration, e.g. ``3layer_bn``."""
    return f"{len(hidden) + 1}layer_{'bn' if batch_norm else 'nobn'}"



def training_summary_rows(summary: Mapping) -> list[dict]:
    """One row per training-curves configuration (for the report's test-accuracy table)."""
    rows = []
    for name, _, _ in TRAINING_CURVES:
        t = summary.get("training", {}).get(name)
        if t is None:
            continue
        c = t["config"]
        rows.append({
            "name": name, "layers": len(c["hidden"]) + 1, "hidden": c["hidden"], "batch_norm": c["batch_norm"],
            "n": t["test_accuracy"]["n"], "test_mean": t["test_accuracy"]["mean"], "test_std": t["test_accuracy"]["std"],
            "val_mean": t["val_accuracy"]["mean"], "val_std": t["val_accuracy"]["std"],
            "test": t["test_accuracy"], "val": t["val_accuracy"], "diverged": t["diverged"],
        })  # fmt: skip
    return rows



TRAINING_SUMMARY_COLUMNS = (
    Column("layers", "layers"),
    Column("batch_norm", "BN", fmt_yes),
    Column("n", "seeds"),
    Column("val_mean", "validation acc. (%)", fmt_pct),
    Column("val_std", "std", fmt_pct, seeds_key="n"),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std ", fmt_pct, seeds_key="n"),
    Column("diverged", "diverged"),
)

