"""CIFAR-10 as train/validation/test splits, standardised with the training statistics.

Where the data come from (first match wins): an explicit ``source`` argument (the CLI's
``--data PATH``), else ``$DD2424_CIFAR10``, else the official archive, downloaded once with
pooch and checked against its md5 (:mod:`dd2424.cifar_download`). A source is a
``cifar-10-python.tar.gz`` archive or an extracted ``cifar-10-batches-py`` folder (or a folder
that contains one); hashing and provenance labels are in :mod:`dd2424.cifar_source`, decoding
and the ``.npz`` cache in :mod:`dd2424.cifar_decode`. This module re-exports their public names.

Splits: the five training batches are concatenated in order (``data_batch_1`` .. ``_5``); the
LAST ``n_val`` images (5,000 by default: the second half of ``data_batch_5``) are the validation
set and the first 45,000 the training set; ``test_batch`` is the test set. The choice is fixed
and needs no random seed, so every run and every user gets the same split.

Pre-processing: each of the 3,072 dimensions is standardised with the mean and standard
deviation of the TRAINING split only (computed exactly, in float64; a zero standard deviation
is replaced by 1), and the same transform is applied to validation and test.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dd2424.cifar_decode import N_DIMS, RawData, cached_raw, column_sums, column_sumsq
from dd2424.cifar_download import fetch_official
from dd2424.cifar_source import (
    ARCHIVE_NAME, BATCH_DIR, CACHE_ENV_VAR, ENV_VAR, KNOWN_COPIES, META, OFFICIAL_MD5,
    OFFICIAL_PROVENANCE, OFFICIAL_URL, REQUIRED_FILES, TEST_BATCH, TRAIN_BATCHES, CacheWarning,
    DataSource, cache_dir_or_default, default_cache_dir, local_source, provenance_label,
    source_digests, source_name, source_sha256,
)
from dd2424.errors import ConfigError

__all__ = [
    "ARCHIVE_NAME", "BATCH_DIR", "CACHE_ENV_VAR", "ENV_VAR", "KNOWN_COPIES", "META", "N_DIMS",
    "N_VAL", "OFFICIAL_MD5", "OFFICIAL_PROVENANCE", "OFFICIAL_URL", "REQUIRED_FILES",
    "TEST_BATCH", "TRAIN_BATCHES", "CacheWarning", "DataSource", "Dataset", "Split",
    "default_cache_dir", "fetch_official", "load_cifar10", "provenance_label", "resolve_source",
    "source_digests", "source_name", "source_sha256",
]

N_VAL = 5000


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
    official: bool = False  # the provenance is OFFICIAL_PROVENANCE (downloaded or md5 matched)

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


# --------------------------------------------------------------------------- public functions


def resolve_source(
    source: str | os.PathLike[str] | None, *, cache_dir: Path | str | None = None
) -> DataSource:
    """Pick the data source: ``source`` > ``$DD2424_CIFAR10`` > the official download.

    Raises ``DataError`` when a given path does not exist or the download fails.
    """
    if source is not None and str(source) != "":
        return local_source(source, "")
    env = os.environ.get(ENV_VAR, "")
    if env:
        return local_source(env, f" (from ${ENV_VAR})")
    return DataSource(fetch_official(cache_dir), official=True, origin=OFFICIAL_URL)


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
    cache = cache_dir_or_default(cache_dir)
    src = resolve_source(source, cache_dir=cache)
    sha, md5 = source_digests(src, cache)
    raw = cached_raw(src, sha, cache)
    return _make_dataset(raw, src, provenance_label(src, sha, md5), n_val, dtype)


# --------------------------------------------------------------------------- split and standardise


def _float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ConfigError(f"dtype must be a floating type (float32 or float64), not {dt}")
    return dt


def _make_dataset(
    raw: RawData, src: DataSource, provenance: str, n_val: int, dtype: np.dtype
) -> Dataset:
    n_total = raw.train_X.shape[0]
    if not _is_int(n_val) or not 0 <= n_val < n_total:
        raise ConfigError(f"n_val must be an integer in 0..{n_total - 1}, not {n_val!r}")
    n_train = n_total - int(n_val)
    mean, std = _train_stats(raw, n_train)
    X = _standardise(raw.train_X, mean, std, dtype)
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
        official=provenance == OFFICIAL_PROVENANCE,
    )


def _train_stats(raw: RawData, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-dimension mean and std (float64) of the first ``n_train`` training images.

    The cached sums over all training images minus those over the validation rows: exact
    integers, so the result equals a direct computation, at the cost of the few val rows.
    """
    val = raw.train_X[n_train:]
    n = n_train
    s = raw.train_sum - column_sums(val)
    ss = raw.train_sumsq - column_sumsq(val)
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
