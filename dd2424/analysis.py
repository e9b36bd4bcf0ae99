"""What a trained classifier gets right and wrong, stored in its run record so that its pictures
can be redrawn from the record alone, without keeping the weights.

- ``confusion``: test-set counts, rows the true class and columns the predicted one.
- ``mistakes``: the test images predicted wrongly with the highest probability: their index in
  the test split, true and predicted class and both probabilities.
- ``first_layer``: the first layer's most influential units and their weight vectors as 32x32
  colour images. A unit's influence is the spread (standard deviation over validation images)
  of what it passes to the next layer times the norm of its outgoing weights, so a unit that is
  switched off by BN, dead after the ReLU or ignored by the next layer ranks low. The images
  are 8-bit, each scaled to its own range (as they are drawn), base64-encoded.

Probabilities are the ones the final metrics use (:func:`dd2424.training.log_proba`, with
test-time flips when the run uses them). A run that also records ``final_test_flips`` records
``analysis_test_flips`` beside: the confusion counts and mistakes with test-time flips.
"""

from __future__ import annotations

import base64

import numpy as np

from .network import KLayerNet
from .training import DataLike, TrainConfig, log_proba

N_MISTAKES = 24
N_UNITS = 16
INFLUENCE_SAMPLES = 2000
SIDE, CHANNELS = 32, 3


def analyse(net: KLayerNet, data: DataLike, config: TrainConfig) -> dict:
    """The confusion counts, worst mistakes and most influential first-layer units of ``net``."""
    return {**prediction_analysis(net, data, config.test_flips),
            "first_layer": first_layer_units(net, data.val.X[:INFLUENCE_SAMPLES], N_UNITS)}  # fmt: skip


def prediction_analysis(net: KLayerNet, data: DataLike, test_flips: bool) -> dict:
    """The part of the analysis that depends on test-time flips: test confusion counts and worst mistakes."""
    log_p = log_proba(net, data.test.X, test_flips)
    y = np.asarray(data.test.y)
    return {"confusion": confusion_counts(y, log_p.argmax(axis=1), log_p.shape[1]),
            "mistakes": worst_mistakes(log_p, y, N_MISTAKES)}  # fmt: skip


def confusion_counts(y: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[list[int]]:
    """``counts[true][predicted]``."""
    flat = np.bincount(np.asarray(y) * n_classes + np.asarray(predicted), minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).tolist()


def worst_mistakes(log_p: np.ndarray, y: np.ndarray, n: int) -> list[dict]:
    """The ``n`` wrong predictions made with the highest probability, most confident first."""
    predicted = log_p.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    p_predicted = np.exp(log_p[wrong, predicted[wrong]])
    worst = wrong[np.argsort(-p_predicted, kind="stable")[:n]]
    return [
        {"index": int(i), "true": int(y[i]), "predicted": int(predicted[i]),
         "p_predicted": float(np.exp(log_p[i, predicted[i]])), "p_true": float(np.exp(log_p[i, y[i]]))}
        for i in worst
    ]  # fmt: skip


def unit_influence(net: KLayerNet, X: np.ndarray) -> np.ndarray:
    """Per first-layer unit: std over ``X`` of its output times the norm of its outgoing weights."""
    h = net.first_hidden_output(X).astype(np.float64)
    return h.std(axis=0) * np.linalg.norm(net.params["W2"].astype(np.float64), axis=1)


def first_layer_units(net: KLayerNet, X: np.ndarray, n: int) -> dict:
    """The ``n`` most influential first-layer units (all output units for a linear classifier)."""
    W1 = net.params["W1"]
    if W1.shape[0] != CHANNELS * SIDE * SIDE:
        return {"units": [], "influence": [], "images": "", "shape": [0, SIDE, SIDE, CHANNELS]}
    if net.k == 1:
        units, influence = np.arange(W1.shape[1]), np.full(W1.shape[1], np.nan)
    else:
        influence = unit_influence(net, X)
        units = np.argsort(-influence, kind="stable")[:n]
    images = unit_images(W1[:, units].T)
    return {
        "units": units.tolist(),
        "influence": [float(v) for v in influence[units]],
        "images": base64.b64encode(images.tobytes()).decode("ascii"),
        "shape": list(images.shape),
    }


def unit_images(weights: np.ndarray) -> np.ndarray:
    """``(n, 3072)`` weight vectors as ``(n, 32, 32, 3)`` uint8 images, each scaled to its own range."""
    w = weights.astype(np.float64).reshape(-1, CHANNELS, SIDE, SIDE).transpose(0, 2, 3, 1)
    low = w.min(axis=(1, 2, 3), keepdims=True)
    span = np.maximum(w.max(axis=(1, 2, 3), keepdims=True) - low, np.finfo(float).tiny)
    return np.round(255 * (w - low) / span).astype(np.uint8)


def decode_images(first_layer: dict) -> np.ndarray:
    """The ``(n, 32, 32, 3)`` uint8 images stored by :func:`first_layer_units`."""
    raw = base64.b64decode(first_layer["images"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(first_layer["shape"])
