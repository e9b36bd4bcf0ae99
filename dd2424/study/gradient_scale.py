"""The per-layer gradient norms of chapter 02's networks along training: the numbers and the figure.

Every training-curves run records, at each history step, ``||dL/dW_l||`` and ``||W_l||`` of every
layer on a fixed probe batch (:mod:`dd2424.grad_norms`, history keys ``grad_norm_W1..k`` and
``weight_norm_W1..k``). Averaged over the seeds, they show whether the first layers of a deep
network receive gradients on the same scale as the last, without and with BN: the measurement
behind the report's sentence on why depth needs BN.
"""

from __future__ import annotations

import math
import statistics
from typing import Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

from ..plotting import STYLE, TEXT_WIDTH, _figure


def layer_count(records: Sequence[Mapping]) -> int:
    """How many layers' gradient norms the records' histories hold (0: none recorded)."""
    history = records[0]["history"] if records else {}
    return sum(1 for key in history if key.startswith("grad_norm_W"))


def mean_norms(records: Sequence[Mapping]) -> dict:
    """``{"step": [...], "grad": [[layer 1 per step], ...], "weight": [...]}``: each layer's norms, mean over the
    runs that reached that step (a diverged run stops early; its non-finite values are left out)."""
    k = layer_count(records)
    steps = sorted({s for r in records for s in r["history"]["step"]})
    index = {s: i for i, s in enumerate(steps)}
    out: dict = {"step": steps, "grad": [], "weight": []}
    for kind, part in (("grad_norm", "grad"), ("weight_norm", "weight")):
        for layer in range(1, k + 1):
            sums = [[] for _ in steps]
            for r in records:
                for s, v in zip(r["history"]["step"], r["history"][f"{kind}_W{layer}"]):
                    if v is not None and math.isfinite(v):
                        sums[index[s]].append(v)
            out[part].append([sum(v) / len(v) if v else None for v in sums])
    return out


def summarize(records: Sequence[Mapping]) -> dict | None:
    """Per layer, the median along training of the mean gradient norm (``grad_median``) and of the ratio
    gradient norm / weight norm (``relative_median``, the change a unit step makes relative to the weights),
    and the factor between the largest and the smallest layer of each (``grad_spread``, ``relative_spread``).
    ``None`` when the runs recorded no gradient norms."""
    if not records or not layer_count(records):
        return None
    norms = mean_norms(records)
    grad = [_median(g) for g in norms["grad"]]
    relative = [_median([g / w for g, w in zip(gs, ws) if g is not None and w]) for gs, ws in zip(norms["grad"], norms["weight"])]
    return {"layers": len(grad), "grad_median": grad, "relative_median": relative,
            "grad_spread": _spread(grad), "relative_spread": _spread(relative), "runs": len(records)}  # fmt: skip


def plot_grad_norms(norms_a: Mapping, title_a: str, norms_b: Mapping, title_b: str) -> Figure:
    """Two panels (e.g. without and with BN) with one line per layer: gradient norm along training, log scale,
    y axes shared so the two spreads compare on one scale."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(TEXT_WIDTH, 2.9)
        axes = fig.subplots(1, 2, sharey=True)
        cmap = matplotlib.colormaps["viridis"]
        for ax, norms, title in ((axes[0], norms_a, title_a), (axes[1], norms_b, title_b)):
            k = len(norms["grad"])
            for layer, values in enumerate(norms["grad"], start=1):
                ys = [float("nan") if v is None or v <= 0 else v for v in values]
                ax.plot(norms["step"], ys, color=cmap((layer - 1) / max(1, k - 1)), label=f"$W_{{{layer}}}$")
            ax.set_yscale("log")
            ax.set_xlabel("update step")
            ax.set_title(title)
        axes[0].set_ylabel(r"$\|\partial L / \partial W_l\|_F$ (mean of seeds)")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside right center", frameon=False, title="layer")
    return fig


def fmt_factor(value: float | None) -> str:
    """A ratio of norms: ``37`` or ``1.8``; ``-`` when undefined."""
    return "-" if value is None else f"{value:.2g}" if value < 10 else f"{value:.0f}"


def _median(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(finite) if finite else None


def _spread(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and v > 0]
    return max(finite) / min(finite) if len(finite) > 1 else None
