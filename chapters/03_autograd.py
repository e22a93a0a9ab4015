# %% [markdown]
# # Chapter 3: the autograd engine on small examples, up to the double backprop of the gradient penalty
#
# Every later chapter trains a critic $f_w$ with gradients, and WGAN-GP needs more than a gradient: its
# penalty (Gulrajani et al. 2017, Eq. 3; written out in the paper review "Understanding Wasserstein GANs: A
# Mathematical Perspective" and in A. Bereyhi, "Deep Generative Models, Chapter 4: Generative Adversarial
# Networks", University of Toronto, 2025)
#
# $$\lambda \, \mathbb{E}_{\hat x \sim P_{\hat x}}\big[(\|\nabla_{\hat x} f_w(\hat x)\|_2 - 1)^2\big]$$
#
# is itself a function of a gradient, and its own gradient with respect to the weights $w$ is what the
# critic's optimizer needs. This chapter opens the engine, `tinywgan/engine/` (`tensor.py`: `Tensor` and
# `Function`; `ops/`: one `Function` per op; `backprop.py`: the graph walk). The speed layer `tinywgan/fast/`
# sits beside it, on by default, and gives the same numbers; `TINYWGAN_FAST=0` (or
# `with tinywgan.fast.disabled():`) runs the textbook engine alone. With numbers that can be checked by hand,
# the chapter shows that the engine delivers both:
#
# 1. a graph, and `backward()` along it equal to the chain rule by hand;
# 2. higher derivatives: $x^3$ differentiated three times;
# 3. checking derivatives: central differences, their error, `gradcheck` and `gradgradcheck`;
# 4. the gradient penalty of a small critic, one step at a time, with its gradient in the weights by double
#    backprop.
#
# The chapter takes about two seconds, so `--quick` changes nothing.
#
# Run: `python chapters/03_autograd.py [--quick] [--out DIR] [--seed N] [--device cpu|gpu|strict]`, or step
# through the cells in VS Code / JupyterLab (jupytext); `TINYWGAN_QUICK=1` selects `--quick`.

# %%
import math
import textwrap

import numpy as np

import tinywgan as tw
from tinywgan import nn
from tinywgan.engine.backend import Generator, to_device, to_numpy
from tinywgan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinywgan.lab import cli
from tinywgan.wgan import gradient_penalty

args = cli.chapter_options("03_autograd", "Chapter 3: the autograd engine on small examples, up to the double "
                                          "backprop of the gradient penalty")
out, device, seed = args.out, args.device, args.seed
GP_WEIGHT = 10.0  # lambda, Gulrajani et al. 2017, Algorithm 1


def scalar(value: float, name: str) -> tw.Tensor:
    """A float64 leaf that requires grad, with a name to print in the graph."""
    leaf = tw.tensor(np.array(value, dtype=np.float64), device=device, requires_grad=True)
    leaf.name = name
    return leaf


def functions_of(output: tw.Tensor) -> list:
    """Every Function above ``output`` (found by walking creator -> inputs), sorted by generation."""
    found, stack = {}, [output]
    while stack:
        f = stack.pop().creator
        if f is not None and id(f) not in found:
            found[id(f)] = f
            stack.extend(f.inputs)
    return sorted(found.values(), key=lambda f: f.generation)


# %% [markdown]
# ## 1. A graph
#
# A one-neuron critic $f = w_2 \tanh(w_1 x + b)$, evaluated with Tensors, is recorded as Functions joined by
# Tensors: $a = w_1 x$, $h = a + b$, $t = \tanh h$, $f = w_2 t$. Each Tensor remembers its `creator` (the
# Function that made it) and each Function its `inputs`, so walking `f.creator -> .inputs` back to the leaves
# finds the whole graph. Every Function has a *generation*: the largest generation among its inputs (a leaf
# has 0).

# %%
x, w1, b, w2 = (scalar(v, n) for v, n in ((0.5, "x"), (2.0, "w1"), (-0.5, "b"), (1.5, "w2")))
a = w1 * x
h = a + b
t = tw.tanh(h)
f = w2 * t
for tensor, name in ((a, "a"), (h, "h"), (t, "t"), (f, "f")):
    tensor.name = name
