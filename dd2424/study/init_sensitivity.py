"""Chapter 04, ``04_init_sensitivity.ipynb``: the 3-layer network with every weight N(0, sigma^2), without and with BN.

The lambda is the one chapter 03 chose in the same output folder (or the profile's default);
the grid is (BN off, on) x sigma x seed, the sigmas fixed by the profile (:class:`SensitivitySettings`).
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
    """Training runs of one execution of the notebook: sigma x (BN off, on) x seed."""
    return len(settings.sigmas) * 2 * len(profile.seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing`` in summary.json."""
    return {"training_seconds": section.get("compute_seconds", 0.0),
            "runs": sum(len(c.get("seeds", [])) for c in section.get("grid", []))}  # fmt: skip


CHAPTER = Chapter("04_init_sensitivity.ipynb", summary=("sensitivity",), settings=SETTINGS, planned_runs=planned_runs,
                  timing=timing)  # fmt: skip

#: the names of the chapter's figure and table
FIGURE, TABLE = "sensitivity_loss", "sensitivity"


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



def sensitivity_rows(cells: Sequence[Mapping]) -> list[dict]:
    """One table row per (sigma, BN) cell, sigma-major."""
    rows = [{"sigma": c["sigma"], "batch_norm": c["batch_norm"], "n": c["test_accuracy"]["n"],
             "test_mean": c["test_accuracy"]["mean"], "test_std": c["test_accuracy"]["std"],
             "values": c["test_accuracy"]["values"], "diverged": c["diverged"]} for c in cells]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["sigma"], r["batch_norm"]))


def summary_part(ctx: Context, lam: float, lam_source: str, cells: Sequence[Mapping], records: Sequence[dict]) -> dict:
    """The summary part: the section ``sensitivity``, the grid's cells without their curves and the lambda used."""
    return {"sensitivity": {
        "lam": lam, "lam_source": lam_source, "seeds": list(ctx.profile.seeds), "sigmas": list(ctx.settings.sigmas),
        "grid": [{k: v for k, v in cell.items() if k != "curves"} for cell in cells],
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
