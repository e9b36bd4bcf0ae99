"""Chapter 06, ``06_pictures.ipynb``: what the classifier learned, from the saved runs of earlier chapters (no training).

Two networks are shown side by side: the best row of the ablation ladder (chapter 05, summary
``beyond.best``) and the 3-layer network with BN of the training curves (chapter 02,
``training.3layer_bn``), each by the run record of its FIRST seed (``results/runs/``). Every
record written by the current code holds ``analysis`` (:mod:`dd2424.analysis`): the test-set
confusion counts, the most confidently wrong test images and the most influential first-layer
units drawn as images (for the evaluation-only row of the ladder, test-time flips, the run it
evaluates, with the analysis recorded for flips). From them this module computes what the
report quotes: per-class test accuracy, the most confused pairs, the best and worst classes,
and a measured description of the first-layer units (:func:`first_layer_descriptors`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..analysis import decode_images
from ..errors import ConfigError
from . import beyond, training_curves
from .chapter import Chapter
from .context import Context, earlier_part, rerun_hint
from .ladder import with_test_flips
from .tables import Column, fmt_pct

#: first-layer spatial frequencies up to this many cycles per 32-pixel image (wavelengths of 8 pixels or
#: more) count as "low"
LOW_CYCLES = 4
N_PAIRS, N_CLASSES_QUOTED = 5, 3
FIGURES = {"first_layer": "first_layer_weights", "confusion": "confusion_matrix", "mistakes": "mistakes"}
TABLE = "class_accuracy"

#: no settings of its own and no training: it draws the saved runs of chapters 02 and 05
CHAPTER = Chapter("06_pictures.ipynb", summary=("pictures",))


@dataclass(frozen=True)
class Source:
    """Where a network's runs are named: a summary part of an earlier chapter and the keys to its entry."""

    key: str
    part: str
    keys: tuple[str, ...]
    chapter: str


SOURCES = (
    Source("best", beyond.CHAPTER.stem, ("beyond", "best"), beyond.CHAPTER.stem),
    Source("3layer_bn", training_curves.part_name("3layer"), ("training", "3layer_bn"), training_curves.CHAPTER.stem),
)


@dataclass
class Network:
    """One network of the chapter: its label, summary entry and the run record of its first seed."""

    key: str
    label: str
    entry: Mapping[str, Any]
    seed: int
    run_file: str
    record: Mapping[str, Any]

    @property
    def analysis(self) -> Mapping[str, Any]:
        return self.record["analysis"]


def load_networks(ctx: Context) -> list[Network]:
    """The networks of :data:`SOURCES` from the summary parts and run records in ``ctx``'s output folder.

    Raises :class:`ConfigError` when a part or record is missing, comes from another profile or
    data, or was saved by older code without ``analysis``: rerun the earlier chapters then.
    """
    return [_load(ctx, source) for source in SOURCES]


def _load(ctx: Context, source: Source) -> Network:
    rerun = rerun_hint(ctx, source.chapter)
    entry: Any = earlier_part(ctx, source.part, source.chapter)
    for key in source.keys:
        entry = entry.get(key) if isinstance(entry, Mapping) else None
    if not isinstance(entry, Mapping) or not entry.get("run_files"):
        raise ConfigError(f"{source.part}.json has no {'.'.join(source.keys)}.run_files: {rerun}")
    run_file, seed = entry["run_files"][0], entry["seeds"][0]
    record_path = ctx.paths.runs / str(run_file)
    if not run_file or not record_path.is_file():
        raise ConfigError(f"the run of {'.'.join(source.keys)}, seed {seed}, is missing ({record_path}): {rerun}")
    record = json.loads(record_path.read_text())
    if "analysis" not in record:
        raise ConfigError(f"{record_path.name} was saved by older code, without the analysis (confusion counts, "
                          f"mistakes, first-layer units) this chapter draws: rerun the earlier chapters with the "
                          f"current code (`dd2424 report --profile {ctx.profile.name}`, or notebook {source.chapter}), "
                          f"which saves their runs anew")  # fmt: skip
    if entry.get("config", {}).get("test_flips") and not record["config"].get("test_flips"):
        record = with_test_flips(record)  # an evaluation-only row of the ladder: its saved run, evaluated with flips
    return Network(source.key, network_label(source.key, entry, record), entry, int(seed), str(run_file), record)


def network_label(key: str, entry: Mapping, record: Mapping) -> str:
    """A short label for figures and tables: ``best ladder network``, ``3-layer [50, 50] with BN``."""
    c = record["config"]
    if key == "best":
        return "best ladder network"
    return f"{len(c['hidden']) + 1}-layer {list(c['hidden'])} {'with' if c['batch_norm'] else 'without'} BN"


# --------------------------------------------------------------------------- confusion counts


def class_accuracy(confusion: Sequence[Sequence[int]]) -> list[float | None]:
    """Per true class: correct / test images of that class (None for a class with no test image)."""
    counts = np.asarray(confusion, dtype=np.float64)
    totals = counts.sum(axis=1)
    return [float(counts[i, i] / t) if t else None for i, t in enumerate(totals)]


