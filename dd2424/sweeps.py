"""The report's experiments: sweep definitions, per-profile settings, aggregation and summary.

The notebooks in ``notebooks/`` are thin: they build a :class:`Context` from their parameters,
ask this module for the configurations of an experiment, run them (``Context.run``, which
reuses saved runs, see :func:`dd2424.experiments.run_many`), and hand the aggregated numbers
to :mod:`dd2424.plotting` and to the tables and summary files written here.

Profiles (:data:`PROFILES`): ``full`` is the real experiment on all the data, ``quick`` a
reduced one that takes a few minutes, ``smoke`` a seconds-long check used by the tests.

Files under an output folder (:class:`Paths`): ``results/runs/*.json`` (one per training run),
``results/gradcheck/*.json`` (one per gradient check), ``results/tables/<name>.csv|md``,
``results/summary/<part>.json`` (what each executed notebook found) merged into
``results/summary.json`` by :func:`build_summary`, and ``figures/<name>.pdf|png``.

Accuracies are fractions (0..1) in every JSON file; tables and text show percentages.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import hashlib
import io
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import __version__
from .errors import ConfigError
from .experiments import (
    DataSpec,
    code_version,
    data_identity,
    git_commit,
    load_data,
    mean_std,
    run_many,
    write_json_atomic,
)
from .files import json_ready as _plain
from .files import write_atomic as write_text_atomic
from .training import TrainConfig

# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """Every setting of the report's experiments that a profile fixes.

    ``None`` split sizes mean the whole split. ``seeds`` are used by the headline
    configurations (training curves, sensitivity grid); the lambda search has its own seeds.
    """

    name: str
    n_train: int | None
    n_val: int | None
    n_test: int | None
    n_s: int
    cycles: int
    seeds: tuple[int, ...]
    gradcheck_hidden: tuple[tuple[int, ...], ...]
    gradcheck_inputs: int
    gradcheck_samples: int
    gradcheck_lam: float
    lambda_coarse: tuple[float, ...]
    lambda_search_seeds: tuple[int, ...]
    lambda_fine_n: int
    lambda_fine_seed: int
    final_cycles: int
    final_seeds: tuple[int, ...]
    sigmas: tuple[float, ...]
    batch_size: int = 100
    records_per_cycle: int = 10
    default_lam: float = 0.005
    ablation_wide: tuple[int, ...] = (1024, 512)
    ablation_batch: int = 250
    ablation_longer: int = 6
    ablation_threads: int = 2

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))


_DECADES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
_SIGMAS = (1e-1, 1e-3, 1e-4)

PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full", n_train=None, n_val=None, n_test=None, n_s=2250, cycles=2, seeds=(0, 1, 2),
        gradcheck_hidden=((20,), (20, 20), (20, 20, 20)), gradcheck_inputs=15, gradcheck_samples=20,
        gradcheck_lam=0.01, lambda_coarse=_DECADES, lambda_search_seeds=(0, 1), lambda_fine_n=6,
        lambda_fine_seed=0, final_cycles=3, final_seeds=(0, 1, 2), sigmas=_SIGMAS,
    ),
    "quick": Profile(
        name="quick", n_train=10000, n_val=None, n_test=None, n_s=500, cycles=2, seeds=(0, 1),
        gradcheck_hidden=((20,), (20, 20), (20, 20, 20)), gradcheck_inputs=15, gradcheck_samples=20,
        gradcheck_lam=0.01, lambda_coarse=_DECADES, lambda_search_seeds=(0,), lambda_fine_n=4,
        lambda_fine_seed=0, final_cycles=3, final_seeds=(0, 1), sigmas=_SIGMAS,
    ),
    "smoke": Profile(
        name="smoke", n_train=1000, n_val=200, n_test=500, n_s=20, cycles=1, seeds=(0, 1),
        gradcheck_hidden=((8,), (8, 8), (8, 8, 8)), gradcheck_inputs=10, gradcheck_samples=8,
        gradcheck_lam=0.01, lambda_coarse=(1e-3, 1e-2, 1e-1), lambda_search_seeds=(0,), lambda_fine_n=2,
        lambda_fine_seed=0, final_cycles=2, final_seeds=(0, 1), sigmas=_SIGMAS,
        ablation_wide=(64, 32), ablation_longer=2, ablation_threads=1,
    ),
}  # fmt: skip

#: the four runs of ``02_training_curves.ipynb`` (seed Figures 2-5): name, hidden sizes, BN
TRAINING_CURVES: tuple[tuple[str, tuple[int, ...], bool], ...] = (
    ("3layer_nobn", (50, 50), False),
    ("3layer_bn", (50, 50), True),
    ("9layer_nobn", (50, 30, 20, 20, 10, 10, 10, 10), False),
    ("9layer_bn", (50, 30, 20, 20, 10, 10, 10, 10), True),
)


#: test accuracies (%) of the seed report's single runs (seed/report-to-reproduce.md), quoted by the report
SEED_REPORT = {"3layer_nobn": 52.38, "3layer_bn": 51.13, "9layer_nobn": 40.4, "9layer_bn": 47.81}


def get_profile(name: str, **overrides: Any) -> Profile:
    """The profile ``name`` with the non-``None`` ``overrides`` applied (lists become tuples)."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    fields = {f.name for f in dataclasses.fields(Profile)}
    unknown = set(overrides) - fields
    if unknown:
        raise ConfigError(f"unknown profile setting(s) {sorted(unknown)}; known: {sorted(fields - {'name'})}")
    changes = {k: _tuples(v) for k, v in overrides.items() if v is not None}
    profile = dataclasses.replace(PROFILES[name], **changes)
    _check_profile(profile)
    return profile


