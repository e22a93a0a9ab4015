r"""Optimal transport on plain arrays: transport plans, the exact Earth Mover's distance, Sinkhorn.

Two distributions with masses ``a`` (on points $x_1, \dots, x_n$) and ``b`` (on points $y_1, \dots, y_m$) and a
ground cost $C_{ij} = \|x_i - y_j\|$. A *transport plan* is an $n \times m$ table $P \ge 0$ whose rows sum to
``a`` and whose columns sum to ``b``: a joint distribution with marginals a and b (the joint-table picture of the
lecture notes "Wasserstein GANs (WGANs): A Deep Dive"; the coupling set of A. Bereyhi, "Deep Generative
Models, Chapter 4: Generative Adversarial Networks", University of Toronto, 2025). Moving $P_{ij}$ mass
over the distance $C_{ij}$ costs $P_{ij} C_{ij}$; the Earth Mover's distance (Wasserstein-1) is the cheapest
plan, the Kantorovich primal, and equals its LP dual:

$$
W(a, b) = \min_{P \in \Pi(a, b)} \sum_{ij} P_{ij} C_{ij}
        = \max_{f_i + g_j \le C_{ij}} \sum_i a_i f_i + \sum_j b_j g_j
$$

The primal is Arjovsky et al. 2017 (WGAN), Eq. 1, for discrete distributions. For C a metric the dual
optimum has $g = -f$ on common points and f 1-Lipschitz: the Kantorovich-Rubinstein duality
$W = \sup_{\|f\|_L \le 1} \mathbb{E}_a f - \mathbb{E}_b f$ (Arjovsky et al. 2017, Eq. 2; Villani 2008, Optimal Transport: Old
and New, Thm 5.10 and Remark 6.5).

Solvers here, from the special to the general:

* :func:`north_west_corner` / :func:`wasserstein_1d`: the 1-D case, exact in O(n log n).
* :func:`solve_transport_lp` / :func:`solve_dual_lp`: any small problem, exact, with scipy's HiGHS.
* :func:`emd`: two clouds of n points with equal weights: an assignment problem (scipy).
* :func:`sinkhorn`: entropic OT on any array backend, CuPy included (Cuturi 2013).

The exact solvers run on the host (NumPy + scipy); their inputs may live on any backend and their arrays
come back on the backend of the inputs. :func:`sinkhorn` and :func:`cost_matrix` use only the array API.

Validation: weights must be 1-D, non-empty, finite and >= 0, and two weight vectors of a transport problem
must carry the same mass to relative ``MASS_RTOL = 1e-6`` (``|sum a - sum b| <= 1e-6 max(sum a, sum b)``);
inside that tolerance ``b`` is rescaled to the mass of ``a`` so the constraints hold exactly. The weights of
:func:`wasserstein_1d` are relative instead, as SciPy's (each vector is normalised). A bad input is a
``ValueError`` that names the argument.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, NamedTuple

import numpy as np  # the host side of the exact solvers only: scipy works on NumPy arrays

from ..engine.backend import array_namespace, astype, device_of, to_device, to_numpy

MASS_RTOL = 1e-6
_SINKHORN_MAX_ROUNDING = 1e-2  # the largest rounding error sinkhorn accepts in (f + g - C) / reg
# HiGHS's default feasibility tolerances are 1e-7; the transport LPs are small and well scaled, so ask
# for the tightest it accepts, and the LP agrees with the closed forms to ~1e-12.
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
_BLOCK = 1 << 22  # cost_matrix builds its (rows, m, d) differences in blocks of about this many numbers


class TransportPlan(NamedTuple):
    """The exact primal solution: ``value = sum_ij plan_ij cost_ij``."""
    value: float
    plan: Any


class DualPotentials(NamedTuple):
    """The exact dual solution: ``value = a . f + b . g`` with ``f_i + g_j <= cost_ij``."""
    value: float
    f: Any
    g: Any


class SinkhornResult(NamedTuple):
    """Sinkhorn's output; ``value = sum_ij plan_ij cost_ij`` (the transport part, no entropy term)."""
    value: float
    plan: Any
    f: Any
    g: Any
    n_iter: int
    converged: bool
    marginal_error: float


