import numpy as np
import pytest

from dd2424.errors import ConfigError
from dd2424.schedule import check_cyclical, cyclical_eta


@pytest.mark.parametrize(
    "t, expected",
    [(0, 1e-5), (2250, 1e-1), (4500, 1e-5), (6750, 1e-1), (9000, 1e-5), (1125, (1e-5 + 1e-1) / 2), (3375, (1e-5 + 1e-1) / 2)],
)
def test_turning_points_and_midpoints(t, expected):
    assert cyclical_eta(t, 1e-5, 1e-1, 2250) == pytest.approx(expected, rel=1e-12)


def test_array_form_matches_scalar_form_and_is_triangular():
    t = np.arange(0, 9001)
    eta = cyclical_eta(t, 1e-5, 1e-1, 2250)
    assert np.allclose(eta, [cyclical_eta(int(i), 1e-5, 1e-1, 2250) for i in t])
    steps = np.diff(eta)
    assert np.allclose(np.abs(steps), (1e-1 - 1e-5) / 2250)


@pytest.mark.parametrize("eta_min, eta_max, n_s", [(0, 1e-1, 10), (1e-1, 1e-2, 10), (1e-5, 1e-1, 0), (1e-5, float("inf"), 5)])
def test_impossible_schedules_are_rejected(eta_min, eta_max, n_s):
    with pytest.raises(ConfigError):
        check_cyclical(eta_min, eta_max, n_s)
