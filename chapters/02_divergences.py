"""Chapter 2: why the Jensen-Shannon divergence gives a generator no gradient, and W does.

A GAN whose discriminator is trained to optimality makes its generator minimize the Jensen-Shannon
divergence between the data and the model (Goodfellow et al. 2014; seeds 000 and 002). The WGAN paper's
Example 1 shows what goes wrong (seeds 002 and 004 work it through). Take Z ~ U[0, 1], data P_0 = law of
(0, Z), a vertical segment, and a generator g_theta(z) = (theta, z) whose model P_theta is the same
segment moved sideways by theta. For every theta != 0 the two segments are disjoint and

    TV(P_0, P_theta) = 1,   KL = +inf,   JS = log 2 (2 log 2 with the WGAN paper's unhalved definition),

whatever theta is; only W(P_0, P_theta) = |theta| says how far apart they are. So the slope in theta,
the only thing gradient descent sees, is 0 (TV, JS) or undefined (KL) for the divergences, and -1 / +1 for
W: it points theta back to 0 from anywhere. This chapter

1. tabulates the four closed forms against theta and overlays estimates from samples (histograms on a grid
   for TV, KL, JS; the exact assignment between the two sample sets for W);
2. takes central finite differences of each, the slopes a generator would follow;
3. repeats the story with two unit Gaussians pulled apart: their supports always overlap, yet as the gap
   mu grows JS saturates at log 2 and its slope dies away exponentially, while W = mu grows linearly with
   slope 1 (the vanishing-gradient picture of seed 000).

The JS printed is the halved one, log 2 at most (tinywgan.transport.divergences explains both conventions).
Run: python chapters/02_divergences.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu]
"""
from __future__ import annotations

import math

import numpy as np

from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.transport.divergences import (LOG2, central_difference, js, parallel_lines_closed_form,
                                  parallel_lines_estimate, parallel_lines_sample)
from tinywgan.transport.ot import wasserstein_1d

NAMES = ("TV", "KL", "JS", "JS_unhalved", "W")
SHOWN_THETAS = (-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0)


def _row(values: dict) -> str:
    return " ".join(f"{values[k]:>11.4f}" if math.isfinite(values[k]) else f"{values[k]:>11}" for k in NAMES)


def parallel_lines(n: int, seed: int, device: str, thetas: np.ndarray) -> dict:
    """Closed forms and sample estimates of the four distances on a grid of theta."""
    closed = {k: [] for k in NAMES}
    estimate = {k: [] for k in NAMES}
    for theta in thetas:
        c = parallel_lines_closed_form(theta)
        e = parallel_lines_estimate(theta, n=n, seed=seed, device=device)
        for k in NAMES:
            closed[k].append(c[k])
            estimate[k].append(e[k])
    print("== 1. Parallel lines: P_0 = (0, Z), P_theta = (theta, Z), Z ~ U[0, 1] (WGAN paper, Example 1) ==")
    print(f"closed forms, then estimates from n = {n} samples per line (histograms on 0.05-wide cells for")
    print("TV/KL/JS, exact assignment between the samples for W)")
    print("   theta  kind  " + " ".join(f"{k:>11}" for k in NAMES))
    for theta in SHOWN_THETAS:
        e = parallel_lines_estimate(theta, n=n, seed=seed, device=device)
        print(f"  {theta:+6.2f}  exact " + _row(parallel_lines_closed_form(theta)))
        print(f"  {'':6s}  est.  " + _row(e))
    print("Away from theta = 0 the histograms are disjoint, so TV/KL/JS sit at 1 / inf / log 2 exactly; W")
    print("tracks |theta| (its estimate is a little high: the two samples of Z are matched imperfectly).")
    return {"thetas": [float(t) for t in thetas], "closed": closed, "estimate": estimate}


