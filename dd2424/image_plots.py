"""Figures of images for the report: first-layer units, confusion matrices, mistakes.

Plotting only, no training: every function takes arrays and counts computed elsewhere and
returns a :class:`matplotlib.figure.Figure` drawn at the report's text width
(:data:`dd2424.plotting.TEXT_WIDTH`) with fonts of at least 8 pt at that size; save them with
:func:`dd2424.plotting.save_figure`.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .plotting import STYLE, TEXT_WIDTH, _figure

IMAGE_SHAPE = (32, 32, 3)


def images_from_rows(X_standardised: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Undo the standardisation of CIFAR-10 rows: uint8 images ``(n, 32, 32, 3)``.

    A row holds 3,072 values, the R, G and B planes of 32 x 32 pixels, each row-major (the
    archive's layout); ``mean`` and ``std`` are the per-dimension statistics the rows were
    standardised with (``Dataset.mean``, ``Dataset.std``). Pixels are rounded and clipped to 0-255.
    """
    X = np.atleast_2d(np.asarray(X_standardised, dtype=np.float64))
    if X.shape[1] != 3072:
        raise ValueError(f"expected rows of 3072 values, got shape {X.shape}")
    pixels = X * np.asarray(std, dtype=np.float64).reshape(1, -1) + np.asarray(mean, dtype=np.float64).reshape(1, -1)
    planes = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(-1, 3, 32, 32)
    return planes.transpose(0, 2, 3, 1).copy()


def plot_first_layer(panels: Sequence[tuple[str, np.ndarray]], columns: int = 8) -> Figure:
    """One block per network: its label above a grid of its first-layer units as small colour images.

    Each panel is ``(label, images)`` with ``images`` uint8 ``(n, 32, 32, 3)`` (e.g. each unit's
    weights rescaled to 0-255).
    """
    grids = [_grid_shape(len(images), columns) for _, images in panels]
    width = TEXT_WIDTH
    cell = width / max(columns, 1)
    height = sum(rows * cell + 0.3 for rows, _ in grids) + 0.1
    with matplotlib.rc_context(STYLE):
        fig = _figure(width, height)
        subfigs = fig.subfigures(len(panels), 1, height_ratios=[rows * cell + 0.3 for rows, _ in grids], squeeze=False)
        for subfig, (label, images), (rows, cols) in zip(subfigs[:, 0], panels, grids):
            _check_images(images, label)
            axes = subfig.subplots(rows, columns, squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.06})
            for k, ax in enumerate(axes.flat):
                _bare(ax)
                if k < len(images):
                    ax.imshow(images[k], interpolation="nearest")
                else:
                    ax.set_visible(False)
            subfig.suptitle(label, fontsize=STYLE["axes.titlesize"])
    return fig


def plot_confusion_matrices(panels: Sequence[tuple[str, Sequence[Sequence[int]]]], class_names: Sequence[str]) -> Figure:
    """Row-normalised confusion matrices side by side: ``counts[true][predicted]`` as percentages of each true class.

    The percentages are written in the cells; the class names label both axes.
    """
    k = len(class_names)
    n = len(panels)
    size = min(TEXT_WIDTH / max(n, 1), 4.2)
    cell_font = 8.0  # the smallest size the report allows; "100" fits a 10-class cell up to three matrices wide
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH if n > 1 else size + 0.6, size + 0.7)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for j, (ax, (label, counts)) in enumerate(zip(axes, panels)):
            counts = np.asarray(counts, dtype=np.float64)
            if counts.shape != (k, k):
                raise ValueError(f"{label}: expected a {k} x {k} count matrix, got {counts.shape}")
            totals = counts.sum(axis=1, keepdims=True)
            pct = np.divide(100 * counts, totals, out=np.zeros_like(counts), where=totals > 0)
            ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
            ax.grid(False)
            for (r, c), value in np.ndenumerate(pct):
                ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=cell_font,
                        color="white" if value > 55 else "black")  # fmt: skip
            ax.set_xticks(range(k), class_names, rotation=90)
            ax.set_yticks(range(k), class_names if j == 0 else [""] * k)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xlabel("predicted")
            if j == 0:
                ax.set_ylabel("true class")
            accuracy = np.trace(counts) / counts.sum() if counts.sum() else float("nan")
            ax.set_title(f"{label}\naccuracy {100 * accuracy:.1f} %")
    return fig


def plot_mistakes(
    panels: Sequence[tuple[str, np.ndarray, Sequence[Mapping]]],
    class_names: Sequence[str],
    columns: int = 6,
    caption: Callable[[Mapping, Sequence[str]], str] | None = None,
) -> Figure:
    """For each network a block of test images captioned ``true -> predicted (p = 0.97)``.

    Each panel is ``(label, images, mistakes)``: uint8 images ``(n, 32, 32, 3)`` and, for each,
    a dict with ``true`` and ``predicted`` (class indices or names) and ``p_predicted``.
    ``caption(mistake, class_names)`` replaces the default caption, e.g. :func:`short_caption`,
    whose three short lines fit 8 columns at the text width.
    """
    caption = caption or default_caption
    captions = [[caption(m, class_names) for m in mistakes] for _, _, mistakes in panels]
    lines = max((c.count("\n") + 1 for block in captions for c in block), default=1)
    grids = [_grid_shape(len(images), columns) for _, images, _ in panels]
    cell_w = TEXT_WIDTH / columns
    cell_h = 0.9 * cell_w + 0.17 * lines + 0.1  # the image (less the gaps between columns) and its caption
    heights = [rows * cell_h + 0.4 for rows, _ in grids]  # and the block's title
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, sum(heights) + 0.05)
        subfigs = fig.subfigures(len(panels), 1, height_ratios=heights, squeeze=False)
        for subfig, (label, images, mistakes), texts, (rows, _) in zip(subfigs[:, 0], panels, captions, grids):
            _check_images(images, label)
            if len(mistakes) != len(images):
                raise ValueError(f"{label}: {len(images)} images but {len(mistakes)} captions")
            axes = subfig.subplots(rows, columns, squeeze=False)
            for k, ax in enumerate(axes.flat):
                _bare(ax)
                if k >= len(images):
                    ax.set_visible(False)
                    continue
                ax.imshow(images[k], interpolation="nearest")
                ax.set_xlabel(texts[k], fontsize=8, labelpad=2)
            subfig.suptitle(label, fontsize=STYLE["axes.titlesize"])
    return fig


def default_caption(mistake: Mapping, class_names: Sequence[str]) -> str:
    """``cat ->`` / ``dog (p = 0.97)``: true class, predicted class and the probability given to it."""
    m = mistake
    return f"{_name(m['true'], class_names)} ->\n{_name(m['predicted'], class_names)} (p = {m['p_predicted']:.2f})"


def short_caption(mistake: Mapping, class_names: Sequence[str]) -> str:
    """``cat`` / ``as dog`` / ``p = 0.97``: three lines narrow enough for 8 images across the text width."""
    m = mistake
    return f"{_name(m['true'], class_names)}\nas {_name(m['predicted'], class_names)}\np = {m['p_predicted']:.2f}"


def _name(value, class_names: Sequence[str]) -> str:
    if isinstance(value, (int, np.integer)):
        return class_names[int(value)]
    return str(value)


def _grid_shape(n: int, columns: int) -> tuple[int, int]:
    return max(1, math.ceil(n / columns)), columns


def _check_images(images: np.ndarray, label: str) -> None:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{label}: expected images of shape (n, 32, 32, 3), got {images.shape}")


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