functions = functions_of(f)
print("== 1. A graph: f = w2 * tanh(w1 * x + b) at x = 0.5, w1 = 2, b = -0.5, w2 = 1.5 ==")
print("Walking f.creator -> .inputs back to the leaves finds these Functions (one output each):")
print("  generation  Function  inputs        -> output = value")
for fn in functions:
    ins = ", ".join(i.name for i in fn.inputs)
    output = fn.outputs[0]
    print(f"  {fn.generation:10d}  {type(fn).__name__:8s}  {ins:12s}  -> {output.name} = {output.item():+.6f}")
print("A Function's generation is the largest generation among its inputs (leaves have 0); backward()")
print("pops them from a heap, largest generation first, so each runs after all users of its output.")

# %% [markdown]
# `backward()` visits the Functions in decreasing generation, so each runs after every user of its output,
# and hands each its output's gradient $\bar v = \partial f / \partial v$. By hand, with $t = \tanh(w_1 x + b)$:
#
# $$\frac{\partial f}{\partial w_2} = t, \qquad \frac{\partial f}{\partial b} = w_2 (1 - t^2), \qquad
#   \frac{\partial f}{\partial w_1} = \frac{\partial f}{\partial b}\, x, \qquad
#   \frac{\partial f}{\partial x} = \frac{\partial f}{\partial b}\, w_1 .$$

# %%
f.backward()
tv = math.tanh(2.0 * 0.5 - 0.5)
by_hand = {"w2": tv, "w1": 1.5 * (1 - tv * tv) * 0.5, "b": 1.5 * (1 - tv * tv), "x": 1.5 * (1 - tv * tv) * 2.0}
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
graph_max_error = max(errors.values())

# %% [markdown]
# The same graph drawn: Tensors in rounded boxes with their value and gradient $\partial f / \partial v$
# (leaves shaded), Functions in square boxes with their generation; arrows follow the data forward.


# %%
def graph_figure(functions: list, adjoints: dict):
    """Tensors (rounded boxes: value and gradient) and Functions (square boxes) with arrows along the data."""
    import matplotlib.pyplot as plt
    # Function of generation g in column 2g + 1; a tensor it makes in column 2g + 2; a leaf just left of
    # its first user, so no arrow crosses the picture.
    where, rows = {}, {}

    def place(key, column):
        row = rows.get(column, 0)
        rows[column] = row + 1
        where[key] = (column, -row)

    for fn in functions:
        for v in fn.inputs:
            if v.creator is None and id(v) not in where:
                place(id(v), 2 * fn.generation)
        place(id(fn), 2 * fn.generation + 1)
        place(id(fn.outputs[0]), 2 * fn.generation + 2)
    fig, ax = plt.subplots(figsize=(13, 3.4))
    tensors = {id(v): v for fn in functions for v in (*fn.inputs, fn.outputs[0])}
    boxes = {}
    for fn in functions:
        boxes[id(fn)] = ax.text(*where[id(fn)], f"{type(fn).__name__}\ngen {fn.generation}", ha="center",
                                va="center", fontsize=9,
                                bbox={"boxstyle": "square,pad=0.4", "fc": "#fde9c9", "ec": "tab:orange"})
    for key, v in tensors.items():
        boxes[key] = ax.text(*where[key], f"{v.name} = {v.item():+.3f}\ndf/d{v.name} = {adjoints[v.name]:+.3f}",
                             ha="center", va="center", fontsize=9,
                             bbox={"boxstyle": "round,pad=0.4", "fc": "#dcebf7" if v.creator is None else "white",
                                   "ec": "tab:blue"})
    for fn in functions:
        for source, target in [(id(v), id(fn)) for v in fn.inputs] + [(id(fn), id(fn.outputs[0]))]:
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
    return fig


cli.save_figure(graph_figure(functions, adjoints), out / "graph.png")

# %% [markdown]
# ## 2. Higher derivatives: $x^3$ three times
#
# Every backward pass is written with Tensor ops, so `grad(..., create_graph=True)` returns a gradient that is
# itself a graph, and the next `grad` walks it. Applied to $y = x^3$ three times it must give
#
# $$\frac{dy}{dx} = 3x^2, \qquad \frac{d^2 y}{dx^2} = 6x, \qquad \frac{d^3 y}{dx^3} = 6 .$$

