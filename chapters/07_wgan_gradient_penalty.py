# %% [markdown]
# # Chapter 7: the gradient penalty (WGAN-GP), the same task as chapter 6 with a better Lipschitz tool
#
# Chapter 6 kept the critic Lipschitz by clipping its weights into $[-c, c]$, and saw the price: the weights
# pile up at the two walls of the box and the critic's surface comes out coarse. Gulrajani et al. 2017
# ("Improved Training of Wasserstein GANs"; also the slides on WGAN and WGAN-GP and the paper review
# "Understanding Wasserstein GANs: A Mathematical Perspective") replace the box by a soft constraint built on
# a property of the optimal critic $f^*$ (their Proposition 1): where $f^*$ is differentiable, on every segment
# between a real point $y$ and the generated point $x$ that the optimal plan sends to it, $\nabla f^*$ is the
# unit vector along the segment, so $\|\nabla f^*\| = 1$ almost everywhere under $P_r$ and $P_g$. A
# differentiable function is 1-Lipschitz exactly when its gradient norm is at most 1 everywhere, so they
# penalise the critic's gradient norm for leaving 1 at random points between the two distributions
# (Gulrajani et al. 2017, Eq. 3):
#
# $$L = \mathbb{E}_{\tilde x \sim P_g}[f(\tilde x)] - \mathbb{E}_{x \sim P_r}[f(x)]
#   + \lambda\, \mathbb{E}_{\hat x}\big[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2\big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon) \tilde x,\ \epsilon \sim U[0, 1].$$
#
# The penalty contains a gradient, so its own gradient with respect to the critic's weights is a gradient of a
# gradient: the double backprop the engine was built for (`tinywgan.wgan.gradient_penalty`, chapter 3). The
# optimizer changes too: Adam instead of RMSprop, and nothing is clipped.
#
# The penalty is soft. A critic that keeps its shape but steepens by a factor $s$ gains $sW$ in the objective
# and pays $\lambda (s - 1)^2$, so it settles at $s = 1 + W / (2\lambda)$ and reports
# $sW = W + W^2 / (2\lambda)$ (chapter 4). With the toy weight $\lambda = 0.1$ the estimate is well above $W$
# early on, while $W$ is large, and comes down to $W$ as the generator closes in.
#
# Settings. The paper's toy run (`--paper`: 3 hidden layers of 512 units, 100k steps, Adam lr $10^{-4}$ with
# betas (0.5, 0.9) and $\lambda = 0.1$ for the toy sets, as in its released code; for a GPU) would take days
# on two CPU cores. The default takes about 8 minutes there for both of its runs (the target is 10): 3 x 128
# units, 10000 generator steps, a larger learning rate, $10^{-3}$ for both networks, decaying linearly to 0, and
# the generator's weights averaged (section 2; `tinywgan.lab.experiment.CPU`, `CPU_RECIPE`; the runs behind
# these choices, over seeds 0-4, are in docs/tuning.md). Penalty weight 0.1 as in the toy code: with
# $\lambda = 10$ the toy generator stays collapsed on one mode for thousands of steps. Budgets are in generator
# steps, not wall time, so a run is the same run on every machine; the time per step is printed.
#
# Run: `python chapters/07_wgan_gradient_penalty.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
# [--steps N] [--lr-schedule constant|linear] [--ema DECAY] [--seeds 0-4] [--quick] [--out DIR] [--seed N]
# [--device cpu|gpu|strict] [--threads N]`, or step through the cells (VS Code, JupyterLab with jupytext);
# `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import dataclasses

import numpy as np

from tinywgan.data import toy_dataset
from tinywgan.engine import Tensor, no_grad
from tinywgan.engine.backend import Generator
from tinywgan.lab import cli
from tinywgan.lab import experiment as ex
from tinywgan.lab import plots
from tinywgan.lab import sweep
from tinywgan.optim import Adam
from tinywgan.wgan import critic_gradient_norms, critic_loss, generator_loss, train



def options(parser):
    ex.add_toy_options(parser)
    parser.add_argument("--seeds", default=None, metavar="LIST",
                        help="also rerun the gradient-penalty run at these seeds (e.g. 0-4 or 0,3,7) and print "
                             "one row per seed with the mean and standard deviation")
    cli.add_check(parser, lambda a: a.seeds is None or sweep.parse_seeds(a.seeds))  # refused before any work


