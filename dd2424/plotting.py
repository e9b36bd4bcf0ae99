"""The report's figures, saved as vector PDF and PNG (``figures/<name>.pdf|png``, atomically).

Every function takes aggregated numbers (from :mod:`dd2424.study.stats`), returns the
:class:`matplotlib.figure.Figure` it drew, and knows nothing of training. Figures are made
without pyplot (no global state, nothing shown twice in a notebook) as :class:`InlineFigure`,
which Jupyter shows as a PNG without ``%matplotlib inline``; :func:`save_figure` writes them
and :class:`FigureFiles` displays the saved files in a notebook: PNG for screens and HTML,
the PDF itself for the LaTeX report.
"""

from __future__ import annotations

import base64
import io
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

from .files import atomic_path
from .typeset import fmt_power

#: the report's text width: A4 with 2.5 cm margins (dd2424/templates/dd2424_latex), in inches.
#: Figures are drawn at this width so that the PDF shows them at 100 %: the font sizes below
#: are the printed sizes (none under 8 pt).
TEXT_WIDTH = 6.3
MIN_FONT_SIZE = 8.0
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "figure.titlesize": 10,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.xmargin": 0.02,
    "axes.ymargin": 0.08,  # keeps a flat line (a network stuck at chance) off the frame
    "lines.linewidth": 1.3,
}
TRAIN_COLOR, VAL_COLOR, TEST_COLOR = "C0", "C1", "C2"
_PANELS = (("loss", "loss (cross-entropy)"), ("cost", "cost (loss + L2 penalty)"), ("accuracy", "accuracy (%)"))


class InlineFigure(Figure):
    """A figure that Jupyter (IPython's display) shows as a PNG, in a fresh kernel too.

    The project draws without pyplot, so no backend registers a display for its figures;
    ``_repr_png_`` is IPython's own hook for an object's image, used when no formatter for
    the type is registered (with ``%matplotlib inline`` the inline backend's PNG is shown once instead).
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.02)
        return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return InlineFigure(figsize=(width, height), layout="constrained")


def _band(ax, steps, curve: Mapping, color: str, label: str, scale: float = 1.0) -> None:
    mean = [None if v is None else scale * v for v in curve["mean"]]
    lo = [None if v is None else scale * v for v in curve["min"]]
    hi = [None if v is None else scale * v for v in curve["max"]]
    as_float = lambda xs: [float("nan") if v is None else v for v in xs]  # noqa: E731
    ax.plot(steps, as_float(mean), color=color, label=label)
    ax.fill_between(steps, as_float(lo), as_float(hi), color=color, alpha=0.22, lw=0)


def plot_training_curves(curves: Mapping, title: str, ylims: Mapping[str, tuple[float, float]] | None = None) -> Figure:
    """Loss, cost and accuracy vs update step: training and validation, mean over seeds, min-max band.

    ``ylims`` maps ``"loss"``, ``"cost"``, ``"accuracy"`` (percent) to y limits, e.g. from
    :func:`training_curves_limits` so that figures compared in the text share their axes.
    """
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 2.55)
        axes = fig.subplots(1, 3)
        _curves_row(axes, curves, ylims, xlabel=True)
        _curves_legend(fig, curves)
        fig.suptitle(title)
    return fig


def plot_training_curves_pair(curves_a: Mapping, title_a: str, curves_b: Mapping, title_b: str) -> Figure:
    """Two networks' curves (e.g. without and with BN) in two rows whose y axes are shared per column."""
    limits = training_curves_limits(curves_a, curves_b)
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 4.6)
        axes = fig.subplots(2, 3, sharex=True)
        for row, (curves, title) in enumerate(((curves_a, title_a), (curves_b, title_b))):
            _curves_row(axes[row], curves, limits, xlabel=row == 1)
            axes[row][1].set_title(title)
        _curves_legend(fig, curves_a, curves_b)
    return fig


