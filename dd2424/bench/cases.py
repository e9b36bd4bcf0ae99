"""The cases of ``dd2424 bench`` (:mod:`dd2424.bench`): where the time goes, measured side by side in one run.

For the 3-layer ``[50, 50]`` and the 9-layer ``[50, 30, 20, 20, 10, 10, 10, 10]`` networks with
BN, in float32 and float64, it times

* a training step: gather of a mini-batch of 100 from the training set, forward, backward and
  update (:func:`dd2424.training.gradient_step`, exactly what the trainer runs);
* the *floor* of that step: only its matrix products, with the same shapes and operand layouts,
  which is what numpy's BLAS sets as the best any numpy implementation could do;
* the same step in PyTorch on the CPU, when it is installed (same sizes, dtype, threads, BN
  epsilon and momentum, ReLU, cross-entropy, SGD with weight decay on the weights only);
* evaluation of the training split (45,000 samples);

and, once, a full default training run (2 cycles, 3-layer BN, float32), the second load of the
data and the peak memory. Steps are timed one by one after a warm-up, in rounds that alternate
the implementations (so that a noisy neighbour slows all of them alike); a number is the median.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Callable, Sequence

import numpy as np

from ..augment import augment_batch
from ..network import KLayerNet
from ..training import TrainConfig, train
from .machine import OtherProcesses, environment, loadavg, peak_rss_mib, traced_peak_mib
from .steps import BATCH, LAM, Batches, floor_step, our_step, torch_available, torch_step

NETWORKS = {"3-layer": (50, 50), "9-layer": (50, 30, 20, 20, 10, 10, 10, 10), "wide": (1024, 512, 256)}
DTYPES = ("float32", "float64")
#: the wide network (about 100x the arithmetic of the 3-layer one) only in float32, with fewer steps
WIDE_ONLY_DTYPE, WIDE_REPEATS_DIVISOR = "float32", 5
ROUNDS = 5  # timed rounds per case, alternating ours, floor and PyTorch
WARMUP = 10  # untimed steps before each round (caches, BLAS threads, allocator)
EVAL_REPEATS = 3


# ----------------------------------------------------------------------------- timing


def _time_steps(steps: dict[str, Callable[[], object]], repeats: int) -> dict[str, np.ndarray]:
    """Seconds of each call of each step function, ``repeats`` per function, in alternating rounds."""
    rounds = min(ROUNDS, repeats)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(rounds):
        n = repeats // rounds + (1 if r < repeats % rounds else 0)
        for name, step in steps.items():
            for _ in range(WARMUP):
                step()
            for _ in range(n):
                tic = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - tic)
    return {name: np.array(t) for name, t in times.items()}


def _ms(seconds: np.ndarray) -> dict[str, float]:
    q1, median, q3 = np.percentile(seconds, [25, 50, 75]) * 1e3
    return {"median": float(median), "q1": float(q1), "q3": float(q3)}


# ----------------------------------------------------------------------------- measurements


def _bench_case(hidden: Sequence[int], dtype: str, data, repeats: int, threads: int, with_torch: bool) -> dict:
    X, y = data.train.X, data.train.y
    net = KLayerNet([X.shape[1], *hidden, data.n_classes], batch_norm=True, seed=0, dtype=dtype)
    steps = {"ours": our_step(net, X, y), "floor": floor_step(net, X)}
    if with_torch:
        steps["torch"] = torch_step(net, X, y, threads)
    batches = Batches(X.shape[0])
    steps["gather"] = lambda: np.asarray(X[batches.next()], dtype=net.dtype)  # the gather alone
    case = {"hidden": list(hidden), "dtype": dtype, **_timed(steps, repeats)}

    evals = []
    for _ in range(EVAL_REPEATS):
        tic = time.perf_counter()
        net.evaluate(X, y, LAM)
        evals.append(time.perf_counter() - tic)
    case["eval_samples"] = int(X.shape[0])
    case["eval_ms"] = float(np.median(evals)) * 1e3
    case["eval_traced_peak_mib"] = traced_peak_mib(lambda: net.evaluate(X, y, LAM))
    step = steps["ours"]
    case["step_traced_peak_mib"] = traced_peak_mib(lambda: [step() for _ in range(5)])
    return case


def _best_case(data, repeats: int, threads: int, with_torch: bool) -> dict:
    """The ladder's best configuration: its whole step (gather, augmentation, dropout, Adam) against PyTorch's."""
    from .best import best_case_steps, best_config

    X, y = data.train.X, data.train.y
    config = best_config()
    steps = best_case_steps(config, X, y, data.n_classes, threads, with_torch)
    batches = Batches(X.shape[0], config.batch_size)
    rng = np.random.default_rng(5)
    steps["gather"] = lambda: augment_batch(X, rng, config.flip, config.max_shift, rows=batches.next())  # gather + augment
    return {"hidden": list(config.hidden), "dtype": config.dtype, "config": config.to_dict(), **_timed(steps, repeats)}


def _timed(steps: dict[str, Callable[[], object]], repeats: int) -> dict:
    """Medians (and quartiles) of ours, the floor, the gather and PyTorch when present, and their ratios."""
    times = {name: _ms(t) for name, t in _time_steps(steps, repeats).items()}
    ours = times["ours"]
    out = {
        "ms_per_step": ours["median"],
        "ms_per_step_quartiles": [ours["q1"], ours["q3"]],
        "floor_ms_per_step": times["floor"]["median"],
        "step_over_floor": ours["median"] / times["floor"]["median"],
        "gather_ms": times["gather"]["median"],
    }
    if "torch" in times:
        out["torch_ms_per_step"] = times["torch"]["median"]
        out["torch_ms_per_step_quartiles"] = [times["torch"]["q1"], times["torch"]["q3"]]
        out["ratio_vs_torch"] = ours["median"] / times["torch"]["median"]
    return out


def _full_run(data) -> dict:
    config = TrainConfig()
    net = config.build_network(data.train.X.shape[1], data.n_classes)
    tic = time.perf_counter()
    result = train(net, data, config)
    wall = time.perf_counter() - tic
    return {
        "config": config.to_dict(),
        "train_seconds": result.train_seconds,
        "eval_seconds": result.eval_seconds,
        "wall_seconds": wall,
        "ms_per_step": result.train_seconds / config.total_steps * 1e3,
        "diverged": result.diverged,
        "val_accuracy": result.final.get("val", {}).get("accuracy"),
        "test_accuracy": result.final.get("test", {}).get("accuracy"),
    }


def bench(
    data=None,
    *,
    source: str | None = None,
    repeats: int = 200,
    threads: int = 1,
    use_torch: bool = True,
    full_run: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Run every measurement and return them as one JSON-ready dict.

    ``data`` is a loaded :class:`~dd2424.data.Dataset` (anything with ``train.X``, ``train.y``,
    ``val`` , ``test`` and ``n_classes``); without it the data come from ``source`` and the two
    loads are timed.
    """
    from ..kernels import compute_threads

    log = log or (lambda message: None)
    out: dict = {"batch_size": BATCH, "repeats": repeats, "threads": threads, "load_average_before": loadavg()}
    neighbours = OtherProcesses()
    with compute_threads(threads):
        if data is None:
            from ..data import load_cifar10

            log("loading the data twice")
            tic = time.perf_counter()
            data = load_cifar10(source)
            out["data_load_first_s"] = time.perf_counter() - tic
            del data  # so that the peak memory holds one copy of the data, not two
            tic = time.perf_counter()
            data = load_cifar10(source)
            out["data_load_s"] = time.perf_counter() - tic
        out["n_train"] = int(data.train.X.shape[0])

        if full_run:
            log("full default training run (2 cycles, 3-layer BN, float32)")
            during = OtherProcesses()
            out["full_run"] = _full_run(data)
            out["full_run"]["other_cpus_busy"] = during.cpus()
        else:
            out["full_run"] = None
        out["peak_rss_mib_before_torch"] = peak_rss_mib()

        torch_ok, why = torch_available() if use_torch else (False, "skipped (--no-torch)")
        out["torch_ran"] = torch_ok
        if not torch_ok:
            out["torch_skipped_because"] = why
        cases = {}
        for name, hidden in NETWORKS.items():
            wide = name == "wide"
            for dtype in (WIDE_ONLY_DTYPE,) if wide else DTYPES:
                log(f"{name} {dtype}")
                during = OtherProcesses()
                n_steps = max(1, repeats // WIDE_REPEATS_DIVISOR) if wide else repeats
                cases[f"{name} {dtype}"] = _bench_case(hidden, dtype, data, n_steps, threads, torch_ok)
                cases[f"{name} {dtype}"]["other_cpus_busy"] = during.cpus()
        log("best configuration of the ladder (float32, Adam, dropout, augmentation)")
        during = OtherProcesses()
        cases["best float32"] = _best_case(data, max(1, repeats // WIDE_REPEATS_DIVISOR), threads, torch_ok)
        cases["best float32"]["other_cpus_busy"] = during.cpus()
        out["cases"] = cases
        out["machine"] = environment(threads, torch_ok)
    out["peak_rss_mib"] = peak_rss_mib()
    out["memory_method"] = (
        "peak_rss_mib*: getrusage ru_maxrss, the whole process's resident high-water mark (data, "
        "libraries, PyTorch once imported); *_traced_peak_mib: tracemalloc, the peak of what numpy "
        "allocates during 5 steps / one evaluation, beyond the data already loaded"
    )
    out["load_average_after"] = loadavg()
    out["other_cpus_busy"] = neighbours.cpus()
    return out


# ----------------------------------------------------------------------------- output


def format_table(result: dict) -> str:
    """The human-readable report of :func:`bench`."""
    m = result["machine"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in m["blas"]) or "unknown"
    torch = f"torch {m['torch']} ({m.get('torch_blas')})" if result["torch_ran"] else "no PyTorch"
    lines = [
        f"dd2424 bench, {m['date']}: {m['cpu']}, {m['cpus_usable']} CPUs, {result['threads']} thread(s)",
        f"numpy {m['numpy']} with {blas}; {torch}",
        f"batch {result['batch_size']}, median of {result['repeats']} timed steps per case; "
        f"other processes kept {_cpus(result['other_cpus_busy'])} CPUs busy meanwhile",
        "",
        f"{'case':<16} {'ms/step':>8} {'floor ms':>9} {'step/floor':>10} {'gather ms':>9} "
        f"{'torch ms':>9} {'ours/torch':>10} {'eval ms':>9} {'others':>6}",
    ]
    for name, c in result["cases"].items():
        torch_ms = f"{c['torch_ms_per_step']:9.3f}" if "torch_ms_per_step" in c else f"{'-':>9}"
        ratio = f"{c['ratio_vs_torch']:10.2f}" if "ratio_vs_torch" in c else f"{'-':>10}"
        lines.append(
            f"{name:<16} {c['ms_per_step']:8.3f} {c['floor_ms_per_step']:9.3f} {c['step_over_floor']:9.2f}x "
            f"{c['gather_ms']:9.3f} {torch_ms} {ratio} {_eval(c):>9} {_cpus(c['other_cpus_busy']):>6}"
        )
    lines += [
        "",
        "ms/step: gather + forward + backward + update (dd2424.training.gradient_step);",
        "floor: the matrix products of that step only; gather: X[batch] alone (part of ms/step);",
        "best: the ladder's best configuration (batch 250, BN after ReLU, dropout, flips and shifts, Adam; "
        "PyTorch with fused Adam); its gather includes the augmentation;",
        f"eval ms: evaluate() on the {result['n_train']} training samples; "
        "others: CPUs kept busy by other processes during the case.",
    ]
    if not result["torch_ran"]:
        lines.append(f"PyTorch: {result['torch_skipped_because']}")
    busy = result["other_cpus_busy"]
    if busy is not None and busy > 0.1:
        lines.append(
            f"warning: the machine was not idle (other processes kept {busy:.2f} CPUs busy): the numbers are "
            "slowed by them, with more than 1 thread by far"
        )
    run = result["full_run"]
    if run:
        accuracy = "diverged" if run["diverged"] else f"test accuracy {run['test_accuracy']:.4f}"
        lines.append(
            f"full default training (2 cycles, 3-layer BN, float32): {run['train_seconds']:.1f} s of update steps "
            f"({run['ms_per_step']:.3f} ms/step) + {run['eval_seconds']:.1f} s of history evaluation; {accuracy}; "
            f"others kept {_cpus(run['other_cpus_busy'])} CPUs busy"
        )
    if "data_load_s" in result:
        lines.append(
            f"data load: {result['data_load_s']:.2f} s (cached; "
            f"first load in this run {result['data_load_first_s']:.2f} s)"
        )
    lines.append(
        f"peak memory (getrusage ru_maxrss, whole process): {result['peak_rss_mib']:.0f} MiB, "
        f"{result['peak_rss_mib_before_torch']:.0f} MiB before PyTorch was imported"
    )
    return "\n".join(lines)


def _eval(case: dict) -> str:
    return f"{case['eval_ms']:.1f}" if "eval_ms" in case else "-"


def _cpus(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def run_bench(args) -> int:
    """``dd2424 bench``: measure, then print the table (or one JSON object with ``--json``)."""
    log = None if args.json else (lambda message: print(f"... {message}", file=sys.stderr, flush=True))
    result = bench(
        source=args.data,
        repeats=args.repeats,
        threads=args.threads,
        use_torch=not args.no_torch,
        full_run=not args.no_full_run,
        log=log,
    )
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        print(format_table(result))
    return 0
