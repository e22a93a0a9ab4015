"""Chapter 4: a critic trained on the Kantorovich-Rubinstein dual measures W1, times K when it is clipped.

The Kantorovich-Rubinstein duality (WGAN paper, Eq. 2; seeds 000, 001, 002 and 004) writes the Earth
Mover's distance as a maximisation over 1-Lipschitz functions:

    W(P, Q) = sup_{||f||_L <= 1}  E_{x~P}[f(x)] - E_{x~Q}[f(x)].

A critic is a network f_w trained by gradient ascent on the right-hand side. This chapter trains critics
alone, against two *fixed* distributions whose W1 is known, and compares what they measure with the truth:

1. P = N(0, 1), Q = N(3, 1): W1 = 3 (a translation by 3; tinywgan.data.two_gaussians_1d). The optimal
   critic is f*(x) = -x + const, a line of slope -1 (any steeper is not 1-Lipschitz).
2. Weight clipping (Arjovsky et al. 2017, Algorithm 1, c = 0.01) keeps f_w K-Lipschitz for some K set by c
   and the architecture. Taking the supremum over K-Lipschitz functions instead of 1-Lipschitz ones scales
   it by K, so the critic can reach at most K * W (seed 002). Here K is tiny and not known in advance: the
   printed K = estimate / W is measured after the fact, and, as seed 002 also points out, the bound is
   reached only if the clipped family holds the best K-Lipschitz function, which it does not.
3. The gradient penalty (Gulrajani et al. 2017, Eq. 3) asks for ||grad f|| = 1 at interpolates between P
   and Q, the property of the optimal critic (seed 002: its gradient has norm 1 on the lines joining
   coupled points). The estimate is then W itself, up to a bias that the penalty's softness explains: for a
   critic of slope -s the objective is s W - lambda (s - 1)^2, maximal at s* = 1 + W / (2 lambda). With
   lambda = 10 (the paper's) and W = 3 that is s* = 1.15 and an estimate near 3.45; with lambda = 100,
   s* = 1.015. Both are printed and measured: the learned slope between the modes, the gradient norms at
   the interpolates (they cluster at s*), the estimate.
4. In 2-D the critic is no longer a line: P = the 8 Gaussians of Gulrajani et al.'s toy code, Q = a blob at
   the origin, each a fixed cloud of n points; the GP critic's estimate is compared with the exact W1
   between the clouds from tinywgan.transport.ot.emd (an optimal assignment).

The default run (1000 critic iterations each) takes about half a minute on two CPU cores; --quick (300
iterations, smaller samples) a few seconds, with the same conclusions.

Run: python chapters/04_kantorovich_rubinstein_critic.py [--quick] [--out DIR] [--seed N]
                                                         [--device cpu|gpu|strict]
"""
from __future__ import annotations

import numpy as np

import tinywgan as tw
from tinywgan import nn
from tinywgan import optim
from tinywgan.engine.backend import Generator, to_numpy
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.data import toy_dataset, two_gaussians_1d
from tinywgan.wgan import clip_weights, critic_gradient_norms, gradient_penalty, interpolate
from tinywgan.transport.ot import emd
from tinywgan.wgan import critic_loss

MEAN_GAP = 3.0   # P = N(0, 1), Q = N(3, 1): W1 = 3
CLIP_VALUE = 0.01  # c, Arjovsky et al. 2017
BLOB_STD = 0.3   # the 2-D Q: N(0, 0.3^2 I)


