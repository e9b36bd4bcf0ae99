"""Compare analytic gradients with centred finite differences (`docs/maths.md`, section 4).

:func:`numerical_gradient` is a tiny generic helper (a function of an array, perturbed in place);
:func:`check_gradients` applies it to every parameter of a float64 :class:`~dd2424.network.KLayerNet`
and returns, per layer and per parameter, the maximum and mean relative error
``|g_a - g_n| / max(eps, |g_a| + |g_n|)``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from .errors import ConfigError
from .network import KLayerNet

#: Floor of the relative error's denominator: entries whose gradients are both below it
#: (a ReLU unit that is dead for the whole batch, BN-cancelled biases) compare absolutely.
REL_EPS = 1e-10

#: dtypes in which the numerical reference cost can be evaluated; "complex" is the complex step in
#: extended precision (:func:`numerical_gradient`)
REFERENCES = {"float64": np.float64, "extended": np.longdouble, "complex": np.clongdouble}
#: step h per reference: the usual 1e-5 in float64; in extended precision the rounding floor
#: is low enough that a smaller step pays, cutting the O(h^2) truncation error 100-fold; the
#: complex step subtracts nothing, so its step can be far below any rounding
DEFAULT_H = {"float64": 1e-5, "extended": 1e-6, "complex": 1e-30}


@dataclass(frozen=True)
class GradCheckEntry:
    """Relative error of one parameter array of one layer."""

    layer: int
    param: str
    max: float
    mean: float
    max_abs_grad: float


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred differences ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every entry of ``x``.

    ``f`` takes no argument and reads ``x``, which is perturbed in place and restored. For a
    complex ``x`` it is the complex step ``Im f(x + i h e_i) / h`` instead (Squire and Trapp,
    1998): for a real function extended analytically the error is ``O(h^2)`` and, with no
    difference of two close costs, there is no rounding floor, whatever the cost's size.
    """
    grad = np.empty(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing to it perturbs x
    for i in range(flat.size):
        old = flat[i]
        if np.iscomplexobj(flat):
            flat[i] = old + 1j * h
            grad.reshape(-1)[i] = f().imag / h
            flat[i] = old
            continue
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        grad.reshape(-1)[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_errors(g_a: np.ndarray, g_n: np.ndarray, eps: float = REL_EPS) -> np.ndarray:
    """Entry-wise ``|g_a - g_n| / max(eps, |g_a| + |g_n|)``."""
    return np.abs(g_a - g_n) / np.maximum(eps, np.abs(g_a) + np.abs(g_n))


def check_gradients(
    net: KLayerNet,
    X: np.ndarray,
    y: np.ndarray,
    lam: float,
    h: float | None = None,
    eps: float = REL_EPS,
    reference: str = "extended",
    dropout_seed: int = 0,
) -> list[GradCheckEntry]:
    """Relative errors of every float64 analytic gradient of ``net`` on the batch ``(X, y)``.

    The numerical cost is the training-mode cost: BN statistics come from this batch, and no
    running average is changed. ``reference="float64"`` evaluates that cost in float64, whose
    rounding (about 1e-16 of J, divided by 2h) limits the reference to about 1e-11 absolute,
    so the *relative* error of entries with gradients near 1e-5 reads 1e-6 even when the
    analytic gradient is exact. ``reference="extended"`` (default) evaluates the same cost in
    ``np.longdouble`` (80-bit on x86), which lowers that floor about 2000-fold and so allows
    a smaller step. ``reference="complex"`` takes the complex step in extended precision, exact
    to rounding of the derivative itself (the network's ReLU, ``np.maximum``, orders complex
    numbers by their real part first, so it is the real ReLU's analytic extension away from its
    kink). ``h`` defaults to :data:`DEFAULT_H`. The analytic gradients are float64
    either way. A network with dropout uses the same masks (from ``dropout_seed``) in every
    evaluation, so the cost is a fixed function of the parameters.
    """
    if net.dtype != np.float64:
        raise ConfigError("gradient checks need a float64 network (dtype=np.float64)")
    if reference not in REFERENCES:
        raise ConfigError(f"reference must be one of {sorted(REFERENCES)}, got {reference!r}")
    if h is None:
        h = DEFAULT_H[reference]
    X = np.asarray(X, dtype=np.float64)
    # with dropout, every evaluation draws the same masks from a freshly seeded generator
    masks = (lambda: np.random.default_rng(dropout_seed)) if net.dropout else (lambda: None)
    _, analytic = net.cost_and_grads(X, y, lam, rng=masks())
    ref_net = net.astype(REFERENCES[reference])
    X_ref = X.astype(REFERENCES[reference])
    entries = []
    for name, param in ref_net.params.items():
        numeric = numerical_gradient(lambda: ref_net.training_cost(X_ref, y, lam, rng=masks()), param, h)
        err = relative_errors(analytic[name], numeric, eps)
        kind, layer = re.fullmatch(r"([A-Za-z]+)(\d+)", name).groups()
        entries.append(GradCheckEntry(int(layer), kind, float(err.max()), float(err.mean()), float(np.abs(numeric).max())))
    return sorted(entries, key=lambda e: (e.layer, ["W", "b", "gamma", "beta"].index(e.param)))


def gradcheck_network(
    hidden: Sequence[int] = (50, 50),
    *,
    batch_norm: bool = True,
    lam: float = 0.0,
    n_inputs: int = 15,
    n_samples: int = 20,
    n_classes: int = 10,
    seed: int = 0,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    reference: str = "extended",
    bn_position: str = "before",
    dropout: float = 0.0,
    skip: bool = False,
) -> list[GradCheckEntry]:
    """Build a float64 network on a reduced input and check all its gradients.

    ``X`` and ``y`` (e.g. the first ``n_samples`` rows and ``n_inputs`` dimensions of the real
    data) default to standard-normal inputs with random labels from ``seed``.
    """
    check_gradcheck_sizes(n_inputs if X is None else X.shape[1], n_samples if X is None else X.shape[0], batch_norm, lam, seed)
    rng = np.random.default_rng(seed)
    if X is None:
        X = rng.standard_normal((n_samples, n_inputs))
    if y is None:
        y = rng.integers(0, n_classes, X.shape[0])
    sizes = [X.shape[1], *hidden, n_classes]
    n_checked = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])) + (2 * sum(hidden) if batch_norm else 0)
    if n_checked > MAX_CHECKED:
        raise ConfigError(f"this network has {n_checked} parameters, each needing two cost evaluations; the check "
                          f"allows at most {MAX_CHECKED} (under a minute): use fewer inputs or smaller hidden layers")  # fmt: skip
    net = KLayerNet(
        sizes, batch_norm=batch_norm, init="he", seed=seed, dtype=np.float64,
        bn_position=bn_position, dropout=dropout, skip=skip,
    )  # fmt: skip
    return check_gradients(net, X, y, lam, reference=reference)


