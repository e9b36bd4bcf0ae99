"""Paired comparisons over shared seeds: the mean difference, its 95 % Student-t interval and what it shows.

Two settings trained with the same seeds share their initialisation and their order of
mini-batches, so the difference of their accuracies seed by seed removes most of the
seed-to-seed spread. With the differences ``d_1 .. d_n`` over the ``n`` seeds both settings ran,

    mean = (1/n) sum d_i,   sd = sqrt(sum (d_i - mean)^2 / (n - 1)),
    interval = mean -/+ t_{0.975, n-1} * sd / sqrt(n),

where ``t_{0.975, n-1}`` is the 97.5 % quantile of Student's t distribution with ``n - 1``
degrees of freedom (computed here from the regularised incomplete beta function, so no
statistics package is needed). A difference is *real* when its interval excludes zero
(the first setting is then ``higher`` or ``lower``), otherwise it is *within noise*; one seed
gives no interval (``undetermined``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Mapping

#: the confidence level of every interval of the report
LEVEL = 0.95


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` over the seeds both ran: mean, sample standard deviation, count and interval (``nan`` for n < 2)."""

    mean: float
    sd: float
    n: int
    low: float
    high: float
    level: float = LEVEL

    @property
    def verdict(self) -> str:
        """``"higher"`` / ``"lower"`` when the interval excludes zero, ``"within noise"``, or ``"undetermined"`` (n < 2)."""
        if self.n < 2 or not math.isfinite(self.low):
            return "undetermined"
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "within noise"

    @property
    def real(self) -> bool:
        """Whether the interval excludes zero."""
        return self.verdict in ("higher", "lower")

    def to_dict(self) -> dict:
        """Plain JSON values (``None`` for what one seed cannot give)."""
        def plain(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {"mean": plain(self.mean), "sd": plain(self.sd), "n": self.n, "low": plain(self.low),
                "high": plain(self.high), "level": self.level, "verdict": self.verdict}  # fmt: skip


def paired_difference(a: Mapping[int, float | None], b: Mapping[int, float | None], level: float = LEVEL) -> PairedDifference:
    """``a - b`` paired by seed (the keys); seeds missing from either side or with a non-finite value are left out."""
    diffs = [float(a[s]) - float(b[s]) for s in a if s in b and _finite(a[s]) and _finite(b[s])]
    return difference_of(diffs, level)


def difference_of(diffs: list[float], level: float = LEVEL) -> PairedDifference:
    """The :class:`PairedDifference` of already paired differences."""
    n = len(diffs)
    if n == 0:
        nan = float("nan")
        return PairedDifference(nan, nan, 0, nan, nan, level)
    mean = sum(diffs) / n
    if n < 2:
        nan = float("nan")
        return PairedDifference(mean, nan, n, nan, nan, level)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = student_t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return PairedDifference(mean, sd, n, mean - half, mean + half, level)


def by_seed(records: list[Mapping], key: str = "val_accuracy") -> dict[int, float | None]:
    """``{seed: record[key]}`` of run records."""
    return {r["seed"]: r.get(key) for r in records}


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2), for t >= 0."""
    tail = 0.5 * regularized_beta(df / (df + t * t), df / 2, 0.5)
    return 1 - tail if t >= 0 else tail


@functools.lru_cache(maxsize=256)
def student_t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on :func:`student_t_cdf`)."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -student_t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if student_t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, by its continued fraction (modified Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast below this point: use the symmetry
        return 1.0 - regularized_beta(1 - x, b, a)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            numerator = 1.0
        elif i % 2 == 0:
            numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + numerator * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + numerator / (c if abs(c) > tiny else tiny)
        f *= c * d
        if abs(1.0 - c * d) < 1e-15:
            break
    return front * (f - 1.0)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
