"""Claim tests for chapters 03-05: each chapter runs once in --quick mode and every number it prints as a
claim is checked here, with the bound stated beside it. The quick runs use the default seed 0; the
bounds hold with a margin for other seeds too (checked for seeds 0-2 when they were written)."""
from __future__ import annotations

import math

import pytest

from conftest import run_chapter

W1 = 3.0  # chapter 04: N(0, 1) vs N(3, 1)


def _run(filename, tmp_path_factory, *extra):
    out = tmp_path_factory.mktemp(filename.split("_")[0])
    return run_chapter(filename, "--quick", "--out", str(out), *extra)["claims"], out


@pytest.fixture(scope="module")
def ch03(tmp_path_factory):
    out = tmp_path_factory.mktemp("03")
    return run_chapter("03_autograd.py", "--quick", "--out", str(out))["claims"], out


@pytest.fixture(scope="module")
def ch04(tmp_path_factory):
    return _run("04_kantorovich_rubinstein_critic.py", tmp_path_factory)


@pytest.fixture(scope="module")
def ch05(tmp_path_factory):
    return _run("05_gan_vs_wgan.py", tmp_path_factory)


def _assert_figures(out, names):
    for name in names:
        path = out / name
        assert path.is_file() and path.stat().st_size > 10_000, f"{path} missing or empty"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


# ------------------------------------------------------------------------------------------ chapter 03
def check_chapter_03(c):
    # 1. the graph of f = w2 tanh(w1 x + b): four Functions, backward() equal to the chain rule by hand
    assert c["graph_n_functions"] == 4
    assert c["graph_max_error"] < 1e-12
    # 2. x**3 differentiated three times: 3x^2, 6x, 6 exactly (float64); the third derivative is a constant
    assert max(c["d1_max_error"], c["d2_max_error"], c["d3_max_error"]) < 1e-12
    assert c["derivative_graph_sizes"][0] == 1 and c["derivative_graph_sizes"][3] == 0
    # 3. central differences: float64 reaches ~1e-11, float32 cannot reach gradcheck's tolerance
    assert c["fd_best_error_float64"] < 1e-9
    assert c["fd_best_error_float32"] > 1e-6
    assert c["gradchecks_passed"] is True
    assert c["wrong_backward_caught"] is True
    # 4. the gradient penalty by hand equals the library's, and its gradient in the weights (double
    # backprop) matches central differences
    assert c["penalty"] > 0
    assert c["penalty_matches_library"] < 1e-12
    assert c["input_grad_error"] < 1e-8
    engine, numeric = c["weight_grad_engine"], c["weight_grad_numeric"]
    assert abs(engine - numeric) < 1e-7 * max(1.0, abs(numeric))
    assert c["weight_grad_max_rel_error"] < 1e-6
    assert c["no_create_graph_refused"] is True


def test_chapter_03_claims(ch03):
    claims, out = ch03
    check_chapter_03(claims)


def test_chapter_03_writes_its_figures(ch03):
    """The graph, x**3 and its derivatives, the finite-difference errors, and the gradient penalty step."""
    _, out = ch03
    _assert_figures(out, ["graph.png", "x_cubed.png", "finite_differences.png", "gradient_penalty.png"])


def test_chapter_03_on_the_strict_array_api(ch03, tmp_path):
    """The same claims with array_api_strict arrays (the stand-in for CuPy), and the same numbers."""
    claims = run_chapter("03_autograd.py", "--quick", "--device", "strict", "--out", str(tmp_path))["claims"]
    check_chapter_03(claims)
    assert claims == ch03[0]
    _assert_figures(tmp_path, ["graph.png", "gradient_penalty.png"])


# ------------------------------------------------------------------------------------------ chapter 04
def test_chapter_04_clipping_estimates_k_times_w(ch04):
    c, _ = ch04
    assert c["w1_exact"] == W1
    assert abs(c["optimal_critic_score"] - W1) < 0.1  # f*(x) = -x on 5000 + 5000 samples: sd ~0.02
    # clipping: estimate = K * W with K far below 1 (c = 0.01 gives K ~ 1e-3)
    assert 0 < c["clip_estimate"] < 0.01 * W1
    assert math.isclose(c["clip_k"], c["clip_estimate"] / W1)
    # the clipped critic is clip_lipschitz-Lipschitz, and the clipped family does not reach that bound
    assert c["clip_estimate"] / c["clip_lipschitz"] < W1
    assert c["clip_median_norm"] < 0.01


