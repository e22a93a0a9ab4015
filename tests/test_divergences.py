"""tinywgan.transport.divergences: KL, JS (both conventions) and TV against scipy, their support
conditions and bounds, the parallel-lines closed forms and sample estimates, and the numbers chapter 2 prints."""
from __future__ import annotations

import contextlib
import io
import math
import re

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
from conftest import run_chapter
from hypothesis import given
from hypothesis import strategies as st

from tinywgan.transport import divergences as dv
from tinywgan.engine.backend import to_device

LOG2 = math.log(2.0)


@st.composite
def pmf_pair(draw, max_size: int = 30):
    """Two pmfs on the same n cells; zeros are allowed in either."""
    n = draw(st.integers(1, max_size))
    pair = []
    for _ in range(2):
        w = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
        if w.sum() < 1e-3:
            w[draw(st.integers(0, n - 1))] = 1.0
        pair.append(w / w.sum())
    return pair


@given(pmf_pair())
def test_kl_js_tv_match_scipy_and_their_bounds(pq):
    p, q = pq
    expected_kl = scipy.stats.entropy(p, q)  # natural log; inf when the support condition fails
    assert dv.kl(p, q) == (pytest.approx(expected_kl, abs=1e-12) if math.isfinite(expected_kl) else math.inf)
    assert dv.js(p, q) == pytest.approx(scipy.spatial.distance.jensenshannon(p, q) ** 2, abs=1e-12)
    assert dv.js_unhalved(p, q) == pytest.approx(2 * dv.js(p, q), abs=1e-15)
    assert dv.tv(p, q) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-15)
    assert 0.0 <= dv.js(p, q) <= LOG2 and 0.0 <= dv.tv(p, q) <= 1.0
    assert dv.js(p, q) == pytest.approx(dv.js(q, p), abs=1e-15) and dv.tv(p, q) == dv.tv(q, p)
    assert dv.tv(p, q) <= math.sqrt(dv.kl(p, q) / 2) + 1e-12  # Pinsker's inequality
    assert dv.kl(p, p) == 0.0 and dv.js(p, p) == 0.0 and dv.tv(p, p) == 0.0


def test_divergences_on_every_backend(device):
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    q = np.array([0.25, 0.25, 0.25, 0.125, 0.125])
    pd, qd = to_device(p, device), to_device(q, device)
    assert dv.kl(pd, qd) == pytest.approx(scipy.stats.entropy(p, q), abs=1e-12)
    assert dv.kl(qd, pd) == math.inf
    assert dv.js(pd, qd) == pytest.approx(scipy.spatial.distance.jensenshannon(p, q) ** 2, abs=1e-12)
    assert dv.tv(pd, qd) == pytest.approx(0.325, abs=1e-12)  # (0.15 + 0.05 + 0.05 + 0.275 + 0.125) / 2


def test_disjoint_supports_saturate():
    p, q = np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.0, 0.3, 0.7])
    assert dv.tv(p, q) == 1.0
    assert dv.kl(p, q) == math.inf and dv.kl(q, p) == math.inf
    assert dv.js(p, q) == pytest.approx(LOG2, abs=1e-15)
    assert dv.js_unhalved(p, q) == pytest.approx(2 * LOG2, abs=1e-15)


@pytest.mark.parametrize("p, q, message", [
    ([0.5, -0.1, 0.6], [0.2, 0.3, 0.5], r"p has a negative probability -0\.1 at index 1"),
    ([0.5, 0.5], [0.2, 0.3], r"q sums to 0\.5; a pmf must sum to 1"),
    ([0.5, np.nan], [0.5, 0.5], r"p has the value nan at index 1"),
    ([], [], r"p is empty"),
    ([0.5, 0.5], [0.2, 0.3, 0.5], r"p has 2 cells but q has 3"),
    ([[0.5, 0.5]], [0.5, 0.5], r"p must be a 1-D pmf; got shape \(1, 2\)"),
])
def test_bad_pmfs_are_rejected_naming_the_argument(p, q, message):
    for fn in (dv.kl, dv.js, dv.js_unhalved, dv.tv):
        with pytest.raises(ValueError, match=message):
            fn(p, q)


# ---------------------------------------------------------------------------------------- parallel lines
@pytest.mark.parametrize("theta", [-1.0, -0.5, -0.01, 0.3, 1.0])
def test_parallel_lines_closed_form_away_from_zero(theta):
    c = dv.parallel_lines_closed_form(theta)
    assert c == {"TV": 1.0, "KL": math.inf, "JS": LOG2, "JS_unhalved": 2 * LOG2, "W": abs(theta)}


def test_parallel_lines_closed_form_at_zero_and_bad_theta():
    assert dv.parallel_lines_closed_form(0.0) == {"TV": 0.0, "KL": 0.0, "JS": 0.0, "JS_unhalved": 0.0, "W": 0.0}
    with pytest.raises(ValueError, match="theta must be a finite number; got nan"):
        dv.parallel_lines_closed_form(float("nan"))


@pytest.mark.parametrize("theta", [-1.0, -0.5, 0.5, 1.0])
def test_parallel_lines_estimates_match_closed_forms(theta):
    e = dv.parallel_lines_estimate(theta, n=500, seed=1)
    assert e["W"] == pytest.approx(abs(theta), rel=0.02)
    assert e["JS"] == pytest.approx(LOG2, rel=0.02)
    assert e["JS_unhalved"] == pytest.approx(2 * LOG2, rel=0.02)
    assert e["TV"] == pytest.approx(1.0, rel=0.02) and e["KL"] == math.inf