def training_curves_limits(*curves: Mapping, margin: float = 0.06) -> dict[str, tuple[float, float]]:
    """Common y limits (``loss``, ``cost``, ``accuracy`` in percent) of several curves dicts, with a margin."""
    limits = {}
    for key, _ in _PANELS:
        scale = 100.0 if key == "accuracy" else 1.0
        values = [scale * v for c in curves for part in ("train", "val") for stat in ("min", "max", "mean")
                  for v in c.get(f"{part}_{key}", {}).get(stat, []) if v is not None and math.isfinite(v)]  # fmt: skip
        if not values:
            continue
        lo, hi = min(values), max(values)
        pad = margin * (hi - lo) if hi > lo else max(0.05 * abs(hi), 0.05)
        limits[key] = (lo - pad, hi + pad)
    return limits


def _curves_row(axes, curves: Mapping, ylims: Mapping | None, xlabel: bool) -> None:
    for ax, (key, label) in zip(axes, _PANELS):
        scale = 100.0 if key == "accuracy" else 1.0
        _band(ax, curves["step"], curves[f"train_{key}"], TRAIN_COLOR, "training", scale)
        _band(ax, curves["step"], curves[f"val_{key}"], VAL_COLOR, "validation", scale)
        if xlabel:
            ax.set_xlabel("update step")
        ax.set_ylabel(label)
        if ylims and key in ylims:
            ax.set_ylim(*ylims[key])


def _curves_legend(fig: Figure, *curves: Mapping) -> None:
    """One legend below the panels: training, validation and what the band is."""
    from matplotlib.patches import Patch

    n_runs = max((max(c["n"]) for c in curves if c["n"]), default=0)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    handles.append(Patch(color="0.5", alpha=0.3, lw=0))
    labels.append(f"mean of {n_runs} seed{'s' if n_runs != 1 else ''}; band: lowest to highest")
    fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)


def plot_histories(runs: Sequence[tuple[str, Mapping]], title: str) -> Figure:
    """Loss, cost and accuracy vs update step of single runs: ``runs`` is ``(label, history)`` pairs.

    One run: training and validation in the report's colours. Several: a colour per run, its
    validation curve solid and its training curve dashed, labelled below the panels.
    """
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 2.55)
        axes = fig.subplots(1, 3)
        for ax, (key, label) in zip(axes, _PANELS):
            scale = 100.0 if key == "accuracy" else 1.0
            for i, (name, history) in enumerate(runs):
                values = {part: [float("nan") if v is None else scale * v for v in history[f"{part}_{key}"]]
                          for part in ("train", "val")}  # fmt: skip
                if len(runs) == 1:
                    ax.plot(history["step"], values["train"], color=TRAIN_COLOR, label="training")
                    ax.plot(history["step"], values["val"], color=VAL_COLOR, label="validation")
                else:
                    ax.plot(history["step"], values["val"], color=f"C{i % 10}", label=name)
                    ax.plot(history["step"], values["train"], color=f"C{i % 10}", ls="--", lw=1.0)
            ax.set_xlabel("update step")
            ax.set_ylabel(label)
        handles, labels = axes[0].get_legend_handles_labels()
        if len(runs) > 1:
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color="0.4", ls="--", lw=1.0))
            labels.append("dashed: training; solid: validation")
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3), frameon=False)
        fig.suptitle(title)
    return fig


