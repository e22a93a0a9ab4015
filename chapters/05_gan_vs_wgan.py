# %% [markdown]
# # Chapter 5: a near-optimal GAN discriminator leaves the generator no gradient; a WGAN critic does not
#
# This is the experiment behind Figure 2 of the WGAN paper (Arjovsky et al. 2017): two 1-D Gaussians far
# apart, a GAN discriminator and a WGAN critic each trained on them, and the slopes each one hands to the
# generator. Here the real data is $P_r = N(0, 0.5^2)$ and the generator's current samples are
# $P_g = N(5, 0.5^2)$, held fixed (critic-only loops: no generator is trained). Ten standard deviations
# apart, the two samples practically never overlap.
#
# The chapter trains a GAN discriminator toward optimality and follows the gradient it hands the
# generator; trains two WGAN critics (gradient penalty, weight clipping) on the same data; prints the
# per-sample slopes $|\partial \ell_i / \partial x_i|$ at the fakes for each generator loss; and draws the
# Figure 2 picture: densities, D's saturated sigmoid, the critic's line.
#
# The default run (1000 iterations for each of the three networks) takes 5-10 s on a 2-core machine (the
# more while other work loads it); `--quick` (300 iterations, fewer fakes) about 5 s, most of it spent
# starting Python and loading the libraries.
#
# Run: `python chapters/05_gan_vs_wgan.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
# [--threads N]`, or step through the cells (VS Code, JupyterLab with jupytext); `TINYWGAN_QUICK=1` selects
# `--quick`.

# %%
import numpy as np
from tqdm import tqdm

import tinywgan as tw
from tinywgan import nn
from tinywgan import optim
from tinywgan.data import two_gaussians_1d
from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab import cli
from tinywgan.wgan import clip_weights, gradient_penalty
from tinywgan.wgan import critic_loss, gan_discriminator_loss, gan_generator_loss, generator_loss

args = cli.chapter_options("05_gan_vs_wgan", "Chapter 5: a near-optimal GAN discriminator leaves the generator "
                                             "no gradient; a WGAN critic does not.")
out = args.out
if args.quick:
    steps, batch, width, n_eval = 300, 256, 64, 1000
else:
    steps, batch, width, n_eval = 1000, 256, 64, 5000

MEAN_GAP, STD = 5.0, 0.5  # P_r = N(0, 0.5^2), P_g = N(5, 0.5^2)
GP_WEIGHT, CLIP_VALUE = 10.0, 0.01

pair = two_gaussians_1d(MEAN_GAP, STD)
x_fake = pair.sample_q(n_eval, Generator(args.seed + 1000, args.device))  # the fakes G would move
checkpoints = sorted({s for s in (1, 3, 10, 30, 100, 300, 1000, 3000, steps) if s <= steps})
print(f"== P_r = N(0, {STD}^2) (real), P_g = N({MEAN_GAP:g}, {STD}^2) (the generator's samples, "
      "held fixed) ==")
print(f"networks: MLP 1-{width}-{width}-1, ReLU; {steps} iterations each on batches of {batch}; "
      f"slopes measured at {n_eval} fakes")

# %% [markdown]
# ## 1. The networks, and the gradient each fake hands the generator
#
# The discriminator and the critics are the same network, an MLP $1 \to 64 \to 64 \to 1$ with ReLU whose
# output layer starts at 0: the discriminator's logit, $D = \mathrm{sigmoid}(\text{logit})$, or the
# critic's value $f$ (chapter 4 says why the critic starts as the constant 0).
#
# The generator moves its samples $x_i = g_\theta(z_i)$ down the gradient of its loss, so what a fake
# "receives" is $|\partial \ell_i / \partial x_i|$, the slope of its own term of the loss. The generator
# losses are means over the batch; $n$ times the mean is the sum of the per-sample losses, whose gradient in
# $x_i$ is that sample's own slope (each output depends on its own input only). The three generator
# losses are
#
# - the minimax GAN's (saturating) $\mathbb{E}_g[\log(1 - D(x))]$, slope $-D(x)\,\text{logit}'(x)$;
# - the non-saturating $-\mathbb{E}_g[\log D(x)]$ (Goodfellow et al. 2014, Sec. 3), slope
#   $-(1 - D(x))\,\text{logit}'(x)$;
# - the WGAN's $-\mathbb{E}_g[f(x)]$, slope $-f'(x)$.

# %%
def make_network(width: int, rng: Generator) -> nn.MLP:
    """1 -> width -> width -> 1 ReLU MLP whose output layer starts at 0."""
    net = nn.MLP([1, width, width, 1], activation="relu", rng=rng)
    last = net[-1]
    last.weight.data = last.weight.xp.zeros_like(last.weight.data)
    last.bias.data = last.bias.xp.zeros_like(last.bias.data)
    return net


