"""Augmentation (flips, translations) and the optimisers."""

import numpy as np
import pytest

from dd2424.augment import as_images, augment_batch, random_flip, random_translate
from dd2424.errors import ConfigError
from dd2424.optimizers import SGD, Adam, make_optimizer


def _images(n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3072)).astype(np.float32)


def test_flip_mirrors_exactly_the_chosen_images():
    X = _images(200)
    out = random_flip(X, np.random.default_rng(1))
    img, res = as_images(X), as_images(out)
    flipped = np.array([np.array_equal(res[i], img[i, :, :, ::-1]) for i in range(200)])
    kept = np.array([np.array_equal(res[i], img[i]) for i in range(200)])
    assert np.all(flipped ^ kept) and 60 < flipped.sum() < 140
    assert np.array_equal(X, _images(200))  # input untouched


def test_translation_shifts_with_zero_fill():
    X = _images(50)
    out = as_images(random_translate(X, np.random.default_rng(2), 3))
    img = as_images(X)
    for i in range(50):
        matches = [
            (dy, dx)
            for dy in range(-3, 4)
            for dx in range(-3, 4)
            if np.array_equal(out[i], _shift(img[i], dy, dx))
        ]
        assert len(matches) == 1
    assert np.array_equal(random_translate(X, np.random.default_rng(2), 3), random_translate(X, np.random.default_rng(2), 3))


def _shift(image, dy, dx):
    shifted = np.zeros_like(image)
    src = image[:, max(0, -dy) : 32 - max(0, dy), max(0, -dx) : 32 - max(0, dx)]
    shifted[:, max(0, dy) : max(0, dy) + src.shape[1], max(0, dx) : max(0, dx) + src.shape[2]] = src
    return shifted


def test_augment_rejects_non_image_rows_and_bad_shifts():
    with pytest.raises(ConfigError, match="3072"):
        augment_batch(np.zeros((2, 100)), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="max_shift"):
        random_translate(_images(), np.random.default_rng(0), 40)


def test_sgd_step():
    params = {"W": np.array([1.0, 2.0])}
    SGD().step(params, {"W": np.array([0.5, -1.0])}, 0.1)
    assert np.allclose(params["W"], [0.95, 2.1])


def test_adam_matches_the_textbook_update():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    params = {"w": theta.copy()}
    opt = Adam()
    m = v = np.zeros(5)
    for t in range(1, 6):
        g = rng.standard_normal(5)
        opt.step(params, {"w": g}, 0.01)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        theta = theta - 0.01 * m_hat / (np.sqrt(v_hat))  # eps enters as in the paper's efficient form: negligible here
        assert np.allclose(params["w"], theta, rtol=1e-6, atol=1e-9)


def test_adam_minimises_a_quadratic_and_rejects_bad_settings():
    params = {"x": np.array([5.0, -3.0])}
    opt = make_optimizer("adam")
    for _ in range(2000):
        opt.step(params, {"x": 2 * params["x"]}, 0.05)
    assert np.allclose(params["x"], 0, atol=1e-2)
    with pytest.raises(ConfigError):
        Adam(beta1=1.0)
    with pytest.raises(ConfigError, match="optimiser"):
        make_optimizer("rmsprop")


@pytest.mark.parametrize("make", [SGD, Adam])
def test_decay_in_the_update_equals_the_network_adding_the_l2_gradient(make):
    """``decay`` adds ``c theta`` to the gradient inside the update, block by block: bitwise what
    adding it first gives, for parameters larger than a block."""
    rng = np.random.default_rng(5)
    params = {"W": rng.standard_normal((300, 700)).astype(np.float32), "b": rng.standard_normal(700).astype(np.float32)}
    grads = [{k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()} for _ in range(3)]
    finals = []
    for fold in (False, True):
        p, opt = {k: v.copy() for k, v in params.items()}, make()
        for g in grads:
            g = {k: v.copy() for k, v in g.items()}
            if not fold:
                g["W"] += 0.02 * p["W"]
            opt.step(p, g, 0.01, {"W": 0.02} if fold else None)
        finals.append(p)
    assert all(np.array_equal(finals[0][k], finals[1][k]) for k in params)
    assert not np.array_equal(finals[0]["W"], params["W"])


def test_an_optimiser_needs_contiguous_parameters():
    with pytest.raises(ConfigError, match="C-contiguous"):
        Adam().step({"W": np.zeros((4, 4)).T[:, :3]}, {"W": np.zeros((4, 3))}, 0.1)
