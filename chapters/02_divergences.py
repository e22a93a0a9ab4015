# %% [markdown]
# # Chapter 2: why the Jensen-Shannon divergence gives a generator no gradient, and W does
#
# A GAN whose discriminator is trained to optimality makes its generator minimize the Jensen-Shannon
# divergence between the data and the model (Goodfellow et al. 2014, Section 4.1, Theorem 1: the value of the
# game at the optimal discriminator is $-\log 4 + 2\,\mathrm{JS}(P_r \| P_g)$). The WGAN paper's Example 1
# (Arjovsky et al. 2017, Section 2) shows what goes wrong; the slides on WGAN and WGAN-GP ("Why are these
# papers important?") and A. Bereyhi, "Deep Generative Models, Chapter 4: Generative Adversarial Networks"
# work it through. Take $Z \sim U[0, 1]$, data $P_0$ = the law of $(0, Z)$, a vertical segment, and a
# generator $g_\theta(z) = (\theta, z)$ whose model $P_\theta$ is the same segment moved sideways by $\theta$.
# For every $\theta \ne 0$ the two segments are disjoint and
#
# $$\mathrm{TV}(P_0, P_\theta) = 1, \qquad \mathrm{KL}(P_0 \| P_\theta) = +\infty, \qquad
#   \mathrm{JS}(P_0, P_\theta) = \log 2, \qquad W(P_0, P_\theta) = |\theta|,$$
#
# with $\mathrm{JS}(P, Q) = \tfrac12 \mathrm{KL}(P \| M) + \tfrac12 \mathrm{KL}(Q \| M)$,
# $M = \tfrac12 (P + Q)$ (the unhalved sum, as in Bereyhi's chapter, gives $2 \log 2$). Only $W$ says how far
# apart the segments are. The slope in $\theta$, the only thing gradient descent sees, is 0 (TV, JS) or
# undefined (KL) for the divergences, and $\pm 1$ for $W$: it points $\theta$ back to 0 from anywhere.
#
# This chapter
#
# 1. tabulates the four closed forms against $\theta$ and overlays estimates from samples (histograms on a
#    grid for TV, KL, JS; the exact assignment between the two sample sets for $W$);
# 2. takes central finite differences of each, the slopes a generator would follow;
# 3. repeats the story with two unit Gaussians pulled apart: their supports always overlap, yet as the gap
#    $\mu$ grows JS saturates at $\log 2$ and its slope dies away, while $W = \mu$ grows linearly with slope 1
#    (the vanishing-gradient picture of the lecture notes "Wasserstein GANs (WGANs): A Deep Dive").
#
# The JS printed is the halved one, $\log 2$ at most (`tinywgan.transport.divergences` explains both
# conventions).
#
# Run: `python chapters/02_divergences.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
# [--threads N]`, or step through the cells (VS Code, JupyterLab with jupytext); `TINYWGAN_QUICK=1` selects
# `--quick`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from tqdm import tqdm

from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab import cli
from tinywgan.transport.divergences import (LOG2, central_difference, js, parallel_lines_closed_form,
                                            parallel_lines_estimate, parallel_lines_sample)
from tinywgan.transport.ot import wasserstein_1d

args = cli.chapter_options("02_divergences",
                           "Chapter 2: why the Jensen-Shannon divergence gives a generator no gradient, and W does")
out = args.out
n = 300 if args.quick else 1000                           # samples per distribution
thetas = np.linspace(-1, 1, 21 if args.quick else 41)     # the grid of shifts theta
mus = np.array([0.0, 0.5, 1, 2, 4, 8, 12]) if args.quick else np.arange(0.0, 12.5, 0.5)

NAMES = ("TV", "KL", "JS", "JS_unhalved", "W")
SHOWN_THETAS = (-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0)


def row_text(values: dict) -> str:
    """One printed row: the five distances, inf and nan written out."""
    return " ".join(f"{values[k]:>11.4f}" if math.isfinite(values[k]) else f"{values[k]:>11}" for k in NAMES)


# %% [markdown]
# ## 1. Parallel lines: the four distances against $\theta$
#
# First the two samples themselves, for $\theta = 0.5$: two segments that share no point.