def make_critic(in_features: int, width: int, rng: Generator) -> nn.MLP:
    """An MLP critic in -> width -> width -> 1 with ReLU, whose output layer starts at zero (f_w = 0).

    Starting from the constant 0 lets the first updates choose the direction in which E_P f - E_Q f grows.
    From a random start the slope can point the wrong way, and turning a slope of +1 into -1 means passing
    through slope 0, where the gradient penalty is largest: the penalty would slow that turn down.
    """
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
                 gp_weight: float = 0.0, clip_value: float = 0.0, every: int = 10) -> list:
    """Train the critic alone (no generator) for ``steps`` iterations; returns [(iteration, estimate)].

    Clipping uses RMSProp (Arjovsky et al. 2017 found momentum-based optimizers unstable with it) at lr 5e-4,
    ten times the paper's 5e-5, since this critic trains alone against fixed distributions and has no
    generator to keep pace with; the penalty uses Adam with betas (0.5, 0.9), the toy setting of
    tinywgan.wgan.WGANConfig, at lr 1e-3 for the same reason.
    """
    if clip_value > 0:
        opt = optim.RMSprop(critic.parameters(), lr=5e-4)
    else:
        opt = optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    history = [(0, evaluate(critic))]
    for step in range(1, steps + 1):
        real = tw.Tensor(sample_p(batch, rng))
        fake = tw.Tensor(sample_q(batch, rng))
        # Critic: maximise E_{x~P}[f_w(x)] - E_{x~Q}[f_w(x)]  (Kantorovich-Rubinstein dual, WGAN paper Eq. 3),
        # i.e. minimise critic_loss = E_Q f_w - E_P f_w.
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


def gradient_norms_at_interpolates(critic, p_eval, q_eval, rng: Generator):
    """||grad_x f(x_hat)|| at x_hat on the lines between the evaluation samples (random pairs)."""
    x_hat = interpolate(p_eval, q_eval, rng)
    return to_numpy(critic_gradient_norms(critic, x_hat).data)


def describe_1d(critic, p_eval, q_eval, rng: Generator, device: str) -> dict:
    """The critic's estimate, its slope between the modes, its gradient norms, its largest |f'| on [-3, 6]."""
    between = np.linspace(0.0, MEAN_GAP, 61)
    wide = np.linspace(-3.0, MEAN_GAP + 3.0, 181)
    with tw.no_grad():
        f_between = to_numpy(critic(tw.tensor(between[:, None], dtype="float32", device=device)).data)[:, 0]
        f_wide = to_numpy(critic(tw.tensor(wide[:, None], dtype="float32", device=device)).data)[:, 0]
    slope = float(np.polyfit(between, f_between, 1)[0])
    lipschitz = float(np.max(np.abs(np.diff(f_wide) / np.diff(wide))))  # largest slope on the grid
    norms = gradient_norms_at_interpolates(critic, p_eval, q_eval, rng)
    return {"estimate": estimate(critic, p_eval, q_eval), "slope": slope, "lipschitz": lipschitz,
            "norms": norms, "median_norm": float(np.median(norms)), "grid": wide, "f": f_wide}