def _check_profile(p: Profile) -> None:
    def positive(name, value):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    for name in ("n_s", "cycles", "final_cycles", "gradcheck_inputs", "gradcheck_samples", "batch_size", "records_per_cycle",
                 "ablation_batch", "ablation_longer", "ablation_threads"):
        positive(name, getattr(p, name))
    if not isinstance(p.lambda_fine_n, (int, np.integer)) or p.lambda_fine_n < 0:
        raise ConfigError(f"lambda_fine_n must be an integer >= 0, got {p.lambda_fine_n!r}")
    for name in ("seeds", "lambda_search_seeds", "final_seeds", "lambda_coarse", "sigmas", "gradcheck_hidden", "ablation_wide"):
        value = getattr(p, name)
        if not isinstance(value, tuple) or not value:
            raise ConfigError(f"{name} must be a non-empty list, got {value!r}")
    if len(p.lambda_coarse) < 2 or any(not (isinstance(v, (int, float)) and v > 0) for v in p.lambda_coarse):
        raise ConfigError(f"lambda_coarse needs at least two positive values, got {list(p.lambda_coarse)}")
    if any(not (isinstance(v, (int, float)) and v > 0) for v in p.sigmas):
        raise ConfigError(f"sigmas must be positive numbers, got {list(p.sigmas)}")


def planned_runs(profile: str | Profile) -> int:
    """How many training runs the whole report pipeline asks for (reused or not)."""
    p = get_profile(profile) if isinstance(profile, str) else profile
    curves = len(TRAINING_CURVES) * len(p.seeds)
    search = (len(p.lambda_coarse) + p.lambda_fine_n) * len(p.lambda_search_seeds) + len(p.final_seeds)
    sensitivity = len(p.sigmas) * 2 * len(p.seeds)
    from .ablation import default_ladder  # here: ablation builds on this module

    ablation = (1 + len(default_ladder())) * len(p.seeds)
    return curves + search + sensitivity + ablation


def pipeline_steps(profile: str) -> list[tuple[str, str, dict]]:
    """The notebooks the report runs, in order: (notebook file, executed name, parameters).

    The parameters are those particular to a step; :mod:`dd2424.report` adds the common ones.
    ``report.ipynb`` comes last and is not listed here.
    """
    steps = [("01_gradient_check.ipynb", "01_gradient_check", {})]
    for name, hidden, bn in TRAINING_CURVES:
        steps.append(("02_training_curves.ipynb", f"02_training_curves-{name}",
                      {"name": name, "hidden": list(hidden), "batch_norm": bn}))  # fmt: skip
    steps.append(("03_lambda_search.ipynb", "03_lambda_search", {}))
    steps.append(("04_init_sensitivity.ipynb", "04_init_sensitivity", {}))
    steps.append(("05_beyond.ipynb", "05_beyond", {}))
    return steps


# --------------------------------------------------------------------------- paths and context


