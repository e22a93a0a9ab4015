"""Chapter 1: the Earth Mover's distance, three ways, and the transport plan behind it.

Picture one pmf as piles of earth and the other as holes of the same total volume. A *transport plan* says
how much earth goes from each pile x_i to each hole y_j: it is a table gamma(x_i, y_j) >= 0 whose rows sum
to the piles P_x(x_i) and whose columns sum to the holes P_y(y_j), i.e. a joint distribution with those
marginals (seed 000's joint table; seed 004's coupling set). Its work is sum gamma_ij |x_i - y_j|, and the
Earth Mover's distance is the least work over all plans (WGAN paper, Eq. 1):

    W(P_x, P_y) = min_{gamma in Pi(P_x, P_y)} E_{(x, y) ~ gamma} |x - y|

This chapter
1. builds several valid plans between two small 1-D pmfs (independent, reversed, north-west corner, LP
   optimum) and prices each one; only the last two reach the minimum;
2. computes W1 three ways that must agree: the area between the two CDFs (1-D only), the primal LP over
   plans, and the dual LP over potentials f_i + g_j <= |x_i - y_j|;
3. plots the dual potential: it is 1-Lipschitz and E_Px[phi] - E_Py[phi] = W1. That is the Kantorovich-
   Rubinstein duality, W = sup_{||f||_L <= 1} E_Px f - E_Py f (WGAN paper Eq. 2; seeds 000, 002), the
   formula a WGAN critic is trained to approximate;
4. matches two 2-D point clouds optimally (an assignment problem) and draws the matching as arrows;
5. runs Sinkhorn's entropic OT (Cuturi 2013) on the same clouds: a smooth, GPU-friendly approximation
   whose value approaches the exact W1 as its regularization shrinks.

Run: python chapters/01_earth_movers_distance.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu]
"""
from __future__ import annotations

import numpy as np

from tinywgan.engine.backend import Generator, array_namespace, to_numpy
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.transport.ot import (check_plan, cost_matrix, emd, north_west_corner, optimal_assignment, sinkhorn,
                         solve_dual_lp, solve_transport_lp, transport_cost, wasserstein_1d)

# Two small pmfs on the line, piles and holes as in seed 000's table (k = 5 rows, L = 7 columns).
X_PILES = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
A_PILES = np.array([0.10, 0.20, 0.45, 0.20, 0.05])
Y_HOLES = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
B_HOLES = np.array([0.30, 0.05, 0.05, 0.10, 0.10, 0.10, 0.30])


def _print_table(plan: np.ndarray, title: str) -> None:
    print(f"\n{title}  (rows: x_i with P_x; columns: y_j; entry: mass moved x_i -> y_j)")
    print("  x \\ y " + "".join(f"{y:7.0f}" for y in Y_HOLES) + "  | P_x")
    for x, a, row in zip(X_PILES, A_PILES, plan):
        print(f"  {x:5.0f} " + "".join(f"{v:7.3f}" for v in row) + f"  | {a:.2f}")
    print("  P_y   " + "".join(f"{b:7.2f}" for b in B_HOLES))


def plans_and_costs(cost: np.ndarray) -> dict:
    """Four couplings of (P_x, P_y), each checked to be a plan, with their work."""
    reversed_plan = north_west_corner(A_PILES, B_HOLES[::-1])[:, ::-1]  # fill in opposite order
    plans = {
        "independent P_x(x) P_y(y)": np.outer(A_PILES, B_HOLES),
        "reversed order (north-east corner)": reversed_plan,
        "north-west corner (sorted order)": north_west_corner(A_PILES, B_HOLES),
        "LP optimum (HiGHS)": to_numpy(solve_transport_lp(A_PILES, B_HOLES, cost).plan),
    }
    print("\n== 1. Transport plans between two 1-D pmfs ==")
    print("Every plan below passes check_plan: entries >= 0, rows sum to P_x, columns sum to P_y.")
    costs = {}
    for name, plan in plans.items():
        check_plan(plan, A_PILES, B_HOLES, atol=1e-12)
        costs[name] = transport_cost(plan, cost)
        print(f"  work of the {name:36s} = {costs[name]:.6f}")
    print("The LP's plan differs from the north-west corner's yet costs the same: in 1-D with cost |x - y|")
    print("the optimal plan need not be unique, only its work is.")
    _print_table(plans["north-west corner (sorted order)"], "The north-west corner plan")
    return {"plans": plans, "costs": costs}


