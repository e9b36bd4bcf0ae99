"""Download the official CIFAR-10 archive once, with pooch, and verify its md5.

The archive goes to ``<cache folder>/cifar-10-download/`` (a folder of its own, so that the
temporary files pooch leaves behind when a download is killed can be recognised and removed
on the next start). Failed downloads are retried (``RETRIES``); each read waits at most
``READ_TIMEOUT`` seconds, and the whole download is stopped after ``$DD2424_DOWNLOAD_TIMEOUT``
seconds (default 1800, i.e. 30 minutes). Every failure is one ``DataError`` line with the fix.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Any

from dd2424 import cifar_source as src
from dd2424.errors import ConfigError, DataError

TIMEOUT_ENV_VAR = "DD2424_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
READ_TIMEOUT = 60  # seconds a single read of the connection may take
RETRIES = 3
DOWNLOAD_DIR = "cifar-10-download"
# pooch streams into tempfile.NamedTemporaryFile(dir=...): "tmp" + 8 characters
_POOCH_TEMP_RE = re.compile(r"tmp[a-z0-9_]{8}")
# a temporary file written to within this many seconds may belong to a live download
_LIVE_S = 2 * READ_TIMEOUT


class DownloadTimeout(Exception):
    """The download took longer than its overall deadline (not retried by pooch)."""


class Deadline:
    """A pooch progress bar that shows progress with tqdm and stops the download at a deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._bar: Any = None
        self._total = 0

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:  # pooch sets it once the size is known
        self._total = value
        try:
            from tqdm import tqdm
        except ImportError:  # no progress bar, the deadline still holds
            return
        self._bar = tqdm(total=value, ncols=79, unit="B", unit_scale=True, leave=True)

    def update(self, n: int) -> None:
        if time.monotonic() > self.end:
            self.close()
            raise DownloadTimeout(f"the download took longer than {self.seconds:g} s")
        if self._bar is not None:
            self._bar.update(n)

    def reset(self) -> None:
        if self._bar is not None:
            self._bar.reset()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def download_timeout() -> float:
    """The overall download deadline in seconds (``$DD2424_DOWNLOAD_TIMEOUT``, default 1800)."""
    text = os.environ.get(TIMEOUT_ENV_VAR, "")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{TIMEOUT_ENV_VAR}={text!r} is not a positive number of seconds")
    return value


def remove_leftovers(folder: Path, *, live_s: float = _LIVE_S) -> list[Path]:
    """Delete pooch temporary files of killed downloads in ``folder``; return them.

    Only files named like pooch's temporary files, in the download's own folder, and not
    written to for ``live_s`` seconds (a live download writes at least every READ_TIMEOUT).
    """
    removed = []
    now = time.time()
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if not _POOCH_TEMP_RE.fullmatch(path.name) or not path.is_file():
                continue
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime >= live_s:
                    path.unlink()
                    removed.append(path)
    return removed


def fetch_official(cache_dir: Path | str | None = None) -> Path:
    """Download the official archive into the cache folder (once) and verify its md5."""
    folder = src.cache_dir_or_default(cache_dir) / DOWNLOAD_DIR
    target = folder / src.ARCHIVE_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the cache folder {folder} ({exc}); set {src.CACHE_ENV_VAR} to a "
            f"writable folder, or {src.FIX}"
        ) from exc
    index_dir = folder.parent
    old = index_dir / src.ARCHIVE_NAME  # where earlier versions downloaded it
    if old.is_file() and not target.exists():
        with contextlib.suppress(OSError):
            os.replace(old, target)
    entry = src.index_entry(index_dir, target)
    if entry is not None and entry.get("md5") == src.OFFICIAL_MD5:
        return target  # verified before, unchanged since: skip pooch's md5 pass
    remove_leftovers(folder)
    deadline = download_timeout()
    import pooch  # imported here: it is slow to import and only needed for the download

    base_url, fname = src.OFFICIAL_URL.rsplit("/", 1)
    try:
        fetcher = pooch.create(
            path=folder,
            base_url=base_url + "/",
            registry={fname: f"md5:{src.OFFICIAL_MD5}"},
            retry_if_failed=RETRIES,
        )
        downloader = pooch.HTTPDownloader(progressbar=Deadline(deadline), timeout=READ_TIMEOUT)
        path = Path(fetcher.fetch(fname, downloader=downloader))
    except DownloadTimeout as exc:
        raise DataError(
            f"could not download CIFAR-10 from {src.OFFICIAL_URL} ({exc}); set "
            f"{TIMEOUT_ENV_VAR} to more seconds on a slow connection, or {src.FIX}"
        ) from exc
    except ValueError as exc:  # pooch: the hash does not match (after the retries)
        with contextlib.suppress(OSError):
            target.unlink()
        raise DataError(
            f"the download of {src.OFFICIAL_URL} does not match its md5 {src.OFFICIAL_MD5} "
            f"({_one_line(exc)}); the file was removed, retry the download (or {src.FIX})"
        ) from exc
    except OSError as exc:  # requests/urllib errors are OSErrors
        raise DataError(
            f"could not download CIFAR-10 from {src.OFFICIAL_URL} ({_one_line(exc)}); "
            f"without internet access, {src.FIX}"
        ) from exc
    # pooch has just checked the md5; record it with the sha256 so later loads skip both
    sig = src.signature([path])
    sha, md5 = src.hash_files([path])
    src.record_index(index_dir, path, sig, sha256=sha, md5=md5)
    return path


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