def project_root() -> Path | None:
    """The source checkout's root (the folder with ``pyproject.toml`` above the package), or None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def default_output_dir(profile: str = "full") -> Path:
    """Where a profile writes by default.

    ``full``: the project root when running from a checkout (its ``results/``, ``figures/`` and
    ``report/`` are the committed ones), else the current directory. Other profiles write to
    ``build-report/<profile>`` beneath it, so a quick look never replaces the full results.
    """
    base = project_root() or Path.cwd()
    return base if profile == "full" else base / "build-report" / profile


@dataclass(frozen=True)
class Paths:
    """Where everything goes under an output folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def runs(self) -> Path:
        return self.results / "runs"

    @property
    def gradcheck(self) -> Path:
        return self.results / "gradcheck"

    @property
    def tables(self) -> Path:
        return self.results / "tables"

    @property
    def summary_parts(self) -> Path:
        return self.results / "summary"

    @property
    def summary(self) -> Path:
        return self.results / "summary.json"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def executed_notebooks(self) -> Path:
        return self.build / "notebooks"

    @property
    def report(self) -> Path:
        return self.root / "report"


class Context:
    """What a notebook needs: resolved profile, data, output paths and how to run sweeps.

    ``progress_log``: a file to which every finished run appends one JSON line (the report
    pipeline reads it and prints the progress on its own stderr, so nothing lands in the
    stored notebooks); ``None`` prints one line per run to stdout instead (interactive use).
    """

    def __init__(
        self,
        profile: str = "quick",
        *,
        output_dir: str | os.PathLike | None = None,
        data: str | None = None,
        jobs: int = 1,
        scheduler: str | None = None,
        force: bool = False,
        progress_log: str | os.PathLike | None = None,
        **overrides: Any,
    ) -> None:
        self.profile = get_profile(profile, **overrides)
        self.paths = Paths(output_dir if output_dir is not None else default_output_dir(self.profile.name))
        if int(jobs) != jobs or jobs < 1:
            raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
        self.jobs, self.scheduler, self.force = int(jobs), scheduler or None, bool(force)
        self.progress_log = Path(progress_log) if progress_log else None
        p = self.profile
        self.spec = DataSpec(data or None, p.n_train, p.n_val, p.n_test)
        self.data_info = data_identity(self.spec)  # cheap: the data is decoded only if a run needs it

    @property
    def data(self):
        """The dataset (decoded on first use, once per process)."""
        return load_data(self.spec)

    def config(self, **changes: Any) -> TrainConfig:
        """A :class:`TrainConfig` with the profile's schedule, batch and recording, then ``changes``."""
        p = self.profile
        base = dict(n_s=p.n_s, cycles=p.cycles, batch_size=p.batch_size, records_per_cycle=p.records_per_cycle,
                    lam=p.default_lam)  # fmt: skip
        base.update(changes)
        return TrainConfig(**base)

    def run(self, configs: Sequence[TrainConfig], label: str, threads: int = 1) -> list[dict]:
        """Run (or reuse) ``configs`` with the context's jobs/scheduler/force; report each finished run.

        ``threads`` BLAS threads per run; the context's ``jobs`` cores are then shared by
        ``jobs // threads`` runs at a time.
        """
        progress = _Progress(label, len(configs), self.paths.runs, self.progress_log)
        return run_many(configs, self.spec, self.paths.results, jobs=max(1, self.jobs // threads),
                        scheduler=self.scheduler, force=self.force, on_done=progress, threads=threads)  # fmt: skip

    def write_table(self, rows: Sequence[Mapping], columns: Sequence["Column"], name: str) -> str:
        """Write ``rows`` as ``results/tables/<name>.csv`` and ``.md``; return the Markdown."""
        return write_table(rows, columns, self.paths.tables / name)

    def save_part(self, part: str, content: dict) -> Path:
        """Write this notebook's contribution to the summary, ``results/summary/<part>.json``."""
        record = {
            "profile": self.profile.name,
            "data": self.data_info,
            "code_version": code_version(),
            "written": _now(),
            **content,
        }
        path = self.paths.summary_parts / f"{part}.json"
        write_json_atomic(path, _plain(record))
        return path

    def describe(self) -> str:
        """A Markdown paragraph with the profile, data and output folder (for the notebooks)."""
        p, d = self.profile, self.data_info
        return (
            f"Profile **{p.name}**: n_s {p.n_s}, {plural(p.cycles, 'cycle')}, batch {p.batch_size}, "
            f"seeds {list(p.seeds)}; data: {d['provenance']} "
            f"({d['n_train']} train / {d['n_val']} validation / {d['n_test']} test images); "
            f"output folder `{self.paths.root}`; code version {code_version()}."
        )


class _Progress:
    """``on_done`` callback of :func:`run_many`: one line (or JSON line) per finished run."""

    def __init__(self, label: str, total: int, runs_dir: Path, log: Path | None) -> None:
        self.label, self.total, self.runs_dir, self.log = label, total, runs_dir, log
        self.count = 0
        self.started = time.time()

    def __call__(self, record: dict) -> None:
        self.count += 1
        saved = self.runs_dir / record.get("cached_as", "")
        reused = saved.is_file() and saved.stat().st_mtime < self.started  # the file predates this sweep
        text = f"{self.label}: {describe_config(record['config'])}: " + (
            f"diverged ({record.get('message') or 'non-finite cost'})" if record.get("diverged")
            else f"test {100 * record['test_accuracy']:.1f}%"
        )  # fmt: skip
        text += " (reused)" if reused else f" ({record.get('wall_seconds', 0):.1f} s)"
        if self.log is None:
            print(f"[run {self.count}/{self.total}] {text}", flush=True)
        else:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log, "a") as f:
                f.write(json.dumps({"run": True, "text": text}) + "\n")


