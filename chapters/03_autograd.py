"""Chapter 3: the autograd engine on small examples, up to the double backprop of the gradient penalty.

Every later chapter trains a critic f_w with gradients, and WGAN-GP needs more than a gradient: its penalty
lambda * E[(||grad_x f_w(x_hat)|| - 1)^2] (Gulrajani et al. 2017, Eq. 3; seeds 001 and 004 write it out)
is itself a function of a gradient, and its own gradient with respect to the weights w is what the
critic's optimizer needs. This chapter opens the engine, tinywgan/engine/ (tensor.py: Tensor and Function;
ops/: one Function per op; backprop.py: the graph walk). The speed layer tinywgan/fast/ sits beside it, on by
default, and gives the same numbers; TINYWGAN_FAST=0 (or `with tinywgan.fast.disabled():`) runs the textbook
engine alone. With numbers that can be checked by hand, the chapter shows that the engine delivers both:

1. a graph: a one-neuron critic f = w2 * tanh(w1 * x + b) is recorded as Functions joined by Tensors, each
   with a *generation*; backward() visits them in decreasing generation and every gradient matches the
   chain rule written out by hand;
2. higher derivatives: because every backward pass is written with Tensor ops, grad(..., create_graph=True)
   returns a gradient that is itself a graph, so x**3 can be differentiated three times: 3x^2, 6x, 6;
3. checking derivatives: a central difference (L(x + h) - L(x - h)) / 2h has truncation error O(h^2) and
   rounding error O(u / h) (u: the unit roundoff); in float32 their sum never drops below a few 1e-6, in
   float64 it reaches ~1e-11, which is why gradcheck and gradgradcheck run in float64
   (tinywgan/engine/gradcheck.py). The checks pass on the ops the critics use, and they catch a deliberately
   wrong backward pass;
4. the gradient penalty on a small MLP critic, one step at a time: the interpolates x_hat, grad_x f(x_hat)
   with create_graph=True, its norms, the penalty, penalty.backward() into the weights, and a finite
   difference of the penalty in one weight printed beside the engine's derivative. Without
   create_graph=True the gradient is a constant and the penalty cannot reach the weights at all.

The chapter takes about two seconds, so --quick changes nothing.

Run: python chapters/03_autograd.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]
"""
from __future__ import annotations

import math
import textwrap

import numpy as np

import tinywgan as tw
from tinywgan import nn
from tinywgan.engine.backend import Generator, to_device, to_numpy
from tinywgan.lab.cli import chapter_args, chapter_parser
from tinywgan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinywgan.wgan import gradient_penalty

GP_WEIGHT = 10.0  # lambda, Gulrajani et al. 2017, Algorithm 1


def _scalar(device: str, value: float, name: str) -> tw.Tensor:
    t = tw.tensor(np.array(value, dtype=np.float64), device=device, requires_grad=True)
    t.name = name
    return t


def _functions_of(output: tw.Tensor) -> list:
    """Every Function above ``output`` (found by walking creator -> inputs), sorted by generation."""
    found, stack = {}, [output]
    while stack:
        f = stack.pop().creator
        if f is not None and id(f) not in found:
            found[id(f)] = f
            stack.extend(f.inputs)
    return sorted(found.values(), key=lambda f: f.generation)