def per_sample_slopes(net, x_fake, loss) -> np.ndarray:
    """|d loss_i / d x_i| for every fake sample: the gradient each fake hands back to the generator."""
    x = tw.Tensor(x_fake, requires_grad=True)
    total = loss(net(x)) * x.shape[0]  # n * mean = the sum of the per-sample losses
    g, = tw.grad(total, x)
    return np.abs(to_numpy(g.data)[:, 0])


def saturating(logit):
    return gan_generator_loss(logit, saturating=True)    # E_g[log(1 - D(x))], minimised by G


def non_saturating(logit):
    return gan_generator_loss(logit, saturating=False)   # -E_g[log D(x)]


# %% [markdown]
# ## 2. A GAN discriminator trained toward optimality
#
# The discriminator maximises the value function of the minimax game (Goodfellow et al. 2014, Eq. 1; the
# paper review "Understanding Wasserstein GANs: A Mathematical Perspective", the slides on WGAN and WGAN-GP,
# the slides "Wasserstein GANs (WGAN): A Stable Approach to Generative Modeling" and Bereyhi's "Deep
# Generative Models, Chapter 4" write the same one):
#
# $$\max_D \; \mathbb{E}_{x \sim P_r}[\log D(x)] + \mathbb{E}_{x \sim P_g}[\log(1 - D(x))].$$
#
# At the optimum $D^*(x) = p_r(x) / (p_r(x) + p_g(x))$ (Goodfellow et al. 2014, Prop. 1), so on the fakes
# $D$ is 0 to many digits, and the minimax generator's slope $-D(x)\,\text{logit}'(x)$ vanishes with it.
# The better the discriminator, the less the generator learns: the JS divergence saturates on disjoint
# supports (the lecture notes "Wasserstein GANs (WGANs): A Deep Dive"), and a saturated discriminator gives
# vanishing gradients (the slides on WGAN and WGAN-GP). Here $D$ trains alone, with Adam at
# $3 \cdot 10^{-3}$, a fast learner, since the point is a discriminator close to optimal; at checkpoints we
# measure the median slope it hands the fakes.

# %%
D = make_network(width, Generator(args.seed, args.device))
opt = optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
rng = Generator(args.seed + 1, args.device)
d_trace = []  # (iteration, D loss, median D(fake), median saturating slope at the fakes)
for step in tqdm(range(1, steps + 1), desc="GAN discriminator", unit="step", mininterval=0.5):
    real, fake = tw.Tensor(pair.sample_p(batch, rng)), tw.Tensor(pair.sample_q(batch, rng))
    # Discriminator: maximise E_{x~P_r}[log D(x)] + E_{x~P_g}[log(1 - D(x))]  (Goodfellow et al. 2014,
    # Eq. 1), i.e. minimise the binary cross-entropy, written with log-sigmoids of the logits.
    loss = gan_discriminator_loss(D(real), D(fake))
    D.zero_grad()
    loss.backward()
    opt.step()
    if step in checkpoints:
        slopes = per_sample_slopes(D, x_fake, saturating)
        with tw.no_grad():
            d_fake = to_numpy(tw.sigmoid(D(tw.Tensor(x_fake))).data)[:, 0]
        d_trace.append((step, loss.item(), float(np.median(d_fake)), float(np.median(slopes))))

print("\n1. Training the discriminator toward optimality: the better D, the smaller G's gradient")
print("   D iteration    D loss    median D(fake)   median |d log(1 - D(x)) / dx| at the fakes")
for step, loss, d_fake, slope in d_trace:
    print(f"   {step:11d}  {loss:8.2e}   {d_fake:14.2e}   {slope:12.2e}")
peak = max(d_trace, key=lambda row: row[3])
print(f"   (D starts as the constant 1/2, whose slope is 0; G's gradient peaks at {peak[3]:.1e} after "
      f"{peak[0]} iterations,")
print(f"   while D is still unsure, and falls to {d_trace[-1][3]:.1e} as D becomes confident.)")

