"""Chapter 5: a near-optimal GAN discriminator leaves the generator no gradient; a WGAN critic does not.

This is the experiment behind Figure 2 of the WGAN paper (Arjovsky et al. 2017): two 1-D Gaussians far
apart, a GAN discriminator and a WGAN critic each trained on them, and the slopes each one hands to the
generator. Here the real data is P_r = N(0, 0.5^2) and the generator's current samples are P_g = N(5, 0.5^2),
held fixed (critic-only loops: no generator is trained). Ten standard deviations apart, the two samples
practically never overlap.

* The GAN discriminator D = sigmoid(logit) maximises E_r[log D(x)] + E_g[log(1 - D(x))] (Goodfellow et al.
  2014, Eq. 1; seeds 001-004 write the same value function). At the optimum D*(x) = p_r / (p_r + p_g)
  (Goodfellow et al. 2014, Prop. 1), so on the fakes D is 0 to many digits. The minimax generator minimises
  E_g[log(1 - D(x))], whose slope in x is -D(x) * logit'(x): it vanishes with D. The better the
  discriminator, the less the generator learns (seed 000: the JS divergence saturates on disjoint supports;
  seed 002: a saturated discriminator gives vanishing gradients).
* The usual repair, the non-saturating loss -E_g[log D(x)] (Goodfellow et al. 2014, Sec. 3), has slope
  -(1 - D(x)) * logit'(x), which does not vanish: it grows with the logit's slope as D trains, a gradient
  whose size is set by how confident D is, not by how far P_g is from P_r (Arjovsky & Bottou 2017 study it).
* A WGAN critic f has no sigmoid (seed 003: scores, not probabilities) and is kept Lipschitz, by the gradient
  penalty (Gulrajani et al. 2017) or by weight clipping (Arjovsky et al. 2017). The generator minimises
  -E_g[f(x)], whose slope in x is -f'(x): about 1 everywhere between the modes for the penalised critic
  (1 + W / 2 lambda = 1.25 here, chapter 04), K for the clipped one, and never zero.

The chapter prints the per-sample slopes |d loss_i / dx| at the fakes for each loss, follows the GAN's as the
discriminator trains, and draws the Figure 2 picture: densities, D's saturated sigmoid, the critic's line.
The default run (1000 iterations for each network) takes under half a minute on two CPU cores; --quick
(300 iterations) a few seconds.

Run: python chapters/05_gan_vs_wgan.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
"""
from __future__ import annotations

import numpy as np

import tinywgan as tw
from tinywgan import nn
from tinywgan import optim
from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.data import two_gaussians_1d
from tinywgan.wgan import clip_weights, gradient_penalty
from tinywgan.wgan import critic_loss, gan_discriminator_loss, gan_generator_loss, generator_loss

MEAN_GAP, STD = 5.0, 0.5  # P_r = N(0, 0.5^2), P_g = N(5, 0.5^2)
GP_WEIGHT, CLIP_VALUE = 10.0, 0.01


def make_network(width: int, rng: Generator) -> nn.MLP:
    """1 -> width -> width -> 1 ReLU MLP whose output layer starts at 0: the discriminator's logit, or the
    critic's value (see chapter 04 for why the critic starts as the constant 0)."""
    net = nn.MLP([1, width, width, 1], activation="relu", rng=rng)
    last = net[-1]
    last.weight.data = last.weight.xp.zeros_like(last.weight.data)
    last.bias.data = last.bias.xp.zeros_like(last.bias.data)
    return net


def per_sample_slopes(net, x_fake, loss) -> np.ndarray:
    """|d loss_i / d x_i| for every fake sample: the gradient each fake hands back to the generator.

    The generator losses are means over the batch; n times the mean is the sum of per-sample losses, whose
    gradient in x_i is that sample's own slope (each output depends on its own input only).
    """
    x = tw.Tensor(x_fake, requires_grad=True)
    total = loss(net(x)) * x.shape[0]
    g, = tw.grad(total, x)
    return np.abs(to_numpy(g.data)[:, 0])


def saturating(logit):
    return gan_generator_loss(logit, saturating=True)    # E_g[log(1 - D(x))], minimised by G


def non_saturating(logit):
    return gan_generator_loss(logit, saturating=False)   # -E_g[log D(x)]


