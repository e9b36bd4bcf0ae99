"""The per-run analysis behind the confusion matrix, the worst mistakes and the first-layer pictures."""

import numpy as np

from dd2424 import analysis
from dd2424.network import KLayerNet


def test_confusion_counts_rows_are_true_classes():
    counts = analysis.confusion_counts(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert counts == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_worst_mistakes_are_the_most_confident_wrong_ones():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    y = np.array([1, 1, 0, 0])  # rows 0, 2, 3 are wrong, with confidence 0.9, 0.6, 0.7
    worst = analysis.worst_mistakes(np.log(p), y, 2)
    assert [m["index"] for m in worst] == [0, 3]
    assert worst[0]["predicted"] == 0 and worst[0]["true"] == 1
    assert np.isclose(worst[0]["p_predicted"], 0.9) and np.isclose(worst[0]["p_true"], 0.1)


def test_unit_images_round_trip_and_span_full_range():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3072, 20)).astype(np.float32)
    images = analysis.unit_images(W.T)
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    assert (images.reshape(20, -1).min(axis=1) == 0).all() and (images.reshape(20, -1).max(axis=1) == 255).all()
    # channel c of pixel (r, q) is weight c*1024 + r*32 + q (the CIFAR-10 layout of R, G, B planes)
    j = 3
    w = W[:, j]
    expected = np.round(255 * (w - w.min()) / (w.max() - w.min())).reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.array_equal(images[j], expected.astype(np.uint8))


def test_first_layer_units_rank_by_influence_and_decode():
    rng = np.random.default_rng(1)
    net = KLayerNet([3072, 12, 10], batch_norm=False, seed=0)
    net.params["W2"][5] *= 100  # unit 5 now dominates what the output sees
    X = rng.standard_normal((200, 3072)).astype(np.float32)
    entry = analysis.first_layer_units(net, X, 4)
    assert entry["units"][0] == 5 and len(entry["units"]) == 4
    assert entry["influence"] == sorted(entry["influence"], reverse=True)
    images = analysis.decode_images(entry)
    assert np.array_equal(images, analysis.unit_images(net.params["W1"][:, entry["units"]].T))
