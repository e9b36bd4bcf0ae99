"""``dd2424 bench``: where the time goes, measured side by side in one run.

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

import datetime
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from typing import Callable, Sequence

import numpy as np

from .experiments import cpu_model
from .network import BN_ALPHA, KLayerNet
from .training import TrainConfig, gradient_step, train

NETWORKS = {"3-layer": (50, 50), "9-layer": (50, 30, 20, 20, 10, 10, 10, 10), "wide": (1024, 512, 256)}
DTYPES = ("float32", "float64")
#: the wide network (about 100x the arithmetic of the 3-layer one) only in float32, with fewer steps
WIDE_ONLY_DTYPE, WIDE_REPEATS_DIVISOR = "float32", 5
BATCH = 100
LAM = 0.005
ETA = 0.01  # a constant learning rate: computing the cyclical one costs nothing measurable
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


class _Batches:
    """Consecutive mini-batches of a fixed random permutation of the training rows, like the trainer's."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.order = np.random.default_rng(seed).permutation(n)
        self.position = 0

    def next(self) -> np.ndarray:
        if self.position + BATCH > self.order.size:
            self.position = 0
        batch = self.order[self.position : self.position + BATCH]
        self.position += BATCH
        return batch


# ----------------------------------------------------------------------------- the three step functions


