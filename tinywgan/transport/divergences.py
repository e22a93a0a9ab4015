r"""Divergences between distributions, and the parallel-lines example that makes the case for W.

For two discrete distributions p, q on the same n cells (the WGAN paper, Arjovsky et al. 2017, Sec. 2):

* total variation $\mathrm{TV}(p, q) = \sup_A |p(A) - q(A)| = \frac{1}{2} \sum_i |p_i - q_i|$, in $[0, 1]$;
* Kullback-Leibler $\mathrm{KL}(p \| q) = \sum_i p_i \log(p_i / q_i)$, in $[0, \infty]$: a cell with $p_i > 0$
  and $q_i = 0$ makes it $+\infty$ (the support condition "p absolutely continuous w.r.t. q" fails); cells with $p_i = 0$
  contribute 0 (the limit of $t \log t$);
* Jensen-Shannon, with the mixture $m = (p + q) / 2$. Two conventions are in use, and both are here:

  - :func:`js` $= \frac{1}{2} \mathrm{KL}(p \| m) + \frac{1}{2} \mathrm{KL}(q \| m)$, in $[0, \log 2]$ (Lin 1991). This is the JS whose value
    the WGAN paper reports in Example 1 (``log 2`` for disjoint supports) and that the original GAN's
    optimal discriminator turns the loss into (Goodfellow et al. 2014: $C(G) = -\log 4 + 2\, \mathrm{JS}$).
  - :func:`js_unhalved` $= \mathrm{KL}(p \| m) + \mathrm{KL}(q \| m) = 2\, \mathrm{JS}$, in $[0, 2 \log 2]$. This is the definition the
    WGAN paper *writes* in Sec. 2 (without the 1/2); A. Bereyhi's course chapter ("Deep Generative Models,
    Chapter 4: Generative Adversarial Networks", University of Toronto, 2025) uses it consistently and
    therefore finds ``2 log 2`` for the parallel lines. The slides on WGAN and WGAN-GP ("Why are these
    papers important?") copy the paper's pair (definition without 1/2, value log 2). Neither is wrong; the
    factor must just match the value quoted.

All three reach their maximum as soon as the supports of p and q are disjoint, however far apart they are.
The parallel-lines example (WGAN paper, Example 1; worked out in Bereyhi's chapter) shows what that does
to learning:
$Z \sim U[0, 1]$, the data $P_0$ is the law of $(0, Z)$ and the model $P_\theta$ of $(\theta, Z)$, two vertical
segments. For $\theta \ne 0$ (and all 0 at $\theta = 0$):

$$
\mathrm{TV}(P_0, P_\theta) = 1, \quad \mathrm{KL} = +\infty, \quad \mathrm{JS} = \log 2 \ (2 \log 2 \text{ unhalved}),
\quad W(P_0, P_\theta) = |\theta|
$$

Only W changes with theta, so only W has a slope that points theta back to 0. The estimates from samples
histogram both sample sets on a grid (TV, KL, JS) and solve the exact assignment between them (W).

The divergences compute on the backend of their inputs with array-API calls; validation and the
histograms of the estimates run on the host. Pmfs must be 1-D, the same length, finite, >= 0 and sum to
1 within relative ``PMF_RTOL = 1e-6`` (they are renormalized to exactly 1 inside that tolerance).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np  # host side only: validating pmfs and binning samples into histograms

from ..engine import checks
from ..engine.backend import Generator, array_namespace, as_generator, to_numpy
from .ot import emd

LOG2 = math.log(2.0)
PMF_RTOL = 1e-6


def _pmfs(p, q):
    """Validate two pmfs; return their namespace and both normalized to sum exactly 1."""
    sums, sizes, hosts = [], [], []
    for x, name in ((p, "p"), (q, "q")):
        h = np.asarray(x if isinstance(x, (list, tuple)) else to_numpy(x, name), dtype=np.float64)
        if h.ndim != 1:
            raise ValueError(f"{name} must be a 1-D pmf; got shape {h.shape}")
        if h.size == 0:
            raise ValueError(f"{name} is empty; a pmf needs at least one cell")
        bad = np.flatnonzero(~np.isfinite(h))
        if bad.size:
            raise ValueError(f"{name} has the value {h[bad[0]]} at index {bad[0]}; a pmf must be finite")
        if (h < 0).any():
            i = int(np.argmin(h))
            raise ValueError(f"{name} has a negative probability {h[i]:g} at index {i}; a pmf is >= 0")
        if abs(h.sum() - 1.0) > PMF_RTOL:
            raise ValueError(f"{name} sums to {float(h.sum())!r}; a pmf must sum to 1 (to {PMF_RTOL:g})")
        sums.append(float(h.sum()))
        sizes.append(h.size)
        hosts.append(h)
    if sizes[0] != sizes[1]:
        raise ValueError(f"p has {sizes[0]} cells but q has {sizes[1]}; they must be on the same cells")
    if isinstance(p, (list, tuple)) or isinstance(q, (list, tuple)):
        p, q = hosts  # a list beside an array: both on the host (CuPy refuses np.asarray of its arrays)
    xp = array_namespace(p, q)
    return xp, p / sums[0], q / sums[1]


def _kl(xp, p, q) -> float:
    if bool(xp.any((p > 0) & (q == 0))):
        return math.inf  # the support condition fails: p puts mass where q has none
    safe_p, safe_q = xp.where(p > 0, p, 1.0), xp.where(q > 0, q, 1.0)
    terms = xp.where(p > 0, p * (xp.log(safe_p) - xp.log(safe_q)), 0.0)
    return max(float(xp.sum(terms)), 0.0)  # >= 0 (Gibbs); clip the -1e-17 of round-off


def kl(p, q) -> float:
    r"""$\mathrm{KL}(p \| q) = \sum_i p_i \log(p_i / q_i)$ in nats; $+\infty$ where some $p_i > 0$ has $q_i = 0$.

    WGAN paper Sec. 2. Maximum likelihood asymptotically minimizes KL(P_r || P_theta) (WGAN paper, Sec. 1),
    which is infinite as soon as the model misses a point of the data's support (the slides on WGAN and
    WGAN-GP, "Why are these papers important?"). Not symmetric.
    """
    return _kl(*_pmfs(p, q))


def js(p, q) -> float:
    r"""$\mathrm{JS}(p, q) = \frac{1}{2} \mathrm{KL}(p \| m) + \frac{1}{2} \mathrm{KL}(q \| m)$, $m = (p + q)/2$: symmetric,
    always finite, $\le \log 2$.

    The halved convention (Lin 1991), equal to ``log 2`` exactly when the supports are disjoint: the value
    the WGAN paper gives in Example 1, and the level at which JS saturates in the lecture notes
    "Wasserstein GANs (WGANs): A Deep Dive". See :func:`js_unhalved`.
    """
    xp, p, q = _pmfs(p, q)
    m = (p + q) / 2
    return min(0.5 * _kl(xp, p, m) + 0.5 * _kl(xp, q, m), LOG2)  # clip the round-off above log 2


def js_unhalved(p, q) -> float:
    r"""$\mathrm{KL}(p \| m) + \mathrm{KL}(q \| m) = 2\, \mathrm{JS}(p, q) \le 2 \log 2$: JS as the WGAN paper's Sec. 2
    defines it.

    Bereyhi's "Deep Generative Models, Chapter 4" works the parallel lines out with this definition and
    gets 2 log 2 for theta != 0.
    """
    xp, p, q = _pmfs(p, q)
    m = (p + q) / 2
    return min(_kl(xp, p, m) + _kl(xp, q, m), 2 * LOG2)


def tv(p, q) -> float:
    r"""$\mathrm{TV}(p, q) = \sup_A |p(A) - q(A)| = \frac{1}{2} \sum_i |p_i - q_i|$ (the sup is attained at
    $A = \{p > q\}$).

    WGAN paper Sec. 2, delta(P_r, P_g). In [0, 1], and 1 exactly for disjoint supports.
    """
    xp, p, q = _pmfs(p, q)
    return min(0.5 * float(xp.sum(xp.abs(p - q))), 1.0)


# --------------------------------------------------------------------------------- the parallel lines
def parallel_lines_closed_form(theta: float) -> dict[str, float]:
    """TV, KL, JS (both conventions) and W between P_0 and P_theta, exactly (WGAN paper, Example 1).

    ``{"TV": 1, "KL": inf, "JS": log 2, "JS_unhalved": 2 log 2, "W": |theta|}`` for theta != 0, and all
    zero at theta = 0. W = |theta| because every coupling moves each point at least |theta| sideways and
    the coupling (0, z) -> (theta, z) moves each exactly |theta| (Bereyhi's "Deep Generative Models,
    Chapter 4" works it out).
    """
    theta = checks.real(theta, "parallel_lines_closed_form: theta")
    apart = theta != 0.0
    return {"TV": 1.0 if apart else 0.0, "KL": math.inf if apart else 0.0,
            "JS": LOG2 if apart else 0.0, "JS_unhalved": 2 * LOG2 if apart else 0.0, "W": abs(theta)}


def parallel_lines_sample(theta: float, n: int, rng: Generator | np.random.Generator | int | None = None):
    """n samples of P_0 = law of (0, Z) and n of P_theta = law of (theta, Z), Z ~ U[0, 1] (Example 1).

    Returns ``(real, fake)``, two (n, 2) float64 arrays on ``rng``'s device (a tinywgan Generator's; the
    CPU for a NumPy Generator, an int seed or None); the Z's of the two are independent draws.
    """
    theta = checks.real(theta, "parallel_lines_sample: theta")
    n = checks.integer(n, "parallel_lines_sample: n", 0)
    rng = as_generator(rng, None, "parallel_lines_sample: rng")
    xp = rng.xp
    z_real = rng.uniform((n,), dtype="float64")
    z_fake = rng.uniform((n,), dtype="float64")
    real = xp.stack([xp.zeros_like(z_real), z_real], axis=1)
    fake = xp.stack([xp.zeros_like(z_fake) + float(theta), z_fake], axis=1)
    return real, fake


def _line_histograms(real: np.ndarray, fake: np.ndarray, bin_width: float, z_bins: int):
    """Both sample sets binned on one grid: cells bin_width wide in x_1 (centred on multiples of it, so
    x_1 = 0 sits mid-cell) and 1/z_bins tall in x_2 on [0, 1]. Returns two flattened pmfs."""
    x1 = np.concatenate([real[:, 0], fake[:, 0]])
    lo, hi = math.floor(x1.min() / bin_width) - 1, math.ceil(x1.max() / bin_width) + 1
    edges_x = (np.arange(lo, hi + 1) + 0.5) * bin_width
    edges_z = np.linspace(0.0, 1.0, z_bins + 1)
    pmfs = []
    for pts in (real, fake):
        counts, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=(edges_x, edges_z))
        pmfs.append(counts.ravel() / counts.sum())
    return pmfs


def parallel_lines_estimate(theta: float, n: int = 1000, seed: int = 0, bin_width: float = 0.05,
                            z_bins: int = 10, device: str = "cpu") -> dict[str, float]:
    """TV, KL(P_0 || P_theta), JS (both conventions) and W estimated from n samples of each line.

    TV, KL and JS compare the two histograms on a grid of cells ``bin_width`` wide (see
    :func:`_line_histograms`); W is the exact EM distance between the two sample sets (:func:`emd`), which
    tends to |theta| as n grows (its error is the W1 between two n-sample empirical U[0, 1], about
    n^-1/2, added in quadrature). The grid cannot tell the lines apart when |theta| < bin_width / 2:
    there the histogram estimates fall to their sampling noise, a property of the grid, not of the
    divergences. The same ``seed`` gives the same Z's for every theta (common random numbers), so the
    estimates are smooth enough in theta for finite differences.
    """
    checks.integer(n, "parallel_lines_estimate: n", 1)
    checks.real(bin_width, "parallel_lines_estimate: bin_width", 0, low_open=True)
    checks.integer(z_bins, "parallel_lines_estimate: z_bins", 1)
    real, fake = parallel_lines_sample(theta, n, as_generator(seed, device, "parallel_lines_estimate: seed"))
    real_h, fake_h = to_numpy(real), to_numpy(fake)
    p, q = _line_histograms(real_h, fake_h, bin_width, z_bins)
    return {"TV": tv(p, q), "KL": kl(p, q), "JS": js(p, q), "JS_unhalved": js_unhalved(p, q),
            "W": emd(real_h, fake_h)}


def central_difference(fn: Callable[[float], float], theta: float, h: float = 1e-3) -> float:
    r"""$(f(\theta + h) - f(\theta - h)) / (2h)$ (``fn`` is $f$): the slope a gradient step in theta would follow.

    ``nan`` when fn is infinite on both sides (inf - inf): KL's slope is undefined, not zero.
    """
    if not callable(fn):
        raise TypeError(f"central_difference: fn must be a function of theta; got {type(fn).__name__}")
    checks.real(theta, "central_difference: theta")
    checks.real(h, "central_difference: h", 0, low_open=True)
    up, down = fn(theta + h), fn(theta - h)
    if math.isinf(up) and math.isinf(down):
        return math.nan
    return (up - down) / (2 * h)
