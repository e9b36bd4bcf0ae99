"""Paired comparisons over shared seeds (dd2424.study.paired): Student-t quantiles, intervals and verdicts."""

import math

import numpy as np
import pytest

from dd2424.study.paired import (
    by_seed,
    difference_of,
    paired_difference,
    regularized_beta,
    student_t_cdf,
    student_t_quantile,
)


@pytest.mark.parametrize("df, quantile", [(1, 12.7062047), (2, 4.3026527), (4, 2.7764451), (9, 2.2621572), (29, 2.0452296)])
def test_t_quantiles_match_the_published_table(df, quantile):
    assert student_t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-6)
    assert student_t_quantile(0.025, df) == pytest.approx(-quantile, abs=1e-6)


def test_t_cdf_tends_to_the_normal_and_is_symmetric():
    assert student_t_cdf(1.959964, 10**6) == pytest.approx(0.975, abs=1e-5)
    assert student_t_cdf(0.0, 3) == pytest.approx(0.5)
    assert student_t_cdf(-1.3, 5) == pytest.approx(1 - student_t_cdf(1.3, 5))


def test_regularized_beta_against_closed_forms():
    for x in (0.1, 0.37, 0.8):
        assert regularized_beta(x, 1, 1) == pytest.approx(x)  # uniform
        assert regularized_beta(x, 2, 1) == pytest.approx(x**2)
        assert regularized_beta(x, 1, 3) == pytest.approx(1 - (1 - x) ** 3)


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(4000):
        d = difference_of(list(rng.normal(0.3, 1.0, size=5)))
        covered += d.low <= 0.3 <= d.high
    assert 0.94 < covered / 4000 < 0.96


def test_pairs_by_seed_and_leaves_out_missing_or_non_finite_values():
    a = {0: 0.52, 1: 0.55, 2: math.nan, 3: 0.60}
    b = {0: 0.50, 1: 0.52, 2: 0.51}
    d = paired_difference(a, b)
    assert d.n == 2 and d.mean == pytest.approx(0.025)
    assert by_seed([{"seed": 4, "val_accuracy": 0.5}, {"seed": 7}]) == {4: 0.5, 7: None}


def test_verdicts_follow_the_interval():
    assert difference_of([0.010, 0.011, 0.012]).verdict == "higher"
    assert difference_of([-0.010, -0.011, -0.012]).verdict == "lower"
    assert difference_of([0.02, -0.01, 0.0]).verdict == "within noise"
    one = difference_of([0.05])
    assert one.verdict == "undetermined" and one.to_dict()["low"] is None and one.n == 1
    assert difference_of([]).n == 0 and difference_of([]).verdict == "undetermined"
