# %% [markdown]
# # Chapter 4: a critic trained on the Kantorovich-Rubinstein dual measures $W_1$, times $K$ when it is clipped
#
# The Kantorovich-Rubinstein duality (Arjovsky et al. 2017, Eq. 2; it is also in the lecture notes
# "Wasserstein GANs (WGANs): A Deep Dive", the paper review "Understanding Wasserstein GANs: A Mathematical
# Perspective", the slides on WGAN and WGAN-GP and Bereyhi's "Deep Generative Models, Chapter 4") writes the
# Earth Mover's distance as a maximisation over 1-Lipschitz functions:
#
# $$W(P, Q) = \sup_{\|f\|_L \le 1} \mathbb{E}_{x \sim P}[f(x)] - \mathbb{E}_{x \sim Q}[f(x)].$$
#
# A critic is a network $f_w$ trained by gradient ascent on the right-hand side. This chapter trains critics
# alone, against two *fixed* distributions whose $W_1$ is known, and compares what they measure with the truth:
#
# 1. $P = N(0, 1)$, $Q = N(3, 1)$: $W_1 = 3$, and the optimal critic is a line of slope $-1$;
# 2. a critic kept Lipschitz by weight clipping measures $K \cdot W$ for a $K$ nobody chose;
# 3. a critic kept Lipschitz by the gradient penalty measures $W$, up to a bias the penalty's softness explains;
# 4. in 2-D, a critic's estimate against the exact $W_1$ between two clouds of points.
#
# The default run (1000 critic iterations for each of four critics) takes about 15 s on a 2-core machine
# (20 s while other work loads it); `--quick` (300 iterations, smaller samples) under 10 s, with the same
# conclusions.
#
# Run: `python chapters/04_kantorovich_rubinstein_critic.py [--quick] [--out DIR] [--seed N]
# [--device cpu|gpu|strict] [--threads N]`, or step through the cells (VS Code, JupyterLab with jupytext);
# `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import numpy as np
from tqdm import tqdm

import tinywgan as tw
from tinywgan import nn
from tinywgan import optim
from tinywgan.data import toy_dataset, two_gaussians_1d
from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab import cli
from tinywgan.transport.ot import emd
from tinywgan.wgan import clip_weights, critic_gradient_norms, critic_loss, gradient_penalty, interpolate

args = cli.chapter_options("04_kantorovich_rubinstein_critic",
                           "Chapter 4: a critic trained on the Kantorovich-Rubinstein dual measures W1, "
                           "times K when it is clipped.")
out = args.out
if args.quick:
    steps, batch, width, n_eval = 300, 256, 64, 5000   # the 1-D critics
    n_2d, steps_2d, width_2d = 256, 300, 128           # the 2-D critic
else:
    steps, batch, width, n_eval = 1000, 256, 64, 20000
    n_2d, steps_2d, width_2d = 512, 1000, 128

MEAN_GAP = 3.0     # P = N(0, 1), Q = N(3, 1): W1 = 3
CLIP_VALUE = 0.01  # c, Arjovsky et al. 2017, Algorithm 1
BLOB_STD = 0.3     # the 2-D Q: N(0, 0.3^2 I)

# %% [markdown]
# ## 1. A critic, and the loop that trains it alone
#
# The critic is an MLP $1 \to 64 \to 64 \to 1$ with ReLU whose output layer starts at zero, so $f_w = 0$ at
# the start and the first updates choose the direction in which $\mathbb{E}_P f - \mathbb{E}_Q f$ grows.
# (From a random start the slope can point the wrong way, and turning a slope of $+1$ into $-1$ passes
# through slope 0, where the gradient penalty is largest: the penalty would slow that turn down.)
#
# There is no generator here: each iteration samples a batch from $P$ and from $Q$ and takes one step up
# the critic's objective, written as a loss to minimise,
#
# $$\mathcal{L}(w) = \mathbb{E}_{x \sim Q}[f_w(x)] - \mathbb{E}_{x \sim P}[f_w(x)]
#   \;\big[+\, \lambda\, \mathbb{E}_{\hat x}\big(\|\nabla_x f_w(\hat x)\| - 1\big)^2\big],$$
#
# then keeps $f_w$ Lipschitz one of two ways: clip every weight into $[-c, c]$ after the step (Arjovsky et
# al. 2017, Algorithm 1, $c = 0.01$), or add the bracketed gradient penalty at points
# $\hat x = \alpha x_P + (1 - \alpha) x_Q$, $\alpha \sim U[0, 1]$ (Gulrajani et al. 2017, Eq. 3).
#
# Clipping uses RMSProp (Arjovsky et al. 2017 found momentum-based optimizers unstable with it) at
# learning rate $5 \cdot 10^{-4}$, ten times the paper's $5 \cdot 10^{-5}$, since this critic trains alone
# against fixed distributions and has no generator to keep pace with; the penalty uses Adam with betas
# $(0.5, 0.9)$, the toy setting of `tinywgan.wgan.WGANConfig`, at $10^{-3}$ for the same reason.

