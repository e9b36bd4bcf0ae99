"""Chapter 07's numbers, tables and figure (:mod:`.deeper`): the summary sections ``deep`` and ``adaptive_bn``.

Every comparison is paired over the seeds both sides ran (:mod:`.paired`): the mean difference of
accuracy with its 95 % Student-t interval and its verdict. The 7-layer variants are judged on
validation accuracy (the best one too); test accuracy is reported beside it.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib
from matplotlib.figure import Figure

from ..adaptive_bn import SHIFT
from ..experiments import mean_std
from ..plotting import STYLE, TEXT_WIDTH
from .paired import by_seed, paired_difference
from .stats import summarize_runs
from .tables import Column, fmt_interval, fmt_pct

#: the chapter's figure and tables (names before the context's suffix)
FIGURE = "deep_curves"
TABLES = {"variants": "deep_variants", "nine": "deep_nine", "nine_pairs": "deep_nine_pairs", "adaptive_bn": "adaptive_bn",
          "precise_bn": "adaptive_precise"}  # fmt: skip

#: the 9-layer comparisons, (a, b): a - b paired by seed; "3layer_bn" is chapter 02's 3-layer BN network
NINE_PAIRS = (("skip_bn", "bn"), ("skip_nobn", "plain"), ("skip_nobn", "bn"), ("skip_bn", "3layer_bn"))
NINE_ORDER = ("3layer_bn", "plain", "bn", "skip_nobn", "skip_bn")
NINE_LABELS = {"3layer_bn": "3-layer, BN", "plain": "9-layer, no BN", "bn": "9-layer, BN",
               "skip_nobn": "9-layer, skip, no BN", "skip_bn": "9-layer, skip, BN"}  # fmt: skip

#: the four evaluations of a BN run record's ``adaptive_bn``
EVALUATIONS = ("test", "test_adaptive", "shifted", "shifted_adaptive")


def paired(a: Sequence[dict], b: Sequence[dict], key: str) -> dict:
    """``a - b`` of the run records' ``key`` over the seeds both ran, as plain JSON (:class:`~.paired.PairedDifference`)."""
    return paired_difference(by_seed(list(a), key), by_seed(list(b), key)).to_dict()


def comparison(a: Sequence[dict], b: Sequence[dict]) -> dict:
    """Validation, test and training accuracy of ``a`` minus ``b``, paired by seed (training: whether a step fits
    the training images better or worse, which tells overfitting from underfitting)."""
    return {"val": paired(a, b, "val_accuracy"), "test": paired(a, b, "test_accuracy"),
            "train": paired(a, b, "train_accuracy")}  # fmt: skip


def _mean_val(entry: Mapping) -> float:
    m = entry["val_accuracy"]["mean"]
    return m if m is not None and math.isfinite(m) else -math.inf


def deep_section(variants: Sequence[Any], records: Mapping[str, Sequence[dict]], nine: Mapping[str, Sequence[dict]],
                 shallow: Sequence[dict], settings: Mapping) -> dict:  # fmt: skip
    """The section ``deep``: every 7-layer variant (``variants``: key, group, previous, step) with its paired gain
    over the one before, the best variant by mean validation accuracy, and the 9-layer networks with their pairs."""
    entries = {}
    for v in variants:
        runs = records[v.key]
        c = runs[0]["config"]
        entries[v.key] = {
            **summarize_runs(runs), "group": v.group, "step": v.step, "previous": v.previous,
            "width": c["hidden"][0], "batch_norm": bool(c["batch_norm"]), "skip": bool(c.get("skip")),
            "optimizer": c.get("optimizer", "sgd"), "lr_decay": c.get("lr_decay", "none"),
            "gain": comparison(runs, records[v.previous]) if v.previous else None,
            "train_seconds": sum(r.get("train_seconds") or 0.0 for r in runs) / len(runs),
        }  # fmt: skip
    best = max(entries, key=lambda k: _mean_val(entries[k]))
    networks = {"3layer_bn": list(shallow), **nine}
    return {
        "settings": dict(settings), "order": [v.key for v in variants], "variants": entries, "best": best,
        "nine_layer": {
            "networks": {k: summarize_runs(networks[k]) for k in NINE_ORDER},
            "pairs": [{"a": a, "b": b, **comparison(networks[a], networks[b])} for a, b in NINE_PAIRS],
        },
    }  # fmt: skip


