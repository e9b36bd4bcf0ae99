"""The words every Discussion paragraph shares: a paired difference in points, its interval, lists, verbs."""

from __future__ import annotations

from typing import Mapping, Sequence

from .claims import interval
from .paired import PairedDifference

INPUT_DIMS = 3072
CHANCE = 0.1


def points(d: PairedDifference, digits: int = 2) -> str:
    """The absolute mean paired difference in percentage points: ``5.40 points``."""
    return f"{abs(100 * d.mean):.{digits}f} points"


def ci(d: PairedDifference) -> str:
    """``(paired over 10 seeds, 95 % confidence interval [+0.20, +1.00] points)``."""
    return f"({interval(d)})"


def stuck(stats: Mapping) -> bool:
    """Whether a configuration stayed at chance: its mean test accuracy within 2 points of 10 %."""
    return bool(stats["n"]) and stats["mean"] < CHANCE + 0.02


def join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def was(items: Sequence) -> str:
    """The verb for a subject of ``len(items)`` things: "was" or "were"."""
    return "was" if len(items) == 1 else "were"


def cap(text: str) -> str:
    """``text`` with its first letter upper-case."""
    return text[:1].upper() + text[1:]
