"""``dd2424 bench``: where the time of a training step goes, measured side by side in one run.

The package's modules, by job: :mod:`.cases` (the networks and dtypes timed, the timing rounds,
the result and its table; :func:`bench` and the command's :func:`run_bench`), :mod:`.steps` (the
three steps timed side by side: ours, its matrix-product floor, PyTorch's), :mod:`.best` (the same
for the ablation ladder's best configuration) and :mod:`.machine` (the machine's conditions:
CPUs, BLAS, memory and the load of other processes).
"""

from .cases import bench, format_table, run_bench

__all__ = ["bench", "format_table", "run_bench"]
