"""Formatting: numbers, accuracies over seeds, configuration labels, and the CSV/Markdown tables.

Accuracies are fractions (0..1) in every JSON and CSV file; Markdown and text show percentages.
With one seed there is no sample standard deviation: the text and the tables say ``1 seed``
instead of a ``±`` or a std.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..files import write_atomic
from ..typeset import fmt_power  # noqa: F401 (the report's style for lambda, sigma, eta and errors: $3.46 \times 10^{-3}$)

ONE_SEED = "1 seed"


@dataclass(frozen=True)
class Column:
    """A table column: the row key, its header and how the Markdown shows the value.

    ``seeds_key``: for a standard-deviation column, the row key holding the number of seeds;
    a row with one seed then shows ``1 seed`` instead of a std (undefined for one value).
    ``row_fmt``: a cell made of several keys of the row (an interval), instead of ``fmt``.
    """

    key: str
    header: str
    fmt: Callable[[Any], str] = str
    seeds_key: str | None = None
    row_fmt: Callable[[Mapping], str] | None = None

    def cell(self, row: Mapping) -> str:
        """The Markdown text of this column in ``row``."""
        if self.seeds_key is not None and row.get(self.seeds_key) == 1:
            return ONE_SEED
        if self.row_fmt is not None:
            return self.row_fmt(row)
        return "-" if row.get(self.key) is None else self.fmt(row[self.key])


def fmt_interval(low: float | None, high: float | None) -> str:
    """An interval of accuracy changes in points, ``[-1.39, +0.11]``; ``-`` when undefined (one seed)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return f"[{100 * low:+.2f}, {100 * high:+.2f}]"


def fmt_pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage without the sign (``0.5312`` -> ``53.12``); ``-`` for None/NaN."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.{digits}f}"


def fmt_stats(stats: Mapping, digits: int = 2) -> str:
    """``mean ± std`` of an accuracy-stats dict, in percent; ``mean (1 seed)`` with one seed."""
    if not stats["n"]:
        return "-"
    if stats["n"] == 1:
        return f"{fmt_pct(stats['mean'], digits)} ({ONE_SEED})"
    return f"{fmt_pct(stats['mean'], digits)} ± {fmt_pct(stats['std'], digits)}"


def stats_text(stats: Mapping, digits: int = 2) -> str:
    """A sentence part: ``53.12 ± 0.40 % (mean ± std over 3 seeds)``, ``53.12 % (1 seed)``."""
    if not stats["n"]:
        return "- (every run diverged)"
    if stats["n"] == 1:
        return f"{fmt_pct(stats['mean'], digits)} % ({ONE_SEED})"
    return f"{fmt_stats(stats, digits)} % (mean ± std over {stats['n']} seeds)"


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


def fmt_yes(value: Any) -> str:
    """``yes`` / ``no``."""
    return "yes" if value else "no"


def plural(n: int, word: str) -> str:
    """``1 cycle``, ``2 cycles``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def init_name(init: str | float) -> str:
    """``He init``, ``Xavier init``, ``init sigma 1e-3``."""
    if isinstance(init, str):
        return {"he": "He init", "xavier": "Xavier init"}.get(init, f"init {init}")
    return f"init sigma {fmt_num(init)}"


def describe_config(c: Mapping) -> str:
    """A short label of a run (a ``TrainConfig.to_dict()``), e.g. ``3-layer BN, lambda 0.005, He init, 2 cycles, seed 1``,
    naming every setting that differs from the assignment's (``3-layer [100, 50] BN after ReLU, ..., Adam``)."""
    widths = "" if tuple(c["hidden"]) == _DEFAULTS["hidden"] else f" {list(c['hidden'])}"
    return ", ".join([
        f"{len(c['hidden']) + 1}-layer{widths} {'BN' if c['batch_norm'] else 'no BN'}{_bn_position(c)}",
        f"lambda {fmt_num(c['lam'], 2)}", init_name(c["init"]), plural(c["cycles"], "cycle"),
        *config_changes(c), f"seed {c['seed']}",
    ])  # fmt: skip