def _our_step(net: KLayerNet, X: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    batches = _Batches(X.shape[0])

    def step():
        batch = batches.next()
        return gradient_step(net, X[batch], y[batch], LAM, ETA)  # the trainer's gather and update

    return step


def _floor_step(net: KLayerNet, X: np.ndarray) -> Callable[[], object]:
    """The matrix products of a step of ``net``, nothing else.

    Forward ``x_l = x_{l-1} @ W_l`` for every layer; backward ``dW_l = x_{l-1}^T @ G_l`` for every
    layer and ``G_{l-1} = G_l @ W_l^T`` for all but the first (the data needs no gradient), with
    the operand layouts that :mod:`dd2424.layers` uses.
    """
    rng = np.random.default_rng(1)
    x0 = np.asarray(X[_Batches(X.shape[0]).next()], dtype=net.dtype)
    Ws = net.weights()
    Gs = [rng.standard_normal((BATCH, W.shape[1])).astype(net.dtype) for W in Ws]

    def step():
        inputs = [x0]
        for W in Ws[:-1]:
            inputs.append(inputs[-1] @ W)
        scores = inputs[-1] @ Ws[-1]
        for l in range(len(Ws) - 1, -1, -1):
            _dW = inputs[l].T @ Gs[l]
            if l > 0:
                _dx = Gs[l] @ Ws[l].T
        return scores

    return step


def _torch_step(net: KLayerNet, X: np.ndarray, y: np.ndarray, threads: int) -> Callable[[], object]:
    """The same network and step in PyTorch, as fast as a plain PyTorch loop gets.

    Same initial parameters; hidden layers without bias (BN cancels it, as in ours);
    ``BatchNorm1d`` with our epsilon and momentum ``1 - alpha = 0.1``; SGD with
    ``weight_decay = 2 lambda`` on the weight matrices only (our cost has ``lambda ||W||^2``);
    ``zero_grad(set_to_none=True)``; multi-tensor (``foreach``) SGD. Its one difference in the
    maths, which does not change the work: PyTorch's running variance is the unbiased one.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    dtype = getattr(torch, net.dtype.name)
    modules: list[nn.Module] = []
    for l in range(1, net.k + 1):
        d_in, d_out = net.params[f"W{l}"].shape
        modules.append(nn.Linear(d_in, d_out, bias=(l == net.k), dtype=dtype))
        if l < net.k:
            modules += [nn.BatchNorm1d(d_out, eps=net.bn_eps, momentum=1 - BN_ALPHA, dtype=dtype), nn.ReLU()]
    model = nn.Sequential(*modules).train()
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for l, W in enumerate(weights, start=1):
            W.copy_(torch.from_numpy(net.params[f"W{l}"].T))  # PyTorch stores W as (d_out, d_in)
    decayed = {id(p) for p in weights}
    others = [p for p in model.parameters() if id(p) not in decayed]
    opt = torch.optim.SGD(
        [{"params": weights, "weight_decay": 2 * LAM}, {"params": others, "weight_decay": 0.0}], lr=ETA, foreach=True
    )
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)  # shared memory, no copy
    batches = _Batches(X.shape[0])

    def step():
        batch = torch.from_numpy(batches.next())
        xb, yb = Xt[batch].to(dtype), yt[batch]  # .to is a no-op in float32, a conversion in float64
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return step


# ----------------------------------------------------------------------------- measurements


def _torch_available() -> tuple[bool, str]:
    try:
        import torch  # noqa: F401
    except ImportError as error:
        return False, f"PyTorch is not installed ({error}); pip install 'dd2424[torch]' to compare"
    return True, ""


def _peak_rss_mib() -> float:
    """High-water mark of the process's resident memory (``getrusage`` ``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def _traced_peak_mib(f: Callable[[], object]) -> float:
    """Peak of the memory that ``f`` allocates through Python and numpy (``tracemalloc``)."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _bench_case(hidden: Sequence[int], dtype: str, data, repeats: int, threads: int, with_torch: bool) -> dict:
    X, y = data.train.X, data.train.y
    net = KLayerNet([X.shape[1], *hidden, data.n_classes], batch_norm=True, seed=0, dtype=dtype)
    steps = {"ours": _our_step(net, X, y), "floor": _floor_step(net, X)}
    if with_torch:
        steps["torch"] = _torch_step(net, X, y, threads)
    batches = _Batches(X.shape[0])
    steps["gather"] = lambda: np.asarray(X[batches.next()], dtype=net.dtype)  # the gather alone
    times = {name: _ms(t) for name, t in _time_steps(steps, repeats).items()}

    case = {
        "hidden": list(hidden),
        "dtype": dtype,
        "ms_per_step": times["ours"]["median"],
        "ms_per_step_quartiles": [times["ours"]["q1"], times["ours"]["q3"]],
        "floor_ms_per_step": times["floor"]["median"],
        "step_over_floor": times["ours"]["median"] / times["floor"]["median"],
        "gather_ms": times["gather"]["median"],
    }
    if with_torch:
        case["torch_ms_per_step"] = times["torch"]["median"]
        case["torch_ms_per_step_quartiles"] = [times["torch"]["q1"], times["torch"]["q3"]]
        case["ratio_vs_torch"] = times["ours"]["median"] / times["torch"]["median"]

    evals = []
    for _ in range(EVAL_REPEATS):
        tic = time.perf_counter()
        net.evaluate(X, y, LAM)
        evals.append(time.perf_counter() - tic)
    case["eval_samples"] = int(X.shape[0])
    case["eval_ms"] = float(np.median(evals)) * 1e3
    case["eval_traced_peak_mib"] = _traced_peak_mib(lambda: net.evaluate(X, y, LAM))
    step = steps["ours"]
    case["step_traced_peak_mib"] = _traced_peak_mib(lambda: [step() for _ in range(5)])
    return case


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


def _machine(threads: int, torch_ran: bool) -> dict:
    from threadpoolctl import threadpool_info

    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": [
            {k: lib.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
            for lib in threadpool_info()
            if lib.get("user_api") == "blas"
        ],
        "torch": None,
    }
    if torch_ran:
        import torch

        info["torch"] = torch.__version__
        info["torch_blas"] = "mkl" if torch.backends.mkl.is_available() else "other"
        info["torch_threads"] = torch.get_num_threads()
    return info


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
    from threadpoolctl import threadpool_limits

    log = log or (lambda message: None)
    out: dict = {"batch_size": BATCH, "repeats": repeats, "threads": threads, "load_average_before": _loadavg()}
    neighbours = _OtherProcesses()
    with threadpool_limits(limits=threads):
        if data is None:
            from .data import load_cifar10

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
            during = _OtherProcesses()
            out["full_run"] = _full_run(data)
            out["full_run"]["other_cpus_busy"] = during.cpus()
        else:
            out["full_run"] = None
        out["peak_rss_mib_before_torch"] = _peak_rss_mib()

        torch_ok, why = _torch_available() if use_torch else (False, "skipped (--no-torch)")
        out["torch_ran"] = torch_ok
        if not torch_ok:
            out["torch_skipped_because"] = why
        cases = {}
        for name, hidden in NETWORKS.items():
            wide = name == "wide"
            for dtype in (WIDE_ONLY_DTYPE,) if wide else DTYPES:
                log(f"{name} {dtype}")
                during = _OtherProcesses()
                n_steps = max(1, repeats // WIDE_REPEATS_DIVISOR) if wide else repeats
                cases[f"{name} {dtype}"] = _bench_case(hidden, dtype, data, n_steps, threads, torch_ok)
                cases[f"{name} {dtype}"]["other_cpus_busy"] = during.cpus()
        out["cases"] = cases
        out["machine"] = _machine(threads, torch_ok)
    out["peak_rss_mib"] = _peak_rss_mib()
    out["memory_method"] = (
        "peak_rss_mib*: getrusage ru_maxrss, the whole process's resident high-water mark (data, "
        "libraries, PyTorch once imported); *_traced_peak_mib: tracemalloc, the peak of what numpy "
        "allocates during 5 steps / one evaluation, beyond the data already loaded"
    )
    out["load_average_after"] = _loadavg()
    out["other_cpus_busy"] = neighbours.cpus()
    return out


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class _OtherProcesses:
    """How many CPUs other processes (and the hypervisor) kept busy while we measured.

    The busy time of all CPUs (``/proc/stat``: everything but idle and iowait) minus this
    process's own CPU time (all its threads), divided by the wall time: 0 on an idle machine,
    1 when a neighbour holds a whole core. ``None`` where ``/proc/stat`` does not exist.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:9]]  # user .. steal
        except (OSError, ValueError):
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        own = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), busy, own.ru_utime + own.ru_stime

    def cpus(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[0] - self.start[0]
        other = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return round(max(0.0, other / wall), 2) if wall > 0 else None


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
            f"{c['gather_ms']:9.3f} {torch_ms} {ratio} {c['eval_ms']:9.1f} {_cpus(c['other_cpus_busy']):>6}"
        )
    lines += [
        "",
        "ms/step: gather + forward + backward + update (dd2424.training.gradient_step);",
        "floor: the matrix products of that step only; gather: X[batch] alone (part of ms/step);",
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