def three_ways(cost: np.ndarray) -> dict:
    """W1 by the CDF formula, the primal LP, and the dual LP; plus the dual potential phi."""
    w_cdf = wasserstein_1d(X_PILES, Y_HOLES, A_PILES, B_HOLES)
    primal = solve_transport_lp(A_PILES, B_HOLES, cost)
    dual = solve_dual_lp(A_PILES, B_HOLES, cost)
    f, g = to_numpy(dual.f), to_numpy(dual.g)
    print("\n== 2. W1 three ways ==")
    print(f"  area between the CDFs  int |F_x - F_y| dt       = {w_cdf:.12f}")
    print(f"  primal LP  min_gamma sum gamma_ij |x_i - y_j|   = {primal.value:.12f}")
    print(f"  dual LP    max sum P_x f + sum P_y g            = {dual.value:.12f}")
    spread = max(w_cdf, primal.value, dual.value) - min(w_cdf, primal.value, dual.value)
    print(f"  largest disagreement                           = {spread:.1e}")

    # phi(t) = min_j |t - y_j| - g_j: a min of 1-Lipschitz functions; phi = f on the piles, -g on the holes.
    support = np.concatenate([X_PILES, Y_HOLES])
    values = np.concatenate([f, -g])
    dx = np.abs(support[:, None] - support[None, :])
    dphi = np.abs(values[:, None] - values[None, :])
    lipschitz = float(np.max(dphi[dx > 0] / dx[dx > 0]))
    kr_value = float(A_PILES @ f - B_HOLES @ (-g))
    print("\n== 3. The dual potential is a 1-Lipschitz critic ==")
    print("  phi on the piles x_i: " + " ".join(f"{v:+.2f}" for v in f))
    print("  phi on the holes y_j: " + " ".join(f"{v:+.2f}" for v in -g))
    print(f"  largest slope |phi(s) - phi(t)| / |s - t| over the support = {lipschitz:.12f}  (<= 1)")
    print(f"  E_Px[phi] - E_Py[phi] = {kr_value:.12f}  (= W1: Kantorovich-Rubinstein)")
    return {"w1_cdf": w_cdf, "w1_primal": primal.value, "w1_dual": dual.value, "f": f, "g": g,
            "dual_lipschitz": lipschitz, "dual_kr_value": kr_value}


def clouds_2d(n: int, seed: int, device: str):
    """Two clouds of n points: a blob at the origin and an arc of radius 3 (on ``device``)."""
    rng = Generator(seed, device)
    xp = rng.xp
    blob = rng.normal((n, 2), std=0.6, dtype="float64")
    angle = rng.uniform((n,), low=-0.3 * np.pi, high=0.8 * np.pi, dtype="float64")
    radius = 3.0 + rng.normal((n,), std=0.2, dtype="float64")
    arc = xp.stack([radius * xp.cos(angle), radius * xp.sin(angle)], axis=1)
    return blob, arc


def assignment_2d(blob, arc) -> dict:
    """The exact W1 between the clouds as an assignment, checked against the LP over all plans."""
    n = blob.shape[0]
    sigma = optimal_assignment(blob, arc)
    w_emd = emd(blob, arc)
    uniform = np.full(n, 1.0 / n)
    w_lp = solve_transport_lp(uniform, uniform, to_numpy(cost_matrix(blob, arc))).value
    print(f"\n== 4. Two clouds of {n} points in 2-D ==")
    print(f"  optimal assignment (scipy linear_sum_assignment): W1 = {w_emd:.12f}")
    print(f"  LP over all plans with weights 1/n:               W1 = {w_lp:.12f}")
    print("  (equal: with equal weights an optimal plan is a permutation, Birkhoff-von Neumann)")
    return {"emd_2d": w_emd, "lp_2d": w_lp, "sigma": sigma}


