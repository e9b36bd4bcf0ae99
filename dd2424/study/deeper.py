"""Chapter 07, ``07_deeper.ipynb``: a deeper network made easier to optimise, and Adaptive BN (the assignment's bonus).

**Seven layers.** A network with 6 hidden layers of one width is trained in cumulative variants
(:data:`VARIANTS`), each compared, seed by seed, with the one before it (:mod:`.paired`):

* narrow (:attr:`DeeperSettings.deep_narrow` units, the profile's seeds): ``sgd``, the
  assignment's settings with BN (mini-batch gradient descent, the cyclical rate between 1e-5 and
  1e-1, lambda 0.005); ``adam``, + Adam with a decaying rate; ``skip``, + skip connections
  (:mod:`dd2424.skip`: blocks (2, 3) and (4, 5)); ``skip_nobn``, the same without BN;
* wide (:attr:`DeeperSettings.deep_wide` units, :attr:`DeeperSettings.deep_wide_seeds`):
  ``wide``, ``adam`` with more hidden nodes; ``wide_skip``; ``wide_skip_nobn``.

In this engine ``batch_norm=False`` means no BN anywhere: a skip network without BN has no BN on
its sums nor on its plain layers. The best variant is the one of highest mean VALIDATION accuracy.

The rate of the Adam steps: ``eta_max`` 3e-3 with the ``cosine`` decay (a linear warm-up over the
first ``n_s`` steps, then one cosine down to ``eta_min``, :mod:`dd2424.schedule`), the same number
of steps as the cyclical rate. Chosen from a few runs of the narrow network on 10,000 training
images (``n_s`` 500, 2 cycles, seeds 0 and 1, validation accuracy): with ``eta_max`` 1e-3 Adam
fitted the training images faster and generalised worse than SGD (42-43 % against 45 %, whatever
the decay), 1e-2 underfitted (57 % on the training images), and at 3e-3 the cosine decay
(46.2 %) matched the undecayed cycles (46.2 %) and beat the cyclical decay of the peak (45.1 %);
the cosine is the one decay that ends the run annealed from a single peak, the usual schedule
for Adam. Lambda stays at 0.005, so each step changes one thing.

**Nine layers.** The assignment's 9-layer network (hidden 50, 30, 20, 20, 10, 10, 10, 10; one
skip block, (6, 7)) with skip connections, with and without BN, beside its plain and BN versions
of chapter 02. Those, and the 3-layer BN network, are chapter 02's runs: their configurations
are built with :mod:`.training_curves`' functions, so they are read from ``results/runs/``
(:func:`saved_records`), never retrained, and count in none of this chapter's runs or times.

**Adaptive BN** (:mod:`dd2424.adaptive_bn`): every BN run record holds its test accuracy with its
own statistics and with Adaptive BN, on the test set and on the shifted test set. The table pairs
them over the same networks: chapter 02's 3-layer and 9-layer BN networks, the best row of chapter
05's ladder (its runs, from that chapter's summary part) and this chapter's BN variants.
Chapter 02's two BN networks are also trained again with PreciseBN after training
(:func:`precise_configs`): the same seeds and steps give the same weights (checked: the twins'
running-average accuracy equals chapter 02's), so running averages, PreciseBN and Adaptive BN are
compared on the very same networks.
Numbers, tables and the figure are :mod:`.deeper_text`'s, the report's paragraphs :mod:`.deeper_discussion`'s.

**Cost** (full profile): 89 runs, all in one sweep. Measured on full data with shortened schedules
and scaled to 2 x 2250 x 2 steps, one core each, calibrated on a chapter-02 run of the pipeline:
about 15-24 s per narrow 7-layer run, 30 s per 9-layer skip run and 35-42 s per wide (128) run,
about 30 CPU-minutes in all, 15 minutes with ``--jobs 2`` on 2 cores; the 20 PreciseBN twins add
about 10 CPU-minutes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import ConfigError
from ..experiments import run_key
from ..schedule import LR_DECAYS
from ..training import TrainConfig
from . import beyond, training_curves
from .chapter import Chapter
from .context import Context, earlier_part, rerun_hint
from .deeper_text import FIGURE, TABLES, adaptive_section, deep_section, precise_section
from .profiles import ChapterSettings, Profile, check_non_empty, check_positive


@dataclass(frozen=True)
class DeeperSettings(ChapterSettings):
    """What a profile fixes for chapter 07: the widths of the 7-layer networks, the wide ones' seeds, Adam's rate."""

    deep_narrow: int = 50  # units of each hidden layer of the narrow 7-layer networks
    deep_wide: int = 128  # units of each hidden layer of the wide ones (a run: under a minute on one core)
    deep_wide_seeds: tuple[int, ...] = (0, 1, 2)  # seeds of the wide networks
    deep_adam_eta: float = 3e-3  # eta_max of the Adam steps
    deep_decay: str = "cosine"  # learning-rate decay of the Adam steps (dd2424.schedule)
    precise_samples: int = 10000  # training images PreciseBN recomputes the BN statistics on (as the ladder's)

    def check(self) -> None:
        check_positive(self, "deep_narrow", "deep_wide", "precise_samples")
        check_non_empty(self, "deep_wide_seeds")
        if not 0 < self.deep_adam_eta < 1:
            raise ConfigError(f"deep_adam_eta (Adam's eta_max) must be in (0, 1), got {self.deep_adam_eta}")
        if self.deep_decay not in LR_DECAYS:
            raise ConfigError(f"deep_decay must be one of {', '.join(LR_DECAYS)}, got {self.deep_decay!r}")


SETTINGS = {
    "full": DeeperSettings(),
    "quick": DeeperSettings(deep_wide_seeds=(0, 1)),
    "smoke": DeeperSettings(deep_wide=64, deep_wide_seeds=(0, 1)),
}


@dataclass(frozen=True)
class Variant:
    """A 7-layer variant: its key, group (narrow or wide), the variant it is compared with and the step from that one."""

    key: str
    group: str
    previous: str | None
    step: str


VARIANTS: tuple[Variant, ...] = (
    Variant("sgd", "narrow", None, "the assignment's settings with BN"),
    Variant("adam", "narrow", "sgd", "adding Adam with learning-rate decay"),
    Variant("skip", "narrow", "adam", "adding skip connections"),
    Variant("skip_nobn", "narrow", "skip", "removing BN"),
    Variant("wide", "wide", "adam", "adding hidden nodes"),
    Variant("wide_skip", "wide", "wide", "adding skip connections"),
    Variant("wide_skip_nobn", "wide", "wide_skip", "removing BN"),
)
GROUPS = ("narrow", "wide")

#: chapter 02's init and lambda (its notebook's defaults), with which its runs are rebuilt here
CURVES_INIT, CURVES_LAM = "he", 0.005
SHALLOW, NINE = training_curves.DEPTHS[0][1], training_curves.DEPTHS[1][1]
#: the 9-layer networks: key -> (BN, skip); plain and bn are chapter 02's runs
NINE_LAYER = {"plain": (False, False), "bn": (True, False), "skip_nobn": (False, True), "skip_bn": (True, True)}
TRAINED_NINE = ("skip_nobn", "skip_bn")
#: chapter 02's BN networks trained again with PreciseBN after training (:func:`precise_configs`)
PRECISE = ("3layer_bn", "9layer_bn")


def planned_runs(profile: Profile, settings: DeeperSettings) -> int:
    """Training runs of one execution: the narrow variants with the profile's seeds, the wide ones with theirs,
    the two 9-layer skip networks and the two PreciseBN twins with the profile's seeds (chapter 02's runs are
    read, not run)."""
    narrow = sum(v.group == "narrow" for v in VARIANTS)
    wide = len(VARIANTS) - narrow
    return (narrow + len(TRAINED_NINE) + len(PRECISE)) * len(profile.seeds) + wide * len(settings.deep_wide_seeds)


def timing(section: Mapping) -> dict[str, float]:
    """This chapter's share of ``timing``: its own runs (``deep``); ``adaptive_bn`` trains nothing."""
    return {"training_seconds": section.get("compute_seconds", 0.0), "runs": section.get("runs", 0)}


