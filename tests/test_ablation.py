"""The ablation ladder of chapter 05 (dd2424.study.beyond): ingredients applied cumulatively, the best row chosen on
validation, every ingredient judged by one paired rule (dropped only when its paired 95 % interval lies below zero),
and test-time flips evaluated on the networks of the row above."""

import math

import pytest

from dd2424.errors import ConfigError
from dd2424.study import beyond
from dd2424.study.beyond import (
    DROPPED_COLUMNS,
    TABLE_COLUMNS,
    Ingredient,
    best_row,
    default_ladder,
    describe_best,
    dropped_rows,
    kept_rows,
    precise_vs_running,
    run_ladder,
    table_rows,
    training_seconds,
    with_test_flips,
)
from dd2424.study.profiles import get_profile
from dd2424.study.tables import markdown_table
from dd2424.training import TrainConfig


def _fake_run(configs, label):
    """Validation accuracy rises with dropout and width; BN after ReLU lowers it on seeds 0 and 2 and raises it on
    seed 1 (a change within noise over three seeds, shown to hurt over seeds 0 and 2 alone); test is noise."""
    records = []
    for c in configs:
        after = (-0.02 + 0.03 * (c.seed == 1)) * (c.bn_position == "after")
        val = 0.5 + 0.05 * (c.dropout > 0) + 0.03 * (c.hidden[0] > 100) + after + 0.001 * c.seed
        records.append({"config": c.to_dict(), "seed": c.seed, "val_accuracy": val, "test_accuracy": val - 0.01,
                        "train_seconds": 1.0})  # fmt: skip
    return records


def test_ladder_is_cumulative_and_the_best_row_is_chosen_on_validation():
    ladder = [
        Ingredient("BN after ReLU", "", {"bn_position": "after"}),
        Ingredient("width", "", {"hidden": (256, 128)}),
        Ingredient("dropout", "", {"dropout": 0.2}),
        Ingredient("longer", "", {"n_s": lambda c: 2 * c.n_s}),
    ]
    rows = run_ladder(TrainConfig(), ladder, [0, 1, 2], _fake_run)
    assert [r.name for r in rows] == ["baseline", "BN after ReLU", "width", "dropout", "longer"]
    # every row has every ingredient above it, even one that lowered the mean validation accuracy within noise
    assert rows[1].kept and rows[1].gain.verdict == "within noise"
    assert rows[2].config.bn_position == "after" and rows[3].config.hidden == (256, 128)
    assert rows[-1].config.n_s == 2 * TrainConfig().n_s and rows[-1].config.dropout == 0.2
    assert all(len(r.records) == 3 for r in rows)
    best = best_row(rows)
    assert best.name == "dropout"  # "longer" ties with it: the earliest of equals
    table = table_rows(rows)
    assert [t["best"] for t in table] == ["", "", "", "yes", ""]
    assert table[0]["val_gain"] is None and table[1]["val_gain"] == pytest.approx(-0.01)
    assert table[1]["val_gain_low"] < 0 < table[1]["val_gain_high"] and table[1]["verdict"] == "within noise"
    assert abs(table[3]["val_mean"] - 0.571) < 1e-9 and table[3]["seeds"] == 3


def test_default_ladder_has_every_ingredient_of_the_issue():
    names = [i.name for i in default_ladder()]
    assert names == ["BN after ReLU", "PreciseBN", "width", "dropout", "augmentation", "test-time flips", "Adam",
                     "ZCA whitening", "ZCA epsilon", "label smoothing", "more dropout", "longer training"]
    assert [i.name for i in default_ladder() if i.trial] == ["ZCA epsilon", "label smoothing", "more dropout"]
    assert [i.name for i in default_ladder() if i.evaluation_only] == ["test-time flips"]
    flips = next(i for i in default_ladder() if i.evaluation_only)
    assert "networks of the row above" in flips.description  # the table's reader learns it trained nothing
    config = TrainConfig()
    epochs = {}
    for ingredient in default_ladder(wide_batch=250, longer=7):
        config = ingredient.apply(config)  # every change is a valid configuration
        epochs[ingredient.name] = config.total_steps * config.batch_size
    assert config.optimizer == "adam" and config.flip and config.batch_size == 250 and config.n_s == 7 * 900
    assert config.zca == 0.1 and config.label_smoothing == 0.1 and config.dropout == 0.2
    assert epochs["width"] == epochs["PreciseBN"] == TrainConfig().total_steps * 100  # same epochs, larger batches
    assert epochs["longer training"] == 7 * epochs["Adam"]