# ----------------------------------------------------------------------------------------- 1. a graph
def a_graph(device: str) -> dict:
    """f = w2 * tanh(w1 * x + b): its recorded graph, then backward() against the chain rule by hand."""
    x, w1, b, w2 = (_scalar(device, v, n) for v, n in ((0.5, "x"), (2.0, "w1"), (-0.5, "b"), (1.5, "w2")))
    a = w1 * x
    h = a + b
    t = tw.tanh(h)
    f = w2 * t
    for tensor, name in ((a, "a"), (h, "h"), (t, "t"), (f, "f")):
        tensor.name = name
    functions = _functions_of(f)
    print("== 1. A graph: f = w2 * tanh(w1 * x + b) at x = 0.5, w1 = 2, b = -0.5, w2 = 1.5 ==")
    print("Walking f.creator -> .inputs back to the leaves finds these Functions (one output each):")
    print("  generation  Function  inputs        -> output = value")
    for fn in functions:
        ins = ", ".join(i.name for i in fn.inputs)
        out = fn.outputs[0]
        print(f"  {fn.generation:10d}  {type(fn).__name__:8s}  {ins:12s}  -> {out.name} = {out.item():+.6f}")
    print("A Function's generation is the largest generation among its inputs (leaves have 0); backward()")
    print("pops them from a heap, largest generation first, so each runs after all users of its output.")

    f.backward()
    tv = math.tanh(2.0 * 0.5 - 0.5)
    by_hand = {"w2": tv, "w1": 1.5 * (1 - tv * tv) * 0.5, "b": 1.5 * (1 - tv * tv),
               "x": 1.5 * (1 - tv * tv) * 2.0}
    print("\n  df/d  engine (backward)    chain rule by hand   error")
    errors = {}
    for leaf in (x, w1, b, w2):
        engine = leaf.grad.item()
        errors[leaf.name] = abs(engine - by_hand[leaf.name])
        print(f"  {leaf.name:4s}  {engine:+.15f}  {by_hand[leaf.name]:+.15f}  {errors[leaf.name]:.1e}")
    print("  (by hand: t = tanh(w1 x + b), df/dw2 = t, df/db = w2 (1 - t^2), df/dw1 = df/db * x, "
          "df/dx = df/db * w1)")
    # backward() keeps only the leaves' gradients; grad() hands back those of intermediate tensors too.
    inner = tw.grad(f, [t, h, a])
    print("  The walk passes through the intermediate gradients on its way (tinywgan.grad returns them):")
    print("   " + ",  ".join(f"df/d{v.name} = {g.item():+.6f}" for v, g in zip((t, h, a), inner)))
    adjoints = {v.name: g.item() for v, g in zip((t, h, a), inner)}
    adjoints.update({leaf.name: leaf.grad.item() for leaf in (x, w1, b, w2)})
    adjoints["f"] = 1.0
    return {"functions": functions, "output": f, "adjoints": adjoints, "graph_n_functions": len(functions),
            "graph_max_error": max(errors.values())}


# ------------------------------------------------------------------------------ 2. x**3 three times
def x_cubed(device: str) -> dict:
    """Differentiate y = x**3 three times with create_graph=True and compare with 3x^2, 6x, 6."""
    values = np.array([-2.0, -1.0, 0.5, 1.5, 3.0])
    x = tw.tensor(values, device=device, requires_grad=True)
    y = x ** 3
    # Each grad(..., create_graph=True) returns a Tensor with a graph of its own: the next grad walks it.
    d1, = tw.grad(y.sum(), x, create_graph=True)
    d2, = tw.grad(d1.sum(), x, create_graph=True)
    d3, = tw.grad(d2.sum(), x, create_graph=True)
    closed = (3 * values ** 2, 6 * values, np.full_like(values, 6.0))
    engine = [to_numpy(d.data) for d in (d1, d2, d3)]
    errors = [float(np.max(np.abs(e - c))) for e, c in zip(engine, closed)]
    sizes = [len(_functions_of(t)) for t in (y, d1, d2, d3)]
    print("\n== 2. y = x**3, differentiated three times (each gradient is a graph of its own) ==")
    print("      x     dy/dx    3x^2   d2y/dx2      6x   d3y/dx3     6")
    for i, v in enumerate(values):
        print(f"  {v:+5.1f}  {engine[0][i]:8.3f} {closed[0][i]:7.3f}  {engine[1][i]:8.3f} {closed[1][i]:7.3f}"
              f"  {engine[2][i]:8.3f} {closed[2][i]:5.1f}")
    print(f"  largest errors (float64): {errors[0]:.1e}, {errors[1]:.1e}, {errors[2]:.1e}")
    print(f"  Functions in the graphs of y, dy/dx, d2y/dx2, d3y/dx3: {sizes[0]}, {sizes[1]}, {sizes[2]}, "
          f"{sizes[3]}: each backward pass records the")
    print("  ops it runs that depend on x. d3y/dx3 = 6 depends on nothing, so it comes back as a constant")
    print("  (requires_grad False) and the fourth derivative is 0.")
    return {"values": values, "engine": engine, "d1_max_error": errors[0], "d2_max_error": errors[1],
            "d3_max_error": errors[2], "graph_sizes": sizes}