def confused_pairs(confusion: Sequence[Sequence[int]], class_names: Sequence[str], n: int = N_PAIRS) -> list[dict]:
    """The ``n`` largest off-diagonal counts: true and predicted class, count and fraction of the true class."""
    counts = np.asarray(confusion, dtype=np.int64)
    totals = counts.sum(axis=1)
    cells = [(int(counts[t, p]), t, p) for t in range(len(counts)) for p in range(len(counts)) if t != p and counts[t, p]]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [{"true": class_names[t], "predicted": class_names[p], "count": c, "fraction": c / int(totals[t])}
            for c, t, p in cells[:n]]  # fmt: skip


def extreme_classes(accuracy: Sequence[float | None], class_names: Sequence[str], n: int = N_CLASSES_QUOTED) -> dict:
    """The ``n`` classes of highest and of lowest accuracy (``best`` highest first, ``worst`` lowest first)."""
    ranked = sorted((a, i) for i, a in enumerate(accuracy) if a is not None)
    as_rows = lambda pairs: [{"class": class_names[i], "accuracy": a} for a, i in pairs]
    return {"best": as_rows(sorted(ranked, key=lambda p: (-p[0], p[1]))[:n]), "worst": as_rows(ranked[:n])}


# --------------------------------------------------------------------------- first layer


def first_layer_descriptors(images: np.ndarray, units: Sequence[int] = (), influence: Sequence[float] = ()) -> dict:
    """Where each drawn unit's weight energy lies: colour vs brightness, low vs high spatial frequencies.

    ``images`` are the stored uint8 ``(n, 32, 32, 3)`` pictures of the units' weights, each scaled
    to its own range, so a unit's constant offset is lost: the energy is measured around the
    unit's mean. ``colour_share``: the part of the energy in the differences between the R, G and
    B channels (the pixel-wise channel mean removed); ``brightness_share`` = 1 - colour_share
    (what the three channels have in common). ``low_frequency_share``: the part at spatial
    frequencies of at most :data:`LOW_CYCLES` cycles per image; ``mean_cycles``: the
    energy-weighted mean spatial frequency in cycles per image (up to 16 x sqrt 2). ``noise``
    gives the same numbers for white noise (2/3 colour, about 5 % low frequencies) to compare with.
    """
    w = np.asarray(images, dtype=np.float64)
    w = w - w.mean(axis=(1, 2, 3), keepdims=True)
    total = np.maximum((w**2).sum(axis=(1, 2, 3)), np.finfo(float).tiny)
    grey = w.mean(axis=3, keepdims=True)
    colour = ((w - grey) ** 2).sum(axis=(1, 2, 3)) / total
    power = (np.abs(np.fft.fft2(w, axes=(1, 2))) ** 2).sum(axis=3)  # (n, 32, 32), summed over channels
    radius = _radius(w.shape[1])
    power_total = np.maximum(power.sum(axis=(1, 2)), np.finfo(float).tiny)
    low = power[:, radius <= LOW_CYCLES].sum(axis=1) / power_total
    mean_cycles = (power * radius).sum(axis=(1, 2)) / power_total
    units = list(units) or list(range(len(w)))
    influence = list(influence) or [None] * len(w)
    per_unit = [{"unit": int(u), "influence": inf, "colour_share": float(c), "brightness_share": float(1 - c),
                 "low_frequency_share": float(lo), "mean_cycles": float(m)}
                for u, inf, c, lo, m in zip(units, influence, colour, low, mean_cycles)]  # fmt: skip
    return {
        "n_units": len(w),
        "colour_share": float(colour.mean()) if len(w) else None,
        "low_frequency_share": float(low.mean()) if len(w) else None,
        "mean_cycles": float(mean_cycles.mean()) if len(w) else None,
        "brightness_units": int((colour < 0.5).sum()),  # over half their energy common to R, G and B
        "low_frequency_units": int((low > 0.5).sum()),  # over half at most LOW_CYCLES cycles per image
        "low_cycles": LOW_CYCLES,
        "noise": noise_reference(w.shape[1] if w.ndim == 4 else 32),
        "units": per_unit,
    }


def _radius(side: int) -> np.ndarray:
    f = np.fft.fftfreq(side, d=1.0 / side)  # cycles per image
    return np.hypot(*np.meshgrid(f, f, indexing="ij"))


def noise_reference(side: int = 32) -> dict:
    """The descriptors' expected values for white noise: the share of colour and of low frequencies, mean frequency."""
    radius = _radius(side)
    return {"colour_share": 2 / 3, "low_frequency_share": float((radius <= LOW_CYCLES).mean()),
            "mean_cycles": float(radius.mean())}  # fmt: skip