# %% [markdown]
# ## 3. WGAN critics trained alone on the same data
#
# A WGAN critic $f$ has no sigmoid (it gives scores, not probabilities: the slides "Wasserstein GANs (WGAN):
# A Stable Approach to Generative Modeling") and is kept Lipschitz, by the gradient penalty (Gulrajani et
# al. 2017, Eq. 3, $\lambda = 10$) or by weight clipping (Arjovsky et al. 2017, Algorithm 1, $c = 0.01$).
# It maximises
#
# $$\mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_g}[f(x)] \;\big[-\, \lambda\,
#   \mathbb{E}_{\hat x}\big(\|\nabla_x f(\hat x)\| - 1\big)^2\big],$$
#
# with the optimizers of chapter 4. The generator's slope $-f'(x)$ should come out about 1 everywhere
# between the modes for the penalised critic ($1 + W / 2\lambda = 1.25$ here, chapter 4), $K$ for the
# clipped one, and never zero; and it should not shrink as the critic trains.

# %%
def train_critic(steps: int, gp_weight: float = 0.0, clip_value: float = 0.0, desc: str = "critic") -> tuple:
    """A WGAN critic trained alone against P_r and P_g; its median slope at the fakes at the checkpoints."""
    critic = make_network(width, Generator(args.seed, args.device))
    if clip_value > 0:
        opt = optim.RMSprop(critic.parameters(), lr=5e-4)   # Arjovsky et al. 2017 use RMSProp (lr 5e-5)
    else:
        opt = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = Generator(args.seed + 1, args.device)
    trace = []  # (iteration, median slope at the fakes)
    for step in tqdm(range(1, steps + 1), desc=desc, unit="step", mininterval=0.5):
        real, fake = tw.Tensor(pair.sample_p(batch, rng)), tw.Tensor(pair.sample_q(batch, rng))
        # Critic: maximise E_{x~P_r}[f(x)] - E_{x~P_g}[f(x)]  (Arjovsky et al. 2017, Eq. 3), i.e. minimise
        # E_g f - E_r f, plus lambda E[(||grad f(x_hat)|| - 1)^2] for WGAN-GP (Gulrajani et al. 2017, Eq. 3).
        loss = critic_loss(critic(real), critic(fake))
        if gp_weight > 0:
            loss = loss + gradient_penalty(critic, real, fake, rng, weight=gp_weight)
        critic.zero_grad()
        loss.backward()
        opt.step()
        if clip_value > 0:
            clip_weights(critic, clip_value)  # Arjovsky et al. 2017, Algorithm 1, line 7
        if step in checkpoints:
            trace.append((step, float(np.median(per_sample_slopes(critic, x_fake, generator_loss)))))
    return critic, trace


gp, gp_trace = train_critic(steps, gp_weight=GP_WEIGHT, desc=f"WGAN-GP critic, lambda = {GP_WEIGHT:g}")
clip, clip_trace = train_critic(steps, clip_value=CLIP_VALUE, desc=f"WGAN clipped critic, c = {CLIP_VALUE:g}")
print("   WGAN-GP critic iteration   median |d(-f(x)) / dx| at the fakes")
for step, slope in gp_trace:
    print(f"   {step:24d}   {slope:10.4f}")

# %% [markdown]
# ## 4. The gradient each fake receives, after training
#
# For comparison, the optimal discriminator's slope in closed form: for two Gaussians of equal variance
# $\text{logit}^*(x) = \log p_r(x) - \log p_g(x) = (m^2 - 2 m x) / (2 \sigma^2)$, a line in $x$, and
#
# $$\Big|\frac{d}{dx} \log(1 - D^*(x))\Big| = \mathrm{sigmoid}(\text{logit}^*(x))\,
#   \frac{2 m}{2 \sigma^2},$$
#
# computed in float64. The mean over the fakes is what a generator that shifts all its samples at once would
# receive.

# %%
def optimal_discriminator_logit(x: np.ndarray) -> np.ndarray:
    """log p_r(x) - log p_g(x) for the two Gaussians: (m^2 - 2 m x) / (2 sigma^2), a line in x."""
    return (MEAN_GAP ** 2 - 2 * MEAN_GAP * x) / (2 * STD ** 2)


def optimal_saturating_slope(x: np.ndarray) -> np.ndarray:
    """|d/dx log(1 - D*(x))| = sigmoid(logit*) |logit*'| with D* = p_r / (p_r + p_g), in float64."""
    logit = optimal_discriminator_logit(x)
    return np.exp(-np.logaddexp(0.0, -logit)) * (2 * MEAN_GAP / (2 * STD ** 2))


slopes = {"saturating": per_sample_slopes(D, x_fake, saturating),
          "non_saturating": per_sample_slopes(D, x_fake, non_saturating),
          "wgan_gp": per_sample_slopes(gp, x_fake, generator_loss),
          "wgan_clip": per_sample_slopes(clip, x_fake, generator_loss),
          "optimal_d": optimal_saturating_slope(to_numpy(x_fake)[:, 0].astype(np.float64))}
