"""CIFAR-10: find, verify, decode, cache, split and standardise the dataset.

Where the data comes from (first match wins): an explicit ``source`` argument (the CLI's
``--data PATH``), else ``$DD2424_CIFAR10``, else the official archive, downloaded once with
pooch and checked against its md5. A source is a ``cifar-10-python.tar.gz`` archive or an
extracted ``cifar-10-batches-py`` folder (or a folder that contains one).

Splits: the five training batches are concatenated in order (``data_batch_1`` .. ``_5``); the
LAST ``n_val`` images (5,000 by default: the second half of ``data_batch_5``) are the validation
set and the first 45,000 the training set; ``test_batch`` is the test set. The choice is fixed
and needs no random seed, so every run and every user gets the same split; the batches are
already in random order, so the tail is a random-looking sample (class counts are roughly, not
exactly, balanced).

Pre-processing: each of the 3,072 dimensions is standardised with the mean and standard
deviation of the TRAINING split only (computed exactly, in float64; a zero standard deviation
is replaced by 1), and the same transform is applied to validation and test.

Caching: decoding the tar.gz takes seconds, so the decoded uint8 pixels (the 50,000 training
images before the split and their column sums, the test images, labels, label names and the
source's sha256) are kept in one uncompressed ``cifar10-<sha256[:16]>.npz`` in the cache folder
(``default_cache_dir()``).
A small JSON index maps each source (resolved path, sizes, mtimes) to its sha256 so that a
170 MB archive is not re-hashed on every load. Every write is atomic (temporary file in the same
folder, fsync, ``os.replace``); a cache that fails its checks (CRC, keys, shapes, dtypes, sha256)
is deleted with a ``CacheWarning`` and rebuilt from the source. Standardisation runs at load time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pickle
import re
import tarfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dd2424.errors import ConfigError, DataError
from dd2424.files import atomic_path, write_atomic

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
ENV_VAR = "DD2424_CIFAR10"
CACHE_ENV_VAR = "DD2424_DATA_DIR"
N_VAL = 5000

OFFICIAL_PROVENANCE = "official archive (md5 verified)"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
REQUIRED_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)  # also the order hashed for a folder
N_DIMS = 3072

_FIX = (
    f"set {ENV_VAR} or pass --data PATH to a cifar-10-python.tar.gz "
    f"or {BATCH_DIR} folder"
)
_INDEX_NAME = "cifar10-index.json"
_CACHE_FORMAT = 1
_CACHE_KEYS = frozenset(
    {"format", "sha256", "label_names", "train_X", "train_y", "test_X", "test_y",
     "train_sum", "train_sumsq"}
)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_HASH_CHUNK = 1 << 20
# The globals a CIFAR-10 batch pickle may name (numpy arrays, and bytes as Python 3 writes them
# in protocol 2); anything else is refused, so a tampered archive cannot run code via pickle.
_ALLOWED_GLOBALS = frozenset(
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
) | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
    ("builtins", "bytearray"),
}


class CacheWarning(UserWarning):
    """A cache or index file was unreadable or could not be written; it is rebuilt or skipped."""


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True, eq=False)
class Split:
    """One split: ``X`` (n, 3072) standardised and C-contiguous, ``y`` (n,) int64 labels."""

    X: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.y.shape != (self.X.shape[0],):
            raise ValueError(f"inconsistent split: X {self.X.shape}, y {self.y.shape}")

    @property
    def n(self) -> int:
        """Number of images."""
        return int(self.X.shape[0])


@dataclass(frozen=True, eq=False)
class Dataset:
    """The three splits plus what is needed to report where they came from.

    ``mean``/``std`` (3072,) float64 are the training statistics used to standardise every
    split (``std`` with zeros replaced by 1).
    """

    train: Split
    val: Split
    test: Split
    label_names: tuple[str, ...]
    provenance: str
    source: str
    sha256: str | None
    mean: np.ndarray
    std: np.ndarray

    @property
    def n_classes(self) -> int:
        """Number of classes (10 for CIFAR-10)."""
        return len(self.label_names)

    def subset(
        self, n_train: int, n_val: int | None = None, n_test: int | None = None
    ) -> Dataset:
        """The first rows of each split (views, no copy), for quick or smoke runs.

        ``None`` keeps a split whole; a count above the split's size keeps all of it. The
        data keep the full training set's standardisation (``mean``/``std`` are unchanged).
        """
        return dataclasses.replace(
            self,
            train=_head(self.train, n_train, "n_train"),
            val=_head(self.val, n_val, "n_val"),
            test=_head(self.test, n_test, "n_test"),
        )


@dataclass(frozen=True)
class DataSource:
    """A resolved source: ``path`` to an archive or folder; ``origin`` is what to report."""

    path: Path
    official: bool
    origin: str

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()


@dataclass(frozen=True, eq=False)
class _Raw:
    """Decoded, unstandardised data as stored in the cache."""

    train_X: np.ndarray  # (50000, 3072) uint8, all five training batches in order
    train_y: np.ndarray  # int64
    test_X: np.ndarray
    test_y: np.ndarray
    label_names: tuple[str, ...]
    sha256: str
    train_sum: np.ndarray  # (3072,) int64 column sums of train_X (any split's stats follow)
    train_sumsq: np.ndarray  # (3072,) int64 column sums of squares


# --------------------------------------------------------------------------- public functions


def default_cache_dir() -> Path:
    """``$DD2424_DATA_DIR``, else ``<repo>/data`` in a source checkout, else ``~/.cache/dd2424``."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / ".cache" / "dd2424"


