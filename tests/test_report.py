"""The report pipeline: the study helpers, and ``dd2424 report --profile smoke`` end to end (PDF included)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dd2424.study import lambda_search, registry, stats, tables
from dd2424.study.profiles import get_profile
from dd2424.errors import ConfigError

FIGURES = ["curves_3layer", "curves_9layer", "grad_norms_3layer", "grad_norms_9layer", "lambda_search",
           "sensitivity_loss", "ablation_best_curves", "first_layer_weights", "confusion_matrix", "mistakes",
           "deep_curves"]  # fmt: skip
TABLES = ["gradcheck_entries", "gradcheck_maxima", "gradcheck_layers", "training_3layer_nobn", "training_3layer_bn",
          "training_9layer_nobn", "training_9layer_bn", "training_summary", "lambda_search", "lambda_final",
          "sensitivity", "ablation", "class_accuracy"]  # fmt: skip
SECTIONS = ["Method", "Data", "Results", "Gradient check", "Training curves", "search", "Sensitivity to initialisation",
            "Beyond the assignment", "Discussion", "Reproducibility"]  # fmt: skip
#: what summary.json holds besides each registered chapter's sections
SUMMARY_KEYS = ["profile", "generated", "package_version", "code_version", "git_commit", "data", "settings", "seeds", "comparisons",
                "timing", *(key for chapter in registry.chapters() for key in chapter.summary)]  # fmt: skip


# --------------------------------------------------------------------------- helpers, no data needed


def _stats(values):
    mean, std, n = stats.mean_std(values)
    return {"mean": mean, "std": std, "n": n, "values": values, "seeds": list(range(len(values)))}


def test_a_difference_is_real_only_when_its_paired_interval_excludes_zero():
    a, b = _stats([0.53, 0.54, 0.535]), _stats([0.51, 0.512, 0.508])
    assert stats.compare(a, b).real and stats.compare(a, b).verdict == "higher"
    text = stats.phrase_comparison(a, b, "BN", "no BN")
    assert "a real difference" in text and "higher" in text and "95 % confidence interval" in text
    close = _stats([0.52, 0.53, 0.54])
    assert not stats.compare(a, close).real
    assert "no difference is claimed" in stats.phrase_comparison(a, close, "BN", "no BN")
    one = _stats([0.60])
    assert not stats.compare(one, b).real  # one seed: never a claim, however large the gap
    assert "one seed gives no confidence interval" in stats.phrase_comparison(one, b, "BN", "no BN")
    stuck = _stats([0.1, 0.1, 0.1])
    assert not stats.compare(stuck, stuck).real
    # the same means and spreads, paired differently: shifted seed by seed, the gap is real although the
    # two mean +- std ranges overlap (the old sum-of-deviations rule would have called it noise)
    low, high = _stats([0.50, 0.52, 0.54]), _stats([0.505, 0.525, 0.545])
    assert stats.compare(high, low).real and low["std"] + high["std"] > 0.005


def test_fine_interval_is_between_the_neighbours_of_the_best_validation_value():
    rows = [{"lam": lam, "val_mean": val, "test_mean": test}
            for lam, val, test in [(1e-4, 0.50, 0.60), (1e-3, 0.52, 0.40), (1e-2, 0.51, 0.40)]]  # fmt: skip
    assert lambda_search.best_lambda_row(rows)["lam"] == 1e-3  # validation decides, not the (higher) test accuracy
    assert lambda_search.fine_interval(rows) == pytest.approx((1e-4, 1e-2))
    rows[2]["val_mean"] = 0.9  # best at the upper end: the missing neighbour mirrors the log step
    assert lambda_search.fine_interval(rows) == pytest.approx((1e-3, 1e-1))
    values = lambda_search.fine_lambdas((1e-3, 1e-1), 8, seed=0)
    assert values == lambda_search.fine_lambdas((1e-3, 1e-1), 8, seed=0) == sorted(values)
    assert all(1e-3 * 0.999 <= v <= 1e-1 * 1.001 for v in values) and len(set(values)) == 8


def test_mean_curves_align_runs_by_step_and_keep_a_diverged_run_until_it_stopped():
    def record(steps, loss):
        return {"history": {"step": steps, "train_loss": loss}}

    curves = stats.mean_curves([record([10, 20, 30], [2.0, 1.5, 1.0]), record([10, 20], [3.0, None])], ("train_loss",))
    assert curves["step"] == [10, 20, 30] and curves["n"] == [2, 2, 1]
    assert curves["train_loss"]["mean"] == pytest.approx([2.5, 1.5, 1.0])
    assert curves["train_loss"]["min"] == pytest.approx([2.0, 1.5, 1.0])
    assert curves["train_loss"]["max"] == pytest.approx([3.0, 1.5, 1.0])


def test_tables_are_written_as_csv_and_markdown(tmp_path):
    columns = (tables.Column("lam", "lambda", tables.fmt_lam), tables.Column("acc", "acc. (%)", tables.fmt_pct))
    md = tables.write_table([{"lam": 0.00888, "acc": 0.5253}, {"lam": 0.1, "acc": None}], columns, tmp_path / "t")
    assert md.splitlines()[0] == "| lambda | acc. (%) |" and "| 0.00888 | 52.53 |" in md and "| 0.1 | - |" in md
    assert (tmp_path / "t.md").read_text() == md
    assert (tmp_path / "t.csv").read_text().splitlines() == ["lam,acc", "0.00888,0.5253", "0.1,"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_profiles_and_the_chapters_settings_of_them():
    from dd2424.study import init_sensitivity

    full = get_profile("full")
    search, sensitivity = lambda_search.CHAPTER.settings_for("full"), init_sensitivity.CHAPTER.settings_for("full")
    assert full.seeds == tuple(range(10)) and search.final_seeds == tuple(range(10)) and search.final_cycles == 3
    assert search.lambda_search_seeds == (0, 1, 2) and search.lambda_fine_n == 6 and search.lambda_fine_grid == 6
    assert full.n_s == 2250 and full.cycles == 2 and full.n_train is None and full.records_per_cycle >= 10
    assert search.lambda_coarse == (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1) and sensitivity.sigmas == (1e-1, 1e-3, 1e-4)
    assert registry.settings_of(full)["final_seeds"] == list(range(10)) and registry.settings_of(full)["name"] == "full"
    assert get_profile("smoke", seeds=[3, 4]).seeds == (3, 4)
    with pytest.raises(ConfigError, match="unknown profile"):
        get_profile("fast")
    with pytest.raises(ConfigError, match="n_s must be a positive integer"):
        get_profile("smoke", n_s=0)
    with pytest.raises(ConfigError, match="sigmas must be positive numbers"):
        init_sensitivity.CHAPTER.settings_for("smoke", sigmas=[0.1, -1.0])


# --------------------------------------------------------------------------- the pipeline, end to end


def test_progress_lines_past_the_planned_runs_are_marked(tmp_path):
    from dd2424.report import _ProgressTail

    log, lines = tmp_path / "progress.log", []
    log.write_text("")
    with _ProgressTail(log, 2, lines.append):
        with open(log, "a") as f:
            for i in range(3):
                f.write(json.dumps({"run": True, "text": f"run {i}"}) + "\n")
            f.write(json.dumps({"text": "a note"}) + "\n")
    assert lines == ["[run 1/2] run 0", "[run 2/2] run 1", "[run 3/2+] run 2", "a note"]


def test_a_reused_run_is_logged_as_data_and_counted_from_it(tmp_path):
    """``reused`` travels in the progress log's JSON, whatever the run's text says."""
    import time

    from dd2424.report import _finished_runs
    from dd2424.study.context import Progress

    (tmp_path / "saved.json").write_text("{}")
    time.sleep(0.01)
    log = tmp_path / "progress.log"
    progress = Progress("label", 2, tmp_path, log)
    config = {"hidden": [50, 50], "batch_norm": True, "lam": 0.005, "init": "he", "cycles": 1, "seed": 0}
    progress({"config": config, "test_accuracy": 0.5, "cached_as": "saved.json"})  # saved before the sweep: reused
    progress({"config": config, "test_accuracy": 0.5, "cached_as": "new.json", "wall_seconds": 1.0})
    entries = _finished_runs(log)
    assert [e["reused"] for e in entries] == [True, False] and entries[0]["text"].endswith("(reused)")
    log.write_text(json.dumps({"run": True, "reused": False, "text": "named (reused) by its label"}) + "\n")
    assert [e["reused"] for e in _finished_runs(log)] == [False]


def _report(out: Path, data: str) -> subprocess.CompletedProcess:
    """``dd2424 report --profile smoke`` in a subprocess whose PATH holds only this interpreter's folder and the system's."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return subprocess.run(
        [sys.executable, "-m", "dd2424.cli", "report", "--profile", "smoke", "--data", data, "--output-dir", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip


def _saved_results(out: Path) -> dict[str, int]:
    files = list((out / "results" / "runs").glob("*.json")) + list((out / "results" / "gradcheck").glob("*.json"))
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in files}


