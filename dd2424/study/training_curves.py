"""Chapter 02, ``02_training_curves.ipynb``: loss, cost and accuracy along training, several seeds, without and with BN.

The pipeline runs the notebook once per depth of :data:`DEPTHS` (the 3-layer and 9-layer
networks; the registry's steps). Each execution trains the network of that depth without and
with BN (the entries of :data:`TRAINING_CURVES`), draws both in ONE figure whose rows share
their y axes (``curves_<depth>``, so the comparison the report makes is read off the same
scale), and writes the summary part ``02_training_curves-<depth>`` with one entry per network,
``training.<depth>_nobn`` and ``training.<depth>_bn``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..training import TrainConfig
from . import original
from .chapter import Chapter, Step
from .context import Context
from .profiles import Profile
from .tables import Column, fmt_pct, fmt_yes

#: the networks compared without and with BN, one notebook execution (and figure) each: name, hidden sizes
DEPTHS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("3layer", (50, 50)),
    ("9layer", (50, 30, 20, 20, 10, 10, 10, 10)),
)

#: BN settings of one execution, in the order of the figure's rows and of the runs
BATCH_NORM = (False, True)

#: the four networks (the original report's Figures 2-5): name, hidden sizes, BN; each depth without BN first
TRAINING_CURVES: tuple[tuple[str, tuple[int, ...], bool], ...] = tuple(
    (f"{depth}_{'bn' if bn else 'nobn'}", hidden, bn) for depth, hidden in DEPTHS for bn in BATCH_NORM
)

#: test accuracies (%) of the single runs of the original assignment report this one reproduces (:mod:`.original`)
SEED_REPORT = original.NETWORKS


def part_name(depth: str) -> str:
    """The executed notebook and summary part of one depth, e.g. ``02_training_curves-3layer``."""
    return f"02_training_curves-{depth}"


def part_of(values: Mapping[str, Any]) -> str:
    """The summary part of an execution with the notebook parameters ``values`` (its depth's :func:`part_name`)."""
    return part_name(values.get("name") or depth_name(values["hidden"]))


def planned_runs(profile: Profile, settings: None) -> int:
    """Training runs of one execution of the notebook: both networks (without and with BN), one per seed each."""
    return len(BATCH_NORM) * len(profile.seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json (``section`` is ``training``)."""
    return {"training_seconds": sum(t.get("compute_seconds", 0.0) for t in section.values()),
            "runs": sum(len(t.get("seeds", [])) for t in section.values())}  # fmt: skip


#: the pipeline runs the notebook once per depth of :data:`DEPTHS`, each writing its own summary part
CHAPTER = Chapter(
    "02_training_curves.ipynb", summary=("training",), planned_runs=planned_runs, timing=timing, part_of=part_of,
    steps=tuple(Step(part_name(depth), {"name": depth, "hidden": list(hidden)}) for depth, hidden in DEPTHS),
)  # fmt: skip


def training_curve_configs(ctx: Context, hidden: Sequence[int], batch_norm: bool, init: str | float, lam: float,
                           seeds: Sequence[int] | None = None, cycles: int | None = None) -> list[TrainConfig]:  # fmt: skip
    """One configuration per seed (02_training_curves); every run records its per-layer gradient norms along
    training (``record_grad_norms``), which the report draws for the deep network without and with BN."""
    seeds = ctx.profile.seeds if seeds is None else seeds
    cycles = ctx.profile.cycles if cycles is None else cycles
    return [ctx.config(hidden=tuple(hidden), batch_norm=batch_norm, init=init, lam=lam, cycles=cycles, seed=s,
                       record_grad_norms=True) for s in seeds]  # fmt: skip


def depth_name(hidden: Sequence[int]) -> str:
    """The default name of a depth, e.g. ``3layer`` (names its figure, its part and, with ``_nobn``/``_bn``, its networks)."""
    return f"{len(hidden) + 1}layer"


def network_name(depth: str, batch_norm: bool) -> str:
    """The name of one network of a depth, e.g. ``3layer_bn`` (its summary entry and table ``training_<name>``)."""
    return f"{depth}_{'bn' if batch_norm else 'nobn'}"


def curves_name(hidden: Sequence[int], batch_norm: bool) -> str:
    """The default name of a training-curves configuration, e.g. ``3layer_bn``."""
    return network_name(depth_name(hidden), batch_norm)


def pair_configs(ctx: Context, hidden: Sequence[int], init: str | float, lam: float) -> list[TrainConfig]:
    """The configurations of one execution: without BN, then with BN, each one per seed (as :data:`BATCH_NORM`)."""
    return [c for bn in BATCH_NORM for c in training_curve_configs(ctx, hidden, bn, init, lam)]


def split_by_batch_norm(records: Sequence[dict]) -> dict[bool, list[dict]]:
    """The records of :func:`pair_configs` grouped by their configuration's ``batch_norm``, seeds in order."""
    return {bn: [r for r in records if bool(r["config"]["batch_norm"]) == bn] for bn in BATCH_NORM}


def figure_name(depth: str) -> str:
    """The pair figure of a depth, e.g. ``curves_3layer`` (both networks, y axes shared per column)."""
    return f"curves_{depth}"


def grad_figure_name(depth: str) -> str:
    """The per-layer gradient-norm figure of a depth, e.g. ``grad_norms_9layer`` (without and with BN)."""
    return f"grad_norms_{depth}"


def table_name(network: str) -> str:
    """The per-seed table of one network, e.g. ``training_3layer_bn``."""
    return f"training_{network}"


def summary_part(ctx: Context, depth: str, results: Mapping[bool, Mapping],
                 grad_norms: Mapping[bool, Mapping | None] | None = None) -> dict:  # fmt: skip
    """The summary part of one execution: ``training.<depth>_nobn`` and ``_bn`` (``results`` by BN, each
    :func:`~.stats.summarize_runs`), each naming the shared pair figure and its own table, with its per-layer
    gradient norms (``grad_norms``: :func:`~.gradient_scale.summarize` by BN, and the figure ``grad_figure``)."""
    grad_norms = grad_norms or {}
    return {"training": {network_name(depth, bn): {**results[bn], "figure": ctx.name(figure_name(depth)),
                                                   "table": ctx.name(table_name(network_name(depth, bn))),
                                                   "grad_norms": grad_norms.get(bn),
                                                   "grad_figure": ctx.name(grad_figure_name(depth))
                                                   if grad_norms.get(bn) else None}
                         for bn in BATCH_NORM}}  # fmt: skip


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

