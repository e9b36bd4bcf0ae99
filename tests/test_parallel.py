"""Sweeps give the same numbers serially, on local processes (joblib) and on a Dask cluster."""

import json

import pytest

from dd2424.experiments import DataSpec, run_many
from dd2424.training import TrainConfig

pytestmark = pytest.mark.realdata


def _configs():
    return [TrainConfig(hidden=(16,), batch_norm=bn, n_s=10, cycles=1, batch_size=50, seed=s) for bn in (False, True) for s in (0, 1)]


def _spec(real_data):
    return DataSpec(real_data.source, n_train=500, n_val=100, n_test=100)


def _numbers(records):
    return [(r["config"], r["history"], r["test_accuracy"]) for r in records]


def test_joblib_sweep_equals_serial_and_is_reused(real_data, tmp_path):
    done = []
    serial = run_many(_configs(), _spec(real_data), tmp_path / "serial", jobs=1, on_done=done.append)
    parallel = run_many(_configs(), _spec(real_data), tmp_path / "parallel", jobs=2)
    assert len(done) == 4
    assert _numbers(serial) == _numbers(parallel)  # same seeds, same numbers, same order
    files = sorted((tmp_path / "parallel" / "runs").glob("*.json"))
    assert len(files) == 4
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = run_many(_configs(), _spec(real_data), tmp_path / "parallel", jobs=2)
    assert _numbers(again) == _numbers(serial)
    assert [f.stat().st_mtime_ns for f in files] == mtimes  # reused, not retrained
    assert json.loads(files[0].read_text())["data"]["sha256"] == real_data.sha256


def test_dask_cluster_sweep_equals_serial(real_data, tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = run_many(_configs(), _spec(real_data), tmp_path / "serial")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = run_many(_configs(), _spec(real_data), tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert _numbers(on_dask) == _numbers(serial)
    assert len(list((tmp_path / "dask" / "runs").glob("*.json"))) == 4


def test_data_identity_matches_the_decoded_data(real_data):
    """The cheap identity used to find saved runs says exactly what the decoded data says."""
    from dd2424.experiments import data_identity, data_provenance, load_data

    for spec in (DataSpec(real_data.source), DataSpec(real_data.source, n_train=500, n_val=100, n_test=100)):
        assert data_identity(spec) == data_provenance(load_data(spec))
