"""The mechanics of an ablation ladder (chapter 05, :mod:`.beyond`): ingredients, rows, trials, evaluation-only rows.

Starting from a baseline, each :class:`Ingredient` is added on top of the previous row (a
cumulative ablation: every row has all the ingredients above it), so each row shows what its
ingredient adds to everything before it. Every ingredient is judged by ONE rule, trials and
evaluation-only rows included: it is trained with every seed and compared, seed by seed (the
same initialisation and order of mini-batches), with the row it is added to; the paired
difference of validation accuracy gets its 95 % Student-t interval (:mod:`.paired`), and the
ingredient stays unless that interval lies entirely below zero, that is unless it is shown to
hurt. With few seeds the interval is wide, so an ingredient within noise stays: a regulariser
such as augmentation may cost accuracy in a short run and pay off in a long one. A dropped
ingredient leaves the ladder going on from the row it was added to. A *trial* is an ingredient
that replaces a setting of the rows above (a smaller ZCA epsilon, more dropout) or adds an
option the assignment does not mention; it is only labelled as such. The best configuration is
the row with the highest mean VALIDATION accuracy over the seeds; the test accuracy is
reported, never used.

A *leave-one-out* (:func:`leave_one_out`) goes the other way at the end of the ladder: it trains
the last (longest) row without one ingredient, one seed, and sets it beside that row's run of the
same seed, so the reader sees what an ingredient measured at the short schedule still buys at the
long one; an ingredient the ladder dropped is added back instead (a regulariser may hurt at the
short schedule and pay at the long one). One seed gives no interval: these rows are labelled as
single-seed measurements.

An *evaluation-only* ingredient (test-time flips) changes how the networks are evaluated, not how
they are trained: its row trains nothing and takes the networks of the row below, evaluated with
flips, from their run records (``final_test_flips``). Its records are not training runs and
count in no number of runs or compute time. When the row below was trained without flips (the
ingredient that adds them was dropped), it makes no row.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError
from ..experiments import mean_std
from ..training import TrainConfig
from .paired import PairedDifference, by_seed, paired_difference
from .stats import total_seconds


@dataclass(frozen=True)
class Ingredient:
    """One step of the ladder: a name, what it does, and the configuration changes it makes.

    A change may be a value or a function of the current configuration (e.g. longer cycles).
    A ``trial`` replaces a setting of the rows above or adds an optional one; it is judged as
    every other ingredient (:func:`judge`) and only labelled differently.
    An ``evaluation_only`` ingredient turns on test-time flips (the one evaluation that run
    records hold besides their own, ``final_test_flips``) and is evaluated on the networks of the
    row below instead of training its own.
    """

    name: str
    description: str
    changes: Mapping[str, Any]
    trial: bool = False
    evaluation_only: bool = False

    def __post_init__(self) -> None:
        if self.evaluation_only and (self.trial or dict(self.changes) != {"test_flips": True}):
            raise ConfigError(f"evaluation-only ingredient {self.name!r} must change test_flips to True and nothing "
                              f"else, and cannot be a trial; it changes {dict(self.changes)}")  # fmt: skip

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with this ingredient's changes."""
        values = {k: (v(config) if callable(v) else v) for k, v in self.changes.items()}
        return dataclasses.replace(config, **values)


@dataclass
class Row:
    """A row of the ablation table: the ingredient added, its configuration and its runs."""

    name: str
    description: str
    config: TrainConfig
    records: list[dict]
    kept: bool = True
    tried_on: str = ""  # the row it was added to (empty for the baseline)
    trial: bool = False
    evaluation_only: bool = False  # records derived from the row below's runs: no training of its own
    gain: PairedDifference | None = None  # validation accuracy minus the row below's, paired by seed

    def stats(self, key: str) -> tuple[float, float, int]:
        """Mean, std and count of the finite values of ``key`` over the row's records."""
        return mean_std(r.get(key) for r in self.records)

    @property
    def runs(self) -> int:
        """The training runs behind this row (none for an evaluation-only row)."""
        return 0 if self.evaluation_only else len(self.records)