# %%
values = np.array([-2.0, -1.0, 0.5, 1.5, 3.0])
xs = tw.tensor(values, device=device, requires_grad=True)
y = xs ** 3
# Each grad(..., create_graph=True) returns a Tensor with a graph of its own: the next grad walks it.
d1, = tw.grad(y.sum(), xs, create_graph=True)
d2, = tw.grad(d1.sum(), xs, create_graph=True)
d3, = tw.grad(d2.sum(), xs, create_graph=True)
closed = (3 * values ** 2, 6 * values, np.full_like(values, 6.0))
engine = [to_numpy(d.data) for d in (d1, d2, d3)]
derivative_errors = [float(np.max(np.abs(e - c))) for e, c in zip(engine, closed)]
sizes = [len(functions_of(v)) for v in (y, d1, d2, d3)]
print("\n== 2. y = x**3, differentiated three times (each gradient is a graph of its own) ==")
print("      x     dy/dx    3x^2   d2y/dx2      6x   d3y/dx3     6")
for i, v in enumerate(values):
    print(f"  {v:+5.1f}  {engine[0][i]:8.3f} {closed[0][i]:7.3f}  {engine[1][i]:8.3f} {closed[1][i]:7.3f}"
          f"  {engine[2][i]:8.3f} {closed[2][i]:5.1f}")
print(f"  largest errors (float64): {derivative_errors[0]:.1e}, {derivative_errors[1]:.1e}, "
      f"{derivative_errors[2]:.1e}")
print(f"  Functions in the graphs of y, dy/dx, d2y/dx2, d3y/dx3: {sizes[0]}, {sizes[1]}, {sizes[2]}, "
      f"{sizes[3]}: each backward pass records the")
print("  ops it runs that depend on x. d3y/dx3 = 6 depends on nothing, so it comes back as a constant")
print("  (requires_grad False) and the fourth derivative is 0.")

# %%
import matplotlib.pyplot as plt

grid = np.linspace(-2.0, 2.0, 41)
on_grid = tw.tensor(grid, device=device, requires_grad=True)
levels = [on_grid ** 3]
for _ in range(3):
    levels.append(tw.grad(levels[-1].sum(), on_grid, create_graph=True)[0])
fine = np.linspace(-2.0, 2.0, 401)
curves = (fine ** 3, 3 * fine ** 2, 6 * fine, np.full_like(fine, 6.0))
labels = ("y = x^3", "dy/dx = 3x^2", "d2y/dx2 = 6x", "d3y/dx3 = 6")
fig, ax = plt.subplots(figsize=(6.5, 4))
for level, curve, label, color in zip(levels, curves, labels, ("C0", "C1", "C2", "C3")):
    ax.plot(fine, curve, color=color, lw=1.5, label=label + " (closed form)")
    ax.plot(grid, to_numpy(level.data), "o", ms=3, color=color, mfc="none")
ax.set_xlabel("x")
ax.set_ylabel("value at x")
ax.set_title("Circles: the engine's grad(..., create_graph=True) applied 1, 2, 3 times", fontsize=10)
ax.legend(fontsize=8)
cli.save_figure(fig, out / "x_cubed.png")

# %% [markdown]
# ## 3. Checking derivatives
#
# A central difference
#
# $$\frac{L(x + h) - L(x - h)}{2h} = L'(x) + O(h^2) + O(u / h)$$
#
# has a truncation error $O(h^2)$ and a rounding error $O(u / h)$, with $u$ the unit roundoff
# ($6 \cdot 10^{-8}$ in float32, $1.1 \cdot 10^{-16}$ in float64). Here for the sigmoid $s$, whose derivative
# $s(1 - s)$ is known, with the forward pass in each dtype.

# %%
steps = np.logspace(-12, -0.5, 47)
points = np.linspace(-3.0, 3.0, 64)[:, None]
s = 1 / (1 + np.exp(-points))
exact = s * (1 - s)
fd_curves = {}
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
    fd_curves[dtype] = np.max(error, axis=0)
fd_best = {d: float(np.min(e)) for d, e in fd_curves.items()}
fd_best_h = {d: float(steps[np.argmin(e)]) for d, e in fd_curves.items()}
print("\n== 3. Checking derivatives: central differences and gradcheck ==")
print("Central differences (s(x + h) - s(x - h)) / 2h of the sigmoid s against its exact derivative")
print("s (1 - s), worst case over 64 points x in [-3, 3]; the forward pass in each dtype:")
print("  dtype     smallest worst-case error  at step h")
for d in fd_curves:
    print(f"  {d:8s}  {fd_best[d]:25.1e}  {fd_best_h[d]:9.1e}")