def _accuracy_by_seed(records: Sequence[dict], name: str) -> dict[int, float | None]:
    """Seed -> test accuracy of the evaluation ``name`` of the records' ``adaptive_bn`` (:data:`EVALUATIONS`)."""
    return {r["seed"]: (r.get("adaptive_bn") or {}).get(name, {}).get("accuracy") for r in records}


def _stats(values: Mapping[int, float | None]) -> dict:
    """Mean, std and count of the values, as the summary stores them."""
    return dict(zip(("mean", "std", "n"), mean_std(values.values())))


def adaptive_section(networks: Mapping[str, Sequence[dict]], labels: Mapping[str, str]) -> dict:
    """The section ``adaptive_bn``: per network, the test accuracy of its four evaluations (mean, std, n) and,
    paired over its seeds, what Adaptive BN changes on each test set and what the shift costs without it."""
    out = {}
    for key, records in networks.items():
        values = {name: _accuracy_by_seed(records, name) for name in EVALUATIONS}
        stats = {name: _stats(values[name]) for name in EVALUATIONS}
        out[key] = {
            "label": labels.get(key, key), "seeds": [r["seed"] for r in records], **stats,
            "gain_test": paired_difference(values["test_adaptive"], values["test"]).to_dict(),
            "gain_shifted": paired_difference(values["shifted_adaptive"], values["shifted"]).to_dict(),
            "shift_cost": paired_difference(values["shifted"], values["test"]).to_dict(),
        }  # fmt: skip
    return {"order": list(networks), "networks": out, "shift": dict(SHIFT)}


#: the three sources of BN statistics of :func:`precise_section`, and the two changes it pairs
SOURCES = ("running", "precise", "adaptive")
PRECISE_CHANGES = {"precise_vs_running": ("precise", "running"), "adaptive_vs_precise": ("adaptive", "precise")}


def precise_section(networks: Mapping[str, tuple[Sequence[dict], Sequence[dict]]], labels: Mapping[str, str]) -> dict:
    """Running averages, PreciseBN and Adaptive BN on the same trained networks: ``networks[key]`` is (the runs as
    trained, their twins with PreciseBN after training, whose BN statistics are then those of training images).

    Per network and test set (``test``, ``shifted``): the accuracy of each source of statistics (:data:`SOURCES`;
    running from the runs, PreciseBN and Adaptive BN from the twins) and the two paired changes of
    :data:`PRECISE_CHANGES`. ``same_networks`` says whether every twin is the run it pairs with: the same running-
    average and Adaptive BN accuracy on the test set, to the last bit (training is deterministic per seed)."""
    out = {}
    for key, (plain, twins) in networks.items():
        entry = {"label": labels.get(key, key), "seeds": sorted(r["seed"] for r in twins)}
        for test_set in ("test", "shifted"):
            values = {"running": _accuracy_by_seed(plain, test_set), "precise": _accuracy_by_seed(twins, test_set),
                      "adaptive": _accuracy_by_seed(twins, f"{test_set}_adaptive")}  # fmt: skip
            entry[test_set] = {
                **{name: _stats(values[name]) for name in SOURCES},
                **{change: paired_difference(values[a], values[b]).to_dict() for change, (a, b) in PRECISE_CHANGES.items()},
            }  # fmt: skip
        running, adaptive = _accuracy_by_seed(plain, "test"), _accuracy_by_seed(plain, "test_adaptive")
        entry["same_networks"] = bool(twins) and all(
            r["seed"] in running
            and (r.get("final_running_averages") or {}).get("test", {}).get("accuracy") == running[r["seed"]]
            and (r.get("adaptive_bn") or {}).get("test_adaptive", {}).get("accuracy") == adaptive[r["seed"]]
            for r in twins)  # fmt: skip
        out[key] = entry
    return {"order": list(networks), "networks": out}


# --------------------------------------------------------------------------- tables


def fmt_gain(value: float | None) -> str:
    """A change in points with its sign (``+1.25``); ``-`` when there is none."""
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:+.2f}"


def _interval(key: str):
    return lambda row: fmt_interval(row.get(f"{key}_low"), row.get(f"{key}_high"))


