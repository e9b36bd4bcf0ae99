"""Where everything goes under an output folder, and the lock that keeps one pipeline per folder.

Files under an output folder (:class:`Paths`): ``results/runs/*.json`` (one per training run),
``results/gradcheck/*.json`` (one per gradient check), ``results/tables/<name>.csv|md``,
``results/summary/<part>.json`` (what each executed notebook found, merged into
``results/summary.json`` by :func:`dd2424.study.summary.build_summary`), ``figures/<name>.pdf|png``,
``build/`` (executed notebooks, progress log, lock, the previous summary set aside while a pipeline
runs) and ``report/``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError


def project_root() -> Path | None:
    """The source checkout's root (the folder with ``pyproject.toml`` above the package), or None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def default_output_dir(profile: str = "full") -> Path:
    """Where a profile writes by default.

    ``full``: the project root when running from a checkout (its ``results/``, ``figures/`` and
    ``report/`` are the committed ones), else the current directory. Other profiles write to
    ``build-report/<profile>`` beneath it, so a quick look never replaces the full results.
    """
    base = project_root() or Path.cwd()
    return base if profile == "full" else base / "build-report" / profile


@dataclass(frozen=True)
class Paths:
    """Where everything goes under an output folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def runs(self) -> Path:
        return self.results / "runs"

    @property
    def gradcheck(self) -> Path:
        return self.results / "gradcheck"

    @property
    def tables(self) -> Path:
        return self.results / "tables"

    @property
    def summary_parts(self) -> Path:
        return self.results / "summary"

    @property
    def summary(self) -> Path:
        return self.results / "summary.json"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def executed_notebooks(self) -> Path:
        return self.build / "notebooks"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def lock(self) -> Path:
        return self.build / "report.lock"

    @property
    def previous(self) -> Path:
        """Where a pipeline sets the previous summary aside while it runs (:mod:`.unchanged`)."""
        return self.build / "previous"

    def set_aside(self, path: Path) -> Path:
        """Where ``path`` (a file under the output folder) lies while set aside: the same name under :attr:`previous`."""
        return self.previous / Path(path).resolve().relative_to(self.root)


class OutputFolderBusy(ConfigError):
    """Another process holds the output folder's lock (its pid, when it wrote one, is ``pid``)."""

    def __init__(self, folder: Path, pid: str | None) -> None:
        self.folder, self.pid = folder, pid
        holder = f"pid {pid}" if pid else "a process that has not written its pid yet"
        super().__init__(f"{folder} is in use by another `dd2424 report` ({holder}); wait for it to finish, "
                         f"or give another --output-dir; if none is running, delete {Paths(folder).lock}")  # fmt: skip


@contextlib.contextmanager
def lock_output_folder(paths: Paths) -> Iterator[None]:
    """Hold an exclusive lock on ``paths.root`` (``build/report.lock``, holding our pid) for the block.

    Two pipelines on one folder would delete each other's summary parts; the second one
    raises :class:`OutputFolderBusy` at once instead of waiting. The lock is ``fcntl.flock``,
    so it is released when the process ends, however it ends.
    """
    import fcntl

    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise OutputFolderBusy(paths.root, f.read().strip() or None) from None
        try:
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()}\n")
            f.flush()
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
