"""Chapter 8: spectral normalization, the third way to keep a critic Lipschitz, on the same task.

Weight clipping (chapter 6) bounds every weight; the gradient penalty (chapter 7) asks for unit gradient
norms at sampled points. Miyato et al. 2018 (Spectral Normalization for Generative Adversarial Networks;
seed 004 lists it as the third tool) bound the Lipschitz constant of the network directly, layer by layer.
A linear map x -> x W has Lipschitz constant sigma(W), its largest singular value (the spectral norm), and
a composition's constant is at most the product of its parts'. ReLU is 1-Lipschitz, so a ReLU MLP obeys

    ||f||_Lip <= prod_l sigma(W_l)                                            (Miyato et al. 2018, Eq. 7)

and dividing each weight by its spectral norm, W_SN = W / sigma(W) (their Eq. 8), makes every factor 1 and
the whole critic at most 1-Lipschitz, whatever values the stored W takes. sigma(W) is estimated by one
step of power iteration per forward pass, with the vector u carried over from the previous step (their
Algorithm 1; tinywgan.wgan.SpectralNorm): W changes little between steps, so one iteration keeps up.
There is no second backward pass (the penalty needs one) and no box around the weights.

The bound is only a bound. The product of the layers' norms is reached only when each layer's top
singular direction feeds the next layer's, so the actual gradient norms of a normalised critic usually
fall below 1, and its estimate E f(real) - E f(fake) falls below W. This chapter measures by how much.

1. Train the WGAN with a spectrally normalised critic on 8 gaussians (default) with the optimizer of
   chapter 7 (Adam, betas (0.5, 0.9), n_critic 5: Miyato et al.'s setting "A" is WGAN-GP's): the same
   table of W estimate, exact W1, modes and high-quality samples along training.
2. Look inside the critic: per layer, sigma of the stored weight and of the normalised one (by an exact
   SVD), and the product bound; the gradient norms actually reached at interpolates.
3. Compare with the gradient penalty on the same budget (same steps, networks, data, seed: chapter 7's run
   to the digit), and with chapter 6's weight clipping too under --with-clipping (it adds one more run).

Settings: those of chapter 7 (3 x 128 units, 8000 generator steps, Adam lr 5e-4 for the critic and 2e-4
for the generator; --paper: 512 units, 100k steps, lr 1e-4), so the two runs differ only in the tool.

Run: python chapters/08_spectral_normalization.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
     [--steps N] [--with-clipping] [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
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
    parser = chapter_parser(__doc__.splitlines()[0], "out/08_spectral_normalization")
    ex.add_toy_options(parser)
    parser.add_argument("--with-clipping", action="store_true",
                        help="also train chapter 6's weight-clipping settings on the same budget")
    args = chapter_args(parser, argv)
    scale = ex.scale_of(args)
    data = toy_dataset(args.dataset)

    # ---- 1. train with a spectrally normalised critic ------------------------------------------------
    print("== 1. WGAN with a spectrally normalised critic (Miyato et al. 2018) ==")
    sn = ex.train_tool("sn", args, scale, data)
    ex.print_evaluations(sn)
    r, rho = sn.correlation()
    print(f"  correlation of the W estimate with the exact W1 over training: Pearson {r:.3f}, "
          f"Spearman {rho:.3f}")
    ex.print_final(sn)

    # ---- 2. inside the critic -------------------------------------------------------------------------
    raw, normalised = ex.raw_spectral_norms(sn.critic), ex.spectral_norms(sn.critic)
    bound = math.prod(normalised)
    norms = sn.gradient_norms
    last = sn.evaluations[-1]
    print("\n== 2. Inside the normalised critic ==")
    print("  layer   sigma(W) stored   sigma(W / sigma_hat) by SVD")
    for i, (a, b) in enumerate(zip(raw, normalised)):
        print(f"  {i:5d}   {a:15.4f}   {b:27.6f}")
    print(f"  product of the normalised layers' norms (the Lipschitz bound)   = {bound:.6f}")
    print(f"  ||grad_x f|| at interpolates: mean {np.mean(norms):.3f}, max {np.max(norms):.3f}   "
          f"(bound {bound:.3f})")
    print(f"  final W estimate / exact W1 = {last.w_estimate:.4f} / {last.w1:.4f} = "
          f"{last.w_estimate / last.w1:.3f}")
    print("  The stored weights grow freely (only their direction matters), the normalised layers have norm 1")
    print("  up to the power iteration's error, and the critic's slopes stay under the bound.")

    # ---- 3. compare with the other tools on the same budget ------------------------------------------
    runs = []
    if args.with_clipping:
        print("\n== 3a. Chapter 6's settings on the same budget ==")
        runs.append(ex.train_tool("clip", args, scale, data))
    print("\n== 3. Chapter 7's gradient penalty on the same budget ==")
    gp = ex.train_tool("gp", args, scale, data)
    runs += [gp, sn]
    rows = ex.comparison_rows(runs, extra=[
        ("||grad f|| at interpolates: max", lambda run: f"{np.max(run.gradient_norms):.3g}")])
    print()
    ex.print_table(runs, rows, f"{scale.steps} generator steps each", name_width=52)

    out = args.out
    plots.snapshots_figure(sn, out / "samples_critic_sn.png",
                           f"Spectrally normalised critic on {data.name}: samples (orange) over data (black)")
    plots.w_tracking_figure(runs, out / "w_estimate_vs_w1.png")
    plots.gradient_norm_histograms(runs, out / "gradient_norms.png")
    plots.final_critics_figure(runs, out / "compared.png", f"{data.name}, {scale.steps} generator steps each")
    print(f"\nFigures written to {out}/: samples_critic_sn.png w_estimate_vs_w1.png gradient_norms.png compared.png")

    print(ex.summary("WGAN-SN", sn) + f"; gradient norms mean {np.mean(norms):.2f} <= bound {bound:.2f} "
          f"(GP: {np.mean(gp.gradient_norms):.2f})")
    result = {"sn": ex.claims(sn), "gp": ex.claims(gp), "sn_layer_norms": normalised,
              "sn_raw_layer_norms": raw, "sn_lipschitz_bound": bound}
    if args.with_clipping:
        result["clip"] = ex.claims(runs[0])
    return result


if __name__ == "__main__":
    main()