# ------------------------------------------------------------------------------- 3. checking derivatives
def finite_difference_errors(device: str) -> dict:
    """The worst |central difference - exact derivative| of sigmoid over 64 points in [-3, 3], against the
    step h, with the forward pass in float32 and in float64."""
    steps = np.logspace(-12, -0.5, 47)
    points = np.linspace(-3.0, 3.0, 64)[:, None]
    s = 1 / (1 + np.exp(-points))
    exact = s * (1 - s)
    curves = {}
    for dtype in ("float32", "float64"):
        plus = tw.tensor(points + steps, dtype=dtype, device=device)
        minus = tw.tensor(points - steps, dtype=dtype, device=device)
        with tw.no_grad():
            f_plus = to_numpy(tw.sigmoid(plus).data).astype(np.float64)
            f_minus = to_numpy(tw.sigmoid(minus).data).astype(np.float64)
        # Divide by the step the dtype could represent; below its resolution x + h == x - h: no estimate.
        width = to_numpy(plus.data).astype(np.float64) - to_numpy(minus.data).astype(np.float64)
        safe = np.where(width > 0, width, 1.0)
        error = np.where(width > 0, np.abs((f_plus - f_minus) / safe - exact), np.inf)
        curves[dtype] = np.max(error, axis=0)
    best = {d: float(np.min(e)) for d, e in curves.items()}
    best_h = {d: float(steps[np.argmin(e)]) for d, e in curves.items()}
    print("\n== 3. Checking derivatives: central differences and gradcheck ==")
    print("Central differences (s(x + h) - s(x - h)) / 2h of the sigmoid s against its exact derivative")
    print("s (1 - s), worst case over 64 points x in [-3, 3]; the forward pass in each dtype:")
    print("  dtype     smallest worst-case error  at step h")
    for d in curves:
        print(f"  {d:8s}  {best[d]:25.1e}  {best_h[d]:9.1e}")
    print("Large h: truncation error O(h^2). Small h: rounding error O(u / h), with the unit roundoff")
    print("u = 6e-8 in float32 and 1.1e-16 in float64. In float32 the best compromise still errs by more")
    print("than gradcheck's tolerance (1e-8 + 1e-6 |numeric|): gradcheck and gradgradcheck run in float64.")
    return {"steps": steps, "curves": curves, "fd_best_error_float32": best["float32"],
            "fd_best_error_float64": best["float64"]}


class WrongSigmoid(tw.engine.ops.Sigmoid):
    """The engine's sigmoid with a backward pass that forgets the factor (1 - y): dy/dx = y. Wrong on purpose."""

    def backward(self, gy):
        return gy * self.outputs[0]