def sinkhorn_sweep(blob, arc, w_exact: float, factors, max_iter: int) -> dict:
    """Sinkhorn's <P, C> for shrinking reg (in units of the mean cost), against the exact W1."""
    n = blob.shape[0]
    cost = cost_matrix(blob, arc)  # on the chapter's device; Sinkhorn runs there too
    scale = float(np.mean(to_numpy(cost)))
    xp = array_namespace(cost)
    uniform = xp.ones(n, dtype=xp.float64) / n  # weights on the same device as the cost
    print("\n== 5. Sinkhorn (entropic OT, log domain) approaches W1 as reg shrinks ==")
    print(f"  exact W1 = {w_exact:.6f}; reg is given as a fraction of the mean cost {scale:.3f}")
    print("     reg/mean     <P, C>    gap to W1   iterations  converged")
    regs, values, gaps, converged = [], [], [], []
    for factor in factors:
        res = sinkhorn(uniform, uniform, cost, reg=factor * scale, max_iter=max_iter, warn=False)
        gap = (res.value - w_exact) / w_exact
        regs.append(factor * scale), values.append(res.value), gaps.append(gap)
        converged.append(res.converged)
        print(f"  {factor:11.3f} {res.value:10.6f} {100 * gap:10.3f} %  {res.n_iter:10d}  {res.converged}")
    return {"sinkhorn_regs": regs, "sinkhorn_values": values, "sinkhorn_gaps": gaps,
            "sinkhorn_converged": converged}


