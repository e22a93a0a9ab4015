# %% [markdown]
# # Chapter 8: spectral normalization, the third way to keep a critic Lipschitz, on the same task
#
# The critic of a WGAN must be 1-Lipschitz for its score gap to estimate the Wasserstein distance
# (Kantorovich-Rubinstein duality, Arjovsky et al. 2017, Eq. 2):
#
# $$W(P_r, P_\theta) = \sup_{\|f\|_L \le 1} \mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_\theta}[f(x)].$$
#
# Weight clipping (chapter 6) bounds every weight; the gradient penalty (chapter 7) asks for unit gradient
# norms at sampled points. Miyato et al. 2018 (Spectral Normalization for Generative Adversarial Networks;
# A. Bereyhi's "Deep Generative Models, Chapter 4: Generative Adversarial Networks" lists it as the third
# tool) bound the Lipschitz constant of the network directly, layer by layer. A linear map $x \mapsto xW$ has
# Lipschitz constant $\sigma(W)$, its largest singular value (the spectral norm), and a composition's
# constant is at most the product of its parts'. ReLU is 1-Lipschitz, so a ReLU MLP obeys
#
# $$\|f\|_{\mathrm{Lip}} \le \prod_l \sigma(W_l) \qquad \text{(Miyato et al. 2018, Eq. 7)}$$
#
# and dividing each weight by its spectral norm,
#
# $$\bar W_{SN} = W / \sigma(W) \qquad \text{(Miyato et al. 2018, Eq. 8)},$$
#
# makes every factor 1 and the whole critic at most 1-Lipschitz, whatever values the stored $W$ takes. There
# is no second backward pass (the penalty needs one) and no box around the weights.
#
# The bound is only a bound. The product of the layers' norms is reached only when each layer's top singular
# direction feeds the next layer's, so the actual gradient norms of a normalised critic usually fall below 1,
# and its estimate $\mathbb{E} f(\text{real}) - \mathbb{E} f(\text{fake})$ falls below $W$. This chapter
# measures by how much, on the task of chapters 6 and 7 and with chapter 7's settings (3 x 128 units, 10000
# generator steps, Adam lr $10^{-3}$ for both networks decaying linearly to 0, the generator averaged with decay
# 0.999; `--paper`: 512 units, 100k steps, constant lr $10^{-4}$, no average), so that the runs differ only in
# the tool.
#
# Run: `python chapters/08_spectral_normalization.py [--dataset 8gaussians|25gaussians|swissroll] [--paper]
# [--steps N] [--lr-schedule constant|linear] [--ema DECAY] [--with-clipping] [--quick] [--out DIR] [--seed N]
# [--device cpu|gpu|strict] [--threads N]`, or step through the cells in VS Code / JupyterLab (jupytext);
# `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import math

import numpy as np

from tinywgan.data import toy_dataset
from tinywgan.lab import cli
from tinywgan.lab import experiment as ex
from tinywgan.lab import plots


def add_options(parser) -> None:
    ex.add_toy_options(parser)  # --dataset, --paper, --steps
    parser.add_argument("--with-clipping", action="store_true",
                        help="also train chapter 6's weight-clipping settings on the same budget")


args = cli.chapter_options("08_spectral_normalization",
                           "Chapter 8: spectral normalization, the third way to keep a critic Lipschitz",
                           add_options=add_options)
out = args.out
scale = ex.scale_of(args)
data = toy_dataset(args.dataset)

# %% [markdown]
# ## 1. A WGAN with a spectrally normalised critic
#
# Every Linear layer of the critic is wrapped in `tinywgan.wgan.SpectralNorm`, which estimates $\sigma(W)$ by
# one step of power iteration per forward pass, with the vector $u$ carried over from the previous step
# (Miyato et al. 2018, Algorithm 1):
#
# $$v \leftarrow \frac{W^\top u}{\|W^\top u\|}, \qquad u \leftarrow \frac{W v}{\|W v\|}, \qquad
#   \hat\sigma(W) = u^\top W v .$$
#
# $W$ changes little between steps, so one iteration keeps up. The optimizer is chapter 7's: Adam with betas
# (0.5, 0.9) and $n_{\text{critic}} = 5$ (Miyato et al.'s setting "A" is WGAN-GP's). The table follows the
# critic's W estimate, the exact $W_1$ between generated and real samples, the modes covered and the
# high-quality samples along training.

# %%
print("== 1. WGAN with a spectrally normalised critic (Miyato et al. 2018) ==")
sn = ex.train_tool("sn", args, scale, data)
ex.print_evaluations(sn)
r, rho = sn.correlation()
print(f"  correlation of the W estimate with the exact W1 over training: Pearson {r:.3f}, "
      f"Spearman {rho:.3f}")
