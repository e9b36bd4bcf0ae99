"""CIFAR-10 sources: where the data are, what their bytes hash to, and how to label them.

A source is a ``cifar-10-python.tar.gz`` archive or an extracted ``cifar-10-batches-py``
folder. Hashing a 170 MB archive takes a while, so a small JSON index in the cache folder maps
each source (resolved path, sizes, mtimes) to its sha256 (and, for an archive, md5, computed in
the same read); the digests are recomputed only when the files change. The provenance label
says honestly what a source is: the official archive only when its md5 is the official one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from dd2424.errors import DataError
from dd2424.files import write_atomic

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"  # read at call time: tests may monkeypatch it
ENV_VAR = "DD2424_CIFAR10"
CACHE_ENV_VAR = "DD2424_DATA_DIR"

OFFICIAL_PROVENANCE = "official archive (md5 verified)"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
REQUIRED_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)  # also the order hashed for a folder

# Known archives that are NOT the official one, by sha256, with what to call them.
KNOWN_COPIES = {
    # The offline copy shipped for machines without internet: the images were stored as JPEGs
    # and decoded back to pixels (lossy, so pixels differ slightly from the official ones), and
    # the images are not in the official order, so its validation split is a different sample.
    "e3fdb1faa10c33d7deacdab2336a81af02ec303fb1d5333976499e41c83ef303":
        "JPEG-compressed copy of CIFAR-10, not the official archive",
}

FIX = (
    f"set {ENV_VAR} or pass --data PATH to a cifar-10-python.tar.gz "
    f"or {BATCH_DIR} folder"
)
INDEX_NAME = "cifar10-index.json"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_MD5_RE = re.compile(r"[0-9a-f]{32}")
_HASH_CHUNK = 1 << 20


class CacheWarning(UserWarning):
    """A cache or index file was unreadable or could not be written; it is rebuilt or skipped."""


@dataclass(frozen=True)
class DataSource:
    """A resolved source: ``path`` to an archive or folder; ``origin`` is what to report."""

    path: Path
    official: bool
    origin: str

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()


def default_cache_dir() -> Path:
    """``$DD2424_DATA_DIR``, else ``<repo>/data`` in a source checkout, else ``~/.cache/dd2424``."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / ".cache" / "dd2424"


def cache_dir_or_default(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def local_source(source: str | os.PathLike[str], where: str = "") -> DataSource:
    """A user-given archive or folder (``where`` says how it was given, for the error)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}{where} does not exist; {FIX}")
    path = path.resolve()
    return DataSource(path, official=False, origin=str(path))


def source_name(origin: str) -> str:
    """What results record as the source: the URL of a download, else the file or folder name."""
    return origin if "://" in origin else PurePath(origin).name


def batch_dir(folder: Path) -> Path:
    """The folder holding the batches (``folder`` itself or its ``cifar-10-batches-py``)."""
    inner = folder / BATCH_DIR
    if not (folder / TRAIN_BATCHES[0]).exists() and inner.is_dir():
        folder = inner
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder} is not a complete CIFAR-10 folder: missing {', '.join(missing)}; {FIX}"
        )
    return folder


def source_files(src: DataSource) -> list[Path]:
    """The files whose bytes define the source, in hashing order."""
    if src.is_folder:
        folder = batch_dir(src.path)
        return [folder / name for name in REQUIRED_FILES]
    return [src.path]


def provenance_label(src: DataSource, sha256: str, md5: str | None) -> str:
    """How results describe ``src``: official (md5 checked), a known copy, or a local copy."""
    if src.official or (md5 is not None and md5 == OFFICIAL_MD5):
        return OFFICIAL_PROVENANCE
    if sha256 in KNOWN_COPIES:
        return KNOWN_COPIES[sha256]
    # An extracted folder stays a "local copy": the official per-batch checksums are not known.
    return f"local copy, sha256 {sha256}"


# --------------------------------------------------------------------------- hashing and index


def hash_files(files: list[Path]) -> tuple[str, str]:
    """(sha256, md5) hex digests over the concatenated bytes of ``files``, in one read."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    for path in files:
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_HASH_CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
        except OSError as exc:
            raise DataError(f"cannot read {path} ({exc}); {FIX}") from exc
    return sha.hexdigest(), md5.hexdigest()


def signature(files: list[Path]) -> list[list[Any]]:
    """(name, size, mtime_ns) of each file: if unchanged, the recorded digests are trusted."""
    stats = [(p, p.stat()) for p in files]
    return [[p.name, st.st_size, st.st_mtime_ns] for p, st in stats]


def source_digests(src: DataSource, cache_dir: Path) -> tuple[str, str | None]:
    """(sha256, md5) of the source from the index when unchanged, else computed and recorded.

    The md5 is that of an archive file (compared with the official md5); None for a folder.
    """
    entry = index_entry(cache_dir, src.path)
    folder = src.is_folder
    if entry is not None and (folder or _MD5_RE.fullmatch(str(entry.get("md5")))):
        return entry["sha256"], None if folder else entry["md5"]
    files = source_files(src)
    sig = signature(files)  # taken first: a change while hashing forces a re-hash
    sha, md5 = hash_files(files)
    if folder:
        record_index(cache_dir, src.path, sig, sha256=sha)
        return sha, None
    record_index(cache_dir, src.path, sig, sha256=sha, md5=md5)
    return sha, md5


def source_sha256(src: DataSource, cache_dir: Path) -> str:
    """sha256 of the source (see :func:`source_digests`)."""
    return source_digests(src, cache_dir)[0]


def index_entry(cache_dir: Path, path: Path) -> dict[str, Any] | None:
    """The index entry for ``path`` if it exists and still matches the files on disk."""
    entry = _read_index(cache_dir).get(str(path.resolve()))
    if not isinstance(entry, dict) or not _SHA256_RE.fullmatch(str(entry.get("sha256"))):
        return None
    try:
        current = signature(source_files(DataSource(path, False, str(path))))
    except (OSError, DataError):
        return None
    return entry if entry.get("signature") == current else None


def _read_index(cache_dir: Path) -> dict[str, Any]:
    path = cache_dir / INDEX_NAME
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        warnings.warn(f"ignoring unreadable cache index {path} ({exc})", CacheWarning, 2)
        return {}
    entries = index.get("entries") if isinstance(index, dict) else None
    if not isinstance(entries, dict) or index.get("version") != 1:
        warnings.warn(f"ignoring cache index {path} in an unknown format", CacheWarning, 2)
        return {}
    return entries


def record_index(cache_dir: Path, path: Path, sig: list[list[Any]], **fields: str) -> None:
    """Store the signature and digests of ``path`` (best effort: a failure only warns)."""
    with warnings.catch_warnings():  # an unreadable index was reported when it was read
        warnings.simplefilter("ignore", CacheWarning)
        entries = _read_index(cache_dir)
    entries[str(path.resolve())] = {"signature": sig, **fields}
    text = json.dumps({"version": 1, "entries": entries}, indent=1, sort_keys=True)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(cache_dir / INDEX_NAME, text)
    except OSError as exc:
        warnings.warn(f"could not write the cache index in {cache_dir} ({exc})", CacheWarning, 3)
