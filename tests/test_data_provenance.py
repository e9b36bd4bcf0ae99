"""Provenance labels, path-free identities, the download's options and one-line errors."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import warnings
from pathlib import Path

import pytest

from dd2424 import cifar_download, cifar_source, cli, data, experiments
from dd2424.data import CacheWarning, load_cifar10
from dd2424.errors import ConfigError, DataError
from test_data import N_VAL, fake_pooch, make_batches, write_archive, write_folder

JPEG_SHA = "e3fdb1faa10c33d7deacdab2336a81af02ec303fb1d5333976499e41c83ef303"


@pytest.fixture(autouse=True)
def no_env(request, monkeypatch):
    if request.node.get_closest_marker("realdata"):
        return
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.delenv(data.CACHE_ENV_VAR, raising=False)
    monkeypatch.delenv(cifar_download.TIMEOUT_ENV_VAR, raising=False)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "cifar-10-python.tar.gz", make_batches())


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- labels


def test_local_archive_with_official_md5_is_official(archive, cache, monkeypatch):
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))
    ds = load_cifar10(archive, cache_dir=cache, n_val=N_VAL)
    assert ds.provenance == "official archive (md5 verified)" == data.OFFICIAL_PROVENANCE
    assert ds.official and ds.sha256 == sha256(archive)
    # the md5 was stored in the index with the sha256: a second load hashes nothing
    monkeypatch.setattr(cifar_source, "hash_files", lambda files: pytest.fail("re-hashed"))
    assert load_cifar10(archive, cache_dir=cache, n_val=N_VAL).provenance == ds.provenance


def test_local_archive_without_official_md5_is_a_local_copy(archive, cache):
    ds = load_cifar10(archive, cache_dir=cache, n_val=N_VAL)
    assert ds.provenance == f"local copy, sha256 {sha256(archive)}" and not ds.official


def test_known_jpeg_copy_label(archive, cache, monkeypatch):
    label = cifar_source.KNOWN_COPIES[JPEG_SHA]
    assert label == "JPEG-compressed copy of CIFAR-10, not the official archive"
    monkeypatch.setitem(cifar_source.KNOWN_COPIES, sha256(archive), label)
    ds = load_cifar10(archive, cache_dir=cache, n_val=N_VAL)
    assert ds.provenance == label and not ds.official


def test_folder_is_a_local_copy_even_with_official_md5(tmp_path, cache, monkeypatch):
    folder = write_folder(tmp_path / "x", make_batches())
    blob = b"".join((folder / n).read_bytes() for n in data.REQUIRED_FILES)
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", hashlib.md5(blob).hexdigest())
    ds = load_cifar10(folder, cache_dir=cache, n_val=N_VAL)
    assert ds.provenance.startswith("local copy, sha256 ") and not ds.official


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize("official", [False, True])
def test_identity_equals_provenance_without_paths(archive, cache, monkeypatch, official):
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(cache))
    if official:
        monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))
    spec = experiments.DataSpec(str(archive), n_train=40, n_val=N_VAL, n_test=20)
    ds = load_cifar10(archive, n_val=N_VAL).subset(40, N_VAL, 20)
    identity, provenance = experiments.data_identity(spec), experiments.data_provenance(ds)
    assert identity == provenance
    assert provenance["source"] == "cifar-10-python.tar.gz"
    assert provenance["official"] is official and provenance["sha256"] == sha256(archive)
    assert str(archive.parent) not in repr(provenance) and "/" not in provenance["source"]


def test_identity_of_download_names_the_url(archive, cache, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(cache))
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))
    fake_pooch(monkeypatch, lambda url, known, target: str(shutil.copy(archive, target)))
    identity = experiments.data_identity(experiments.DataSpec(None, n_train=40, n_val=N_VAL,
                                                             n_test=20))
    assert identity["source"] == data.OFFICIAL_URL and identity["official"]
    ds = load_cifar10(n_val=N_VAL).subset(40, N_VAL, 20)
    assert experiments.data_provenance(ds) == identity


@pytest.mark.realdata
def test_real_identity_equals_provenance(real_data):
    source = os.environ["DD2424_CIFAR10"]
    identity = experiments.data_identity(experiments.DataSpec(source))
    assert identity == experiments.data_provenance(real_data)
    assert identity["source"] == Path(source).name
    if identity["sha256"] == JPEG_SHA:
        assert identity["provenance"] == cifar_source.KNOWN_COPIES[JPEG_SHA]
        assert identity["official"] is False


# --------------------------------------------------------------------------- download


def test_download_options_reach_pooch(archive, cache, monkeypatch):
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))
    calls = fake_pooch(monkeypatch, lambda url, known, target: str(shutil.copy(archive, target)))
    path = cifar_download.fetch_official(cache)
    assert path == cache / cifar_download.DOWNLOAD_DIR / data.ARCHIVE_NAME
    (call,) = calls
    assert call["retry_if_failed"] == cifar_download.RETRIES == 3
    downloader = call["downloader"]
    assert downloader.kwargs["timeout"] == cifar_download.READ_TIMEOUT
    assert isinstance(downloader.progressbar, cifar_download.Deadline)
    assert downloader.progressbar.seconds == 1800


def test_overall_deadline(archive, cache, monkeypatch):
    monkeypatch.setenv(cifar_download.TIMEOUT_ENV_VAR, "0.001")

    def slow(url, known, target):
        bar = calls[0]["downloader"].progressbar
        time.sleep(0.01)
        bar.update(1024)  # what pooch does after each chunk
        pytest.fail("the deadline did not stop the download")

    calls = fake_pooch(monkeypatch, slow)
    with pytest.raises(DataError, match="DD2424_DOWNLOAD_TIMEOUT") as info:
        cifar_download.fetch_official(cache)
    assert "\n" not in str(info.value)
    monkeypatch.setenv(cifar_download.TIMEOUT_ENV_VAR, "soon")
    with pytest.raises(ConfigError, match="DD2424_DOWNLOAD_TIMEOUT"):
        cifar_download.fetch_official(cache)


def test_leftovers_of_killed_downloads_are_removed(archive, cache, monkeypatch):
    folder = cache / cifar_download.DOWNLOAD_DIR
    folder.mkdir(parents=True)
    old, live, other, similar = (folder / n for n in
                                 ("tmpab_c1234", "tmpzz9yy8xx", "notes.txt", "tmpshort"))
    for path in (old, live, other, similar):
        path.write_bytes(b"partial")
    os.utime(old, (time.time() - 3600,) * 2)
    os.utime(similar, (time.time() - 3600,) * 2)
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))
    fake_pooch(monkeypatch, lambda url, known, target: str(shutil.copy(archive, target)))
    cifar_download.fetch_official(cache)
    assert not old.exists()  # a killed download's temporary file
    assert live.exists() and other.exists() and similar.exists()  # maybe live / not pooch's


def test_earlier_download_location_is_moved(archive, cache, monkeypatch):
    cache.mkdir()
    shutil.copy(archive, cache / data.ARCHIVE_NAME)
    monkeypatch.setattr(cifar_source, "OFFICIAL_MD5", md5(archive))

    def already_there(url, known, target):
        assert target.is_file()  # pooch finds the file and only checks its md5
        return str(target)

    fake_pooch(monkeypatch, already_there)
    path = cifar_download.fetch_official(cache)
    assert path.is_file() and not (cache / data.ARCHIVE_NAME).exists()


# --------------------------------------------------------------------------- one-line errors


@pytest.mark.parametrize("content, why", [(b"", "empty file"), (os.urandom(4096), "no gzip header")])
def test_not_an_archive_is_one_line(tmp_path, cache, monkeypatch, capsys, content, why):
    bad = tmp_path / "y.tar.gz"
    bad.write_bytes(content if content[:2] != b"\x1f\x8b" else b"x" + content)
    with pytest.raises(DataError) as info:
        load_cifar10(bad, cache_dir=cache, n_val=N_VAL)
    message = str(info.value)
    assert message.startswith(f"{bad} is not a gzip-compressed tar archive ({why}); ")
    assert "--data PATH" in message and "\n" not in message
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(cache))
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    assert cli.main(["data", "--data", str(bad)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a gzip-compressed tar archive" in err


def test_cli_warnings_are_one_line(monkeypatch):
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    text = warnings.formatwarning(CacheWarning("cache file x is corrupted"), CacheWarning,
                                  "/src/dd2424/cifar_decode.py", 12, "warnings.warn(...)")
    assert text == "warning: cache file x is corrupted\n"
    other = warnings.formatwarning(UserWarning("u"), UserWarning, "/elsewhere.py", 3, "code")
    assert "/elsewhere.py:3" in other  # other warnings are left alone