def test_best_configuration_is_described_with_every_setting_that_defines_it():
    config = TrainConfig()
    for ingredient in default_ladder(wide=(1024, 512), wide_batch=250, longer=7):
        config = ingredient.apply(config)
    text = describe_best(config.to_dict(), n_train=45000)
    for phrase in ("[1024, 512]", "BN after the ReLU", "lambda 0.0001", "dropout 0.2", "random horizontal flips",
                   "up to 3 pixels", "mirror", "Adam", "batches of 250", "2 cycles of 2 x 6300 steps (140 epochs)",
                   "PreciseBN on 10000 images", "ZCA-whitened with epsilon 0.1", "label smoothing 0.1"):  # fmt: skip
        assert phrase in text, phrase
    plain = describe_best(TrainConfig().to_dict(), n_train=45000)
    assert "mini-batch gradient descent" in plain and "(20 epochs)" in plain and "dropout" not in plain


def test_precise_bn_is_compared_with_the_running_averages_on_the_same_runs():
    def run(configs, label):
        records = []
        for c in configs:
            precise = {s: {"accuracy": 0.6 + 0.01 * c.seed} for s in ("train", "val", "test")}
            running = {s: {"accuracy": 0.5 + 0.01 * c.seed} for s in ("train", "val", "test")}
            records.append({"config": c.to_dict(), "seed": c.seed, "val_accuracy": 0.5, "test_accuracy": 0.5,
                            "train_seconds": 10.0 + c.seed, "final": precise,
                            "final_running_averages": running if c.precise_bn else None})  # fmt: skip
        return records

    rows = run_ladder(TrainConfig(), [Ingredient("PreciseBN", "", {"precise_bn": 100})], [0, 2], run)
    compared = precise_vs_running(rows)
    assert compared["precise"]["val"]["mean"] == 0.61 and compared["running"]["test"]["mean"] == 0.51
    assert compared["running"]["val"]["n"] == 2
    assert training_seconds(rows[1]) == {"mean": 11.0, "max": 12.0}


class _Counting:
    """A ``run`` that records the labels and seeds it was asked for, with validation accuracies by (label, seed)."""

    def __init__(self, val: dict[tuple[str, int], float], flips: float = 0.0) -> None:
        self.val, self.flips, self.calls = val, flips, []

    def __call__(self, configs, label):
        self.calls.append((label, [c.seed for c in configs]))
        records = []
        for c in configs:
            val = self.val.get((label, c.seed), self.val.get(("baseline", c.seed), 0.5))
            final = {s: {"accuracy": val, "loss": 1.0, "cost": 1.0} for s in ("train", "val", "test")}
            flipped = {s: {"accuracy": val + self.flips, "loss": 0.9, "cost": 0.9} for s in ("train", "val", "test")}
            records.append({"config": c.to_dict(), "seed": c.seed, "val_accuracy": val, "test_accuracy": val,
                            "train_accuracy": val, "train_seconds": 10.0, "wall_seconds": 12.0, "final": final,
                            "final_test_flips": flipped if c.flip and not c.test_flips else None,
                            "analysis": {"confusion": "plain", "first_layer": "units"},
                            "analysis_test_flips": {"confusion": "flipped"} if c.flip and not c.test_flips else None,
                            "history": {"step": [1], "val_accuracy": [val]}, "cached_as": f"{label}_s{c.seed}.json"})  # fmt: skip
        return records


SEEDS = [0, 1, 2]
BASE = {("baseline", 0): 0.50, ("baseline", 1): 0.52, ("baseline", 2): 0.54}  # mean 0.52


def test_an_ingredient_shown_to_hurt_runs_every_seed_and_is_dropped():
    run = _Counting({**BASE, ("trial", 0): 0.49, ("trial", 1): 0.511, ("trial", 2): 0.529})  # -0.01 +- 0.001
    rows = run_ladder(TrainConfig(), [Ingredient("trial", "a trial", {"dropout": 0.1}, trial=True)], SEEDS, run)
    assert run.calls == [("baseline", [0, 1, 2]), ("trial", [0, 1, 2])]
    trial = rows[1]
    assert not trial.kept and trial.gain.verdict == "lower" and trial.runs == 3 and trial.tried_on == "baseline"
    (dropped,) = dropped_rows(rows)
    assert dropped["seeds"] == 3 and dropped["run_seeds"] == [0, 1, 2] and dropped["runs"] == 3
    assert dropped["val_gain"] == pytest.approx(-0.01) and dropped["val_gain_high"] < 0
    assert beyond.timing({"rows": table_rows(rows), "dropped": [dropped]})["runs"] == 3 + 3


