"""tinywgan.transport.ot: exact W1 four ways in 1-D against scipy and POT, the metric axioms, emd, Sinkhorn
on every backend, plan checks, input validation, and the numbers chapter 1 prints."""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import ot as pot  # the POT library: a test oracle only (tinywgan.transport.ot is imported as `tot`)
import pytest
import scipy.spatial.distance
import scipy.stats
from conftest import run_chapter
from hypothesis import given
from hypothesis import strategies as st

from tinywgan.transport import ot as tot
from tinywgan.engine.backend import Generator, to_device, to_numpy

# ------------------------------------------------------------------------------------------ strategies
support_value = st.one_of(st.integers(-5, 5).map(float),  # ties between the two supports
                          st.floats(-10, 10, allow_nan=False, allow_infinity=False))


@st.composite
def pmf_on_line(draw, max_size: int = 30):
    """(sorted support, pmf) with 1..max_size points; some weights may be 0."""
    n = draw(st.integers(1, max_size))
    x = np.sort(np.array(draw(st.lists(support_value, min_size=n, max_size=n))))
    w = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    if w.sum() < 1e-3:
        w[0] = 1.0
    return x, w / w.sum()


samples = st.lists(st.floats(-10, 10, allow_nan=False, allow_infinity=False), min_size=1, max_size=30
                   ).map(np.array)


def clouds(n: int, seed: int, device: str = "cpu", d: int = 2):
    rng = Generator(seed, device)
    return rng.normal((n, d), dtype="float64"), rng.normal((n, d), mean=1.0, dtype="float64")


# ----------------------------------------------------------------------------------- W1 in one dimension
@given(pmf_on_line(), pmf_on_line())
def test_w1_north_west_cdf_primal_dual_and_oracles_agree(u, v):
    (x, a), (y, b) = u, v
    cost = tot.cost_matrix(x, y)
    plan = tot.north_west_corner(a, b)
    tot.check_plan(plan, a, b, atol=1e-12)
    w_nwc = tot.transport_cost(plan, cost)
    primal = tot.solve_transport_lp(a, b, cost)
    tot.check_plan(primal.plan, a, b, atol=1e-9)
    for w in (tot.wasserstein_1d(x, y, a, b), primal.value, tot.solve_dual_lp(a, b, cost).value):
        assert w == pytest.approx(w_nwc, abs=1e-9)
    # oracles
    assert scipy.stats.wasserstein_distance(x, y, a, b) == pytest.approx(w_nwc, abs=1e-9)
    assert pot.emd2(a, b, pot.dist(x[:, None], y[:, None], metric="euclidean")) == pytest.approx(w_nwc, abs=1e-9)
    assert pot.wasserstein_1d(x, y, a, b, p=1) == pytest.approx(w_nwc, abs=1e-9)


@given(pmf_on_line(), pmf_on_line(), st.randoms(use_true_random=False))
def test_north_west_corner_on_unsorted_supports_is_a_plan_but_not_cheaper(u, v, random):
    (x, a), (y, b) = u, v
    order = list(range(x.size))
    random.shuffle(order)
    x, a = x[order], a[order]
    plan = tot.north_west_corner(a, b)
    tot.check_plan(plan, a, b, atol=1e-12)
    assert tot.transport_cost(plan, tot.cost_matrix(x, y)) >= tot.wasserstein_1d(x, y, a, b) - 1e-12
    assert np.count_nonzero(plan) <= x.size + y.size - 1


@given(pmf_on_line(), pmf_on_line())
def test_dual_potentials_are_feasible_and_1_lipschitz(u, v):
    (x, a), (y, b) = u, v
    cost = tot.cost_matrix(x, y)
    dual = tot.solve_dual_lp(a, b, cost)
    f, g = dual.f, dual.g
    assert np.all(f[:, None] + g[None, :] <= cost + 1e-9)
    assert a @ f + b @ g == pytest.approx(dual.value, abs=1e-12)
    support, phi = np.concatenate([x, y]), np.concatenate([f, -g])  # phi(x_i) = f_i, phi(y_j) = -g_j
    assert np.all(np.abs(phi[:, None] - phi[None, :]) <= np.abs(support[:, None] - support[None, :]) + 1e-9)


