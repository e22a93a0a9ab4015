"""The toy samplers: shapes, devices, seeds, and the statistics their docstrings promise."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinywgan.engine.backend import Generator, device_of, to_numpy
from tinywgan.data import (ToyData, eight_gaussians, swiss_roll, toy_dataset, twenty_five_gaussians,
                           two_gaussians_1d)

NAMES = ["8gaussians", "25gaussians", "swissroll"]


@pytest.mark.parametrize("name", NAMES)
def test_samples_are_float32_n_by_2_on_the_generators_device(name, device):
    data = toy_dataset(name)
    x = data.sample(50, Generator(0, device))
    assert isinstance(data, ToyData) and data.name == name
    assert x.shape == (50, 2)
    assert device_of(x) == device
    assert to_numpy(x).dtype == np.float32
    assert data.sample(0, Generator(0, device)).shape == (0, 2)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_samples_and_cpu_equals_strict(name):
    data = toy_dataset(name)
    a = to_numpy(data.sample(100, Generator(3, "cpu")))
    b = to_numpy(data.sample(100, Generator(3, "cpu")))
    s = to_numpy(data.sample(100, Generator(3, "strict")))
    c = to_numpy(data.sample(100, Generator(4, "cpu")))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, s)
    assert not np.array_equal(a, c)


def test_eight_gaussians_centres_and_std():
    data = eight_gaussians()
    assert data.centres.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(data.centres, axis=1), 2 / 1.414, rtol=1e-6)
    angles = np.sort(np.mod(np.arctan2(data.centres[:, 1], data.centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, np.arange(8) * np.pi / 4, atol=1e-6)
    assert data.std == pytest.approx(0.02 / 1.414)


def test_twenty_five_gaussians_centres_and_std():
    data = twenty_five_gaussians()
    assert data.centres.shape == (25, 2)
    coords = np.unique(np.round(data.centres[:, 0], 6))
    np.testing.assert_allclose(coords, np.arange(-2, 3) * 2 / 2.828, atol=1e-6)
    assert len({tuple(c) for c in np.round(data.centres, 6)}) == 25
    assert data.std == pytest.approx(0.05 / 2.828)


@pytest.mark.parametrize("make", [eight_gaussians, twenty_five_gaussians])
def test_mixture_samples_sit_at_their_centres_with_the_stated_std(make):
    data = make()
    x = to_numpy(data.sample(20_000, Generator(0))).astype(np.float64)
    d = np.linalg.norm(x[:, None, :] - data.centres[None], axis=2)
    nearest = d.argmin(1)
    residual = x - data.centres[nearest]
    np.testing.assert_allclose(residual.std(0), data.std, rtol=0.05)
    np.testing.assert_allclose(residual.mean(0), 0, atol=0.05 * data.std)
    k = len(data.centres)
    counts = np.bincount(nearest, minlength=k)
    assert np.all(np.abs(counts - 20_000 / k) < 5 * math.sqrt(20_000 / k))  # equal weights


def test_centres_cannot_be_modified():
    with pytest.raises(ValueError):
        eight_gaussians().centres[0, 0] = 5.0


def test_swiss_roll_lies_on_the_spiral():
    data = swiss_roll()
    assert data.centres is None and data.std == pytest.approx(0.25 / 7.5)
    x = to_numpy(data.sample(2000, Generator(1))).astype(np.float64) * 7.5
    t = np.linspace(1.5 * np.pi, 4.5 * np.pi, 6000)
    curve = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    dist = np.linalg.norm(x[:, None, :] - curve[None], axis=2).min(1)
    # only the noise across the curve counts: E|N(0, 0.25^2)| = 0.25 sqrt(2 / pi) ~ 0.2
    assert dist.mean() == pytest.approx(0.25 * math.sqrt(2 / math.pi), rel=0.15)
    assert dist.max() < 5 * 0.25
    radius = np.linalg.norm(x, axis=1)
    assert radius.min() < 1.5 * np.pi + 0.5 and radius.max() > 4.5 * np.pi - 0.5


def test_toy_dataset_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match=r"one of \['25gaussians', '8gaussians', 'swissroll'\]; got 'ring'"):
        toy_dataset("ring")


@pytest.mark.parametrize("n", [-1, 2.5, "3", True])
def test_bad_sample_count_is_a_clear_error(n):
    with pytest.raises(ValueError, match="n must be an integer >= 0"):
        eight_gaussians().sample(n, Generator(0))


def test_two_gaussians_1d(device):
    pair = two_gaussians_1d(mean_gap=3.0, std=0.5)
    p = pair.sample_p(4000, Generator(0, device))
    q = pair.sample_q(4000, Generator(1, device))
    assert p.shape == q.shape == (4000, 1) and device_of(p) == device
    p, q = to_numpy(p).astype(np.float64), to_numpy(q).astype(np.float64)
    assert p.mean() == pytest.approx(0, abs=0.05) and q.mean() == pytest.approx(3, abs=0.05)
    assert p.std() == pytest.approx(0.5, rel=0.05) and q.std() == pytest.approx(0.5, rel=0.05)
    assert pair.w1 == 3.0 and two_gaussians_1d(-2.0, 1.0).w1 == 2.0
    # W1 of two 1D samples of equal size: match them in sorted order (the monotone coupling)
    assert np.mean(np.abs(np.sort(p, 0) - np.sort(q, 0))) == pytest.approx(pair.w1, abs=0.05)


def test_two_gaussians_1d_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"std must be a finite number >= 0; got -1.0"):
        two_gaussians_1d(1.0, -1.0)
    with pytest.raises(ValueError, match="mean_gap must be a finite number; got nan"):
        two_gaussians_1d(float("nan"), 1.0)