#: every entry of W1 costs two evaluations of the cost: beyond these sizes a check takes minutes
MAX_INPUTS, MAX_SAMPLES, MAX_CHECKED = 3072, 1000, 20000


def check_gradcheck_sizes(n_inputs: int, n_samples: int, batch_norm: bool, lam: float, seed: int) -> None:
    """Refuse a gradient check that cannot mean anything or would not finish in reasonable time."""
    if not 1 <= n_inputs <= MAX_INPUTS:
        raise ConfigError(f"inputs must be between 1 and {MAX_INPUTS} (CIFAR-10 has 3072 dimensions; "
                          f"each costs two cost evaluations per hidden unit), got {n_inputs}")  # fmt: skip
    if not 1 <= n_samples <= MAX_SAMPLES:
        raise ConfigError(f"samples must be between 1 and {MAX_SAMPLES}, got {n_samples}")
    if batch_norm and n_samples < 2:
        raise ConfigError("with batch normalisation the check needs at least 2 samples: "
                          "one sample has zero variance and BN's gradient vanishes")  # fmt: skip
    if not (lam >= 0 and np.isfinite(lam)):
        raise ConfigError(f"lambda must be a finite number >= 0, got {lam}")
    if int(seed) != seed or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed}")


def max_relative_error(entries: Sequence[GradCheckEntry]) -> float:
    """The largest relative error over every layer and parameter."""
    return max(e.max for e in entries)


def entries_as_dicts(entries: Sequence[GradCheckEntry]) -> list[dict]:
    """The entries as plain dicts (for JSON and tables)."""
    return [asdict(e) for e in entries]


def format_table(entries: Sequence[GradCheckEntry]) -> str:
    """A fixed-width table: layer, parameter, max and mean relative error."""
    lines = [f"{'layer':>5}  {'param':<6} {'max rel. error':>15} {'mean rel. error':>16}"]
    for e in entries:
        lines.append(f"{e.layer:>5}  {e.param:<6} {e.max:>15.3e} {e.mean:>16.3e}")
    return "\n".join(lines)
