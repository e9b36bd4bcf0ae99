"""Chapter 05, ``05_beyond.ipynb``: an ablation ladder from the assignment's 3-layer BN network towards the best network.

The ladder's ingredients (:func:`default_ladder`) and the tables and numbers the notebook and the
report show; how a ladder is climbed (cumulative rows, every ingredient judged by one paired rule,
the evaluation-only test-time flips row) is :mod:`.ladder`'s. The ladder is data, so the notebook
only runs it and shows its rows. The profile fixes the width, batch, length and threads per run of
the ladder (:class:`LadderSettings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..experiments import mean_std
from ..training import TrainConfig
from .chapter import Chapter
from .context import Context
from .ladder import Ingredient, Row, best_row, compute_seconds, judge, kept_rows, leave_one_out, run_ladder, with_test_flips
from .profiles import ChapterSettings, Profile, check_non_empty, check_positive
from .stats import summarize_runs
from .tables import Column, fmt_interval, fmt_pct

__all__ = ["Ingredient", "Row", "best_row", "compute_seconds", "kept_rows", "run_ladder", "with_test_flips", "judge",
           "LadderSettings", "SETTINGS", "CHAPTER", "planned_runs", "timing", "default_ladder", "table_rows",
           "dropped_rows", "precise_vs_running", "training_seconds", "describe_best", "summary_part", "fmt_gain",
           "TABLE_COLUMNS", "DROPPED_COLUMNS", "leave_one_out", "removals", "run_leave_one_out", "LEAVE_ONE_OUT_COLUMNS"]  # fmt: skip


@dataclass(frozen=True)
class LadderSettings(ChapterSettings):
    """What a profile fixes for the ladder: the width step's hidden sizes and batch, the longer step, threads per run."""

    ablation_wide: tuple[int, ...] = (512, 256)  # hidden sizes of the "width" step
    ablation_batch: int = 250  # mini-batch size from the "width" step on
    ablation_longer: int = 4  # the "longer training" step multiplies n_s by this
    ablation_threads: int = 2  # BLAS threads per run of the ladder
    ablation_seeds: tuple[int, ...] = (0, 1, 2)  # seeds of every row (a wide row costs a minute or more per seed)
    ablation_leave_one_out: bool = True  # the longest row without augmentation / ZCA, one seed each (2 long runs)

    def check(self) -> None:
        check_positive(self, "ablation_batch", "ablation_longer", "ablation_threads")
        check_non_empty(self, "ablation_wide", "ablation_seeds")


SETTINGS = {
    "full": LadderSettings(),  # the leave-one-out: two long runs, about 7 minutes (-p ablation_leave_one_out False)
    "quick": LadderSettings(ablation_seeds=(0, 1)),
    "smoke": LadderSettings(ablation_wide=(64, 32), ablation_longer=2, ablation_threads=1, ablation_seeds=(0, 1)),
}