class SinkhornWarning(RuntimeWarning):
    """Sinkhorn stopped at ``max_iter`` with its marginals still off by more than ``tol``."""


# ---------------------------------------------------------------------------------------------- checks
def _host(x, name: str) -> np.ndarray:
    """``x`` (a list or an array of any backend) as a float64 NumPy array."""
    h = np.asarray(x if isinstance(x, (list, tuple, int, float)) else to_numpy(x, name))
    if h.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers; got dtype {h.dtype}")
    return h.astype(np.float64)


def _check_finite(h: np.ndarray, name: str) -> None:
    bad = np.flatnonzero(~np.isfinite(h))
    if bad.size:
        where = tuple(int(k) for k in np.unravel_index(bad[0], h.shape))
        where = where[0] if len(where) == 1 else where
        raise ValueError(f"{name} has the value {h.flat[bad[0]]} at index {where}; {name} must be finite")


def _check_weights(w, name: str, length: int | None = None, length_of: str = "") -> np.ndarray:
    """Weights as a host float64 vector: 1-D, non-empty, finite, >= 0, with positive mass."""
    h = _host(w, name)
    if h.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of weights; got shape {h.shape}")
    if h.size == 0:
        raise ValueError(f"{name} is empty; a distribution needs at least one weight")
    if length is not None and h.size != length:
        raise ValueError(f"{name} has {h.size} weights but {length_of} has {length}")
    _check_finite(h, name)
    if (h < 0).any():
        i = int(np.argmin(h))
        raise ValueError(f"{name} has a negative weight {h[i]:g} at index {i}; weights must be >= 0")
    if h.sum() <= 0:
        raise ValueError(f"{name} has total mass 0; it needs at least one positive weight")
    return h


def _same_mass(a: np.ndarray, b: np.ndarray, names=("a", "b")) -> np.ndarray:
    """``b`` rescaled to the mass of ``a``, after checking the masses agree to relative MASS_RTOL."""
    ma, mb = float(a.sum()), float(b.sum())
    if abs(ma - mb) > MASS_RTOL * max(ma, mb):
        raise ValueError(f"{names[0]} sums to {ma!r} but {names[1]} sums to {mb!r}; the two masses must "
                         f"agree to relative {MASS_RTOL:g} (a plan moves all of one onto the other)")
    return b * (ma / mb)


def _check_cost(cost, n: int, m: int) -> None:
    shape = tuple(cost.shape)
    if shape != (n, m):
        raise ValueError(f"cost has shape {shape}; a has {n} and b has {m} weights, so it must be ({n}, {m})")


def _problem(a, b, cost):
    """Validated host copies of a transport problem (a, b rescaled to equal mass, cost (n, m))."""
    a_h = _check_weights(a, "a")
    b_h = _same_mass(a_h, _check_weights(b, "b"))
    c_h = _host(cost, "cost")
    _check_cost(c_h, a_h.size, b_h.size)
    _check_finite(c_h, "cost")
    return a_h, b_h, c_h


def _like(host: np.ndarray, *inputs):
    """``host`` moved to the backend of the first input that is an array (NumPy for lists)."""
    for x in inputs:
        if not isinstance(x, (list, tuple, int, float)):
            return to_device(host, device_of(x))
    return host


def _points(x, name: str, xp):
    """A point cloud as a float (n, d) array of ``xp``; a 1-D array is n points on the line."""
    if x.ndim == 1:
        x = xp.reshape(x, (x.shape[0], 1))
    if x.ndim != 2:
        raise ValueError(f"{name} must be (n, d) points or (n,) values; got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty; it needs at least one point")
    if x.dtype not in (xp.float32, xp.float64):
        x = astype(x, xp.float64)
    if not bool(xp.all(xp.isfinite(x))):
        _check_finite(to_numpy(x), name)
    return x