args = cli.chapter_options("07_wgan_gradient_penalty", "Chapter 7: the gradient penalty (WGAN-GP)",
                           add_options=options)
seeds = sweep.parse_seeds(args.seeds) if args.seeds is not None else None
scale = ex.scale_of(args)
data = toy_dataset(args.dataset)
config = ex.toy_config("gp", scale.steps, args.seed, args.device, paper=args.paper)
out = args.out

# %% [markdown]
# ## 1. Algorithm 1 of Gulrajani et al., line by line
#
# Their Algorithm 1 (defaults $\lambda = 10$, $n_\text{critic} = 5$, Adam with $\alpha = 10^{-4}$,
# $\beta_1 = 0$, $\beta_2 = 0.9$; their toy code uses $\lambda = 0.1$ and $\beta_1 = 0.5$):
#
# - for $n_\text{critic}$ iterations, for each sample $i$ of a batch of $m$: a real $x \sim P_r$, a noise
#   $z \sim p(z)$ and a random number $\epsilon \sim U[0, 1]$; the fake $\tilde x = G_\theta(z)$; the point
#   $\hat x = \epsilon x + (1 - \epsilon)\tilde x$ between them; the loss
#   $L^{(i)} = D_w(\tilde x) - D_w(x) + \lambda (\|\nabla_{\hat x} D_w(\hat x)\|_2 - 1)^2$;
#   then one Adam step of $w$ on the batch mean of $L^{(i)}$;
# - then a batch of noise and one Adam step of $\theta$ on $-\frac1m \sum_i D_w(G_\theta(z^{(i)}))$.
#
# The loop over $i$ is the batch dimension of our arrays. The comments number the lines of the algorithm.

# %%
def wgan_gp(generator, critic, sample_real, steps, rng, lr=1e-4, critic_lr=1e-4, betas=(0.5, 0.9), lam=0.1,
            m=256, n_critic=5, noise_dim=2):
    """Gulrajani et al. 2017, Algorithm 1. Returns the critic's estimate E f(real) - E f(fake) (without the
    penalty) after each generator step."""
    opt_critic = Adam(critic.parameters(), lr=critic_lr, betas=betas)
    opt_generator = Adam(generator.parameters(), lr=lr, betas=betas)
    estimates = []
    for step in range(steps):                                  # 1: while theta has not converged do
        for t in range(n_critic):                              # 2:   for t = 1, ..., n_critic do
            x = Tensor(sample_real(m, rng))                    # 3-4:   for i = 1..m (the batch): real x ~ P_r,
            z = Tensor(rng.normal((m, noise_dim)))             #        latent z ~ p(z),
            with no_grad():                                    #        (theta is fixed here: no graph through G)
                x_tilde = generator(z)                         # 5:     x~ <- G(z)
            loss = critic_loss(critic(x), critic(x_tilde))     # 7:     L <- D(x~) - D(x)
            eps = rng.uniform((m, 1), dtype=x.dtype)           # 4:     eps ~ U[0, 1], one per sample
            x_hat = Tensor(x_tilde.data + eps * (x.data - x_tilde.data),
                           requires_grad=True)                 # 6:     x^ <- eps x + (1 - eps) x~
            gap = critic_gradient_norms(critic, x_hat, create_graph=True) - 1.0  # ||grad_x^ D(x^)|| - 1
            penalty = lam * (gap * gap).mean()                 # 7:       + lambda (||grad D(x^)|| - 1)^2
            opt_critic.zero_grad()
            (loss + penalty).backward()                        #        (double backprop through the norms)
            opt_critic.step()                                  # 9:     w <- Adam(grad_w mean L, w)
        z = Tensor(rng.normal((m, noise_dim)))                 # 11:  sample {z_i} ~ p(z)
        g_loss = generator_loss(critic(generator(z)))          # 12:  theta <- Adam(grad_theta mean -D(G(z)), theta)
        opt_generator.zero_grad()
        g_loss.backward()
        opt_generator.step()
        estimates.append(-loss.item())
    return estimates


