"""The figures chapters 06-08 save, drawn from :class:`tinywgan.lab.experiment.ToyRun` objects.

Each function takes runs and a path, writes one PNG (shown below the cell in a notebook kernel) and closes its
figure (:func:`tinywgan.lab.cli.save_figure`); matplotlib is imported inside, so importing this module costs
nothing (and the chapters pick the Agg backend first, via tinywgan.lab.cli).

* :func:`snapshots_figure`: generated samples over the data, on the critic's contours, at several steps;
* :func:`w_tracking_figure`: the critic's W estimate beside the exact W1 over training, and one against
  the other (Arjovsky et al. 2017, Fig. 3: the loss that tracks sample quality);
* :func:`weight_histograms`: the critic's weights, with +-c marked (Gulrajani et al. 2017, Fig. 1b);
* :func:`gradient_norm_histograms`: ||grad_x f|| at interpolates, with the unit norm the optimal critic
  has marked (Gulrajani et al. 2017, Prop. 1);
* :func:`final_critics_figure`: the final samples and critics of several runs side by side.
"""
from __future__ import annotations

import numpy as np

from .cli import save_figure
from .experiment import ToyRun, fraction_at_bound

REAL_COLOUR, FAKE_COLOUR = "black", "tab:orange"


HQ_NOTE = "HQ: high-quality samples, within 3 std of a mode's centre (real data: 98.9%)"


def _quality(modes, n_modes, high_quality) -> str:
    if modes is None:
        return ""
    return f"{modes}/{n_modes} modes, {100 * high_quality:.0f}% HQ"


def _draw_critic(ax, run: ToyRun, values: np.ndarray, samples: np.ndarray, n_show: int = 512,
                 colorbar: bool = True) -> None:
    """Filled contours of the critic (its own colour scale, with a colorbar: a critic's values are defined
    up to a constant, only their differences matter), the real sample in black, generated points in orange."""
    from matplotlib.ticker import MaxNLocator
    g = run.grid
    filled = ax.contourf(g, g, values, levels=20, cmap="viridis", alpha=0.85)
    ax.contour(g, g, values, levels=10, colors="white", linewidths=0.4, alpha=0.6)
    ax.scatter(run.real[:n_show, 0], run.real[:n_show, 1], s=2, c=REAL_COLOUR, label="real")
    ax.scatter(samples[:n_show, 0], samples[:n_show, 1], s=2, c=FAKE_COLOUR, alpha=0.7, label="generated")
    ax.set_xlim(g[0], g[-1])
    ax.set_ylim(g[0], g[-1])
    ax.set_aspect("equal")
    ax.set_xticks([-2, -1, 0, 1, 2])
    ax.set_yticks([-2, -1, 0, 1, 2])
    ax.tick_params(labelsize=7)
    ax.set_xlabel("$x_1$", fontsize=8, labelpad=1)
    ax.set_ylabel("$x_2$", fontsize=8, labelpad=1)
    if colorbar:
        bar = ax.figure.colorbar(filled, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=6)
        bar.locator = MaxNLocator(5)
        bar.update_ticks()
        bar.set_label("critic value f(x)", fontsize=7)


def snapshots_figure(run: ToyRun, path, title: str | None = None) -> None:
    """One panel per snapshot: the critic's value surface (bright = scored as real), the data in black, the
    generator's samples in orange. The generator moves its samples up the critic's slope."""
    import matplotlib.pyplot as plt
    n = len(run.snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.5 * n, 3.6), squeeze=False, layout="constrained")
    for ax, snap in zip(axes[0], run.snapshots):
        _draw_critic(ax, run, snap.critic_values, snap.samples)
        ax.set_title(f"step {snap.step}\n{_quality(snap.modes, run.n_modes, snap.high_quality)}", fontsize=9)
    axes[0][0].legend(loc="lower left", fontsize=7, markerscale=4, framealpha=0.8)
    fig.suptitle(title or f"{run.label} on {run.data.name}: samples over data, critic contours", fontsize=11)
    if run.n_modes is not None:
        fig.supxlabel(HQ_NOTE, fontsize=8)
    save_figure(fig, path, dpi=100)