def _output_bytes(out: Path) -> dict[str, str]:
    """The SHA-256 of every file a checkout commits from a full run: results/, figures/ and report/."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("results", "figures", "report") for p in sorted((out / folder).rglob("*")) if p.is_file()}  # fmt: skip


def _smoke_runs(beyond: dict) -> int:
    """The smoke pipeline's training runs: the planned ones (every ingredient runs every seed) and the ladder's
    leave-one-out, one run per ingredient the last row still has."""
    return registry.planned_runs(get_profile("smoke")) + len(beyond.get("leave_one_out") or [])


@pytest.fixture(scope="module")
def smoke(real_data, tmp_path_factory):
    """The smoke pipeline run twice into one folder; the second run must reuse everything."""
    out = tmp_path_factory.mktemp("smoke-report")
    first = _report(out, real_data.source)
    assert first.returncode == 0, first.stderr[-3000:]
    saved = _saved_results(out), _output_bytes(out)
    second = _report(out, real_data.source)
    assert second.returncode == 0, second.stderr[-3000:]
    return out, first, second, saved


@pytest.mark.slow
@pytest.mark.realdata
def test_smoke_report_writes_every_figure_table_and_summary_key(smoke):
    out, first, _, _ = smoke
    for name in FIGURES:
        assert (out / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-", name
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    for name in TABLES:
        assert (out / "results" / "tables" / f"{name}.csv").stat().st_size > 0, name
        assert (out / "results" / "tables" / f"{name}.md").read_text().startswith("| "), name
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["profile"] == "smoke" and summary["seeds"] == [0, 1]
    assert summary["data"]["n_train"] == 1000 and len(summary["data"]["sha256"]) == 64 and summary["data"]["provenance"]
    assert summary["gradcheck"]["max"]["extended"] < 1e-7 and summary["gradcheck"]["max"]["float64"] < 1e-4
    assert set(summary["training"]) == {"3layer_nobn", "3layer_bn", "9layer_nobn", "9layer_bn"}
    for name, t in summary["training"].items():
        assert t["test_accuracy"]["n"] == 2 and 0 < t["test_accuracy"]["mean"] < 1 and t["figure"] in FIGURES
        assert t["figure"] == f"curves_{name.split('_')[0]}" and t["table"] == f"training_{name}"  # BN pair, one figure
    search = summary["lambda_search"]
    tried = search["coarse"] + search["fine"]
    assert len(search["coarse"]) == 3 and len(search["fine"]) == 2
    assert search["chosen_lambda"] == max(tried, key=lambda r: r["val_mean"])["lam"]  # chosen on validation
    lo, hi = search["fine_interval"]
    assert all(lo <= r["lam"] <= hi for r in search["fine"])
    assert search["final"]["config"]["cycles"] == 2 and search["final"]["seeds"] == [0, 1]
    assert math.isfinite(search["final"]["test_accuracy"]["mean"])
    grid = summary["sensitivity"]["grid"]
    assert {(c["sigma"], c["batch_norm"]) for c in grid} == {(s, bn) for s in (1e-1, 1e-3, 1e-4) for bn in (False, True)}
    assert summary["sensitivity"]["lam"] == search["chosen_lambda"]  # 04 took the lambda that 03 chose
    beyond = summary["beyond"]
    assert beyond["rows"][0]["ingredient"] == "baseline" and len(beyond["rows"]) + len(beyond["dropped"]) == 13
    assert all(d["tried_on"] in [r["ingredient"] for r in beyond["rows"]] for d in beyond["dropped"])
    best_val = max(r["val_mean"] for r in beyond["rows"])  # the best row is chosen on validation accuracy
    assert [r["ingredient"] for r in beyond["rows"] if r["best"] == "yes"] == [beyond["best"]["step"]]
    assert beyond["best"]["val_accuracy"]["mean"] == best_val
    assert beyond["best"]["test_accuracy"]["n"] == 2
    pictures = summary["pictures"]  # the first seed of the best ladder row and of the 3-layer BN network, no training
    assert pictures["order"] == ["best", "3layer_bn"] and len(pictures["class_names"]) == 10
    assert pictures["networks"]["best"]["run_file"] == beyond["best"]["run_files"][0]
    assert pictures["networks"]["3layer_bn"]["run_file"] == summary["training"]["3layer_bn"]["run_files"][0]
    for net in pictures["networks"].values():
        assert net["seed"] == 0 and len(net["class_accuracy"]) == 10 and len(net["confused_pairs"]) == 5
        assert net["first_layer"]["n_units"] == 16 and set(pictures["figures"].values()) <= set(FIGURES)
    flips = [r for r in beyond["rows"] if r["evaluation_only"]]
    assert [r["ingredient"] for r in flips] == ["test-time flips"] and flips[0]["runs"] == 0 and flips[0]["seeds"] == 2
    assert all(d["seeds"] == 2 and d["verdict"] == "lower" for d in beyond["dropped"])
    runs = _smoke_runs(beyond)
    assert summary["timing"]["runs"] == runs >= registry.planned_runs(get_profile("smoke"))
    assert summary["timing"]["compute_seconds"] > 0 and summary["timing"]["pipeline_seconds"] > 0
    # progress: one line per run on the pipeline's stderr (i/N+ past the N planned), none in the stored notebooks
    planned = registry.planned_runs(get_profile("smoke"))
    last = f"[run {runs}/{planned}{'+' if runs > planned else ''}]"
    assert last in first.stderr and f"[run {runs + 1}/" not in first.stderr
    assert "test-time flips: the 2 networks of the augmentation row evaluated again, no training" in first.stderr
    executed = sorted((out / "build" / "notebooks").glob("*.ipynb"))
    assert len(executed) == len(registry.pipeline_steps()) + 1
    assert not any("[run " in p.read_text() or "lambda coarse:" in p.read_text() for p in executed)


@pytest.mark.slow
@pytest.mark.realdata
def test_smoke_report_pdf_has_the_sections_and_no_code(pdf_tools, smoke):
    out, _, _, _ = smoke
    pdf = out / "report" / "dd2424-report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    html = (out / "report" / "dd2424-report.html").read_text()
    assert "Reproducibility" in html and "build_summary" not in html and "from dd2424" not in html
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for title in SECTIONS:
        assert title in text, title
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert summary["code_version"] in text and "smoke" in text and summary["data"]["sha256"] in text.replace("\n", "")
    for code in ("import ", "study.", "display(", "output_dir ="):
        assert code not in text, code
    assert not list((out / "report").glob(".*"))  # no temporary file left


@pytest.mark.slow
@pytest.mark.realdata
def test_second_run_reuses_every_saved_result(smoke):
    out, _, second, (saved, outputs) = smoke
    assert _saved_results(out) == saved  # same files, same modification times: nothing retrained
    # a rebuild on the same results changes no file: summary, parts, tables, figures, PDF and HTML byte for byte
    after = _output_bytes(out)
    assert after.keys() == outputs.keys() and [k for k in after if after[k] != outputs[k]] == []
    assert not (out / "build" / "previous").exists()
    run_lines = [line for line in second.stderr.splitlines() if line.startswith("[run ")]
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert len(run_lines) == _smoke_runs(summary["beyond"]) and all(line.endswith("(reused)") for line in run_lines)
    # the rebuild keeps the record of the first invocation, which computed everything
    timing = summary["timing"]
    assert timing["reused_runs"] == 0 and timing["from_scratch"]["pipeline_seconds"] == timing["pipeline_seconds"] > 0


@pytest.mark.slow
@pytest.mark.realdata
def test_executed_chapters_show_every_figure_they_save(smoke):
    """Every cell of an executed chapter (papermill's copy) that saves a figure also shows it, as image/png."""
    import nbformat

    out = smoke[0]
    figure_cells = 0
    for path in sorted((out / "build" / "notebooks").glob("*.ipynb")):
        if path.name == "report.ipynb":
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "save_figure(" in cell.source:
                figure_cells += 1
                pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
                assert pngs, f"{path.name}: no image under {cell.source[:60]!r}"
                assert not any("application/pdf" in o.get("data", {}) for o in cell.outputs)  # PNG only: small copies
    assert figure_cells == len(FIGURES)  # one cell per figure (02 runs twice, once per depth)


def test_a_rebuild_keeps_the_pipeline_part_of_the_invocation_that_computed_the_results(tmp_path):
    from dd2424 import report
    from dd2424.study.paths import Paths

    paths = Paths(tmp_path)
    paths.summary_parts.mkdir(parents=True)
    part = paths.summary_parts / f"{report.PIPELINE_PART}.json"

    def write(reused, computed, profile="smoke"):
        if part.is_file():  # what the pipeline does first
            report._set_aside_previous(paths)
        report._write_pipeline_part(paths, profile, {"nb": 1.0}, 2.0 + reused, 1, None, reused, computed)
        return json.loads(part.read_text())

    first = write(0, 5)
    assert first["pipeline"]["from_scratch"]["pipeline_seconds"] == 2.0 and first["pipeline"]["reused_runs"] == 0
    before = part.read_bytes()
    assert write(5, 0) == first and part.read_bytes() == before  # a rebuild: the same bytes
    partial = write(3, 2)  # some runs computed, some reused: this invocation's record, with no from-scratch time
    assert partial["pipeline"]["pipeline_seconds"] == 5.0 and partial["pipeline"]["from_scratch"] is None
    assert write(5, 0, profile="full")["pipeline"]["pipeline_seconds"] == 7.0  # another profile: not the same results


def test_a_record_unchanged_but_for_its_stamps_is_moved_back_not_rewritten(tmp_path):
    from dd2424.study.paths import Paths
    from dd2424.study.unchanged import write_unless_unchanged

    paths = Paths(tmp_path)
    path = paths.summary_parts / "02_x.json"
    assert write_unless_unchanged(path, {"written": "t0", "a": 1}, paths.set_aside(path))
    aside = paths.set_aside(path)
    assert aside == tmp_path / "build" / "previous" / "results" / "summary" / "02_x.json"
    aside.parent.mkdir(parents=True)
    os.replace(path, aside)
    old = aside.read_bytes()
    assert not write_unless_unchanged(path, {"written": "t1", "a": 1}, aside)  # moved back, the old stamp kept
    assert path.read_bytes() == old and not aside.exists()
    assert not write_unless_unchanged(path, {"written": "t2", "a": 1})  # already there: left as it is
    assert write_unless_unchanged(path, {"written": "t3", "a": 2}, aside) and json.loads(path.read_text())["a"] == 2


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("missing, said", [({"xelatex"}, "xelatex not found"),
                                           ({"xelatex", "pandoc"}, "xelatex and pandoc not found")])  # fmt: skip
def test_missing_latex_still_writes_the_html(smoke, tmp_path, monkeypatch, capsys, missing, said):
    """Whatever this machine has: the tools are made to look missing or present (the PDF is never attempted)."""
    from dd2424 import export

    out, _, _, _ = smoke
    real_which = export.shutil.which
    monkeypatch.setattr(export.shutil, "which", lambda tool: None if tool in missing else
                        f"/usr/bin/{tool}" if tool in ("xelatex", "pandoc") else real_which(tool))  # fmt: skip
    status = export.export_report(out / "build" / "notebooks" / "report.ipynb", tmp_path)
    assert status == 0
    assert (tmp_path / "dd2424-report.html").exists() and not (tmp_path / "dd2424-report.pdf").exists()
    printed = capsys.readouterr().out
    assert said in printed and "texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc" in printed


def test_pdf_tests_skip_without_latex_saying_what_to_install_but_fail_in_ci(monkeypatch):
    import shutil

    from conftest import require_tools

    monkeypatch.setattr(shutil, "which", lambda tool: None if tool in ("xelatex", "pandoc") else f"/usr/bin/{tool}")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="xelatex and pandoc not found.*texlive-xetex.*pandoc"):
        require_tools("xelatex", "pandoc", "pdftotext")
    require_tools("pdftotext")  # present: no skip
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set but xelatex"):
        require_tools("xelatex")


