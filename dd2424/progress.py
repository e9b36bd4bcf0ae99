"""Showing a training run where it runs, and a result in one line or one small table.

``train(net, data, config, progress=True)`` hands its history records to :func:`reporter`'s
callable: in a notebook opened in Jupyter a tqdm.auto bar over the update steps (a widget with
ipywidgets), in a terminal the same bar as text, and anywhere else (a log, a pipe, a papermill
run) one text line per history record, so that nothing is redrawn into files. The bar moves at
the history records only: showing progress adds no work to the update steps, draws no random
numbers and evaluates nothing beyond the records the run makes anyway.
"""

from __future__ import annotations

import html
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

Progress = Callable[[dict], None]


def record_line(record: dict) -> str:
    """One history record as a line: step, epoch, learning rate, training and validation metrics."""
    return (
        f"step {record['step']:>6}  epoch {record['epoch']:>3}  eta {record['eta']:.2e}  "
        f"train loss {record['train_loss']:.3f} acc {record['train_accuracy']:.3f}  "
        f"val loss {record['val_loss']:.3f} acc {record['val_accuracy']:.3f}"
    )


def print_record(record: dict, file: TextIO | None = None) -> None:
    """Print :func:`record_line` and flush, so that a log shows it as soon as it is made."""
    print(record_line(record), file=file or sys.stdout, flush=True)


def where_shown() -> str | None:
    """``"notebook"``, ``"terminal"`` or ``None`` (not interactive: print record lines, draw no bar).

    A notebook is a Jupyter kernel whose frontend can answer ``input()``: JupyterLab and the
    classic notebook can, while papermill and nbclient run cells with stdin disabled, so their
    executed copies and logs get no bar.
    """
    shell = _ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return "notebook" if getattr(kernel, "_allow_stdin", False) else None
    stream = sys.stderr
    return "terminal" if stream is not None and hasattr(stream, "isatty") and stream.isatty() else None


class StepBar:
    """A tqdm bar over a run's update steps, moved to each history record's step.

    The postfix shows the latest training and validation accuracy. ``where`` picks the kind:
    ``"notebook"`` uses tqdm.auto (a widget when ipywidgets is installed, text otherwise), any
    other value the text bar on ``file`` (stderr by default).
    """

    def __init__(self, total: int, desc: str | None = None, where: str | None = "terminal", file: TextIO | None = None):
        self.bar = _tqdm(where)(total=total, desc=desc, unit="step", file=file, leave=True, dynamic_ncols=True)

    @property
    def n(self) -> int:
        """Update steps counted so far."""
        return self.bar.n

    def __call__(self, record: dict) -> None:
        self.bar.set_postfix(train_acc=f"{record['train_accuracy']:.3f}", val_acc=f"{record['val_accuracy']:.3f}",
                             refresh=False)  # fmt: skip
        self.bar.update(record["step"] - self.bar.n)

    def close(self) -> None:
        self.bar.close()


@contextmanager
def reporter(progress: Progress | bool | None, total_steps: int, desc: str | None = None) -> Iterator[Progress | None]:
    """The callable that :func:`dd2424.training.train` gives each history record, from its ``progress``.

    ``None`` or ``False``: nothing. A callable: itself. ``True``: a :class:`StepBar` where a
    person watches (:func:`where_shown`), closed when the run ends or fails, else :func:`print_record`.
    """
    if progress is None or progress is False:
        yield None
    elif progress is True:
        where = where_shown()
        if where is None:
            yield print_record
            return
        bar = StepBar(total_steps, desc, where)
        try:
            yield bar
        finally:
            bar.close()
    elif callable(progress):
        yield progress
    else:
        raise TypeError(f"progress must be True, False, None or a callable taking a record, got {progress!r}")


def result_line(result) -> str:
    """A :class:`~dd2424.training.TrainResult` in one line: final accuracies, time, steps, divergence."""
    steps = result.history["step"][-1] if result.history.get("step") else 0
    accuracies = ", ".join(f"{name} {m['accuracy']:.4f}" for name, m in result.final.items()) or "no final metrics"
    state = f"diverged at step {result.diverged_at_step}" if result.diverged else "not diverged"
    if result.diverged and result.diverged_at_step is None:
        state = "diverged"
    return f"TrainResult({accuracies}; {steps} steps in {result.train_seconds:.1f} s; {state})"


def result_html(result) -> str:
    """A small HTML table of a result's final loss, cost and accuracy, with its time and steps."""
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{m['loss']:.4f}</td><td>{m['cost']:.4f}</td><td>{m['accuracy']:.4f}</td></tr>"
        for name, m in result.final.items()
    )
    steps = result.history["step"][-1] if result.history.get("step") else 0
    note = html.escape(result.message) if result.diverged else "not diverged"
    return (
        "<div><b>TrainResult</b>: "
        f"{steps} update steps, {result.train_seconds:.1f} s training + {result.eval_seconds:.1f} s history evaluation; {note}"
        "<table><tr><th></th><th>loss</th><th>cost</th><th>accuracy</th></tr>"
        f"{rows}</table></div>"
    )


def _ipython():
    """The running IPython shell, or ``None`` (IPython is not imported when it is not running)."""
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _tqdm(where: str | None):
    """tqdm.auto's class in a notebook when it can draw there, else the text bar."""
    if where == "notebook":
        try:
            import ipywidgets  # noqa: F401  (tqdm.auto's widget bar needs it)
        except ImportError:
            pass
        else:
            from tqdm.auto import tqdm

            return tqdm
    from tqdm import tqdm

    return tqdm