def resolve_source(
    source: str | os.PathLike[str] | None, *, cache_dir: Path | str | None = None
) -> DataSource:
    """Pick the data source: ``source`` > ``$DD2424_CIFAR10`` > the official download.

    Raises ``DataError`` when a given path does not exist or the download fails.
    """
    if source is not None and str(source) != "":
        return _local_source(source, "")
    env = os.environ.get(ENV_VAR, "")
    if env:
        return _local_source(env, f" (from ${ENV_VAR})")
    return DataSource(fetch_official(cache_dir), official=True, origin=OFFICIAL_URL)


def fetch_official(cache_dir: Path | str | None = None) -> Path:
    """Download the official archive into ``cache_dir`` (once) and verify its md5."""
    cache_dir = _cache_dir(cache_dir)
    target = cache_dir / ARCHIVE_NAME
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the cache folder {cache_dir} ({exc}); set {CACHE_ENV_VAR} to a "
            f"writable folder, or {_FIX}"
        ) from exc
    entry = _index_entry(cache_dir, target)
    if entry is not None and entry.get("md5") == OFFICIAL_MD5:
        return target  # verified before, unchanged since: skip pooch's md5 pass
    import pooch  # imported here: it is slow to import and only needed for the download

    try:
        path = pooch.retrieve(
            OFFICIAL_URL,
            known_hash=f"md5:{OFFICIAL_MD5}",
            fname=ARCHIVE_NAME,
            path=cache_dir,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: the hash does not match
        with contextlib.suppress(OSError):
            target.unlink()
        raise DataError(
            f"the download of {OFFICIAL_URL} does not match its md5 {OFFICIAL_MD5} ({exc}); "
            f"the file was removed, retry the download (or {_FIX})"
        ) from exc
    except OSError as exc:  # requests/urllib errors are OSErrors
        raise DataError(
            f"could not download CIFAR-10 from {OFFICIAL_URL} ({exc}); without internet "
            f"access, {_FIX}"
        ) from exc
    target = Path(path)
    # pooch has just checked the md5; record it with the sha256 so later loads skip both
    signature = _signature([target])
    sha = _hash_file(target)
    _record_index(cache_dir, target, signature, sha256=sha, md5=OFFICIAL_MD5)
    return target


def load_cifar10(
    source: str | os.PathLike[str] | None = None,
    *,
    cache_dir: Path | str | None = None,
    dtype: Any = np.float32,
    n_val: int = N_VAL,
) -> Dataset:
    """Load CIFAR-10 split into train/val/test and standardised with training statistics.

    ``source``: archive or folder (see ``resolve_source``); ``cache_dir``: where the decoded
    cache lives (default ``default_cache_dir()``); ``n_val``: the last ``n_val`` training
    images form the validation set. Raises ``DataError`` for any problem with the data.
    """
    dtype = _float_dtype(dtype)
    cache = _cache_dir(cache_dir)
    src = resolve_source(source, cache_dir=cache)
    sha = _source_sha256(src, cache)
    raw = _cached_raw(src, sha, cache)
    return _make_dataset(raw, src, n_val, dtype)


# --------------------------------------------------------------------------- sources


def _local_source(source: str | os.PathLike[str], where: str) -> DataSource:
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}{where} does not exist; {_FIX}")
    path = path.resolve()
    return DataSource(path, official=False, origin=str(path))