def run_ladder(
    baseline: TrainConfig,
    ladder: Sequence[Ingredient],
    seeds: Sequence[int],
    run: Callable[[list[TrainConfig], str], list[dict]],
    note: Callable[[str], None] | None = None,
) -> list[Row]:
    """Climb the ladder: every ingredient on top of the previous kept row, each configuration with every seed.

    ``run(configs, label)`` trains (or reuses) a list of configurations and returns their records.
    Every row is judged by :func:`judge`; an evaluation-only row calls no ``run``: its records are
    derived from the row below's (:func:`with_test_flips`), and ``note``, if given, is told so.
    """
    rows = [Row("baseline", "the assignment's 3-layer network with BN", baseline, run(_with_seeds(baseline, seeds), "baseline"))]
    for ingredient in ladder:
        below = kept_rows(rows)[-1]
        if ingredient.evaluation_only and not all(map(_evaluated_with_flips, below.records)):
            if note is not None:  # the ingredient that trains with flips (augmentation) was dropped
                note(f"{ingredient.name}: no row: the networks of the {below.name} row were trained without flips")
            continue
        row = Row(ingredient.name, ingredient.description, ingredient.apply(below.config), [], trial=ingredient.trial,
                  evaluation_only=ingredient.evaluation_only, tried_on=below.name)  # fmt: skip
        if ingredient.evaluation_only:
            row.records = [with_test_flips(r) for r in below.records]
            if note is not None:
                note(f"{row.name}: the {len(row.records)} networks of the {below.name} row evaluated again, no training")
        else:
            row.records = run(_with_seeds(row.config, seeds), row.name)
        judge(row, below)
        rows.append(row)
    return rows


def judge(row: Row, below: Row) -> None:
    """The ladder's one rule: ``row`` stays unless its paired validation gain over ``below`` is shown
    to be negative (95 % interval entirely below zero); a row with a diverged run never stays."""
    row.gain = paired_difference(by_seed(row.records), by_seed(below.records))
    diverged = any(not _finite(r.get("val_accuracy")) for r in row.records)
    row.kept = not diverged and row.gain.n > 0 and row.gain.verdict != "lower"


def _with_seeds(config: TrainConfig, seeds: Sequence[int]) -> list[TrainConfig]:
    """``config`` once per seed."""
    return [dataclasses.replace(config, seed=s) for s in seeds]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def with_test_flips(record: Mapping) -> dict:
    """The record of the same network evaluated with test-time flips, from its run record (no training).

    Its configuration gets ``test_flips``; ``final``, the accuracies and the test-set analysis
    become those with flips (``final_test_flips``, ``analysis_test_flips``); the history and
    ``train_seconds`` stay (the same training); ``derived_from`` names the saved run, and
    ``wall_seconds`` is 0: the record took no training of its own. A diverged run stays diverged.
    Raises :class:`ConfigError` when the record has no ``final_test_flips`` (a run trained
    without flips, or saved by older code).
    """
    if not _evaluated_with_flips(record):
        raise ConfigError(f"run {record.get('cached_as') or record['config']} has no final_test_flips, which an "
                          "evaluation-only step (test-time flips) needs: put that step after one that trains with flips "
                          "(augmentation), and retrain runs saved by older code")  # fmt: skip
    out = {k: v for k, v in record.items() if k not in ("cached_as", "final_test_flips", "analysis_test_flips")}
    out.update(config={**record["config"], "test_flips": True}, derived_from=record.get("cached_as"),
               wall_seconds=0.0, eval_seconds=0.0, final_running_averages=None,
               adaptive_bn=None)  # fmt: skip
    if not record.get("diverged"):
        out["final"] = record["final_test_flips"]
        out["analysis"] = {**(record.get("analysis") or {}), **(record.get("analysis_test_flips") or {})}
        for split in ("train", "val", "test"):
            out[f"{split}_accuracy"] = out["final"][split]["accuracy"]
    return out