def describe_config(config: Mapping | TrainConfig) -> str:
    """A short label of a run, e.g. ``3-layer BN, lambda 0.005, He init, 2 cycles, seed 1``."""
    c = config.to_dict() if isinstance(config, TrainConfig) else config
    return (
        f"{len(c['hidden']) + 1}-layer {'BN' if c['batch_norm'] else 'no BN'}, lambda {fmt_num(c['lam'], 2)}, "
        f"{_init_name(c['init'])}, {plural(c['cycles'], 'cycle')}, seed {c['seed']}"
    )


# --------------------------------------------------------------------------- aggregation


def accuracy_stats(records: Sequence[dict], key: str = "test_accuracy") -> dict:
    """Mean, std (ddof 1) and count over runs of ``key``, with the per-seed values (None = diverged)."""
    values = [r.get(key) for r in records]
    mean, std, n = mean_std(values)
    return {"mean": mean, "std": std, "n": n, "values": values, "seeds": [r["seed"] for r in records]}


def summarize_runs(records: Sequence[dict]) -> dict:
    """The numbers a report quotes about one configuration run with several seeds."""
    config = dict(records[0]["config"])
    config.pop("seed")
    return {
        "config": config,
        "seeds": [r["seed"] for r in records],
        "test_accuracy": accuracy_stats(records, "test_accuracy"),
        "val_accuracy": accuracy_stats(records, "val_accuracy"),
        "train_accuracy": accuracy_stats(records, "train_accuracy"),
        "diverged": sum(bool(r.get("diverged")) for r in records),
        "run_files": [r.get("cached_as") for r in records],
        "compute_seconds": sum(r.get("wall_seconds") or 0.0 for r in records),
    }


CURVE_KEYS = ("train_loss", "val_loss", "train_cost", "val_cost", "train_accuracy", "val_accuracy")


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
    """One table row per run: seed and its train/validation/test accuracy."""
    return [
        {"seed": r["seed"], "train_accuracy": r.get("train_accuracy"), "val_accuracy": r.get("val_accuracy"),
         "test_accuracy": r.get("test_accuracy"), "diverged": bool(r.get("diverged")),
         "seconds": r.get("wall_seconds"), "run_file": r.get("cached_as")}
        for r in records
    ]  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    """Two configurations' accuracies: is the difference of means larger than the seeds' spread?

    ``spread`` is the sum of the two standard deviations: a difference is called real only
    when it exceeds it (the two mean ± std intervals do not overlap) and each side has at
    least two seeds.
    """

    mean_a: float
    mean_b: float
    std_a: float
    std_b: float
    n_a: int
    n_b: int

    @property
    def difference(self) -> float:
        return self.mean_a - self.mean_b

    @property
    def spread(self) -> float:
        return self.std_a + self.std_b

    @property
    def enough_seeds(self) -> bool:
        return self.n_a >= 2 and self.n_b >= 2

    @property
    def real(self) -> bool:
        return self.enough_seeds and math.isfinite(self.difference) and abs(self.difference) > self.spread


