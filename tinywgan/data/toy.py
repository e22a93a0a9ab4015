"""Toy data with known modes: the 2D sets of the WGAN-GP paper, and two 1D Gaussians.

The 2D toy sets are those of Gulrajani et al. 2017 ("Improved Training of Wasserstein GANs", the toy
experiments of their released code, ``gan_toy.py`` in github.com/igul222/improved_wgan_training): mixtures
whose modes are known, so that :mod:`tinywgan.lab.metrics` can count the modes a generator covers.

Every sampler takes ``rng`` (a :class:`tinywgan.engine.backend.Generator`, a ``numpy.random.Generator``, an
int seed, or None for fresh numbers: SPEC 7) and returns a float32 array on ``rng.device`` (a Generator's
device, else the CPU), built from ``rng.normal`` / ``rng.integers`` / ``rng.uniform`` and array API operations only, so it runs
unchanged on NumPy, CuPy and array_api_strict. The same seed gives the same samples (the random numbers are
drawn on the host for every device; only the devices' float32 arithmetic can differ).

>>> from tinywgan.engine.backend import Generator
>>> data = toy_dataset("8gaussians")
>>> data.sample(4, Generator(0)).shape
(4, 2)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..engine.backend import Generator, as_generator, to_device

Array = Any  # an array of the Generator's backend
Rng = Generator | np.random.Generator | int | None  # SPEC 7: see tinywgan.engine.backend.as_generator


@dataclass(frozen=True, eq=False)
class ToyData:
    """A 2D toy distribution.

    ``sample(n, rng)`` returns ``n`` points as an ``(n, 2)`` float32 array on ``rng.device``.
    ``centres`` is a NumPy ``(k, 2)`` array of the mixture's means in the same (scaled) coordinates as the
    samples, or ``None`` when the distribution has no modes to count (the swiss roll). ``std`` is the
    per-axis standard deviation of the noise around a centre, in those coordinates.
    """

    name: str
    centres: np.ndarray | None
    std: float
    sample: Callable[[int, Generator], Array]


def _gaussian_mixture(name: str, centres: np.ndarray, std: float) -> ToyData:
    """Equal-weight mixture of N(c_i, std^2 I): pick a centre uniformly, add Gaussian noise."""
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    centres.setflags(write=False)

    on_device = {}  # device -> the centres there, copied once rather than at every batch

    def sample(n: int, rng: Rng = None) -> Array:
        n = _check_n(n)
        rng = as_generator(rng, None, f"{name}.sample: rng")
        if rng.device not in on_device:
            on_device[rng.device] = to_device(centres, rng.device)
        which = rng.integers(0, centres.shape[0], (n,))
        return rng.xp.take(on_device[rng.device], which, axis=0) + rng.normal((n, 2), std=std)

    return ToyData(name, centres, float(std), sample)


def eight_gaussians() -> ToyData:
    """Eight Gaussians on a circle (Gulrajani et al. 2017, toy code ``gan_toy.py``).

    Centres 2 * (+-1, 0), 2 * (0, +-1), 2 * (+-1/sqrt 2, +-1/sqrt 2), noise std 0.02 per axis, and then
    everything (centres and noise) divided by 1.414, so the circle has radius 2 / 1.414 ~ 1.41 and each
    mode has std 0.02 / 1.414 ~ 0.0141.
    """
    r = 1 / math.sqrt(2)
    unit = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (r, r), (r, -r), (-r, r), (-r, -r)])
    return _gaussian_mixture("8gaussians", 2 * unit / 1.414, 0.02 / 1.414)


def twenty_five_gaussians() -> ToyData:
    """A 5 x 5 grid of Gaussians (Gulrajani et al. 2017, toy code ``gan_toy.py``).

    Centres 2 * (i, j) for i, j in {-2, ..., 2}, noise std 0.05 per axis, everything divided by 2.828:
    neighbours are 2 / 2.828 ~ 0.71 apart and each mode has std 0.05 / 2.828 ~ 0.0177.
    """
    grid = np.array([(i, j) for i in range(-2, 3) for j in range(-2, 3)], dtype=np.float64)
    return _gaussian_mixture("25gaussians", 2 * grid / 2.828, 0.05 / 2.828)


def swiss_roll() -> ToyData:
    """The (x, z) plane of the 3D swiss roll, as in Gulrajani et al. 2017's toy code, divided by 7.5.

    t ~ U[1.5 pi, 4.5 pi];  (x, z) = (t cos t, t sin t) + 0.25 * N(0, I);  returned as (x, z) / 7.5.
    (The parametrisation of the swiss roll of Marsland, "Machine Learning: An Algorithmic Perspective",
    2009, which is the one scikit-learn's ``make_swiss_roll`` uses; written here from the formula.)
    A curve, not a set of modes: ``centres`` is ``None``; ``std`` is the noise per axis, 0.25 / 7.5.
    """
    noise, scale = 0.25, 7.5

    def sample(n: int, rng: Rng = None) -> Array:
        n = _check_n(n)
        rng = as_generator(rng, None, "swissroll.sample: rng")
        xp = rng.xp
        t = 1.5 * math.pi * (1 + 2 * rng.uniform((n,)))
        roll = xp.stack([t * xp.cos(t), t * xp.sin(t)], axis=1)
        return (roll + rng.normal((n, 2), std=noise)) / scale

    return ToyData("swissroll", None, noise / scale, sample)


TOY_DATASETS: dict[str, Callable[[], ToyData]] = {
    "8gaussians": eight_gaussians,
    "25gaussians": twenty_five_gaussians,
    "swissroll": swiss_roll,
}


def toy_dataset(name: str) -> ToyData:
    """The toy dataset called ``name``: one of ``'8gaussians'``, ``'25gaussians'``, ``'swissroll'``."""
    try:
        return TOY_DATASETS[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"toy dataset name must be one of {sorted(TOY_DATASETS)}; got {name!r}") from None


@dataclass(frozen=True)
class TwoGaussians1D:
    """P = N(0, std^2) and Q = N(mean_gap, std^2) on the real line: the critic chapters' first example.

    ``sample_p(n, rng)`` and ``sample_q(n, rng)`` return ``(n, 1)`` float32 arrays on ``rng.device``
    (one feature, the shape a critic takes). ``w1`` is the exact distance between them,
    W1(P, Q) = |mean_gap|: a translation moves every unit of mass by |mean_gap| (a coupling of that cost),
    and the 1-Lipschitz f(x) = x shows no coupling is cheaper (Kantorovich-Rubinstein duality;
    Villani, "Optimal Transport: Old and New", 2009, ch. 5-6).
    """

    mean_gap: float
    std: float

    def __post_init__(self):
        if not math.isfinite(self.mean_gap):
            raise ValueError(f"mean_gap must be a finite number; got {self.mean_gap!r}")
        if not (math.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"std must be a finite number >= 0; got {self.std!r}")

    @property
    def w1(self) -> float:
        """The exact Wasserstein-1 distance W1(P, Q) = |mean_gap|."""
        return abs(float(self.mean_gap))

    def sample_p(self, n: int, rng: Rng = None) -> Array:
        """``n`` samples of P = N(0, std^2), shape ``(n, 1)``."""
        n = _check_n(n)
        return as_generator(rng, None, "sample_p: rng").normal((n, 1), std=float(self.std))

    def sample_q(self, n: int, rng: Rng = None) -> Array:
        """``n`` samples of Q = N(mean_gap, std^2), shape ``(n, 1)``."""
        n = _check_n(n)
        return as_generator(rng, None, "sample_q: rng").normal((n, 1), mean=float(self.mean_gap),
                                                                 std=float(self.std))


def two_gaussians_1d(mean_gap: float = 2.0, std: float = 1.0) -> TwoGaussians1D:
    """P = N(0, std^2) and Q = N(mean_gap, std^2), with their exact W1 = |mean_gap| (see TwoGaussians1D)."""
    for name, value in (("mean_gap", mean_gap), ("std", std)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"two_gaussians_1d: {name} must be a number; got {type(value).__name__} {value!r}")
    return TwoGaussians1D(float(mean_gap), float(std))


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"number of samples n must be an integer >= 0; got {n!r}")
    return int(n)