def _cache_dir(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def _batch_dir(folder: Path) -> Path:
    """The folder holding the batches (``folder`` itself or its ``cifar-10-batches-py``)."""
    inner = folder / BATCH_DIR
    if not (folder / TRAIN_BATCHES[0]).exists() and inner.is_dir():
        folder = inner
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder} is not a complete CIFAR-10 folder: missing {', '.join(missing)}; {_FIX}"
        )
    return folder


def _source_files(src: DataSource) -> list[Path]:
    """The files whose bytes define the source, in hashing order."""
    if src.is_folder:
        folder = _batch_dir(src.path)
        return [folder / name for name in REQUIRED_FILES]
    return [src.path]


# --------------------------------------------------------------------------- hashing and index


def _hash_file(path: Path) -> str:
    """sha256 (hex) of one file."""
    return _hash_folder([path])


def _hash_folder(files: list[Path]) -> str:
    """sha256 (hex) over the concatenated bytes of ``files`` (the batches in a fixed order)."""
    h = hashlib.sha256()
    for path in files:
        _feed(path, h)
    return h.hexdigest()


def _feed(path: Path, h: Any) -> None:
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc}); {_FIX}") from exc


def _signature(files: list[Path]) -> list[list[Any]]:
    """(name, size, mtime_ns) of each file: if unchanged, the recorded sha256 is trusted."""
    stats = [(p, p.stat()) for p in files]
    return [[p.name, st.st_size, st.st_mtime_ns] for p, st in stats]


def _source_sha256(src: DataSource, cache_dir: Path) -> str:
    """sha256 of the source, from the index when the files are unchanged, else computed."""
    entry = _index_entry(cache_dir, src.path)
    if entry is not None:
        return entry["sha256"]
    files = _source_files(src)
    signature = _signature(files)  # taken first: a change while hashing forces a re-hash
    sha = _hash_folder(files) if src.is_folder else _hash_file(src.path)
    _record_index(cache_dir, src.path, signature, sha256=sha)
    return sha


def _index_entry(cache_dir: Path, path: Path) -> dict[str, Any] | None:
    """The index entry for ``path`` if it exists and still matches the files on disk."""
    entry = _read_index(cache_dir).get(str(path.resolve()))
    if not isinstance(entry, dict) or not _SHA256_RE.fullmatch(str(entry.get("sha256"))):
        return None
    try:
        current = _signature(_source_files(DataSource(path, False, str(path))))
    except (OSError, DataError):
        return None
    return entry if entry.get("signature") == current else None


def _read_index(cache_dir: Path) -> dict[str, Any]:
    path = cache_dir / _INDEX_NAME
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


def _record_index(
    cache_dir: Path, path: Path, signature: list[list[Any]], **fields: str
) -> None:
    """Store the signature and digests of ``path`` (best effort: a failure only warns)."""
    entries = _read_index(cache_dir)
    entries[str(path.resolve())] = {"signature": signature, **fields}
    text = json.dumps({"version": 1, "entries": entries}, indent=1, sort_keys=True)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(cache_dir / _INDEX_NAME, text)
    except OSError as exc:
        warnings.warn(f"could not write the cache index in {cache_dir} ({exc})", CacheWarning, 3)


# --------------------------------------------------------------------------- decoding


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def _decode_source(src: DataSource, sha: str) -> _Raw:
    """Read and check every batch of ``src`` (slow for an archive: it is decompressed)."""
    if src.is_folder:
        blobs = _read_folder(_batch_dir(src.path))
    else:
        blobs = _read_archive(src.path)
    return _assemble(blobs, src.path, sha)


def _read_folder(folder: Path) -> dict[str, bytes]:
    blobs = {}
    for name in REQUIRED_FILES:
        try:
            blobs[name] = (folder / name).read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {folder / name} ({exc}); {_FIX}") from exc
    return blobs


def _read_archive(path: Path) -> dict[str, bytes]:
    """The bytes of the ``cifar-10-batches-py/<name>`` members, read in one pass."""
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                name = _member_name(member)
                if name is not None:
                    blobs[name] = tf.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(
            f"{path} is truncated or corrupted ({exc}); re-download or re-copy it"
        ) from exc
    missing = [f"{BATCH_DIR}/{n}" for n in REQUIRED_FILES if n not in blobs]
    if missing:
        raise DataError(
            f"{path} is not a complete CIFAR-10 archive: missing {', '.join(missing)}; {_FIX}"
        )
    return blobs