# ----------------------------------------------------------------------------------------------- figures
def _plan_figure(plans: dict, costs: dict, path) -> None:
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(15, 4.4))
    outer = fig.add_gridspec(1, len(plans), wspace=0.35)
    vmax = max(float(p.max()) for p in plans.values())
    for k, (name, plan) in enumerate(plans.items()):
        grid = outer[k].subgridspec(2, 2, width_ratios=[4, 1], height_ratios=[1, 4], hspace=0.05, wspace=0.05)
        heat = fig.add_subplot(grid[1, 0])
        top = fig.add_subplot(grid[0, 0], sharex=heat)
        side = fig.add_subplot(grid[1, 1], sharey=heat)
        heat.imshow(plan, cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
        for (i, j), v in np.ndenumerate(plan):
            if v > 1e-9:
                heat.text(j, i, f"{v:.2f}".lstrip("0"), ha="center", va="center", fontsize=7)
        heat.set_xticks(range(len(Y_HOLES)), [f"{y:.0f}" for y in Y_HOLES])
        heat.set_yticks(range(len(X_PILES)), [f"{x:.0f}" for x in X_PILES])
        heat.set_xlabel("y (holes)")
        heat.set_ylabel("x (piles)")
        top.bar(range(len(Y_HOLES)), B_HOLES, color="tab:orange")
        top.set_title(f"{name}\nwork = {costs[name]:.3f}", fontsize=9)
        top.axis("off")
        side.barh(range(len(X_PILES)), A_PILES, color="tab:blue")
        side.axis("off")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _cdf_figure(w1: float, path) -> None:
    import matplotlib.pyplot as plt
    t = np.linspace(-0.5, 6.5, 1401)
    F = np.array([A_PILES[X_PILES <= s].sum() for s in t])
    G = np.array([B_HOLES[Y_HOLES <= s].sum() for s in t])
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(t, F, color="tab:blue", label="F_x (piles)")
    ax.plot(t, G, color="tab:orange", label="F_y (holes)")
    ax.fill_between(t, F, G, color="tab:green", alpha=0.3, label=f"|F_x - F_y|: area = W1 = {w1:.3f}")
    ax.set_xlabel("t")
    ax.set_ylabel("cumulative mass")
    ax.set_title("In 1-D, W1 is the area between the two CDFs")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _dual_figure(f: np.ndarray, g: np.ndarray, w1: float, path) -> None:
    import matplotlib.pyplot as plt
    t = np.linspace(-1.0, 7.0, 801)
    phi = np.min(np.abs(t[:, None] - Y_HOLES[None, :]) - g[None, :], axis=1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(t, phi, color="black", lw=1.5, label="phi(t) = min_j |t - y_j| - g_j")
    ax.scatter(Y_HOLES, -g, s=400 * B_HOLES, color="tab:orange", zorder=3, marker="s",
               label="phi at holes y_j = -g_j (size: P_y)")
    ax.scatter(X_PILES, f, s=400 * A_PILES, color="tab:blue", edgecolor="white", zorder=4,
               label="phi at piles x_i = f_i (size: P_x)")
    ax.set_xlabel("t")
    ax.set_ylabel("phi(t)")
    ax.set_title(f"The optimal dual potential: slopes in [-1, 1], E_Px phi - E_Py phi = {w1:.3f}", fontsize=9)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _arrow_figure(blob: np.ndarray, arc: np.ndarray, sigma: np.ndarray, w1: float, path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    for i, j in enumerate(sigma):
        ax.annotate("", xy=arc[j], xytext=blob[i],
                    arrowprops={"arrowstyle": "->", "color": "gray", "lw": 0.8})
    ax.scatter(blob[:, 0], blob[:, 1], color="tab:blue", zorder=3, label="source cloud")
    ax.scatter(arc[:, 0], arc[:, 1], color="tab:orange", zorder=3, label="target cloud")
    ax.set_aspect("equal")
    ax.set_title(f"Optimal assignment: W1 = mean arrow length = {w1:.3f}")
    ax.legend(loc="lower left")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _sinkhorn_figure(sweep: dict, w1: float, path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(sweep["sinkhorn_regs"], sweep["sinkhorn_values"], "o-", label="Sinkhorn <P_reg, C>")
    ax.axhline(w1, color="black", ls="--", label=f"exact W1 = {w1:.4f}")
    ax.set_xscale("log")
    ax.set_xlabel("reg (entropic regularization, units of the cost)")
    ax.set_ylabel("transport cost")
    ax.set_title("Sinkhorn's value approaches W1 as reg -> 0")
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/01_earth_movers_distance")
    args = chapter_args(parser, argv)
    n_points = 8 if args.quick else 12
    n_sinkhorn = 20 if args.quick else 60
    factors = [1.0, 0.3, 0.1, 0.03] if args.quick else [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]
    max_iter = 2000 if args.quick else 20000

    cost = cost_matrix(X_PILES, Y_HOLES)  # |x_i - y_j|
    part1 = plans_and_costs(cost)
    part2 = three_ways(cost)

    blob, arc = clouds_2d(n_points, args.seed, args.device)
    part4 = assignment_2d(blob, arc)
    big_blob, big_arc = clouds_2d(n_sinkhorn, args.seed + 1, args.device)
    w_big = emd(big_blob, big_arc)
    part5 = sinkhorn_sweep(big_blob, big_arc, w_big, factors, max_iter)

    out = args.out
    _plan_figure(part1["plans"], part1["costs"], out / "plans.png")
    _cdf_figure(part2["w1_cdf"], out / "cdfs.png")
    _dual_figure(part2["f"], part2["g"], part2["w1_dual"], out / "dual_potential.png")
    _arrow_figure(to_numpy(blob), to_numpy(arc), part4["sigma"], part4["emd_2d"], out / "assignment_2d.png")
    _sinkhorn_figure(part5, w_big, out / "sinkhorn.png")
    print(f"\nFigures written to {out}/: plans.png cdfs.png dual_potential.png assignment_2d.png sinkhorn.png")

    costs = part1["costs"]
    return {
        "cost_independent": costs["independent P_x(x) P_y(y)"],
        "cost_reversed": costs["reversed order (north-east corner)"],
        "w1_north_west": costs["north-west corner (sorted order)"],
        "w1_lp_plan": costs["LP optimum (HiGHS)"],
        "w1_cdf": part2["w1_cdf"], "w1_primal": part2["w1_primal"], "w1_dual": part2["w1_dual"],
        "dual_lipschitz": part2["dual_lipschitz"], "dual_kr_value": part2["dual_kr_value"],
        "emd_2d": part4["emd_2d"], "lp_2d": part4["lp_2d"], "emd_sinkhorn_clouds": w_big,
        **{k: v for k, v in part5.items()},
    }


if __name__ == "__main__":
    main()
