"""The run context of a notebook: its profile, data, output folder, how it trains and where its outputs go.

A chapter module receives a :class:`Context` (built by :func:`dd2424.study.notebook.open_chapter`
from the notebook's parameters), asks it for configurations (:meth:`Context.config`), trains or
reuses them (:meth:`Context.run`, which prints one progress line per run, under an overall bar in
JupyterLab) and writes its tables, figures (shown below the cell as well) and summary part through
it, so every output name gets the context's ``suffix`` (empty for the pipeline's own parameter sets,
see :mod:`dd2424.study.notebook`). The context also carries what the chapter's contract
(:class:`~.chapter.Chapter`) resolves for this notebook: its own settings (``ctx.settings``) and the
name of its summary part (``ctx.part``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from ..experiments import DataSpec, code_version, data_identity, load_data, run_many
from ..files import json_ready
from ..training import TrainConfig
from .chapter import Chapter
from .paths import Paths, default_output_dir
from .profiles import PROFILE_FIELDS, ChapterSettings, Profile, get_profile
from .tables import Column, describe_config, plural, write_table
from .unchanged import write_unless_unchanged


class Context:
    """What a notebook needs: resolved profile, data, output paths and how to run sweeps.

    ``progress_log``: a file to which every finished run appends one JSON line (the report
    pipeline reads it and prints the progress on its own stderr, so nothing lands in the
    stored notebooks); ``None`` prints one line per run to stdout instead (interactive use).
    ``suffix`` is appended to every table, figure and summary part this context writes.
    ``chapter``: the notebook's chapter, whose settings of the profile become ``settings``;
    ``part``: the summary part :meth:`save_part` writes (default: the chapter's notebook stem).
    ``overrides`` are profile fields (:func:`dd2424.study.profiles.get_profile`) or the
    chapter's settings (:meth:`~.chapter.Chapter.settings_for`).
    """

    def __init__(
        self,
        profile: str = "quick",
        *,
        output_dir: str | os.PathLike | None = None,
        data: str | None = None,
        jobs: int = 1,
        scheduler: str | None = None,
        force: bool = False,
        progress_log: str | os.PathLike | None = None,
        suffix: str = "",
        chapter: Chapter | None = None,
        part: str | None = None,
        **overrides: Any,
    ) -> None:
        own = {k: v for k, v in overrides.items() if k not in PROFILE_FIELDS}
        self.profile: Profile = get_profile(profile, **{k: v for k, v in overrides.items() if k in PROFILE_FIELDS})
        if own and chapter is None:
            raise ConfigError(f"unknown profile setting(s) {sorted(own)}; known: {sorted(PROFILE_FIELDS)}")
        self.chapter = chapter
        self.settings: ChapterSettings | None = chapter.settings_for(self.profile.name, **own) if chapter else None
        self.part = part or (chapter.stem if chapter else None)
        self.paths = Paths(output_dir if output_dir is not None else default_output_dir(self.profile.name))
        if int(jobs) != jobs or jobs < 1:
            raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
        self.jobs, self.scheduler, self.force = int(jobs), scheduler or None, bool(force)
        self.progress_log = Path(progress_log) if progress_log else None
        self.suffix = suffix
        p = self.profile
        self.spec = DataSpec(data or None, p.n_train, p.n_val, p.n_test)
        self.data_info = data_identity(self.spec)  # cheap: the data is decoded only if a run needs it

    @property
    def data(self):
        """The dataset (decoded on first use, once per process)."""
        return load_data(self.spec)

    def name(self, base: str) -> str:
        """The name of an output of this context: ``base`` plus the suffix of non-default parameters."""
        return base + self.suffix

    def config(self, **changes: Any) -> TrainConfig:
        """A :class:`TrainConfig` with the profile's schedule, batch and recording, then ``changes``."""
        p = self.profile
        history = min(p.history_train_samples, self.data_info["n_train"])  # the images it really uses
        base = dict(n_s=p.n_s, cycles=p.cycles, batch_size=p.batch_size, records_per_cycle=p.records_per_cycle,
                    lam=p.default_lam, history_train_samples=history)  # fmt: skip
        base.update(changes)
        return TrainConfig(**base)

    def run(self, configs: Sequence[TrainConfig], label: str, threads: int = 1, progress: bool = False) -> list[dict]:
        """Run (or reuse) ``configs`` with the context's jobs/scheduler/force; report each finished run.

        ``threads`` BLAS threads per run; the context's ``jobs`` cores are then shared by
        ``jobs // threads`` runs at a time. ``progress``: each run trained in this process shows
        its steps (``train(progress=True)``: a bar in JupyterLab, record lines in papermill).
        """
        done = Progress(label, len(configs), self.paths.runs, self.progress_log)
        try:
            return run_many(configs, self.spec, self.paths.results, jobs=max(1, self.jobs // threads),
                            scheduler=self.scheduler, force=self.force, on_done=done, threads=threads,
                            progress=True if progress else None)  # fmt: skip
        finally:
            done.close()

    def note(self, text: str) -> None:
        """Report a step that is not a training run (e.g. a row evaluated from saved runs), as :class:`Progress` does."""
        _log_or_print(self.progress_log, {"text": text}, text)

    def write_table(self, rows: Sequence[Mapping], columns: Sequence[Column], name: str) -> str:
        """Write ``rows`` as ``results/tables/<name><suffix>.csv`` and ``.md``; return the Markdown."""
        return write_table(rows, columns, self.paths.tables / self.name(name))

    def save_figure(self, fig: Any, name: str) -> None:
        """Write ``figures/<name><suffix>.pdf`` and ``.png`` and, run in IPython, show the PNG below the cell.

        Returns nothing, so the figure is shown once whether or not the call ends the cell.
        """
        from .. import plotting

        show_png(plotting.save_figure(fig, self.name(name), self.paths.figures).png)

    def save_part(self, content: dict) -> None:
        """Write this notebook's contribution to the summary, ``results/summary/<part><suffix>.json`` (``part``: :attr:`part`).

        ``content``'s keys must be sections the chapter declares (``Chapter.summary``). A part whose
        content is unchanged (all but its ``written`` time) is left as it is, so rerunning a chapter
        on the same results leaves the committed files byte for byte.
        """
        if self.part is None or self.chapter is None:
            raise ConfigError("this context has no chapter, so no summary part: open it with open_chapter(...)")
        undeclared = set(content) - set(self.chapter.summary)
        if undeclared:
            raise ConfigError(f"{self.chapter.stem} writes the summary section(s) {sorted(undeclared)}, but its "
                              f"CHAPTER declares {list(self.chapter.summary)}: add them to Chapter(summary=...)")  # fmt: skip
        path = self.paths.summary_parts / f"{self.name(self.part)}.json"
        record = json_ready({"profile": self.profile.name, "data": self.data_info, "code_version": code_version(),
                             "written": now(), **content})  # fmt: skip
        write_unless_unchanged(path, record, self.paths.set_aside(path))

    def describe(self) -> str:
        """A Markdown paragraph with the profile, data and output folder (for the notebooks)."""
        p, d = self.profile, self.data_info
        variant = f"; outputs named with the suffix `{self.suffix}` (non-default parameters)" if self.suffix else ""
        return (
            f"Profile **{p.name}**: n_s {p.n_s}, {plural(p.cycles, 'cycle')}, batch {p.batch_size}, "
            f"seeds {list(p.seeds)}; data: {d['provenance']} "
            f"({d['n_train']} train / {d['n_val']} validation / {d['n_test']} test images); "
            f"output folder `{self.paths.root}`{variant}; code version {code_version()}."
        )


class Progress:
    """``on_done`` callback of :func:`run_many`: one line (or JSON line in the pipeline's log) per finished run."""

    def __init__(self, label: str, total: int, runs_dir: Path, log: Path | None) -> None:
        self.label, self.total, self.runs_dir, self.log = label, total, runs_dir, log
        self.count = 0
        self.started = time.time()
        self.bar = _notebook_bar(label, total) if log is None else None

    def __call__(self, record: dict) -> None:
        self.count += 1
        saved = self.runs_dir / record.get("cached_as", "")
        reused = saved.is_file() and saved.stat().st_mtime < self.started  # the file predates this sweep
        text = f"{self.label}: {describe_config(record['config'])}: " + (
            f"diverged ({record.get('message') or 'non-finite cost'})" if record.get("diverged")
            else f"test {100 * record['test_accuracy']:.1f}%"
        )  # fmt: skip
        text += " (reused)" if reused else f" ({record.get('wall_seconds', 0):.1f} s)"
        _log_or_print(self.log, {"run": True, "reused": reused, "text": text}, f"[run {self.count}/{self.total}] {text}")
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """Close the overall bar, if one is shown."""
        if self.bar is not None:
            self.bar.close()


def _notebook_bar(label: str, total: int):
    """A tqdm.auto bar over a sweep's runs in JupyterLab, else None (papermill, terminals and logs get the lines only)."""
    from ..progress import where_shown

    if where_shown() != "notebook":
        return None
    try:
        import ipywidgets  # noqa: F401  (tqdm.auto's widget bar needs it)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm import tqdm
    return tqdm(total=total, desc=label, unit="run")


def show_png(png: Path) -> None:
    """Display a PNG file below the running cell when running in IPython (a no-op elsewhere)."""
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        return
    from IPython.display import display

    display({"image/png": base64.b64encode(png.read_bytes()).decode(), "text/plain": f"<figure {png.stem}>"}, raw=True)


def rerun_hint(ctx: Context, chapter: str) -> str:
    """How to make the results of an earlier ``chapter`` that ``ctx``'s notebook reads."""
    return f"run notebook {chapter} (or `dd2424 report --profile {ctx.profile.name}`) into {ctx.paths.root} first"


def earlier_part(ctx: Context, part: str, chapter: str) -> dict:
    """The summary part ``part`` of an earlier ``chapter``, checked to come from ``ctx``'s profile and data."""
    path = ctx.paths.summary_parts / f"{part}.json"
    if not path.is_file():
        raise ConfigError(f"this notebook reads the results of {chapter}, but {path} is missing: {rerun_hint(ctx, chapter)}")
    content = json.loads(path.read_text())
    if content.get("profile") != ctx.profile.name or content.get("data", {}).get("sha256") != ctx.data_info["sha256"]:
        raise ConfigError(f"{path.name} comes from profile {content.get('profile')!r} and other data than this "
                          f"notebook's ({ctx.profile.name!r}): {rerun_hint(ctx, chapter)}")  # fmt: skip
    return content


def _log_or_print(log: Path | None, entry: dict, line: str) -> None:
    """Append ``entry`` as a JSON line to the pipeline's progress log, or print ``line`` without one."""
    if log is None:
        print(line, flush=True)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
