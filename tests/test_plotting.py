"""The report's figures: drawn at the text width with fonts of at least 8 pt; the picture figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from dd2424 import image_plots, plotting

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STEPS = list(range(0, 101, 10))


def _curve(start, end, noise=0.02):
    mean = [end + (start - end) * math.exp(-4 * t / 100) for t in STEPS]
    return {"mean": mean, "min": [m - noise for m in mean], "max": [m + noise for m in mean]}


def _curves(shift=0.0):
    return {"step": STEPS, "n": [3] * len(STEPS),
            "train_loss": _curve(2.2, 1.0 + shift), "val_loss": _curve(2.2, 1.4 + shift),
            "train_cost": _curve(2.6, 1.3 + shift), "val_cost": _curve(2.6, 1.7 + shift),
            "train_accuracy": _curve(0.2, 0.65 - shift / 4), "val_accuracy": _curve(0.2, 0.53 - shift / 4)}  # fmt: skip


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _smallest_font(fig) -> float:
    FigureCanvasAgg(fig).draw()  # tick labels get their final text and size only when drawn
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    return min(sizes)


def _image_axes(fig):
    return [ax for ax in fig.findobj(matplotlib.axes.Axes) if ax.get_visible() and ax.images]


def _figures():
    cells = [{"batch_norm": bn, "sigma": s, "curves": _curves(), "test_accuracy": {"mean": 0.5, "std": 0.01, "n": 3}}
             for bn in (False, True) for s in (0.1, 1e-3, 1e-4)]  # fmt: skip
    rows = [{"stage": "coarse", "lam": lam, "n": 2, "val_mean": 0.5, "val_std": 0.01, "test_mean": 0.49}
            for lam in (1e-4, 1e-3, 1e-2)]  # fmt: skip
    mistakes = [{"true": 3, "predicted": 5, "p_predicted": 0.97}] * 4
    return {
        "curves": plotting.plot_training_curves(_curves(), "title"),
        "pair": plotting.plot_training_curves_pair(_curves(0.3), "no BN", _curves(), "BN"),
        "lambda": plotting.plot_lambda_search(rows, 1e-3, (1e-4, 1e-2)),
        "sensitivity": plotting.plot_sensitivity_grid(cells, [0.1, 1e-3, 1e-4]),
        "first_layer": image_plots.plot_first_layer([("a", _images(16)), ("b", _images(16, 1))]),
        "confusion": image_plots.plot_confusion_matrices([("a", np.eye(10, dtype=int) * 90 + 1)] * 2, CLASSES),
        "mistakes": image_plots.plot_mistakes([("a", _images(4), mistakes), ("b", _images(4), mistakes)], CLASSES),
    }


@pytest.mark.parametrize("name", ["curves", "pair", "lambda", "sensitivity", "first_layer", "confusion", "mistakes"])
def test_figures_are_text_wide_with_fonts_of_at_least_8_pt(name, tmp_path):
    fig = _figures()[name]
    width, _ = fig.get_size_inches()
    assert width <= plotting.TEXT_WIDTH + 1e-9
    assert _smallest_font(fig) >= plotting.MIN_FONT_SIZE
    files = plotting.save_figure(fig, name, tmp_path)
    assert files.pdf.stat().st_size > 0 and files.png.stat().st_size > 0


def test_shared_limits_cover_both_networks_with_a_margin():
    a, b = _curves(0.5), _curves()
    limits = plotting.training_curves_limits(a, b)
    lows = min(min(c["train_loss"]["min"]) for c in (a, b))
    highs = max(max(c["val_loss"]["max"]) for c in (a, b))
    assert limits["loss"][0] < lows and limits["loss"][1] > highs
    fig = plotting.plot_training_curves_pair(a, "a", b, "b")
    axes = fig.axes[:6]
    for col in range(3):
        assert axes[col].get_ylim() == pytest.approx(axes[3 + col].get_ylim())
    fig = plotting.plot_training_curves(a, "a", ylims=limits)
    assert fig.axes[0].get_ylim() == pytest.approx(limits["loss"])


def test_a_flat_line_stays_off_the_frame():
    flat = {key: {"mean": [2.302] * len(STEPS), "min": [2.302] * len(STEPS), "max": [2.302] * len(STEPS)}
            for key in ("train_loss", "val_loss", "train_cost", "val_cost", "train_accuracy", "val_accuracy")}  # fmt: skip
    flat.update(step=STEPS, n=[2] * len(STEPS))
    cells = [{"batch_norm": bn, "sigma": s, "curves": flat if not bn else _curves(),
              "test_accuracy": {"mean": 0.1, "std": 0.0, "n": 2}} for bn in (False, True) for s in (0.1, 1e-4)]  # fmt: skip
    fig = plotting.plot_sensitivity_grid(cells, [0.1, 1e-4])
    lo, hi = fig.axes[0].get_ylim()
    assert hi - 2.302 > 0.04 * (hi - lo)


def test_picture_figures_have_one_image_axes_per_image():
    first = image_plots.plot_first_layer([("a", _images(16)), ("b", _images(12))])
    assert len(_image_axes(first)) == 28
    confusion = image_plots.plot_confusion_matrices([("a", np.ones((10, 10), int)), ("b", np.eye(10, dtype=int))], CLASSES)
    assert len(_image_axes(confusion)) == 2
    assert [t.get_text() for t in confusion.axes[0].get_xticklabels()] == CLASSES
    cells = [t.get_text() for t in confusion.axes[0].texts]
    assert cells[:2] == ["10", "10"]  # row-normalised: 1 of 10 in each cell of a row of ones
    mistakes = [{"true": 0, "predicted": "cat", "p_predicted": 0.971}] * 3
    fig = image_plots.plot_mistakes([("a", _images(3), mistakes)], CLASSES)
    axes = _image_axes(fig)
    assert len(axes) == 3 and axes[0].get_xlabel() == "airplane ->\ncat (p = 0.97)"


def test_picture_figures_check_their_inputs():
    with pytest.raises(ValueError, match="32, 32, 3"):
        image_plots.plot_first_layer([("a", np.zeros((4, 3, 32, 32), np.uint8))])
    with pytest.raises(ValueError, match="10 x 10"):
        image_plots.plot_confusion_matrices([("a", np.ones((9, 9), int))], CLASSES)


def test_images_from_rows_inverts_the_standardisation_exactly():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    rows = images.transpose(0, 3, 1, 2).reshape(5, 3072).astype(np.float64)  # R, G, B planes, row-major
    mean, std = rows.mean(axis=0) + 0.3, rows.std(axis=0) + 1.7
    standardised = ((rows - mean) / std).astype(np.float32)  # as the Dataset stores them
    back = image_plots.images_from_rows(standardised, mean, std)
    assert back.dtype == np.uint8 and back.shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(back, images)
    assert image_plots.images_from_rows(standardised[0], mean, std).shape == (1, 32, 32, 3)