def planned_runs(profile: Profile, settings: LadderSettings) -> int:
    """Training runs of one execution of the notebook: the baseline and every ingredient that trains, each
    with every seed (trials included: every ingredient is judged by the same paired rule)."""
    trained = sum(not i.evaluation_only for i in default_ladder())
    return (1 + trained) * len(settings.ablation_seeds)  # + the leave-one-out's runs: one per ingredient still there


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json (a row's ``runs``: the training runs it made)."""
    rows = [*section.get("rows", []), *section.get("dropped", []), *section.get("leave_one_out", [])]
    return {"training_seconds": section.get("compute_seconds", 0.0),
            "runs": sum(r.get("runs", r.get("seeds", 0)) for r in rows)}  # fmt: skip


CHAPTER = Chapter("05_beyond.ipynb", summary=("beyond",), settings=SETTINGS, planned_runs=planned_runs, timing=timing)

#: the names of the chapter's figure and tables
FIGURE, TABLE, DROPPED_TABLE, LEAVE_ONE_OUT_TABLE = "ablation_best_curves", "ablation", "ablation_dropped", "ablation_leave_one_out"

#: epsilon of the ladder's ZCA whitening, in units of the standardised pixels' variance (1)
ZCA_EPS = 1.0


def default_ladder(
    wide: Sequence[int] = (512, 256),
    wide_batch: int = 250,
    longer: int = 4,
    precise_samples: int = 10000,
    wide_lam: float = 1e-4,
    dropout: float = 0.1,
    max_shift: int = 3,
    adam_eta_max: float = 1e-3,
    zca: float = ZCA_EPS,
) -> list[Ingredient]:
    """The ingredients, in order: BN position, PreciseBN, width, dropout, augmentation, test-time flips,
    optimiser, ZCA whitening, three trials (a smaller ZCA epsilon, label smoothing, more dropout), length.

    Test-time flips are evaluation-only: they reuse the networks of the augmentation row.
    The width step also moves to mini-batches of ``wide_batch`` (a wide network computes faster
    per image in larger batches) and keeps the number of epochs by scaling ``n_s``.
    """

    def same_epochs(config: TrainConfig) -> int:
        return max(1, round(config.n_s * config.batch_size / wide_batch))

    return [
        Ingredient("BN after ReLU", "batch normalisation after the ReLU instead of before", {"bn_position": "after"}),
        Ingredient("PreciseBN", f"BN statistics recomputed on {precise_samples} training images after training",
                   {"precise_bn": precise_samples}),  # fmt: skip
        Ingredient("width", f"hidden layers {list(wide)}, lambda {wide_lam:g} (less L2 for a wider network), "
                   f"batches of {wide_batch} for the same number of epochs",
                   {"hidden": tuple(wide), "lam": wide_lam, "batch_size": wide_batch, "n_s": same_epochs}),  # fmt: skip
        Ingredient("dropout", f"inverted dropout {dropout:g} on the hidden layers", {"dropout": dropout}),
        Ingredient("augmentation", f"random horizontal flips and translations of up to {max_shift} pixels",
                   {"flip": True, "max_shift": max_shift}),  # fmt: skip
        Ingredient("test-time flips", "class probabilities averaged over each image and its mirror, on the networks "
                   "of the row above (the same training, evaluated again)", {"test_flips": True}, evaluation_only=True),  # fmt: skip
        Ingredient("Adam", f"Adam with the cyclical rate between 1e-5 and {adam_eta_max:g}",
                   {"optimizer": "adam", "eta_max": adam_eta_max}),  # fmt: skip
        Ingredient("ZCA whitening", f"inputs ZCA-whitened with epsilon {zca:g}, fitted on the training images",
                   {"zca": zca}),  # fmt: skip
        Ingredient("ZCA epsilon", f"epsilon {zca / 10:g} instead of {zca:g}: whiter inputs, more of their noise",
                   {"zca": zca / 10}, trial=True),  # fmt: skip
        Ingredient("label smoothing", "targets 0.9 one-hot + 0.1 / 10 in the training loss",
                   {"label_smoothing": 0.1}, trial=True),  # fmt: skip
        Ingredient("more dropout", f"dropout {2 * dropout:g} instead of {dropout:g}", {"dropout": 2 * dropout}, trial=True),
        Ingredient("longer training", f"cycles {longer}x longer", {"n_s": lambda c: longer * c.n_s}),
    ]


def removals() -> list[Ingredient]:
    """What the leave-one-out takes away from the last (longest) row: augmentation, then ZCA whitening."""
    return [
        Ingredient("augmentation", "no random flips or translations of the training images",
                   {"flip": False, "max_shift": 0}),  # fmt: skip
        Ingredient("ZCA whitening", "inputs standardised but not whitened", {"zca": 0.0}),
    ]


def run_leave_one_out(rows: Sequence[Row], seed: int, run: Any, ladder: Sequence[Ingredient] = ()) -> list[dict]:
    """:func:`~.ladder.leave_one_out` of the last kept row (the longest schedule) with :func:`removals`, one seed;
    an ingredient of ``ladder`` that the ladder dropped is added back to that row instead."""
    additions = {i.name: i for i in ladder if i.name in {r.name for r in rows if not r.kept}}
    return leave_one_out(kept_rows(rows)[-1], removals(), seed, run, additions)


def table_rows(rows: Sequence[Row]) -> list[dict]:
    """Plain rows for a CSV/Markdown table: accuracies as mean and std over seeds, the paired change of
    validation accuracy from the row above with its 95 % interval, and training time per seed (an
    evaluation-only row shows that of the networks it evaluates); ``runs``: the training runs behind the row."""
    best = best_row(rows)
    out = []
    for r in kept_rows(rows):
        val, val_sd, n = r.stats("val_accuracy")
        test, test_sd, _ = r.stats("test_accuracy")
        seconds = [x.get("train_seconds") or 0.0 for x in r.records]
        out.append({
            "ingredient": r.name, "description": r.description,
            "val_mean": val, "val_std": val_sd, **_gain_fields(r),
            "test_mean": test, "test_std": test_sd, "seeds": n,
            "train_seconds_per_seed": sum(seconds) / max(1, len(seconds)), "best": "yes" if r is best else "",
            "runs": r.runs, "trial": r.trial, "evaluation_only": r.evaluation_only,
        })  # fmt: skip
    return out


def _gain_fields(row: Row) -> dict:
    """``val_gain`` (paired mean), its interval ``val_gain_low`` .. ``val_gain_high`` and ``verdict`` (None for the baseline)."""
    gain = row.gain.to_dict() if row.gain is not None else {}
    return {"val_gain": gain.get("mean"), "val_gain_low": gain.get("low"), "val_gain_high": gain.get("high"),
            "verdict": gain.get("verdict")}  # fmt: skip


def dropped_rows(rows: Sequence[Row]) -> list[dict]:
    """The ingredients that were dropped (shown to hurt): what each tried, on which row, and its numbers over
    the seeds; ``val_gain`` with its interval: the paired difference from the row it was added to."""
    out = []
    for r in rows:
        if r.kept:
            continue
        val, val_sd, n = r.stats("val_accuracy")
        test, test_sd, _ = r.stats("test_accuracy")
        seconds = [x.get("train_seconds") or 0.0 for x in r.records]
        out.append({
            "ingredient": r.name, "description": r.description, "tried_on": r.tried_on,
            "val_mean": val, "val_std": val_sd, **_gain_fields(r),
            "test_mean": test, "test_std": test_sd, "seeds": n, "run_seeds": [x["seed"] for x in r.records],
            "runs": r.runs, "trial": r.trial,
            "train_seconds_per_seed": sum(seconds) / max(1, len(seconds)),
        })  # fmt: skip
    return out


def precise_vs_running(rows: Sequence[Row]) -> dict:
    """Validation and test accuracy (mean, std, n) of the first row with PreciseBN, with its
    recomputed statistics and with the running averages: the same weights, two kinds of statistics."""
    row = next(r for r in rows if r.config.precise_bn)
    sources = {"precise": "final", "running": "final_running_averages"}
    return {
        name: {split: dict(zip(("mean", "std", "n"), mean_std(r[key][split]["accuracy"] for r in row.records)))
               for split in ("val", "test")}
        for name, key in sources.items()
    }  # fmt: skip


def training_seconds(row: Row) -> dict:
    """Mean and largest training time (update steps) of a row's runs, per seed."""
    seconds = [r["train_seconds"] for r in row.records]
    return {"mean": sum(seconds) / len(seconds), "max": max(seconds)}


def describe_best(config: Mapping[str, Any], n_train: int) -> str:
    """One phrase with everything that defines a ladder configuration (a run record's ``config``)."""
    epochs = 2 * config["n_s"] * config["cycles"] * config["batch_size"] / n_train
    parts = [
        f"hidden layers {list(config['hidden'])}",
        f"BN {config.get('bn_position', 'before')} the ReLU" if config["batch_norm"] else "no BN",
        f"lambda {config['lam']:g}",
    ]
    if config.get("dropout"):
        parts.append(f"dropout {config['dropout']:g}")
    augmentation = ["random horizontal flips"] if config.get("flip") else []
    if config.get("max_shift"):
        augmentation.append(f"translations of up to {config['max_shift']} pixels")
    if augmentation:
        parts.append(" and ".join(augmentation))
    if config.get("zca"):
        parts.append(f"inputs ZCA-whitened with epsilon {config['zca']:g}")
    if config.get("label_smoothing"):
        parts.append(f"label smoothing {config['label_smoothing']:g}")
    if config.get("test_flips"):
        parts.append("predictions averaged over each image and its mirror")
    optimizer = "Adam" if config.get("optimizer") == "adam" else "mini-batch gradient descent"
    parts.append(f"{optimizer} with the cyclical rate between {config['eta_min']:g} and {config['eta_max']:g}")
    cycles = f"{config['cycles']} cycle{'s' if config['cycles'] != 1 else ''}"
    parts.append(f"batches of {config['batch_size']}, {cycles} of 2 x {config['n_s']} steps ({epochs:.0f} epochs)")
    if config.get("precise_bn"):
        parts.append(f"PreciseBN on {config['precise_bn']} images")
    return ", ".join(parts)


def summary_part(ctx: Context, rows: Sequence[Row], precise_samples: int, n_train: int,
                 left_out: Sequence[Mapping] = ()) -> dict:  # fmt: skip
    """The summary part: the section ``beyond``, the ladder's table, its dropped trials, its best row and the
    leave-one-out at the longest schedule (:func:`run_leave_one_out`, one seed each)."""
    best = best_row(rows)
    return {"beyond": {
        "leave_one_out": list(left_out), "leave_one_out_table": ctx.name(LEAVE_ONE_OUT_TABLE),
        "rows": table_rows(rows), "dropped": dropped_rows(rows), "seeds": list(ctx.settings.ablation_seeds),
        "figure": ctx.name(FIGURE), "table": ctx.name(TABLE), "dropped_table": ctx.name(DROPPED_TABLE),
        "best": {"step": best.name, "description": describe_best(best.records[0]["config"], n_train),
                 "train_seconds": training_seconds(best), "machine": best.records[0].get("machine"),
                 **summarize_runs(best.records)},
        "baseline": summarize_runs(rows[0].records), "precise_samples": precise_samples,
        "precise_vs_running": precise_vs_running(rows),
        # the training runs only (the test-time flips row trained nothing), the leave-one-out included
        "compute_seconds": compute_seconds(rows) + sum(r.get("wall_seconds") or 0.0 for r in left_out),
    }}  # fmt: skip


def fmt_gain(value: float | None) -> str:
    """A change of accuracy in points with its sign (``+1.25``); ``-`` when there is none (None or not finite)."""
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:+.2f}"