def test_chapter_04_gradient_penalty_estimates_w(ch04):
    c, _ = ch04
    # lambda = 100: the estimate is W within 10 % (quick and default runs land within ~3 %), the slope between
    # the modes is -1 within 0.1, and the gradient norms at the interpolates have median 1 within 0.1
    assert abs(c["gp100_estimate"] - W1) / W1 < 0.10
    assert abs(c["gp100_slope"] + 1.0) < 0.10
    assert abs(c["gp100_median_norm"] - 1.0) < 0.10
    # lambda = 10: the slope settles at s* = 1 + W / (2 lambda) = 1.15 (within 0.05), the estimate at s* W
    assert math.isclose(c["gp10_predicted_slope"], 1.15)
    assert abs(abs(c["gp10_slope"]) - c["gp10_predicted_slope"]) < 0.05
    assert abs(c["gp10_median_norm"] - c["gp10_predicted_slope"]) < 0.05
    assert abs(c["gp10_estimate"] - c["gp10_predicted_slope"] * W1) / W1 < 0.05
    assert c["gp10_estimate"] > c["gp100_estimate"]  # a softer penalty overshoots more


def test_chapter_04_two_dimensions_against_exact_emd(ch04):
    c, _ = ch04
    assert 0.9 < c["emd_2d"] < 1.2  # 8 Gaussians (radius 1.41) vs N(0, 0.3^2 I), 256 points each
    assert abs(c["gp_estimate_2d"] - c["emd_2d"]) / c["emd_2d"] < 0.10
    assert abs(c["median_norm_2d"] - 1.0) < 0.10


def test_chapter_04_writes_its_figures(ch04):
    """The 1-D critics, their gradient norms (counts of interpolates), the estimates while training, the 2-D
    critic."""
    _, out = ch04
    _assert_figures(out, ["critic_1d.png", "gradient_norms.png", "estimate_vs_iterations.png",
                          "critic_2d.png"])


# ------------------------------------------------------------------------------------------ chapter 05
def test_chapter_05_gan_gradient_vanishes_wgan_does_not(ch05):
    c, _ = ch05
    # the saturating GAN loss hands the typical fake a slope below 1e-3 of the WGAN-GP critic's...
    assert c["ratio_saturating_to_gp"] < 1e-3
    assert c["gan_saturating_median"] < 1e-3 * c["wgan_gp_median"]
    # ...and so does its mean over the fakes, what a shift of the whole generator would receive
    assert c["gan_saturating_mean"] < 1e-3 * c["wgan_gp_mean"]
    # the discriminator saturates: D(fake) ~ 0, and G's gradient fell 100-fold from its peak as D trained
    assert c["d_fake_median"] < 1e-3
    assert c["saturating_last_checkpoint"] < 1e-2 * c["saturating_peak"]
    # the optimal discriminator would be more saturated still
    assert c["optimal_d_saturating_median"] < 1e-15
    # the WGAN-GP critic: slope ~1 at every fake, near 1 + W / (2 lambda) = 1.25
    assert c["predicted_gp_slope"] == 1.25
    assert abs(c["wgan_gp_median"] - c["predicted_gp_slope"]) < 0.1
    assert c["wgan_gp_min"] > 0.8
    # the clipped critic: small (its K) but clearly non-zero at every fake
    assert 1e-5 < c["wgan_clip_median"] < 1e-2
    assert c["wgan_clip_min"] > 1e-5
    # the non-saturating loss keeps a slope of order one or more
    assert c["gan_non_saturating_median"] > 0.5


def test_chapter_05_writes_its_figures(ch05):
    """The Figure 2 picture (densities, D, the critic; every loss's slope) and the slopes while training."""
    _, out = ch05
    _assert_figures(out, ["gan_vs_wgan.png", "gradients_while_training.png"])


def test_chapter_05_is_deterministic_for_a_seed(ch05, tmp_path):
    again = run_chapter("05_gan_vs_wgan.py", "--quick", "--out", str(tmp_path))["claims"]
    assert again == ch05[0]