@pytest.mark.slow
@pytest.mark.realdata
def test_a_failing_notebook_stops_the_pipeline_naming_it(real_data, tmp_path, capsys):
    from dd2424.report import build_report

    stale = tmp_path / "report" / "dd2424-report.pdf"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"%PDF- an old report")
    status = build_report(profile="smoke", output_dir=tmp_path, data=real_data.source,
                          overrides={"01_gradient_check": {"gradcheck_inputs": 0}})  # fmt: skip
    assert status == 1
    err = capsys.readouterr().err
    assert "notebook 01_gradient_check.ipynb" in err and "gradcheck_inputs must be a positive integer" in err
    assert "[notebook 2/" not in err  # stopped there
    assert not stale.exists() and not (tmp_path / "report" / "dd2424-report.html").exists()
    assert not (tmp_path / "results" / "summary.json").exists()
    assert (tmp_path / "build" / "notebooks" / "01_gradient_check.ipynb").exists()  # with the traceback


def test_runs_of_an_older_code_version_are_counted_and_pruned_only_when_asked(tmp_path):
    from dd2424.code_version import code_version
    from dd2424.report import _report_stale_runs, stale_runs
    from dd2424.study.paths import Paths

    paths = Paths(tmp_path)
    paths.runs.mkdir(parents=True)
    (paths.runs / "current.json").write_text(json.dumps({"code_version": code_version()}))
    (paths.runs / "old.json").write_text(json.dumps({"code_version": "0000000000ab"}))
    (paths.runs / "broken.json").write_text("{ not json")
    (paths.runs / "notes.txt").write_text("kept")
    assert [p.name for p in stale_runs(paths)] == ["old.json"]
    lines: list[str] = []
    _report_stale_runs(paths, False, lines.append)
    assert (paths.runs / "old.json").exists() and "1 runs of an older code version" in lines[0] and "--prune-stale" in lines[0]
    _report_stale_runs(paths, True, lines.append)
    assert sorted(p.name for p in paths.runs.iterdir()) == ["broken.json", "current.json", "notes.txt"]
    assert "deleted 1 saved runs" in lines[1]
    assert stale_runs(Paths(tmp_path / "empty")) == []