def compare(a: Mapping, b: Mapping) -> Comparison:
    """Compare two :func:`accuracy_stats` dicts."""
    return Comparison(a["mean"], b["mean"], a["std"], b["std"], a["n"], b["n"])


def phrase_comparison(a: Mapping, b: Mapping, name_a: str, name_b: str, what: str = "test accuracy") -> str:
    """One sentence saying how ``a`` compares with ``b``, claiming a difference only when it is real."""
    c = compare(a, b)
    if c.n_a == 0 or c.n_b == 0:
        return f"The {what} of {name_a} and {name_b} cannot be compared: some runs diverged on every seed."
    seeds = f"{c.n_a} seeds each" if c.n_a == c.n_b else f"{c.n_a} and {c.n_b} seeds"
    numbers = f"{fmt_stats(a)} % vs {fmt_stats(b)} %, {seeds}"
    if not c.enough_seeds:
        return (f"{_cap(name_a)} reached a {what} of {fmt_pct(c.mean_a)} % and {name_b} {fmt_pct(c.mean_b)} %; "
                f"with a single seed on a side, no difference can be claimed.")  # fmt: skip
    direction = "higher" if c.difference > 0 else "lower"
    points = f"{abs(100 * c.difference):.1f} points"
    if c.real:
        return (f"{_cap(name_a)} has a {points} {direction} mean {what} than {name_b} ({numbers}); this is "
                f"larger than the spread across seeds ({100 * c.spread:.1f} points), so we take it as real.")  # fmt: skip
    return (f"{_cap(name_a)} and {name_b} reach the same {what} within the spread across seeds ({numbers}): "
            f"the difference of means, {points}, is not larger than the sum of the standard deviations "
            f"({100 * c.spread:.1f} points), so no difference is claimed.")  # fmt: skip


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- the experiments


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


def sensitivity_configs(ctx: Context, sigmas: Sequence[float], lam: float, seeds: Sequence[int] | None = None) -> list[TrainConfig]:
    """3-layer [50, 50], every weight N(0, sigma^2): (BN off, on) x sigma x seed, in that order."""
    seeds = ctx.profile.seeds if seeds is None else seeds
    return [ctx.config(hidden=(50, 50), batch_norm=bn, init=float(sigma), lam=lam, seed=s)
            for bn in (False, True) for sigma in sigmas for s in seeds]  # fmt: skip


def sensitivity_grid(records: Sequence[dict], sigmas: Sequence[float]) -> list[dict]:
    """Group :func:`sensitivity_configs`'s records into one cell per (BN, sigma) with stats and curves."""
    per = len(records) // (2 * len(sigmas))
    cells, i = [], 0
    for bn in (False, True):
        for sigma in sigmas:
            group = records[i * per : (i + 1) * per]
            i += 1
            cells.append({"batch_norm": bn, "sigma": float(sigma), **summarize_runs(group),
                          "curves": mean_curves(group, ("train_loss", "val_loss"))})  # fmt: skip
    return cells


def chosen_lambda(paths: Paths, profile: str, default: float) -> tuple[float, str]:
    """The lambda chosen by 03_lambda_search in ``paths`` for ``profile``, or ``default``; and where it came from."""
    part = paths.summary_parts / "03_lambda_search.json"
    try:
        found = json.loads(part.read_text())
        if found.get("profile") == profile:
            lam = float(found["lambda_search"]["chosen_lambda"])
            return lam, f"the value chosen by the lambda search ({part.name})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return default, f"the default {default:g} (no lambda search result of the {profile} profile in {paths.summary_parts})"


# --------------------------------------------------------------------------- gradient checks


def gradient_check_cases(profile: Profile) -> list[dict]:
    """Every network the gradient check covers: each depth, BN on/off, lambda 0 and > 0, both references."""
    return [
        {"hidden": list(h), "layers": len(h) + 1, "batch_norm": bn, "lam": lam, "reference": ref}
        for h in profile.gradcheck_hidden for bn in (True, False) for lam in (0.0, profile.gradcheck_lam)
        for ref in ("extended", "float64")
    ]  # fmt: skip