def _interval_cell(row: Mapping) -> str:
    return fmt_interval(row.get("val_gain_low"), row.get("val_gain_high"))


#: columns of the ablation table (CSV: raw values; Markdown: percentages)
TABLE_COLUMNS = [
    Column("ingredient", "step"),
    Column("val_mean", "val. %", fmt_pct),
    Column("val_std", "std", fmt_pct, seeds_key="seeds"),
    Column("val_gain", "gain", fmt_gain),
    Column("val_gain_low", "95 % interval", row_fmt=_interval_cell),
    Column("test_mean", "test %", fmt_pct),
    Column("test_std", "std ", fmt_pct, seeds_key="seeds"),
    Column("seeds", "seeds"),
    Column("train_seconds_per_seed", "s / seed", lambda v: f"{v:.0f}" if v >= 10 else f"{v:.1f}"),
    Column("best", "best"),
]

#: columns of the table of trials that were dropped
DROPPED_COLUMNS = [
    Column("ingredient", "ingredient"),
    Column("tried_on", "added to"),
    Column("val_mean", "val. %", fmt_pct),
    Column("val_std", "std", fmt_pct, seeds_key="seeds"),
    Column("val_gain", "gain", fmt_gain),
    Column("val_gain_low", "95 % interval", row_fmt=_interval_cell),
    Column("test_mean", "test %", fmt_pct),
    Column("seeds", "seeds"),
    Column("train_seconds_per_seed", "s / seed", lambda v: f"{v:.0f}" if v >= 10 else f"{v:.1f}"),
]

#: columns of the leave-one-out table (one seed each)
LEAVE_ONE_OUT_COLUMNS = [
    Column("ingredient", "ingredient"),
    Column("change", "change"),
    Column("val_with", "val. % with", fmt_pct),
    Column("val_without", "val. % without", fmt_pct),
    Column("val_buys", "it buys (val.)", fmt_gain),
    Column("test_with", "test % with", fmt_pct),
    Column("test_without", "test % without", fmt_pct),
    Column("test_buys", "it buys (test)", fmt_gain),
]