def test_dual_potential_is_1_lipschitz_for_2d_euclidean_cost():
    x, y = clouds(7, seed=3)
    a, b = np.full(7, 1 / 7), np.arange(1.0, 8.0) / 28
    cost = tot.cost_matrix(x, y)
    dual = tot.solve_dual_lp(a, b, cost)
    assert dual.value == pytest.approx(tot.solve_transport_lp(a, b, cost).value, abs=1e-9)
    points, phi = np.concatenate([x, y]), np.concatenate([dual.f, -dual.g])
    assert np.all(np.abs(phi[:, None] - phi[None, :]) <= tot.cost_matrix(points, points) + 1e-9)


@given(samples, samples, samples, st.floats(-5, 5))
def test_w1_is_a_metric_and_shifts_by_c(u, v, w, c):
    W = tot.wasserstein_1d
    assert W(u, u) == 0.0
    assert W(u, v) == pytest.approx(W(v, u), abs=1e-12)
    assert W(u, w) <= W(u, v) + W(v, w) + 1e-12
    assert W(u + c, u) == pytest.approx(abs(c), abs=1e-9)  # every quantile moves by c
    assert W(u + c, v + c) == pytest.approx(W(u, v), abs=1e-9)
    assert abs(W(u + c, v) - W(u, v)) <= abs(c) + 1e-9


def test_wasserstein_1d_gives_scipys_documented_examples():
    """scipy.stats.wasserstein_distance's docstring examples, with its signature (issue 16)."""
    assert tot.wasserstein_1d([0, 1, 3], [5, 6, 8]) == 5.0
    assert tot.wasserstein_1d([0, 1], [0, 1], [3, 1], [2, 2]) == 0.25
    assert tot.wasserstein_1d([3.4, 3.9, 7.5, 7.8], [4.5, 1.4], [1.4, 0.9, 3.1, 7.2], [3.2, 3.5]) == \
        pytest.approx(4.0781331438047861, rel=1e-15)
    assert tot.wasserstein_1d(u_values=[0.0], v_values=[1.0], u_weights=[2.0], v_weights=[5.0]) == 1.0