labels = {"saturating": "GAN, saturating   log(1 - D(x))",
          "non_saturating": "GAN, non-saturating   -log D(x)",
          "wgan_gp": f"WGAN-GP critic   -f(x), lambda {GP_WEIGHT:g}",
          "wgan_clip": f"WGAN clipped critic   -f(x), c {CLIP_VALUE:g}",
          "optimal_d": "GAN, saturating, optimal D* (theory)"}
median = {k: float(np.median(v)) for k, v in slopes.items()}
mean = {k: float(np.mean(v)) for k, v in slopes.items()}
print("\n2. The gradient each fake sample receives, |d loss_i / d x_i|, after training:")
print("   loss the generator minimises                 median         mean          max")
for key, values in slopes.items():
    print(f"   {labels[key]:42s}  {median[key]:10.3e}  {mean[key]:10.3e}  {np.max(values):10.3e}")
print(f"   saturating GAN / WGAN-GP: {median['saturating'] / median['wgan_gp']:.1e} for the medians, "
      f"{mean['saturating'] / mean['wgan_gp']:.1e} for the means")
print("   (the mean is what a generator that shifts all its samples at once would receive).")
predicted = 1 + MEAN_GAP / (2 * GP_WEIGHT)
print("   The minimax GAN's gradient at the fakes is gone (the few fakes nearest the data keep some);")
print(f"   the optimal D* would leave {median['optimal_d']:.0e}. The WGAN critics' slopes are the same")
print(f"   at every fake: {median['wgan_gp']:.3f} for the penalty (1 + W / 2 lambda = {predicted:.2f}), "
      f"{median['wgan_clip']:.1e} for")
print("   clipping (its K).")
print(f"   The non-saturating loss keeps a slope ({median['non_saturating']:.2f}), the steepness of D's "
      "logit, which")
print("   keeps growing while D trains, unlike the critic's.")
zero = float(np.mean(slopes["saturating"] == 0))
if zero > 0:
    print(f"   A 0 above is exact: for {100 * zero:.0f} % of the fakes D(x) underflows to 0 in float32 (the "
          "logit is below")
    print("   about -103, where exp(logit) is under float32's smallest subnormal, 1.4e-45): their slope is 0.")

# %% [markdown]
# ## 5. The Figure 2 picture
#
# Top: the two densities, the discriminator's sigmoid (flat at 0 over the fakes) beside the optimal $D^*$,
# and the penalised critic, a line. Bottom: the slope every loss hands the generator at each $x$, on a log
# scale. The non-saturating loss keeps a slope, but its size is set by how confident $D$ is, not by how far
# $P_g$ is from $P_r$ (Arjovsky & Bottou 2017 study it); the critic's is about 1 wherever the fakes are.

# %%
import matplotlib.pyplot as plt
from scipy.stats import norm

x = np.linspace(-2.0, MEAN_GAP + 2.0, 601)
grid = tw.tensor(x[:, None], dtype="float32", device=args.device)
with tw.no_grad():
    d_x = to_numpy(tw.sigmoid(D(grid)).data)[:, 0]
    f_x = to_numpy(gp(grid).data)[:, 0]
slopes_on_grid = {
    "GAN, saturating: |d log(1 - D) / dx|": (per_sample_slopes(D, grid.data, saturating), "tab:red"),
    "GAN, non-saturating: |d log D / dx|": (per_sample_slopes(D, grid.data, non_saturating), "tab:pink"),
    "WGAN-GP critic: |df / dx|": (per_sample_slopes(gp, grid.data, generator_loss), "tab:blue"),
    "WGAN clipped critic: |df / dx|": (per_sample_slopes(clip, grid.data, generator_loss), "tab:cyan"),
    "optimal D*, saturating (theory)": (optimal_saturating_slope(x), "black"),
}
fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7.5), sharex=True)
top.fill_between(x, norm.pdf(x, scale=STD) / norm.pdf(0, scale=STD), color="tab:green", alpha=0.2,
                 label="real P_r (density, scaled)")
top.fill_between(x, norm.pdf(x, loc=MEAN_GAP, scale=STD) / norm.pdf(0, scale=STD), color="tab:purple",
                 alpha=0.2, label="fake P_g (density, scaled)")
top.plot(x, d_x, color="tab:red", lw=2, label="GAN discriminator D(x)")
top.plot(x, 1 / (1 + np.exp(-optimal_discriminator_logit(x))), color="black", ls=":", lw=1.5,
         label="optimal D* = p_r / (p_r + p_g)")