def _member_name(member: tarfile.TarInfo) -> str | None:
    """``name`` if ``member`` is the file ``[./]cifar-10-batches-py/<name>`` we need."""
    parts = PurePosixPath(member.name).parts
    if member.isfile() and len(parts) >= 2 and parts[-2] == BATCH_DIR:
        if parts[-1] in REQUIRED_FILES:
            return parts[-1]
    return None


def _unpickle(blob: bytes, what: str) -> dict[bytes, Any]:
    try:
        obj = _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except Exception as exc:  # any failure of untrusted bytes means a corrupted batch
        raise DataError(
            f"{what} is not a readable CIFAR-10 pickle ({exc}); the data are corrupted, "
            "re-download or re-copy them"
        ) from exc
    if not isinstance(obj, dict):
        raise DataError(f"{what} holds a {type(obj).__name__}, expected a dict")
    return {k.encode() if isinstance(k, str) else k: v for k, v in obj.items()}


def _batch_arrays(
    batch: dict[bytes, Any], what: str, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Check one batch and return its (uint8 (m, 3072), int64 (m,)) arrays."""
    if b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{what} lacks b'data' or b'labels' (keys: {sorted(batch)})")
    X = batch[b"data"]
    is_array = isinstance(X, np.ndarray)
    if not is_array or X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != N_DIMS:
        desc = f"{X.dtype} {X.shape}" if is_array else type(X).__name__
        raise DataError(f"{what}: b'data' is {desc}, expected uint8 (m, {N_DIMS}); re-copy it")
    try:
        y = np.asarray(batch[b"labels"])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}: b'labels' is not a list of integers ({exc})") from exc
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise DataError(
            f"{what}: b'labels' has shape {y.shape} and dtype {y.dtype}, expected "
            f"{X.shape[0]} integers"
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{what}: labels outside 0..{n_classes - 1}")
    return X, y.astype(np.int64)


def _label_names(meta: dict[bytes, Any], what: str) -> tuple[str, ...]:
    names = meta.get(b"label_names")
    if not isinstance(names, list) or not names:
        raise DataError(f"{what} lacks a non-empty b'label_names' list")
    return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)


def _assemble(blobs: dict[str, bytes], origin: Path, sha: str) -> _Raw:
    """Unpickle and check every batch, then concatenate the training batches in order."""
    names = _label_names(_unpickle(blobs[META], f"{origin}: {META}"), f"{origin}: {META}")
    arrays = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        what = f"{origin}: {name}"
        arrays[name] = _batch_arrays(_unpickle(blobs.pop(name), what), what, len(names))
    train_X = np.concatenate([arrays[n][0] for n in TRAIN_BATCHES])
    return _Raw(
        train_X=train_X,
        train_y=np.concatenate([arrays[n][1] for n in TRAIN_BATCHES]),
        test_X=np.ascontiguousarray(arrays[TEST_BATCH][0]),
        test_y=arrays[TEST_BATCH][1],
        label_names=names,
        sha256=sha,
        train_sum=_column_sums(train_X),
        train_sumsq=_column_sumsq(train_X),
    )


# --------------------------------------------------------------------------- the cache file


class _BadCache(Exception):
    pass


def _cache_file(cache_dir: Path, sha: str) -> Path:
    return cache_dir / f"cifar10-{sha[:16]}.npz"


def _cached_raw(src: DataSource, sha: str, cache_dir: Path) -> _Raw:
    """The decoded data, from the cache when it is valid, else decoded and cached."""
    path = _cache_file(cache_dir, sha)
    raw = _read_cache(path, sha)
    if raw is None:
        raw = _decode_source(src, sha)
        _write_cache(path, raw)
    return raw


def _read_cache(path: Path, sha: str) -> _Raw | None:
    """The cached data, or None if absent; a corrupted file is deleted with a warning."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if set(z.files) != _CACHE_KEYS:
                raise _BadCache(f"keys {sorted(z.files)}")
            arrays = {k: z[k] for k in z.files}  # reading checks each member's CRC
        return _raw_from_arrays(arrays, sha)
    except FileNotFoundError:
        return None
    except (_BadCache, OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        warnings.warn(
            f"cache file {path} is corrupted ({exc}); deleting it and rebuilding it "
            "from the source",
            CacheWarning,
            4,  # point at load_cifar10's caller
        )
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _raw_from_arrays(a: dict[str, np.ndarray], sha: str) -> _Raw:
    """Check the cached arrays' format, sha256, shapes and dtypes."""
    if a["format"].shape != () or int(a["format"]) != _CACHE_FORMAT:
        raise _BadCache(f"format {a['format']!r}, expected {_CACHE_FORMAT}")
    if str(a["sha256"]) != sha:
        raise _BadCache(f"made from sha256 {a['sha256']}, expected {sha}")
    for split in ("train", "test"):
        X, y = a[f"{split}_X"], a[f"{split}_y"]
        if X.dtype != np.uint8 or X.ndim != 2 or X.shape[1] != N_DIMS:
            raise _BadCache(f"{split}_X is {X.dtype} {X.shape}")
        if y.dtype != np.int64 or y.shape != (X.shape[0],):
            raise _BadCache(f"{split}_y is {y.dtype} {y.shape}")
    for key in ("train_sum", "train_sumsq"):
        if a[key].dtype != np.int64 or a[key].shape != (N_DIMS,):
            raise _BadCache(f"{key} is {a[key].dtype} {a[key].shape}")
    names = a["label_names"]
    if names.ndim != 1 or names.dtype.kind != "U":
        raise _BadCache(f"label_names is {names.dtype} {names.shape}")
    return _Raw(
        a["train_X"], a["train_y"], a["test_X"], a["test_y"], tuple(names.tolist()), sha,
        a["train_sum"], a["train_sumsq"],
    )


def _write_cache(path: Path, raw: _Raw) -> None:
    """Save ``raw`` atomically (best effort: a read-only cache folder only warns)."""
    arrays = {
        "format": np.array(_CACHE_FORMAT),
        "sha256": np.array(raw.sha256),
        "label_names": np.array(raw.label_names, dtype=str),
        "train_X": raw.train_X,
        "train_y": raw.train_y,
        "test_X": raw.test_X,
        "test_y": raw.test_y,
        "train_sum": raw.train_sum,
        "train_sumsq": raw.train_sumsq,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    except OSError as exc:
        warnings.warn(f"could not write the cache {path} ({exc})", CacheWarning, 4)


# --------------------------------------------------------------------------- split and standardise


def _float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ConfigError(f"dtype must be a floating type (float32 or float64), not {dt}")
    return dt


def _make_dataset(raw: _Raw, src: DataSource, n_val: int, dtype: np.dtype) -> Dataset:
    n_total = raw.train_X.shape[0]
    if not _is_int(n_val) or not 0 <= n_val < n_total:
        raise ConfigError(f"n_val must be an integer in 0..{n_total - 1}, not {n_val!r}")
    n_train = n_total - int(n_val)
    mean, std = _train_stats(raw, n_train)
    X = _standardise(raw.train_X, mean, std, dtype)
    provenance = OFFICIAL_PROVENANCE if src.official else f"local copy, sha256 {raw.sha256}"
    return Dataset(
        train=Split(X[:n_train], raw.train_y[:n_train]),
        val=Split(X[n_train:], raw.train_y[n_train:]),
        test=Split(_standardise(raw.test_X, mean, std, dtype), raw.test_y),
        label_names=raw.label_names,
        provenance=provenance,
        source=src.origin,
        sha256=raw.sha256,
        mean=mean,
        std=std,
    )


def _column_sums(X: np.ndarray) -> np.ndarray:
    return X.sum(axis=0, dtype=np.int64)


def _column_sumsq(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->j", X, X, dtype=np.int64)


def _train_stats(raw: _Raw, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-dimension mean and std (float64) of the first ``n_train`` training images.

    The cached sums over all training images minus those over the validation rows: exact
    integers, so the result equals a direct computation, at the cost of the few val rows.
    """
    val = raw.train_X[n_train:]
    n = n_train
    s = raw.train_sum - _column_sums(val)
    ss = raw.train_sumsq - _column_sumsq(val)
    var = (n * ss - s * s) / float(n * n)  # exact integer numerator: no cancellation
    std = np.sqrt(var)
    std[std == 0] = 1.0
    return s / n, std


def _standardise(
    X: np.ndarray, mean: np.ndarray, std: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """(X - mean) / std into a new C-contiguous ``dtype`` array, without full-size temporaries."""
    out = np.empty(X.shape, dtype=dtype)
    np.subtract(X, mean.astype(dtype), out=out)
    np.multiply(out, (1.0 / std).astype(dtype), out=out)
    return out


def _head(split: Split, n: int | None, name: str) -> Split:
    if n is None:
        return split
    if not _is_int(n) or n < 0:
        raise ConfigError(f"{name} must be a non-negative integer or None, not {n!r}")
    return Split(split.X[:n], split.y[:n])


def _is_int(n: object) -> bool:
    return isinstance(n, (int, np.integer)) and not isinstance(n, bool)