def config_title(config: Mapping, n_seeds: int | None = None) -> str:
    """A figure title in matplotlib mathtext, e.g. ``3-layer [50, 50] with BN, $\\lambda$ = $5 \\times 10^{-3}$, He init,
    2 cycles of 2 × 2250 steps``, then the settings that differ from the assignment's (:func:`config_changes`)."""
    seeds = f", {plural(n_seeds, 'seed')}" if n_seeds else ""
    changes = "".join(", " + change for change in config_changes(config))
    init = config["init"]
    init_text = init_name(init) if isinstance(init, str) else f"init $\\sigma$ = {fmt_power(init)}"
    return (f"{len(config['hidden']) + 1}-layer {list(config['hidden'])} {'with' if config['batch_norm'] else 'without'} BN"
            f"{_bn_position(config)}, $\\lambda$ = {fmt_power(config['lam'])}, {init_text}, "
            f"{plural(config['cycles'], 'cycle')} of 2 × {config['n_s']} steps{changes}{seeds}")  # fmt: skip


def config_changes(c: Mapping) -> list[str]:
    """The settings of a configuration that differ from the assignment's, beyond those every label shows
    (depth, BN, lambda, init, cycles, seed), e.g. ``["dropout 0.1", "flips", "Adam"]``. A field without a
    phrase of its own is named by its name and value, so an option added to ``TrainConfig`` shows too."""
    out = []
    for name, default in _DEFAULTS.items():
        value = c.get(name, default)
        if name in _ALWAYS_SHOWN or value == default or (isinstance(value, list) and tuple(value) == default):
            continue
        phrase = _PHRASES.get(name)
        if phrase is not None:
            out.append(phrase(value))
        else:
            out.append(name.replace("_", " ") if value is True else f"{name.replace('_', ' ')} {value}")
    return out


def _bn_position(c: Mapping) -> str:
    return " after ReLU" if c["batch_norm"] and c.get("bn_position", "before") == "after" else ""


def _field_defaults() -> dict[str, Any]:
    from dataclasses import fields

    from ..config import TrainConfig

    return {f.name: f.default for f in fields(TrainConfig)}


_DEFAULTS = _field_defaults()
#: shown by every label, or not a property of the trained network (the history's sampling)
_ALWAYS_SHOWN = {"hidden", "batch_norm", "bn_position", "lam", "init", "cycles", "seed", "n_s", "records_per_cycle",
                 "history_train_samples", "record_grad_norms"}  # fmt: skip
_PHRASES: dict[str, Callable[[Any], str]] = {
    "dropout": lambda v: f"dropout {v:g}",
    "label_smoothing": lambda v: f"label smoothing {v:g}",
    "flip": lambda v: "flips",
    "max_shift": lambda v: f"shifts of up to {v} px",
    "optimizer": lambda v: {"adam": "Adam", "sgd": "SGD"}.get(v, str(v)),
    "precise_bn": lambda v: f"PreciseBN on {v} images",
    "precise_bn_per_epoch": lambda v: f"PreciseBN {v} times per epoch",
    "test_flips": lambda v: "test-time flips",
    "zca": lambda v: f"ZCA eps {fmt_num(v)}",
    "batch_size": lambda v: f"batch {v}",
    "eta_min": lambda v: f"eta_min {fmt_num(v)}",
    "eta_max": lambda v: f"eta_max {fmt_num(v)}",
    "skip": lambda v: "skip connections",
    "lr_decay": lambda v: f"{v} decay",
    "lr_decay_factor": lambda v: f"decay factor {v:g}",
}


def markdown_table(rows: Sequence[Mapping], columns: Sequence[Column]) -> str:
    """A GitHub/pandoc pipe table."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join("---:" if i else ":---" for i in range(len(columns))) + "|"]  # fmt: skip
    for row in rows:
        lines.append("| " + " | ".join(c.cell(row).replace("|", "\\|") for c in columns) + " |")
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
    write_atomic(stem.with_name(stem.name + ".csv"), csv_text(rows, columns))
    write_atomic(stem.with_name(stem.name + ".md"), markdown)
    return markdown


#: one row per run (:func:`dd2424.study.stats.seed_rows`)
SEED_COLUMNS = (
    Column("seed", "seed"),
    Column("train_accuracy", "train acc. (%)", fmt_pct),
    Column("val_accuracy", "validation acc. (%)", fmt_pct),
    Column("test_accuracy", "test acc. (%)", fmt_pct),
    Column("diverged", "diverged", fmt_yes),
    Column("seconds", "time (s)", lambda v: f"{v:.1f}"),
    Column("run_file", "run file", lambda v: f"`{v}`" if v else "-"),
)