def describe_first_layer(d: Mapping, label: str) -> str:
    """Two sentences with the measured description of :func:`first_layer_descriptors`, compared with white noise."""
    if not d["n_units"]:
        return f"The first layer of the {label} has no unit to draw (its input is not a 32 x 32 colour image)."
    noise = d["noise"]
    return (
        f"Of the {d['n_units']} most influential first-layer units of the {label}, {d['brightness_units']} are mostly "
        f"brightness patterns (over half of their weight energy common to R, G and B, where white noise has a third) "
        f"and {d['low_frequency_units']} mostly coarse (over half at most {d['low_cycles']} cycles per image, where "
        f"white noise has {100 * noise['low_frequency_share']:.0f} %). On average "
        f"{100 * d['colour_share']:.0f} % of a unit's energy lies in colour differences between the channels "
        f"({100 * noise['colour_share']:.0f} % for noise) and {100 * d['low_frequency_share']:.0f} % in coarse "
        f"patterns ({100 * noise['low_frequency_share']:.0f} % for noise)."
    )


# --------------------------------------------------------------------------- the chapter's numbers


def describe_network(network: Network, class_names: Sequence[str]) -> dict:
    """What the report quotes about one network (an entry of the summary part ``pictures.networks``)."""
    a = network.analysis
    accuracy = class_accuracy(a["confusion"])
    first = a["first_layer"]
    images = decode_images(first)  # (0, 32, 32, 3) when nothing was drawn
    return {
        "label": network.label,
        "run_file": network.run_file,
        "seed": network.seed,
        "seeds_available": list(network.entry.get("seeds", [])),
        "config": network.record["config"],
        "test_accuracy": network.record.get("test_accuracy"),
        "class_accuracy": [{"class": c, "accuracy": acc} for c, acc in zip(class_names, accuracy)],
        "confused_pairs": confused_pairs(a["confusion"], class_names),
        **extreme_classes(accuracy, class_names),
        "first_layer": first_layer_descriptors(images, first.get("units", []), first.get("influence", [])),
        "mistakes": [{"index": m["index"], "true": class_names[m["true"]], "predicted": class_names[m["predicted"]],
                      "p_predicted": m["p_predicted"]} for m in a.get("mistakes", [])],
    }


def class_table(described: Mapping[str, Mapping]) -> tuple[list[dict], list[Column]]:
    """Rows and columns of the per-class accuracy table, one column per network, and a last row of all classes."""
    keys = list(described)
    names = [row["class"] for row in described[keys[0]]["class_accuracy"]]
    rows = [{"class": name, **{k: described[k]["class_accuracy"][i]["accuracy"] for k in keys}}
            for i, name in enumerate(names)]  # fmt: skip
    rows.append({"class": "all classes", **{k: described[k]["test_accuracy"] for k in keys}})
    columns = [Column("class", "class")] + [
        Column(k, f"{described[k]['label']}, seed {described[k]['seed']} (%)", fmt_pct) for k in keys
    ]
    return rows, columns


def mistake_panels(networks: Sequence[Network], data: Any, n: int) -> list[tuple[str, np.ndarray, list[dict]]]:
    """``(label, images, mistakes)`` of the ``n`` most confident mistakes of each network, images from ``data.test``.

    ``data`` is the context's dataset (its test split must be the one the runs were evaluated on:
    each mistake's true class is checked against it).
    """
    from ..image_plots import images_from_rows

    panels = []
    for net in networks:
        mistakes = list(net.analysis["mistakes"][:n])
        index = np.array([m["index"] for m in mistakes], dtype=int)
        y, true = np.asarray(data.test.y), np.array([m["true"] for m in mistakes], dtype=int)
        if np.any(index >= len(y)) or not np.array_equal(y[index], true):
            raise ConfigError(f"the mistakes of {net.run_file} do not match this notebook's test images: "
                              "rerun the earlier chapters on the same data")  # fmt: skip
        images = images_from_rows(data.test.X[index], data.mean, data.std).reshape(-1, 32, 32, 3)
        panels.append((f"{net.label}, seed {net.seed}", images, mistakes))
    return panels


def first_layer_panels(networks: Sequence[Network]) -> list[tuple[str, np.ndarray]]:
    """``(label, images)`` of each network's drawn first-layer units, most influential first."""
    return [(f"{net.label}, seed {net.seed}: {len(decode_images(net.analysis['first_layer']))} most influential units",
             decode_images(net.analysis["first_layer"])) for net in networks]  # fmt: skip


def confusion_panels(networks: Sequence[Network]) -> list[tuple[str, Sequence[Sequence[int]]]]:
    """``(label, counts)`` of each network's test-set confusion matrix."""
    return [(f"{net.label}, seed {net.seed}", net.analysis["confusion"]) for net in networks]


def summary_part(ctx: Context, described: Mapping[str, Mapping], class_names: Sequence[str], n_mistakes: int) -> dict:
    """The summary part ``pictures``: every number and name the report needs (figures and table with the suffix)."""
    return {"pictures": {
        "order": list(described), "networks": dict(described), "class_names": list(class_names),
        "mistakes_shown": n_mistakes, "figures": {k: ctx.name(v) for k, v in FIGURES.items()},
        "table": ctx.name(TABLE), "low_cycles": LOW_CYCLES,
    }}  # fmt: skip