def train_discriminator(pair, steps: int, batch: int, width: int, seed: int, device: str, x_fake,
                        checkpoints) -> tuple:
    """A GAN discriminator trained alone against fixed P_r and P_g; the saturating slopes at checkpoints."""
    D = make_network(width, Generator(seed, device))
    # Adam at 3e-3: a fast learner, since the point is a discriminator close to optimal.
    opt = optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
    rng = Generator(seed + 1, device)
    trace = []
    for step in range(1, steps + 1):
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
            trace.append((step, loss.item(), float(np.median(d_fake)), float(np.median(slopes))))
    return D, trace


def train_critic(pair, steps: int, batch: int, width: int, seed: int, device: str, x_fake, checkpoints,
                 gp_weight: float = 0.0, clip_value: float = 0.0) -> tuple:
    """A WGAN critic trained alone against the same P_r and P_g (penalty or clipping, as in chapter 04)."""
    critic = make_network(width, Generator(seed, device))
    if clip_value > 0:
        opt = optim.RMSprop(critic.parameters(), lr=5e-4)   # Arjovsky et al. 2017 use RMSProp (lr 5e-5)
    else:
        opt = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = Generator(seed + 1, device)
    trace = []
    for step in range(1, steps + 1):
        real, fake = tw.Tensor(pair.sample_p(batch, rng)), tw.Tensor(pair.sample_q(batch, rng))
        # Critic: maximise E_{x~P_r}[f(x)] - E_{x~P_g}[f(x)]  (WGAN paper, Eq. 3), i.e. minimise
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


def optimal_discriminator_logit(x: np.ndarray) -> np.ndarray:
    """log p_r(x) - log p_g(x) for the two Gaussians: (m^2 - 2 m x) / (2 sigma^2), a line in x."""
    return (MEAN_GAP ** 2 - 2 * MEAN_GAP * x) / (2 * STD ** 2)


def optimal_saturating_slope(x: np.ndarray) -> np.ndarray:
    """|d/dx log(1 - D*(x))| = sigmoid(logit*) |logit*'| with D* = p_r / (p_r + p_g), in float64."""
    logit = optimal_discriminator_logit(x)
    return np.exp(-np.logaddexp(0.0, -logit)) * (2 * MEAN_GAP / (2 * STD ** 2))


def compare(args, steps: int, batch: int, width: int, n_eval: int) -> dict:
    pair = two_gaussians_1d(MEAN_GAP, STD)
    x_fake = pair.sample_q(n_eval, Generator(args.seed + 1000, args.device))  # the fakes G would move
    checkpoints = sorted({s for s in (1, 3, 10, 30, 100, 300, 1000, 3000, steps) if s <= steps})
    print(f"== P_r = N(0, {STD}^2) (real), P_g = N({MEAN_GAP:g}, {STD}^2) (the generator's samples, "
          "held fixed) ==")
    print(f"networks: MLP 1-{width}-{width}-1, ReLU; {steps} iterations each on batches of {batch}; "
          f"slopes measured at {n_eval} fakes")

    D, d_trace = train_discriminator(pair, steps, batch, width, args.seed, args.device, x_fake, checkpoints)
    gp, gp_trace = train_critic(pair, steps, batch, width, args.seed, args.device, x_fake, checkpoints,
                                gp_weight=GP_WEIGHT)
    clip, clip_trace = train_critic(pair, steps, batch, width, args.seed, args.device, x_fake, checkpoints,
                                    clip_value=CLIP_VALUE)

    print("\n1. Training the discriminator toward optimality: the better D, the smaller G's gradient")
    print("   D iteration    D loss    median D(fake)   median |d log(1 - D(x)) / dx| at the fakes")
    for step, loss, d_fake, slope in d_trace:
        print(f"   {step:11d}  {loss:8.2e}   {d_fake:14.2e}   {slope:12.2e}")
    peak = max(d_trace, key=lambda row: row[3])
    print(f"   (D starts as the constant 1/2, whose slope is 0; G's gradient peaks at {peak[3]:.1e} after "
          f"{peak[0]} iterations,")
    print(f"   while D is still unsure, and falls to {d_trace[-1][3]:.1e} as D becomes confident.)")
    print("   WGAN-GP critic iteration   median |d(-f(x)) / dx| at the fakes")
    for step, slope in gp_trace:
        print(f"   {step:24d}   {slope:10.4f}")

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
    return {"D": D, "gp": gp, "clip": clip, "d_trace": d_trace, "gp_trace": gp_trace,
            "clip_trace": clip_trace, "slopes": slopes, "median": median, "mean": mean}