CHAPTER = Chapter("07_deeper.ipynb", summary=("deep", "adaptive_bn"), settings=SETTINGS, planned_runs=planned_runs,
                  timing=timing)  # fmt: skip


# --------------------------------------------------------------------------- configurations


def variant_changes(settings: DeeperSettings) -> dict[str, dict]:
    """Each variant's configuration changes from the chapter's base (:func:`variant_configs`)."""
    narrow, wide = (settings.deep_narrow,) * 6, (settings.deep_wide,) * 6
    adam = {"optimizer": "adam", "eta_max": settings.deep_adam_eta, "lr_decay": settings.deep_decay}
    return {
        "sgd": {"hidden": narrow},
        "adam": {"hidden": narrow, **adam},
        "skip": {"hidden": narrow, **adam, "skip": True},
        "skip_nobn": {"hidden": narrow, **adam, "skip": True, "batch_norm": False},
        "wide": {"hidden": wide, **adam},
        "wide_skip": {"hidden": wide, **adam, "skip": True},
        "wide_skip_nobn": {"hidden": wide, **adam, "skip": True, "batch_norm": False},
    }


def variant_seeds(ctx: Context, variant: Variant) -> tuple[int, ...]:
    """The profile's seeds for a narrow variant, the chapter's wide seeds for a wide one."""
    return tuple(ctx.profile.seeds) if variant.group == "narrow" else tuple(ctx.settings.deep_wide_seeds)


