"""The dd2424 command: exit codes, one-line errors, JSON output."""

import json
import subprocess
import sys

import pytest

from dd2424.cli import main


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dd2424.cli", *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize(
    "args, fragment",
    [(["train", "--hidden", "50,x"], "--hidden"), (["train", "--lam", "-1"], "lambda"), (["train", "--init", "bogus"], "--init"),
     (["train", "--cycles", "0"], "cycles"), (["train", "--seed", "-1"], "seed"), (["train", "--init", "-1"], "sigma"),
     (["train", "--dropout", "1"], "dropout"), (["gradcheck", "--seed", "-1"], "seed"), (["gradcheck", "--lam", "inf"], "--lam"),
     (["gradcheck", "--samples", "1"], "2 samples"), (["gradcheck", "--inputs", "5000"], "inputs"), (["gradcheck", "--samples", "0"], "--samples"), (["nonsense"], "invalid choice"),
     (["train", "--hidden", "50,,50"], "empty field"), (["train", "--hidden", "50,"], "'50,'"), (["gradcheck", "--hidden", "50,,50"], "empty field"),
     (["train", "--precise-bn", "-5"], "--precise-bn) must be a sample count >= 0 (0: off), got -5"),
     (["train", "--history-train-samples", "0"], "--history-train-samples) must be a positive sample count, got 0"),
     (["train", "--batch-size", "5"], "--batch-size 5; did you mean --batch? (see dd2424 train --help)"),
     (["report", "--bogus"], "--bogus (see dd2424 report --help)")],
)  # fmt: skip
def test_bad_arguments_exit_2_with_one_line(args, fragment):
    proc = _run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    status = main(["data", "--data", str(tmp_path / "nowhere.tar.gz")])
    assert status == 2
    err = capsys.readouterr().err
    assert "nowhere.tar.gz" in err and "DD2424_CIFAR10" in err


def test_gradcheck_json(capsys):
    assert main(["gradcheck", "--hidden", "8,6", "--bn", "--inputs", "10", "--samples", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["max_relative_error"] < 1e-7
    assert {(e["layer"], e["param"]) for e in out["entries"]} >= {(1, "W"), (1, "gamma"), (2, "beta"), (3, "b")}
    assert all(set(e) >= {"layer", "param", "max", "mean"} for e in out["entries"])


@pytest.mark.realdata
def test_train_json_on_real_data(real_data, capsys, tmp_path):
    out_file = tmp_path / "run.json"
    status = main(["train", "--hidden", "20", "--n-s", "100", "--cycles", "1", "--json", "--out", str(out_file)])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("val_accuracy", "test_accuracy", "train_seconds", "config", "data"):
        assert key in summary
    assert summary["config"]["hidden"] == [20] and summary["config"]["n_s"] == 100
    assert len(summary["data"]["sha256"]) == 64 and summary["data"]["provenance"]
    assert "/" not in summary["data"]["source"] or summary["data"]["source"].startswith("https://")  # no local path
    assert summary["analysis"]["confusion"] and len(summary["analysis"]["mistakes"]) > 0
    assert summary["val_accuracy"] > 0.3
    saved = json.loads(out_file.read_text())
    assert len(saved["history"]["step"]) >= 10


@pytest.mark.parametrize("where", ["folder", "missing_parent", "under_a_file"])
def test_out_is_checked_before_training(tmp_path, capsys, where):
    """A bad --out stops at once with one line (exit 2): no training is thrown away, no folder is created."""
    target = {"folder": tmp_path, "missing_parent": tmp_path / "nowhere" / "run.json",
              "under_a_file": tmp_path / "file.txt" / "run.json"}[where]  # fmt: skip
    (tmp_path / "file.txt").write_text("x")
    # --data points nowhere: had the run started, the error would be about the data, not --out
    status = main(["train", "--data", str(tmp_path / "no-data.tar.gz"), "--out", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--out" in err[0]
    assert not (tmp_path / "nowhere").exists()


def test_out_in_an_unwritable_folder(tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # root may write anywhere: simulate the refusal
    status = main(["train", "--out", str(tmp_path / "run.json")])
    err = capsys.readouterr().err
    assert status == 2 and "cannot write" in err and "Permission denied" in err


def test_closed_output_pipe_ends_with_one_line(tmp_path, monkeypatch, capsys):
    """`dd2424 train --progress | head -1`: the reader goes away; one line on stderr, status 2, no traceback."""

    class ClosedPipe:  # what sys.stdout becomes once the reader has exited
        def __init__(self):
            self._file = open(tmp_path / "stdout", "w")

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return self._file.fileno()

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    status = main(["gradcheck", "--hidden", "8,6", "--inputs", "10", "--samples", "8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "output pipe was closed" in err[0]


@pytest.mark.realdata
@pytest.mark.parametrize("position", ["before", "after"])
def test_a_run_collapsed_with_bn_exits_1_and_keeps_its_record(real_data, capsys, tmp_path, position):
    """eta_max 1e3 with BN: the loss can stay finite while the weights are lost; still a divergence."""
    out_file = tmp_path / "run.json"
    status = main(["train", "--hidden", "50,50", "--eta-max", "1e3", "--bn-position", position, "--out", str(out_file)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and "lower eta_max" in err[0]
    saved = json.loads(out_file.read_text())
    assert saved["diverged"] is True and saved["diverged_at_step"] is not None and saved["test_accuracy"] is None


def test_every_option_has_help_and_the_report_help_matches_the_readme():
    from dd2424.cli import build_parser

    parser = build_parser()
    for name, command in parser.commands.items():
        for action in command._actions:
            assert action.help, f"dd2424 {name} {action.option_strings} has no help"
    report = {a.dest: a.help for a in parser.commands["report"]._actions}
    assert "build-report/<profile>" in report["output_dir"] and "project folder for full" in report["output_dir"]
    assert "12 minutes" in report["profile"]
