"""Your own experiment in a few lines: load, configure, train with live progress, look at the result.

::

    from dd2424.explore import TrainConfig, fit, load_cifar10, plot_confusion, plot_history
    data = load_cifar10()
    net, result = fit(TrainConfig(hidden=(100, 50), bn_position="after", cycles=1), data)
    plot_history(result)
    plot_confusion(net, data)

Every ``plot_*`` function returns a figure drawn like the report's (:mod:`dd2424.plotting`,
:mod:`dd2424.pictures`) that Jupyter shows as an image when it ends a cell; save one with
``fig.savefig(...)``. :func:`open_exploration` gives ``notebooks/00_explore.ipynb`` the
cached, seeded runs of the chapters (:class:`dd2424.study.context.Context`) in a scratch folder.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .config import TrainConfig
from .data import load_cifar10
from .errors import ConfigError
from .network import KLayerNet
from .training import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "fit", "load_cifar10", "train", "plot_history", "plot_confusion",
           "plot_first_layer", "plot_mistakes", "open_exploration", "EXPLORE_NOTEBOOK"]  # fmt: skip

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


def plot_confusion(net: KLayerNet, data: Any, test_flips: bool = False, title: str | None = None) -> Figure:
    """The test-set confusion matrix of a trained network (row-normalised, as in the report)."""
    from .analysis import confusion_counts
    from .pictures import plot_confusion_matrices
    from .training import log_proba

    predicted = log_proba(net, data.test.X, test_flips).argmax(axis=1)
    counts = confusion_counts(np.asarray(data.test.y), predicted, len(data.label_names))
    return plot_confusion_matrices([(title or _label(net), counts)], data.label_names)


def plot_first_layer(net: KLayerNet, data: Any = None, n: int = 16, title: str | None = None) -> Figure:
    """The first layer's units as 32x32 colour images: with ``data``, the ``n`` most influential on its
    validation images (as the report ranks them), else the first ``n``."""
    from .analysis import INFLUENCE_SAMPLES, decode_images, first_layer_units, unit_images
    from .pictures import plot_first_layer as draw

    W1 = net.params["W1"]
    if W1.shape[0] != 3072:
        raise ConfigError(f"the first layer takes {W1.shape[0]} inputs, not the 3072 of a 32x32 colour image")
    if data is not None:
        units = first_layer_units(net, data.val.X[:INFLUENCE_SAMPLES], n)
        images, which = decode_images(units), "most influential"
    else:
        images, which = unit_images(W1[:, :n].T), "first"
    return draw([(f"{title or _label(net)}: {len(images)} {which} first-layer units", images)])


def plot_mistakes(net: KLayerNet, data: Any, n: int = 12, test_flips: bool = False) -> Figure:
    """The ``n`` test images the network got wrong with the highest confidence, captioned with the classes."""
    from .analysis import worst_mistakes
    from .pictures import images_from_rows, plot_mistakes as draw, short_caption
    from .training import log_proba

    mistakes = worst_mistakes(log_proba(net, data.test.X, test_flips), np.asarray(data.test.y), n)
    index = [m["index"] for m in mistakes]
    images = images_from_rows(data.test.X[index], data.mean, data.std)
    return draw([(f"{_label(net)}: most confident mistakes", images, mistakes)], data.label_names, columns=6,
                caption=short_caption)  # fmt: skip


def open_exploration(parameters: Mapping[str, Any], output_dir: str | os.PathLike | None = None):
    """The :class:`~dd2424.study.context.Context` of an exploration notebook (pass ``globals()``).

    Like a chapter's, with the profile (data size, schedule, seeds) and the parameters' ``seeds``,
    but its runs are cached in a scratch folder, ``build-report/explore`` of the checkout by default,
    never in the committed ``results/``.
    """
    from .study.context import Context
    from .study.paths import default_output_dir

    folder = output_dir or parameters.get("output_dir") or default_output_dir("explore")
    overrides = {"seeds": list(parameters["seeds"])} if parameters.get("seeds") else {}
    return Context(parameters.get("profile", "quick"), output_dir=folder, data=parameters.get("data"),
                   jobs=parameters.get("jobs", 1), **overrides)  # fmt: skip


def _as_record(result: Any) -> Mapping:
    if isinstance(result, TrainResult):
        return {"history": result.history}
    if isinstance(result, Mapping) and "history" in result:
        return result
    raise ConfigError(f"expected a TrainResult or a run record with a history, got {type(result).__name__}")


def _config_dict(config: Any) -> Mapping:
    return config.to_dict() if isinstance(config, TrainConfig) else config


def _label(net: KLayerNet) -> str:
    """``3-layer [100, 50] with BN after ReLU``: the network's depth, widths and BN."""
    bn = "with BN" + (" after ReLU" if net.bn_position == "after" else "") if net.batch_norm else "without BN"
    return f"{net.k}-layer {list(net.sizes[1:-1])} {bn}"
