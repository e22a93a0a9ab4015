"""Chapter 7: the gradient penalty (WGAN-GP): the same task as chapter 6, a better Lipschitz tool.

Chapter 6 kept the critic Lipschitz by clipping its weights into [-c, c], and saw the price: the weights
pile up at the two walls of the box and the critic's surface comes out coarse. Gulrajani et al. 2017
(Improved Training of Wasserstein GANs; seeds 001, 002, 004) replace the box by a soft constraint built on
a property of the optimal critic f* (their Proposition 1, seed 002): where f* is differentiable, on every
segment between a real point y and the generated point x that the optimal plan sends to it, grad f* is
the unit vector along the segment, so ||grad f*|| = 1 almost everywhere under P_r and P_g. A function is
1-Lipschitz exactly when its gradient norm is at most 1 everywhere, so they penalise the critic's gradient
norm for leaving 1 at random points between the two distributions:

    L = E_{x~P_g}[f(x)] - E_{x~P_r}[f(x)] + lambda * E_{x_hat}[(||grad_x_hat f(x_hat)|| - 1)^2],
    x_hat = alpha x_real + (1 - alpha) x_fake,  alpha ~ U[0, 1]                   (Gulrajani et al., Eq. 3)

The penalty contains a gradient, so its own gradient with respect to the critic's weights is a gradient of
a gradient: the double backprop the engine was built for (tinywgan.wgan.gradient_penalty). The
optimizer changes too: Adam instead of RMSprop, and nothing is clipped, so the weights are free to take
whatever values the critic needs.

The penalty is soft. A critic that keeps its shape but steepens by a factor s gains s W in the objective
and pays lambda (s - 1)^2, so it settles at s = 1 + W / (2 lambda) and reports s W = W + W^2 / (2 lambda)
(chapter 04). With the toy weight lambda = 0.1 the estimate is well above W early on, while W is large,
and comes down to W as the generator closes in: it still falls with W, which is the claim that matters.

This chapter
1. trains WGAN-GP on 8 gaussians (default; --dataset 25gaussians or swissroll) and prints, along training,
   the critic's W estimate, the exact W1 of generated vs real samples, modes covered and the share of
   high-quality samples (within 3 std of a centre; real data: 98.9%);
2. trains chapter 6's weight-clipping settings on the same budget: the same number of generator steps,
   the same networks, data and seed (so its numbers are chapter 6's, to the digit), and puts the two
   side by side: modes, high-quality %, W1 to the data, how well the estimate follows W1;
3. compares the critics' weights (the penalty's no longer pile up at +-c) and their input-gradient norms
   at interpolates (the penalty's sit near 1, the clipped critic's far below: it estimates K * W, K << 1).

Settings. The paper's toy run (--paper: 3 hidden layers of 512 units, 100k steps, Adam lr 1e-4 with betas
(0.5, 0.9) and lambda 0.1 for the toy sets, as in its released code; for a GPU) would take days on two CPU
cores. The default takes about 6 minutes there (the target is 10): 3 x 128 units, 8000 generator steps,
and larger learning rates, 5e-4 for the critic and 2e-4 for the generator (tinywgan.lab.experiment.CPU,
CPU_LR, CPU_CRITIC_LR).
Penalty weight 0.1 as in the toy code: with lambda = 10 the toy generator stays collapsed on one mode for
thousands of steps. Budgets are in generator steps, not wall time, so a run is the same run on every
machine; the time per step is printed.

Run: python chapters/07_wgan_gradient_penalty.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
     [--steps N] [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
"""
from __future__ import annotations

import os

