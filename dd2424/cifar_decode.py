"""Decode CIFAR-10 batches safely and keep the decoded pixels in an ``.npz`` cache.

The batches are Python pickles; they are unpickled with an allow-list of numpy globals so a
tampered archive cannot run code. Decoding the tar.gz takes seconds, so the decoded uint8
pixels (the 50,000 training images before the split and their column sums, the test images,
labels, label names and the source's sha256) are kept in one uncompressed
``cifar10-<sha256[:16]>.npz`` in the cache folder, written atomically. A cache that fails its
checks (CRC, keys, shapes, dtypes, sha256) is deleted with a ``CacheWarning`` and rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import tarfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dd2424.cifar_source import (
    BATCH_DIR, FIX, META, REQUIRED_FILES, TEST_BATCH, TRAIN_BATCHES, CacheWarning, DataSource,
    batch_dir,
)
from dd2424.errors import DataError
from dd2424.files import atomic_path

N_DIMS = 3072
_CACHE_FORMAT = 1
_CACHE_KEYS = frozenset(
    {"format", "sha256", "label_names", "train_X", "train_y", "test_X", "test_y",
     "train_sum", "train_sumsq"}
)
_GZIP_MAGIC = b"\x1f\x8b"
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


@dataclass(frozen=True, eq=False)
class RawData:
    """Decoded, unstandardised data as stored in the cache."""

    train_X: np.ndarray  # (50000, 3072) uint8, all five training batches in order
    train_y: np.ndarray  # int64
    test_X: np.ndarray
    test_y: np.ndarray
    label_names: tuple[str, ...]
    sha256: str
    train_sum: np.ndarray  # (3072,) int64 column sums of train_X (any split's stats follow)
    train_sumsq: np.ndarray  # (3072,) int64 column sums of squares


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def decode_source(src: DataSource, sha: str) -> RawData:
    """Read and check every batch of ``src`` (slow for an archive: it is decompressed)."""
    if src.is_folder:
        blobs = _read_folder(batch_dir(src.path))
    else:
        blobs = _read_archive(src.path)
    return _assemble(blobs, src.path, sha)


def _read_folder(folder: Path) -> dict[str, bytes]:
    blobs = {}
    for name in REQUIRED_FILES:
        try:
            blobs[name] = (folder / name).read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read {folder / name} ({exc}); {FIX}") from exc
    return blobs


def _read_archive(path: Path) -> dict[str, bytes]:
    """The bytes of the ``cifar-10-batches-py/<name>`` members, read in one pass."""
    _check_gzip(path)
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tf:
            for member in tf:
                name = _member_name(member)
                if name is not None:
                    blobs[name] = tf.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(
            f"{path} is truncated or corrupted ({detail}); re-download or re-copy it"
        ) from exc
    missing = [f"{BATCH_DIR}/{n}" for n in REQUIRED_FILES if n not in blobs]
    if missing:
        raise DataError(
            f"{path} is not a complete CIFAR-10 archive: missing {', '.join(missing)}; {FIX}"
        )
    return blobs


def _check_gzip(path: Path) -> None:
    """Refuse, in one line, a file that is not gzip-compressed (empty, random, plain tar)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_GZIP_MAGIC))
    except OSError as exc:
        raise DataError(f"cannot read {path} ({exc}); {FIX}") from exc
    if head != _GZIP_MAGIC:
        why = "empty file" if not head else "no gzip header"
        raise DataError(f"{path} is not a gzip-compressed tar archive ({why}); {FIX}")


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


def _assemble(blobs: dict[str, bytes], origin: Path, sha: str) -> RawData:
    """Unpickle and check every batch, then concatenate the training batches in order."""
    names = _label_names(_unpickle(blobs[META], f"{origin}: {META}"), f"{origin}: {META}")
    arrays = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        what = f"{origin}: {name}"
        arrays[name] = _batch_arrays(_unpickle(blobs.pop(name), what), what, len(names))
    train_X = np.concatenate([arrays[n][0] for n in TRAIN_BATCHES])
    return RawData(
        train_X=train_X,
        train_y=np.concatenate([arrays[n][1] for n in TRAIN_BATCHES]),
        test_X=np.ascontiguousarray(arrays[TEST_BATCH][0]),
        test_y=arrays[TEST_BATCH][1],
        label_names=names,
        sha256=sha,
        train_sum=column_sums(train_X),
        train_sumsq=column_sumsq(train_X),
    )


# --------------------------------------------------------------------------- the cache file


class _BadCache(Exception):
    pass


def _cache_file(cache_dir: Path, sha: str) -> Path:
    return cache_dir / f"cifar10-{sha[:16]}.npz"


def cached_raw(src: DataSource, sha: str, cache_dir: Path) -> RawData:
    """The decoded data, from the cache when it is valid, else decoded and cached."""
    path = _cache_file(cache_dir, sha)
    raw = _read_cache(path, sha)
    if raw is None:
        raw = decode_source(src, sha)
        _write_cache(path, raw)
    return raw


def _read_cache(path: Path, sha: str) -> RawData | None:
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


def _raw_from_arrays(a: dict[str, np.ndarray], sha: str) -> RawData:
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
    return RawData(
        a["train_X"], a["train_y"], a["test_X"], a["test_y"], tuple(names.tolist()), sha,
        a["train_sum"], a["train_sumsq"],
    )


def _write_cache(path: Path, raw: RawData) -> None:
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


def column_sums(X: np.ndarray) -> np.ndarray:
    return X.sum(axis=0, dtype=np.int64)


def column_sumsq(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->j", X, X, dtype=np.int64)