def final_critics_figure(runs: list[ToyRun], path, title: str) -> None:
    """The last snapshot of each run side by side: one task, several Lipschitz tools."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(runs), figsize=(4.0 * len(runs), 4.0), squeeze=False, layout="constrained")
    for ax, run in zip(axes[0], runs):
        snap = run.snapshots[-1]
        _draw_critic(ax, run, snap.critic_values, snap.samples)
        ax.set_title(f"{run.label}, step {snap.step}\n{_quality(run.modes, run.n_modes, run.high_quality)}"
                     f"{',' if run.modes is not None else ''} W1 {run.w1_to_data:.3f}", fontsize=9)
    axes[0][0].legend(loc="lower left", fontsize=7, markerscale=4, framealpha=0.8)
    fig.suptitle(title, fontsize=11)
    if runs[0].n_modes is not None:
        fig.supxlabel(HQ_NOTE, fontsize=8)
    save_figure(fig, path, dpi=100)


def w_tracking_figure(runs: list[ToyRun], path) -> None:
    """Per run: (left) exact W1 and the critic's estimate against the step, on two y-axes because a clipped
    critic estimates K * W for an unknown K; (right) estimate against W1, with the correlations."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(runs), 2, figsize=(10, 3.2 * len(runs)), squeeze=False,
                             gridspec_kw={"width_ratios": [2, 1]})
    for (ax, ax_sc), run in zip(axes, runs):
        steps = [e.step for e in run.evaluations]
        w1 = [e.w1 for e in run.evaluations]
        est = [e.w_estimate for e in run.evaluations]
        ax.plot(steps, w1, "o-", color="black", ms=3, label="exact W1(generated, real)")
        ax.axhline(run.w1_floor_eval, color="gray", ls=":", lw=1,
                   label=f"floor: W1(real, real) = {run.w1_floor_eval:.3f}")
        ax.set_ylabel("exact W1")
        ax.set_xlabel("generator step")
        right = ax.twinx()
        raw = np.asarray(run.log.w_estimate)
        right.plot(run.log.step, raw, color="tab:blue", alpha=0.15, lw=0.5)
        right.plot(steps, est, "s-", color="tab:blue", ms=3, label="critic's W estimate (smoothed)")
        right.set_ylabel("W estimate", color="tab:blue")
        # Both axes start at 0 (the estimate's lower, if it goes negative) and end 10% above their curve's
        # maximum, so the two curves can be compared by shape; the raw per-step estimates (faint) are
        # noisier and may leave the frame.
        ax.set_ylim(0, 1.1 * max(w1 + [run.w1_floor_eval]))
        right.set_ylim(min(0.0, 1.1 * min(est)), 1.1 * max(max(est), 1e-12))
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="best", framealpha=0.9)
        ax.set_title(f"{run.label} on {run.data.name}", fontsize=10)
        r, rho = run.correlation()
        points = ax_sc.scatter(w1, est, c=steps, cmap="viridis", s=14)
        ax_sc.set_xlabel("exact W1")
        ax_sc.set_ylabel("W estimate")
        ax_sc.locator_params(axis="x", nbins=4)
        for a in (right, ax_sc):  # a clipped critic's estimates are ~1e-5: powers of ten in the corner
            a.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        fig.colorbar(points, ax=ax_sc, pad=0.02).set_label("generator step", fontsize=8)
        ax_sc.set_title(f"Pearson r = {r:.3f}, Spearman = {rho:.3f}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def weight_histograms(runs: list[ToyRun], weights: list[np.ndarray], clip_value: float, path) -> None:
    """A histogram of each critic's weights with the clipping bounds +-c drawn, and the share of weights
    within 1% of them. Each panel's x-range is its own: clipped weights live in [-c, c], others do not."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.4), squeeze=False)
    for ax, run, w in zip(axes[0], runs, weights):
        ax.hist(w, bins=101, color="tab:purple")
        for sign in (-1, 1):
            ax.axvline(sign * clip_value, color="tab:red", ls="--", lw=1)
        share = fraction_at_bound(w, clip_value)
        ax.set_title(f"{run.label}: {100 * share:.1f}% of weights within 1% of +-c\n"
                     f"(c = {clip_value}, red lines)", fontsize=9)
        ax.set_xlabel("critic weight")
        ax.set_yscale("log")
        ax.locator_params(axis="x", nbins=5)
    axes[0][0].set_ylabel("count (log scale)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def gradient_norm_histograms(runs: list[ToyRun], path) -> None:
    """||grad_x f(x_hat)|| at interpolates between real and generated samples, one histogram per run; the
    optimal critic has norm 1 there (Gulrajani et al. 2017, Prop. 1). The x axis is logarithmic and shared,
    so a clipped critic's norms of ~1e-5 and a penalised critic's of ~1 show on one scale."""
    import matplotlib.pyplot as plt
    positive = np.concatenate([run.gradient_norms[run.gradient_norms > 0] for run in runs])
    low = min(float(positive.min()) if positive.size else 1e-3, 0.5)
    high = max(float(positive.max()) if positive.size else 1.0, 2.0)
    bins = np.geomspace(low / 1.2, high * 1.2, 61)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.2), squeeze=False, sharex=True)
    for ax, run in zip(axes[0], runs):
        norms = run.gradient_norms
        ax.hist(np.maximum(norms, bins[0]), bins=bins, color="tab:green")
        ax.axvline(1.0, color="black", ls="--", lw=1, label="1 (the optimal critic)")
        ax.set_xscale("log")
        ax.set_title(f"{run.label}: mean {norms.mean():.3g}, max {norms.max():.3g}", fontsize=9)
        ax.set_xlabel("||grad_x f(x_hat)|| (log scale)")
    axes[0][0].set_ylabel("interpolates")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def quality_over_training(runs: list[ToyRun], path, title: str = "") -> None:
    """Per run, the share of high-quality samples (W1 to the data for a set without modes) along training,
    for the averaged generator and the trained one: where the trained generator circles the modes, its
    number swings; the average's steadies."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.3), squeeze=False, sharey=True)
    for ax, run in zip(axes[0], runs):
        steps = [e.step for e in run.evaluations]
        modes = run.n_modes is not None
        value = (lambda e: 100 * e.high_quality) if modes else (lambda e: e.w1)
        raw = (lambda e: 100 * e.high_quality_raw) if modes else (lambda e: e.w1_raw)
        averaged = run.generator_ema is not None
        ax.plot(steps, [value(e) for e in run.evaluations], "o-", ms=3, color="tab:blue",
                label=f"averaged generator (EMA {run.config.ema_decay:g})" if averaged else "generator")
        if averaged:
            ax.plot(steps, [raw(e) for e in run.evaluations], "s-", ms=2.5, lw=1, color="tab:orange",
                    alpha=0.8, label="trained generator itself")
        ax.set_xlabel("generator step")
        schedule = "lr decaying to 0" if run.config.lr_schedule == "linear" else "constant lr"
        lr = run.config.critic_lr or run.config.lr
        ax.set_title(f"{run.label}, seed {run.config.seed}\nlr {lr:g} / {run.config.lr:g}, {schedule}",
                     fontsize=9)
        ax.legend(fontsize=7, loc="lower right" if modes else "upper right")
        ax.grid(alpha=0.3)
        if modes:
            ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("high-quality samples (%)" if runs[0].n_modes is not None else "W1 to data")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def sample_clouds_figure(runs: list[ToyRun], path, title: str) -> None:
    """The final samples of several runs (seeds) over the data, one panel each, with their numbers."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(runs), figsize=(2.9 * len(runs), 3.3), squeeze=False, layout="constrained")
    for ax, run in zip(axes[0], runs):
        snap = run.snapshots[-1]
        ax.scatter(run.real[:, 0], run.real[:, 1], s=2, c=REAL_COLOUR, label="real")
        ax.scatter(snap.samples[:, 0], snap.samples[:, 1], s=2, c=FAKE_COLOUR, alpha=0.6, label="generated")
        ax.set_xlim(run.grid[0], run.grid[-1])
        ax.set_ylim(run.grid[0], run.grid[-1])
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        ax.set_xlabel("$x_1$", fontsize=8)
        quality = _quality(run.modes, run.n_modes, run.high_quality)
        ax.set_title(f"seed {run.config.seed}\n{quality}{', ' if quality else ''}W1 {run.w1_to_data:.3f}",
                     fontsize=9)
    axes[0][0].set_ylabel("$x_2$", fontsize=8)
    axes[0][0].legend(loc="lower left", fontsize=7, markerscale=4, framealpha=0.8)
    fig.suptitle(title, fontsize=10)
    if runs[0].n_modes is not None:
        fig.supxlabel(HQ_NOTE, fontsize=8)
    save_figure(fig, path, dpi=100)