print("Large h: truncation error O(h^2). Small h: rounding error O(u / h), with the unit roundoff")
print("u = 6e-8 in float32 and 1.1e-16 in float64. In float32 the best compromise still errs by more")
print("than gradcheck's tolerance (1e-8 + 1e-6 |numeric|): gradcheck and gradgradcheck run in float64.")

fig, ax = plt.subplots(figsize=(6.5, 4))
for dtype, color in (("float32", "tab:red"), ("float64", "tab:blue")):
    ax.loglog(steps, fd_curves[dtype], "o-", ms=3, color=color, label=dtype)
ax.set_xlabel("step h")
ax.set_ylabel("worst |central difference - exact| over x in [-3, 3]")
ax.set_title("Central differences of sigmoid: rounding (left) vs truncation (right)", fontsize=10)
ax.legend()
cli.save_figure(fig, out / "finite_differences.png")

# %% [markdown]
# In float32 the best step still errs by a few $10^{-6}$; in float64 the error reaches about $10^{-11}$. So
# `gradcheck` (first derivatives) and `gradgradcheck` (second derivatives, the ones the penalty needs) in
# `tinywgan/engine/gradcheck.py` run in float64 and accept $|\text{engine} - \text{numeric}| \le 10^{-8} +
# 10^{-6} |\text{numeric}|$. They pass on the ops the critics are made of, and they must catch a sigmoid whose
# backward pass forgets the factor $1 - y$ (it returns $\bar y \, y$ instead of $\bar y \, y (1 - y)$).


# %%
class WrongSigmoid(tw.engine.ops.Sigmoid):
    """The engine's sigmoid with a backward pass that forgets the factor (1 - y): dy/dx = y. Wrong on purpose."""

    def backward(self, gy):
        return gy * self.outputs[0]


rng = Generator(seed, device)
x_check = rng.normal((3, 4), dtype="float64")
w_check = rng.normal((4, 2), dtype="float64")
away_from_kinks = x_check + to_device(0.2 * np.sign(to_numpy(x_check)), device)  # no entry within 0.2 of 0
cases = {
    "tanh": (tw.tanh, [x_check]),
    "sigmoid": (tw.sigmoid, [x_check]),
    "softplus": (tw.softplus, [x_check]),
    "log_sigmoid": (tw.log_sigmoid, [x_check]),
    "leaky_relu": (lambda v: tw.leaky_relu(v, 0.2), [away_from_kinks]),
    "matmul": (tw.matmul, [x_check, w_check]),
    "norm over axis 1": (lambda v: tw.norm(v, axis=1), [x_check]),
    "x * y + x / y": (lambda u, v: u * v + u / v, [x_check, x_check * x_check + 1.0]),
}
print("\ngradcheck / gradgradcheck (float64, central differences, |error| <= 1e-8 + 1e-6 |numeric|):")
gradcheck_results = {}
for name, (fn, inputs) in cases.items():
    gradcheck_results[name] = (gradcheck(fn, inputs), gradgradcheck(fn, inputs))
    print(f"  {name:18s} first derivatives: {'pass' if gradcheck_results[name][0] else 'FAIL'}   "
          f"second derivatives: {'pass' if gradcheck_results[name][1] else 'FAIL'}")
try:
    gradcheck(lambda v: WrongSigmoid()(v), [x_check])
    wrong_backward_caught, message = False, "(no error)"
except GradcheckError as err:
    wrong_backward_caught, message = True, str(err).split("; inputs[")[0]
print("A sigmoid whose backward returns gy * y (the factor 1 - y forgotten) is caught:")
print(textwrap.fill(message, width=104, initial_indent="  ", subsequent_indent="    "))

# %% [markdown]
# ## 4. The gradient penalty, step by step
#
# A critic $f_w$: an MLP 2-16-16-1 with tanh, in float64 so that central differences can check it, on 4 real
# points near $(2, 1)$ and 4 fake points near $(0, 0)$. It is untrained: its gradient norms are whatever its
# random weights give, and the penalty measures how far they are from 1.
#
# Gulrajani et al. 2017, Algorithm 1, line 6: one interpolate per pair (real $x$, fake $\tilde x$), with
# $\epsilon \sim U[0, 1]$ (`alpha` in the code):
#
# $$\hat x = \epsilon x + (1 - \epsilon) \tilde x .$$

# %%
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