def run_gradchecks(device: str, seed: int) -> dict:
    """gradcheck and gradgradcheck on the ops a critic is made of, then on a wrong op that must fail."""
    rng = Generator(seed, device)
    x = rng.normal((3, 4), dtype="float64")
    w = rng.normal((4, 2), dtype="float64")
    away_from_kinks = x + to_device(0.2 * np.sign(to_numpy(x)), device)  # no entry within 0.2 of the kink
    cases = {
        "tanh": (tw.tanh, [x]),
        "sigmoid": (tw.sigmoid, [x]),
        "softplus": (tw.softplus, [x]),
        "log_sigmoid": (tw.log_sigmoid, [x]),
        "leaky_relu": (lambda a: tw.leaky_relu(a, 0.2), [away_from_kinks]),
        "matmul": (tw.matmul, [x, w]),
        "norm over axis 1": (lambda a: tw.norm(a, axis=1), [x]),
        "x * y + x / y": (lambda a, b: a * b + a / b, [x, x * x + 1.0]),
    }
    print("\ngradcheck / gradgradcheck (float64, central differences, |error| <= 1e-8 + 1e-6 |numeric|):")
    results = {}
    for name, (fn, inputs) in cases.items():
        results[name] = (gradcheck(fn, inputs), gradgradcheck(fn, inputs))
        print(f"  {name:18s} first derivatives: {'pass' if results[name][0] else 'FAIL'}   "
              f"second derivatives: {'pass' if results[name][1] else 'FAIL'}")
    try:
        gradcheck(lambda a: WrongSigmoid()(a), [x])
        caught, message = False, "(no error)"
    except GradcheckError as err:
        caught, message = True, str(err).split("; inputs[")[0]
    print("A sigmoid whose backward returns gy * y (the factor 1 - y forgotten) is caught:")
    print(textwrap.fill(message, width=104, initial_indent="  ", subsequent_indent="    "))
    return {"gradchecks_passed": all(a and b for a, b in results.values()), "gradcheck_results": results,
            "wrong_backward_caught": caught}


