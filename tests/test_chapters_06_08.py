"""Chapters 06-08 (the toy WGAN with clipping, gradient penalty, spectral norm) and the experiment code they
share. Each chapter runs once with --quick (a few seconds; module-scoped fixtures) and its returned claims
are checked: only the claims that already hold after 30 tiny steps. The long-run claims (8/8 modes, the
high-quality share) are measured, not tested: see the README's measured results."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import run_chapter
from tinywgan.lab import experiment as ex
from tinywgan.data import toy_dataset
from tinywgan.wgan import SpectralNorm

FIGURES = {
    "06_wgan_weight_clipping.py": ["samples_critic_clip.png", "w_estimate_vs_w1.png", "weight_histogram.png"],
    "07_wgan_gradient_penalty.py": ["samples_critic_gp.png", "w_estimate_vs_w1.png", "weight_histograms.png",
                                    "gradient_norms.png", "clip_vs_gp.png"],
    "08_spectral_normalization.py": ["samples_critic_sn.png", "w_estimate_vs_w1.png", "gradient_norms.png",
                                     "compared.png"],
}


def _run(filename, out, *extra):
    return run_chapter(filename, "--quick", "--out", str(out), *extra)["claims"]


@pytest.fixture(scope="module")
def ch06(tmp_path_factory):
    out = tmp_path_factory.mktemp("ch06")
    return out, _run("06_wgan_weight_clipping.py", out)


@pytest.fixture(scope="module")
def ch07(tmp_path_factory):
    out = tmp_path_factory.mktemp("ch07")
    return out, _run("07_wgan_gradient_penalty.py", out)


@pytest.fixture(scope="module")
def ch08(tmp_path_factory):
    import contextlib
    import io
    out = tmp_path_factory.mktemp("ch08")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        claims = _run("08_spectral_normalization.py", out, "--with-clipping")
    return out, claims, printed.getvalue()


def _check_run_claims(claims: dict) -> None:
    """What every run's numbers must satisfy, trained or not."""
    assert claims["steps"] == ex.QUICK.steps and claims["width"] == ex.QUICK.width
    assert 0 <= claims["modes"] <= claims["n_modes"] == 8
    assert 0.0 <= claims["high_quality"] <= 1.0
    for name in ("w1_to_data", "w1_floor", "w1_first", "w1_last", "gradient_norm_mean", "ms_per_step"):
        assert math.isfinite(claims[name]) and claims[name] >= 0, name
    # 30 steps do not bring a generator anywhere near the data: W1 stays well above the sampling floor.
    assert claims["w1_to_data"] > 2 * claims["w1_floor"]


@pytest.mark.parametrize("filename", sorted(FIGURES))
def test_figures_are_written(filename, ch06, ch07, ch08):
    out = {"06": ch06, "07": ch07, "08": ch08}[filename[:2]][0]
    for name in FIGURES[filename]:
        path = out / name
        assert path.exists() and path.stat().st_size > 5_000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_06_clipping_piles_weights_at_the_walls(ch06):
    _, claims = ch06
    _check_run_claims(claims)
    c = 0.01
    assert claims["max_abs_weight"] <= c * (1 + 1e-6)        # clipping is exact
    assert claims["weights_at_bound"] > 0.5                  # most weights sit within 1% of +-c
    assert claims["clipped_fraction_last"] > 0.05            # and the optimizer keeps pushing them out
    # A clipped critic is K-Lipschitz with K far below 1: its estimate is K * W, not W.
    assert claims["gradient_norm_max"] <= claims["k_bound"] * (1 + 1e-4)
    assert claims["k_bound"] < 0.1 and abs(claims["k_reading"]) < 0.1


@pytest.mark.parametrize("fixture", ["ch06", "ch07"])
def test_the_chapters_algorithm_is_the_trainer(fixture, request):
    """Chapters 06 and 07 write their paper's Algorithm 1 as a loop of their own; run from one seed for a few
    generator steps, it and tinywgan.wgan.train give the same estimates and the same weights, to the bit."""
    _, claims = request.getfixturevalue(fixture)
    algorithm = claims["algorithm"]
    assert len(algorithm["loop"]) == len(algorithm["trainer"]) == 3
    assert algorithm["loop"] == algorithm["trainer"]
    assert algorithm["max_difference"] == 0.0


