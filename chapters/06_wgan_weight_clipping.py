"""Chapter 6: a WGAN trained as the WGAN paper trains it, with weight clipping, on a ring of Gaussians.

The critic is meant to solve the Kantorovich-Rubinstein dual (chapter 1; Arjovsky et al. 2017, Eq. 2;
seeds 000 and 002):

    W(P_r, P_g) = sup_{||f||_L <= 1}  E_{x~P_r}[f(x)] - E_{x~P_g}[f(x)].

A network has no Lipschitz constraint of its own, so Arjovsky et al. (Algorithm 1) impose a crude one: after
every update of the critic, clip each weight into [-c, c] with c = 0.01. A network whose weights lie in a
compact box is K-Lipschitz for some K that depends on c and the architecture, and maximising over a set of
K-Lipschitz functions gives K * W, not W (seed 002's "K-Lipschitz scaling"). The generator only needs the
direction of grad W, so K does no harm there, but it means the critic's number is W up to an unknown
scale. The rest of the recipe: RMSprop with lr 5e-5 (momentum-based optimizers made their training
unstable), n_critic = 5 critic iterations per generator iteration.

Three things to see in this chapter:

1. Samples over data, on the critic's contours, at several steps: the generator's points climb the
   critic's surface toward the modes. The surface is smooth and coarse: with every weight stuck in a tiny
   box the critic can hardly bend (Gulrajani et al. 2017, Fig. 1a, found clipped critics miss the higher
   moments of the data).
2. The "meaningful loss" (Arjovsky et al. 2017, Sec. 4.2 and Fig. 3; seeds 001 and 003): a GAN's
   discriminator loss says little about sample quality, but the WGAN critic's estimate should fall as the
   generator gets better. In 2D we can check it against the truth: at each evaluation the exact W1 between
   generated and real samples (an optimal assignment, chapter 1), and the correlation of the two. The ratio
   estimate / W1 is a rough reading of K.
3. Where the weights go: Gulrajani et al. 2017 (Sec. 3, Fig. 1b) saw clipping push most weights to the
   two ends of [-c, c]. We count the weights within 1% of +-c along training and draw their histogram.

Settings. --paper is the papers' scale (3 hidden layers of 512 units, 100k generator steps; for a GPU).
The default is what two CPU cores finish in a few minutes: 3 x 128 units and fewer steps
(tinywgan.lab.experiment.CPU). The clipping recipe itself (RMSprop 5e-5, c = 0.01, n_critic 5, batch 256) is
the paper's at every scale. Chapter 7 reruns exactly this run, with the same seed and budget, beside the
gradient penalty.

Run: python chapters/06_wgan_weight_clipping.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
     [--steps N] [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
"""
from __future__ import annotations

import os

# One BLAS thread. With 128-unit layers a second one saves about a quarter of a step on an idle 2-core
# machine, but when anything else runs, OpenBLAS's threads spin against it: measured 24 ms per WGAN-GP step
# with one thread, 450 ms with two while other jobs ran. Set before NumPy loads; a setting of yours wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math

import numpy as np

from tinywgan.lab import experiment as ex
from tinywgan.lab import plots
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.data import toy_dataset


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/06_wgan_weight_clipping")
    ex.add_toy_options(parser)
    args = chapter_args(parser, argv)
    scale = ex.scale_of(args)
    data = toy_dataset(args.dataset)
    print("== 1. WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1) ==")
    run = ex.train_tool("clip", args, scale, data)
    config = run.config
    c = config.clip_value
    ex.print_evaluations(run, bound=True)
    ex.print_final(run)

    # ---- 2. the meaningful loss ----------------------------------------------------------------------
    r, rho = run.correlation()
    first, last = run.evaluations[0], run.evaluations[-1]
    k_reading = last.w_estimate / last.w1
    k_bound = math.prod(ex.spectral_norms(run.critic))
    print("\n== 2. Does the critic's estimate follow the exact W1? ==")
    print(f"  W estimate: {first.w_estimate:.3g} at step {first.step} -> {last.w_estimate:.3g} at step {last.step}")
    print(f"  exact W1:   {first.w1:.4f} at step {first.step} -> {last.w1:.4f} at step {last.step}")
    print(f"  correlation over {len(run.evaluations)} evaluations: Pearson {r:.3f}, Spearman (ranks) {rho:.3f}")
    print(f"  The estimate is K * W with K set by c: final estimate / exact W1 = {k_reading:.3g};")
    print(f"  mean ||grad_x f|| at interpolates = {np.mean(run.gradient_norms):.3g} "
          f"(max {np.max(run.gradient_norms):.3g}); product of the layers' spectral norms, an upper")
    print(f"  bound on K, = {k_bound:.3g}. A 1-Lipschitz critic would have norms near 1 (chapter 7).")

    # ---- 3. the weights ------------------------------------------------------------------------------
    weights = ex.critic_weights(run.critic)
    at_bound = ex.fraction_at_bound(weights, c)
    print(f"\n== 3. The critic's weights and the box [-{c}, {c}] ==")
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

    out = args.out
    plots.snapshots_figure(run, out / "samples_critic_clip.png",
                           f"WGAN with weight clipping on {data.name}: samples (orange) over data (black)")
    plots.w_tracking_figure([run], out / "w_estimate_vs_w1.png")
    plots.weight_histograms([run], [weights], c, out / "weight_histogram.png")
    print(f"\nFigures written to {out}/: samples_critic_clip.png w_estimate_vs_w1.png weight_histogram.png")

    print(ex.summary("WGAN-clip", run) + f"; W estimate vs W1 r = {r:.3f}; {100 * at_bound:.1f}% of weights at +-c")
    return {**ex.claims(run), "weights_at_bound": at_bound,
            "weights_at_bound_first": run.evaluations[0].weights_at_bound,
            "clipped_fraction_first": run.log.clipped_fraction[0], "initial_outside": outside,
            "clipped_fraction_last": run.log.clipped_fraction[-1],
            "k_reading": k_reading, "k_bound": k_bound, "max_abs_weight": float(np.max(np.abs(weights)))}


if __name__ == "__main__":
    main()