# ---------------------------------------------------------------------- 4. the gradient penalty, by hand
def penalty_step_by_step(device: str, seed: int) -> dict:
    """The gradient penalty of a 2-16-16-1 tanh critic on 4 real and 4 fake points, one step at a time."""
    rng = Generator(seed, device)
    critic = nn.MLP([2, 16, 16, 1], activation="tanh", rng=rng, dtype="float64")
    n = 4
    real = rng.normal((n, 2), std=0.3, dtype="float64") + to_device(np.array([2.0, 1.0]), device)
    fake = rng.normal((n, 2), std=0.3, dtype="float64")
    alpha_seed = seed + 1
    print("\n== 4. The gradient penalty step by step (Gulrajani et al. 2017, Algorithm 1, lines 6, 7, 9) ==")
    print(f"critic f_w: MLP 2-16-16-1 with tanh, float64; {n} real points near (2, 1), {n} fake near (0, 0)")

    # Line 6: x_hat = alpha x + (1 - alpha) x~ with alpha ~ U[0, 1] (epsilon in the paper), one per pair.
    alpha = Generator(alpha_seed, device).uniform((n, 1), dtype=real.dtype)
    x_hat = tw.Tensor(fake + alpha * (real - fake), requires_grad=True)
    # The critic's value and its gradient in x at x_hat; create_graph=True keeps the backward pass as a graph
    # whose leaves include the weights, so that a function of this gradient can be differentiated in w.
    f_hat = critic(x_hat)
    g, = tw.grad(f_hat.sum(), x_hat, create_graph=True)
    # Line 7: ||grad_x f(x_hat)||_2 per sample, then lambda * mean_i (norm_i - 1)^2.
    norms = tw.norm(g, axis=1)
    gap = norms - 1.0
    penalty = GP_WEIGHT * (gap * gap).mean()
    hat, grads, a_host = to_numpy(x_hat.data), to_numpy(g.data), to_numpy(alpha).ravel()
    print("   i   alpha    x_hat                f(x_hat)   grad_x f(x_hat)          ||grad||")
    for i in range(n):
        print(f"  {i:2d}  {a_host[i]:6.3f}  ({hat[i, 0]:+.4f}, {hat[i, 1]:+.4f})  "
              f"{f_hat.numpy()[i, 0]:+.5f}  ({grads[i, 0]:+.5f}, {grads[i, 1]:+.5f})  {norms.numpy()[i]:.5f}")

    # A finite difference in the input checks the gradient we are about to penalise.
    h = 1e-6
    with tw.no_grad():
        def f_at(point):
            return float(to_numpy(critic(tw.tensor(point, device=device)).data)[0, 0])
        e0 = np.array([[h, 0.0]])
        numeric_dx0 = (f_at(hat[:1] + e0) - f_at(hat[:1] - e0)) / (2 * h)
    input_error = abs(numeric_dx0 - grads[0, 0])
    print(f"  check: df/dx_hat[0, 0] by central difference = {numeric_dx0:+.10f}, engine {grads[0, 0]:+.10f}")
    mean_square = float(np.mean(to_numpy(gap.data) ** 2))
    print(f"penalty = lambda * mean_i (||grad_i|| - 1)^2 = {GP_WEIGHT:g} * {mean_square:.6f} = "
          f"{penalty.item():.10f}")
    library = gradient_penalty(critic, real, fake, Generator(alpha_seed, device), weight=GP_WEIGHT).item()
    print(f"  tinywgan.wgan.gradient_penalty with the same alpha:  {library:.10f}")

    # Line 9's gradient in w: penalty.backward() walks the graph that grad(create_graph=True) recorded.
    critic.zero_grad()
    penalty.backward()
    first = critic[0].weight
    analytic = to_numpy(first.grad.data)

    def penalty_with(weight_host):
        """The penalty at the same x_hat with other first-layer weights; its norm is taken on the host."""
        saved = first.data
        first.data = to_device(weight_host, device)
        xh = tw.Tensor(x_hat.data, requires_grad=True)
        gg, = tw.grad(critic(xh).sum(), xh)
        value = GP_WEIGHT * float(np.mean((np.linalg.norm(to_numpy(gg.data), axis=1) - 1.0) ** 2))
        first.data = saved
        return value

    base = to_numpy(first.data).copy()
    numeric = np.zeros_like(base)
    for k in np.ndindex(*base.shape):
        up, down = base.copy(), base.copy()
        up[k] += h
        down[k] -= h
        numeric[k] = (penalty_with(up) - penalty_with(down)) / (2 * h)
    scale = float(np.max(np.abs(numeric)))
    max_error = float(np.max(np.abs(analytic - numeric))) / scale
    print("\npenalty.backward() fills .grad of every weight. First layer W[0, 0]:")
    print(f"  d penalty / d W[0, 0]   engine (double backprop) = {analytic[0, 0]:+.10f}")
    print(f"                          central difference        = {numeric[0, 0]:+.10f}")
    print(f"  over all {base.size} entries of the first layer: largest |engine - numeric| / max|numeric| = "
          f"{max_error:.1e}")

    # Without create_graph=True the gradient comes back detached: the penalty is a constant in w.
    g_const, = tw.grad(critic(x_hat).sum(), x_hat, create_graph=False)
    flat_penalty = GP_WEIGHT * ((tw.norm(g_const, axis=1) - 1.0) ** 2).mean()
    try:
        flat_penalty.backward()
        refused = False
        reason = "(backward ran)"
    except ValueError as err:
        refused, reason = True, str(err)
    print("The same penalty from grad(..., create_graph=False) has no path to the weights:")
    print(f"  requires_grad = {flat_penalty.requires_grad}; backward() says: {reason[:110]}...")
    return {"real": to_numpy(real), "fake": to_numpy(fake), "x_hat": hat, "grads": grads, "critic": critic,
            "analytic": analytic, "numeric": numeric, "penalty": penalty.item(), "penalty_library": library,
            "penalty_matches_library": abs(penalty.item() - library), "input_grad_error": input_error,
            "weight_grad_engine": float(analytic[0, 0]), "weight_grad_numeric": float(numeric[0, 0]),
            "weight_grad_max_rel_error": max_error, "no_create_graph_refused": refused}