# %%
def make_critic(in_features: int, width: int, rng: Generator) -> nn.MLP:
    """An MLP critic in -> width -> width -> 1 with ReLU, whose output layer starts at zero (f_w = 0)."""
    critic = nn.MLP([in_features, width, width, 1], activation="relu", rng=rng)
    last = critic[-1]
    last.weight.data = last.weight.xp.zeros_like(last.weight.data)
    last.bias.data = last.bias.xp.zeros_like(last.bias.data)
    return critic


def estimate(critic, p_eval: tw.Tensor, q_eval: tw.Tensor) -> float:
    """E_P f - E_Q f on fixed evaluation samples: the critic's estimate of (K times) W."""
    with tw.no_grad():
        return (critic(p_eval).mean() - critic(q_eval).mean()).item()


def train_critic(critic, sample_p, sample_q, steps: int, batch: int, rng: Generator, evaluate,
                 gp_weight: float = 0.0, clip_value: float = 0.0, every: int = 10, desc: str = "critic") -> list:
    """Train the critic alone (no generator) for ``steps`` iterations; returns [(iteration, estimate)]."""
    if clip_value > 0:
        opt = optim.RMSprop(critic.parameters(), lr=5e-4)
    else:
        opt = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    history = [(0, evaluate(critic))]
    for step in tqdm(range(1, steps + 1), desc=desc, unit="step", mininterval=0.5):
        real = tw.Tensor(sample_p(batch, rng))
        fake = tw.Tensor(sample_q(batch, rng))
        # Critic: maximise E_{x~P}[f_w(x)] - E_{x~Q}[f_w(x)] over the critic family f_w (Arjovsky et al. 2017,
        # Eq. 3, the dual of Eq. 2), i.e. minimise critic_loss = E_Q f_w - E_P f_w.
        loss = critic_loss(critic(real), critic(fake))
        if gp_weight > 0:
            # Gulrajani et al. 2017, Eq. 3: + lambda E_{x_hat}[(||grad_x f_w(x_hat)|| - 1)^2],
            # x_hat = alpha x_P + (1 - alpha) x_Q, alpha ~ U[0, 1]; double backprop reaches w.
            loss = loss + gradient_penalty(critic, real, fake, rng, weight=gp_weight)
        critic.zero_grad()
        loss.backward()
        opt.step()
        if clip_value > 0:
            # Arjovsky et al. 2017, Algorithm 1, line 7: w <- clip(w, -c, c).
            clip_weights(critic, clip_value)
        if step % every == 0 or step == steps:
            history.append((step, evaluate(critic)))
    return history


# %% [markdown]
# ## 2. Two Gaussians whose $W_1$ is known
#
# $P = N(0, 1)$ and $Q = N(3, 1)$ differ by a translation by 3, so $W_1(P, Q) = 3$
# (`tinywgan.data.two_gaussians_1d`). The optimal critic is $f^*(x) = -x + \text{const}$, a line of slope
# $-1$: any steeper line is not 1-Lipschitz. On a finite evaluation sample, $f^*$ scores
# $\overline{x}_Q - \overline{x}_P$, the ceiling any critic can reach there, up to a sampling error of about
# $\sqrt{2 / n}$.

# %%
pair = two_gaussians_1d(MEAN_GAP, 1.0)
w_exact = pair.w1
eval_rng = Generator(args.seed + 1000, args.device)
p_eval, q_eval = tw.Tensor(pair.sample_p(n_eval, eval_rng)), tw.Tensor(pair.sample_q(n_eval, eval_rng))
ceiling = float(np.mean(to_numpy(q_eval.data)) - np.mean(to_numpy(p_eval.data)))
print(f"== 1. P = N(0, 1), Q = N({MEAN_GAP:g}, 1): exact W1 = {w_exact:g} ==")
print(f"critics: MLP 1-{width}-{width}-1, ReLU, output layer started at 0; {steps} iterations of "
      f"batches of {batch}")