# %% [markdown]
# Line 7: the critic's gradient in its input at $\hat x$, its norm per sample, and the penalty
#
# $$\text{penalty} = \lambda \, \frac{1}{n} \sum_{i=1}^n \big(\|\nabla_{\hat x} f_w(\hat x_i)\|_2 - 1\big)^2,
#   \qquad \lambda = 10 .$$
#
# `grad(..., create_graph=True)` keeps the backward pass as a graph whose leaves include the weights $w$, so
# that this function of a gradient can itself be differentiated in $w$.

# %%
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

# %% [markdown]
# Two checks of what we are about to penalise: a central difference of $f_w$ in the input, beside the
# engine's $\partial f_w / \partial \hat x$; and the library's `tinywgan.wgan.gradient_penalty` (what the
# trainers call) with the same $\epsilon$, beside the penalty computed by hand.

# %%
h_step = 1e-6
with tw.no_grad():
    def f_at(point):
        return float(to_numpy(critic(tw.tensor(point, device=device)).data)[0, 0])
    e0 = np.array([[h_step, 0.0]])
    numeric_dx0 = (f_at(hat[:1] + e0) - f_at(hat[:1] - e0)) / (2 * h_step)
input_grad_error = abs(numeric_dx0 - grads[0, 0])
print(f"  check: df/dx_hat[0, 0] by central difference = {numeric_dx0:+.10f}, engine {grads[0, 0]:+.10f}")
mean_square = float(np.mean(to_numpy(gap.data) ** 2))
print(f"penalty = lambda * mean_i (||grad_i|| - 1)^2 = {GP_WEIGHT:g} * {mean_square:.6f} = "
      f"{penalty.item():.10f}")
penalty_library = gradient_penalty(critic, real, fake, Generator(alpha_seed, device), weight=GP_WEIGHT).item()
print(f"  tinywgan.wgan.gradient_penalty with the same alpha:  {penalty_library:.10f}")

# %% [markdown]
# Line 9 needs the penalty's gradient in the weights, $\nabla_w \, \text{penalty}$: a derivative of a
# derivative. `penalty.backward()` walks the graph that `grad(create_graph=True)` recorded (double backprop).
# A central difference of the penalty in each first-layer weight $W_{jk}$, recomputing the input gradient at
# the same $\hat x$ each time, checks every entry.

# %%
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
    up[k] += h_step
    down[k] -= h_step
    numeric[k] = (penalty_with(up) - penalty_with(down)) / (2 * h_step)
weight_grad_max_rel_error = float(np.max(np.abs(analytic - numeric))) / float(np.max(np.abs(numeric)))
print("\npenalty.backward() fills .grad of every weight. First layer W[0, 0]:")
print(f"  d penalty / d W[0, 0]   engine (double backprop) = {analytic[0, 0]:+.10f}")
print(f"                          central difference        = {numeric[0, 0]:+.10f}")
print(f"  over all {base.size} entries of the first layer: largest |engine - numeric| / max|numeric| = "
      f"{weight_grad_max_rel_error:.1e}")

# %% [markdown]
# Without `create_graph=True` the gradient comes back detached: a constant array, and the penalty built from
# it is a constant in $w$. `backward()` refuses it, since nothing that requires grad reaches it.

# %%
g_const, = tw.grad(critic(x_hat).sum(), x_hat, create_graph=False)
flat_penalty = GP_WEIGHT * ((tw.norm(g_const, axis=1) - 1.0) ** 2).mean()
try:
    flat_penalty.backward()
    no_create_graph_refused, reason = False, "(backward ran)"
except ValueError as err:
    no_create_graph_refused, reason = True, str(err)
print("The same penalty from grad(..., create_graph=False) has no path to the weights:")
print(f"  requires_grad = {flat_penalty.requires_grad}; backward() says: {reason[:110]}...")

# %% [markdown]
# The step in one figure. Left: the untrained critic's values $f_w(x)$, the pairs (real $x$, fake $\tilde x$),
# the interpolates $\hat x$ and the gradients $\nabla_{\hat x} f_w(\hat x)$ with their norms, all far below the
# target 1 (training with the penalty is what pushes them towards 1, chapter 7). Right: the double-backprop
# gradient of the penalty in each first-layer weight against its central difference.

# %%
real_host, fake_host = to_numpy(real), to_numpy(fake)
u, v = np.meshgrid(np.linspace(-1.0, 3.0, 81), np.linspace(-1.0, 2.0, 61))
with tw.no_grad():
    surface_values = to_numpy(critic(tw.tensor(np.stack([u.ravel(), v.ravel()], 1), device=device)).data)
