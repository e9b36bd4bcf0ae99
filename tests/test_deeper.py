"""Chapter 07 (deeper networks, Adaptive BN): its planned runs, its configurations, the runs it reuses, its numbers,
its discussion's claims, and its notebook in the smoke profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dd2424.errors import ConfigError
from dd2424.experiments import run_key
from dd2424.study import deeper, deeper_discussion, deeper_text, registry, training_curves
from dd2424.study.context import Context
from dd2424.study.notebook import parameters_of
from dd2424.study.paths import Paths
from dd2424.study.profiles import get_profile

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DATA = {"sha256": "0" * 64, "n_train": 45000, "n_val": 5000, "n_test": 10000}


def _ctx(profile: str = "full", root: Path | None = None, **settings) -> Context:
    """A context without data: only the profile, the chapter's settings and an output folder."""
    ctx = Context.__new__(Context)
    ctx.profile, ctx.chapter, ctx.part, ctx.suffix = get_profile(profile), deeper.CHAPTER, deeper.CHAPTER.stem, ""
    ctx.settings = deeper.CHAPTER.settings_for(profile, **settings)
    ctx.paths, ctx.data_info = Paths(root or Path("/nonexistent")), DATA
    return ctx


def test_the_chapter_is_registered_last_and_plans_its_own_runs_only():
    assert registry.CHAPTER_MODULES[-1] == "deeper" and registry.chapter_of("07_deeper") is deeper.CHAPTER
    assert deeper.CHAPTER.summary == ("deep", "adaptive_bn")
    # narrow variants and the two 9-layer skip networks with the profile's seeds, the wide ones with theirs;
    # chapter 02's runs (9-layer plain and BN, 3-layer BN) are read, never planned again
    # and the PreciseBN twins of chapter 02's two BN networks with the profile's seeds
    assert deeper.CHAPTER.runs(get_profile("full")) == (4 + 2 + 2) * 10 + 3 * 3 == 89
    assert deeper.CHAPTER.runs(get_profile("quick")) == (4 + 2 + 2) * 2 + 3 * 2
    assert deeper.CHAPTER.runs(get_profile("smoke")) == (4 + 2 + 2) * 2 + 3 * 2
    assert deeper.timing({}) == {"training_seconds": 0.0, "runs": 0}
    assert deeper.timing({"compute_seconds": 5.0, "runs": 3}) == {"training_seconds": 5.0, "runs": 3}


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="deep_decay must be one of"):
        deeper.CHAPTER.settings_for("smoke", deep_decay="linear")
    with pytest.raises(ConfigError, match="deep_wide must be a positive integer"):
        deeper.CHAPTER.settings_for("smoke", deep_wide=0)
    with pytest.raises(ConfigError, match="deep_adam_eta"):
        deeper.CHAPTER.settings_for("smoke", deep_adam_eta=2.0)