def _gain_fields(prefix: str, d: Mapping | None) -> dict:
    d = d or {}
    return {prefix: d.get("mean"), f"{prefix}_low": d.get("low"), f"{prefix}_high": d.get("high"),
            f"{prefix}_verdict": d.get("verdict"), f"{prefix}_n": d.get("n")}  # fmt: skip


def optimizer_text(entry: Mapping) -> str:
    """``SGD, cyclical`` or ``Adam, cosine decay``."""
    name = "Adam" if entry["optimizer"] == "adam" else "SGD"
    return f"{name}, {'cyclical' if entry['lr_decay'] == 'none' else entry['lr_decay'] + ' decay'}"


def variant_label(key: str) -> str:
    """A variant's name in tables: ``wide, skip, no BN`` for ``wide_skip_nobn``."""
    return key.replace("nobn", "no BN").replace("_", ", ")


def short_step(step: str) -> str:
    """A step as a table shows it: ``+ skip connections``, ``- BN``."""
    return step.replace("adding ", "+ ").replace("removing ", "\u2212 ").replace("the assignment's settings", "assignment")


def variant_rows(deep: Mapping) -> list[dict]:
    """One row per 7-layer variant: what it adds, validation and test accuracy, the paired validation gain."""
    rows = []
    for key in deep["order"]:
        e = deep["variants"][key]
        gain = (e["gain"] or {}).get("val")
        rows.append({
            "variant": variant_label(key), "adds": short_step(e["step"]), "against": e["previous"] or "-", "width": e["width"],
            "batch_norm": e["batch_norm"], "skip": e["skip"], "optimizer": optimizer_text(e),
            "val_mean": e["val_accuracy"]["mean"], "val_std": e["val_accuracy"]["std"], **_gain_fields("val_gain", gain),
            "test_mean": e["test_accuracy"]["mean"], "test_std": e["test_accuracy"]["std"],
            "seeds": e["val_accuracy"]["n"], "train_seconds": e["train_seconds"], "best": "yes" if key == deep["best"] else "",
        })  # fmt: skip
    return rows


VARIANT_COLUMNS = [
    Column("variant", "variant"), Column("adds", "step"), Column("width", "width"), Column("val_mean", "val. %", fmt_pct),
    Column("val_std", "std", fmt_pct, seeds_key="seeds"), Column("val_gain", "gain", fmt_gain),
    Column("val_gain_low", "95 % interval", row_fmt=_interval("val_gain")), Column("test_mean", "test %", fmt_pct),
    Column("test_std", "std ", fmt_pct, seeds_key="seeds"), Column("seeds", "seeds"),
    Column("train_seconds", "s / seed", lambda v: f"{v:.0f}"), Column("best", "best"),
]  # fmt: skip


def nine_rows(deep: Mapping) -> list[dict]:
    """The 9-layer networks (and the 3-layer BN one): validation and test accuracy over their seeds."""
    nets = deep["nine_layer"]["networks"]
    return [{"network": NINE_LABELS[k], "val_mean": nets[k]["val_accuracy"]["mean"],
             "test_mean": nets[k]["test_accuracy"]["mean"], "test_std": nets[k]["test_accuracy"]["std"],
             "seeds": nets[k]["test_accuracy"]["n"], "diverged": nets[k]["diverged"]} for k in NINE_ORDER]  # fmt: skip


NINE_COLUMNS = [Column("network", "network"), Column("val_mean", "val. %", fmt_pct), Column("test_mean", "test %", fmt_pct),
                Column("test_std", "std", fmt_pct, seeds_key="seeds"), Column("seeds", "seeds"),
                Column("diverged", "diverged")]  # fmt: skip


def nine_pair_rows(deep: Mapping) -> list[dict]:
    """The 9-layer comparisons: validation and test accuracy of a minus b, paired by seed."""
    return [{"a": NINE_LABELS[p["a"]], "b": NINE_LABELS[p["b"]], **_gain_fields("val", p["val"]),
             **_gain_fields("test", p["test"])} for p in deep["nine_layer"]["pairs"]]  # fmt: skip


NINE_PAIR_COLUMNS = [
    Column("a", "network"), Column("b", "against"), Column("val", "val. gain", fmt_gain),
    Column("val_low", "95 % interval", row_fmt=_interval("val")), Column("test", "test gain", fmt_gain),
    Column("test_low", "95 % interval ", row_fmt=_interval("test")), Column("test_n", "seeds"),
]  # fmt: skip


