"""How good is a generator on the toy sets: modes covered, high-quality samples, W1 to the data.

Inputs may live on any backend; they are brought to the host with ``to_numpy`` (these are evaluation
numbers, computed once per plot, not in the training loop).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..engine import checks
from ..engine.backend import to_numpy


class ModeCoverage(NamedTuple):
    """``modes`` of the ``n_modes`` centres covered, and the fraction ``high_quality`` of samples within
    k standard deviations of their nearest centre."""

    modes: int
    n_modes: int
    high_quality: float


def mode_coverage(samples, centres, std: float, k: float = 3.0) -> ModeCoverage:
    """Modes covered and high-quality samples of a generator on a mixture with known centres.

    A sample x is *high quality* when it lies within k standard deviations of its nearest centre,
    min_i ||x - c_i|| <= k * std; a centre is *covered* when it is the nearest centre of at least one
    high-quality sample (Srivastava et al. 2017, VEEGAN, and Lin et al. 2018, PacGAN, in their
    experiments on the 2D ring and grid of Gaussians, with k = 3).

    ``std`` is the per-axis std of a mode (``ToyData.std``) and the distance is Euclidean, so for samples
    of an isotropic 2D Gaussian mode ||x - c|| / std is Rayleigh distributed: the expected high-quality
    fraction of the data itself is 1 - exp(-k^2 / 2) = 98.9% at k = 3 (99.8% at k = 3.5), not the 99.7%
    of the 1D three-sigma rule.

    ``samples``: (n, d) array of any backend; ``centres``: (m, d). Returns ``ModeCoverage(modes,
    n_modes, high_quality)``; ``high_quality`` is 0.0 for no samples.
    """
    x = _as_matrix(samples, "samples")
    if centres is None:
        raise ValueError("centres is None: this dataset has no modes to count (e.g. the swiss roll)")
    c = _as_matrix(centres, "centres")
    if c.shape[0] == 0:
        raise ValueError("centres has shape (0, d); expected at least one centre")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples has shape {x.shape} and centres {c.shape}; expected the same number "
                         f"of features, got {x.shape[1]} and {c.shape[1]}")
    checks.real(std, "mode_coverage: std", 0, low_open=True)  # a string is a TypeError naming it
    checks.real(k, "mode_coverage: k", 0, low_open=True)
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be a finite number > 0; got {std!r}")
    if not (np.isfinite(k) and k > 0):
        raise ValueError(f"k must be a finite number > 0; got {k!r}")
    if x.shape[0] == 0:
        return ModeCoverage(0, c.shape[0], 0.0)
    # squared distances ||x||^2 - 2 x.c + ||c||^2, one (n, m) matrix
    d2 = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
    nearest = d2.argmin(1)
    good = np.sqrt(np.maximum(d2[np.arange(x.shape[0]), nearest], 0)) <= k * std
    return ModeCoverage(int(np.unique(nearest[good]).size), int(c.shape[0]), float(good.mean()))


def w1_to_data(samples, data, *, seed: int = 0) -> float:
    """Exact W1 between the empirical distributions of ``samples`` and ``data``, by optimal assignment.

    W1(mu, nu) = min over couplings pi of sum_ij pi_ij ||x_i - y_j||   (Villani 2009, Def. 6.1; with
    n = m points of weight 1/n an optimal coupling is a permutation, which ``tinywgan.transport.ot.emd`` finds).

    ``samples`` (n, d) and ``data`` (m, d), any backend. When n != m the larger set is cut to the size of
    the smaller by a random subset without replacement drawn with ``numpy.random.default_rng(seed)``, so
    the number is deterministic. Note that W1 between two finite samples of the *same* distribution is
    not 0: it shrinks like n^(-1/2) log n in 2D and n^(-1/d) for d >= 3 (Fournier and Guillin 2015), so
    compare generators at equal n.
    """
    from ..transport.ot import emd

    x = _as_matrix(samples, "samples")
    y = _as_matrix(data, "data")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples has shape {x.shape} and data {y.shape}; expected the same number of "
                         f"features, got {x.shape[1]} and {y.shape[1]}")
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"samples has shape {x.shape} and data {y.shape}; expected at least one point "
                         f"in each")
    n = min(x.shape[0], y.shape[0])
    rng = np.random.default_rng(checks.integer(seed, "w1_to_data: seed", 0))
    if x.shape[0] > n:
        x = x[np.sort(rng.choice(x.shape[0], n, replace=False))]
    if y.shape[0] > n:
        y = y[np.sort(rng.choice(y.shape[0], n, replace=False))]
    return float(emd(x, y))


def _as_matrix(a, name: str) -> np.ndarray:
    """``a`` as a float64 NumPy (n, d) array, or a ValueError naming ``name`` and the shape received."""
    a = np.asarray(a) if isinstance(a, (list, tuple)) else to_numpy(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2D array of shape (n, d); got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers; got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return a
