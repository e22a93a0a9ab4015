# %% [markdown]
# # Chapter 6: a WGAN trained as the WGAN paper trains it, with weight clipping
#
# The critic is meant to solve the Kantorovich-Rubinstein dual of the Earth Mover's distance (chapter 1;
# Arjovsky et al. 2017, Eq. 2; the lecture notes "Wasserstein GANs (WGANs): A Deep Dive"):
#
# $$W(P_r, P_g) = \sup_{\|f\|_L \le 1} \mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_g}[f(x)].$$
#
# A network has no Lipschitz constraint of its own, so Arjovsky et al. impose a crude one: after every update
# of the critic, clip each weight into $[-c, c]$ with $c = 0.01$. A network whose weights lie in a compact box
# is $K$-Lipschitz for some $K$ that depends on $c$ and the architecture, and maximising over a family of
# $K$-Lipschitz functions $f_w$ gives $K \cdot W$, not $W$ (Arjovsky et al. 2017, Eq. 3; the "K-Lipschitz"
# scaling of the slides on WGAN and WGAN-GP). The generator only needs the direction of $\nabla_\theta W$, so
# $K$ does no harm there, but the critic's number is $W$ up to an unknown scale.
#
# This chapter
#
# 1. writes the paper's Algorithm 1 as a loop you can read line by line, and checks that
#    `tinywgan.wgan.train`, the trainer the other chapters call, is that loop;
# 2. trains on a ring of 8 Gaussians and watches the samples climb the critic's surface;
# 3. asks whether the critic's estimate follows the exact $W_1$ (the "meaningful loss");
# 4. looks at where the clipped weights end up.
#
# Settings. `--paper` is the papers' scale (3 hidden layers of 512 units, 100k generator steps; for a GPU).
# The default is what two CPU cores finish in a few minutes: 3 x 128 units and fewer steps
# (`tinywgan.lab.experiment.CPU`). The clipping recipe itself (RMSprop $\alpha = 5 \cdot 10^{-5}$,
# $c = 0.01$, $n_\text{critic} = 5$, batch 256, a constant learning rate) is the paper's at every scale: this
# chapter shows that recipe and its limits. Chapter 7's remedies for a generator that circles the modes, a
# decaying learning rate and an averaged generator, are options here too (`--lr-schedule linear`,
# `--ema 0.999`). Chapter 7 reruns exactly this run, with the same seed and budget, beside the gradient penalty.
#
# Run: `python chapters/06_wgan_weight_clipping.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
# [--steps N] [--lr-schedule constant|linear] [--ema DECAY] [--quick] [--out DIR] [--seed N]
# [--device cpu|gpu|strict] [--threads N]`, or step through the
# cells (VS Code, JupyterLab with jupytext); `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import dataclasses
import math

import numpy as np

from tinywgan.data import toy_dataset
from tinywgan.engine import Tensor, no_grad
from tinywgan.engine.backend import Generator
from tinywgan.lab import cli
from tinywgan.lab import experiment as ex
from tinywgan.lab import plots
from tinywgan.optim import RMSprop
from tinywgan.wgan import clip_weights, critic_loss, generator_loss, train

args = cli.chapter_options("06_wgan_weight_clipping", "Chapter 6: a WGAN trained with weight clipping",
                           add_options=ex.add_toy_options)
scale = ex.scale_of(args)
data = toy_dataset(args.dataset)
config = ex.toy_config("clip", scale.steps, args.seed, args.device, paper=args.paper)
out = args.out

# %% [markdown]
# ## 1. Algorithm 1, line by line
#
# Arjovsky et al. 2017, Algorithm 1, with their defaults $\alpha = 5 \cdot 10^{-5}$, $c = 0.01$,
# $n_\text{critic} = 5$ (their batch is $m = 64$; ours is 256):
#
# - for $n_\text{critic}$ iterations: sample a batch of real data $x^{(i)} \sim P_r$ and of noise
#   $z^{(i)} \sim p(z)$; take the critic's gradient
#   $g_w = \nabla_w \big[\frac1m \sum_i f_w(x^{(i)}) - \frac1m \sum_i f_w(g_\theta(z^{(i)}))\big]$;
#   step up with RMSprop, $w \leftarrow w + \alpha\, \mathrm{RMSProp}(w, g_w)$; clip, $w \leftarrow
#   \mathrm{clip}(w, -c, c)$;
# - then sample noise again and step the generator down its loss:
#   $g_\theta = -\nabla_\theta \frac1m \sum_i f_w(g_\theta(z^{(i)}))$,
#   $\theta \leftarrow \theta - \alpha\, \mathrm{RMSProp}(\theta, g_\theta)$.
#
# Our optimizers minimise, so the critic minimises the negated objective, `critic_loss` $= \mathbb{E}
# f(\text{fake}) - \mathbb{E} f(\text{real})$, and $-$`critic_loss` is the running estimate of $K \cdot W$.
# The comments number the lines of the paper's Algorithm 1.