# --------------------------------------------------------------------------------------------- 1-D
def one_dimension(args, steps: int, batch: int, width: int, n_eval: int) -> dict:
    pair = two_gaussians_1d(MEAN_GAP, 1.0)
    w_exact = pair.w1
    eval_rng = Generator(args.seed + 1000, args.device)
    p_eval, q_eval = tw.Tensor(pair.sample_p(n_eval, eval_rng)), tw.Tensor(pair.sample_q(n_eval, eval_rng))
    # The best 1-Lipschitz critic f*(x) = -x scores mean(Q) - mean(P) on these samples: the ceiling any
    # critic can reach here, up to sampling error ~ sqrt(2 / n_eval).
    ceiling = float(np.mean(to_numpy(q_eval.data)) - np.mean(to_numpy(p_eval.data)))
    print(f"== 1. P = N(0, 1), Q = N({MEAN_GAP:g}, 1): exact W1 = {w_exact:g} ==")
    print(f"critics: MLP 1-{width}-{width}-1, ReLU, output layer started at 0; {steps} iterations of "
          f"batches of {batch}")
    print(f"evaluation samples: {n_eval} from each; the optimal critic f*(x) = -x scores {ceiling:.4f} "
          "on them")

    def run(**rule):
        critic = make_critic(1, width, Generator(args.seed, args.device))
        rng = Generator(args.seed + 1, args.device)
        history = train_critic(critic, pair.sample_p, pair.sample_q, steps, batch, rng,
                               lambda c: estimate(c, p_eval, q_eval), every=max(1, steps // 50), **rule)
        result = describe_1d(critic, p_eval, q_eval, Generator(args.seed + 2, args.device), args.device)
        result["history"] = history
        return result

    critics = {"clip": run(clip_value=CLIP_VALUE), "gp10": run(gp_weight=10.0),
               "gp100": run(gp_weight=100.0)}
    predicted = {"gp10": 1 + w_exact / (2 * 10.0), "gp100": 1 + w_exact / (2 * 100.0)}

    print("\n  critic                 estimate  estimate/W   slope of f on [0, 3]   median ||grad f|| "
          "at x_hat")
    labels = {"clip": f"clipping, c = {CLIP_VALUE:g}", "gp10": "penalty, lambda = 10",
              "gp100": "penalty, lambda = 100"}
    for key, r in critics.items():
        print(f"  {labels[key]:21s}  {r['estimate']:9.4f}  {r['estimate'] / w_exact:10.4f}   "
              f"{r['slope']:+20.5f}   {r['median_norm']:12.5f}")
    clip = critics["clip"]
    k_effective = clip["estimate"] / w_exact
    print(f"\nClipping: the estimate is K * W with K = estimate / W = {k_effective:.2e}, a constant nobody "
          "chose:")
    print(f"  the largest |f'| of the clipped critic on [-3, 6] is {clip['lipschitz']:.2e}, so it is "
          f"{clip['lipschitz']:.2e}-Lipschitz there,")
    print(f"  and estimate / {clip['lipschitz']:.2e} = {clip['estimate'] / clip['lipschitz']:.3f} < W = "
          f"{w_exact:g}: the clipped family does not contain the best function")
    print("  of that Lipschitz constant (seed 002: K * W is reached only when the family f_w holds the best")
    print("  K-Lipschitz function). A clipped critic's numbers are comparable with each other, not with W.")
    print("\nGradient penalty: for a line of slope -s the penalised objective is s W - lambda (s - 1)^2,")
    print("whose maximum is at s* = 1 + W / (2 lambda), with estimate s* W:")
    for key in ("gp10", "gp100"):
        r = critics[key]
        print(f"  {labels[key]:21s}  predicted s* = {predicted[key]:.3f}, estimate "
              f"{predicted[key] * w_exact:.3f};  measured |slope| = {abs(r['slope']):.3f}, median norm "
              f"{r['median_norm']:.3f}, estimate {r['estimate']:.3f}")
    gp100 = critics["gp100"]
    print(f"With lambda = 100 the estimate is W to {100 * abs(gp100['estimate'] / w_exact - 1):.1f} %, the "
          f"slope between the modes is {gp100['slope']:+.3f},")
    print(f"and the gradient norms at the interpolates cluster at {gp100['median_norm']:.3f}: near 1, the "
          "property of the")
    print("optimal critic (Gulrajani et al. 2017, Prop. 1; seed 002).")
    return {"w_exact": w_exact, "ceiling": ceiling, "critics": critics, "predicted": predicted,
            "k_effective": k_effective}


# --------------------------------------------------------------------------------------------- 2-D
def two_dimensions(args, n: int, steps: int, width: int) -> dict:
    """A GP critic (lambda = 100) on two fixed clouds of n points against their exact W1 (transport.ot.emd)."""
    rng = Generator(args.seed + 3, args.device)
    cloud_p = toy_dataset("8gaussians").sample(n, rng)
    cloud_q = rng.normal((n, 2), std=BLOB_STD)
    w_exact = emd(cloud_p, cloud_q)
    xp = rng.xp

    def resample(cloud):
        # Draws from the empirical distribution of the cloud: its W1 to the other cloud is exactly emd's.
        return lambda m, g: xp.take(cloud, g.integers(0, n, (m,)), axis=0)

    p_all, q_all = tw.Tensor(cloud_p), tw.Tensor(cloud_q)
    critic = make_critic(2, width, Generator(args.seed, args.device))
    history = train_critic(critic, resample(cloud_p), resample(cloud_q), steps, n, rng,
                           lambda c: estimate(c, p_all, q_all), gp_weight=100.0, every=max(1, steps // 50))
    value = estimate(critic, p_all, q_all)
    norms = gradient_norms_at_interpolates(critic, p_all, q_all, Generator(args.seed + 4, args.device))
    print(f"\n== 2. Two dimensions: P = 8 Gaussians (radius 1.41), Q = N(0, {BLOB_STD}^2 I), {n} points "
          "each ==")
    print(f"  exact W1 between the two clouds (optimal assignment, tinywgan.transport.ot.emd) = {w_exact:.4f}")
    print(f"  GP critic (lambda = 100, MLP 2-{width}-{width}-1, {steps} iterations):  E_P f - E_Q f = "
          f"{value:.4f}  ({100 * (value / w_exact - 1):+.1f} %)")
    print(f"  median ||grad f|| at interpolates = {float(np.median(norms)):.3f}; the critic is a cone around")
    print("  the blob now, not a line, yet its slope is still 1 where the mass travels.")
    return {"w_exact": w_exact, "estimate": value, "median_norm": float(np.median(norms)), "critic": critic,
            "cloud_p": to_numpy(cloud_p), "cloud_q": to_numpy(cloud_q), "history": history}


# ----------------------------------------------------------------------------------------------- figures
LABELS = {"clip": "clipping, c = 0.01", "gp10": "penalty, lambda = 10", "gp100": "penalty, lambda = 100"}
COLORS = {"clip": "tab:gray", "gp10": "tab:orange", "gp100": "tab:blue"}


def _critic_1d_figure(one: dict, path) -> None:
    import matplotlib.pyplot as plt
    from scipy.stats import norm
    critics, w = one["critics"], one["w_exact"]
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
        ax.plot(x, f - f[mid], color=COLORS[key], lw=2,
                label=f"{LABELS[key]} (slope {critics[key]['slope']:+.3f})")
    f = critics["clip"]["f"]
    k = one["k_effective"]
    ax.plot(x, (f - f[mid]) / k, color=COLORS["clip"], lw=2, ls="--",
            label=f"{LABELS['clip']}, divided by K = {k:.1e}")
    ax.axvspan(0, MEAN_GAP, color="gray", alpha=0.07)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x) - f(1.5)")
    ax.set_title(f"Critics trained on E_P f - E_Q f; exact W1 = {w:g}", fontsize=10)
    lines, names = ax.get_legend_handles_labels()
    more, more_names = density.get_legend_handles_labels()
    ax.legend(lines + more, names + more_names, fontsize=7, loc="upper right")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _norms_figure(one: dict, two: dict, path) -> None:
    import matplotlib.pyplot as plt
    critics = one["critics"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    bins = np.linspace(0.8, 1.4, 61)
    for key in ("gp10", "gp100"):
        left.hist(np.clip(critics[key]["norms"], 0.8, 1.4), bins=bins, alpha=0.6, color=COLORS[key],
                  label=f"{LABELS[key]}: median {critics[key]['median_norm']:.3f}")
        left.axvline(one["predicted"][key], color=COLORS[key], ls="--", lw=1)
    left.axvline(1.0, color="black", lw=1, label="1 (the optimal critic)")
    left.set_xlabel("||grad_x f(x_hat)|| at interpolates (dashed: predicted s* = 1 + W / 2 lambda)")
    left.set_title("1-D, N(0, 1) vs N(3, 1): gradient norms cluster at s*", fontsize=10)
    left.legend(fontsize=8)
    right.hist(1e3 * critics["clip"]["norms"], bins=60, color=COLORS["clip"],
               label=f"1-D clipped critic: median {critics['clip']['median_norm']:.1e}")
    right.set_xlabel("||grad_x f(x_hat)|| of the clipped critic, in units of 1e-3")
    right.set_title("Clipping: a few distinct slopes, all of order K", fontsize=10)
    right.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _history_figure(one: dict, two: dict, path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    def curve(history):  # iteration 0 is the constant critic f = 0, off a log scale
        steps, values = zip(*history[1:])
        return steps, np.maximum(values, 1e-4)

    for key in ("clip", "gp10", "gp100"):
        ax.plot(*curve(one["critics"][key]["history"]), color=COLORS[key], label=f"1-D {LABELS[key]}")
    ax.plot(*curve(two["history"]), color="tab:purple", label="2-D penalty, lambda = 100")
    ax.axhline(one["w_exact"], color="black", ls="--", lw=1, label=f"exact W1 = {one['w_exact']:g} (1-D)")
    ax.axhline(two["w_exact"], color="tab:purple", ls=":", lw=1,
               label=f"exact W1 = {two['w_exact']:.3f} (2-D)")
    ax.set_yscale("log")
    ax.set_xlabel("critic iteration")
    ax.set_ylabel("E_P f - E_Q f on evaluation samples")
    ax.set_title("The estimate while the critic trains (log scale: clipping sits ~1000x lower)", fontsize=10)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _critic_2d_figure(two: dict, device: str, path) -> None:
    import matplotlib.pyplot as plt
    u, v = np.meshgrid(np.linspace(-2.2, 2.2, 111), np.linspace(-2.2, 2.2, 111))
    with tw.no_grad():
        grid = tw.tensor(np.stack([u.ravel(), v.ravel()], 1), dtype="float32", device=device)
        values = to_numpy(two["critic"](grid).data).reshape(u.shape)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    surface = ax.contourf(u, v, values, levels=25, cmap="RdBu_r")
    ax.contour(u, v, values, levels=25, colors="k", linewidths=0.3)
    fig.colorbar(surface, ax=ax, label="f(x)")
    ax.scatter(*two["cloud_p"].T, s=4, color="tab:red", label="P: 8 Gaussians")
    ax.scatter(*two["cloud_q"].T, s=4, color="tab:green", label=f"Q: N(0, {BLOB_STD}^2 I)")
    ax.set_aspect("equal")
    ax.set_title(f"2-D GP critic: estimate {two['estimate']:.3f}, exact W1 {two['w_exact']:.3f}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/04_kantorovich_rubinstein_critic")
    args = chapter_args(parser, argv)
    if args.quick:
        one = one_dimension(args, steps=300, batch=256, width=64, n_eval=5000)
        two = two_dimensions(args, n=256, steps=300, width=128)
    else:
        one = one_dimension(args, steps=1000, batch=256, width=64, n_eval=20000)
        two = two_dimensions(args, n=512, steps=1000, width=128)

    out = args.out
    _critic_1d_figure(one, out / "critic_1d.png")
    _norms_figure(one, two, out / "gradient_norms.png")
    _history_figure(one, two, out / "estimate_vs_iterations.png")
    _critic_2d_figure(two, args.device, out / "critic_2d.png")
    print(f"\nFigures written to {out}/: critic_1d.png gradient_norms.png estimate_vs_iterations.png "
          "critic_2d.png")

    c = one["critics"]
    return {
        "w1_exact": one["w_exact"], "optimal_critic_score": one["ceiling"],
        "clip_estimate": c["clip"]["estimate"], "clip_k": one["k_effective"],
        "clip_lipschitz": c["clip"]["lipschitz"], "clip_median_norm": c["clip"]["median_norm"],
        "gp10_estimate": c["gp10"]["estimate"], "gp10_slope": c["gp10"]["slope"],
        "gp10_median_norm": c["gp10"]["median_norm"], "gp10_predicted_slope": one["predicted"]["gp10"],
        "gp100_estimate": c["gp100"]["estimate"], "gp100_slope": c["gp100"]["slope"],
        "gp100_median_norm": c["gp100"]["median_norm"], "gp100_predicted_slope": one["predicted"]["gp100"],
        "emd_2d": two["w_exact"], "gp_estimate_2d": two["estimate"], "median_norm_2d": two["median_norm"],
    }


if __name__ == "__main__":
    main()