# %% [markdown]
# `tinywgan.wgan.train` runs this loop (with a log, a progress bar, checkpoints and a NaN guard): from one
# seed, a few generator steps of each must agree to the last bit. The trainer can add two things the paper's
# loop does not have, a learning-rate schedule and an average of the generator (section 2); for this check
# both are off, so it runs the paper's algorithm.

# %%
check_steps = 3
pair_a = ex.make_networks(scale.width, scale.depth, config.noise_dim, config.seed, config.device)
pair_b = ex.make_networks(scale.width, scale.depth, config.noise_dim, config.seed, config.device)
ours = wgan_gp(*pair_a, data.sample, check_steps, Generator(config.seed, config.device), lr=config.lr,
               critic_lr=config.critic_lr, betas=config.betas, lam=config.gp_weight, m=config.batch_size,
               n_critic=config.n_critic, noise_dim=config.noise_dim)
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
# ## 2. Training WGAN-GP, and how it ends
#
# A WGAN is a min-max game, and gradient steps on a min-max game do not fall into its saddle point the way
# they fall into a minimum: each player's step changes the other's landscape, and the pair tends to circle
# the solution. On the toy sets this shows as a generator that keeps moving its samples around the ring of
# modes; with a constant learning rate, where the circle happens to stop decides the final number (with this
# chapter's earlier settings, constant rates of $5 \cdot 10^{-4}$ for the critic and $2 \cdot 10^{-4}$ for the
# generator, 8000 steps, the final high-quality share ranged from 69% to 91% over seeds 0-3, and within one run
# it swung between 31% and 91% over the last quarter of training; docs/tuning.md). Two remedies,
# both in `tinywgan.wgan.train`:
#
# - a **learning rate that decays linearly to 0** over the run, $\alpha_t = \alpha (1 - t/T)$ at generator
#   step $t$ of $T$, for both networks (as in Gulrajani et al.'s released CIFAR-10 code): the circles shrink
#   as training ends (`WGANConfig(lr_schedule="linear")`);
# - an **exponential moving average of the generator's weights**,
#   $\bar\theta_t = \beta \bar\theta_{t-1} + (1 - \beta)\theta_t$ with $\beta = 0.999$, which sits near the
#   centre of the circle (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training";
#   `WGANConfig(ema_decay=0.999)`). It is the average that samples and is evaluated; the trained generator's
#   own numbers are printed beside it.
#
# With both, the CPU run uses a larger learning rate, $10^{-3}$ for both networks. The run is measured along
# the way as in chapter 6: the critic's estimate, the exact $W_1$ of generated vs real samples, the modes
# covered and the share of high-quality samples (within 3 standard deviations of a mode's centre; real data
# scores 98.9%).

# %%
print("== 2. WGAN-GP: the critic's gradient norm is pulled to 1 at interpolates ==")
gp = ex.train_tool("gp", args, scale, data)
ex.print_evaluations(gp)
r, rho = gp.correlation()
print(f"  correlation of the W estimate with the exact W1 over training: Pearson {r:.3f}, Spearman {rho:.3f}")
if r > 0.5:
    print("  The estimate moves with W1: the loss says how far the generator still is.")
else:
    print(f"  In this run the estimate does not follow W1 (r = {r:.2f}); the default run's does"
          + (" (this is a --quick run: too few steps for the critic to settle)." if args.quick else "."))
first, lam = gp.evaluations[0], gp.config.gp_weight
print(f"  soft penalty: at step {first.step} the estimate {first.w_estimate:.3f} vs exact W1 {first.w1:.3f}; "
      f"a critic that only rescaled\n  would report W + W^2 / (2 lambda) = "
      f"{first.w1 + first.w1 ** 2 / (2 * lam):.3f} (chapter 04)")
ex.print_final(gp)

# %%
plots.snapshots_figure(gp, out / "samples_critic_gp.png",
                       f"WGAN-GP on {data.name}: samples (orange) over data (black), critic contours")
plots.quality_over_training([gp], out / "quality_over_training.png",
                            "the averaged generator against the trained one")

# %% [markdown]
# ## 3. Chapter 6's settings on the same budget
#
# The clipping run with chapter 6's settings, the same number of generator steps, the same networks, data and
# seed: its numbers are chapter 6's, to the digit.

