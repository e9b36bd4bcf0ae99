"""Chapter 04, ``04_init_sensitivity.ipynb``: the 3-layer network with every weight N(0, sigma^2), without and with BN.

The lambda is the one chapter 03 chose in the same output folder (or the profile's default);
the grid is (BN off, on) x sigma x seed, the sigmas fixed by the profile (:class:`SensitivitySettings`).
A control trains the network without BN at the smallest sigma with lambda = 0 on the same seeds
(:func:`lambda_zero_configs`): whether it stays stuck without any L2 penalty tells whether the
penalty is what holds it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import ConfigError
from ..training import TrainConfig
from .chapter import Chapter
from .context import Context
from .profiles import ChapterSettings, Profile, check_non_empty
from .stats import mean_curves, summarize_runs, total_seconds
from .tables import Column, fmt_pct, fmt_yes


@dataclass(frozen=True)
class SensitivitySettings(ChapterSettings):
    """What a profile fixes for the sensitivity grid: the weight scales sigma."""

    sigmas: tuple[float, ...]

    def check(self) -> None:
        check_non_empty(self, "sigmas")
        if any(not (isinstance(v, (int, float)) and v > 0) for v in self.sigmas):
            raise ConfigError(f"sigmas must be positive numbers, got {list(self.sigmas)}")


_SIGMAS = SensitivitySettings(sigmas=(1e-1, 1e-3, 1e-4))
SETTINGS = {"full": _SIGMAS, "quick": _SIGMAS, "smoke": _SIGMAS}


def planned_runs(profile: Profile, settings: SensitivitySettings) -> int:
    """Training runs of one execution of the notebook: sigma x (BN off, on) x seed, and the lambda = 0 control."""
    return (len(settings.sigmas) * 2 + 1) * len(profile.seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json."""
    cells = [*section.get("grid", []), *([section["lambda_zero"]] if section.get("lambda_zero") else [])]
    return {"training_seconds": section.get("compute_seconds", 0.0),
            "runs": sum(len(c.get("seeds", [])) for c in cells)}  # fmt: skip


CHAPTER = Chapter("04_init_sensitivity.ipynb", summary=("sensitivity",), settings=SETTINGS, planned_runs=planned_runs,
                  timing=timing)  # fmt: skip

#: the names of the chapter's figure and table
FIGURE, TABLE = "sensitivity_loss", "sensitivity"


def sensitivity_configs(ctx: Context, sigmas: Sequence[float], lam: float, seeds: Sequence[int] | None = None) -> list[TrainConfig]:
    """3-layer [50, 50], every weight N(0, sigma^2): (BN off, on) x sigma x seed, in that order."""
    seeds = ctx.profile.seeds if seeds is None else seeds
    return [ctx.config(hidden=(50, 50), batch_norm=bn, init=float(sigma), lam=lam, seed=s)
            for bn in (False, True) for sigma in sigmas for s in seeds]  # fmt: skip


def lambda_zero_configs(ctx: Context, sigma: float, seeds: Sequence[int] | None = None) -> list[TrainConfig]:
    """The control: 3-layer [50, 50] without BN, every weight N(0, sigma^2), no L2 penalty (lambda = 0), one per seed."""
    seeds = ctx.profile.seeds if seeds is None else seeds
    return [ctx.config(hidden=(50, 50), batch_norm=False, init=float(sigma), lam=0.0, seed=s) for s in seeds]


def lambda_zero_cell(records: Sequence[dict], sigma: float) -> dict:
    """The control's summary: its sigma, ``batch_norm`` False, ``lam`` 0 and :func:`~.stats.summarize_runs`."""
    return {"sigma": float(sigma), "batch_norm": False, "lam": 0.0, **summarize_runs(records)}


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



def sensitivity_rows(cells: Sequence[Mapping]) -> list[dict]:
    """One table row per (sigma, BN) cell, sigma-major."""
    rows = [{"sigma": c["sigma"], "batch_norm": c["batch_norm"], "n": c["test_accuracy"]["n"],
             "test_mean": c["test_accuracy"]["mean"], "test_std": c["test_accuracy"]["std"],
             "values": c["test_accuracy"]["values"], "diverged": c["diverged"]} for c in cells]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["sigma"], r["batch_norm"]))


def summary_part(ctx: Context, lam: float, lam_source: str, cells: Sequence[Mapping], records: Sequence[dict],
                 lambda_zero: Mapping | None = None) -> dict:  # fmt: skip
    """The summary part: the section ``sensitivity``, the grid's cells without their curves, the lambda used and the
    lambda = 0 control (:func:`lambda_zero_cell`; ``records``: every run of the chapter, control included)."""
    return {"sensitivity": {
        "lam": lam, "lam_source": lam_source, "seeds": list(ctx.profile.seeds), "sigmas": list(ctx.settings.sigmas),
        "grid": [{k: v for k, v in cell.items() if k != "curves"} for cell in cells],
        "lambda_zero": dict(lambda_zero) if lambda_zero is not None else None,
        "figure": ctx.name(FIGURE), "table": ctx.name(TABLE), "compute_seconds": total_seconds(records),
    }}  # fmt: skip


SENSITIVITY_COLUMNS = (
    Column("sigma", "sigma", lambda v: f"{v:g}"),
    Column("batch_norm", "BN", fmt_yes),
    Column("n", "seeds"),
    Column("test_mean", "test acc. (%)", fmt_pct),
    Column("test_std", "std", fmt_pct, seeds_key="n"),
    Column("values", "per seed (%)", lambda v: ", ".join(fmt_pct(x, 1) for x in v)),
    Column("diverged", "diverged"),
)