ex.print_final(sn)
plots.snapshots_figure(sn, out / "samples_critic_sn.png",
                       f"Spectrally normalised critic on {data.name}: samples (orange) over data (black)")

# %% [markdown]
# ## 2. Inside the normalised critic
#
# Per layer: $\sigma$ of the stored weight $W$ and of the normalised one $W / \hat\sigma(W)$, both by an exact
# SVD, and their product, the Lipschitz bound $\prod_l \sigma(W_l / \hat\sigma_l)$. Then the slopes the critic
# actually reaches: $\|\nabla_x f(\hat x)\|$ at random interpolates $\hat x$ between real and generated
# samples, the points where the gradient penalty would look (Gulrajani et al. 2017, Eq. 3).

# %%
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
layers_at_one = all(abs(s - 1.0) < 0.02 for s in normalised)
under_bound = float(np.max(norms)) <= bound * (1 + 1e-4)
if layers_at_one and under_bound:
    print("  The stored weights grow freely (only their direction matters), the normalised layers have norm 1")
    print("  up to the power iteration's error, and the critic's slopes stay under the bound.")
else:
    print(f"  This run does not show it all: normalised layers at norm 1 (within 2%): "
          f"{'yes' if layers_at_one else 'no'}; slopes under the bound: {'yes' if under_bound else 'no'}.")

# %% [markdown]
# ## 3. The gradient penalty on the same budget
#
# Chapter 7's WGAN-GP, with the same networks, data, steps and seed: chapter 7's run to the digit. It
# penalises $\lambda\, \mathbb{E}_{\hat x}\big[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2\big]$
# (Gulrajani et al. 2017, Eq. 3), so its slopes are pulled toward 1 where spectral normalization only caps
# them.

# %%
print("\n== 3. Chapter 7's gradient penalty on the same budget ==")
gp = ex.train_tool("gp", args, scale, data)

# %% [markdown]
# ## 4. Weight clipping too (`--with-clipping`)
#
# With `--with-clipping`, chapter 6's settings (Arjovsky et al. 2017, Algorithm 1: clip every weight to
# $[-c, c]$ with $c = 0.01$, RMSprop lr 5e-5) train on the same budget as one more run. A clipped critic is
# $K$-Lipschitz for some $K \ll 1$, so its estimate is $K \cdot W$.

# %%
clip = None
if args.with_clipping:
    print("\n== 4. Chapter 6's weight clipping on the same budget ==")
    clip = ex.train_tool("clip", args, scale, data)
else:
    print("(no weight-clipping run: add --with-clipping to train chapter 6's settings too)")

# %% [markdown]
# ## 5. The tools side by side
#
# One column per run: sample quality, $W_1$ to the data, how well each critic's estimate tracks the exact
# $W_1$, and the slopes at interpolates. The figures: the W estimate beside the exact $W_1$ over training
# (Arjovsky et al. 2017, Fig. 3 shows the estimate following sample quality), the gradient norms at
# interpolates (a 1-Lipschitz critic has all of them $\le 1$; the optimal one has 1, Gulrajani et al. 2017,
# Proposition 1), and the final samples on each critic's contours.

# %%
runs = ([clip] if clip is not None else []) + [gp, sn]
rows = ex.comparison_rows(runs, extra=[
    ("||grad f|| at interpolates: max", lambda run: f"{np.max(run.gradient_norms):.3g}")])
print()
ex.print_table(runs, rows, f"{scale.steps} generator steps each", name_width=52)
plots.w_tracking_figure(runs, out / "w_estimate_vs_w1.png")
plots.gradient_norm_histograms(runs, out / "gradient_norms.png")
plots.final_critics_figure(runs, out / "compared.png", f"{data.name}, {scale.steps} generator steps each")
print(f"\nFigures written to {out}/: samples_critic_sn.png w_estimate_vs_w1.png gradient_norms.png compared.png")

# %%
claims = {"sn": ex.claims(sn), "gp": ex.claims(gp), "sn_layer_norms": normalised,
          "sn_raw_layer_norms": raw, "sn_lipschitz_bound": bound}
if clip is not None:
    claims["clip"] = ex.claims(clip)
mean_norm = float(np.mean(norms))
print(ex.summary("WGAN-SN", sn) + f"; gradient norms mean {mean_norm:.2f} {'<=' if mean_norm <= bound else '>'} "
      f"bound {bound:.2f} (GP: {np.mean(gp.gradient_norms):.2f})")
