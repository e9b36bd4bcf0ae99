"""Chapter 06 (what the classifier learned): its numbers from the confusion counts and first-layer pictures,
and how it finds the runs of chapters 02 and 05 in an output folder (no training, no data needed)."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424 import analysis
from dd2424.errors import ConfigError
from dd2424.study import pictures
from dd2424.study.paths import Paths

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _confusion(seed=0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 5, (10, 10))
    np.fill_diagonal(counts, 50 + 3 * np.arange(10))  # truck best (77 correct), airplane worst (50)
    counts[3, 5] = 30  # cats taken for dogs
    counts[9, 1] = 20  # trucks taken for automobiles
    return counts


def test_class_accuracy_confused_pairs_and_extreme_classes():
    counts = _confusion()
    acc = pictures.class_accuracy(counts)
    assert acc[3] == pytest.approx(counts[3, 3] / counts[3].sum())
    assert pictures.class_accuracy([[0, 0], [1, 1]]) == [None, 0.5]  # a class without test images
    pairs = pictures.confused_pairs(counts, CLASSES, n=2)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [("cat", "dog", 30), ("truck", "automobile", 20)]
    assert pairs[0]["fraction"] == pytest.approx(30 / counts[3].sum())
    extremes = pictures.extreme_classes(acc, CLASSES, n=2)
    best_order = [CLASSES[i] for i in np.argsort(-np.array(acc), kind="stable")[:2]]
    assert [r["class"] for r in extremes["best"]] == best_order
    assert extremes["worst"][0]["accuracy"] == min(acc) and extremes["worst"][0]["class"] == CLASSES[int(np.argmin(acc))]


def _blob(colour):
    """A smooth Gaussian blob, weighted per channel by ``colour``, as a uint8 picture like the stored ones."""
    r = np.arange(32) - 15.5
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 6.0**2))
    w = g[:, :, None] * np.asarray(colour, dtype=float)[None, None, :]
    return analysis.unit_images(w.transpose(2, 0, 1).reshape(1, -1))[0]


def test_first_layer_descriptors_tell_brightness_colour_coarse_and_noise_apart():
    grey, red_green = _blob([1, 1, 1]), _blob([1, -1, 0])
    noise = np.random.default_rng(0).integers(0, 256, (200, 32, 32, 3), dtype=np.uint8)
    d = pictures.first_layer_descriptors(np.stack([grey, red_green]), units=[7, 3], influence=[2.0, 1.0])
    grey_d, rg_d = d["units"]
    assert grey_d["unit"] == 7 and grey_d["influence"] == 2.0
    assert grey_d["brightness_share"] > 0.99 and grey_d["low_frequency_share"] > 0.95 and grey_d["mean_cycles"] < 3
    assert rg_d["colour_share"] > 0.99 and rg_d["low_frequency_share"] > 0.95
    assert d["brightness_units"] == 1 and d["low_frequency_units"] == 2 and d["n_units"] == 2
    n = pictures.first_layer_descriptors(noise)
    ref = pictures.noise_reference()
    assert n["colour_share"] == pytest.approx(ref["colour_share"], abs=0.01)
    assert n["low_frequency_share"] == pytest.approx(ref["low_frequency_share"], abs=0.01)
    assert n["mean_cycles"] == pytest.approx(ref["mean_cycles"], abs=0.3)
    assert n["brightness_units"] == 0 and n["low_frequency_units"] == 0
    text = pictures.describe_first_layer(d, "test network")
    assert "1 are mostly brightness" in text and "2 mostly coarse" in text and "white noise" in text
    empty = pictures.first_layer_descriptors(np.zeros((0, 32, 32, 3), np.uint8))
    assert empty["n_units"] == 0 and "no unit" in pictures.describe_first_layer(empty, "linear classifier")


# --------------------------------------------------------------------------- finding the runs in a folder


def _record(name, seed, batch_norm=True, with_analysis=True):
    units = np.stack([_blob([1, 1, 1])] * 4)
    record = {"config": {"hidden": [50, 50], "batch_norm": batch_norm, "seed": seed}, "seed": seed,
              "test_accuracy": 0.5, "cached_as": name}  # fmt: skip
    if with_analysis:
        mistakes = [{"index": i, "true": i % 10, "predicted": (i + 1) % 10, "p_predicted": 0.9 - i / 100,
                     "p_true": 0.01} for i in range(12)]  # fmt: skip
        record["analysis"] = {
            "confusion": _confusion(seed).tolist(), "mistakes": mistakes,
            "first_layer": {"units": [4, 2, 0, 1], "influence": [4.0, 3.0, 2.0, 1.0], "shape": list(units.shape),
                            "images": base64.b64encode(units.tobytes()).decode()},
        }  # fmt: skip
    return record


def _folder(tmp_path, profile="smoke", with_analysis=True):
    paths = Paths(tmp_path)
    paths.runs.mkdir(parents=True)
    paths.summary_parts.mkdir(parents=True)
    head = {"profile": profile, "data": {"sha256": "f" * 64}}
    best = {"step": "width", "seeds": [0, 1], "run_files": ["best_s0.json", "best_s1.json"]}
    bn = {"seeds": [0, 1], "run_files": ["bn_s0.json", "bn_s1.json"]}
    (paths.summary_parts / "05_beyond.json").write_text(json.dumps({**head, "beyond": {"best": best}}))
    (paths.summary_parts / "02_training_curves-3layer.json").write_text(json.dumps({**head, "training": {"3layer_bn": bn}}))
    for name, seed in (("best_s0.json", 0), ("best_s1.json", 1), ("bn_s0.json", 0), ("bn_s1.json", 1)):
        (paths.runs / name).write_text(json.dumps(_record(name, seed, with_analysis=with_analysis)))
    return SimpleNamespace(paths=paths, profile=SimpleNamespace(name="smoke"), data_info={"sha256": "f" * 64},
                           name=lambda base: base)  # fmt: skip


def test_the_first_seed_of_the_best_ladder_row_and_of_the_3layer_bn_network_are_drawn(tmp_path):
    ctx = _folder(tmp_path)
    networks = pictures.load_networks(ctx)
    assert [(n.key, n.seed, n.run_file) for n in networks] == [("best", 0, "best_s0.json"), ("3layer_bn", 0, "bn_s0.json")]
    assert networks[0].label == "best ladder network" and networks[1].label == "3-layer [50, 50] with BN"
    described = {n.key: pictures.describe_network(n, CLASSES) for n in networks}
    best = described["best"]
    assert best["seed"] == 0 and best["seeds_available"] == [0, 1] and best["test_accuracy"] == 0.5
    assert [r["class"] for r in best["class_accuracy"]] == CLASSES
    assert best["confused_pairs"][0]["true"] == "cat" and best["first_layer"]["n_units"] == 4
    rows, columns = pictures.class_table(described)
    assert len(rows) == 11 and rows[-1]["class"] == "all classes" and [c.key for c in columns] == ["class", "best", "3layer_bn"]
    part = pictures.summary_part(ctx, described, CLASSES, 8)["pictures"]
    assert part["order"] == ["best", "3layer_bn"] and part["table"] == "class_accuracy"
    assert part["figures"] == {"first_layer": "first_layer_weights", "confusion": "confusion_matrix", "mistakes": "mistakes"}
    json.dumps(part)  # JSON-ready as it is
    assert [len(images) for _, images in pictures.first_layer_panels(networks)] == [4, 4]
    assert pictures.confusion_panels(networks)[0][0] == "best ladder network, seed 0"


def test_mistakes_are_drawn_from_the_test_images_and_checked_against_their_labels(tmp_path):
    networks = pictures.load_networks(_folder(tmp_path))
    rng = np.random.default_rng(0)
    test = SimpleNamespace(X=rng.standard_normal((20, 3072)), y=np.arange(20) % 10)
    data = SimpleNamespace(test=test, mean=np.full(3072, 120.0), std=np.full(3072, 60.0))
    panels = pictures.mistake_panels(networks, data, 8)
    assert [(len(images), len(m)) for _, images, m in panels] == [(8, 8), (8, 8)]
    assert panels[0][1].shape == (8, 32, 32, 3) and panels[0][1].dtype == np.uint8
    data.test.y = (np.arange(20) + 1) % 10  # other labels: the runs were evaluated on other images
    with pytest.raises(ConfigError, match="do not match"):
        pictures.mistake_panels(networks, data, 8)


def test_records_without_analysis_or_missing_parts_ask_to_rerun_the_earlier_chapters(tmp_path):
    ctx = _folder(tmp_path / "old", with_analysis=False)
    with pytest.raises(ConfigError, match="older code.*rerun the earlier chapters"):
        pictures.load_networks(ctx)
    ctx = _folder(tmp_path / "missing")
    (ctx.paths.summary_parts / "05_beyond.json").unlink()
    with pytest.raises(ConfigError, match="05_beyond.json is missing.*05_beyond"):
        pictures.load_networks(ctx)
    ctx = _folder(tmp_path / "other", profile="full")
    with pytest.raises(ConfigError, match="profile 'full'"):
        pictures.load_networks(ctx)


def test_a_best_test_time_flips_row_is_drawn_from_the_run_it_evaluates_with_the_flips(tmp_path):
    ctx = _folder(tmp_path)
    record = json.loads((ctx.paths.runs / "best_s0.json").read_text())
    flipped = _confusion(7).tolist()
    record["config"]["flip"] = True
    record.update(final_test_flips={s: {"accuracy": 0.6} for s in ("train", "val", "test")}, final={},
                  analysis_test_flips={"confusion": flipped, "mistakes": record["analysis"]["mistakes"][:3]})  # fmt: skip
    (ctx.paths.runs / "best_s0.json").write_text(json.dumps(record))
    best = {"step": "test-time flips", "seeds": [0, 1], "run_files": ["best_s0.json", "best_s1.json"],
            "config": {"hidden": [50, 50], "flip": True, "test_flips": True}}  # fmt: skip
    part = {"profile": "smoke", "data": {"sha256": "f" * 64}, "beyond": {"best": best}}
    (ctx.paths.summary_parts / "05_beyond.json").write_text(json.dumps(part))
    network = pictures.load_networks(ctx)[0]
    assert network.record["test_accuracy"] == 0.6 and network.analysis["confusion"] == flipped
    assert len(network.analysis["mistakes"]) == 3 and network.analysis["first_layer"]["units"] == [4, 2, 0, 1]
    assert network.run_file == "best_s0.json" and network.record["derived_from"] == "best_s0.json"