def slopes(n: int, seed: int, device: str, h_exact: float, h_estimate: float) -> dict:
    """Central differences of the closed forms and of the estimates (same samples on both sides)."""
    print("\n== 2. The slopes a generator would follow: central differences in theta ==")
    out = {}
    print("   theta  kind  " + " ".join(f"{k:>11}" for k in NAMES))
    for theta in (-0.5, 0.5):
        exact = {k: central_difference(lambda t, k=k: parallel_lines_closed_form(t)[k], theta, h_exact)
                 for k in NAMES}
        cache: dict = {}

        def est(t, k):
            if t not in cache:
                cache[t] = parallel_lines_estimate(t, n=n, seed=seed, device=device)
            return cache[t][k]

        estimated = {k: central_difference(lambda t, k=k: est(t, k), theta, h_estimate) for k in NAMES}
        print(f"  {theta:+6.2f}  exact " + _row(exact))
        print(f"  {'':6s}  est.  " + _row(estimated))
        out[theta] = {"exact": exact, "estimate": estimated}
    jump = (parallel_lines_closed_form(h_exact)["JS"] - parallel_lines_closed_form(0.0)["JS"]) / h_exact
    print("nan = undefined (inf - inf). TV and JS are flat, so their gradient is 0; W's slope is sign(theta).")
    print(f"At theta = 0, JS jumps: its one-sided difference with h = {h_exact:g} is {jump:.1f} = log 2 / h,")
    print("a discontinuity, not a gradient (WGAN paper, Theorem 1: W is continuous in theta, JS is not).")
    out["js_jump_at_0"] = jump
    return out


def gaussians(mus: np.ndarray, n: int, seed: int, h: float) -> dict:
    """JS and W between N(0, 1) and N(mu, 1) as mu grows, with their slopes in mu."""
    from scipy.stats import norm
    t = np.arange(-10.0, float(mus.max()) + 10.0, 0.005)  # quadrature grid, wide enough for both tails

    def pmfs(mu):
        p, q = norm.pdf(t), norm.pdf(t, loc=mu)
        return p / p.sum(), q / q.sum()

    def js_of(mu):
        return js(*pmfs(mu))

    def w_of(mu):
        return wasserstein_1d(t, t, *pmfs(mu))

    rng = Generator(seed, "cpu")
    base_p = to_numpy(rng.normal((n,), dtype="float64"))
    base_q = to_numpy(rng.normal((n,), dtype="float64"))
    rows = {"mu": [], "js": [], "js_slope": [], "w": [], "w_slope": [], "w_samples": []}
    print("\n== 3. Two unit Gaussians pulled apart: N(0, 1) vs N(mu, 1) ==")
    print("JS by quadrature on a 0.005 grid; W from the two CDFs on that grid, and from n = "
          f"{n} samples of each")
    print("     mu          JS   log2 - JS    dJS/dmu           W    dW/dmu   W (samples)")
    for mu in mus:
        mu = float(mu)
        row = {"mu": mu, "js": js_of(mu), "js_slope": central_difference(js_of, mu, h),
               "w": w_of(mu), "w_slope": central_difference(w_of, mu, h),
               "w_samples": wasserstein_1d(base_p, base_q + mu)}
        for k, v in row.items():
            rows[k].append(v)
        print(f"  {mu:5.1f}  {row['js']:10.6f}  {LOG2 - row['js']:10.2e}  {row['js_slope']:9.2e}  "
              f"{row['w']:10.6f}  {row['w_slope']:8.4f}  {row['w_samples']:10.4f}")
    print("JS saturates at log 2 = 0.693147 and its slope vanishes; W keeps growing with slope 1.")
    print("(The sample column carries a constant offset, the W1 between the two finite samples; it does")
    print("not change the slope. At mu = 0, W = |mu| has a kink, so its central difference there is 0.)")
    return rows