top.set_ylim(-0.05, 1.1)
top.set_ylabel("probability")
right = top.twinx()
right.plot(x, f_x - f_x.mean(), color="tab:blue", lw=2, label="WGAN-GP critic f(x)")
right.set_ylabel("critic value f(x) (centred)")
handles, names = top.get_legend_handles_labels()
more, more_names = right.get_legend_handles_labels()
top.legend(handles + more, names + more_names, fontsize=7, loc="center right")
top.set_title("Two far-apart Gaussians: D saturates, the critic stays a line (cf. Arjovsky et al. 2017, "
              "Fig. 2)", fontsize=10)
for name, (values, color) in slopes_on_grid.items():
    bottom.semilogy(x, np.maximum(values, 1e-20), color=color, lw=1.5, ls=":" if color == "black" else "-",
                    label=name)
gan = slopes_on_grid["GAN, saturating: |d log(1 - D) / dx|"][0]
if np.any(gan == 0):
    first = x[np.argmax(gan == 0)]
    bottom.annotate("exactly 0 from here:\nD(x) = 0 in float32", (first, 1e-17),
                    xytext=(first + 0.15, 1e-14), fontsize=7, color="tab:red",
                    arrowprops={"arrowstyle": "->", "color": "tab:red"})
bottom.axvspan(MEAN_GAP - 2 * STD, MEAN_GAP + 2 * STD, color="tab:purple", alpha=0.1,
               label="where the fakes are (mean +- 2 std)")
bottom.set_ylim(1e-18, 1e3)
bottom.set_xlabel("x")
bottom.set_ylabel("slope the generator receives at x")
bottom.legend(fontsize=7, loc="lower left")
cli.save_figure(fig, out / "gan_vs_wgan.png")

# %% [markdown]
# ## 6. Training longer: the discriminator's gradient dies, the critic's does not
#
# The median slope at the fakes at each checkpoint of the three training runs above, on log-log axes. A
# checkpoint where the GAN's median slope is exactly 0 (float32 underflow of $D$) would be drawn as a hollow
# marker on the plot's floor, $10^{-9}$.

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
floor = 1e-9
iterations, _, _, d_slopes = zip(*d_trace)
iterations, d_slopes = np.asarray(iterations), np.asarray(d_slopes)
exactly_zero = d_slopes == 0
ax.loglog(iterations, np.maximum(d_slopes, floor), "o-", color="tab:red", markevery=list(~exactly_zero),
          label="GAN: median |d log(1 - D) / dx| at the fakes")
if exactly_zero.any():
    ax.loglog(iterations[exactly_zero], np.full(exactly_zero.sum(), floor), "o", mfc="none", mec="tab:red",
              label=f"GAN: median exactly 0 (D(x) = 0 in float32), drawn at {floor:.0e}")
iterations, gp_slopes = zip(*gp_trace)
ax.loglog(iterations, gp_slopes, "s-", color="tab:blue", label="WGAN-GP: median |df / dx| at the fakes")
iterations, clip_slopes = zip(*clip_trace)
ax.loglog(iterations, clip_slopes, "^-", color="tab:cyan", label="WGAN clipped: median |df / dx| at the fakes")
ax.set_xlabel("iterations of the discriminator / critic")
ax.set_ylabel("gradient handed to the generator")
ax.set_title("Training D longer kills G's gradient; training the critic longer does not", fontsize=10)
ax.legend(fontsize=8)
cli.save_figure(fig, out / "gradients_while_training.png")
print(f"\nFigures written to {out}/: gan_vs_wgan.png gradients_while_training.png")

# %%
claims = {
    "gan_saturating_median": median["saturating"], "gan_saturating_mean": mean["saturating"],
    "gan_non_saturating_median": median["non_saturating"],
    "wgan_gp_median": median["wgan_gp"], "wgan_gp_mean": mean["wgan_gp"],
    "wgan_gp_min": float(np.min(slopes["wgan_gp"])), "predicted_gp_slope": predicted,
    "wgan_clip_median": median["wgan_clip"], "wgan_clip_min": float(np.min(slopes["wgan_clip"])),
    "optimal_d_saturating_median": median["optimal_d"],
    "ratio_saturating_to_gp": median["saturating"] / median["wgan_gp"],
    "d_fake_median": d_trace[-1][2],
    "saturating_peak": max(row[3] for row in d_trace), "saturating_last_checkpoint": d_trace[-1][3],
}
print(f"\nIn short: after {steps} iterations the saturating GAN loss hands the median fake "
      f"{median['saturating']:.1e}, the WGAN-GP critic {median['wgan_gp']:.3f}\n(a ratio of "
      f"{claims['ratio_saturating_to_gp']:.1e}), and the clipped critic {median['wgan_clip']:.1e}.")