# ----------------------------------------------------------------------------------------------- figures
def _figure2(result: dict, device: str, path) -> None:
    """Densities, D's sigmoid and the critic's line (top); every loss's slope across x, log scale (bottom)."""
    import matplotlib.pyplot as plt
    from scipy.stats import norm
    x = np.linspace(-2.0, MEAN_GAP + 2.0, 601)
    grid = tw.tensor(x[:, None], dtype="float32", device=device)
    with tw.no_grad():
        d_x = to_numpy(tw.sigmoid(result["D"](grid)).data)[:, 0]
        f_x = to_numpy(result["gp"](grid).data)[:, 0]
    slopes = {
        "GAN, saturating: |d log(1 - D) / dx|": (per_sample_slopes(result["D"], grid.data, saturating),
                                                 "tab:red"),
        "GAN, non-saturating: |d log D / dx|": (per_sample_slopes(result["D"], grid.data, non_saturating),
                                                "tab:pink"),
        "WGAN-GP critic: |df / dx|": (per_sample_slopes(result["gp"], grid.data, generator_loss), "tab:blue"),
        "WGAN clipped critic: |df / dx|": (per_sample_slopes(result["clip"], grid.data, generator_loss),
                                          "tab:cyan"),
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
    for name, (values, color) in slopes.items():
        bottom.semilogy(x, np.maximum(values, 1e-20), color=color, lw=1.5,
                        ls=":" if color == "black" else "-", label=name)
    gan = slopes["GAN, saturating: |d log(1 - D) / dx|"][0]
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
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _training_figure(result: dict, path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    floor = 1e-9  # a slope of exactly 0 (float32 underflow) is drawn on the floor, hollow
    steps, _, _, slopes = zip(*result["d_trace"])
    slopes = np.asarray(slopes)
    ax.loglog(steps, np.maximum(slopes, floor), "o-", color="tab:red",
              label="GAN: median |d log(1 - D) / dx| at the fakes (hollow: exactly 0)")
    zero = slopes == 0
    ax.loglog(np.asarray(steps)[zero], np.full(zero.sum(), floor), "o", color="white", mec="tab:red")
    steps, slopes = zip(*result["gp_trace"])
    ax.loglog(steps, slopes, "s-", color="tab:blue", label="WGAN-GP: median |df / dx| at the fakes")
    steps, slopes = zip(*result["clip_trace"])
    ax.loglog(steps, slopes, "^-", color="tab:cyan", label="WGAN clipped: median |df / dx| at the fakes")
    ax.set_xlabel("iterations of the discriminator / critic")
    ax.set_ylabel("gradient handed to the generator")
    ax.set_title("Training D longer kills G's gradient; training the critic longer does not", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/05_gan_vs_wgan")
    args = chapter_args(parser, argv)
    if args.quick:
        result = compare(args, steps=300, batch=256, width=64, n_eval=1000)
    else:
        result = compare(args, steps=1000, batch=256, width=64, n_eval=5000)

    _figure2(result, args.device, args.out / "gan_vs_wgan.png")
    _training_figure(result, args.out / "gradients_while_training.png")
    print(f"\nFigures written to {args.out}/: gan_vs_wgan.png gradients_while_training.png")

    median, mean, slopes, d_trace = result["median"], result["mean"], result["slopes"], result["d_trace"]
    return {
        "gan_saturating_median": median["saturating"], "gan_saturating_mean": mean["saturating"],
        "gan_non_saturating_median": median["non_saturating"],
        "wgan_gp_median": median["wgan_gp"], "wgan_gp_mean": mean["wgan_gp"],
        "wgan_gp_min": float(np.min(slopes["wgan_gp"])), "predicted_gp_slope": 1 + MEAN_GAP / (2 * GP_WEIGHT),
        "wgan_clip_median": median["wgan_clip"], "wgan_clip_min": float(np.min(slopes["wgan_clip"])),
        "optimal_d_saturating_median": median["optimal_d"],
        "ratio_saturating_to_gp": median["saturating"] / median["wgan_gp"],
        "d_fake_median": d_trace[-1][2],
        "saturating_peak": max(row[3] for row in d_trace), "saturating_last_checkpoint": d_trace[-1][3],
    }


if __name__ == "__main__":
    main()