# %%
print("== 3. The same budget with chapter 6's settings (weight clipping) ==")
clip = ex.train_tool("clip", args, scale, data)
ex.print_final(clip)
plots.w_tracking_figure([gp, clip], out / "w_estimate_vs_w1.png")

# %% [markdown]
# ## 4. Two Lipschitz tools side by side
#
# Modes, high-quality share, $W_1$ to the data, how well each estimate follows $W_1$; then the critics'
# weights (the penalty's no longer pile up at $\pm c$) and their input-gradient norms at interpolates (the
# penalty's sit near 1, the clipped critic's far below: it estimates $K \cdot W$ with $K \ll 1$).

# %%
c = clip.config.clip_value
weights = {run.label: ex.critic_weights(run.critic) for run in (clip, gp)}
at_bound = {label: ex.fraction_at_bound(w, c) for label, w in weights.items()}
print(f"== 4. Two Lipschitz tools, {scale.steps} generator steps each ==")
rows = ex.comparison_rows([clip, gp], extra=[
    ("critic weights within 1% of +-c", lambda run: f"{100 * at_bound[run.label]:.1f} %"),
    ("critic weights: largest |w|", lambda run: f"{np.max(np.abs(weights[run.label])):.3g}")])
ex.print_table([clip, gp], rows)
w_gp, w_clip = weights[gp.label], weights[clip.label]
print(f"  Penalised critic: gradient norms at interpolates average {np.mean(gp.gradient_norms):.3g} "
      f"(the penalty's target is 1), weights in [{w_gp.min():.3f}, {w_gp.max():.3f}].")
print(f"  Clipped critic: gradient norms average {np.mean(clip.gradient_norms):.3g}, weights in "
      f"[{w_clip.min():.3f}, {w_clip.max():.3f}], {100 * at_bound[clip.label]:.1f} % of them at +-{c}.")

# %%
plots.weight_histograms([clip, gp], [w_clip, w_gp], c, out / "weight_histograms.png")
plots.gradient_norm_histograms([clip, gp], out / "gradient_norms.png")
plots.final_critics_figure([clip, gp], out / "clip_vs_gp.png", f"{data.name}, {scale.steps} generator steps each")

# %% [markdown]
# ## 5. Is it luck? The same run at other seeds
#
# One seed's number can be luck. With `--seeds 0-4` the chapter reruns section 2's run at each seed and
# prints one row per seed and the mean and standard deviation over seeds (about 5 minutes per seed on one
# CPU core); the figure shows each seed's final samples.

# %%
sweep_runs = None
if seeds is None:
    print("(run with --seeds 0-4 to repeat the gradient-penalty run at five seeds)")
else:
    print(f"== 5. The gradient-penalty run at seeds {args.seeds} ==")
    sweep_runs = sweep.seed_sweep("gp", args, scale, data, seeds, done={args.seed: gp})
    sweep.print_sweep(sweep_runs)
    plots.sample_clouds_figure(sweep_runs, out / "seeds.png",
                               f"WGAN-GP on {data.name}, {scale.steps} steps: final samples at each seed")

# %% [markdown]
# ## What this run claims

# %%
claims = {"gp": ex.claims(gp), "clip": ex.claims(clip),
          "gp_weights_at_bound": at_bound[gp.label], "clip_weights_at_bound": at_bound[clip.label],
          "algorithm": {"loop": ours, "trainer": list(log.w_estimate), "max_difference": algorithm_difference},
          "seeds": None if sweep_runs is None else sweep.sweep_rows(sweep_runs)}
names = ("samples_critic_gp.png quality_over_training.png w_estimate_vs_w1.png weight_histograms.png "
         "gradient_norms.png clip_vs_gp.png" + (" seeds.png" if sweep_runs else ""))
print(f"Figures written to {out}/: {names}")
clip_quality = (f"{clip.modes}/{clip.n_modes} modes, {100 * clip.high_quality:.1f}%, "
                if clip.modes is not None else "")
print(ex.summary("WGAN-GP", gp) + f" (clipping on the same budget: {clip_quality}W1 {clip.w1_to_data:.4f})")
