"""What ``dd2424 bench`` records of the machine: CPU, BLAS, threads, memory and the load of other processes.

Timings on a shared machine are only comparable with the conditions they were measured in, so
every result carries them.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import sys
import time
import tracemalloc
from typing import Callable

import numpy as np

from ..experiments import machine_info


def peak_rss_mib() -> float:
    """High-water mark of the process's resident memory (``getrusage`` ``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def traced_peak_mib(f: Callable[[], object]) -> float:
    """Peak of the memory that ``f`` allocates through Python and numpy (``tracemalloc``)."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def environment(threads: int, torch_ran: bool) -> dict:
    """Where and with what a benchmark ran: the machine a run record names (:func:`dd2424.experiments.machine_info`),
    the CPUs this process may use, the date, the platform, the versions and the BLAS libraries (PyTorch's if it ran)."""
    import numba
    from threadpoolctl import threadpool_info

    machine = machine_info()
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": machine["cpu"],
        "cpu_count": machine["cores"],
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": threads,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
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


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class OtherProcesses:
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