def variant_configs(ctx: Context, variant: Variant) -> list[TrainConfig]:
    """One configuration per seed: the profile's schedule (and history, :meth:`Context.config`), BN, He init,
    lambda 0.005, then the variant's changes."""
    changes = variant_changes(ctx.settings)[variant.key]
    base = {"batch_norm": True, "init": "he", "lam": 0.005}
    return [ctx.config(**{**base, **changes}, seed=s) for s in variant_seeds(ctx, variant)]


def nine_layer_configs(ctx: Context, key: str) -> list[TrainConfig]:
    """The 9-layer network ``key`` of :data:`NINE_LAYER`: exactly chapter 02's configurations, with ``skip`` where set."""
    batch_norm, skip = NINE_LAYER[key]
    configs = training_curves.training_curve_configs(ctx, NINE, batch_norm, CURVES_INIT, CURVES_LAM)
    return [dataclasses.replace(c, skip=True) for c in configs] if skip else configs


def shallow_bn_configs(ctx: Context) -> list[TrainConfig]:
    """Chapter 02's 3-layer BN network, exactly as it builds it."""
    return training_curves.training_curve_configs(ctx, SHALLOW, True, CURVES_INIT, CURVES_LAM)


def precise_configs(ctx: Context, key: str) -> list[TrainConfig]:
    """Chapter 02's BN network ``key`` of :data:`PRECISE` with PreciseBN after training: the same seeds and steps,
    so the same weights, whose BN statistics are then recomputed on the first ``precise_samples`` training images."""
    configs = shallow_bn_configs(ctx) if key == "3layer_bn" else nine_layer_configs(ctx, "bn")
    samples = min(ctx.settings.precise_samples, ctx.data_info["n_train"])
    return [dataclasses.replace(c, precise_bn=samples) for c in configs]


def run_all(ctx: Context) -> tuple[dict[str, list[dict]], dict[str, list[dict]], dict[str, list[dict]]]:
    """Train (or reuse) every run of the chapter in ONE sweep, so the context's jobs share all of them; then read
    chapter 02's 9-layer runs. Returns the records by variant, the 9-layer records by :data:`NINE_LAYER` key and
    the PreciseBN twins by :data:`PRECISE` key."""
    groups = [(v.key, variant_configs(ctx, v)) for v in VARIANTS]
    groups += [(f"9layer_{k}", nine_layer_configs(ctx, k)) for k in TRAINED_NINE]
    groups += [(f"precise_{k}", precise_configs(ctx, k)) for k in PRECISE]
    records = iter(ctx.run([c for _, configs in groups for c in configs], label=ctx.name("deeper")))
    done = {key: [next(records) for _ in configs] for key, configs in groups}
    nine = {k: saved_records(ctx, nine_layer_configs(ctx, k), training_curves.CHAPTER.stem) for k in NINE_LAYER
            if k not in TRAINED_NINE}  # fmt: skip
    nine.update({k: done[f"9layer_{k}"] for k in TRAINED_NINE})
    return {v.key: done[v.key] for v in VARIANTS}, nine, {k: done[f"precise_{k}"] for k in PRECISE}


# --------------------------------------------------------------------------- runs of earlier chapters