# %%
real, fake = (to_numpy(s) for s in parallel_lines_sample(0.5, n, Generator(args.seed, "cpu")))
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(real[:, 0], real[:, 1], s=4, label="P_0: (0, z)")
ax.scatter(fake[:, 0], fake[:, 1], s=4, label="P_theta: (0.5, z)")
ax.set_xlim(-1, 1)
ax.set_xlabel("x_1")
ax.set_ylabel("x_2")
ax.set_title("Two disjoint segments")
ax.legend(loc="upper left", fontsize=8)
cli.save_figure(fig, out / "parallel_lines_samples.png")

# %% [markdown]
# Now the closed forms on a grid of $\theta$, beside estimates from $n$ samples of each segment. TV, KL and JS
# are estimated from histograms on 0.05-wide cells of the plane; $W$ from the exact assignment between the two
# sets of samples (chapter 1, step 4).

# %%
closed = {k: [] for k in NAMES}
estimate = {k: [] for k in NAMES}
for theta in tqdm(thetas, desc="estimates on the theta grid", leave=False):
    c = parallel_lines_closed_form(theta)
    e = parallel_lines_estimate(theta, n=n, seed=args.seed, device=args.device)
    for k in NAMES:
        closed[k].append(c[k])
        estimate[k].append(e[k])
lines = {"thetas": [float(t) for t in thetas], "closed": closed, "estimate": estimate}

print("== 1. Parallel lines: P_0 = (0, Z), P_theta = (theta, Z), Z ~ U[0, 1] (WGAN paper, Example 1) ==")
print(f"closed forms, then estimates from n = {n} samples per line (histograms on 0.05-wide cells for")
print("TV/KL/JS, exact assignment between the samples for W)")
print("   theta  kind  " + " ".join(f"{k:>11}" for k in NAMES))
for theta in SHOWN_THETAS:
    e = parallel_lines_estimate(theta, n=n, seed=args.seed, device=args.device)
    print(f"  {theta:+6.2f}  exact " + row_text(parallel_lines_closed_form(theta)))
    print(f"  {'':6s}  est.  " + row_text(e))
print("Away from theta = 0 the histograms are disjoint, so TV/KL/JS sit at 1 / inf / log 2 exactly; W")
print("tracks |theta| (its estimate is a little high: the two samples of Z are matched imperfectly).")

# %% [markdown]
# The same numbers as curves (the WGAN paper's Fig. 1 draws W and JS): W is a V with its tip at the answer;
# JS and TV are flat everywhere but at $\theta = 0$, where they drop to 0; KL is $+\infty$ everywhere but
# there. A plot has no room at infinity, so the KL panel draws $+\infty$ on a level of its own above the
# finite scale.

# %%
def line_panels(lines: dict, path) -> None:
    thetas = np.asarray(lines["thetas"])
    fine = np.linspace(-1, 1, 401)
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), gridspec_kw={"wspace": 0.3})
    panels = (("W", "W(P_0, P_theta)  (EM distance)"), ("JS", "JS(P_0, P_theta)  (halved)"),
              ("TV", "TV(P_0, P_theta)"), ("KL", "KL(P_0 || P_theta)"))
    for ax, (key, title) in zip(axes, panels):
        closed = np.array([parallel_lines_closed_form(t)[key] for t in fine])
        est = np.asarray(lines["estimate"][key], dtype=float)
        infinity = 1.0 if key == "KL" else None  # the level at which the KL panel draws +inf
        for side in (fine < 0, fine > 0):
            y = np.where(np.isinf(closed[side]), infinity if infinity else 0.0, closed[side])
            ax.plot(fine[side], y, color="tab:blue", lw=2, label="closed form" if side[0] else None)
        ax.plot([0], [parallel_lines_closed_form(0.0)[key]], "o", ms=7, color="tab:blue", zorder=3)
        finite = np.isfinite(est)
        ax.plot(thetas[finite], est[finite], "o", mfc="none", ms=5, color="tab:red",
                label="estimate from samples")
        if infinity is not None:
            ax.plot(thetas[~finite], np.full((~finite).sum(), infinity), "^", mfc="none", ms=5, color="tab:red",
                    label="estimate = +inf")
            # +inf is a tick label of its own, above a gap that says the scale is broken
            ax.set_ylim(-0.05, 1.12)
            ax.set_yticks([0.0, 0.2, 0.4, 0.6, infinity], ["0.0", "0.2", "0.4", "0.6", "+inf"])
            ax.axhspan(0.72, 0.88, color="0.92", zorder=0)
            ax.text(0.0, 0.80, "(scale broken: +inf above)", ha="center", va="center", fontsize=8, color="0.35")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("theta")
        ax.set_ylabel(key)
        ax.legend(fontsize=8, loc="upper center" if key == "W" else "center" if key != "KL" else (0.3, 0.3))
    fig.suptitle("Parallel lines (WGAN paper Example 1, Fig. 1): only W says how far theta is from 0")
    cli.save_figure(fig, path)


