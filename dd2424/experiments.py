"""Runs and sweeps: a run is a :class:`~dd2424.training.TrainConfig` on a dataset; its result is an atomic JSON file.

A run's file name is a hash of its configuration, the data it used and the version of the code
that computes it (:func:`code_version`, a hash of the modules that do the maths), so a run whose
three are unchanged is read back instead of retrained, and an interrupted sweep resumes where it
stopped. Sweeps run serially, in parallel on local cores (joblib, one BLAS thread per worker), or
on a Dask cluster when given a scheduler address.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from threadpoolctl import threadpool_info

from . import __version__
from .analysis import analyse, prediction_analysis
from .code_version import code_version
from .errors import ConfigError
from .files import json_ready, write_json_atomic
from .kernels import compute_threads
from .training import TrainConfig, train



@dataclass(frozen=True)
class DataSpec:
    """Which data a run uses: a source (None: $DD2424_CIFAR10 or the official archive) and split sizes.

    ``None`` sizes mean the full split; smaller sizes take the first rows (quick and smoke profiles).
    """

    source: str | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None


@functools.lru_cache(maxsize=2)
def load_data(spec: DataSpec):
    """The dataset of ``spec``, loaded once per process and shared by its runs, so read-only: no run can change it."""
    from .data import load_cifar10

    data = load_cifar10(spec.source)
    if spec.n_train or spec.n_val or spec.n_test:
        data = data.subset(spec.n_train or data.train.n, spec.n_val or data.val.n, spec.n_test or data.test.n)
    for split in (data.train, data.val, data.test):
        split.X.flags.writeable = False
    return data


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the source checkout (with ``-dirty`` if modified), or None outside git."""
    here = Path(__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def data_provenance(data) -> dict:
    """What the report needs to say about the data (the source by name: no absolute paths)."""
    from .data import source_name

    return {
        "source": source_name(data.source),
        "provenance": data.provenance,
        "sha256": data.sha256,
        "official": bool(getattr(data, "official", False)),
        "n_train": data.train.n,
        "n_val": data.val.n,
        "n_test": data.test.n,
    }


def data_identity(spec: DataSpec) -> dict:
    """What :func:`data_provenance` says of ``spec``'s data, without decoding it.

    The digests come from the data module's index of sources (recomputed when the file has
    changed); the split sizes follow from the official layout (50,000 training and 10,000 test
    images, checked whenever the data is decoded) and the spec. So a sweep whose runs are all
    saved finds them without loading 700 MB; :func:`run_cached` checks the identity against the
    decoded data whenever it trains.
    """
    from . import data as cifar

    source = cifar.resolve_source(spec.source)
    sha, md5 = cifar.source_digests(source, cifar.default_cache_dir())
    full = {"n_train": 50000 - cifar.N_VAL, "n_val": cifar.N_VAL, "n_test": 10000}
    sizes = {k: min(getattr(spec, k) or n, n) for k, n in full.items()}
    provenance = cifar.provenance_label(source, sha, md5)
    return {
        "source": cifar.source_name(source.origin),
        "provenance": provenance,
        "sha256": sha,
        "official": provenance == cifar.OFFICIAL_PROVENANCE,
        **sizes,
    }


def run_key(config: TrainConfig, data_prov: dict) -> str:
    """The file stem of a run: readable prefix plus a hash of configuration, data and code version."""
    blob = json.dumps(
        {"config": config.to_dict(), "data": {k: data_prov[k] for k in ("sha256", "n_train", "n_val", "n_test")},
         "code": code_version()},
        sort_keys=True,
    )  # fmt: skip
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    hidden = "-".join(map(str, config.hidden))
    bn = "bn" if config.batch_norm else "nobn"
    return f"h{hidden}_{bn}_s{config.seed}_{digest}"


def run_training(
    config: TrainConfig,
    data=None,
    *,
    data_source: str | None = None,
    progress: Callable[[dict], None] | bool | None = None,
) -> dict:
    """Train one configuration and return its result record (JSON-ready dict).

    A run trained with flips but evaluated without (``flip`` and not ``test_flips``) also holds
    ``final_test_flips`` and ``analysis_test_flips``: the final network evaluated with test-time
    flips (see :func:`dd2424.training.train`); other runs hold None there.
    """
    if data is None:
        data = load_data(DataSpec(data_source))
    tic = time.perf_counter()
    net = config.build_network(data.train.X.shape[1], len(data.label_names))
    result = train(net, data, config, progress=progress)
    analysis = None if result.diverged else analyse(net, data, config)
    flipped = prediction_analysis(net, data, test_flips=True) if result.final_test_flips else None
    record = {
        "config": config.to_dict(),
        "seed": config.seed,
        "data": data_provenance(data),
        "code_version": code_version(),
        "package_version": __version__,
        "git_commit": git_commit(),
        "diverged": result.diverged,
        "diverged_at_step": result.diverged_at_step,
        "message": result.message,
        "train_seconds": result.train_seconds,
        "eval_seconds": result.eval_seconds,
        "wall_seconds": time.perf_counter() - tic,
        "machine": machine_info(),
        "final": result.final,
        "final_running_averages": result.final_running_averages,
        "final_test_flips": result.final_test_flips,
        "adaptive_bn": result.adaptive_bn,
        "history": result.history,
        "analysis": analysis,
        "analysis_test_flips": flipped,
    }
    for split in ("train", "val", "test"):
        record[f"{split}_accuracy"] = result.final.get(split, {}).get("accuracy", float("nan"))
    return json_ready(record)


def machine_info() -> dict:
    """Where a run's times were measured: CPU model, logical cores and BLAS threads (the compiled loops use one)."""
    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "blas_threads": max(blas) if blas else None}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_cached(
    config: TrainConfig,
    spec: DataSpec,
    results_dir: str | os.PathLike,
    *,
    force: bool = False,
    blas_threads: int | None = None,
    progress: Callable[[dict], None] | bool | None = None,
) -> dict:
    """Read the saved result of ``config`` on ``spec``'s data, or train it (showing ``progress``, see
    :func:`dd2424.training.train`) and save it atomically."""
    identity = data_identity(spec)
    path = Path(results_dir) / "runs" / f"{run_key(config, identity)}.json"
    if not force and path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass  # a damaged result is recomputed, never trusted
    data = load_data(spec)
    if data_provenance(data) != identity:
        raise ConfigError(f"the data's identity changed while running: {identity} vs {data_provenance(data)}")
    with compute_threads(blas_threads):  # None: leave the thread counts as they are
        record = run_training(config, data, progress=progress)
    record["cached_as"] = path.name
    write_json_atomic(path, record)
    return record


