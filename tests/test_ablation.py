"""The ablation ladder of chapter 05 (dd2424.study.beyond): ingredients applied cumulatively, the best row chosen on validation."""

from dd2424.study.beyond import (
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
)
from dd2424.training import TrainConfig


def _fake_run(configs, label):
    """Validation accuracy rises with dropout and width, falls with BN after ReLU; test is noise."""
    records = []
    for c in configs:
        val = 0.5 + 0.05 * (c.dropout > 0) + 0.03 * (c.hidden[0] > 100) - 0.02 * (c.bn_position == "after") + 0.001 * c.seed
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
    # every row has every ingredient above it, even one that lowered validation accuracy
    assert rows[2].config.bn_position == "after" and rows[3].config.hidden == (256, 128)
    assert rows[-1].config.n_s == 2 * TrainConfig().n_s and rows[-1].config.dropout == 0.2
    assert all(len(r.records) == 3 for r in rows)
    best = best_row(rows)
    assert best.name == "dropout"  # "longer" ties with it: the earliest of equals
    table = table_rows(rows)
    assert [t["best"] for t in table] == ["", "", "", "yes", ""]
    assert table[0]["val_gain"] is None and abs(table[1]["val_gain"] + 0.02) < 1e-12
    assert abs(table[3]["val_mean"] - 0.561) < 1e-9 and table[3]["seeds"] == 3


def test_default_ladder_has_every_ingredient_of_the_issue():
    names = [i.name for i in default_ladder()]
    assert names == ["BN after ReLU", "PreciseBN", "width", "dropout", "augmentation", "test-time flips", "Adam",
                     "ZCA whitening", "ZCA epsilon", "label smoothing", "more dropout", "longer training"]
    assert [i.name for i in default_ladder() if i.trial] == ["ZCA epsilon", "label smoothing", "more dropout"]
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


def test_a_trial_is_kept_only_if_it_raises_validation_accuracy_and_the_ladder_goes_on_without_it():
    ladder = [
        Ingredient("width", "", {"hidden": (256, 128)}),
        Ingredient("BN after ReLU", "", {"bn_position": "after"}, trial=True),  # lowers val: dropped
        Ingredient("dropout", "", {"dropout": 0.2}, trial=True),  # raises val: kept
        Ingredient("longer", "", {"n_s": lambda c: 2 * c.n_s}),
    ]
    rows = run_ladder(TrainConfig(), ladder, [0, 1], _fake_run)
    assert [r.name for r in kept_rows(rows)] == ["baseline", "width", "dropout", "longer"]
    assert rows[3].config.bn_position == "before" and rows[4].config.dropout == 0.2  # built on the kept rows
    assert [t["ingredient"] for t in table_rows(rows)] == ["baseline", "width", "dropout", "longer"]
    (dropped,) = dropped_rows(rows)
    assert dropped["ingredient"] == "BN after ReLU" and dropped["tried_on"] == "width"
    assert abs(dropped["val_gain"] + 0.02) < 1e-12 and dropped["seeds"] == 2
    assert best_row(rows).name == "dropout"