# ----------------------------------------------------------------------------------------------- figures
def _line_panels(lines: dict, path) -> None:
    import matplotlib.pyplot as plt
    thetas = np.asarray(lines["thetas"])
    fine = np.linspace(-1, 1, 401)
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    panels = (("W", "W(P_0, P_theta)  (EM distance)"), ("JS", "JS(P_0, P_theta)  (halved)"),
              ("TV", "TV(P_0, P_theta)"), ("KL", "KL(P_0 || P_theta)"))
    for ax, (key, title) in zip(axes, panels):
        closed = np.array([parallel_lines_closed_form(t)[key] for t in fine])
        est = np.asarray(lines["estimate"][key], dtype=float)
        top = 1.0 if key == "KL" else None  # +inf drawn at the top edge of the KL panel
        for side in (fine < 0, fine > 0):
            y = np.where(np.isinf(closed[side]), top if top else 0.0, closed[side])
            ax.plot(fine[side], y, color="tab:blue", lw=2, label="closed form" if side[0] else None)
        ax.plot([0], [parallel_lines_closed_form(0.0)[key]], "o", ms=7, color="tab:blue", zorder=3)
        finite = np.isfinite(est)
        ax.plot(thetas[finite], est[finite], "o", mfc="none", ms=5, color="tab:red",
                label="estimate from samples")
        if top is not None:
            ax.plot(thetas[~finite], np.full((~finite).sum(), top), "^", mfc="none", ms=5, color="tab:red")
            ax.set_ylim(-0.05, 1.1)
            ax.text(0.02, 0.93, "+inf drawn at the top", transform=ax.transAxes, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("theta")
        ax.legend(fontsize=8, loc="center" if key != "W" else "upper center")
    fig.suptitle("Parallel lines (WGAN paper Example 1, Fig. 1): only W says how far theta is from 0")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _samples_figure(theta: float, n: int, seed: int, path) -> None:
    import matplotlib.pyplot as plt
    real, fake = (to_numpy(s) for s in parallel_lines_sample(theta, n, Generator(seed, "cpu")))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.scatter(real[:, 0], real[:, 1], s=4, label="P_0: (0, z)")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, label=f"P_theta: ({theta}, z)")
    ax.set_xlim(-1, 1)
    ax.set_xlabel("x_1")
    ax.set_ylabel("x_2")
    ax.set_title("Two disjoint segments")
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _gaussian_figure(rows: dict, path) -> None:
    import matplotlib.pyplot as plt
    from scipy.stats import norm
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    t = np.linspace(-4, 12, 800)
    axes[0].plot(t, norm.pdf(t), color="black", label="N(0, 1)")
    for mu in (1.0, 4.0, 8.0):
        axes[0].plot(t, norm.pdf(t, loc=mu), label=f"N({mu:g}, 1)")
    axes[0].set_title("the model pulled away from the data")
    axes[0].legend(fontsize=8)
    mu = np.asarray(rows["mu"])
    axes[1].plot(mu, rows["js"], "o-", label="JS (halved)")
    axes[1].axhline(LOG2, color="gray", ls="--", label="log 2")
    axes[1].plot(mu, rows["w"], "s-", label="W")
    axes[1].set_xlabel("mu")
    axes[1].set_title("value: JS saturates, W grows linearly")
    axes[1].legend(fontsize=8)
    right = mu > 0  # at mu = 0, W = |mu| has a kink: its central difference is 0 there
    axes[2].plot(mu[right], np.asarray(rows["js_slope"])[right], "o-", label="dJS/dmu")
    axes[2].plot(mu[right], np.asarray(rows["w_slope"])[right], "s-", label="dW/dmu")
    axes[2].set_xlabel("mu")
    axes[2].set_title("slope: JS's vanishes, W's stays 1")
    axes[2].legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/02_divergences")
    args = chapter_args(parser, argv)
    n = 300 if args.quick else 1000
    thetas = np.linspace(-1, 1, 21 if args.quick else 41)
    mus = np.array([0.0, 0.5, 1, 2, 4, 8, 12]) if args.quick else np.arange(0.0, 12.5, 0.5)

    lines = parallel_lines(n, args.seed, args.device, thetas)
    slope = slopes(n, args.seed, args.device, h_exact=1e-3, h_estimate=1e-2)
    gauss = gaussians(mus, n, args.seed, h=1e-3)

    _line_panels(lines, args.out / "parallel_lines.png")
    _samples_figure(0.5, n, args.seed, args.out / "parallel_lines_samples.png")
    _gaussian_figure(gauss, args.out / "gaussians.png")
    print(f"\nFigures written to {args.out}/: parallel_lines.png parallel_lines_samples.png gaussians.png")

    at_half = parallel_lines_estimate(0.5, n=n, seed=args.seed, device=args.device)
    return {
        "parallel_lines": lines, "slopes": slope, "gaussians": gauss,
        "W_estimate_at_0.5": at_half["W"], "JS_estimate_at_0.5": at_half["JS"],
        "TV_estimate_at_0.5": at_half["TV"], "KL_estimate_at_0.5": at_half["KL"],
        "W_slope_estimate_at_0.5": slope[0.5]["estimate"]["W"],
        "W_slope_estimate_at_-0.5": slope[-0.5]["estimate"]["W"],
        "JS_slope_estimate_at_0.5": slope[0.5]["estimate"]["JS"],
        "JS_slope_estimate_at_-0.5": slope[-0.5]["estimate"]["JS"],
        "js_jump_at_0": slope["js_jump_at_0"],
        "gauss_js_far": gauss["js"][-1], "gauss_js_slope_far": gauss["js_slope"][-1],
        "gauss_w_far": gauss["w"][-1], "gauss_w_slope_far": gauss["w_slope"][-1],
    }


if __name__ == "__main__":
    main()
