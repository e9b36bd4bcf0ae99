"""Your own experiment in a few lines: load, configure, train with live progress, look at the result.

::

    from dd2424.explore import TrainConfig, fit, load_cifar10, plot_confusion, plot_history
    data = load_cifar10()
    config = TrainConfig(hidden=(100, 50), bn_position="after", cycles=1)
    net, result = fit(config, data)  # with a progress bar
    display(plot_history(result, config=config), plot_confusion(net, data))

Every ``plot_*`` function returns a figure drawn like the report's (:mod:`dd2424.plotting`,
:mod:`dd2424.image_plots`) that Jupyter shows as an image when it ends a cell; save one with
``fig.savefig(...)``. :func:`open_exploration` gives ``notebooks/00_explore.ipynb`` the
cached, seeded runs of the chapters (:class:`dd2424.study.context.Context`) in a scratch folder.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .config import TrainConfig
from .data import load_cifar10
from .errors import ConfigError
from .network import KLayerNet
from .training import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "fit", "load_cifar10", "train", "plot_history", "plot_confusion",
           "plot_first_layer", "plot_mistakes", "open_exploration", "exploration_configs", "settings_form",
           "EXPLORE_NOTEBOOK"]  # fmt: skip

#: the exploration notebook: not a chapter of the report, never run by ``dd2424 report``
EXPLORE_NOTEBOOK = "00_explore.ipynb"


def fit(config: TrainConfig, data: Any, progress: Any = True) -> tuple[KLayerNet, TrainResult]:
    """Build ``config``'s network, train it on ``data`` with a progress bar (``progress=True``, see
    :func:`dd2424.training.train`) and return both."""
    net = config.build_network(data.train.X.shape[1], len(data.label_names))
    return net, train(net, data, config, progress=progress)


def plot_history(
    results: Any, labels: Sequence[str] | None = None, title: str | None = None, config: Any = None
) -> Figure:
    """Loss, cost and accuracy vs update step, training and validation, from results as they come.

    ``results``: a :class:`TrainResult`, a saved run record (a dict with ``history``, e.g. from
    ``ctx.run``) or a list of them. A list with ``labels`` draws one labelled line per run; a list
    without labels is taken as seeds of one configuration: their mean with a band from the lowest
    to the highest. ``config`` (a :class:`TrainConfig` or its dict) names the title's network and
    what differs from the assignment's settings; records carry their own.
    """
    from . import plotting
    from .study.stats import mean_curves
    from .study.tables import config_title

    runs = list(results) if isinstance(results, (list, tuple)) else [results]
    if not runs:
        raise ConfigError("plot_history needs at least one result or run record")
    records = [_as_record(r) for r in runs]
    config = config if config is not None else records[0].get("config")
    if title is None:
        title = config_title(_config_dict(config), len(records) if len(records) > 1 and not labels else None) \
            if config is not None else "training and validation curves"  # fmt: skip
    if len(records) > 1 and labels is None:
        return plotting.plot_training_curves(mean_curves(records), title)
    if labels is not None and len(labels) != len(records):
        raise ConfigError(f"plot_history got {len(records)} results but {len(labels)} labels; give one label per result")
    names = list(labels) if labels is not None else [""]
    return plotting.plot_histories([(name, r["history"]) for name, r in zip(names, records)], title)


def plot_confusion(net: KLayerNet | Mapping, data: Any, test_flips: bool = False, title: str | None = None) -> Figure:
    """The test-set confusion matrix (row-normalised, as in the report) of a trained network, or of a
    saved run record (``ctx.run``'s), from the counts it stored; ``data`` gives the test split and class names."""
    from .analysis import confusion_counts
    from .image_plots import plot_confusion_matrices
    from .training import log_proba

    if isinstance(net, Mapping):
        counts = _analysis(net, test_flips)["confusion"]
    else:
        predicted = log_proba(net, data.test.X, test_flips).argmax(axis=1)
        counts = confusion_counts(np.asarray(data.test.y), predicted, len(data.label_names))
    return plot_confusion_matrices([(title or _label(net), counts)], data.label_names)


def plot_first_layer(net: KLayerNet | Mapping, data: Any = None, n: int = 16, title: str | None = None) -> Figure:
    """The first layer's units as 32x32 colour images: with ``data``, the ``n`` most influential on its
    validation images (as the report ranks them), else the first ``n``; of a run record, the units it stored."""
    from .analysis import INFLUENCE_SAMPLES, decode_images, first_layer_units, unit_images
    from .image_plots import plot_first_layer as draw

    if isinstance(net, Mapping):
        images, which = decode_images(_analysis(net)["first_layer"])[:n], "most influential"
    elif net.params["W1"].shape[0] != 3072:
        raise ConfigError(f"the first layer takes {net.params['W1'].shape[0]} inputs, not the 3072 of a 32x32 colour image")
    elif data is not None:
        images, which = decode_images(first_layer_units(net, data.val.X[:INFLUENCE_SAMPLES], n)), "most influential"
    else:
        images, which = unit_images(net.params["W1"][:, :n].T), "first"
    if not len(images):
        raise ConfigError("this run stored no first-layer images (its inputs are not 32x32 colour images)")
    return draw([(f"{title or _label(net)}: {len(images)} {which} first-layer units", images)])


def plot_mistakes(net: KLayerNet | Mapping, data: Any, n: int = 12, test_flips: bool = False) -> Figure:
    """The ``n`` test images of ``data`` that a network (or a run record) got wrong with the highest
    confidence, captioned with the true and predicted classes."""
    from .analysis import worst_mistakes
    from .image_plots import images_from_rows, plot_mistakes as draw, short_caption
    from .training import log_proba

    if isinstance(net, Mapping):
        mistakes = list(_analysis(net, test_flips)["mistakes"][:n])
    else:
        mistakes = worst_mistakes(log_proba(net, data.test.X, test_flips), np.asarray(data.test.y), n)
    images = images_from_rows(data.test.X[[m["index"] for m in mistakes]], data.mean, data.std)
    return draw([(f"{_label(net)}: most confident mistakes", images, mistakes)], data.label_names, columns=6,
                caption=short_caption)  # fmt: skip


#: the settings of a run that the exploration notebook's parameters (and its form) choose
SETTINGS = ("hidden", "batch_norm", "bn_position", "lam", "cycles", "optimizer", "eta_max", "flip", "max_shift")


def open_exploration(parameters: Mapping[str, Any]):
    """The :class:`~dd2424.study.context.Context` of an exploration notebook (pass ``globals()``).

    Like a chapter's: the profile fixes the data size, the schedule and (unless ``seeds`` is
    given) the seeds, and runs are reused when they were saved before; but they are saved in a
    scratch folder, ``build-report/explore`` of the checkout unless ``output_dir`` is given, never
    in the committed ``results/``. ``ctx.params`` holds the parameters, lists given as text parsed
    (``papermill -p hidden "[100, 50]"``).
    """
    from types import SimpleNamespace

    from .study.context import Context
    from .study.notebook import parse_parameter
    from .study.paths import default_output_dir

    values = {k: v for k, v in parameters.items() if not k.startswith("_")}
    for name in ("hidden", "seeds"):
        if name in values and values[name] is not None:
            values[name] = parse_parameter(name, values[name], "list")
    overrides = {"seeds": list(values["seeds"])} if values.get("seeds") else {}
    ctx = Context(values.get("profile", "quick"), output_dir=values.get("output_dir") or default_output_dir("explore"),
                  data=values.get("data"), jobs=values.get("jobs", 1), **overrides)  # fmt: skip
    ctx.params = SimpleNamespace(**{k: values[k] for k in values if k in SETTINGS or k in ("profile", "seeds", "form")})
    return ctx


def exploration_configs(ctx: Any, **settings: Any) -> list[TrainConfig]:
    """One configuration per seed of ``ctx``'s profile, on its schedule, with ``settings``
    (:data:`SETTINGS`; ``cycles=None`` keeps the profile's)."""
    settings = {k: v for k, v in settings.items() if not (k == "cycles" and v is None)}
    return [ctx.config(seed=seed, **settings) for seed in ctx.profile.seeds]


def show_run(ctx: Any, records: Sequence[Mapping]) -> None:
    """Display a run's pictures under the cell: curves (a band over seeds), confusion matrix and first-layer units."""
    from IPython.display import display

    display(plot_history(list(records)), plot_confusion(records[0], ctx.data), plot_first_layer(records[0]))


def settings_form(ctx: Any, **settings: Any) -> Any:
    """An ipywidgets form (``interact_manual``) preset with ``settings``: pick them, press the button, and the
    runs train (or are reused) with live progress and show their pictures below."""
    import ipywidgets as w

    def run(hidden: str, **chosen: Any) -> None:
        widths = tuple(int(v) for v in hidden.replace(" ", "").split(",") if v)
        records = ctx.run(exploration_configs(ctx, hidden=widths, **chosen), label="explore", progress=True)
        show_run(ctx, records)

    s = settings
    return w.interact_manual(
        run,
        hidden=w.Text(",".join(map(str, s.get("hidden", (50, 50)))), description="hidden"),
        batch_norm=w.Checkbox(s.get("batch_norm", True), description="batch norm"),
        bn_position=w.Dropdown(options=["before", "after"], value=s.get("bn_position", "before"), description="BN"),
        lam=w.BoundedFloatText(s.get("lam", 0.005), min=0, max=1, step=0.001, description="lambda"),
        cycles=w.IntSlider(s.get("cycles") or ctx.profile.cycles, min=1, max=6, description="cycles"),
        optimizer=w.Dropdown(options=["sgd", "adam"], value=s.get("optimizer", "sgd"), description="optimizer"),
        eta_max=w.BoundedFloatText(s.get("eta_max", 0.1), min=1e-5, max=1, step=0.01, description="eta_max"),
        flip=w.Checkbox(s.get("flip", False), description="flips"),
        max_shift=w.IntSlider(s.get("max_shift", 0), min=0, max=4, description="shift (px)"),
    )


def _as_record(result: Any) -> Mapping:
    if isinstance(result, TrainResult):
        return {"history": result.history}
    if isinstance(result, Mapping) and "history" in result:
        return result
    raise ConfigError(f"expected a TrainResult or a run record with a history, got {type(result).__name__}")


def _config_dict(config: Any) -> Mapping:
    return config.to_dict() if hasattr(config, "to_dict") else config


def _analysis(record: Mapping, test_flips: bool = False) -> Mapping:
    """A run record's stored analysis (with test-time flips: the one recorded for them, when there is one)."""
    analysis = (record.get("analysis_test_flips") if test_flips else None) or record.get("analysis")
    if not analysis:
        raise ConfigError("this run record holds no analysis (it diverged, or was saved by older code): "
                          "train it again, or pass the trained network")  # fmt: skip
    return analysis


def _label(net: KLayerNet | Mapping) -> str:
    """``3-layer [100, 50] with BN after ReLU``: the network's depth, widths and BN (a record's: its configuration's)."""
    if isinstance(net, Mapping):
        c = net["config"]
        k, hidden, batch_norm, after = len(c["hidden"]) + 1, list(c["hidden"]), c["batch_norm"], c.get("bn_position") == "after"
    else:
        k, hidden, batch_norm, after = net.k, list(net.sizes[1:-1]), net.batch_norm, net.bn_position == "after"
    bn = ("with BN" + (" after ReLU" if after else "")) if batch_norm else "without BN"
    return f"{k}-layer {hidden} {bn}"