grad_norms = np.linalg.norm(grads, axis=1)
fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8), gridspec_kw={"wspace": 0.35})
surface = left.contourf(u, v, surface_values.reshape(u.shape), levels=20, cmap="RdBu_r", alpha=0.6)
fig.colorbar(surface, ax=left, label="critic value f_w(x)")
for i in range(n):
    left.plot([fake_host[i, 0], real_host[i, 0]], [fake_host[i, 1], real_host[i, 1]], color="gray", lw=0.8,
              ls="--")
left.scatter(real_host[:, 0], real_host[:, 1], color="tab:red", zorder=3, label="real x")
left.scatter(fake_host[:, 0], fake_host[:, 1], color="tab:blue", zorder=3, label="fake x~")
left.scatter(hat[:, 0], hat[:, 1], color="black", marker="x", zorder=4, label="x_hat")
stretch = 0.5 / float(np.max(grad_norms))  # the longest arrow drawn 0.5 long
left.quiver(hat[:, 0], hat[:, 1], grads[:, 0], grads[:, 1], angles="xy", scale_units="xy", scale=1 / stretch,
            color="black", width=0.006, label=f"grad_x f(x_hat), drawn x {stretch:.1f}")
for point, norm in zip(hat, grad_norms):
    left.annotate(f"{norm:.3f}", point, textcoords="offset points", xytext=(4, -12), fontsize=7)
left.set_aspect("equal")
left.set_xlabel("x_1")
left.set_ylabel("x_2")
left.set_title(f"Untrained critic: ||grad_x f(x_hat)|| = {grad_norms.min():.3f} to {grad_norms.max():.3f}\n"
               f"at the interpolates x_hat, far from the penalty's target 1", fontsize=9)
left.legend(fontsize=7, loc="upper left")
flat_numeric, flat_analytic = numeric.ravel(), analytic.ravel()
right.plot(flat_numeric, flat_analytic, "o", mfc="none")
lim = 1.05 * max(np.abs(flat_numeric).max(), np.abs(flat_analytic).max())
right.plot([-lim, lim], [-lim, lim], color="gray", lw=0.8)
right.set_xlabel("central difference of the penalty in each first-layer weight")
right.set_ylabel("engine: penalty.backward() (double backprop)")
right.set_title(f"d penalty / d W (first layer, {flat_analytic.size} entries): on the diagonal", fontsize=9)
cli.save_figure(fig, out / "gradient_penalty.png")
print(f"\nFigures written to {out}/: graph.png x_cubed.png finite_differences.png gradient_penalty.png")

# %% [markdown]
# ## What the numbers say
#
# The engine's gradients equal the chain rule by hand; $x^3$ differentiates to $3x^2$, $6x$, $6$ exactly;
# float64 central differences confirm every op to within `gradcheck`'s tolerance and catch a wrong backward
# pass; and the gradient penalty, built from `grad(..., create_graph=True)`, has a gradient in the weights
# that matches central differences. That is all WGAN-GP asks of the engine (chapter 7).

# %%
claims = {
    "graph_n_functions": len(functions), "graph_max_error": graph_max_error,
    "d1_max_error": derivative_errors[0], "d2_max_error": derivative_errors[1],
    "d3_max_error": derivative_errors[2], "derivative_graph_sizes": sizes,
    "fd_best_error_float32": fd_best["float32"], "fd_best_error_float64": fd_best["float64"],
    "gradchecks_passed": all(first_ok and second_ok for first_ok, second_ok in gradcheck_results.values()),
    "wrong_backward_caught": wrong_backward_caught,
    "penalty": penalty.item(), "penalty_matches_library": abs(penalty.item() - penalty_library),
    "input_grad_error": input_grad_error, "weight_grad_engine": float(analytic[0, 0]),
    "weight_grad_numeric": float(numeric[0, 0]), "weight_grad_max_rel_error": weight_grad_max_rel_error,
    "no_create_graph_refused": no_create_graph_refused,
}
passed = "all pass" if claims["gradchecks_passed"] else "FAIL"
print(f"\nSummary: backward() vs the chain rule by hand: error {graph_max_error:.0e}; x^3 differentiated three "
      f"times: error {max(derivative_errors):.0e};\n  gradchecks: {passed}; the penalty's gradient in the weights "
      f"(double backprop) vs central differences:\n  relative error {weight_grad_max_rel_error:.0e}.")