def test_07_penalty_against_clipping(ch07):
    _, claims = ch07
    gp, clip = claims["gp"], claims["clip"]
    _check_run_claims(gp)
    _check_run_claims(clip)
    assert claims["clip_weights_at_bound"] > 0.5
    assert claims["gp_weights_at_bound"] < 0.05              # the penalty leaves the weights free
    # Gradient norms at interpolates: the penalised critic is orders of magnitude steeper than the clipped
    # one (the penalty pulls its norms toward 1; clipping holds them near K << 1).
    assert gp["gradient_norm_mean"] > 1000 * clip["gradient_norm_mean"]
    assert 0.05 < gp["gradient_norm_mean"] < 2.0
    # Even in 30 steps the penalised critic's estimate grows toward W1 (it starts near 0).
    assert gp["w_estimate_last"] > gp["w_estimate_first"] > 0


def test_07_clipping_run_is_chapter_06s_run(ch06, ch07):
    """Chapter 7's baseline is chapter 6's settings, seed and budget: the same numbers to the digit."""
    same = ("modes", "high_quality", "w1_to_data", "w1_floor", "w1_last", "w_estimate_last",
            "gradient_norm_mean")
    assert {k: ch06[1][k] for k in same} == {k: ch07[1]["clip"][k] for k in same}


def test_08_spectral_norm_bounds_the_slopes(ch07, ch08):
    _, claims, _ = ch08
    for name in ("sn", "gp", "clip"):
        _check_run_claims(claims[name])
    np.testing.assert_allclose(claims["sn_layer_norms"], 1.0, rtol=2e-2)   # W / sigma_hat has sigma ~ 1
    assert abs(claims["sn_lipschitz_bound"] - 1.0) < 0.05
    assert claims["sn"]["gradient_norm_max"] <= claims["sn_lipschitz_bound"] * (1 + 1e-4)
    assert any(abs(s - 1.0) > 0.05 for s in claims["sn_raw_layer_norms"])  # the stored W is not normalised
    # The comparison runs are chapter 7's runs, to the digit.
    assert claims["gp"]["w1_to_data"] == ch07[1]["gp"]["w1_to_data"]
    assert claims["clip"]["w1_to_data"] == ch07[1]["clip"]["w1_to_data"]


def test_08_prints_its_sections_in_order(ch08):
    """With --with-clipping the clipping run is section 4, after the gradient penalty's section 3."""
    printed = ch08[2]
    headers = [line.split(".")[0] for line in printed.splitlines() if line.startswith("== ")]
    assert headers == ["== 1", "== 2", "== 3", "== 4"], headers


# ---- the shared experiment code ----------------------------------------------------------------------


def test_fraction_at_bound():
    c = 0.01
    w = np.array([0.01, -0.01, 0.00995, -0.0099, 0.0098, 0.0, 0.02, 0.0101])
    # within 1% of c: 0.01, -0.01, 0.00995, -0.0099, 0.0101 (and not 0.0098, 0, 0.02)
    assert ex.fraction_at_bound(w, c) == pytest.approx(5 / 8)


def test_pearson_and_ranks():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert ex.pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert ex.pearson(a, -a) == pytest.approx(-1.0)
    assert math.isnan(ex.pearson(a, np.ones(4)))
    np.testing.assert_array_equal(ex._ranks([0.3, 0.1, 0.2]), [2, 0, 1])


def test_make_networks_shapes_and_spectral_wrapping():
    g, c = ex.make_networks(8, 2, noise_dim=3, seed=1, spectral=True)
    assert g.sizes == [3, 8, 8, 2] and c.sizes == [2, 8, 8, 1]
    assert len(ex.linear_layers(c)) == 3 and all(isinstance(m, SpectralNorm) for m in ex.linear_layers(c))
    g2, _ = ex.make_networks(8, 2, noise_dim=3, seed=1)
    for p, q in zip(g.parameters(), g2.parameters()):   # the seed fixes the networks
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_measuring_a_spectrally_normalised_critic_leaves_its_power_iteration_alone():
    from tinywgan.engine.backend import Generator
    _, critic = ex.make_networks(8, 2, seed=1, spectral=True)
    u = [layer.u.copy() for layer in ex.linear_layers(critic)]
    real = Generator(0).normal((16, 2))
    ex.input_gradient_norms(critic, real, real + 1, Generator(1))  # records a graph, in training mode
    ex.spectral_norms(critic)
    for layer, u0 in zip(ex.linear_layers(critic), u):
        np.testing.assert_array_equal(layer.u, u0)
    assert all(m.training for m in critic.modules())  # back in the mode it was in
    critic.eval()
    ex.input_gradient_norms(critic, real, real + 1, Generator(1))
    assert not any(m.training for m in critic.modules())