print(f"evaluation samples: {n_eval} from each; the optimal critic f*(x) = -x scores {ceiling:.4f} "
      "on them")

# %% [markdown]
# ## 3. Three critics: clipped, and penalised with $\lambda = 10$ and $\lambda = 100$
#
# Each starts from the same weights and sees the same batches. After training we read off what it
# measures: its estimate $\mathbb{E}_P f - \mathbb{E}_Q f$ on the evaluation samples, the slope of the line
# fitted to $f$ between the modes (on $[0, 3]$), its largest $|f'|$ on $[-3, 6]$, and the median gradient
# norm $\|\nabla_x f(\hat x)\|$ at interpolates between the evaluation samples.

# %%
def describe_1d(critic, rng: Generator) -> dict:
    """The critic's estimate, its slope between the modes, its gradient norms, its largest |f'| on [-3, 6]."""
    between = np.linspace(0.0, MEAN_GAP, 61)
    wide = np.linspace(-3.0, MEAN_GAP + 3.0, 181)
    with tw.no_grad():
        f_between = to_numpy(critic(tw.tensor(between[:, None], dtype="float32", device=args.device)).data)[:, 0]
        f_wide = to_numpy(critic(tw.tensor(wide[:, None], dtype="float32", device=args.device)).data)[:, 0]
    slope = float(np.polyfit(between, f_between, 1)[0])
    lipschitz = float(np.max(np.abs(np.diff(f_wide) / np.diff(wide))))  # largest slope on the grid
    x_hat = interpolate(p_eval, q_eval, rng)  # points on the lines between random pairs of samples
    norms = to_numpy(critic_gradient_norms(critic, x_hat).data)
    return {"estimate": estimate(critic, p_eval, q_eval), "slope": slope, "lipschitz": lipschitz,
            "norms": norms, "median_norm": float(np.median(norms)), "grid": wide, "f": f_wide}


LABELS = {"clip": f"clipping, c = {CLIP_VALUE:g}", "gp10": "penalty, lambda = 10",
          "gp100": "penalty, lambda = 100"}
