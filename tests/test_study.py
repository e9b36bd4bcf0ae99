"""The notebooks' shared helper: parameters (typed, lists from -p), output names of non-default runs, one-seed text, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from dd2424.errors import ConfigError
from dd2424.study import registry, tables
from dd2424.study.context import Context
from dd2424.study.notebook import notebook_parameters, output_suffix, parse_parameter
from dd2424.study.paths import OutputFolderBusy, Paths, lock_output_folder


def test_list_parameters_given_as_text_are_parsed():
    assert parse_parameter("seeds", "[0, 1]", "list") == [0, 1]
    assert parse_parameter("hidden", "(50, 50)", "list") == [50, 50]
    assert parse_parameter("seeds", [3], "list") == [3] and parse_parameter("seeds", None, "list") is None
    assert parse_parameter("name", "[0, 1]", "str") == "[0, 1]"  # only list parameters are parsed
    with pytest.raises(ConfigError, match=r"seeds must be a list.*-y \"seeds: \[0, 1\]\""):
        parse_parameter("seeds", "0,1,oops", "list")


def _suffix(notebook, **given):
    chapter = registry.chapter_of(notebook)
    declared = notebook_parameters(chapter)
    values = {k: given.get(k, default) for k, (_, default) in declared.items()}
    return output_suffix(chapter, declared, values)


def test_the_pipelines_parameter_sets_and_the_defaults_keep_the_plain_names():
    assert _suffix("03_lambda_search") == "" and _suffix("01_gradient_check", profile="smoke", jobs=2) == ""
    for step in registry.chapter_of("02_training_curves").steps:
        assert _suffix("02_training_curves", **step.parameters) == "", step.name


def test_non_default_parameters_name_their_outputs():
    assert _suffix("04_init_sensitivity", lam=0.01) == "-lam=0.01"
    assert _suffix("02_training_curves", seeds=[0]) == "-seeds=0"
    assert _suffix("02_training_curves", name="3layer", hidden=[50, 50], lam=0.02) == "-name=3layer_lam=0.02"
    assert _suffix("02_training_curves", name="9layer", hidden=[50, 30, 20, 20, 10, 10, 10, 10]) == ""  # a step's own
    assert _suffix("06_pictures", n_mistakes=4) == "-n_mistakes=4"
    assert _suffix("05_beyond", ablation_wide=[64, 32], ablation_seeds=(0, 1)) == "-ablation_seeds=0,1_ablation_wide=64,32"
    assert _suffix("01_gradient_check", gradcheck_hidden=[[8], [8, 8]]) == "-gradcheck_hidden=8+8,8"


def test_one_seed_is_never_shown_with_a_standard_deviation():
    one = {"mean": 0.5312, "std": 0.0, "n": 1}
    assert tables.fmt_stats(one) == "53.12 (1 seed)" and "±" not in tables.stats_text(one)
    assert tables.stats_text(one) == "53.12 % (1 seed)"
    assert tables.stats_text({"mean": 0.5312, "std": 0.004, "n": 3}) == "53.12 ± 0.40 % (mean ± std over 3 seeds)"
    columns = (tables.Column("n", "seeds"), tables.Column("std", "std", tables.fmt_pct, seeds_key="n"))
    md = tables.markdown_table([{"n": 1, "std": 0.0}, {"n": 2, "std": 0.01}], columns)
    assert "| 1 | 1 seed |" in md and "| 2 | 1.00 |" in md and "0.00" not in md


def test_a_held_lock_stops_a_second_pipeline_at_once(tmp_path, capsys):
    from dd2424.report import EXIT_BUSY, build_report

    paths = Paths(tmp_path)
    with lock_output_folder(paths):
        assert paths.lock.read_text().strip() == str(os.getpid())
        with pytest.raises(OutputFolderBusy, match=str(os.getpid())):
            with lock_output_folder(paths):
                pass
        status = build_report(profile="smoke", output_dir=tmp_path, data="/nonexistent")
    assert status == EXIT_BUSY == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0] and f"pid {os.getpid()}" in err[0]
    with lock_output_folder(paths):  # released: the next pipeline may start
        pass


def test_second_report_command_exits_2_naming_the_folder_and_the_pid(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from dd2424.study.paths import Paths, lock_output_folder
        with lock_output_folder(Paths({str(tmp_path)!r})):
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = subprocess.run([sys.executable, "-m", "dd2424.cli", "report", "--profile", "smoke",
                                 "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0] and f"pid {holder.pid}" in lines[0], second.stderr


def test_an_unchanged_summary_part_is_not_rewritten(tmp_path):
    """Rerunning a chapter on the same results leaves its part byte for byte (the ``written`` time included)."""
    from dd2424.study import registry

    chapter = registry.chapter_of("06_pictures")
    ctx = Context("smoke", output_dir=tmp_path, chapter=chapter, part="06_pictures")
    ctx.save_part({"pictures": {"a": 1.5, "b": [1, 2]}})
    path = tmp_path / "results" / "summary" / "06_pictures.json"
    first, mtime = path.read_bytes(), path.stat().st_mtime_ns
    time.sleep(1.1)  # a new ``written`` would differ by at least a second
    ctx.save_part({"pictures": {"a": 1.5, "b": (1, 2)}})
    assert path.read_bytes() == first and path.stat().st_mtime_ns == mtime
    ctx.save_part({"pictures": {"a": 2.5, "b": [1, 2]}})
    assert json.loads(path.read_text())["pictures"]["a"] == 2.5


def test_progress_lines_name_what_differs_from_the_assignment(monkeypatch):
    from dd2424.config import TrainConfig
    from dd2424.study.tables import config_title, describe_config

    assert describe_config(TrainConfig().to_dict()) == "3-layer BN, lambda 0.005, He init, 2 cycles, seed 0"
    variant = TrainConfig(hidden=(100, 50), bn_position="after", optimizer="adam", eta_max=1e-3, flip=True, zca=0.1)
    line = describe_config(variant.to_dict())
    assert line.startswith("3-layer [100, 50] BN after ReLU, lambda 0.005") and line.endswith("seed 0")
    for phrase in ("Adam", "eta_max 0.001", "flips", "ZCA eps 0.1"):
        assert phrase in line and phrase in config_title(variant.to_dict())
    monkeypatch.setitem(tables._DEFAULTS, "some_new_option", 0)  # a TrainConfig field added later, without a phrase
    assert "some new option 3" in describe_config({**TrainConfig().to_dict(), "some_new_option": 3})