# ----------------------------------------------------------------------------------------------- figures
def _graph_figure(graph: dict, path) -> None:
    """Tensors (rounded boxes: value and gradient) and Functions (square boxes) with arrows along the data."""
    import matplotlib.pyplot as plt
    functions = graph["functions"]
    # Function of generation g in column 2g + 1; a tensor it makes in column 2g + 2; a leaf just left of
    # its first user, so no arrow crosses the picture.
    where, rows = {}, {}

    def place(key, column):
        row = rows.get(column, 0)
        rows[column] = row + 1
        where[key] = (column, -row)

    for fn in functions:
        for t in fn.inputs:
            if t.creator is None and id(t) not in where:
                place(id(t), 2 * fn.generation)
        place(id(fn), 2 * fn.generation + 1)
        place(id(fn.outputs[0]), 2 * fn.generation + 2)
    fig, ax = plt.subplots(figsize=(13, 3.4))
    tensors = {id(t): t for fn in functions for t in (*fn.inputs, fn.outputs[0])}
    boxes = {}
    for fn in functions:
        boxes[id(fn)] = ax.text(*where[id(fn)], f"{type(fn).__name__}\ngen {fn.generation}", ha="center",
                                va="center", fontsize=9,
                                bbox={"boxstyle": "square,pad=0.4", "fc": "#fde9c9", "ec": "tab:orange"})
    for key, t in tensors.items():
        boxes[key] = ax.text(*where[key], f"{t.name} = {t.item():+.3f}\ndf/d{t.name} = "
                             f"{graph['adjoints'][t.name]:+.3f}", ha="center", va="center", fontsize=9,
                             bbox={"boxstyle": "round,pad=0.4", "fc": "#dcebf7" if t.creator is None
                                   else "white", "ec": "tab:blue"})
    for fn in functions:
        for source, target in [(id(t), id(fn)) for t in fn.inputs] + [(id(fn), id(fn.outputs[0]))]:
            ax.annotate("", xy=where[target], xytext=where[source],
                        arrowprops={"arrowstyle": "->", "color": "gray", "shrinkA": 2, "shrinkB": 2,
                                    "patchA": boxes[source].get_bbox_patch(),
                                    "patchB": boxes[target].get_bbox_patch()})
    columns = [c for c, _ in where.values()]
    ax.set_xlim(min(columns) - 0.7, max(columns) + 0.7)
    ax.set_ylim(min(r for _, r in where.values()) - 0.7, 0.7)
    ax.axis("off")
    ax.set_title("The recorded graph of f = w2 * tanh(w1 * x + b): tensors (leaves shaded) with their values "
                 "and gradients df/d., Functions with their generations", fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _derivatives_figure(device: str, path) -> None:
    import matplotlib.pyplot as plt
    grid = np.linspace(-2.0, 2.0, 41)
    x = tw.tensor(grid, device=device, requires_grad=True)
    levels = [x ** 3]
    for _ in range(3):
        levels.append(tw.grad(levels[-1].sum(), x, create_graph=True)[0])
    fine = np.linspace(-2.0, 2.0, 401)
    closed = (fine ** 3, 3 * fine ** 2, 6 * fine, np.full_like(fine, 6.0))
    labels = ("y = x^3", "dy/dx = 3x^2", "d2y/dx2 = 6x", "d3y/dx3 = 6")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for level, curve, label, color in zip(levels, closed, labels, ("C0", "C1", "C2", "C3")):
        ax.plot(fine, curve, color=color, lw=1.5, label=label + " (closed form)")
        ax.plot(grid, to_numpy(level.data), "o", ms=3, color=color, mfc="none")
    ax.set_xlabel("x")
    ax.set_title("Circles: the engine's grad(..., create_graph=True) applied 1, 2, 3 times", fontsize=10)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _finite_difference_figure(fd: dict, path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for dtype, color in (("float32", "tab:red"), ("float64", "tab:blue")):
        ax.loglog(fd["steps"], fd["curves"][dtype], "o-", ms=3, color=color, label=dtype)
    ax.set_xlabel("step h")
    ax.set_ylabel("worst |central difference - exact| over x in [-3, 3]")
    ax.set_title("Central differences of sigmoid: rounding (left) vs truncation (right)", fontsize=10)
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _penalty_figure(gp: dict, device: str, path) -> None:
    import matplotlib.pyplot as plt
    critic, real, fake, hat, grads = gp["critic"], gp["real"], gp["fake"], gp["x_hat"], gp["grads"]
    u, v = np.meshgrid(np.linspace(-1.0, 3.0, 81), np.linspace(-1.0, 2.0, 61))
    with tw.no_grad():
        values = to_numpy(critic(tw.tensor(np.stack([u.ravel(), v.ravel()], 1), device=device)).data)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    surface = left.contourf(u, v, values.reshape(u.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    fig.colorbar(surface, ax=left, label="f_w(x)")
    for i in range(len(real)):
        left.plot([fake[i, 0], real[i, 0]], [fake[i, 1], real[i, 1]], color="gray", lw=0.8, ls="--")
    left.scatter(real[:, 0], real[:, 1], color="tab:red", zorder=3, label="real x")
    left.scatter(fake[:, 0], fake[:, 1], color="tab:blue", zorder=3, label="fake x~")
    left.scatter(hat[:, 0], hat[:, 1], color="black", marker="x", zorder=4, label="x_hat")
    stretch = 0.5 / float(np.max(np.linalg.norm(grads, axis=1)))  # the longest arrow drawn 0.5 long
    left.quiver(hat[:, 0], hat[:, 1], grads[:, 0], grads[:, 1], angles="xy", scale_units="xy",
                scale=1 / stretch, color="black", width=0.006, label=f"grad_x f(x_hat) x {stretch:.1f}")
    for point, norm in zip(hat, np.linalg.norm(grads, axis=1)):
        left.annotate(f"{norm:.3f}", point, textcoords="offset points", xytext=(4, -12), fontsize=7)
    left.set_aspect("equal")
    left.set_title("x_hat and ||grad_x f(x_hat)|| (pushed to 1)", fontsize=9)
    left.legend(fontsize=7, loc="upper left")
    a, n = gp["analytic"].ravel(), gp["numeric"].ravel()
    right.plot(n, a, "o", mfc="none")
    lim = 1.05 * max(np.abs(n).max(), np.abs(a).max())
    right.plot([-lim, lim], [-lim, lim], color="gray", lw=0.8)
    right.set_xlabel("central difference of the penalty in each first-layer weight")
    right.set_ylabel("engine: penalty.backward() (double backprop)")
    right.set_title(f"d penalty / d W (first layer, {a.size} entries): on the diagonal", fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = chapter_parser(__doc__.splitlines()[0], "out/03_autograd")
    args = chapter_args(parser, argv)

    graph = a_graph(args.device)
    cubed = x_cubed(args.device)
    fd = finite_difference_errors(args.device)
    checks = run_gradchecks(args.device, args.seed)
    gp = penalty_step_by_step(args.device, args.seed)

    out = args.out
    _graph_figure(graph, out / "graph.png")
    _derivatives_figure(args.device, out / "x_cubed.png")
    _finite_difference_figure(fd, out / "finite_differences.png")
    _penalty_figure(gp, args.device, out / "gradient_penalty.png")
    print(f"\nFigures written to {out}/: graph.png x_cubed.png finite_differences.png gradient_penalty.png")

    return {
        "graph_n_functions": graph["graph_n_functions"], "graph_max_error": graph["graph_max_error"],
        "d1_max_error": cubed["d1_max_error"], "d2_max_error": cubed["d2_max_error"],
        "d3_max_error": cubed["d3_max_error"], "derivative_graph_sizes": cubed["graph_sizes"],
        "fd_best_error_float32": fd["fd_best_error_float32"],
        "fd_best_error_float64": fd["fd_best_error_float64"],
        "gradchecks_passed": checks["gradchecks_passed"],
        "wrong_backward_caught": checks["wrong_backward_caught"],
        "penalty": gp["penalty"], "penalty_matches_library": gp["penalty_matches_library"],
        "input_grad_error": gp["input_grad_error"], "weight_grad_engine": gp["weight_grad_engine"],
        "weight_grad_numeric": gp["weight_grad_numeric"],
        "weight_grad_max_rel_error": gp["weight_grad_max_rel_error"],
        "no_create_graph_refused": gp["no_create_graph_refused"],
    }


if __name__ == "__main__":
    main()