def run_gradient_checks(ctx: Context, seed: int = 0) -> list[dict]:
    """Run (or reuse, from ``results/gradcheck/``) every case of :func:`gradient_check_cases`.

    The input is the first ``gradcheck_samples`` training images, first ``gradcheck_inputs``
    dimensions. Returns one row per case, layer and parameter (the case's keys plus
    ``layer, param, max, mean, max_abs_grad``), with ``seconds`` per case.
    """
    p = ctx.profile
    X = np.asarray(ctx.data.train.X[: p.gradcheck_samples, : p.gradcheck_inputs], dtype=np.float64)
    y = np.asarray(ctx.data.train.y[: p.gradcheck_samples])
    cases = gradient_check_cases(p)
    gc_source = (Path(__file__).parent / "gradcheck.py").read_bytes()
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
    from .gradcheck import DEFAULT_H, entries_as_dicts, gradcheck_network

    tic = time.perf_counter()
    entries = gradcheck_network(case["hidden"], batch_norm=case["batch_norm"], lam=case["lam"], X=X, y=y, seed=seed,
                                reference=case["reference"])  # fmt: skip
    return _plain({"case": case, "h": DEFAULT_H[case["reference"]], "seconds": time.perf_counter() - tic,
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


def gradcheck_summary(rows: Sequence[dict], profile: Profile) -> dict:
    """The gradient-check numbers for summary.json."""
    from .gradcheck import DEFAULT_H

    by_param: dict[str, dict[str, float]] = {}
    for r in rows:
        ref = by_param.setdefault(r["reference"], {})
        ref[r["param"]] = max(ref.get(r["param"], 0.0), r["max"])
    return {
        "max": {ref: max(vals.values()) for ref, vals in by_param.items()},
        "max_by_param": by_param,
        "h": dict(DEFAULT_H),
        "networks": gradcheck_maxima(rows),
        "n_inputs": profile.gradcheck_inputs,
        "n_samples": profile.gradcheck_samples,
        "lam_positive": profile.gradcheck_lam,
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


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """A table column: the row key, its header and how the Markdown shows the value."""

    key: str
    header: str
    fmt: Callable[[Any], str] = str


def fmt_pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage without the sign (``0.5312`` -> ``53.12``); ``-`` for None/NaN."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.{digits}f}"


def fmt_stats(stats: Mapping, digits: int = 2) -> str:
    """``mean ± std`` of an :func:`accuracy_stats` dict, in percent."""
    if not stats["n"]:
        return "-"
    if stats["n"] == 1:
        return f"{fmt_pct(stats['mean'], digits)} (one seed)"
    return f"{fmt_pct(stats['mean'], digits)} ± {fmt_pct(stats['std'], digits)}"


def fmt_sci(value: float | None) -> str:
    """A number in short scientific notation (``1e-06``, ``8.88e-03``); ``-`` for None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.2e}"


def fmt_lam(value: float) -> str:
    """A lambda as written in the tables (3 significant digits: ``1e-6``, ``0.00888``)."""
    return fmt_num(value, 2)


def fmt_num(value: float, digits: int = 1) -> str:
    """A number for text: ``1e-06`` -> ``1e-6``, ``2.2e-16`` (``digits`` after the point in scientific form)."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:g}"
    text = f"{value:.{digits}e}"
    mantissa, exponent = text.split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"


def plural(n: int, word: str) -> str:
    """``1 cycle``, ``2 cycles``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def markdown_table(rows: Sequence[Mapping], columns: Sequence[Column]) -> str:
    """A GitHub/pandoc pipe table."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join("---:" if i else ":---" for i in range(len(columns))) + "|"]  # fmt: skip
    for row in rows:
        cells = ("-" if row.get(c.key) is None else c.fmt(row[c.key]) for c in columns)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def csv_text(rows: Sequence[Mapping], columns: Sequence[Column]) -> str:
    """The rows as CSV with raw values (full precision; lists joined with ``;``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        values = []
        for c in columns:
            v = row.get(c.key)
            values.append(";".join(map(str, v)) if isinstance(v, (list, tuple)) else ("" if v is None else v))
        writer.writerow(values)
    return buffer.getvalue()


def write_table(rows: Sequence[Mapping], columns: Sequence[Column], stem: str | os.PathLike) -> str:
    """Write ``<stem>.csv`` and ``<stem>.md`` atomically; return the Markdown."""
    stem = Path(stem)
    markdown = markdown_table(rows, columns)
    write_text_atomic(stem.with_name(stem.name + ".csv"), csv_text(rows, columns))
    write_text_atomic(stem.with_name(stem.name + ".md"), markdown)
    return markdown


# --------------------------------------------------------------------------- the tables' columns

SEED_COLUMNS = (
    Column("seed", "seed"),
    Column("train_accuracy", "train acc. (%)", fmt_pct),
    Column("val_accuracy", "validation acc. (%)", fmt_pct),
    Column("test_accuracy", "test acc. (%)", fmt_pct),
    Column("diverged", "diverged", lambda v: "yes" if v else "no"),
    Column("seconds", "time (s)", lambda v: "-" if v is None else f"{v:.1f}"),
    Column("run_file", "run file", lambda v: f"`{v}`" if v else "-"),
)
GRADCHECK_MAXIMA_COLUMNS = (
    Column("layers", "layers"),
    Column("hidden", "hidden", lambda v: str(list(v))),
    Column("batch_norm", "BN", lambda v: "yes" if v else "no"),
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
    Column("batch_norm", "BN", lambda v: "yes" if v else "no"),
    Column("lam", "lambda", lambda v: f"{v:g}"),
    Column("reference", "reference"),
    Column("layer", "layer"),
    Column("param", "param"),
    Column("max", "max rel. error", fmt_sci),
    Column("mean", "mean rel. error", fmt_sci),
    Column("max_abs_grad", "max abs. gradient", fmt_sci),
)
LAMBDA_COLUMNS = (
    Column("stage", "stage"),
    Column("lam", "lambda", fmt_lam),
    Column("n", "seeds"),
    Column("val_mean", "validation acc. (%)", fmt_pct),
    Column("val_std", "std", fmt_pct),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std ", fmt_pct),
)
SENSITIVITY_COLUMNS = (
    Column("sigma", "sigma", lambda v: f"{v:g}"),
    Column("batch_norm", "BN", lambda v: "yes" if v else "no"),
    Column("n", "seeds"),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std", fmt_pct),
    Column("values", "per seed (%)", lambda v: ", ".join(fmt_pct(x, 1) for x in v)),
    Column("diverged", "diverged"),
)
TRAINING_SUMMARY_COLUMNS = (
    Column("layers", "layers"),
    Column("batch_norm", "BN", lambda v: "yes" if v else "no"),
    Column("n", "seeds"),
    Column("val_mean", "validation acc. (%)", fmt_pct),
    Column("val_std", "std", fmt_pct),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std ", fmt_pct),
    Column("diverged", "diverged"),
)


def sensitivity_rows(cells: Sequence[Mapping]) -> list[dict]:
    """One table row per (sigma, BN) cell, sigma-major."""
    rows = [{"sigma": c["sigma"], "batch_norm": c["batch_norm"], "n": c["test_accuracy"]["n"],
             "test_mean": c["test_accuracy"]["mean"], "test_std": c["test_accuracy"]["std"],
             "values": c["test_accuracy"]["values"], "diverged": c["diverged"]} for c in cells]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["sigma"], r["batch_norm"]))


def total_seconds(records: Iterable[dict]) -> float:
    """The summed wall time of runs (as measured when each was computed)."""
    return float(sum(r.get("wall_seconds") or 0.0 for r in records))


def config_title(config: Mapping, n_seeds: int | None = None) -> str:
    """A figure title for a configuration, e.g. ``3-layer [50, 50] with BN, lambda 0.005, he init, 2 cycles``."""
    init = _init_name(config["init"])
    seeds = f", {plural(n_seeds, 'seed')}" if n_seeds else ""
    return (f"{len(config['hidden']) + 1}-layer {list(config['hidden'])} {'with' if config['batch_norm'] else 'without'} BN, "
            f"lambda {fmt_num(config['lam'])}, {init}, {plural(config['cycles'], 'cycle')} of 2 x {config['n_s']} steps{seeds}")  # fmt: skip


def _init_name(init: str | float) -> str:
    return {"he": "He init", "xavier": "Xavier init"}.get(init, f"init {init}") if isinstance(init, str) else f"init sigma {fmt_num(init)}"


def gradcheck_text(summary: Mapping) -> str:
    """Markdown: the maxima of both references and why the float64 one is limited by its rounding."""
    mx, h = summary["max"], summary["h"]
    eps64 = float(np.finfo(np.float64).eps)
    floor = eps64 * math.log(10) / (2 * h["float64"])
    return (
        f"Largest relative error over every network, layer and parameter: **{fmt_num(mx['extended'])}** with the "
        f"extended-precision reference (the main result, h = {fmt_num(h['extended'])}) and {fmt_num(mx['float64'])} "
        f"with the float64 reference that SPEC.md describes (h = {fmt_num(h['float64'])}). The float64 reference is "
        f"limited by its own rounding: the cost J is computed with a relative rounding error of about "
        f"eps = {fmt_num(eps64)}, "
        f"which the centred difference divides by 2h, so the numerical gradient itself carries an absolute error "
        f"of about eps J / 2h = {fmt_num(floor, 0)} (J = ln 10 at initialisation). Divided by |g_a| + |g_n|, that "
        f"floor alone reads as a relative error of about {fmt_num(floor / 2e-5, 0)} for an entry whose gradient is "
        f"1e-5, although the analytic gradient is exact; a weight matrix has entries of every size down to zero, so "
        f"the float64 maximum over all entries measures the reference's rounding more than the analytic gradient. "
        f"The same cost evaluated in extended precision "
        f"(numpy longdouble, eps = {fmt_num(summary['longdouble_eps'])} on the machine that ran the check) lowers "
        f"that floor, which is why the extended reference is the one the check relies on."
    )


# --------------------------------------------------------------------------- summary.json


def build_summary(paths: Paths) -> dict:
    """Merge every ``results/summary/*.json`` into ``results/summary.json`` (atomically) and return it.

    All parts must come from the same profile, data and code version; otherwise this raises
    :class:`ConfigError` naming them (rerun the notebooks, or delete the stale parts).
    """
    parts = sorted(paths.summary_parts.glob("*.json"))
    if not parts:
        raise ConfigError(f"no summary parts in {paths.summary_parts}: run the notebooks (or `dd2424 report`) first")
    loaded = {p.stem: json.loads(p.read_text()) for p in parts}
    for key in ("profile", "code_version"):
        values = {name: part.get(key) for name, part in loaded.items() if key in part}
        if len(set(map(str, values.values()))) > 1:
            raise ConfigError(f"summary parts disagree on {key}: {values}; rerun `dd2424 report` or delete {paths.summary_parts}")
    shas = {name: part["data"]["sha256"] for name, part in loaded.items() if "data" in part}
    sizes = {name: tuple(part["data"][k] for k in ("n_train", "n_val", "n_test")) for name, part in loaded.items() if "data" in part}
    if len(set(shas.values())) > 1 or len(set(sizes.values())) > 1:
        raise ConfigError(f"summary parts come from different data: {shas} {sizes}; rerun `dd2424 report`")
    summary: dict[str, Any] = {}
    for part in loaded.values():
        _deep_merge(summary, part)
    summary.pop("written", None)
    profile = get_profile(summary["profile"])
    pipeline = summary.pop("pipeline", {})
    runs_seconds = sum(t.get("compute_seconds", 0.0) for t in summary.get("training", {}).values())
    runs_seconds += summary.get("lambda_search", {}).get("compute_seconds", 0.0)
    runs_seconds += summary.get("sensitivity", {}).get("compute_seconds", 0.0)
    runs_seconds += summary.get("beyond", {}).get("compute_seconds", 0.0)
    grad_seconds = summary.get("gradcheck", {}).get("compute_seconds", 0.0)
    summary.update({
        "generated": _now(),
        "package_version": __version__,
        "code_version": code_version(),
        "git_commit": git_commit(),
        "settings": profile.to_dict(),
        "seeds": list(profile.seeds),
        "timing": {
            "training_seconds": runs_seconds,
            "gradcheck_seconds": grad_seconds,
            "compute_seconds": runs_seconds + grad_seconds,
            "runs": _count_runs(summary),
            **pipeline,
        },
    })  # fmt: skip
    summary = _plain(summary)
    write_json_atomic(paths.summary, summary)
    return summary


def _count_runs(summary: dict) -> int:
    n = sum(len(t.get("seeds", [])) for t in summary.get("training", {}).values())
    search = summary.get("lambda_search", {})
    n += sum(len(r.get("seeds", [])) for r in search.get("coarse", []) + search.get("fine", []))
    n += len(search.get("final", {}).get("seeds", []))
    n += sum(len(c.get("seeds", [])) for c in summary.get("sensitivity", {}).get("grid", []))
    n += sum(r.get("seeds", 0) for r in summary.get("beyond", {}).get("rows", []))
    return n


def _deep_merge(into: dict, new: Mapping) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


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


# --------------------------------------------------------------------------- helpers


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