def test_an_ingredient_within_noise_stays_even_with_a_lower_mean():
    run = _Counting({**BASE, ("trial", 0): 0.49, ("trial", 1): 0.53, ("trial", 2): 0.52})  # -0.01, +0.01, -0.02
    rows = run_ladder(TrainConfig(), [Ingredient("trial", "", {"dropout": 0.1}, trial=True)], SEEDS, run)
    assert rows[1].kept and rows[1].gain.verdict == "within noise" and rows[1].gain.mean == pytest.approx(-0.02 / 3)
    assert dropped_rows(rows) == [] and table_rows(rows)[1]["runs"] == 3 and table_rows(rows)[1]["trial"]


def test_the_verdict_flips_with_the_numbers():
    """The same mean gain is within noise when the seeds disagree and real when they agree."""
    agree = _Counting({**BASE, ("x", 0): 0.51, ("x", 1): 0.531, ("x", 2): 0.549})
    disagree = _Counting({**BASE, ("x", 0): 0.53, ("x", 1): 0.50, ("x", 2): 0.56})
    (_, sure), (_, unsure) = (run_ladder(TrainConfig(), [Ingredient("x", "", {"dropout": 0.1})], SEEDS, r) for r in (agree, disagree))
    assert sure.gain.mean == pytest.approx(unsure.gain.mean) == pytest.approx(0.01)
    assert sure.gain.verdict == "higher" and unsure.gain.verdict == "within noise"
    assert "[+0." in markdown_table(table_rows([*run_ladder(TrainConfig(), [Ingredient("x", "", {"dropout": 0.1})], SEEDS, agree)]),
                                    TABLE_COLUMNS)  # fmt: skip


def test_an_ingredient_with_a_diverged_run_is_dropped_without_nan_in_its_table():
    run = _Counting({**BASE, ("trial", 0): float("nan")})
    rows = run_ladder(TrainConfig(), [Ingredient("trial", "", {"dropout": 0.1}, trial=True)], SEEDS, run)
    (dropped,) = dropped_rows(rows)
    assert not rows[1].kept and dropped["seeds"] == 2
    assert "nan" not in markdown_table([dropped], DROPPED_COLUMNS).lower()


def test_the_ladder_goes_on_from_the_row_a_dropped_trial_was_added_to():
    ladder = [
        Ingredient("width", "", {"hidden": (256, 128)}),
        Ingredient("BN after ReLU", "", {"bn_position": "after"}, trial=True),  # lowers val on seeds 0 and 2: dropped
        Ingredient("dropout", "", {"dropout": 0.2}, trial=True),  # raises val: kept
        Ingredient("longer", "", {"n_s": lambda c: 2 * c.n_s}),
    ]
    rows = run_ladder(TrainConfig(), ladder, [0, 2], _fake_run)
    assert [r.name for r in kept_rows(rows)] == ["baseline", "width", "dropout", "longer"]
    assert rows[3].config.bn_position == "before" and rows[4].config.dropout == 0.2  # built on the kept rows
    assert [t["ingredient"] for t in table_rows(rows)] == ["baseline", "width", "dropout", "longer"]
    (dropped,) = dropped_rows(rows)
    assert dropped["ingredient"] == "BN after ReLU" and dropped["tried_on"] == "width"
    assert abs(dropped["val_gain"] + 0.02) < 1e-12 and dropped["seeds"] == 2
    assert best_row(rows).name == "dropout"


def test_an_ingredient_run_with_one_seed_shows_1_seed_and_no_interval():
    run = _Counting({("baseline", 0): 0.5, ("trial", 0): 0.45})
    rows = run_ladder(TrainConfig(), [Ingredient("trial", "", {"dropout": 0.1}, trial=True)], [0], run)
    assert rows[1].kept and rows[1].gain.verdict == "undetermined"  # one seed shows nothing
    line = markdown_table(table_rows(rows), TABLE_COLUMNS).splitlines()[-1]
    assert "| 45.00 | 1 seed | -5.00 | - |" in line and "nan" not in line.lower()


