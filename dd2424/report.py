"""``dd2424 report``, the pipeline: run every notebook with a profile's parameters, then export the report.

The pipeline, in order:

0. check the output folder (writable) and the ``--scheduler`` address (its form, and that something
   answers there), then lock the output folder (``build/report.lock``): a second pipeline on the
   same folder stops at once with exit status 2, naming the folder, the running pipeline's pid and
   the lock file (:mod:`dd2424.report_checks`);
1. check the data (a clear error before anything runs; a new output folder is then not left
   behind), delete the previous run's report (``report/dd2424-report.pdf|html``) and move
   ``results/summary.json`` and ``results/summary/*.json`` aside to ``build/previous/``, so that
   a run that fails leaves no report that looks complete and current; a file whose content comes
   out unchanged (apart from its time stamps) is moved back instead of written again
   (:mod:`dd2424.study.unchanged`), so rebuilding the report on the same results changes no file;
2. execute each step of the chapter registry (:func:`dd2424.study.registry.pipeline_steps`:
   which notebooks, in which order, with which parameters) with papermill (kernel
   ``python3`` started with *this* interpreter, so the notebooks import this ``dd2424``),
   saving the executed copies in ``build/notebooks/``; a failing cell stops the pipeline with
   the notebook's name and the cell's error (exit status 1);
3. execute ``report.ipynb``, which merges the notebooks' summary parts into
   ``results/summary.json`` and writes the narrative from it;
4. export the executed report to HTML (always) and PDF (nbconvert, xelatex), code hidden,
   through temporary files renamed only when both are written; the PDF's dates are the summary's
   ``generated`` time, so the same summary typesets to the same bytes.

Progress: notebooks append one JSON line per finished training run to ``build/progress.log``
(its ``text``, and ``reused``: read back from a saved run, counted in ``timing.reused_runs``);
this process tails that file and prints ``[run i/N] ...`` on stderr, so the progress never
lands in the stored notebooks or the report. ``N`` is the planned number,
a minimum (a trial of the ablation ladder that passes its first seed runs the others too):
runs beyond it show as ``[run i/N+]``. papermill's per-cell bar is shown when stderr is a
terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError, DD2424Error
from .export import REMOVE_CELL_TAGS, REMOVE_INPUT_TAGS, REPORT_NAME, export_report  # noqa: F401 (re-exported)
from .report_checks import check_output_dir, check_scheduler, missing_folders, remove_empty_folders
from .study.paths import OutputFolderBusy, Paths, default_output_dir, lock_output_folder
from .study.profiles import get_profile
from .study.registry import notebooks_dir, pipeline_steps, planned_runs
from .study.summary import PIPELINE_PART

REPORT_NOTEBOOK = "report.ipynb"

EXIT_FAILED = 1
EXIT_BUSY = 2


def run_report(args) -> int:
    """Entry point of ``dd2424 report`` (see :mod:`dd2424.cli`); returns the exit status."""
    return build_report(
        profile=args.profile,
        output_dir=args.output_dir,
        data=args.data,
        jobs=args.jobs,
        scheduler=args.scheduler,
        force=args.force,
        overrides=getattr(args, "overrides", None),
        prune_stale=getattr(args, "prune_stale", False),
    )


def build_report(
    profile: str = "full",
    output_dir: str | os.PathLike | None = None,
    data: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    prune_stale: bool = False,
) -> int:
    """Run the whole pipeline (see the module docstring); 0 on success.

    ``overrides`` maps an executed notebook's name (e.g. ``"03_lambda_search"``) to extra
    papermill parameters for it. ``prune_stale`` deletes, once every notebook has run, the saved
    runs of an older code version (:func:`stale_runs`); without it they are only counted.
    """
    tic = time.perf_counter()
    settings = get_profile(profile)  # an unknown profile fails before anything is deleted
    paths = Paths(output_dir if output_dir is not None else default_output_dir(profile))
    check_output_dir(paths.root)  # one-line errors (exit 2) before anything runs
    if scheduler:
        check_scheduler(scheduler)
    created = missing_folders(paths.root)
    try:
        with lock_output_folder(paths):
            return _build_report(tic, settings.name, paths, data, jobs, scheduler, force, dict(overrides or {}), prune_stale)
    except OutputFolderBusy as busy:
        print(f"dd2424 report: {busy}", file=sys.stderr, flush=True)
        return EXIT_BUSY
    except DD2424Error:  # e.g. bad data, found before any notebook ran: a new folder is not left behind
        remove_empty_folders(created, paths.lock)
        raise


def _build_report(tic: float, profile: str, paths: Paths, data: str | None, jobs: int, scheduler: str | None,
                  force: bool, overrides: dict, prune_stale: bool = False) -> int:  # fmt: skip
    """The pipeline, with the output folder locked."""
    notebooks = _notebooks_dir()
    provenance = _check_data(data)
    _set_aside_previous(paths)
    log = paths.build / "progress.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    paths.executed_notebooks.mkdir(parents=True, exist_ok=True)

    bar = sys.stderr.isatty()
    emit = _emitter(bar)
    steps = pipeline_steps()
    total = len(steps) + 1
    runs = planned_runs(get_profile(profile))
    emit(f"dd2424 report: profile {profile}, {runs} training runs planned (more if a trial passes its first seed), "
         f"jobs {jobs}"
         f"{', scheduler ' + scheduler if scheduler else ''}; data: {provenance}; output: {paths.root}")  # fmt: skip
    common = {"profile": profile, "output_dir": str(paths.root), "data": data, "jobs": jobs, "scheduler": scheduler,
              "force": force, "progress_log": str(log)}  # fmt: skip
    timings: dict[str, float] = {}
    with _ProgressTail(log, runs, emit):
        for i, (chapter, step) in enumerate(steps, 1):
            params = {**common, **step.parameters, **overrides.get(step.name, {})}
            seconds = _execute(notebooks / chapter.notebook, step.name, params, paths, f"[notebook {i}/{total}]", emit, bar)
            if seconds is None:
                return EXIT_FAILED
            timings[step.name] = seconds
    runs_done = _finished_runs(log)
    reused = sum(bool(entry.get("reused")) for entry in runs_done)
    _report_stale_runs(paths, prune_stale, emit)
    _write_pipeline_part(paths, profile, timings, time.perf_counter() - tic, jobs, scheduler, reused,
                         len(runs_done) - reused)  # fmt: skip

    name = Path(REPORT_NOTEBOOK).stem
    params = {"profile": profile, "output_dir": str(paths.root), **overrides.get(name, {})}
    if _execute(notebooks / REPORT_NOTEBOOK, name, params, paths, f"[notebook {total}/{total}]", emit, bar) is None:
        return EXIT_FAILED
    generated = _read_json(paths.summary).get("generated")  # kept by a rebuild of the same results
    status = export_report(paths.executed_notebooks / REPORT_NOTEBOOK, paths.report, emit, source_date=generated)
    shutil.rmtree(paths.previous, ignore_errors=True)  # what was set aside and not moved back is out of date
    emit(f"dd2424 report: finished in {time.perf_counter() - tic:.0f} s")
    return status


# --------------------------------------------------------------------------- steps


def _notebooks_dir() -> Path:
    folder = notebooks_dir()
    if folder is None or not (folder / REPORT_NOTEBOOK).is_file():
        raise ConfigError(
            "the report needs the notebooks/ folder of a source checkout of dd2424 "
            "(git clone the project and pip install -e . from it)"
        )
    return folder


def _check_data(data: str | None) -> str:
    from .data import load_cifar10

    dataset = load_cifar10(data)  # raises DataError with a fix if the data is missing or damaged
    return dataset.provenance


def _set_aside_previous(paths: Paths) -> None:
    """Delete the previous run's report and move its summary aside (``build/previous``): a failed run then leaves
    none that looks current, and a rebuild on unchanged results moves the files back (:mod:`.study.unchanged`)."""
    for path in (paths.report / f"{REPORT_NAME}.pdf", paths.report / f"{REPORT_NAME}.html"):
        path.unlink(missing_ok=True)
    shutil.rmtree(paths.previous, ignore_errors=True)
    parts = sorted(paths.summary_parts.glob("*.json")) if paths.summary_parts.is_dir() else []
    for path in [paths.summary, *parts]:
        if path.is_file():
            aside = paths.set_aside(path)
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, aside)


def _execute(notebook: Path, name: str, params: dict, paths: Paths, tag: str, emit, bar: bool) -> float | None:
    """Run one notebook with papermill; its duration, or None after printing why it failed."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = paths.executed_notebooks / f"{name}.ipynb"
    emit(f"{tag} {name}")
    tic = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(out), parameters=params, kernel_name="python3", progress_bar=bar,
            cwd=str(notebook.parent), kernel_manager_class=_kernel_manager_class(),
        )  # fmt: skip
    except PapermillExecutionError as error:
        first_line = (error.source or "").strip().splitlines()[:1]
        where = f"cell {error.exec_count}" + (f" ({first_line[0][:60]})" if first_line else "")
        emit(f"dd2424 report: notebook {notebook.name} ({name}) failed at {where}: {error.ename}: {error.evalue}")
        emit(f"  the executed notebook, with the traceback: {out}")
        return None
    except Exception as error:  # the kernel died, a parameter could not be injected, ...
        emit(f"dd2424 report: notebook {notebook.name} ({name}) failed: {type(error).__name__}: {error}")
        emit(f"  the executed notebook, as far as it got: {out}")
        return None
    seconds = time.perf_counter() - tic
    emit(f"{tag} {name}: done in {seconds:.1f} s")
    return seconds