def saved_records(ctx: Context, configs: Sequence[TrainConfig], chapter: str) -> list[dict]:
    """The saved run records of ``configs`` (an earlier chapter's runs), read without training or progress lines."""
    records = []
    for config in configs:
        path = ctx.paths.runs / f"{run_key(config, ctx.data_info)}.json"
        if not path.is_file():
            raise ConfigError(f"chapter 07 reuses the runs of {chapter}, but {path.name} (seed {config.seed}) is "
                              f"missing: {rerun_hint(ctx, chapter)}")  # fmt: skip
        records.append(json.loads(path.read_text()))
    return records


def ladder_best_records(ctx: Context) -> tuple[dict, list[dict]]:
    """The best row of chapter 05's ladder: its summary entry (``beyond.best``) and the run records it names."""
    stem = beyond.CHAPTER.stem
    best = earlier_part(ctx, stem, stem).get("beyond", {}).get("best") or {}
    records = []
    for name in best.get("run_files") or []:
        record_path = ctx.paths.runs / str(name)
        if not record_path.is_file():
            raise ConfigError(f"the ladder's best run {record_path} is missing: {rerun_hint(ctx, stem)}")
        records.append(json.loads(record_path.read_text()))
    if not records:
        raise ConfigError(f"{stem}.json has no beyond.best.run_files: {rerun_hint(ctx, stem)}")
    return best, records


# --------------------------------------------------------------------------- the summary part


def own_runs(variants: Mapping[str, Sequence[dict]], nine: Mapping[str, Sequence[dict]],
             precise: Mapping[str, Sequence[dict]]) -> list[dict]:  # fmt: skip
    """The runs this chapter trains (the 7-layer variants, the 9-layer skip networks, the PreciseBN twins), for its timing."""
    return ([r for records in variants.values() for r in records] + [r for k in TRAINED_NINE for r in nine[k]]
            + [r for records in precise.values() for r in records])  # fmt: skip


def summary_part(ctx: Context, variants: Mapping[str, Sequence[dict]], nine: Mapping[str, Sequence[dict]],
                 shallow: Sequence[dict], best: tuple[Mapping, Sequence[dict]],
                 precise: Mapping[str, Sequence[dict]]) -> dict:  # fmt: skip
    """The summary sections ``deep`` (7 and 9 layers) and ``adaptive_bn`` (with ``precise``: running averages,
    PreciseBN and Adaptive BN on chapter 02's BN networks), from the records of every network."""
    own = own_runs(variants, nine, precise)
    deep = deep_section(VARIANTS, variants, nine, shallow, ctx.settings.to_dict())
    deep.update(figure=ctx.name(FIGURE), tables={k: ctx.name(v) for k, v in TABLES.items()},
                compute_seconds=sum(r.get("wall_seconds") or 0.0 for r in own), runs=len(own))  # fmt: skip
    networks = {"3layer_bn": shallow, "9layer_bn": nine["bn"], "ladder_best": best[1],
                **{f"7layer_{v.key}": variants[v.key] for v in VARIANTS if "nobn" not in v.key}}  # fmt: skip
    adaptive = adaptive_section(networks, labels=network_labels(ctx.settings, best[0]))
    adaptive["table"] = ctx.name(TABLES["adaptive_bn"])
    labels = network_labels(ctx.settings, best[0])
    plain = {"3layer_bn": shallow, "9layer_bn": nine["bn"]}
    adaptive["precise"] = precise_section({k: (plain[k], precise[k]) for k in PRECISE}, labels)
    adaptive["precise"].update(samples=min(ctx.settings.precise_samples, ctx.data_info["n_train"]),
                               table=ctx.name(TABLES["precise_bn"]))  # fmt: skip
    return {"deep": deep, "adaptive_bn": adaptive}


def network_labels(settings: DeeperSettings, best: Mapping) -> dict[str, str]:
    """Labels of the Adaptive BN table's networks. A run evaluates every Adaptive BN case as it evaluates its test set
    (``dd2424.training``), so the ladder's best network, trained for test-time flips, is evaluated with them."""
    flips = ", with test-time flips" if best.get("config", {}).get("test_flips") else ""
    out = {"3layer_bn": "3-layer BN network", "9layer_bn": "9-layer BN network",
           "ladder_best": f"best ladder network ({best.get('step', '?')} row{flips})"}  # fmt: skip
    for v in VARIANTS:
        width = settings.deep_narrow if v.group == "narrow" else settings.deep_wide
        out[f"7layer_{v.key}"] = f"7-layer {v.key.replace('_', ' ')} network (width {width})"
    return out