def test_run_toy_is_deterministic_and_swiss_roll_has_no_modes():
    scale = ex.Scale(width=8, depth=1, steps=6, n_evals=2, n_eval=64, n_final=64, grid_size=8)
    data = toy_dataset("swissroll")

    def run():
        return ex.run_toy("t", ex.toy_config("gp", scale.steps, seed=2, progress=False), data, scale)

    a, b = run(), run()
    assert [e.w1 for e in a.evaluations] == [e.w1 for e in b.evaluations]
    assert a.w1_to_data == b.w1_to_data and a.modes is None and a.evaluations[0].modes is None
    assert [e.step for e in a.evaluations] == [3, 6]
    assert [s.step for s in a.snapshots] == [0, 1, 3, 6] and a.snapshots[0].critic_values.shape == (8, 8)


def test_scale_options():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    ex.add_toy_options(parser)
    assert ex.scale_of(parser.parse_args([])) == ex.CPU
    assert ex.scale_of(parser.parse_args(["--paper"])).width == 512
    assert ex.scale_of(parser.parse_args(["--paper"])).steps == 100_000
    assert ex.scale_of(parser.parse_args(["--quick", "--steps", "7"])).steps == 7
    with pytest.raises(ValueError, match="--steps must be >= 1"):
        ex.scale_of(parser.parse_args(["--steps", "0"]))


def test_08_runs_on_the_bare_array_api(tmp_path):
    """array_api_strict stands in for CuPy (README, "Architecture"): the experiment code uses nothing NumPy-only."""
    claims = _run("08_spectral_normalization.py", tmp_path, "--device", "strict")
    _check_run_claims(claims["sn"])
    assert claims["sn"]["gradient_norm_max"] <= claims["sn_lipschitz_bound"] * (1 + 1e-4)
    assert (tmp_path / "compared.png").exists()


def test_07_samples_from_the_average_and_reports_the_trained_generator_beside_it(ch07):
    _, claims = ch07
    gp, clip = claims["gp"], claims["clip"]
    assert gp["averaged"] and not clip["averaged"]          # the CPU recipe averages; clipping keeps the paper's
    assert gp["high_quality_raw"] is not None and 0 <= gp["high_quality_raw"] <= 1
    assert gp["w1_to_data_raw"] != gp["w1_to_data"]          # two generators, two numbers
    assert clip["high_quality_raw"] is None


def test_07_seed_sweep(tmp_path, ch07):
    claims = _run("07_wgan_gradient_penalty.py", tmp_path, "--seeds", "0-1")
    rows = claims["seeds"]
    assert [r["seed"] for r in rows] == [0, 1]
    assert rows[0]["w1_to_data"] == ch07[1]["gp"]["w1_to_data"]   # seed 0 is the chapter's own run, reused
    assert rows[1]["w1_to_data"] != rows[0]["w1_to_data"]
    assert (tmp_path / "seeds.png").stat().st_size > 5_000


def test_parse_seeds():
    from tinywgan.lab.sweep import parse_seeds
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7] and parse_seeds("1-2,5") == [1, 2, 5]
    for bad in ("", "-1", "a", "3-1", "1,1", "0-x"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_recipe_options_replace_a_tools_defaults():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    ex.add_toy_options(parser)

    def config(*argv, tool="gp"):
        return ex.toy_config(tool, 10, **ex.recipe_options(parser.parse_args(list(argv))))

    assert (config().lr_schedule, config().ema_decay) == ("linear", ex.CPU_RECIPE["ema_decay"])
    assert (config(tool="clip").lr_schedule, config(tool="clip").ema_decay) == ("constant", None)
    assert config("--ema", "0").ema_decay is None and config("--ema", "0.99").ema_decay == 0.99
    assert config("--lr-schedule", "constant").lr_schedule == "constant"
    assert config("--ema", "0.9", tool="clip").ema_decay == 0.9
    with pytest.raises(ValueError, match="--ema must be in"):
        config("--ema", "1.5")
    paper = ex.toy_config("gp", 10, paper=True)
    assert (paper.lr, paper.lr_schedule, paper.ema_decay) == (ex.PAPER_LR, "constant", None)
