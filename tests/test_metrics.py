"""Mode coverage, high-quality samples and W1 to the data, on samples whose answer is known."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinywgan.engine.backend import Generator, to_device, to_numpy
from tinywgan.data import eight_gaussians, toy_dataset, twenty_five_gaussians
from tinywgan.lab.metrics import ModeCoverage, mode_coverage, w1_to_data


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_the_data_itself_covers_every_mode_and_is_high_quality(name):
    data = toy_dataset(name)
    x = data.sample(20_000, Generator(0))
    result = mode_coverage(x, data.centres, data.std)
    assert isinstance(result, ModeCoverage)
    assert result.modes == result.n_modes == len(data.centres)
    # ||x - c|| / std of a 2D isotropic Gaussian is Rayleigh: P(<= 3) = 1 - exp(-9/2) = 0.9889
    assert result.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert mode_coverage(x, data.centres, data.std, k=3.5).high_quality >= 0.99


def test_samples_all_at_one_centre_cover_one_mode():
    data = eight_gaussians()
    x = np.repeat(data.centres[2:3], 100, axis=0) + 0.5 * data.std
    assert mode_coverage(x, data.centres, data.std) == (1, 8, 1.0)


def test_half_the_modes_and_far_away_samples():
    data = twenty_five_gaussians()
    x = to_numpy(data.sample(5000, Generator(0)))
    d = np.linalg.norm(x[:, None] - data.centres[None], axis=2).argmin(1)
    left = x[d < 10]  # the two left columns of the grid
    assert mode_coverage(left, data.centres, data.std).modes == 10
    far = np.full((30, 2), 10.0)
    at_centres = np.tile(data.centres[:10], (7, 1))
    assert mode_coverage(np.concatenate([at_centres, far]), data.centres, data.std) == (10, 25, 0.7)
    assert mode_coverage(far, data.centres, data.std) == (0, 25, 0.0)
    assert mode_coverage(np.zeros((0, 2)), data.centres, data.std) == (0, 25, 0.0)


def test_any_backend_is_accepted(device):
    data = eight_gaussians()
    x = data.sample(2000, Generator(0, device))
    centres = to_device(data.centres, device)
    assert mode_coverage(x, centres, data.std).modes == 8
    assert w1_to_data(x[:200, :], x[:200, :]) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("samples, centres, message", [
    (np.zeros(5), np.zeros((8, 2)), r"samples must be a 2D array of shape \(n, d\); got shape \(5,\)"),
    (np.zeros((5, 2)), np.zeros((8, 2, 1)),
     r"centres must be a 2D array of shape \(n, d\); got shape \(8, 2, 1\)"),
    (np.zeros((5, 3)), np.zeros((8, 2)),
     r"samples has shape \(5, 3\) and centres \(8, 2\); expected the same number of features"),
])
def test_mode_coverage_bad_shapes_name_the_argument(samples, centres, message):
    with pytest.raises(ValueError, match=message):
        mode_coverage(samples, centres, 0.1)


def test_mode_coverage_bad_std_and_missing_centres():
    with pytest.raises(ValueError, match="std must be > 0; got 0"):
        mode_coverage(np.zeros((5, 2)), np.zeros((8, 2)), 0)
    with pytest.raises(ValueError, match="centres is None"):
        mode_coverage(np.zeros((5, 2)), toy_dataset("swissroll").centres, 0.1)


def test_w1_of_the_data_with_itself_is_zero_and_a_shift_costs_its_length():
    x = to_numpy(twenty_five_gaussians().sample(300, Generator(0))).astype(np.float64)
    assert w1_to_data(x, x) == pytest.approx(0, abs=1e-12)
    assert w1_to_data(x[::-1], x) == pytest.approx(0, abs=1e-12)
    # every coupling of x + v and x costs at least ||E[x + v] - E[x]|| = ||v||, and the identity does that
    v = np.array([0.3, -0.4])
    assert w1_to_data(x + v, x) == pytest.approx(0.5, rel=1e-9)


def test_w1_with_unequal_sizes_subsamples_the_larger_deterministically():
    data = eight_gaussians()
    x = data.sample(100, Generator(0))
    y = data.sample(400, Generator(1))
    w = w1_to_data(x, y)
    assert w == w1_to_data(x, y)
    assert w1_to_data(y, x) == pytest.approx(w, rel=1e-12)
    assert 0 < w < 0.5
    assert w1_to_data(x, y, seed=1) != w


def test_w1_bad_shapes_name_the_argument():
    with pytest.raises(ValueError, match=r"data must be a 2D array of shape \(n, d\); got shape \(4,\)"):
        w1_to_data(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"samples has shape \(4, 2\) and data \(4, 3\)"):
        w1_to_data(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="at least one point"):
        w1_to_data(np.zeros((0, 2)), np.zeros((4, 2)))