line_panels(lines, out / "parallel_lines.png")

# %% [markdown]
# ## 2. The slopes a generator would follow
#
# A generator moves $\theta$ along $-\partial D / \partial \theta$. We take central differences,
# $\frac{D(\theta + h) - D(\theta - h)}{2h}$, of the closed forms ($h = 10^{-3}$) and of the sample estimates
# ($h = 10^{-2}$, the same samples on both sides). For the divergences they are 0 or undefined; for $W$ they
# are $\mathrm{sign}(\theta)$. At $\theta = 0$ JS does not have a slope at all, it jumps: $W$ is continuous in
# $\theta$ and JS is not (Arjovsky et al. 2017, Theorem 1).

# %%
print("== 2. The slopes a generator would follow: central differences in theta ==")
slope = {}
print("   theta  kind  " + " ".join(f"{k:>11}" for k in NAMES))
for theta in (-0.5, 0.5):
    exact = {k: central_difference(lambda t, k=k: parallel_lines_closed_form(t)[k], theta, 1e-3) for k in NAMES}
    cache: dict = {}

    def estimated_distance(t, k):
        if t not in cache:
            cache[t] = parallel_lines_estimate(t, n=n, seed=args.seed, device=args.device)
        return cache[t][k]

    estimated = {k: central_difference(lambda t, k=k: estimated_distance(t, k), theta, 1e-2) for k in NAMES}
    print(f"  {theta:+6.2f}  exact " + row_text(exact))
    print(f"  {'':6s}  est.  " + row_text(estimated))
    slope[theta] = {"exact": exact, "estimate": estimated}
js_jump = (parallel_lines_closed_form(1e-3)["JS"] - parallel_lines_closed_form(0.0)["JS"]) / 1e-3
slope["js_jump_at_0"] = js_jump
print("nan = undefined (inf - inf). TV and JS are flat, so their gradient is 0; W's slope is sign(theta).")
print(f"At theta = 0, JS jumps: its one-sided difference with h = {1e-3:g} is {js_jump:.1f} = log 2 / h,")
print("a discontinuity, not a gradient (WGAN paper, Theorem 1: W is continuous in theta, JS is not).")

# %% [markdown]
# ## 3. Two unit Gaussians pulled apart
#
# Disjoint supports are the extreme case. With $P = \mathcal N(0, 1)$ and $Q = \mathcal N(\mu, 1)$ the supports
# overlap everywhere, yet as $\mu$ grows the overlap fades and JS climbs to its ceiling $\log 2$: its slope
# $\partial\,\mathrm{JS} / \partial \mu$ dies away, and a generator far from the data gets almost no signal.
# $W$ between two Gaussians that differ by a shift is the shift, $W = \mu$, with slope 1 at every distance.
# JS is computed by quadrature on a 0.005 grid, $W$ from the two CDFs on that grid and, as a check, from $n$
# samples of each.

# %%
t = np.arange(-10.0, float(mus.max()) + 10.0, 0.005)  # quadrature grid, wide enough for both tails


def gaussian_pmfs(mu):
    p, q = norm.pdf(t), norm.pdf(t, loc=mu)
    return p / p.sum(), q / q.sum()


def js_of(mu):
    return js(*gaussian_pmfs(mu))


def w_of(mu):
    return wasserstein_1d(t, t, *gaussian_pmfs(mu))