# %%
def wgan_clipping(generator, critic, sample_real, steps, rng, lr=5e-5, c=0.01, m=256, n_critic=5,
                  noise_dim=2):
    """Arjovsky et al. 2017, Algorithm 1. Returns the critic's estimate -critic_loss after each generator step."""
    opt_critic = RMSprop(critic.parameters(), lr=lr)
    opt_generator = RMSprop(generator.parameters(), lr=lr)
    estimates = []
    for step in range(steps):                                  # 1: while theta has not converged do
        for t in range(n_critic):                              # 2:   for t = 0, ..., n_critic do
            x = Tensor(sample_real(m, rng))                    # 3:     sample {x_i} ~ P_r, a batch of real data
            z = Tensor(rng.normal((m, noise_dim)))             # 4:     sample {z_i} ~ p(z), a batch of priors
            with no_grad():                                    #        (theta is fixed here: no graph through g)
                fake = generator(z)
            loss = critic_loss(critic(x), critic(fake))        # 5:     g_w <- grad_w [mean f(x) - mean f(g(z))]
            opt_critic.zero_grad()                             #        (we minimise the negation: -g_w)
            loss.backward()
            opt_critic.step()                                  # 6:     w <- w + alpha * RMSProp(w, g_w)
            clip_weights(critic, c)                            # 7:     w <- clip(w, -c, c)
        z = Tensor(rng.normal((m, noise_dim)))                 # 9:   sample {z_i} ~ p(z)
        g_loss = generator_loss(critic(generator(z)))          # 10:  g_theta <- -grad_theta mean f(g_theta(z))
        opt_generator.zero_grad()
        g_loss.backward()
        opt_generator.step()                                   # 11:  theta <- theta - alpha * RMSProp(theta, g_theta)
        estimates.append(-loss.item())
    return estimates


# %% [markdown]
# The trainer every later chapter calls, `tinywgan.wgan.train(config, sample_real, generator, critic)`, runs
# this loop and adds what a long run needs: a log, a progress bar, checkpoints to resume from, a stop with the
# step's number when a loss turns NaN. One seed fixes both the networks and the random stream, so the two
# must agree to the last bit: we run each for a few generator steps from the same start and compare.

# %%
check_steps = 3
pair_a = ex.make_networks(scale.width, scale.depth, config.noise_dim, config.seed, config.device)
pair_b = ex.make_networks(scale.width, scale.depth, config.noise_dim, config.seed, config.device)
ours = wgan_clipping(*pair_a, data.sample, check_steps, Generator(config.seed, config.device), lr=config.lr,
                     c=config.clip_value, m=config.batch_size, n_critic=config.n_critic,
                     noise_dim=config.noise_dim)
paper_algorithm = dataclasses.replace(config, steps=check_steps, progress=False, lr_schedule="constant",
                                      ema_decay=None)
log = train(paper_algorithm, data.sample, *pair_b)
weights_a = [p.numpy() for net in pair_a for p in net.parameters()]
weights_b = [p.numpy() for net in pair_b for p in net.parameters()]
algorithm_difference = max(float(np.max(np.abs(a - b))) for a, b in zip(weights_a, weights_b))
print(f"  W estimate after each of {check_steps} generator steps:")
print("    the loop above:        " + "  ".join(f"{w:.8g}" for w in ours))
print("    tinywgan.wgan.train:   " + "  ".join(f"{w:.8g}" for w in log.w_estimate))
print(f"  largest difference between the two runs' weights: {algorithm_difference:g}")

# %% [markdown]
# ## 2. Training, and the samples on the critic's surface
#
# Now the whole run, through the trainer, measured along the way (`tinywgan.lab.experiment.run_toy`): at
# evenly spaced steps the exact $W_1$ between generated and real samples (an optimal assignment, chapter 1),
# the critic's estimate, the modes covered and the share of high-quality samples (within 3 standard
# deviations of a mode's centre).

# %%
print("== 2. WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1) ==")
run = ex.train_tool("clip", args, scale, data)
c = config.clip_value
ex.print_evaluations(run, bound=True)
ex.print_final(run)

# %% [markdown]
# The generator's samples (orange) over the data (black) on the critic's contours, at several steps: the
# samples climb the critic's surface toward the modes. The surface is smooth and coarse: with every weight
# stuck in a tiny box the critic can hardly bend (Gulrajani et al. 2017, Fig. 1a: clipped critics miss the
# higher moments of the data).

# %%
plots.snapshots_figure(run, out / "samples_critic_clip.png",
                       f"WGAN with weight clipping on {data.name}: samples (orange) over data (black)")