def run_many(
    configs: Sequence[TrainConfig],
    spec: DataSpec,
    results_dir: str | os.PathLike,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    on_done: Callable[[dict], None] | None = None,
    threads: int = 1,
    progress: Callable[[dict], None] | bool | None = None,
) -> list[dict]:
    """Run (or reuse) every configuration; results are in the order of ``configs``.

    Every run uses ``threads`` BLAS threads (default one: the products of a mini-batch of 100
    are too small for more to pay reliably; a wide network's are not); ``jobs > 1`` runs that
    many at a time in local processes (joblib);
    ``scheduler`` (e.g. ``"tcp://host:8786"``) sends the runs to a Dask cluster instead.
    Every run is seeded by its configuration, so the numbers do not depend on how it ran.
    ``progress`` is shown by the runs trained in this process (``jobs == 1``, no scheduler).
    """
    if jobs < 1 or threads < 1:
        raise ConfigError(f"jobs and threads must be >= 1, got {jobs} and {threads}")
    configs = list(configs)
    if scheduler:
        finished = _run_on_dask(configs, spec, results_dir, scheduler, force, threads)
    elif jobs == 1 or len(configs) <= 1:
        finished = ((i, run_cached(c, spec, results_dir, force=force, blas_threads=threads, progress=progress))
                    for i, c in enumerate(configs))  # fmt: skip
    else:
        from joblib import Parallel, delayed

        tasks = (delayed(_indexed_run)(i, c, spec, results_dir, force, threads) for i, c in enumerate(configs))
        finished = Parallel(n_jobs=jobs, return_as="generator_unordered")(tasks)
    records: list[dict | None] = [None] * len(configs)
    for index, record in finished:  # as each run finishes, so progress is live
        records[index] = record
        if on_done:
            on_done(record)
    return records  # type: ignore[return-value]


def _indexed_run(
    index: int, config: TrainConfig, spec: DataSpec, results_dir, force: bool, threads: int = 1
) -> tuple[int, dict]:
    """A worker's task: one run with ``threads`` BLAS threads, tagged with its position."""
    return index, run_cached(config, spec, results_dir, force=force, blas_threads=threads)


def _run_on_dask(configs, spec, results_dir, scheduler, force, threads=1) -> Iterable[tuple[int, dict]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ConfigError("a Dask scheduler was given but dask.distributed is not installed: pip install 'dd2424[dask]'") from None
    with Client(scheduler) as client:
        futures = [
            client.submit(_indexed_run, i, c, spec, str(results_dir), force, threads, pure=False) for i, c in enumerate(configs)
        ]
        for future in as_completed(futures):
            yield future.result()


def mean_std(values: Iterable[float | None]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof 1; 0 for one value) and count of the finite values."""
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return float("nan"), float("nan"), 0
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return float(finite.mean()), std, int(finite.size)