def adaptive_rows(section: Mapping) -> list[dict]:
    """One row per network: test and shifted-test accuracy, own statistics vs Adaptive BN, the paired change."""
    rows = []
    for key in section["order"]:
        n = section["networks"][key]
        rows.append({"network": n["label"], "seeds": n["test"]["n"], "test": n["test"]["mean"],
                     "test_adaptive": n["test_adaptive"]["mean"], **_gain_fields("gain_test", n["gain_test"]),
                     "shifted": n["shifted"]["mean"], "shifted_adaptive": n["shifted_adaptive"]["mean"],
                     **_gain_fields("gain_shifted", n["gain_shifted"])})  # fmt: skip
    return rows


ADAPTIVE_COLUMNS = [
    Column("network", "network"), Column("seeds", "seeds"), Column("test", "test %", fmt_pct),
    Column("test_adaptive", "Adaptive BN %", fmt_pct), Column("gain_test", "change", fmt_gain),
    Column("gain_test_low", "95 % interval", row_fmt=_interval("gain_test")), Column("shifted", "shifted %", fmt_pct),
    Column("shifted_adaptive", "Adaptive BN % ", fmt_pct), Column("gain_shifted", "change ", fmt_gain),
    Column("gain_shifted_low", "95 % interval ", row_fmt=_interval("gain_shifted")),
]  # fmt: skip


def precise_rows(section: Mapping) -> list[dict]:
    """One row per network and test set: accuracy with the running averages, PreciseBN and Adaptive BN, the changes."""
    rows = []
    for key in section["order"]:
        n = section["networks"][key]
        for test_set, name in (("test", "test"), ("shifted", "shifted test")):
            e = n[test_set]
            rows.append({"network": n["label"], "set": name, "seeds": e["precise"]["n"],
                         **{source: e[source]["mean"] for source in SOURCES},
                         **{k: v for change in PRECISE_CHANGES for k, v in _gain_fields(change, e[change]).items()}})  # fmt: skip
    return rows


PRECISE_COLUMNS = [
    Column("network", "network"), Column("set", "test set"), Column("seeds", "seeds"), Column("running", "running %", fmt_pct),
    Column("precise", "PreciseBN %", fmt_pct), Column("precise_vs_running", "change", fmt_gain),
    Column("precise_vs_running_low", "95 % interval", row_fmt=_interval("precise_vs_running")),
    Column("adaptive", "Adaptive BN %", fmt_pct), Column("adaptive_vs_precise", "change ", fmt_gain),
    Column("adaptive_vs_precise_low", "95 % interval ", row_fmt=_interval("adaptive_vs_precise")),
]  # fmt: skip


# --------------------------------------------------------------------------- figure


def plot_variants(curves: Mapping[str, Mapping[str, Mapping]], titles: Mapping[str, str]) -> Figure:
    """Loss and accuracy of several variants (``curves[group][label]``: :func:`~.stats.mean_curves`), one row per
    group, the y axes shared per column: validation solid, training dashed, mean over seeds."""
    groups = [g for g in curves if curves[g]]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(TEXT_WIDTH, 2.2 * len(groups) + 0.6), layout="constrained")
        axes = fig.subplots(len(groups), 2, sharex=True, sharey="col", squeeze=False)
        colours = iter(f"C{i}" for i in range(10))  # one colour per variant across the rows
        for row, group in enumerate(groups):
            for label, c in curves[group].items():
                colour = next(colours)
                for col, (key, scale) in enumerate((("loss", 1.0), ("accuracy", 100.0))):
                    ax = axes[row][col]
                    for part, style in (("val", "-"), ("train", "--")):
                        mean = [math.nan if v is None else scale * v for v in c[f"{part}_{key}"]["mean"]]
                        ax.plot(c["step"], mean, style, color=colour, label=label if part == "val" else None)
            axes[row][0].set_ylabel("loss (cross-entropy)")
            axes[row][1].set_ylabel("accuracy (%)")
            axes[row][0].set_title(titles.get(group, group))
            axes[row][1].legend(loc="lower right", frameon=False, fontsize=8)
        for ax in axes[-1]:
            ax.set_xlabel("update step")
        fig.suptitle("validation solid, training dashed; mean over seeds")
    return fig