def _evaluated_with_flips(record: Mapping) -> bool:
    """Whether a run record holds its network's metrics with test-time flips (a diverged run needs none)."""
    return bool(record.get("diverged") or record.get("final_test_flips"))


def kept_rows(rows: Sequence[Row]) -> list[Row]:
    """The rows of the ladder proper: every ingredient except the trials that were dropped."""
    return [r for r in rows if r.kept]


def best_row(rows: Sequence[Row]) -> Row:
    """The kept row with the highest mean validation accuracy (the earliest of equals)."""
    return max(kept_rows(rows), key=lambda r: r.stats("val_accuracy")[0])


def compute_seconds(rows: Sequence[Row]) -> float:
    """The summed wall time of the ladder's training runs (evaluation-only rows trained nothing)."""
    return sum(total_seconds(r.records) for r in rows if not r.evaluation_only)


def paired_gain(row: Row, below: Row) -> float | None:
    """Mean over ``row``'s seeds of its validation accuracy minus ``below``'s on the same seed (finite pairs only)."""
    diff = paired_difference(by_seed(row.records), by_seed(below.records))
    return diff.mean if diff.n else None


def leave_one_out(row: Row, removals: Sequence[Ingredient], seed: int,
                  run: Callable[[list[TrainConfig], str], list[dict]],
                  additions: Mapping[str, Ingredient] | None = None) -> list[dict]:  # fmt: skip
    """``row``'s configuration trained once more without each of ``removals`` (an :class:`Ingredient` whose changes
    undo one), with ``seed`` only, beside ``row``'s own run of that seed.

    Each result: what was left out, the accuracies with and without it, ``val_buys`` / ``test_buys``
    (with minus without: what the ingredient adds at this row's schedule), ``seeds`` 1 and the run's
    time and file. A removal that leaves the configuration as it is (an ingredient the ladder dropped)
    is turned around when ``additions`` has an ingredient of its name: the row is trained once more
    WITH it (``change`` "added back"), so the long schedule shows what a step dropped at the short one
    would buy; without one it is left out. Raises :class:`ConfigError` when ``row`` has no run of ``seed``.
    """
    full = next((r for r in row.records if r["seed"] == seed), None)
    if full is None:
        raise ConfigError(f"the {row.name} row has no run of seed {seed}; leave one out with one of "
                          f"{[r['seed'] for r in row.records]}")  # fmt: skip
    out = []
    for removal in removals:
        config = dataclasses.replace(removal.apply(row.config), seed=seed)
        added = config == dataclasses.replace(row.config, seed=seed)  # the ladder dropped this ingredient
        if added:
            addition = (additions or {}).get(removal.name)
            if addition is None:
                continue  # nothing to leave out, and nothing to add back
            config = dataclasses.replace(addition.apply(row.config), seed=seed)
        record = run([config], f"{row.name} {'with' if added else 'without'} {removal.name}")[0]
        with_it, without = (record, full) if added else (full, record)
        out.append({
            "ingredient": removal.name, "change": "added back" if added else "left out",
            "description": (addition if added else removal).description, "row": row.name, "seed": seed, "seeds": 1,
            "val_with": with_it.get("val_accuracy"), "val_without": without.get("val_accuracy"),
            "test_with": with_it.get("test_accuracy"), "test_without": without.get("test_accuracy"),
            "val_buys": _minus(with_it.get("val_accuracy"), without.get("val_accuracy")),
            "test_buys": _minus(with_it.get("test_accuracy"), without.get("test_accuracy")),
            "train_seconds": record.get("train_seconds"), "wall_seconds": record.get("wall_seconds") or 0.0,
            "run_file": record.get("cached_as"), "diverged": bool(record.get("diverged")),
        })  # fmt: skip
    return out


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if _finite(a) and _finite(b) else None
