"""``TrainConfig``: every option of a training run, its default, its help text and its validation.

The one place where a training option lives: the ``dd2424 train`` flags, the set of options beyond
the assignment (:data:`EXTENSION_DEFAULTS`) and a run's saved configuration are derived from these
fields, so the command line, the Python API and the saved runs can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from .errors import ConfigError
from .network import KLayerNet
from .schedule import DEFAULT_DECAY_FACTOR, LR_DECAYS, check_cyclical, check_decay
from .skip import skip_blocks


def _option(default, help: str, *, flag: str | None = None, beyond: bool = False, choices=None, metavar: str | None = None):
    """A :class:`TrainConfig` field with what the command line needs to offer it.

    ``help`` becomes the flag's help text, ``flag`` its name when it is not the field's name,
    and ``beyond`` marks an option beyond the assignment's training (off by default; recorded in
    a run's configuration only when set).
    """
    meta = {"help": help, "flag": flag, "beyond": beyond, "choices": choices, "metavar": metavar}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, with the assignment's defaults.

    Each field is the one place where an option, its default and its help text live: the
    ``dd2424 train`` flags and the set of options beyond the assignment
    (:data:`EXTENSION_DEFAULTS`) are derived from these fields, and :meth:`validate` checks
    every value once, whoever built the configuration.
    """

    hidden: tuple[int, ...] = _option((50, 50), "hidden layer sizes, comma-separated", metavar="H1,H2")
    batch_norm: bool = _option(True, "batch normalisation of every hidden layer", flag="bn")
    init: str | float = _option("he", "initial weights: he, xavier or a fixed sigma such as 1e-3", metavar="he|xavier|SIGMA")
    lam: float = _option(0.005, "L2 regularisation lambda")
    eta_min: float = _option(1e-5, "lowest learning rate of the cycle")
    eta_max: float = _option(1e-1, "highest learning rate of the cycle")
    n_s: int = _option(2250, "half-cycle length in update steps")
    cycles: int = _option(2, "number of learning-rate cycles")
    batch_size: int = _option(100, "mini-batch size", flag="batch")
    seed: int = _option(0, "seed of the initialisation, shuffling, augmentation and dropout (>= 0)")
    dtype: str = _option("float32", "floating-point type of the parameters", choices=("float32", "float64"))
    records_per_cycle: int = _option(10, "history records (train and validation metrics, single views) per cycle")
    bn_position: str = _option("before", "BN before or after the ReLU", beyond=True, choices=("before", "after"))
    dropout: float = _option(0.0, "probability of dropping a hidden unit (inverted dropout)", beyond=True)
    label_smoothing: float = _option(0.0, "label smoothing eps of the training loss (targets (1 - eps) one-hot + eps / K)",
                                     beyond=True, metavar="EPS")  # fmt: skip
    flip: bool = _option(False, "random horizontal flips of the training images", beyond=True)
    max_shift: int = _option(0, "random translations of up to this many pixels", beyond=True)
    optimizer: str = _option("sgd", "sgd or adam (with the same cyclical rate; choose eta_max about 1e-3)",
                             beyond=True, choices=("sgd", "adam"))  # fmt: skip
    precise_bn: int = _option(0, "recompute the BN statistics on N training samples after training", beyond=True, metavar="N")
    precise_bn_per_epoch: int = _option(0, "with precise_bn: also recompute them K times per epoch (for the history)",
                                        beyond=True, metavar="K")  # fmt: skip
    test_flips: bool = _option(False, "final metrics with the probabilities averaged over each image and its mirror "
                               "(the history's records stay single views)", beyond=True)  # fmt: skip
    zca: float = _option(0.0, "ZCA-whiten the inputs with this epsilon, fitted on the training split (0: off)",
                         beyond=True, metavar="EPS")  # fmt: skip
    skip: bool = _option(False, "skip connections over hidden layers 2-3, 4-5, ... of the width of the layer before them",
                         beyond=True)  # fmt: skip
    history_train_samples: int | None = _option(None, "evaluate the history's training metrics on the first N training samples",
                                                beyond=True, metavar="N")  # fmt: skip
    lr_decay: str = _option("none", "learning-rate decay: none (the cycles as they are), cyclical (each cycle's peak "
                            "times lr_decay_factor) or cosine (warm-up over n_s steps, then one cosine to eta_min)",
                            beyond=True, choices=LR_DECAYS)  # fmt: skip
    lr_decay_factor: float = _option(DEFAULT_DECAY_FACTOR, "with lr_decay cyclical: the peak's factor per cycle, in (0, 1]",
                                     beyond=True, metavar="F")  # fmt: skip
    record_grad_norms: bool = _option(False, "record each W_l's gradient norm on a fixed probe batch in the history",
                                      beyond=True)  # fmt: skip

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the impossible setting and a valid range."""
        if any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden layer sizes must be positive, got {list(self.hidden)}")
        if not (self.lam >= 0 and math.isfinite(self.lam)):
            raise ConfigError(f"lambda must be a finite number >= 0, got {self.lam}")
        check_cyclical(self.eta_min, self.eta_max, self.n_s)
        if int(self.cycles) != self.cycles or self.cycles < 1:
            raise ConfigError(f"cycles must be a positive integer, got {self.cycles}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0 (numpy's generators take no negative seeds), got {self.seed}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ConfigError(f"batch size must be a positive integer, got {self.batch_size}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.records_per_cycle < 1:
            raise ConfigError(f"records_per_cycle must be >= 1, got {self.records_per_cycle}")
        if self.bn_position not in ("before", "after"):
            raise ConfigError(f"bn_position must be 'before' or 'after' (the ReLU), got {self.bn_position!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 <= self.max_shift < 32:
            raise ConfigError(f"max_shift must be between 0 and 31 pixels, got {self.max_shift}")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.precise_bn_per_epoch < 0 or (self.precise_bn_per_epoch and not self.precise_bn):
            raise ConfigError("precise_bn_per_epoch must be >= 0 and needs precise_bn (the number of samples)")
        if not (self.zca >= 0 and math.isfinite(self.zca)):
            raise ConfigError(f"zca (the whitening epsilon) must be a finite number >= 0, got {self.zca}")
        if self.skip:
            skip_blocks([0, *self.hidden, 0])  # ConfigError when no pair of hidden layers can carry a skip
        if self.precise_bn < 0:
            raise ConfigError(f"precise_bn (--precise-bn) must be a sample count >= 0 (0: off), got {self.precise_bn}")
        if self.history_train_samples is not None and self.history_train_samples < 1:
            raise ConfigError(f"history_train_samples (--history-train-samples) must be a positive sample count, "
                              f"got {self.history_train_samples}")  # fmt: skip
        check_decay(self.lr_decay, self.lr_decay_factor)

    @property
    def total_steps(self) -> int:
        """Number of update steps: ``2 n_s`` per cycle."""
        return 2 * self.n_s * self.cycles

    def build_network(self, d_in: int, n_classes: int) -> KLayerNet:
        """The initialised network this configuration trains."""
        return KLayerNet(
            [d_in, *self.hidden, n_classes], batch_norm=self.batch_norm, init=self.init, seed=self.seed,
            dtype=self.dtype, bn_position=self.bn_position, dropout=self.dropout, label_smoothing=self.label_smoothing,
            skip=self.skip,
        )  # fmt: skip

    def to_dict(self) -> dict:
        """Plain-JSON form (tuples become lists); options beyond the assignment appear only when set."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        for name, default in EXTENSION_DEFAULTS.items():
            if d[name] == default:
                del d[name]
        return d


def _fields_doc(cls: type) -> str:
    """The ``Fields`` section of a docstring: every field's type, default and help, from its metadata,
    so that ``TrainConfig?`` in Jupyter answers what ``dd2424 train --help`` answers."""
    lines = ["", "Fields", "------", "``name : type = default  (flag of dd2424 train)``, then its help text.", ""]
    for f in fields(cls):
        flag = "--" + (f.metadata["flag"] or f.name).replace("_", "-")
        extra = ", beyond the assignment" if f.metadata["beyond"] else ""
        choices = f", one of {', '.join(map(str, f.metadata['choices']))}" if f.metadata["choices"] else ""
        lines += [f"{f.name} : {f.type} = {f.default!r}  ({flag}{extra})", f"    {f.metadata['help']}{choices}"]
    return "\n".join("    " + line if line else line for line in lines)


TrainConfig.__doc__ = (TrainConfig.__doc__ or "").rstrip() + "\n" + _fields_doc(TrainConfig) + "\n"

#: the options beyond the assignment and their defaults (which reproduce its training exactly)
EXTENSION_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.metadata["beyond"]}