# --------------------------------------------------------------------------- the report's own arguments


def _report_command(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    import time

    tic = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dd2424.cli", "report", "--profile", "smoke", *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return proc, time.perf_counter() - tic


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("where, said", [("file", "is a file; give a folder"), ("under_a_file", "so the folder cannot be created"),
                                         ("bogus", "is not a scheduler address"), ("closed", "no scheduler answers there")])  # fmt: skip
def test_a_bad_output_dir_or_scheduler_stops_at_once_with_one_line(tmp_path, where, said):
    """Checked before the data and the first notebook: had anything run, the error would be about the data."""
    (tmp_path / "file").write_text("x")
    args = {"file": ["--output-dir", str(tmp_path / "file")],
            "under_a_file": ["--output-dir", str(tmp_path / "file" / "out")],
            "bogus": ["--output-dir", str(tmp_path / "out"), "--scheduler", "bogus"],
            "closed": ["--output-dir", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{_closed_port()}"]}[where]  # fmt: skip
    proc, seconds = _report_command("--data", str(tmp_path / "no-data.tar.gz"), *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and said in lines[0], proc.stderr
    assert seconds < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing created


@pytest.mark.parametrize("error", [PermissionError(13, "Permission denied"), OSError(30, "Read-only file system")])
def test_an_unwritable_output_dir_stops_at_once(tmp_path, monkeypatch, capsys, error):
    from dd2424 import report_checks
    from dd2424.cli import main

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(report_checks.tempfile, "mkstemp", refuse)  # root may write anywhere: simulate the refusal
    status = main(["report", "--profile", "smoke", "--data", str(tmp_path / "no-data.tar.gz"), "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and f"cannot write in {tmp_path} ({error.strerror})" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_the_scheduler_check_accepts_a_listening_address_and_gives_up_on_a_silent_one(monkeypatch):
    import socket
    import time

    from dd2424 import report_checks

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        report_checks.check_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}")  # no error
        report_checks.check_scheduler(f"127.0.0.1:{server.getsockname()[1]}")  # Dask's default protocol

    monkeypatch.setattr(report_checks.socket, "create_connection", lambda *a, **k: time.sleep(30))  # a resolver that hangs
    tic = time.perf_counter()
    with pytest.raises(ConfigError, match="no answer within 0.2 s"):
        report_checks.check_scheduler("tcp://example.org:8786", timeout=0.2)
    assert time.perf_counter() - tic < 2


def test_bad_data_leaves_no_new_output_folder_behind(tmp_path):
    from dd2424.errors import DataError
    from dd2424.report import build_report

    with pytest.raises(DataError):
        build_report(profile="smoke", output_dir=tmp_path / "new" / "out", data=str(tmp_path / "no-data.tar.gz"))
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    (kept / "results").mkdir(parents=True)
    with pytest.raises(DataError):
        build_report(profile="smoke", output_dir=kept, data=str(tmp_path / "no-data.tar.gz"))
    assert (kept / "results").is_dir()  # a folder that was there is left as it was (with its lock file)


def test_the_busy_message_names_the_lock_file(tmp_path):
    from dd2424.study.paths import OutputFolderBusy

    message = str(OutputFolderBusy(tmp_path, "123"))
    assert "pid 123" in message and f"delete {tmp_path / 'build' / 'report.lock'}" in message


def test_the_pipeline_starts_its_kernels_without_the_unencrypted_tcp_warning(tmp_path, capfd):
    """ipykernel warns on stderr when its connection is unencrypted TCP; the pipeline's kernels use CurveZMQ."""
    nbformat = pytest.importorskip("nbformat")
    papermill = pytest.importorskip("papermill")
    import zmq

    from dd2424.report import _kernel_manager_class

    if not zmq.has("curve"):
        pytest.skip("this pyzmq has no CurveZMQ: the kernel's connection cannot be encrypted")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1 + 1"))
    nbformat.write(nb, tmp_path / "in.ipynb")
    papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               progress_bar=False, kernel_manager_class=_kernel_manager_class())  # fmt: skip
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out
