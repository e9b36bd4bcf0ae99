"""The checks ``dd2424 report`` makes on its own arguments before anything runs, and its tidy-up.

Each check raises :class:`~dd2424.errors.ConfigError` with one line that says what is wrong and
what to do (the command prints it and exits with status 2), so that an output folder that cannot
be written or a scheduler that is not there stops the pipeline at once, not after a notebook.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import tempfile
import threading
from pathlib import Path

from .errors import ConfigError

#: how long the scheduler check waits for the name to resolve and for the connection
SCHEDULER_TIMEOUT = 2.0
#: a Dask address: [protocol://]host:port, the host possibly an [IPv6] literal
_ADDRESS = re.compile(r"^(?:(?P<protocol>[A-Za-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(?P<port>\d{1,5})$")
_PROTOCOLS = ("tcp", "tls", "ws", "wss")


def check_output_dir(root: Path) -> None:
    """Refuse an output folder that is a file, or lies under a file, or where nothing can be written.

    A folder that does not exist yet is fine when its nearest existing parent is writable (the
    pipeline creates it); writing is probed with a temporary file, which also catches a read-only
    mount and works for root, for whom permission bits say little.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--output-dir {root} is a file; give a folder (it is created if missing)")
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"--output-dir {root}: {existing} is a file, so the folder cannot be created; "
                          "give another folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".dd2424-report.", suffix=".probe", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise ConfigError(
            f"--output-dir {root}: cannot write in {existing} ({error.strerror or error}); "
            "give a folder you can write to"
        ) from None


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Refuse a ``--scheduler`` address of the wrong form, or one where nothing answers within ``timeout``.

    The form is Dask's ``[protocol://]host:port``; that something answers is checked with a TCP
    connection (name resolution included) that gives up after ``timeout`` seconds.
    """
    match = _ADDRESS.match(address.strip())
    protocol = (match["protocol"] or "tcp").lower() if match else None
    if match is None or protocol not in _PROTOCOLS or not 0 < int(match["port"]) < 65536:
        raise ConfigError(f"--scheduler {address!r} is not a scheduler address; "
                          "give tcp://host:port, e.g. tcp://127.0.0.1:8786")
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError("--scheduler needs dask.distributed, which is not installed: pip install 'dd2424[dask]'")
    host, port = match["host"].strip("[]"), int(match["port"])
    problem = _connect(host, port, timeout)
    if problem:
        raise ConfigError(
            f"--scheduler {address}: no scheduler answers there ({problem}); start one (dask scheduler) "
            "or check the address"
        )


def _connect(host: str, port: int, timeout: float) -> str | None:
    """Why a TCP connection to ``host:port`` failed within ``timeout`` seconds, or None when it opened.

    The connection runs in a daemon thread because name resolution has no timeout of its own: a
    resolver that hangs must not hold the command (or its exit) up.
    """
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(error.strerror or str(error) or type(error).__name__)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return outcome[0] if outcome else f"no answer within {timeout:g} s"


def missing_folders(root: Path) -> list[Path]:
    """``root`` and those of its parents that do not exist yet, deepest first."""
    missing, folder = [], Path(root)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty_folders(folders: list[Path], lock: Path) -> None:
    """After a pipeline that stopped before any notebook ran: remove the lock file and the folders
    the pipeline created (``folders``, deepest first, with what it made inside them), if empty."""
    if not folders:
        return  # the folder was there before: it keeps its lock file, as after any run
    lock.unlink(missing_ok=True)
    inside = sorted((p for p in folders[0].rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    for folder in [*inside, *folders]:
        try:
            folder.rmdir()  # only ever removes an empty folder
        except OSError:
            pass