# One BLAS thread. With 128-unit layers a second one saves about a quarter of a step on an idle 2-core
# machine, but when anything else runs, OpenBLAS's threads spin against it: measured 24 ms per WGAN-GP step
# with one thread, 450 ms with two while other jobs ran. Set before NumPy loads; a setting of yours wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from tinywgan.lab import experiment as ex
from tinywgan.lab import plots
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.data import toy_dataset


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/07_wgan_gradient_penalty")
    ex.add_toy_options(parser)
    args = chapter_args(parser, argv)
    scale = ex.scale_of(args)
    data = toy_dataset(args.dataset)

    # ---- 1. WGAN-GP -------------------------------------------------------------------------------------
    print("== 1. WGAN-GP: the critic's gradient norm is pulled to 1 at interpolates ==")
    gp = ex.train_tool("gp", args, scale, data)
    ex.print_evaluations(gp)
    r, rho = gp.correlation()
    print(f"  correlation of the W estimate with the exact W1 over training: Pearson {r:.3f}, "
          f"Spearman {rho:.3f}")
    first, lam = gp.evaluations[0], gp.config.gp_weight
    print(f"  soft penalty: at step {first.step} the estimate {first.w_estimate:.3f} vs exact W1 {first.w1:.3f}; "
          f"a critic that only rescaled\n  would report W + W^2 / (2 lambda) = "
          f"{first.w1 + first.w1 ** 2 / (2 * lam):.3f} (chapter 04)")
    ex.print_final(gp)

    # ---- 2. Chapter 6's settings on the same budget -------------------------------------------------------
    print("\n== 2. The same budget with chapter 6's settings (weight clipping) ==")
    clip = ex.train_tool("clip", args, scale, data)
    ex.print_final(clip)

    # ---- 3. Side by side -----------------------------------------------------------------------------------
    c = clip.config.clip_value
    weights = {run.label: ex.critic_weights(run.critic) for run in (clip, gp)}
    at_bound = {label: ex.fraction_at_bound(w, c) for label, w in weights.items()}
    print(f"\n== 3. Two Lipschitz tools, {scale.steps} generator steps each ==")
    rows = ex.comparison_rows([clip, gp], extra=[
        ("critic weights within 1% of +-c", lambda run: f"{100 * at_bound[run.label]:.1f} %"),
        ("critic weights: largest |w|", lambda run: f"{np.max(np.abs(weights[run.label])):.3g}")])
    ex.print_table([clip, gp], rows)
    w_gp, w_clip = weights[gp.label], weights[clip.label]
    print(f"  Penalised critic: gradient norms at interpolates average {np.mean(gp.gradient_norms):.3g} "
          f"(the penalty's target is 1), weights in [{w_gp.min():.3f}, {w_gp.max():.3f}].")
    print(f"  Clipped critic: gradient norms average {np.mean(clip.gradient_norms):.3g}, weights in "
          f"[{w_clip.min():.3f}, {w_clip.max():.3f}], {100 * at_bound[clip.label]:.1f} % of them at +-{c}.")

    # ---- figures ---------------------------------------------------------------------------------------
    out = args.out
    plots.snapshots_figure(gp, out / "samples_critic_gp.png",
                           f"WGAN-GP on {data.name}: samples (orange) over data (black), critic contours")
    plots.w_tracking_figure([gp, clip], out / "w_estimate_vs_w1.png")
    plots.weight_histograms([clip, gp], [w_clip, w_gp], c, out / "weight_histograms.png")
    plots.gradient_norm_histograms([clip, gp], out / "gradient_norms.png")
    plots.final_critics_figure([clip, gp], out / "clip_vs_gp.png",
                               f"{data.name}, {scale.steps} generator steps each")
    names = "samples_critic_gp.png w_estimate_vs_w1.png weight_histograms.png gradient_norms.png clip_vs_gp.png"
    print(f"\nFigures written to {out}/: {names}")

    clip_quality = (f"{clip.modes}/{clip.n_modes} modes, {100 * clip.high_quality:.1f}%, "
                    if clip.modes is not None else "")
    print(ex.summary("WGAN-GP", gp) + f" (clipping on the same budget: {clip_quality}W1 {clip.w1_to_data:.4f})")
    return {"gp": ex.claims(gp), "clip": ex.claims(clip),
            "gp_weights_at_bound": at_bound[gp.label], "clip_weights_at_bound": at_bound[clip.label]}


if __name__ == "__main__":
    main()