def _diff(a, b) -> dict:
    a, b = a.to_dict(), b.to_dict()
    return {k: a.get(k) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def test_each_variant_changes_exactly_its_step_from_the_one_before():
    ctx = _ctx("full")
    configs = {v.key: deeper.variant_configs(ctx, v) for v in deeper.VARIANTS}
    sgd = configs["sgd"][0]
    assert sgd.hidden == (50,) * 6 and sgd.batch_norm and sgd.optimizer == "sgd" and sgd.lr_decay == "none"
    assert (sgd.eta_min, sgd.eta_max, sgd.lam, sgd.n_s, sgd.cycles, sgd.batch_size) == (1e-5, 0.1, 0.005, 2250, 2, 100)
    assert [c.seed for c in configs["sgd"]] == list(range(10)) and [c.seed for c in configs["wide"]] == [0, 1, 2]
    first = {v.key: configs[v.key][0] for v in deeper.VARIANTS}
    steps = {"adam": {"optimizer": "adam", "eta_max": 3e-3, "lr_decay": "cosine"}, "skip": {"skip": True},
             "skip_nobn": {"batch_norm": False}, "wide": {"hidden": [128] * 6}, "wide_skip": {"skip": True},
             "wide_skip_nobn": {"batch_norm": False}}  # fmt: skip
    for v in deeper.VARIANTS[1:]:
        assert _diff(first[v.key], first[v.previous]) == steps[v.key], v.key
    assert all(len(c.hidden) == 6 and len(set(c.hidden)) == 1 for c in first.values())  # 7 layers, one width


def test_the_reused_networks_are_chapter_02s_configurations_exactly():
    """Built as notebook 02 builds them (its functions, its defaults), so they share its runs' keys: read, not retrained."""
    defaults = {k: v for k, (_, v) in parameters_of(NOTEBOOKS / training_curves.CHAPTER.notebook).items()}
    assert (deeper.CURVES_INIT, deeper.CURVES_LAM) == (defaults["init"], defaults["lam"])
    for profile in ("full", "smoke"):
        ctx = _ctx(profile)
        for depth, hidden in training_curves.DEPTHS:
            chapter02 = training_curves.pair_configs(ctx, hidden, defaults["init"], defaults["lam"])
            if depth == "9layer":
                ours = deeper.nine_layer_configs(ctx, "plain") + deeper.nine_layer_configs(ctx, "bn")
            else:
                chapter02 = [c for c in chapter02 if c.batch_norm]
                ours = deeper.shallow_bn_configs(ctx)
            assert ours == chapter02 and all(c.record_grad_norms for c in ours)
            assert [run_key(c, DATA) for c in ours] == [run_key(c, DATA) for c in chapter02]
        for key, plain in (("skip_bn", "bn"), ("skip_nobn", "plain")):  # the same runs with the one skip block (6, 7)
            pairs = zip(deeper.nine_layer_configs(ctx, key), deeper.nine_layer_configs(ctx, plain))
            assert all(_diff(a, b) == {"skip": True} for a, b in pairs)


def test_saved_records_read_chapter_02s_files_and_name_the_notebook_when_missing(tmp_path):
    ctx = _ctx("smoke", tmp_path)
    configs = deeper.nine_layer_configs(ctx, "bn")
    with pytest.raises(ConfigError, match="02_training_curves.*missing"):
        deeper.saved_records(ctx, configs, "02_training_curves")
    ctx.paths.runs.mkdir(parents=True)
    for c in configs:
        (ctx.paths.runs / f"{run_key(c, DATA)}.json").write_text(json.dumps({"seed": c.seed}))
    assert [r["seed"] for r in deeper.saved_records(ctx, configs, "02_training_curves")] == [0, 1]


def test_the_ladders_best_runs_are_read_from_chapter_05s_part(tmp_path):
    ctx = _ctx("smoke", tmp_path)
    with pytest.raises(ConfigError, match="05_beyond.*missing"):
        deeper.ladder_best_records(ctx)
    ctx.paths.summary_parts.mkdir(parents=True)
    ctx.paths.runs.mkdir(parents=True)
    part = {"profile": "smoke", "data": DATA, "beyond": {"best": {"step": "ZCA", "run_files": ["a.json", "b.json"]}}}
    (ctx.paths.summary_parts / "05_beyond.json").write_text(json.dumps(part))
    with pytest.raises(ConfigError, match="a.json is missing"):
        deeper.ladder_best_records(ctx)
    for i, name in enumerate(("a.json", "b.json")):
        (ctx.paths.runs / name).write_text(json.dumps({"seed": i}))
    best, records = deeper.ladder_best_records(ctx)
    assert best["step"] == "ZCA" and [r["seed"] for r in records] == [0, 1]
    (ctx.paths.summary_parts / "05_beyond.json").write_text(json.dumps({**part, "profile": "quick"}))
    with pytest.raises(ConfigError, match="comes from profile 'quick'"):
        deeper.ladder_best_records(ctx)


# --------------------------------------------------------------------------- numbers and claims


def _record(seed, val, test=None, *, abn=None, **config):
    test = val if test is None else test
    adaptive = None if abn is None else {name: {"accuracy": a} for name, a in zip(deeper_text.EVALUATIONS, abn)}
    return {"seed": seed, "val_accuracy": val, "test_accuracy": test, "train_accuracy": val + 0.1, "diverged": False,
            "cached_as": f"r{seed}.json", "wall_seconds": 2.0, "train_seconds": 1.5, "adaptive_bn": adaptive,
            "config": {"hidden": [50] * 6, "batch_norm": True, "seed": seed, **config}}  # fmt: skip


def _runs(base, step=0.0, noise=(0.0, 0.004, -0.004, 0.002), **config):
    return [_record(s, base + step + d, **config) for s, d in enumerate(noise)]


def _deep(adam=0.0, skip=0.0, nobn=0.0, wide=0.0, depth=-0.05):
    """A ``deep`` section whose steps move validation (and test) accuracy by the given amounts on every seed."""
    acc = {"sgd": 0.45}
    acc["adam"] = acc["sgd"] + adam
    acc["skip"] = acc["adam"] + skip
    acc["skip_nobn"] = acc["skip"] + nobn
    acc["wide"] = acc["adam"] + wide
    acc["wide_skip"] = acc["wide"] + skip
    acc["wide_skip_nobn"] = acc["wide_skip"] + nobn
    records = {k: _runs(a) for k, a in acc.items()}
    nine = {"plain": _runs(0.40), "bn": _runs(0.44), "skip_nobn": _runs(0.40), "skip_bn": _runs(0.46 + depth)}
    return deeper_text.deep_section(deeper.VARIANTS, records, nine, _runs(0.46),
                                    deeper.SETTINGS["full"].to_dict())  # fmt: skip


def test_gains_are_paired_with_the_variant_before_and_the_best_is_chosen_on_validation():
    deep = _deep(adam=0.02, skip=0.0, nobn=-0.03)
    gain = deep["variants"]["adam"]["gain"]["val"]
    assert gain["mean"] == pytest.approx(0.02) and gain["verdict"] == "higher" and gain["n"] == 4
    assert deep["variants"]["skip"]["gain"]["val"]["verdict"] == "within noise"
    assert deep["variants"]["skip_nobn"]["gain"]["val"]["verdict"] == "lower"
    assert deep["variants"]["sgd"]["gain"] is None
    assert deep["best"] in ("skip", "adam")  # equal up to floating point: never by test accuracy
    pairs = {(p["a"], p["b"]): p for p in _deep()["nine_layer"]["pairs"]}
    assert pairs[("skip_bn", "3layer_bn")]["test"]["mean"] == pytest.approx(-0.05)


def test_the_best_variant_is_the_highest_mean_validation_accuracy_not_test():
    records = {v.key: _runs(0.40) for v in deeper.VARIANTS}
    records["skip"] = [_record(s, 0.5, test=0.1) for s in range(4)]  # best on validation, worst on test
    records["sgd"] = [_record(s, 0.3, test=0.9) for s in range(4)]
    nine = {k: _runs(0.4) for k in deeper.NINE_LAYER}
    section = deeper_text.deep_section(deeper.VARIANTS, records, nine, _runs(0.4), {})
    assert section["best"] == "skip"
    rows = deeper_text.variant_rows(section)
    assert [r["best"] for r in rows].count("yes") == 1 and rows[2]["best"] == "yes"


@pytest.mark.parametrize(("step", "said"), [(0.02, "is a real improvement"), (-0.02, "does worse"),
                                            (0.0, "buys nothing measurable")])  # fmt: skip
def test_the_adam_claim_flips_with_its_interval(step, said):
    assert said in deeper_discussion.seven_layer_claims(_deep(adam=step))


@pytest.mark.parametrize(("train_step", "said"), [(-0.03, "and not by overfitting: it also lowers the mean training accuracy by 3.00"),
                                                  (0.03, "raises the mean training accuracy by 3.00 points"),
                                                  (0.0, "within noise (95 % interval [+0.00, +0.00], 4 seeds, which holds zero), so what it loses is not shown")])  # fmt: skip
def test_a_step_that_loses_on_validation_is_told_overfitting_or_underfitting_by_its_training_accuracy(train_step, said):
    deep = _deep(adam=-0.02, wide=-0.02)
    records = {v.key: _runs(0.45) for v in deeper.VARIANTS}
    for key, base in (("sgd", 0.45), ("adam", 0.43)):
        records[key] = _runs(base)
        for r in records[key]:
            r["train_accuracy"] = 0.6 + (train_step if key == "adam" else 0.0) + (0.001 * r["seed"] if train_step else 0.0)
    gain = deeper_text.comparison(records["adam"], records["sgd"])
    assert gain["train"]["n"] == 4 and gain["val"]["verdict"] == "lower"
    deep["variants"]["adam"]["gain"] = gain
    text = deeper_discussion.seven_layer_claims(deep)
    assert "Adam with a decaying rate does worse" in text and said in text
    if train_step > 0:
        assert "fits the training images better and generalises worse" in text
    # the width step (records with training accuracy 0.1 above validation on every seed) fits less as well
    assert "More hidden nodes cost accuracy in this training budget, and not by overfitting" in text


@pytest.mark.parametrize(("step", "said"), [(0.02, "Skip connections pay at both widths"), (-0.02, "Skip connections cost"),
                                            (0.0, "buy nothing measurable at seven layers")])  # fmt: skip
def test_the_skip_claim_flips_with_its_interval(step, said):
    assert said in deeper_discussion.seven_layer_claims(_deep(skip=step))


@pytest.mark.parametrize(("step", "said"), [(-0.03, "Skips do not replace BN"), (0.03, "do better still"),
                                            (0.0, "BN is no longer needed")])  # fmt: skip
def test_the_claim_about_bn_flips_with_its_interval(step, said):
    text = deeper_discussion.seven_layer_claims(_deep(nobn=step))
    assert said in text and "anywhere" in text  # the engine's no BN is said: none on the sums nor elsewhere


@pytest.mark.parametrize(("depth", "said"), [(-0.05, "Depth still does not pay"), (0.05, "depth finally pays"),
                                             (0.0, "draws level")])  # fmt: skip
def test_the_depth_claim_flips_with_its_interval(depth, said):
    text = deeper_discussion.nine_layer_text(_deep(depth=depth))
    assert said in text and "hidden layers 6 and 7" in text


def test_step_sentences_carry_the_numbers_and_say_within_noise_only_when_zero_is_inside():
    text = deeper_discussion.seven_layer_steps(_deep(adam=0.02, skip=0.0))
    assert "Adding Adam with learning-rate decay raises the mean validation accuracy by 2.00 points" in text
    assert "Adding skip connections changes the mean validation accuracy by +0.00 points, within noise" in text
    assert deeper_discussion.change({"n": 1, "mean": 0.01, "verdict": "undetermined"}).endswith("too few to judge")


def _adaptive(shift_cost: float, recovered: float, ordinary: float = 0.0):
    nets = {}
    for key in ("3layer_bn", "9layer_bn"):
        nets[key] = [_record(s, 0.5, abn=(0.5 + d, 0.5 + d + ordinary, 0.5 + d - shift_cost,
                                          0.5 + d - shift_cost + recovered * shift_cost))
                     for s, d in enumerate((0.0, 0.003, -0.002, 0.001))]  # fmt: skip
    return deeper_text.adaptive_section(nets, {"3layer_bn": "3-layer BN network", "9layer_bn": "9-layer BN network"})


def test_adaptive_bn_is_paired_over_the_same_networks_and_its_claims_follow_the_numbers():
    section = _adaptive(shift_cost=0.10, recovered=0.8)
    net = section["networks"]["3layer_bn"]
    assert net["shift_cost"]["mean"] == pytest.approx(-0.10) and net["shift_cost"]["verdict"] == "lower"
    assert net["gain_shifted"]["mean"] == pytest.approx(0.08) and net["gain_shifted"]["verdict"] == "higher"
    assert net["gain_test"]["verdict"] == "within noise" and net["test"]["n"] == 4
    text = deeper_discussion.adaptive_text(section)
    assert "every network loses" in text and "recovers 80 % of the loss" in text
    assert "On the ordinary test set Adaptive BN changes the accuracy of none of the 2 networks beyond noise" in text
    assert "on the shifted one Adaptive BN raises the accuracy of the 3-layer BN network, 9-layer BN network" not in text
    assert "raises the accuracy of the 3-layer BN network and 9-layer BN network" in text
    calm = deeper_discussion.adaptive_text(_adaptive(shift_cost=0.0, recovered=0.0, ordinary=-0.02))
    assert "nothing to recover" in calm and "lowers that of the 3-layer BN network" in calm
    rows = deeper_text.adaptive_rows(section)
    assert rows[0]["gain_shifted"] == pytest.approx(0.08) and rows[0]["network"] == "3-layer BN network"


def test_the_precise_twins_are_chapter_02s_bn_runs_with_precise_bn_only():
    ctx = _ctx("full")
    for key, plain in (("3layer_bn", deeper.shallow_bn_configs(ctx)), ("9layer_bn", deeper.nine_layer_configs(ctx, "bn"))):
        twins = deeper.precise_configs(ctx, key)
        assert [_diff(t, c) for t, c in zip(twins, plain)] == [{"precise_bn": 10000}] * 10
    assert deeper.precise_configs(_ctx("full", precise_samples=50000), "3layer_bn")[0].precise_bn == DATA["n_train"]
    with pytest.raises(ConfigError, match="precise_samples must be a positive integer"):
        deeper.CHAPTER.settings_for("smoke", precise_samples=0)


def _twins(precise_gain: float, adaptive_gain: float, same: bool = True):
    """Runs and their PreciseBN twins: PreciseBN moves test and shifted accuracy by ``precise_gain``, Adaptive BN
    the shifted one by ``adaptive_gain`` over PreciseBN; ``same=False``: one twin's running-average accuracy differs."""
    noise = (0.0, 0.003, -0.002, 0.001, 0.002)
    plain, twins = [], []
    for s, d in enumerate(noise):
        running, shifted = 0.5 + d, 0.4 + d
        plain.append(_record(s, 0.5, abn=(running, running, shifted, shifted + 0.05)))
        twin = _record(s, 0.5, abn=(running + precise_gain, running, shifted + precise_gain,
                                    shifted + precise_gain + adaptive_gain))  # fmt: skip
        twin["final_running_averages"] = {"test": {"accuracy": running + (0.01 if not same and s == 2 else 0.0)}}
        twins.append(twin)
    return deeper_text.precise_section({"3layer_bn": (plain, twins)}, {"3layer_bn": "3-layer BN network"})


def test_running_precise_and_adaptive_are_paired_on_the_same_networks_and_the_text_follows():
    section = _twins(precise_gain=0.0, adaptive_gain=0.10)
    net = section["networks"]["3layer_bn"]
    assert net["same_networks"] and net["seeds"] == [0, 1, 2, 3, 4]
    assert net["shifted"]["running"]["mean"] == pytest.approx(0.4008) and net["shifted"]["adaptive"]["n"] == 5
    assert net["test"]["precise_vs_running"]["verdict"] == "within noise"
    assert net["shifted"]["adaptive_vs_precise"]["mean"] == pytest.approx(0.10)
    section.update(samples=10000)
    text = deeper_discussion.precise_text(section)
    assert "the same networks" in text and "10,000 training images" in text
    assert "PreciseBN in place of the running averages changes the test accuracy by +0.00 points, within noise" in text
    assert "Adaptive BN in place of PreciseBN raises the shifted accuracy by 10.00 points" in text
    assert "only statistics of the evaluated images recover the accuracy" in text
    helped = {**_twins(precise_gain=0.02, adaptive_gain=0.10), "samples": 10000}
    assert "PreciseBN recovers part of the loss" in deeper_discussion.precise_text(helped)
    nothing = {**_twins(precise_gain=0.0, adaptive_gain=-0.01), "samples": 10000}
    assert "do not beat PreciseBN's on every network" in deeper_discussion.precise_text(nothing)
    other = {**_twins(precise_gain=0.0, adaptive_gain=0.1, same=False), "samples": 10000}
    assert not other["networks"]["3layer_bn"]["same_networks"]
    assert "paired over seeds, not over identical weights" in deeper_discussion.precise_text(other)
    rows = deeper_text.precise_rows(section)
    assert [r["set"] for r in rows] == ["test", "shifted test"] and rows[1]["adaptive_vs_precise"] == pytest.approx(0.10)


# --------------------------------------------------------------------------- the notebook, smoke profile


@pytest.mark.slow
@pytest.mark.realdata
def test_the_notebook_runs_in_the_smoke_profile_on_chapter_02s_and_05s_runs(real_data, tmp_path):
    """Chapter 02's runs trained into a folder, a ladder part naming its 3-layer BN runs as the best row: the
    notebook then trains only its own runs, reads the others and writes its sections, figure and tables."""
    papermill = pytest.importorskip("papermill")
    from dd2424.experiments import code_version
    from dd2424.report import _kernel_manager_class
    from dd2424.study.stats import summarize_runs

    ctx = Context("smoke", output_dir=tmp_path, data=real_data.source, chapter=deeper.CHAPTER)
    shallow = ctx.run(deeper.shallow_bn_configs(ctx), "3layer")
    ctx.run(deeper.nine_layer_configs(ctx, "plain") + deeper.nine_layer_configs(ctx, "bn"), "9layer")
    ctx.paths.summary_parts.mkdir(parents=True, exist_ok=True)
    part = {"profile": "smoke", "data": ctx.data_info, "code_version": code_version(),
            "beyond": {"best": {"step": "baseline", **summarize_runs(shallow)}}}  # fmt: skip
    (ctx.paths.summary_parts / "05_beyond.json").write_text(json.dumps(part))
    before = {p.name for p in ctx.paths.runs.glob("*.json")}
    papermill.execute_notebook(str(NOTEBOOKS / deeper.CHAPTER.notebook), str(tmp_path / "07.ipynb"),
                               parameters={"profile": "smoke", "output_dir": str(tmp_path), "data": real_data.source},
                               kernel_name="python3", cwd=str(NOTEBOOKS), progress_bar=False,
                               kernel_manager_class=_kernel_manager_class())  # fmt: skip
    new = {p.name for p in ctx.paths.runs.glob("*.json")} - before
    assert len(new) == deeper.CHAPTER.runs(get_profile("smoke"))  # chapter 02's runs were read, not retrained
    saved = json.loads((ctx.paths.summary_parts / "07_deeper.json").read_text())
    deep, adaptive = saved["deep"], saved["adaptive_bn"]
    assert deep["order"] == [v.key for v in deeper.VARIANTS] and deep["runs"] == len(new)
    assert deep["variants"]["sgd"]["val_accuracy"]["n"] == 2 and deep["variants"]["wide"]["width"] == 64
    assert set(deep["nine_layer"]["networks"]) == {"3layer_bn", "plain", "bn", "skip_nobn", "skip_bn"}
    chapter02 = [f"{run_key(c, ctx.data_info)}.json" for c in deeper.nine_layer_configs(ctx, "bn")]
    assert deep["nine_layer"]["networks"]["bn"]["run_files"] == chapter02 and not set(chapter02) & new
    assert all(p["test"]["n"] == 2 and p["test"]["verdict"] for p in deep["nine_layer"]["pairs"])
    assert adaptive["order"][:3] == ["3layer_bn", "9layer_bn", "ladder_best"]
    assert all(n["gain_shifted"]["n"] == 2 for n in adaptive["networks"].values())
    # the PreciseBN twins retrain chapter 02's BN networks to the same weights (deterministic for a seed)
    twins = adaptive["precise"]["networks"]
    assert set(twins) == {"3layer_bn", "9layer_bn"} and all(n["same_networks"] for n in twins.values())
    assert all(n["shifted"]["adaptive_vs_precise"]["n"] == 2 for n in twins.values())
    assert (tmp_path / "figures" / "deep_curves.pdf").read_bytes()[:5] == b"%PDF-"
    for name in deeper_text.TABLES.values():
        assert (tmp_path / "results" / "tables" / f"{name}.md").read_text().startswith("| ")


def test_the_figure_draws_every_variant_in_its_own_colour_on_shared_axes():
    def curves(level):
        steps = [10, 20, 30]
        return {"step": steps, **{f"{part}_{key}": {"mean": [level, level / 2, None]}
                                  for part in ("train", "val") for key in ("loss", "accuracy")}}  # fmt: skip

    groups = {"narrow": {"sgd": curves(2.0), "adam": curves(1.5)}, "wide": {"wide": curves(1.0)}}
    fig = deeper_text.plot_variants(groups, {"narrow": "narrow", "wide": "wide"})
    axes = fig.axes
    assert len(axes) == 4 and axes[0].get_shared_y_axes().joined(axes[0], axes[2])
    colours = [line.get_color() for ax in axes[::2] for line in ax.get_lines()[::2]]  # one per variant (val, train)
    assert len(colours) == 3 and len(set(colours)) == 3
    assert [t.get_text() for t in axes[3].get_legend().get_texts()] == ["wide"]
    assert max(axes[1].get_lines()[0].get_ydata()[:2]) == 200.0  # accuracy in percent


def test_the_ladders_best_network_is_labelled_with_the_test_time_flips_it_is_evaluated_with():
    """A run scores every Adaptive BN case as it scores its test set, so a network trained for test-time flips is
    evaluated with them: the table must not say otherwise."""
    settings = deeper.SETTINGS["full"]
    labels = deeper.network_labels(settings, {"step": "longer training", "config": {"test_flips": True}})
    assert labels["ladder_best"] == "best ladder network (longer training row, with test-time flips)"
    assert deeper.network_labels(settings, {"step": "baseline", "config": {}})["ladder_best"] == "best ladder network (baseline row)"
    assert labels["3layer_bn"] == "3-layer BN network" and labels["7layer_wide_skip"] == "7-layer wide skip network (width 128)"