# ------------------------------------------------------------------------------------ plans and costs
def cost_matrix(x, y, p: float = 2):
    r"""The ground cost $C_{ij} = \|x_i - y_j\|_p$ between two point clouds, on their backend.

    ``x`` is (n, d) or (n,), ``y`` is (m, d) or (m,); the result is (n, m). ``p = 2`` is the Euclidean
    cost ``||x - y||`` of the WGAN paper's EM distance (Eq. 1; the lecture notes "Wasserstein GANs (WGANs):
    A Deep Dive" write it ``||x - x_hat||_p``, p = 2 for Euclidean); ``p = 1`` and ``p = math.inf`` are the
    Manhattan and max norms. Differences are taken exactly (no ``|x|^2 + |y|^2 - 2 x.y`` shortcut, whose
    cancellation would make ``C[i, i]`` nonzero for x = y).
    """
    xp = array_namespace(x, y)
    x, y = _points(x, "x", xp), _points(y, "y", xp)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but y has {y.shape[1]}; they must match")
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"p must be a number >= 1 (a norm; math.inf for the max norm); got {type(p).__name__} {p!r}")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm); got {p}")
    rows = max(1, _BLOCK // max(1, y.shape[0] * y.shape[1]))
    blocks = []
    for start in range(0, x.shape[0], rows):
        stop = min(start + rows, x.shape[0])  # the standard leaves out-of-range slices unspecified
        diff = xp.abs(x[start:stop, None, :] - y[None, :, :])
        if p == 2:
            blocks.append(xp.sqrt(xp.sum(diff * diff, axis=-1)))
        elif p == 1:
            blocks.append(xp.sum(diff, axis=-1))
        elif p == math.inf:
            blocks.append(xp.max(diff, axis=-1))
        else:
            blocks.append(xp.sum(diff ** p, axis=-1) ** (1.0 / p))
    if len(blocks) == 1:
        return blocks[0]
    return xp.concat(blocks, axis=0)  # backend fills concat in for CuPy 13


def check_plan(plan, a, b, atol: float = 1e-8) -> None:
    """Check that ``plan`` is a coupling of ``a`` and ``b``: ``plan >= 0``, rows sum to a, columns to b.

    These are the marginal constraints of the coupling set Pi(a, b): the mass leaving x_i is a_i, the mass
    arriving at y_j is b_j (the lecture notes "Wasserstein GANs (WGANs): A Deep Dive"; the coupling set of
    Bereyhi's "Deep Generative Models, Chapter 4"). Each is checked to absolute ``atol``; a failure is a
    ``ValueError`` naming the worst entry, row or column. Runs on the host.
    """
    P = _host(plan, "plan")
    a_h, b_h = _check_weights(a, "a"), _check_weights(b, "b")
    if P.shape != (a_h.size, b_h.size):
        raise ValueError(f"plan has shape {P.shape}; a has {a_h.size} and b has {b_h.size} weights")
    _check_finite(P, "plan")
    i, j = (int(k) for k in np.unravel_index(np.argmin(P), P.shape))
    if P[i, j] < -atol:
        raise ValueError(f"plan has a negative entry {P[i, j]:g} at ({i}, {j}); a plan is a joint "
                         f"distribution, so every entry must be >= 0 (atol {atol:g})")
    for axis, w, name, what in ((1, a_h, "a", "row"), (0, b_h, "b", "column")):
        err = P.sum(axis=axis) - w
        k = int(np.argmax(np.abs(err)))
        if abs(err[k]) > atol:
            got, want = float(P.sum(axis=axis)[k]), float(w[k])
            raise ValueError(f"plan {what} {k} sums to {got!r} but {name}[{k}] = {want!r} (off by "
                             f"{err[k]:.3g}, atol {atol:g}); the {what}s of a plan must sum to {name}")


def transport_cost(plan, cost) -> float:
    r"""The work of a plan: $\sum_{ij} P_{ij} C_{ij} = \mathbb{E}_{(x, y) \sim P} \|x - y\|$ (the "average work done
    in a transport plan" of the lecture notes "Wasserstein GANs (WGANs): A Deep Dive")."""
    if tuple(plan.shape) != tuple(cost.shape):
        raise ValueError(f"plan has shape {tuple(plan.shape)} but cost has shape {tuple(cost.shape)}")
    xp = array_namespace(plan, cost)
    return float(xp.sum(plan * cost))


# ------------------------------------------------------------------------------------------- the 1-D case
def north_west_corner(a, b):
    r"""The plan that moves mass in order: fill the table from its top-left ("north-west") corner.

    Start at cell (0, 0); move ``t = min(what is left of a_i, what is still missing at b_j)``; step down a
    row when a_i is used up, right a column when b_j is full. The result is a coupling of a and b with at
    most n + m - 1 nonzero cells (Peyre & Cuturi 2019, Computational Optimal Transport, ch. 3).

    Why it is optimal in 1-D when both supports are sorted increasingly: it is the *monotone* coupling
    (mass at quantile level t of a goes to quantile level t of b: x = F^-1(t) -> y = G^-1(t)). For a cost
    c(x - y) convex, such as |x - y|, any plan that sends x -> y' and x' -> y with x < x', y < y' (two
    crossing arrows) can swap them to x -> y, x' -> y' without costing more, because
    $c(x - y) + c(x' - y') \le c(x - y') + c(x' - y)$. A plan with no crossing arrows left is the monotone one,
    so its cost is $W_1 = \int |F - G|$ (Santambrogio 2015, Optimal Transport for Applied Mathematicians, ch. 2;
    Peyre & Cuturi 2019, ch. 2).

    The plan is returned on the backend of ``a``.
    """
    a_h = _check_weights(a, "a")
    b_h = _same_mass(a_h, _check_weights(b, "b"))
    n, m = a_h.size, b_h.size
    plan = np.zeros((n, m))
    i = j = 0
    left, missing = a_h[0], b_h[0]
    while i < n and j < m:
        t = min(left, missing)
        plan[i, j] = t
        left, missing = left - t, missing - t  # one of the two is now exactly 0
        if left == 0:
            i += 1
            left = a_h[i] if i < n else 0.0
        else:
            j += 1
            missing = b_h[j] if j < m else 0.0
    return _like(plan, a, b)


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None) -> float:
    r"""Exact W1 between two distributions on the line, from their CDFs, in O(n log n).

    $$
    W_1(u, v) = \int_{-\infty}^{\infty} |F_u(t) - F_v(t)| \, dt
    $$

    (Vallender 1974; the area between the CDFs: chapter 1 shades it). Sort the n + m values; between consecutive values both CDFs are constant, so the integral is a
    sum of rectangles.

    The signature and the meaning of the weights are ``scipy.stats.wasserstein_distance``'s: the weights
    default to 1/n (1/m) each, and given ones are *relative*: each vector is normalised to sum to 1, so
    ``u_weights=[3, 1]`` and ``[0.75, 0.25]`` are the same distribution, and two weight vectors of
    different totals compare the two normalised distributions (a transport plan, by contrast, moves mass:
    :func:`north_west_corner` and the LPs refuse unequal masses). SciPy's documented examples give SciPy's
    numbers: ``wasserstein_1d([0, 1, 3], [5, 6, 8]) = 5``, ``wasserstein_1d([0, 1], [0, 1], [3, 1], [2, 2])
    = 0.25``.
    """
    u = _host(u_values, "u_values")
    v = _host(v_values, "v_values")
    for h, name in ((u, "u_values"), (v, "v_values")):
        if h.ndim != 1:
            raise ValueError(f"{name} must be 1-D (points on a line); got shape {h.shape}")
        if h.size == 0:
            raise ValueError(f"{name} is empty; it needs at least one value")
        _check_finite(h, name)
    t = np.sort(np.concatenate([u, v]), kind="mergesort")
    # F(t_k) on [t_k, t_{k+1}) is the share of the mass at values <= t_k: (number of values <= t_k) / n
    # without weights, else the cumulative weights divided by their total, computed as SciPy computes them
    # (same order of operations, so the same numbers to the bit).
    cdf_u = _cdf_1d(u, u_weights, t[:-1], "u")
    cdf_v = _cdf_1d(v, v_weights, t[:-1], "v")
    return float(np.sum(np.abs(cdf_u - cdf_v) * np.diff(t)))


