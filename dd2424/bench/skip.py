"""Benchmark case: a training step of a network with skip connections against the same network without.

``python -m dd2424.bench.skip [--repeats N] [--hidden 50,50,50,50,50,50]`` prints one JSON object:
the median milliseconds of a float32 training step (the trainer's gather, forward, backward and
SGD update, :func:`dd2424.bench.steps.our_step`) with and without skips, on random CIFAR-sized
inputs, and their ratio. The two networks are timed in alternating rounds, so a change in the
machine's load falls on both.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Sequence

import numpy as np

from .steps import our_step
from ..network import KLayerNet

D_IN, N_CLASSES, N_TRAIN = 3072, 10, 2000


def skip_vs_plain(hidden: Sequence[int] = (50,) * 6, repeats: int = 200, rounds: int = 5, seed: int = 0) -> dict:
    """Median ms per step of the skip network and the plain one (BN, float32), and ``skip / plain``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_TRAIN, D_IN)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, N_TRAIN)
    steps = {name: our_step(KLayerNet([D_IN, *hidden, N_CLASSES], batch_norm=True, seed=seed, dtype=np.float32, skip=skip), X, y)
             for name, skip in (("plain", False), ("skip", True))}  # fmt: skip
    for step in steps.values():  # compile and warm the caches
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(per_round):
                tic = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - tic)
    ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
    return {"hidden": list(hidden), "steps": per_round * rounds, "plain_ms_per_step": ms["plain"],
            "skip_ms_per_step": ms["skip"], "ratio_skip_vs_plain": ms["skip"] / ms["plain"]}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dd2424.bench.skip", description=__doc__.splitlines()[0])
    p.add_argument("--hidden", default="50,50,50,50,50,50", help="hidden layer sizes (default 50,50,50,50,50,50)")
    p.add_argument("--repeats", type=int, default=200, help="timed steps per network (default 200)")
    args = p.parse_args(argv)
    print(json.dumps(skip_vs_plain(tuple(int(h) for h in args.hidden.split(",")), args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