def test_wasserstein_1d_weights_are_relative_as_scipys():
    # each weight vector is normalised: masses 3 and 3 are the pmfs (1) and (1); u moves its mass by 2
    assert tot.wasserstein_1d([0.0], [2.0], [3.0], [3.0]) == pytest.approx(2.0)
    assert tot.wasserstein_1d([0.0], [1.0], [1.0], [2.0]) == pytest.approx(1.0)  # unequal totals: fine
    assert tot.wasserstein_1d([0.0, 1.0], [2.0]) == pytest.approx(1.5)
    assert tot.wasserstein_1d([0.0, 1.0], [0.0, 1.0], [3.0, 1.0], [0.75, 0.25]) == 0.0  # the same pmf
    rng = np.random.default_rng(16)
    for _ in range(50):
        n, m = rng.integers(1, 20, size=2)
        u, v = rng.normal(size=n), rng.normal(1.0, 2.0, size=m)
        u[: n // 3] = np.round(u[: n // 3])  # ties inside u and across u and v
        v[: m // 3] = np.round(v[: m // 3])
        uw, vw = rng.random(n) * rng.uniform(0.1, 10), rng.random(m) * rng.uniform(0.1, 10)
        uw[rng.integers(n)] += 0.1  # never all zero
        for args in ((u, v), (u, v, uw, vw), (u, v, None, vw), (u, v, uw)):
            assert tot.wasserstein_1d(*args) == pytest.approx(scipy.stats.wasserstein_distance(*args),
                                                               rel=1e-12, abs=1e-14)


def test_transport_plans_still_refuse_unequal_masses():
    for solve in (lambda a, b: tot.north_west_corner(a, b), lambda a, b: tot.solve_transport_lp(a, b, COST),
                  lambda a, b: tot.solve_dual_lp(a, b, COST)):
        with pytest.raises(ValueError, match="must agree to relative 1e-06"):
            solve(GOOD_A, 2 * GOOD_B)


# ------------------------------------------------------------------------------------------ 2-D clouds
@pytest.mark.parametrize("n, seed", [(1, 0), (5, 1), (40, 2)])
def test_emd_equals_pot_exact_value(device, n, seed):
    x, y = clouds(n, seed, device)
    xh, yh = to_numpy(x), to_numpy(y)
    expected = pot.emd2(np.full(n, 1 / n), np.full(n, 1 / n), pot.dist(xh, yh, metric="euclidean"))
    assert tot.emd(x, y) == pytest.approx(expected, abs=1e-9)


def test_emd_is_symmetric_zero_on_identical_and_matches_the_lp():
    x, y = clouds(12, seed=5)
    assert tot.emd(x, x) == 0.0
    assert tot.emd(x, y) == pytest.approx(tot.emd(y, x), abs=1e-12)
    uniform = np.full(12, 1 / 12)
    assert tot.emd(x, y) == pytest.approx(tot.solve_transport_lp(uniform, uniform, tot.cost_matrix(x, y)).value,
                                          abs=1e-9)
    sigma = tot.optimal_assignment(x, y)
    assert sorted(sigma.tolist()) == list(range(12))


@pytest.mark.parametrize("p, metric", [(1, "cityblock"), (2, "euclidean"), (3, "minkowski"),
                                       (math.inf, "chebyshev")])
def test_cost_matrix_matches_scipy_cdist(device, p, metric):
    x, y = clouds(6, seed=7, device=device, d=3)
    got = to_numpy(tot.cost_matrix(x, y, p=p))
    kwargs = {"p": 3} if metric == "minkowski" else {}
    expected = scipy.spatial.distance.cdist(to_numpy(x), to_numpy(y), metric=metric, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_cost_matrix_blocks_1d_inputs_and_exact_zeros(monkeypatch):
    x, y = clouds(9, seed=8)
    whole = tot.cost_matrix(x, y)
    monkeypatch.setattr(tot, "_BLOCK", 5)  # force one row per block
    np.testing.assert_array_equal(tot.cost_matrix(x, y), whole)
    assert np.all(np.diag(tot.cost_matrix(x, x)) == 0.0)
    np.testing.assert_array_equal(tot.cost_matrix(np.array([0, 3]), np.array([1.0])), [[1.0], [2.0]])


# --------------------------------------------------------------------------------------------- Sinkhorn
def test_sinkhorn_within_one_percent_of_emd_at_small_reg(device):
    x, y = clouds(40, seed=11, device=device)
    w_exact = tot.emd(x, y)
    cost = tot.cost_matrix(x, y)
    xp = Generator(0, device).xp
    uniform = xp.ones(40, dtype=xp.float64) / 40
    reg = 0.015 * float(np.mean(to_numpy(cost)))  # small: 1.5% of the typical distance
    res = tot.sinkhorn(uniform, uniform, cost, reg=reg, max_iter=10000)
    assert res.converged and res.marginal_error < 1e-9
    assert w_exact <= res.value <= 1.01 * w_exact
    tot.check_plan(res.plan, to_numpy(uniform), to_numpy(uniform), atol=1e-9)


def test_sinkhorn_matches_pot_log_domain_plan(device):
    x, y = clouds(15, seed=12, device=device)
    a = np.linspace(1.0, 2.0, 15)
    a /= a.sum()
    b = np.full(15, 1 / 15)
    cost = tot.cost_matrix(x, y)
    res = tot.sinkhorn(to_device(a, device), to_device(b, device), cost, reg=0.3)
    expected = pot.sinkhorn(a, b, to_numpy(cost), 0.3, method="sinkhorn_log", stopThr=1e-12, numItermax=10000)
    np.testing.assert_allclose(to_numpy(res.plan), expected, atol=1e-9)
    assert res.value == pytest.approx(float(np.sum(expected * to_numpy(cost))), abs=1e-9)


def test_sinkhorn_reports_non_convergence():
    x, y = clouds(20, seed=13)
    u = np.full(20, 0.05)
    with pytest.warns(tot.SinkhornWarning, match=r"did not converge in max_iter=3 iterations"):
        res = tot.sinkhorn(u, u, tot.cost_matrix(x, y), reg=0.01, max_iter=3)
    assert not res.converged and res.n_iter == 3 and res.marginal_error > 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = tot.sinkhorn(u, u, tot.cost_matrix(x, y), reg=0.01, max_iter=3, warn=False)
    assert not quiet.converged


def test_sinkhorn_float32_zero_weights_and_integer_cost():
    x, y = clouds(10, seed=14)
    a = np.array([0.0, 0.2, 0.0, 0.2, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0])
    b = np.full(10, 0.1)
    res = tot.sinkhorn(a, b, tot.cost_matrix(x, y).astype(np.float32), reg=0.5)
    assert res.converged and res.plan.dtype == np.float32
    assert np.all(res.plan[a == 0] == 0.0)
    tot.check_plan(res.plan, a, b, atol=1e-5)
    ints = tot.sinkhorn([0.5, 0.5], [0.5, 0.5], np.array([[0, 1], [1, 0]]), reg=0.1)
    assert ints.value == pytest.approx(0.0, abs=1e-4)


# ----------------------------------------------------------------------------------------------- plans
def test_check_plan_names_the_worst_row_column_and_entry():
    a, b = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    good = np.array([[0.25, 0.25], [0.0, 0.5]])
    tot.check_plan(good, a, b)
    with pytest.raises(ValueError, match=r"plan row 1 sums to 0\.6 but a\[1\] = 0\.5"):
        tot.check_plan(np.array([[0.25, 0.25], [0.0, 0.6]]), a, b)
    with pytest.raises(ValueError, match=r"plan column 0 sums to 0\.35 but b\[0\] = 0\.25"):
        tot.check_plan(np.array([[0.35, 0.15], [0.0, 0.5]]), a, b)
    with pytest.raises(ValueError, match=r"negative entry -0\.1 at \(1, 0\)"):
        tot.check_plan(np.array([[0.35, 0.15], [-0.1, 0.6]]), a, b)
    with pytest.raises(ValueError, match=r"plan has shape \(2, 3\)"):
        tot.check_plan(np.zeros((2, 3)), a, b)


def test_transport_cost_of_independent_coupling():
    a, b = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    cost = tot.cost_matrix(np.array([0.0, 1.0]), np.array([0.0, 2.0]))
    assert tot.transport_cost(np.outer(a, b), cost) == pytest.approx(0.5 * (0.75 * 2) + 0.5 * (0.25 + 0.75))
    with pytest.raises(ValueError, match=r"plan has shape \(2,\) but cost has shape \(2, 2\)"):
        tot.transport_cost(a, cost)


# ------------------------------------------------------------------------------------------ validation
GOOD_A, GOOD_B = np.array([0.3, 0.7]), np.array([0.5, 0.5])
COST = np.array([[0.0, 1.0], [1.0, 0.0]])
SOLVERS = {
    "north_west_corner": lambda a, b, c: tot.north_west_corner(a, b),
    "solve_transport_lp": tot.solve_transport_lp,
    "solve_dual_lp": tot.solve_dual_lp,
    "sinkhorn": lambda a, b, c: tot.sinkhorn(a, b, c, reg=0.1),
}
BAD = [
    (np.array([-0.2, 1.2]), GOOD_B, COST, r"a has a negative weight -0\.2 at index 0; weights must be >= 0"),
    (GOOD_A, np.array([0.5, np.nan]), COST, r"b has the value nan at index 1; b must be finite"),
    (np.array([]), GOOD_B, COST, r"a is empty"),
    (GOOD_A, np.array([0.5, 0.6]), COST, r"a sums to 1\.0 but b sums to 1\.1; the two masses must agree to "
                                         r"relative 1e-06"),
    (np.zeros(2), GOOD_B, COST, r"a has total mass 0"),
    (GOOD_A, np.array([[0.5, 0.5]]), COST, r"b must be a 1-D array of weights; got shape \(1, 2\)"),
]
SHAPE_BAD = [(GOOD_A, GOOD_B, np.zeros((2, 3)), r"cost has shape \(2, 3\); a has 2 and b has 2 weights"),
             (GOOD_A, GOOD_B, np.array([[0.0, np.inf], [1.0, 0.0]]), r"cost has the value inf at index \(0, 1\)")]


@pytest.mark.parametrize("solver, a, b, cost, message",
                         [(s, *case) for s in SOLVERS for case in BAD]
                         + [(s, *case) for s in SOLVERS if s != "north_west_corner" for case in SHAPE_BAD])
def test_solvers_reject_bad_inputs_naming_the_argument(solver, a, b, cost, message):
    with pytest.raises(ValueError, match=message):
        SOLVERS[solver](a, b, cost)


def test_mass_tolerance_is_relative_1e_6():
    b_close = GOOD_B * (1 + 1e-8)
    tot.check_plan(tot.north_west_corner(GOOD_A, b_close), GOOD_A, GOOD_A.sum() / b_close.sum() * b_close)
    assert tot.solve_transport_lp(GOOD_A, b_close, COST).value == pytest.approx(0.2)
    with pytest.raises(ValueError, match="must agree to relative 1e-06"):
        tot.north_west_corner(GOOD_A, GOOD_B * (1 + 1e-5))


def test_other_entry_points_reject_bad_inputs():
    cases = [
        (lambda: tot.wasserstein_1d([], [1.0]), r"u_values is empty"),
        (lambda: tot.wasserstein_1d([0.0, np.nan], [1.0]), r"u_values has the value nan at index 1"),
        (lambda: tot.wasserstein_1d([0.0, 1.0, 2.0], [1.0], u_weights=[0.5, 0.5]),
         r"u_weights has 2 weights but u_values has 3"),
        (lambda: tot.wasserstein_1d([0.0], [1.0], v_weights=[-1.0]), r"v_weights has a negative weight -1"),
        (lambda: tot.wasserstein_1d([0.0], [1.0], [0.0], [2.0]), r"u_weights has total mass 0"),
        (lambda: tot.emd(np.zeros((3, 2)), np.zeros((4, 2))), r"x has 3 points but y has 4"),
        (lambda: tot.emd(np.zeros((0, 2)), np.zeros((0, 2))), r"x is empty"),
        (lambda: tot.emd(np.array([[0.0, np.nan]]), np.zeros((1, 2))), r"x has the value nan at index \(0, 1\)"),
        (lambda: tot.cost_matrix(np.zeros((2, 2)), np.zeros((2, 3))), r"x has 2 features but y has 3"),
        (lambda: tot.cost_matrix(np.zeros((2, 2)), np.zeros((2, 2)), p=0.5), r"p must be >= 1"),
        (lambda: tot.sinkhorn(GOOD_A, GOOD_B, COST, reg=0.0), r"reg must be a finite number > 0; got 0\.0"),
        (lambda: tot.sinkhorn(GOOD_A, GOOD_B, COST, reg=1.0, max_iter=0), r"max_iter must be an int >= 1"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_mixing_backends_is_an_error():
    strict_cost = to_device(COST, "strict")
    with pytest.raises(TypeError, match="two backends"):
        tot.sinkhorn(GOOD_A, GOOD_B, strict_cost, reg=0.1)


# ------------------------------------------------------------------------------------------- chapter 1
@pytest.fixture(scope="module")
def chapter_01(tmp_path_factory):
    """Chapter 1 run as `python chapters/01_earth_movers_distance.py --quick --out DIR`: its globals, its
    printout, its figure folder."""
    out = tmp_path_factory.mktemp("ch01")
    import contextlib
    import io
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        names = run_chapter("01_earth_movers_distance.py", "--quick", "--out", str(out))
    return names, buffer.getvalue(), out


@pytest.mark.parametrize("name", ["plans", "cdfs", "dual_potential", "assignment_2d", "sinkhorn"])
def test_chapter_01_writes_its_figures(chapter_01, name):
    _, _, out = chapter_01
    assert (out / f"{name}.png").stat().st_size > 1000


def test_chapter_01_plan_figure_prints_small_masses_with_more_digits(chapter_01):
    """A non-zero mass that two decimals would print as .00 (the independent plan's 0.05 * 0.05) gets
    significant digits instead."""
    mass_label = chapter_01[0]["mass_label"]
    assert mass_label(0.0025) == ".0025"
    assert mass_label(0.45) == ".45" and mass_label(0.1) == ".10"
    assert all(mass_label(v) != ".00" for v in np.outer(chapter_01[0]["A_PILES"], chapter_01[0]["B_HOLES"]).ravel())


def test_chapter_01_w1_three_ways_agree_as_printed(chapter_01):
    names, text, _ = chapter_01
    result = names["claims"]
    printed = [float(v) for v in re.findall(r"(?:CDFs|primal LP|dual LP) .*= ([0-9.]+)", text)]
    assert len(printed) == 3
    # W1 by hand: int |F_x - F_y| = 0.2 + 0.05 + 0.35 + 0.45 + 0.4 + 0.3
    for value in printed + [result[k] for k in ("w1_cdf", "w1_primal", "w1_dual", "w1_north_west",
                                                "w1_lp_plan", "dual_kr_value")]:
        assert value == pytest.approx(1.75, abs=1e-9)
    assert float(re.search(r"largest disagreement\s+= (\S+)", text).group(1)) <= 1e-9


def test_chapter_01_plans_dual_and_2d_claims(chapter_01):
    names, text, _ = chapter_01
    result = names["claims"]
    independent = float(np.sum(np.outer(names["A_PILES"], names["B_HOLES"])
                               * np.abs(names["X_PILES"][:, None] - names["Y_HOLES"])))
    assert result["cost_independent"] == pytest.approx(independent, abs=1e-12)
    assert result["cost_reversed"] > result["cost_independent"] > result["w1_cdf"]
    assert f"{result['cost_reversed']:.6f}" in text and f"{result['cost_independent']:.6f}" in text
    assert result["dual_lipschitz"] <= 1 + 1e-9
    assert result["emd_2d"] == pytest.approx(result["lp_2d"], abs=1e-9)
    assert f"W1 = {result['emd_2d']:.12f}" in text


def test_chapter_01_sinkhorn_approaches_exact_value(chapter_01):
    result = chapter_01[0]["claims"]
    values, exact = result["sinkhorn_values"], result["emd_sinkhorn_clouds"]
    assert all(result["sinkhorn_converged"])
    assert all(v >= exact - 1e-9 for v in values)
    assert all(later < earlier for earlier, later in zip(values, values[1:]))
    assert result["sinkhorn_gaps"][-1] < 0.02


def test_the_lp_solves_weights_that_span_ten_orders_of_magnitude():
    """A case hypothesis found: one point against ten of mass 0.1 and one of 1e-10. HiGHS's presolve called this
    LP infeasible at the module's 1e-10 tolerances; the masses agree, so it is not."""
    b = np.array([0.1] * 10 + [1e-10])
    cost = np.abs(np.arange(11.0))[None, :]
    primal = tot.solve_transport_lp(np.array([1.0]), b, cost)
    assert primal.value == pytest.approx(float(np.sum(b / b.sum() * cost[0])), rel=1e-9)
    assert tot.solve_dual_lp(np.array([1.0]), b, cost).value == pytest.approx(primal.value, rel=1e-9)