def _cdf_1d(values: np.ndarray, weights, at: np.ndarray, name: str) -> np.ndarray:
    """The CDF of the distribution with these ``values`` and relative ``weights`` (None: equal) at ``at``."""
    order = np.argsort(values)
    k = values[order].searchsorted(at, "right")
    if weights is None:
        return k / values.size
    w = _check_weights(weights, f"{name}_weights", values.size, f"{name}_values")
    cumulative = np.concatenate(([0.0], np.cumsum(w[order])))
    return cumulative[k] / cumulative[-1]


# ---------------------------------------------------------------------------------------- exact LPs
def solve_transport_lp(a, b, cost) -> TransportPlan:
    r"""The Kantorovich primal, exactly: $\min_P \sum_{ij} P_{ij} C_{ij}$ s.t. $P \mathbf{1} = a$, $P^\top \mathbf{1} = b$, $P \ge 0$.

    A linear program in the n*m entries of P with n + m equality constraints (WGAN paper Eq. 1 for
    discrete distributions; the coupling set of Bereyhi's "Deep Generative Models, Chapter 4"), solved by
    scipy's HiGHS. Returns the value and the plan (on the backend of ``cost``). For the small tables of the
    chapters; cost grows like (n m)^~2.
    """
    from scipy import sparse
    from scipy.optimize import linprog
    a_h, b_h, c_h = _problem(a, b, cost)
    n, m = c_h.shape
    # P is flattened row-major: entry (i, j) is variable i*m + j.
    row_sums = sparse.kron(sparse.eye(n), np.ones((1, m)))
    col_sums = sparse.kron(np.ones((1, n)), sparse.eye(m))
    A_eq, b_eq = sparse.vstack([row_sums, col_sums]).tocsr(), np.concatenate([a_h, b_h])
    res = linprog(c_h.ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs", options=_HIGHS)
    if res.status == 2:
        # Infeasible cannot be true: the masses agree (checked), so the product coupling a b^T / mass is a
        # plan. HiGHS's presolve can still say so at these tight tolerances when the weights span ten orders
        # of magnitude (1e-10 beside 0.1); without presolve it solves the same LP.
        res = linprog(c_h.ravel(), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs",
                      options={**_HIGHS, "presolve": False})
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the transport LP: {res.message}")
    plan = np.maximum(res.x.reshape(n, m), 0.0)  # clear -1e-17 round-off
    return TransportPlan(float(np.sum(plan * c_h)), _like(plan, cost, a, b))


def solve_dual_lp(a, b, cost) -> DualPotentials:
    r"""The dual LP, exactly: $\max_{f, g} a \cdot f + b \cdot g$ s.t. $f_i + g_j \le C_{ij}$.

    By LP duality its value equals the primal's. The LP's potentials are then tightened by two
    c-transforms, $g_j \leftarrow \min_i C_{ij} - f_i$ and $f_i \leftarrow \min_j C_{ij} - g_j$, which keep them feasible and
    can only raise the objective (a, b >= 0), so they stay optimal (Villani 2008, ch. 5; Peyre & Cuturi
    2019, ch. 3). After it, when C is a metric, $\varphi(x) = \min_j C(x, y_j) - g_j$ is 1-Lipschitz with
    $\varphi(x_i) = f_i$ and $\varphi(y_j) = -g_j$: $W = \mathbb{E}_a[\varphi] - \mathbb{E}_b[\varphi]$, the discrete Kantorovich-
    Rubinstein duality (WGAN paper Eq. 2). Potentials are unique only up to ``(f + t, g - t)``; this pins
    f_0 in the LP. Returns the value and f, g (on the backend of ``cost``).
    """
    from scipy import sparse
    from scipy.optimize import linprog
    a_h, b_h, c_h = _problem(a, b, cost)
    n, m = c_h.shape
    # Constraint (i, j), row i*m + j, reads f_i + g_j <= C_ij.
    A = sparse.hstack([sparse.kron(sparse.eye(n), np.ones((m, 1))),
                       sparse.kron(np.ones((n, 1)), sparse.eye(m))]).tocsr()
    bounds = [(0.0, 0.0)] + [(None, None)] * (n + m - 1)
    res = linprog(-np.concatenate([a_h, b_h]), A_ub=A, b_ub=c_h.ravel(), bounds=bounds,
                  method="highs", options=_HIGHS)
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the dual LP: {res.message}")
    f = res.x[:n]
    g = np.min(c_h - f[:, None], axis=0)  # g = f^c
    f = np.min(c_h - g[None, :], axis=1)  # f = g^c = f^cc, and then f^c = g again
    return DualPotentials(float(a_h @ f + b_h @ g), _like(f, cost, a, b), _like(g, cost, a, b))


def optimal_assignment(x, y, p: float = 2):
    """The optimal matching between two clouds of n points each: ``x[i] -> y[sigma[i]]``.

    With equal weights 1/n the transport LP's optimum is attained at a permutation matrix (Birkhoff-von
    Neumann: the plans are the doubly stochastic matrices scaled by 1/n, whose vertices are the
    permutations), so W1 is an assignment problem, solved exactly by scipy's ``linear_sum_assignment``.
    Runs on the host in float64; returns ``sigma`` as a NumPy int array.
    """
    return _assignment(x, y, p)[1]


def emd(x, y, p: float = 2) -> float:
    r"""Exact W1 (Earth Mover's distance) between two equal-size point clouds with equal weights.

    $W_1 = \min_\sigma \frac{1}{n} \sum_i \|x_i - y_{\sigma(i)}\|_p$ (see :func:`optimal_assignment`; WGAN paper
    Eq. 1 for empirical distributions). x, y: (n, d) or (n,) arrays of any backend, equal n. O(n^3).
    """
    cost, sigma = _assignment(x, y, p)
    return float(np.mean(cost[np.arange(sigma.size), sigma]))


def _assignment(x, y, p):
    from scipy.optimize import linear_sum_assignment
    x_h, y_h = _host(x, "x"), _host(y, "y")
    if x_h.ndim >= 1 and y_h.ndim >= 1 and x_h.shape[0] != y_h.shape[0]:
        raise ValueError(f"x has {x_h.shape[0]} points but y has {y_h.shape[0]}; emd compares clouds of "
                         f"equal size (solve_transport_lp takes unequal ones)")
    cost = cost_matrix(x_h, y_h, p)
    rows, sigma = linear_sum_assignment(cost)
    return cost, sigma[np.argsort(rows)]


# ------------------------------------------------------------------------------------------ Sinkhorn
def _logsumexp(z, axis: int, xp):
    """log sum exp(z) along ``axis``, shifted by the max so exp never overflows."""
    top = xp.max(z, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0.0)
    return xp.squeeze(top, axis=axis) + xp.log(xp.sum(xp.exp(z - top), axis=axis))


def sinkhorn(a, b, cost, reg: float, max_iter: int = 1000, tol: float | None = None,
             warn: bool = True) -> SinkhornResult:
    r"""Entropic optimal transport by Sinkhorn's iterations in the log domain, on any array backend.

    Solves $\min_P \langle P, C\rangle + \varepsilon \, \mathrm{KL}(P \,|\, a b^\top)$ ($\varepsilon$ = ``reg``) over couplings of a and b (Cuturi 2013, Sinkhorn
    Distances; Peyre & Cuturi 2019, ch. 4). Its solution is $P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}$
    and the iterations alternately make the rows, then the columns, sum right:

    $$
    f_i = -\varepsilon \log \sum_j b_j e^{(g_j - C_{ij})/\varepsilon}, \qquad
    g_j = -\varepsilon \log \sum_i a_i e^{(f_i - C_{ij})/\varepsilon}
    $$

    with a max-shifted log-sum-exp so that a small ``reg`` neither overflows nor underflows. ``reg`` is
    in the units of the cost; as reg -> 0 the plan tends to an optimal one and ``value = <P, C>``
    decreases to W (chapter 1 plots it), at the price of more iterations (about C_max / reg).

    Stops when the column sums of the current plan are within ``tol`` of b in l1, relative to the mass
    (default 1e-9 in float64, 1e-5 in float32; the rows are exact after each f-step). After ``max_iter``
    iterations without that it warns (``SinkhornWarning``, unless ``warn=False``) and returns
    ``converged=False`` with the error reached. The plan and potentials live on the backend of ``cost``;
    ``a`` and ``b`` are validated on the host.
    """
    xp = array_namespace(*(x for x in (a, b, cost) if not isinstance(x, (list, tuple))))
    a_h, b_h = _check_weights(a, "a"), _check_weights(b, "b")
    b_h = _same_mass(a_h, b_h)
    _check_cost(cost, a_h.size, b_h.size)
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"reg must be a finite number > 0; got {type(reg).__name__} {reg!r}")
    if not (math.isfinite(reg) and reg > 0):
        raise ValueError(f"reg must be a finite number > 0; got {reg!r}")
    reg = float(reg)
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"max_iter must be an int >= 1; got {type(max_iter).__name__} {max_iter!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1; got {max_iter!r}")
    max_iter = int(max_iter)
    if cost.dtype not in (xp.float32, xp.float64):
        cost = astype(cost, xp.float64)
    if not bool(xp.all(xp.isfinite(cost))):
        _check_finite(to_numpy(cost), "cost")
    if tol is None:
        tol = 1e-9 if cost.dtype == xp.float64 else 1e-5
    if not (isinstance(tol, (int, float)) and not isinstance(tol, bool) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0 (or None); got {tol!r}")
    # The iterations add quantities of size |C| / reg and read differences of order 1 (the log-weights):
    # with eps the dtype's resolution, those are lost to rounding once eps |C|max / reg nears 1, and C / reg
    # overflows to inf before that in float32 (the exp of -C / reg underflows long before, which the log
    # domain survives). Refuse such a reg rather than return a plan of rounding noise or NaN.
    c_max = float(xp.max(xp.abs(cost)))
    resolution = float(xp.finfo(cost.dtype).eps)
    if c_max / reg * resolution > _SINKHORN_MAX_ROUNDING:
        floor = c_max * resolution / _SINKHORN_MAX_ROUNDING
        raise ValueError(f"reg={reg:g} is too small for {'float64' if cost.dtype == xp.float64 else 'float32'} "
                         f"costs up to {c_max:g}: cost / reg reaches {c_max / reg:.3g}, beyond what the log-domain "
                         f"iterations resolve in this dtype (the plan would be rounding noise or NaN); use reg >= "
                         f"{floor:.3g}" + (", or float64 costs" if cost.dtype != xp.float64 else ""))

    def put(h):  # a host vector onto the cost's device, in its dtype
        return astype(xp.asarray(_like(h, cost)), cost.dtype)

    b_d = put(b_h)
    mass = float(a_h.sum())
    log_a = put(np.where(a_h > 0, np.log(np.where(a_h > 0, a_h, 1.0)), -np.inf))
    log_b = put(np.where(b_h > 0, np.log(np.where(b_h > 0, b_h, 1.0)), -np.inf))
    neg_c = -cost / reg
    f = xp.zeros(a_h.size, dtype=cost.dtype)
    g = xp.zeros(b_h.size, dtype=cost.dtype)
    converged, err, it = False, math.inf, 0
    for it in range(1, max_iter + 1):
        f = -reg * _logsumexp(neg_c + (g / reg + log_b)[None, :], axis=1, xp=xp)
        g_next = -reg * _logsumexp(neg_c + (f / reg + log_a)[:, None], axis=0, xp=xp)
        # The plan of (f, g) has rows summing to a exactly; its column j sums to b_j exp((g - g_next)_j / reg).
        ratio = xp.exp(xp.minimum((g - g_next) / reg, 50.0))
        err = float(xp.sum(b_d * xp.abs(ratio - 1.0))) / mass
        if err < tol:
            converged = True
            break
        g = g_next
    plan = xp.exp(neg_c + (f / reg + log_a)[:, None] + (g / reg + log_b)[None, :])
    value = float(xp.sum(plan * cost))
    if not math.isfinite(value):  # never a NaN returned as a value (the check on reg should prevent it)
        raise FloatingPointError(f"sinkhorn produced a non-finite plan (value {value}) with reg={reg:g}; "
                                 f"raise reg or use float64 costs")
    if not converged and warn:
        warnings.warn(SinkhornWarning(
            f"sinkhorn did not converge in max_iter={max_iter} iterations: the marginals are off by "
            f"{err:.3g} > tol {tol:g} (reg={reg:g}); raise max_iter or reg"), stacklevel=2)
    return SinkhornResult(value, plan, f, g, it, converged, err)