def stale_runs(paths: Paths) -> list[Path]:
    """Saved runs of another code version: their key can never match again, so no report reads them.

    A file that cannot be read as a run record is not counted: it is not this function's to delete.
    """
    from .code_version import code_version

    current, stale = code_version(), []
    for path in sorted(paths.runs.glob("*.json")) if paths.runs.is_dir() else []:
        version = _read_json(path).get("code_version")
        if isinstance(version, str) and version != current:
            stale.append(path)
    return stale


def _report_stale_runs(paths: Paths, prune: bool, emit: Callable[[str], None]) -> None:
    stale = stale_runs(paths)
    if not stale:
        return
    if prune:
        for path in stale:
            path.unlink(missing_ok=True)
        emit(f"dd2424 report: deleted {len(stale)} saved runs of an older code version from {paths.runs}")
    else:
        emit(f"dd2424 report: {paths.runs} holds {len(stale)} runs of an older code version, which are never reused; "
             "--prune-stale deletes them")  # fmt: skip


def _write_pipeline_part(paths: Paths, profile: str, timings: dict, seconds: float, jobs: int, scheduler,
                         reused_runs: int, computed_runs: int) -> None:  # fmt: skip
    """``00_pipeline.json``: the timings of the invocation that computed the results (``from_scratch``: the same,
    when it reused no run).

    An invocation that computes no run (a rebuild of the report) keeps the part the last invocation
    wrote (set aside in ``build/previous``) when it has the same profile and code version: the report
    still says what computing its results cost, and the committed part stays byte for byte.
    """
    from .experiments import code_version, write_json_atomic
    from .study.context import now

    version, part = code_version(), paths.summary_parts / f"{PIPELINE_PART}.json"
    aside = paths.set_aside(part)
    previous = _read_json(aside)
    if computed_runs == 0 and previous.get("profile") == profile and previous.get("code_version") == version:
        part.parent.mkdir(parents=True, exist_ok=True)
        os.replace(aside, part)
        return
    invocation = {"pipeline_seconds": seconds, "notebook_seconds": timings, "jobs": jobs, "scheduler": scheduler,
                  "finished": now()}  # fmt: skip
    write_json_atomic(part, {
        "profile": profile,
        "code_version": version,
        "pipeline": {**invocation, "reused_runs": reused_runs, "from_scratch": invocation if reused_runs == 0 else None},
    })  # fmt: skip