rng = Generator(args.seed, "cpu")
base_p = to_numpy(rng.normal((n,), dtype="float64"))
base_q = to_numpy(rng.normal((n,), dtype="float64"))
gauss = {"mu": [], "js": [], "js_slope": [], "w": [], "w_slope": [], "w_samples": []}
print("== 3. Two unit Gaussians pulled apart: N(0, 1) vs N(mu, 1) ==")
print(f"JS by quadrature on a 0.005 grid; W from the two CDFs on that grid, and from n = {n} samples of each")
print("     mu          JS   log2 - JS    dJS/dmu           W    dW/dmu   W (samples)")
for mu in mus:
    mu = float(mu)
    row = {"mu": mu, "js": js_of(mu), "js_slope": central_difference(js_of, mu, 1e-3),
           "w": w_of(mu), "w_slope": central_difference(w_of, mu, 1e-3),
           "w_samples": wasserstein_1d(base_p, base_q + mu)}
    for k, v in row.items():
        gauss[k].append(v)
    print(f"  {mu:5.1f}  {row['js']:10.6f}  {LOG2 - row['js']:10.2e}  {row['js_slope']:9.2e}  "
          f"{row['w']:10.6f}  {row['w_slope']:8.4f}  {row['w_samples']:10.4f}")
print("JS saturates at log 2 = 0.693147 and its slope vanishes; W keeps growing with slope 1.")
print("(The sample column carries a constant offset, the W1 between the two finite samples; it does")
print("not change the slope. At mu = 0, W = |mu| has a kink, so its central difference there is 0.)")

# %% [markdown]
# The values and slopes as curves. JS gets an axis of its own: on W's scale, which reaches 12, its climb to
# $\log 2 \approx 0.69$ would be a flat line at the bottom.

# %%
mu = np.asarray(gauss["mu"])
fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
(densities, js_axis), (w_axis, slope_axis) = axes
x = np.linspace(-4, 12, 800)
densities.plot(x, norm.pdf(x), color="black", label="N(0, 1)")
for shift in (1.0, 4.0, 8.0):
    densities.plot(x, norm.pdf(x, loc=shift), label=f"N({shift:g}, 1)")
densities.set_xlabel("x")
densities.set_ylabel("density")
densities.set_title("the model pulled away from the data")
densities.legend(fontsize=8)

js_axis.plot(mu, gauss["js"], "o-", color="tab:blue", label="JS (halved)")
js_axis.axhline(LOG2, color="gray", ls="--", label="log 2 = 0.693: the ceiling")
js_axis.set_ylim(0, 0.8)
js_axis.set_xlabel("mu")
js_axis.set_ylabel("JS(N(0, 1), N(mu, 1))")
js_axis.set_title("JS saturates at log 2")
js_axis.legend(fontsize=8, loc="lower right")

w_axis.plot(mu, gauss["w"], "s-", color="tab:orange", label="W")
w_axis.set_xlabel("mu")
w_axis.set_ylabel("W(N(0, 1), N(mu, 1))")
w_axis.set_title("W grows linearly: W = mu")
w_axis.legend(fontsize=8, loc="lower right")

right = mu > 0  # at mu = 0, W = |mu| has a kink: its central difference is 0 there
slope_axis.plot(mu[right], np.asarray(gauss["js_slope"])[right], "o-", color="tab:blue", label="dJS/dmu")
slope_axis.plot(mu[right], np.asarray(gauss["w_slope"])[right], "s-", color="tab:orange", label="dW/dmu")
slope_axis.set_xlabel("mu")
slope_axis.set_ylabel("slope in mu (central difference)")
slope_axis.set_title("slope: JS's vanishes, W's stays 1")
slope_axis.legend(fontsize=8, loc="center right")
fig.tight_layout()
cli.save_figure(fig, out / "gaussians.png")

# %% [markdown]
# ## What the chapter showed
#
# The numbers it claims, gathered (the tests read them): on disjoint supports TV, KL and JS are constants
# whose slope is 0 or undefined, while $W = |\theta|$ has slope $\pm 1$; with overlapping Gaussians JS still
# saturates and its slope vanishes, while $W$'s stays 1. A critic that estimates $W$ (chapter 4) hands the
# generator this slope.

# %%
at_half = parallel_lines_estimate(0.5, n=n, seed=args.seed, device=args.device)
claims = {
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
print(f"\nAt theta = 0.5: W's slope {claims['W_slope_estimate_at_0.5']:.4f}, JS's "
      f"{claims['JS_slope_estimate_at_0.5']:.4f}; at mu = {mus[-1]:g}: JS = {claims['gauss_js_far']:.6f} (log 2), "
      f"W = {claims['gauss_w_far']:.6f}.")
print(f"Figures written to {out}/: parallel_lines.png parallel_lines_samples.png gaussians.png")