def plot_lambda_search(rows: Sequence[Mapping], chosen: float, interval: tuple[float, float] | None = None) -> Figure:
    """Accuracy vs lambda (log x, the symbols in mathtext): validation (used for the choice) and test (only reported)."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 3.3)
        ax = fig.subplots()
        if interval is not None:
            ax.axvspan(*interval, color="0.85", alpha=0.6, lw=0, label="fine-stage interval")
        for stage, marker in (("coarse", "o"), ("fine", "s")):
            sel = sorted((r for r in rows if r["stage"] == stage), key=lambda r: r["lam"])
            if not sel:
                continue
            lams = [r["lam"] for r in sel]
            val = [_pct(r["val_mean"]) for r in sel]
            val_err = [_pct(r["val_std"]) if r["n"] > 1 else 0.0 for r in sel]
            test = [_pct(r["test_mean"]) for r in sel]
            ax.errorbar(lams, val, yerr=val_err, fmt=marker, color=VAL_COLOR, ms=5, capsize=3,
                        label=f"validation, {stage}")  # fmt: skip
            ax.plot(lams, test, marker, color=TEST_COLOR, ms=5, mfc="none", label=f"test, {stage} (not used)")
        ax.axvline(chosen, color="k", ls="--", lw=1, label=rf"chosen $\lambda$ = {fmt_power(chosen)}")
        ax.set_xscale("log")
        ax.margins(x=0.05)  # the end points' markers off the frame
        ax.set_xlabel(r"$\lambda$ (L2 regularisation)")
        ax.set_ylabel("accuracy (%)")
        fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", frameon=False)
        ax.set_title(r"$\lambda$ search, 3-layer network with BN")
    return fig


def plot_sensitivity_grid(cells: Sequence[Mapping], sigmas: Sequence[float]) -> Figure:
    """Training and validation loss for each (BN, sigma) cell: rows without/with BN, columns sigma.

    All panels share their axes; the y limits have a margin, so a flat line (a network stuck at
    chance, loss ln 10) stays off the frame.
    """
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 4.3)
        axes = fig.subplots(2, len(sigmas), sharex=True, sharey=True, squeeze=False)
        for cell in cells:
            row = 1 if cell["batch_norm"] else 0
            col = list(sigmas).index(cell["sigma"])
            ax = axes[row][col]
            curves = cell["curves"]
            _band(ax, curves["step"], curves["train_loss"], TRAIN_COLOR, "training")
            _band(ax, curves["step"], curves["val_loss"], VAL_COLOR, "validation")
            test = cell["test_accuracy"]
            acc = "diverged" if not test["n"] else f"test {100 * test['mean']:.1f} ± {100 * test['std']:.1f} %"
            ax.set_title(f"{'with' if cell['batch_norm'] else 'without'} BN, $\\sigma$ = {fmt_power(cell['sigma'])}\n{acc}")
            if row == 1:
                ax.set_xlabel("update step")
            if col == 0:
                ax.set_ylabel("loss (cross-entropy)")
        limits = training_curves_limits(*(c["curves"] for c in cells), margin=0.08).get("loss")
        if limits:
            axes[0][0].set_ylim(*limits)
        _curves_legend(fig, *(c["curves"] for c in cells))
        fig.suptitle(r"Sensitivity to the initial weight scale $\sigma$ (3-layer network [50, 50])")
    return fig


def _pct(value: float | None) -> float:
    return float("nan") if value is None else 100 * value


def save_figure(fig: Figure, name: str, figures_dir: str | os.PathLike) -> "FigureFiles":
    """Write ``<figures_dir>/<name>.pdf`` and ``.png`` (tight bounding box) through temp files + rename.

    The tight box with a small pad keeps a :data:`TEXT_WIDTH` figure within the text width, so
    the PDF report shows it at its drawn size.
    """
    folder = Path(figures_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for ext, options in (("pdf", {"metadata": {"CreationDate": None}}), ("png", {"dpi": 150})):
        with atomic_path(folder / f"{name}.{ext}", suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", pad_inches=0.02, **options)
    return FigureFiles(folder / name)


class FigureFiles:
    """A saved figure (``<stem>.pdf`` and ``.png``), displayed in notebooks from the files themselves.

    Its MIME bundle holds the PNG (shown by JupyterLab and the HTML export) and the PDF
    (preferred by the LaTeX export, so the PDF report gets vector graphics).
    """

    def __init__(self, stem: str | os.PathLike) -> None:
        self.stem = Path(stem)
        self.pdf, self.png = self.stem.with_suffix(".pdf"), self.stem.with_suffix(".png")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {
            "image/png": base64.b64encode(self.png.read_bytes()).decode(),
            "application/pdf": base64.b64encode(self.pdf.read_bytes()).decode(),
            "text/plain": f"<figure {self.stem.name}: {self.pdf}, {self.png}>",
        }

    def __repr__(self) -> str:
        return f"FigureFiles({str(self.stem)!r})"