def test_parallel_lines_estimate_near_zero_is_small_and_backend_independent():
    e = dv.parallel_lines_estimate(0.0, n=500, seed=2)
    assert e["KL"] < 0.1 and e["JS"] < 0.02 and e["W"] < 0.1
    assert dv.parallel_lines_estimate(0.5, n=100, seed=3, device="strict") == \
        dv.parallel_lines_estimate(0.5, n=100, seed=3, device="cpu")


@pytest.mark.parametrize("theta", [-0.7, -0.3, 0.3, 0.7])
def test_slopes_w_is_plus_minus_one_js_is_zero(theta):
    def estimate(key):
        return lambda t: dv.parallel_lines_estimate(t, n=300, seed=4)[key]

    def exact(key):
        return lambda t: dv.parallel_lines_closed_form(t)[key]

    sign = math.copysign(1.0, theta)
    assert dv.central_difference(exact("W"), theta) == pytest.approx(sign, abs=1e-9)
    assert dv.central_difference(estimate("W"), theta, h=0.01) == pytest.approx(sign, rel=0.02)
    for key in ("JS", "TV"):
        assert dv.central_difference(exact(key), theta) == 0.0
        assert dv.central_difference(estimate(key), theta, h=0.01) == 0.0
    assert math.isnan(dv.central_difference(exact("KL"), theta))


def test_parallel_lines_sample_shapes():
    from tinywgan.engine.backend import Generator
    real, fake = dv.parallel_lines_sample(0.25, 50, Generator(0))
    assert real.shape == fake.shape == (50, 2)
    assert np.all(real[:, 0] == 0.0) and np.all(fake[:, 0] == 0.25)
    assert np.all((real[:, 1] >= 0) & (real[:, 1] < 1))


# --------------------------------------------------------------------------------------------- chapter 2
@pytest.fixture(scope="module")
def chapter_02(tmp_path_factory):
    out = tmp_path_factory.mktemp("ch02")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = run_chapter("02_divergences.py", "--quick", "--out", str(out))["claims"]
    return result, buffer.getvalue(), out


@pytest.mark.parametrize("name", ["parallel_lines", "parallel_lines_samples", "gaussians"])
def test_chapter_02_writes_its_figures(chapter_02, name):
    _, _, out = chapter_02
    assert (out / f"{name}.png").stat().st_size > 1000


def test_chapter_02_parallel_lines_claims(chapter_02):
    result, text, _ = chapter_02
    assert result["W_estimate_at_0.5"] == pytest.approx(0.5, rel=0.02)
    assert result["JS_estimate_at_0.5"] == pytest.approx(LOG2, rel=0.02)
    assert result["TV_estimate_at_0.5"] == 1.0 and result["KL_estimate_at_0.5"] == math.inf
    assert result["W_slope_estimate_at_0.5"] == pytest.approx(1.0, rel=0.02)
    assert result["W_slope_estimate_at_-0.5"] == pytest.approx(-1.0, rel=0.02)
    assert result["JS_slope_estimate_at_0.5"] == 0.0 and result["JS_slope_estimate_at_-0.5"] == 0.0
    assert result["js_jump_at_0"] == pytest.approx(LOG2 / 1e-3)
    # the printed estimate row at theta = +0.50 carries the returned numbers
    row = re.search(r"\+0\.50  exact .*\n\s+est\.\s+(.*)", text).group(1).split()
    assert float(row[0]) == pytest.approx(result["TV_estimate_at_0.5"], abs=5e-5)
    assert row[1] == "inf"
    assert float(row[2]) == pytest.approx(result["JS_estimate_at_0.5"], abs=5e-5)
    assert float(row[4]) == pytest.approx(result["W_estimate_at_0.5"], abs=5e-5)
    lines = result["parallel_lines"]
    for theta, w_exact, w_est in zip(lines["thetas"], lines["closed"]["W"], lines["estimate"]["W"]):
        assert w_exact == abs(theta)
        if abs(theta) >= 0.5:
            assert w_est == pytest.approx(abs(theta), rel=0.02)


def test_chapter_02_gaussians_js_saturates_w_grows_linearly(chapter_02):
    result, text, _ = chapter_02
    g = result["gaussians"]
    assert g["mu"][-1] == 12.0
    assert result["gauss_js_far"] == pytest.approx(LOG2, abs=1e-8)
    assert abs(result["gauss_js_slope_far"]) < 1e-7
    assert result["gauss_w_far"] == pytest.approx(12.0, abs=1e-6)
    assert result["gauss_w_slope_far"] == pytest.approx(1.0, abs=1e-6)
    for mu, w, slope in zip(g["mu"], g["w"], g["w_slope"]):
        assert w == pytest.approx(mu, abs=1e-6)
        if mu > 0:
            assert slope == pytest.approx(1.0, abs=1e-6)
    positive = [s for mu, s in zip(g["mu"], g["js_slope"]) if mu >= 2]
    assert all(later < earlier for earlier, later in zip(positive, positive[1:]))  # JS's slope dies away
    assert re.search(r"12\.0\s+0\.693147", text)


def test_a_list_beside_a_device_array_is_read_through_the_backend(monkeypatch):
    """kl(array, list) on a backend whose arrays refuse numpy.asarray, as CuPy's do: the array is read
    through to_numpy (DLPack), never np.asarray."""
    import array_api_strict as xps

    def refuse(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed")
    p = xps.asarray([0.5, 0.5], dtype=xps.float64)
    monkeypatch.setattr(type(p), "__array__", refuse)
    want = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert dv.kl(p, [0.25, 0.75]) == pytest.approx(want, rel=1e-12)
    assert dv.kl([0.25, 0.75], p) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-12)
