"""Mini-batch gradient descent with the cyclical learning rate (`docs/maths.md`, section 5).

The trainer sees the network only through ``forward_backward``, ``update_running_averages``,
``params``, ``scores``, ``evaluate``, ``precise_bn`` and ``weight_penalty``: it knows nothing of
the layers' insides. ``TrainConfig`` is the one place where a training option, its default and
its help text live.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from .adaptive_bn import adaptive_bn_metrics
from .augment import augment_batch, mirror
from .collapse import CollapseWatch
from .config import EXTENSION_DEFAULTS, TrainConfig
from .errors import ConfigError
from .grad_norms import PROBE_ROWS, grad_norm_keys, grad_norms
from . import layers
from .layers import softmax
from .network import KLayerNet
from .optimizers import SGD, Adam, make_optimizer
from .progress import reporter, result_html, result_line
from .schedule import decayed_eta
from .whitening import fold_into_first_layer, whitening

HISTORY_KEYS = (
    "step", "epoch", "eta",
    "train_cost", "train_loss", "train_accuracy",
    "val_cost", "val_loss", "val_accuracy",
)  # fmt: skip


class SplitLike(Protocol):
    X: np.ndarray
    y: np.ndarray


class DataLike(Protocol):
    train: SplitLike
    val: SplitLike
    test: SplitLike


@dataclass
class TrainResult:
    """What a run produced: the history, final metrics, timings and whether it diverged."""

    history: dict[str, list[float]]
    final: dict[str, dict[str, float]] = field(default_factory=dict)
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    diverged: bool = False
    diverged_at_step: int | None = None
    message: str = ""
    final_running_averages: dict[str, dict[str, float]] | None = None  # with precise_bn: before it (val and test)
    final_test_flips: dict[str, dict[str, float]] | None = None  # trained with flips, evaluated without: with them
    adaptive_bn: dict[str, dict[str, float]] | None = None  # BN networks: test metrics, see dd2424.adaptive_bn

    def __repr__(self) -> str:  # one line, not the whole history
        return result_line(self)

    def _repr_html_(self) -> str:
        return result_html(self)


def train(
    net: KLayerNet,
    data: DataLike,
    config: TrainConfig,
    progress: Callable[[dict], None] | bool | None = None,
) -> TrainResult:
    """Train ``net`` in place on ``data.train`` and return its history and final accuracies.

    Every epoch reshuffles the training set (with a generator seeded from ``config.seed``);
    the mini-batches of an epoch are consecutive slices of that permutation, and a remainder
    smaller than a batch waits for the next epoch's shuffle. A non-finite cost, or a collapse
    that batch normalisation keeps finite (:mod:`dd2424.collapse`), stops the run and sets
    ``diverged``. ``progress``, if a callable, is called with each history record;
    ``True`` shows a bar over the update steps in a notebook or terminal and record lines elsewhere
    (:mod:`dd2424.progress`; it moves at the records only, so it changes neither the results nor the time).
    The history evaluates single views; ``test_flips`` applies to the final metrics only. A run
    trained with ``flip`` but without ``test_flips`` also gets ``final_test_flips``: the same
    final network (after PreciseBN, as ``final``) evaluated with test-time flips, so that the
    flips can be measured without training again. With ``precise_bn``, ``final_running_averages``
    holds the validation and test metrics of the same weights with the running averages, before
    PreciseBN replaced them.
    ``train_seconds`` counts the update steps and, with ``zca``, the fit of the whitening and the
    whitening of the splits: these are computed once per process (:func:`dd2424.whitening.whitening`),
    and every run that uses them counts the seconds they took when they were computed, whether it
    computed them or reused them. ``eval_seconds`` counts the history evaluations. With ``zca`` the
    network is trained on whitened rows and returned with the whitening folded into its first
    layer, so it takes standardised rows.
    """
    n, b = data.train.X.shape[0], config.batch_size
    if b > n:
        raise ConfigError(f"batch size {b} is larger than the training set ({n} samples)")
    rng = np.random.default_rng([config.seed, 1])  # independent of the initialisation's stream
    extra_keys = grad_norm_keys(net.k) if config.record_grad_norms else []
    result = TrainResult({key: [] for key in (*HISTORY_KEYS, *extra_keys)})
    given = data  # standardised rows, which the network takes again at the end (with zca: after the fold)
    zca = None
    if config.zca:  # part of the method, so counted as training time (see the docstring)
        whitened = whitening(data, config.zca)
        zca, data = whitened.Z, whitened.data
        result.train_seconds += whitened.seconds

    with np.errstate(over="ignore", invalid="ignore"), reporter(progress, config.total_steps) as report:
        _loop(net, data, config, rng, result, report)  # a diverging run is detected there, not warned about
    if not result.diverged:
        if config.precise_bn and net.batch_norm:
            result.final_running_averages = _final_metrics(net, data, config, config.test_flips, ("val", "test"))
            net.precise_bn(data.train.X[: config.precise_bn], config.batch_size)
        result.final = _final_metrics(net, data, config, config.test_flips)
        if not all(math.isfinite(m["cost"]) for m in result.final.values()):
            result.diverged = True
            result.message = "training ended with a non-finite evaluation cost; lower eta_max"
        elif config.flip and not config.test_flips:
            result.final_test_flips = _final_metrics(net, data, config, test_flips=True)
    if zca is not None:
        fold_into_first_layer(net, zca)  # from here on, the network takes standardised rows
    if net.batch_norm and not result.diverged:
        result.adaptive_bn = _adaptive_bn(net, given, config)
    return result


def _final_metrics(
    net: KLayerNet, data: DataLike, config: TrainConfig, test_flips: bool, names: Sequence[str] = ("train", "val", "test")
) -> dict[str, dict[str, float]]:
    """Loss, cost and accuracy on the splits ``names``, with or without test-time flips."""
    return {name: evaluate(net, split.X, split.y, config.lam, test_flips) for name, split in _splits(data) if name in names}


def evaluate(
    net: KLayerNet, X: np.ndarray, y: np.ndarray, lam: float = 0.0, test_flips: bool = False, chunk: int = 5000
) -> dict[str, float]:
    """``{"loss", "cost", "accuracy"}`` in evaluation mode; ``test_flips`` averages the class
    probabilities of each image and its mirror (see :func:`log_proba`)."""
    if not test_flips:
        return net.evaluate(X, y, lam)
    y = np.asarray(y)
    log_p = log_proba(net, X, test_flips, chunk)
    loss = float(-log_p[np.arange(y.size), y].mean())
    accuracy = float((log_p.argmax(axis=1) == y).mean())
    return {"loss": loss, "cost": loss + lam * float(net.weight_penalty()), "accuracy": accuracy}


def log_proba(net: KLayerNet, X: np.ndarray, test_flips: bool = False, chunk: int = 5000) -> np.ndarray:
    """Log class probabilities ``(n, n_classes)`` in float64, as the final metrics see them.

    With ``test_flips`` the probabilities of each image and its mirror are averaged (in chunks
    of rows, so the mirrored copy stays small).
    """
    if not test_flips:
        return layers.log_softmax(net.scores(X).astype(np.float64))
    log_p = np.empty((X.shape[0], net.sizes[-1]))
    for start in range(0, X.shape[0], chunk):
        rows = X[start : start + chunk]
        p = softmax(net.scores(rows).astype(np.float64)) + softmax(net.scores(mirror(rows)).astype(np.float64))
        log_p[start : start + chunk] = np.log(p / 2)
    return log_p


def _loop(
    net: KLayerNet, data: DataLike, config: TrainConfig, rng: np.random.Generator, result: TrainResult, progress
) -> None:
    """The update steps, with a history record every ``2 n_s / records_per_cycle`` steps."""
    X, y = data.train.X, data.train.y
    n, b = X.shape[0], config.batch_size
    record_every = max(1, (2 * config.n_s) // config.records_per_cycle)
    history = result.history
    augment_rng = np.random.default_rng([config.seed, 2])  # separate streams: adding augmentation or
    dropout_rng = np.random.default_rng([config.seed, 3])  # dropout leaves the shuffling unchanged
    optimizer = make_optimizer(config.optimizer)
    precise_every = _precise_bn_interval(config, n)
    augment = config.flip or config.max_shift
    watch = CollapseWatch(net.sizes[-1], config.total_steps, config.eta_max)
    order = rng.permutation(n)
    position, epoch = 0, 0
    tic = time.perf_counter()
    for step in range(config.total_steps):
        if position + b > n:
            order = rng.permutation(n)
            position, epoch = 0, epoch + 1
        batch = order[position : position + b]
        position += b
        eta = decayed_eta(step, config.eta_min, config.eta_max, config.n_s,
                          config.lr_decay, config.lr_decay_factor, config.total_steps)  # fmt: skip
        X_batch = augment_batch(X, augment_rng, config.flip, config.max_shift, rows=batch) if augment else X[batch]
        loss = gradient_step(net, X_batch, y[batch], config.lam, eta, optimizer, dropout_rng if net.dropout else None)
        at_record = (step + 1) % record_every == 0 or step + 1 == config.total_steps
        stop = None if math.isfinite(loss) else (
            f"training diverged at update step {step}: the mini-batch loss became {float(loss)}; "
            f"lower eta_max (now {config.eta_max}) or check the initialisation ({config.init})"
        )  # fmt: skip
        stop = stop or watch.step(step, loss) or (watch.params(step, net.params) if at_record else None)
        if stop:  # a non-finite loss, or a collapse that BN keeps finite (dd2424/collapse.py)
            result.diverged, result.diverged_at_step, result.message = True, step, stop
            result.train_seconds += time.perf_counter() - tic  # the time it ran is kept
            break
        if precise_every and (step + 1) % precise_every == 0:
            net.precise_bn(X[: config.precise_bn], b)  # counted as training time: it is part of the method
        if at_record:
            result.train_seconds += time.perf_counter() - tic
            record = _record(net, data, config, step + 1, epoch, eta)
            result.eval_seconds += record.pop("seconds")
            for key in history:
                history[key].append(record[key])
            if progress is not None:
                progress(record)
            tic = time.perf_counter()
    else:
        result.train_seconds += time.perf_counter() - tic


def gradient_step(
    net: KLayerNet,
    X_batch: np.ndarray,
    y_batch: np.ndarray,
    lam: float,
    eta: float,
    optimizer: SGD | Adam | None = None,
    rng: np.random.Generator | None = None,
) -> np.floating:
    """One update on a mini-batch: gradients, BN running averages, then the optimiser's step.

    ``optimizer`` defaults to plain gradient descent, ``theta -= eta * grad``
    (:class:`SGD`); ``rng`` draws dropout masks. The gradient of the L2 term is added by the
    optimiser in its pass over the weights rather than by the network in a pass of its own, and
    the weight gradients reach it as unevaluated products ``x^T G``, which SGD folds into its
    update (:mod:`dd2424.blas`).
    Returns the mini-batch's cross-entropy loss (the L2 term is not computed: the step does not
    need it, and a diverging run shows in the loss first); a non-finite loss leaves the network
    untouched (the trainer then stops). ``dd2424 bench`` times exactly this function.
    """
    loss, grads, stats = net.forward_backward(X_batch, y_batch, lam, rng, penalty=False, products=True)
    if not math.isfinite(loss):
        return loss
    net.update_running_averages(stats)
    decay = {name: 2 * lam for name in net.penalised()} if lam else None
    (optimizer or _PLAIN_SGD).step(net.params, grads, eta, decay)
    return loss


_PLAIN_SGD = SGD()


def _precise_bn_interval(config: TrainConfig, n: int) -> int:
    """Update steps between the PreciseBN recomputations during training (0: none)."""
    if not (config.precise_bn and config.precise_bn_per_epoch):
        return 0
    return max(1, (n // config.batch_size) // config.precise_bn_per_epoch)


def _record(net: KLayerNet, data: DataLike, config: TrainConfig, step: int, epoch: int, eta: float) -> dict:
    """A history record: training and validation metrics of single views (never test-time flips, so
    that a run's history does not depend on ``test_flips`` and is shared by the runs that differ in it)."""
    tic = time.perf_counter()
    m = config.history_train_samples
    train = evaluate(net, data.train.X[:m], data.train.y[:m], config.lam)
    val = evaluate(net, data.val.X, data.val.y, config.lam)
    record = {"step": step, "epoch": epoch, "eta": eta}
    for prefix, metrics in (("train", train), ("val", val)):
        for key, value in metrics.items():
            record[f"{prefix}_{key}"] = value
    if config.record_grad_norms:  # the probe batch: the first training rows, in training mode
        record.update(grad_norms(net, data.train.X[:PROBE_ROWS], data.train.y[:PROBE_ROWS]))
    record["seconds"] = time.perf_counter() - tic
    return record


def _adaptive_bn(net: KLayerNet, data: DataLike, config: TrainConfig) -> dict[str, dict[str, float]]:
    """The test metrics of :func:`dd2424.adaptive_bn.adaptive_bn_metrics` (as ``final``: with ``test_flips`` if set),
    the shifted test set in pixel units through the data's standardisation (rows taken as pixels without one)."""

    def score(model: KLayerNet, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return evaluate(model, X, y, config.lam, config.test_flips)

    mean, std = getattr(data, "mean", 0.0), getattr(data, "std", 1.0)
    return adaptive_bn_metrics(net, data.test.X, data.test.y, score, mean, std, config.batch_size)


def _splits(data: DataLike) -> Sequence[tuple[str, SplitLike]]:
    return [("train", data.train), ("val", data.val), ("test", data.test)]