def test_test_time_flips_are_evaluated_on_the_networks_of_the_row_above_without_training():
    ladder = [Ingredient("augmentation", "", {"flip": True}),
              Ingredient("test-time flips", "", {"test_flips": True}, evaluation_only=True),
              Ingredient("dropout", "", {"dropout": 0.1})]  # fmt: skip
    run = _Counting({**BASE, ("augmentation", 0): 0.6, ("augmentation", 1): 0.62, ("augmentation", 2): 0.64,
                     ("dropout", 0): 0.62, ("dropout", 1): 0.64, ("dropout", 2): 0.66}, flips=0.01)  # fmt: skip
    notes = []
    rows = run_ladder(TrainConfig(), ladder, SEEDS, run, note=notes.append)
    assert [label for label, _ in run.calls] == ["baseline", "augmentation", "dropout"]  # no run for the flips row
    source, flips = rows[1], rows[2]
    assert flips.evaluation_only and flips.runs == 0 and flips.config.test_flips and len(flips.records) == 3
    for derived, trained in zip(flips.records, source.records):
        assert derived["val_accuracy"] == trained["final_test_flips"]["val"]["accuracy"] == trained["val_accuracy"] + 0.01
        assert derived["final"] == trained["final_test_flips"] and derived["config"]["test_flips"]
        assert derived["history"] == trained["history"] and derived["train_seconds"] == trained["train_seconds"]
        assert derived["derived_from"] == trained["cached_as"] and "cached_as" not in derived
        assert derived["analysis"] == {"confusion": "flipped", "first_layer": "units"} and derived["wall_seconds"] == 0
    assert rows[3].config.test_flips and rows[3].config.dropout == 0.1  # the next row trains with flips in its config
    assert notes and "no training" in notes[0]
    table = table_rows(rows)
    assert [t["runs"] for t in table] == [3, 3, 0, 3] and table[2]["evaluation_only"]
    assert table[2]["val_gain"] == pytest.approx(0.01) and table[2]["train_seconds_per_seed"] == 10.0
    assert beyond.compute_seconds(rows) == 3 * 3 * 12.0  # the flips row adds no compute
    assert beyond.timing({"rows": table, "dropped": [], "compute_seconds": 1.0})["runs"] == 9


def test_an_evaluation_only_row_needs_runs_that_recorded_the_flips():
    """Below it, a row trained without flips (augmentation dropped): no flips row, said in a note; a record
    without the flips cannot be turned into one."""
    ladder = [Ingredient("test-time flips", "", {"test_flips": True}, evaluation_only=True)]  # no augmentation below
    notes = []
    rows = run_ladder(TrainConfig(), ladder, SEEDS, _Counting(BASE), note=notes.append)
    assert [r.name for r in rows] == ["baseline"] and "were trained without flips" in notes[0]
    with pytest.raises(ConfigError, match="final_test_flips"):
        with_test_flips(rows[0].records[0])
    with pytest.raises(ConfigError, match="evaluation-only"):
        Ingredient("flips and dropout", "", {"test_flips": True, "dropout": 0.1}, evaluation_only=True)
    with pytest.raises(ConfigError, match="evaluation-only"):
        Ingredient("flips", "", {"test_flips": True}, trial=True, evaluation_only=True)


def test_a_diverged_run_below_gives_a_diverged_evaluation_only_record():
    record = {"config": {"flip": True}, "seed": 0, "diverged": True, "final": {}, "val_accuracy": math.nan,
              "final_test_flips": None, "cached_as": "x.json", "wall_seconds": 3.0}  # fmt: skip
    derived = beyond.with_test_flips(record)
    assert derived["diverged"] and math.isnan(derived["val_accuracy"]) and derived["derived_from"] == "x.json"


def test_planned_runs_count_every_seed_of_every_trained_ingredient_and_none_for_evaluation_only_rows():
    trained = [i for i in default_ladder() if not i.evaluation_only]
    assert len(trained) == 11
    # at least: the leave-one-out (on in smoke, off in full) adds one run per ingredient the last row still has
    assert beyond.CHAPTER.runs(get_profile("full")) == (1 + 11) * 3
    assert beyond.CHAPTER.runs(get_profile("smoke")) == (1 + 11) * 2


def test_the_ladder_tables_render_one_seed_rows():
    rows = run_ladder(TrainConfig(), [Ingredient("width", "", {"hidden": (256, 128)})], [0], _Counting(BASE))
    table = markdown_table(table_rows(rows), TABLE_COLUMNS)
    assert "1 seed" in table and "nan" not in table.lower()