def _finished_runs(log: Path) -> list[dict]:
    """The entry of every run the notebooks logged as finished (``reused``: read back from a saved run, not trained)."""
    entries = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("run"):
            entries.append(entry)
    return entries


def _read_json(path: Path) -> dict:
    """The JSON object in ``path``, or ``{}`` when it is missing or unreadable."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- kernel and progress


def _kernel_manager_class():
    """A KernelManager that starts ipykernel with this interpreter, whatever kernelspec ``python3`` points to.

    So the notebooks import the same ``dd2424`` as the pipeline, even with a user-level
    ``python3`` kernelspec of another environment. Transport encryption (CurveZMQ) is used
    when pyzmq supports it.
    """
    import zmq
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager
    from traitlets import default

    class ThisPythonKernelManager(KernelManager):
        @property
        def kernel_spec(self):  # type: ignore[override]
            if self._kernel_spec is None:
                from ipykernel.kernelspec import RESOURCES, get_kernel_dict

                self._kernel_spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
            return self._kernel_spec

    if "transport_encryption" in KernelManager.class_trait_names():  # jupyter_client >= 8.10

        class EncryptedKernelManager(ThisPythonKernelManager):
            @default("transport_encryption")
            def _default_transport_encryption(self) -> str:
                return "auto" if zmq.has("curve") else "disabled"

        return EncryptedKernelManager
    return ThisPythonKernelManager


def _emitter(bar: bool) -> Callable[[str], None]:
    lock = threading.Lock()

    def emit(line: str) -> None:
        with lock:
            if bar:
                from tqdm.auto import tqdm

                tqdm.write(line, file=sys.stderr)
            else:
                print(line, file=sys.stderr, flush=True)

    return emit


class _ProgressTail:
    """Tail the notebooks' progress log in a thread and print ``[run i/N] ...`` lines (``i/N+`` past the N planned)."""

    def __init__(self, path: Path, total: int, emit: Callable[[str], None]) -> None:
        self.path, self.total, self.emit = path, total, emit
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        with open(self.path) as f:
            buffer = ""
            while True:
                chunk = f.readline()
                if chunk:
                    buffer += chunk
                    if buffer.endswith("\n"):
                        self._line(buffer)
                        buffer = ""
                    continue
                if self._stop.is_set():
                    return
                time.sleep(0.2)

    def _line(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return
        if entry.get("run"):
            self.count += 1
            self.emit(f"[run {self.count}/{self.total}{'+' if self.count > self.total else ''}] {entry['text']}")
        else:
            self.emit(entry.get("text", ""))