COLORS = {"clip": "tab:gray", "gp10": "tab:orange", "gp100": "tab:blue"}
rules = {"clip": {"clip_value": CLIP_VALUE}, "gp10": {"gp_weight": 10.0}, "gp100": {"gp_weight": 100.0}}
critics = {}
for key, rule in rules.items():
    critic = make_critic(1, width, Generator(args.seed, args.device))
    history = train_critic(critic, pair.sample_p, pair.sample_q, steps, batch, Generator(args.seed + 1, args.device),
                           lambda c: estimate(c, p_eval, q_eval), every=max(1, steps // 50),
                           desc=f"1-D critic, {LABELS[key]}", **rule)
    critics[key] = describe_1d(critic, Generator(args.seed + 2, args.device))
    critics[key]["history"] = history

print("\n  critic                 estimate  estimate/W   slope of f on [0, 3]   median ||grad f|| "
      "at x_hat")
for key, r in critics.items():
    print(f"  {LABELS[key]:21s}  {r['estimate']:9.4f}  {r['estimate'] / w_exact:10.4f}   "
          f"{r['slope']:+20.5f}   {r['median_norm']:12.5f}")

# %% [markdown]
# ## 4. Clipping measures $K \cdot W$
#
# Weight clipping keeps $f_w$ $K$-Lipschitz for some $K$ set by $c$ and the architecture. Taking the
# supremum over $K$-Lipschitz functions instead of 1-Lipschitz ones scales it by $K$:
#
# $$\sup_{\|f\|_L \le K} \mathbb{E}_P[f] - \mathbb{E}_Q[f] = K \cdot W(P, Q)$$
#
# (Arjovsky et al. 2017, the text before Eq. 3; the slides on WGAN and WGAN-GP). Here $K$ is tiny and not known in
# advance: the printed $K = \text{estimate} / W$ is measured after the fact. And the bound $K \cdot W$ is
# reached only if the clipped family holds the best $K$-Lipschitz function (Arjovsky et al. 2017, after
# Eq. 3; the same slides), which it does not: dividing the estimate by the critic's own largest slope
# gives less than $W$.

# %%
clip = critics["clip"]
k_effective = clip["estimate"] / w_exact
print(f"\nClipping: the estimate is K * W with K = estimate / W = {k_effective:.2e}, a constant nobody "
      "chose:")
print(f"  the largest |f'| of the clipped critic on [-3, 6] is {clip['lipschitz']:.2e}, so it is "
      f"{clip['lipschitz']:.2e}-Lipschitz there,")
print(f"  and estimate / {clip['lipschitz']:.2e} = {clip['estimate'] / clip['lipschitz']:.3f} < W = "
      f"{w_exact:g}: the clipped family does not contain the best function")
print("  of that Lipschitz constant (Arjovsky et al. 2017, after Eq. 3: K * W is reached only when the")
print("  family f_w holds the best K-Lipschitz function). A clipped critic's numbers are comparable with")
print("  each other, not with W.")

# %% [markdown]
# ## 5. The gradient penalty measures $W$, with a bias its softness explains
#
# The optimal critic has gradient norm 1 on the lines joining coupled points of $P$ and $Q$ (Gulrajani et
# al. 2017, Prop. 1; the slides on WGAN and WGAN-GP), and the penalty asks for exactly that at the
# interpolates. But it asks softly. For a critic that is a line of slope $-s$, the penalised objective is
#
# $$s\,W - \lambda (s - 1)^2, \qquad \text{maximal at} \quad s^* = 1 + \frac{W}{2 \lambda},$$
#
# with estimate $s^* W$. With $\lambda = 10$ (the paper's) and $W = 3$ that is $s^* = 1.15$ and an
# estimate near 3.45; with $\lambda = 100$, $s^* = 1.015$.

# %%
predicted = {"gp10": 1 + w_exact / (2 * 10.0), "gp100": 1 + w_exact / (2 * 100.0)}
print("\nGradient penalty: for a line of slope -s the penalised objective is s W - lambda (s - 1)^2,")
print("whose maximum is at s* = 1 + W / (2 lambda), with estimate s* W:")
for key in ("gp10", "gp100"):
    r = critics[key]
    print(f"  {LABELS[key]:21s}  predicted s* = {predicted[key]:.3f}, estimate "
          f"{predicted[key] * w_exact:.3f};  measured |slope| = {abs(r['slope']):.3f}, median norm "
          f"{r['median_norm']:.3f}, estimate {r['estimate']:.3f}")
gp100 = critics["gp100"]
print(f"With lambda = 100 the estimate is W to {100 * abs(gp100['estimate'] / w_exact - 1):.1f} %, the "
      f"slope between the modes is {gp100['slope']:+.3f},")
print(f"and the gradient norms at the interpolates cluster at {gp100['median_norm']:.3f}: near 1, the "
      "property of the")
print("optimal critic (Gulrajani et al. 2017, Prop. 1).")

# %% [markdown]
# ## 6. The critics drawn
#
# Each critic is drawn relative to its value at $x = 1.5$, beside the optimal $f^*(x) = -x$; the clipped
# one is divided by its $K$ so that it fits the same axis. Then the gradient norms at the interpolates:
# the penalised critics' cluster near $s^*$, the clipped critic's take a few distinct values, all of
# order $K$.

# %%
import matplotlib.pyplot as plt
from scipy.stats import norm

x = critics["gp100"]["grid"]
mid = np.argmin(np.abs(x - MEAN_GAP / 2))
fig, ax = plt.subplots(figsize=(7.5, 4.5))
density = ax.twinx()
density.fill_between(x, norm.pdf(x), color="tab:red", alpha=0.15, label="P = N(0, 1)")
density.fill_between(x, norm.pdf(x, loc=MEAN_GAP), color="tab:green", alpha=0.15, label="Q = N(3, 1)")
density.set_ylim(0, 1.2)
density.set_yticks([])
ax.plot(x, -(x - x[mid]), color="black", ls=":", lw=1.5, label="slope -1: the optimal critic f*(x) = -x")
for key in ("gp10", "gp100"):
    f = critics[key]["f"]
    ax.plot(x, f - f[mid], color=COLORS[key], lw=2, label=f"{LABELS[key]} (slope {critics[key]['slope']:+.3f})")
f = clip["f"]
ax.plot(x, (f - f[mid]) / k_effective, color=COLORS["clip"], lw=2, ls="--",
        label=f"{LABELS['clip']}, divided by K = {k_effective:.1e}")
ax.axvspan(0, MEAN_GAP, color="gray", alpha=0.07)
ax.set_xlabel("x")
ax.set_ylabel("f(x) - f(1.5)")
ax.set_title(f"Critics trained on E_P f - E_Q f; exact W1 = {w_exact:g}", fontsize=10)
lines, names = ax.get_legend_handles_labels()
more, more_names = density.get_legend_handles_labels()
ax.legend(lines + more, names + more_names, fontsize=7, loc="upper right")
cli.save_figure(fig, out / "critic_1d.png")

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
bins = np.linspace(0.8, 1.4, 61)
for key in ("gp10", "gp100"):
    left.hist(np.clip(critics[key]["norms"], 0.8, 1.4), bins=bins, alpha=0.6, color=COLORS[key],
              label=f"{LABELS[key]}: median {critics[key]['median_norm']:.3f}")
    left.axvline(predicted[key], color=COLORS[key], ls="--", lw=1,
                 label=f"predicted s* = {predicted[key]:.3f} (lambda = {rules[key]['gp_weight']:g})")
left.axvline(1.0, color="black", lw=1, label="1 (the optimal critic)")
left.set_xlabel("||grad_x f(x_hat)|| at the interpolates")
left.set_ylabel(f"interpolates x_hat (count of {n_eval})")
left.set_title(f"1-D, N(0, 1) vs N(3, 1): the penalised critics' norms cluster at "
               f"{critics['gp100']['median_norm']:.3f} (lambda = 100)\nand {critics['gp10']['median_norm']:.3f} "
               f"(lambda = 10); dashed: s* = 1 + W / 2 lambda, the optimum for a line", fontsize=10)
left.set_ylim(0, 1.6 * left.get_ylim()[1])  # room above the peaks for the legend
left.legend(fontsize=7, loc="upper left")
right.hist(1e3 * clip["norms"], bins=60, color=COLORS["clip"],
           label=f"1-D clipped critic: median {clip['median_norm']:.1e}")
right.set_xlabel("||grad_x f(x_hat)|| of the clipped critic, in units of 1e-3")
right.set_ylabel(f"interpolates x_hat (count of {n_eval})")
right.set_title(f"Clipping: a few distinct slopes, all of order K = {k_effective:.1e}", fontsize=10)
right.legend(fontsize=8)
cli.save_figure(fig, out / "gradient_norms.png")

# %% [markdown]
# ## 7. Two dimensions: a critic against the exact $W_1$ between two clouds
#
# In 2-D the critic is no longer a line. $P$ is the 8 Gaussians of Gulrajani et al.'s toy code (on a
# circle of radius 1.41), $Q$ a blob $N(0, 0.3^2 I)$ at the origin, each a fixed cloud of $n$ points. The
# critic (penalty, $\lambda = 100$) trains on batches drawn from the two empirical distributions, whose
# $W_1$ is exactly the cost of the optimal assignment between the clouds, computed by
# `tinywgan.transport.ot.emd` (chapter 1).

# %%
rng = Generator(args.seed + 3, args.device)
cloud_p = toy_dataset("8gaussians").sample(n_2d, rng)
cloud_q = rng.normal((n_2d, 2), std=BLOB_STD)
w_exact_2d = emd(cloud_p, cloud_q)


def resample(cloud):
    """Draws from the empirical distribution of the cloud: its W1 to the other cloud is exactly emd's."""
    return lambda m, g: g.xp.take(cloud, g.integers(0, n_2d, (m,)), axis=0)


p_all, q_all = tw.Tensor(cloud_p), tw.Tensor(cloud_q)
critic_2d = make_critic(2, width_2d, Generator(args.seed, args.device))
history_2d = train_critic(critic_2d, resample(cloud_p), resample(cloud_q), steps_2d, n_2d, rng,
                          lambda c: estimate(c, p_all, q_all), gp_weight=100.0, every=max(1, steps_2d // 50),
                          desc="2-D critic, penalty, lambda = 100")
estimate_2d = estimate(critic_2d, p_all, q_all)
norms_2d = to_numpy(critic_gradient_norms(
    critic_2d, interpolate(p_all, q_all, Generator(args.seed + 4, args.device))).data)
median_norm_2d = float(np.median(norms_2d))
print(f"\n== 2. Two dimensions: P = 8 Gaussians (radius 1.41), Q = N(0, {BLOB_STD}^2 I), {n_2d} points "
      "each ==")
print(f"  exact W1 between the two clouds (optimal assignment, tinywgan.transport.ot.emd) = {w_exact_2d:.4f}")
print(f"  GP critic (lambda = 100, MLP 2-{width_2d}-{width_2d}-1, {steps_2d} iterations):  E_P f - E_Q f = "
      f"{estimate_2d:.4f}  ({100 * (estimate_2d / w_exact_2d - 1):+.1f} %)")
print(f"  median ||grad f|| at interpolates = {median_norm_2d:.3f}; the critic is a cone around")
print("  the blob now, not a line, yet its slope is still 1 where the mass travels.")

# %% [markdown]
# ## 8. The estimates while the critics train, and the 2-D critic
#
# The estimate $\mathbb{E}_P f - \mathbb{E}_Q f$ on the evaluation samples after each stretch of training,
# on a log scale, since the clipped critic's sits about a thousand times lower; then the 2-D critic's
# surface over the two clouds.

# %%
def curve(history):
    """Iterations and estimates, without iteration 0 (the constant critic f = 0, off a log scale)."""
    iterations, values = zip(*history[1:])
    return iterations, np.maximum(values, 1e-4)


fig, ax = plt.subplots(figsize=(7, 4.2))
for key in ("clip", "gp10", "gp100"):
    ax.plot(*curve(critics[key]["history"]), color=COLORS[key], label=f"1-D {LABELS[key]}")
ax.plot(*curve(history_2d), color="tab:purple", label="2-D penalty, lambda = 100")
ax.axhline(w_exact, color="black", ls="--", lw=1, label=f"exact W1 = {w_exact:g} (1-D)")
ax.axhline(w_exact_2d, color="tab:purple", ls=":", lw=1, label=f"exact W1 = {w_exact_2d:.3f} (2-D)")
ax.set_yscale("log")
ax.set_xlabel("critic iteration")
ax.set_ylabel("E_P f - E_Q f on evaluation samples")
ax.set_title("The estimate while the critic trains (log scale: clipping sits ~1000x lower)", fontsize=10)
ax.legend(fontsize=7)
cli.save_figure(fig, out / "estimate_vs_iterations.png")

u, v = np.meshgrid(np.linspace(-2.2, 2.2, 111), np.linspace(-2.2, 2.2, 111))
with tw.no_grad():
    grid = tw.tensor(np.stack([u.ravel(), v.ravel()], 1), dtype="float32", device=args.device)
    values = to_numpy(critic_2d(grid).data).reshape(u.shape)
fig, ax = plt.subplots(figsize=(6, 5.2))
surface = ax.contourf(u, v, values, levels=25, cmap="RdBu_r")
ax.contour(u, v, values, levels=25, colors="k", linewidths=0.3)
fig.colorbar(surface, ax=ax, label="f(x)")
ax.scatter(*to_numpy(cloud_p).T, s=4, color="tab:red", label="P: 8 Gaussians")
ax.scatter(*to_numpy(cloud_q).T, s=4, color="tab:green", label=f"Q: N(0, {BLOB_STD}^2 I)")
ax.set_aspect("equal")
ax.set_title(f"2-D GP critic: estimate {estimate_2d:.3f}, exact W1 {w_exact_2d:.3f}", fontsize=10)
ax.legend(fontsize=8, loc="lower right")
cli.save_figure(fig, out / "critic_2d.png")
print(f"\nFigures written to {out}/: critic_1d.png gradient_norms.png estimate_vs_iterations.png "
      "critic_2d.png")

# %%
claims = {
    "w1_exact": w_exact, "optimal_critic_score": ceiling,
    "clip_estimate": clip["estimate"], "clip_k": k_effective,
    "clip_lipschitz": clip["lipschitz"], "clip_median_norm": clip["median_norm"],
    "gp10_estimate": critics["gp10"]["estimate"], "gp10_slope": critics["gp10"]["slope"],
    "gp10_median_norm": critics["gp10"]["median_norm"], "gp10_predicted_slope": predicted["gp10"],
    "gp100_estimate": gp100["estimate"], "gp100_slope": gp100["slope"],
    "gp100_median_norm": gp100["median_norm"], "gp100_predicted_slope": predicted["gp100"],
    "emd_2d": w_exact_2d, "gp_estimate_2d": estimate_2d, "median_norm_2d": median_norm_2d,
}
print(f"\nIn short: the clipped critic measures K * W with K = {k_effective:.1e}; the penalised one "
      f"(lambda = 100) measures\nW = {w_exact:g} as {gp100['estimate']:.3f} in 1-D, and the 2-D W1 = "
      f"{w_exact_2d:.3f} as {estimate_2d:.3f}.")