# %% [markdown]
# ## 3. Does the critic's estimate follow the exact W1?
#
# The "meaningful loss" (Arjovsky et al. 2017, Sec. 4.2 and Fig. 3; the paper review "Understanding
# Wasserstein GANs: A Mathematical Perspective"): a GAN's discriminator loss says little about sample
# quality, but the WGAN critic's estimate should fall as the generator gets better. In 2D we can check it
# against the truth at each evaluation, and the ratio estimate / $W_1$ is a rough reading of $K$. The product
# of the layers' spectral norms bounds $K$ from above (ReLU is 1-Lipschitz).

# %%
r, rho = run.correlation()
first, last = run.evaluations[0], run.evaluations[-1]
k_reading = last.w_estimate / last.w1
k_bound = math.prod(ex.spectral_norms(run.critic))
print("== 3. Does the critic's estimate follow the exact W1? ==")
print(f"  W estimate: {first.w_estimate:.3g} at step {first.step} -> {last.w_estimate:.3g} at step {last.step}")
print(f"  exact W1:   {first.w1:.4f} at step {first.step} -> {last.w1:.4f} at step {last.step}")
print(f"  correlation over {len(run.evaluations)} evaluations: Pearson {r:.3f}, Spearman (ranks) {rho:.3f}")
if r > 0.5:
    print("  The estimate moves with W1: the loss says how far the generator still is.")
else:
    print(f"  In this run the estimate does not follow W1 (r = {r:.2f}); the default run's does"
          + (" (this is a --quick run: too few steps)." if args.quick else "."))
print(f"  The estimate is K * W with K set by c: final estimate / exact W1 = {k_reading:.3g};")
print(f"  mean ||grad_x f|| at interpolates = {np.mean(run.gradient_norms):.3g} "
      f"(max {np.max(run.gradient_norms):.3g}); product of the layers' spectral norms, an upper")
print(f"  bound on K, = {k_bound:.3g}. A 1-Lipschitz critic would have norms near 1 (chapter 7).")
plots.w_tracking_figure([run], out / "w_estimate_vs_w1.png")

# %% [markdown]
# ## 4. The critic's weights and the box $[-c, c]$
#
# Gulrajani et al. 2017 (Sec. 3, Fig. 1b) saw clipping push most weights to the two ends of $[-c, c]$. We count
# the weights within 1% of $\pm c$ along training and draw their histogram.

# %%
weights = ex.critic_weights(run.critic)
at_bound = ex.fraction_at_bound(weights, c)
print(f"== 4. The critic's weights and the box [-{c}, {c}] ==")
_, initial_critic = ex.make_networks(scale.width, scale.depth, config.noise_dim, config.seed, config.device)
outside = float(np.mean(np.abs(ex.critic_weights(initial_critic)) > c))
print(f"  at initialisation {100 * outside:.1f} % of the weights lie outside the box (a hidden layer draws "
      f"them from +-1/sqrt({scale.width}) = +-{1 / math.sqrt(scale.width):.3f}),")
print("  so the first clip puts them on its walls. Training could move them back inside: RMSprop moves a")
print(f"  weight by about lr = {config.lr:g} per update, {2 * c / config.lr:.0f} updates to cross the box, and "
      f"{scale.steps * config.n_critic} updates were made.")
print(f"  share within 1% of +-c: {100 * run.evaluations[0].weights_at_bound:.1f} % at step "
      f"{run.evaluations[0].step}, {100 * at_bound:.1f} % at step {run.evaluations[-1].step}")
print(f"  parameters the last critic update of step 1 pushed out and clipping put back: "
      f"{100 * run.log.clipped_fraction[0]:.1f} %; of step {len(run.log)}: {100 * run.log.clipped_fraction[-1]:.1f} %")
print("  The gradient keeps pushing these weights outward, so they stay at the walls: the critic spends its")
print("  capacity against the constraint instead of on the shape of the data (Gulrajani et al. 2017, Sec. 3).")
plots.weight_histograms([run], [weights], c, out / "weight_histogram.png")

# %% [markdown]
# ## What this run claims
#
# The numbers above, gathered (the tests check them on a quick run), and a one-line summary.

# %%
claims = {**ex.claims(run), "weights_at_bound": at_bound,
          "weights_at_bound_first": run.evaluations[0].weights_at_bound,
          "clipped_fraction_first": run.log.clipped_fraction[0], "initial_outside": outside,
          "clipped_fraction_last": run.log.clipped_fraction[-1],
          "k_reading": k_reading, "k_bound": k_bound, "max_abs_weight": float(np.max(np.abs(weights))),
          "algorithm": {"loop": ours, "trainer": list(log.w_estimate), "max_difference": algorithm_difference}}
print(f"Figures written to {out}/: samples_critic_clip.png w_estimate_vs_w1.png weight_histogram.png")
print(ex.summary("WGAN-clip", run) + f"; W estimate vs W1 r = {r:.3f}; {100 * at_bound:.1f}% of weights at +-c")
