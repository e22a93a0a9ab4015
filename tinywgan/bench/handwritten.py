"""One WGAN training iteration by hand: NumPy arrays, derivatives derived on paper, no autograd.

This is what the engine automates. Every backward step below is derived in a comment, the gradient
penalty's second-order backward included, and ``python -m tinywgan.bench`` times it against the engine
(and against PyTorch when installed, :mod:`tinywgan.bench.torch_reference`). What the three share, the
workloads, the initial weights and the random draws of a step, is in :mod:`tinywgan.bench.workloads`.

Conventions (shared with ``tinywgan.nn.Linear``, so the same weights load into all three):

* a linear layer is ``y = x @ W + b`` with ``W`` of shape ``(in, out)`` and ``b`` of shape ``(out,)``;
* an MLP is a list of layers ``[(W_1, b_1), ..., (W_L, b_L)]``; the hidden layers apply ``phi``
  (``"relu"``, ``"leaky_relu"`` with slope 0.2, or ``"tanh"``), the last applies ``psi``
  (``"identity"`` or ``"tanh"``);
* forward, for one batch with samples as rows:  ``h_0 = x,  z_l = h_{l-1} W_l + b_l,  h_l = phi(z_l)``,
  and ``s_l = phi'(z_l)``, kept for the backward pass. For ReLU and LeakyReLU ``h_l = z_l * s_l``.
  The comments count layers ``l = 1..L`` as the papers do; the code's lists count ``k = l - 1`` from 0;
* every function is dtype-generic (float32 to train, float64 in the gradient checks) and never lets a
  float64 creep into float32 work.

Speed, without hiding the math: scratch arrays come from a :class:`Workspace` and are written with
``out=`` (the same buffers every step: no allocation, and they stay in the caches; without
:func:`tinywgan.fast.memory.keep_freed_memory`, which the speed layer applies when a training run or the
bench starts, never on ``import tinywgan``, a fresh ~1 MB temporary would also cost page faults);
activation slopes are float masks, ``(z > 0)`` written into a float array, not ``np.where``
(20x slower); a product with a 1-wide matrix (the critic's last layer) is a broadcast, not a matmul
with inner dimension 1, which OpenBLAS runs some 50x under its peak (4x slower than the broadcast).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .workloads import VARIANTS, draw_critic_inputs, draw_generator_noise, flat, resolve_setup

LEAKY_SLOPE = 0.2  # LeakyReLU(0.2) in the MNIST critic (Gulrajani et al. 2017, gan_mnist.py)


class Workspace:
    """Named scratch arrays that live across steps: ``ws(key, shape, dtype)`` returns the same array for
    the same key until the shape or dtype changes. Without a workspace (``ws=None``) every function
    allocates fresh arrays, which is what the tests use."""

    def __init__(self):
        self._arrays: dict = {}

    def __call__(self, key, shape, dtype):
        a = self._arrays.get(key)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[key] = np.empty(shape, dtype)
        return a


def _fresh(key, shape, dtype):
    return np.empty(shape, dtype)


@dataclass
class MLPCache:
    """What the forward pass keeps for the backward pass: the input ``h_{l-1}`` of every layer, its
    activation's name and slope ``s_l = phi'(z_l)`` (``None`` for the identity), and the output."""
    inputs: list
    activations: list
    slopes: list
    output: np.ndarray


def _activate(z, kind, s):
    """Apply ``kind`` to ``z`` in place and write ``phi'(z)`` into ``s``; returns ``(h, s)``.

    ReLU: ``s = [z > 0]``; LeakyReLU: ``s = a + (1 - a)[z > 0]``; both give ``h = z * s``.
    tanh: ``h = tanh(z)``, ``s = 1 - h**2``.
    """
    if kind == "identity":
        return z, None
    if kind in ("relu", "leaky_relu"):
        np.greater(z, 0, out=s)  # a bool mask written as 0./1. floats
        if kind == "leaky_relu":
            s *= 1 - LEAKY_SLOPE
            s += LEAKY_SLOPE
        return np.multiply(z, s, out=z), s
    if kind == "tanh":
        h = np.tanh(z, out=z)
        np.multiply(h, h, out=s)
        return h, np.subtract(1, s, out=s)
    raise ValueError(f"activation must be 'relu', 'leaky_relu', 'tanh' or 'identity'; got {kind!r}")


def _times_transpose(delta, W, out):
    """``delta @ W.T``. With a 1-wide ``W`` (the critic's last layer) this is an outer product, done by
    broadcasting ``delta (B, 1) * w (H,)``: a matmul with inner dimension 1 runs far under peak."""
    if W.shape[1] == 1:
        return np.multiply(delta, W[:, 0], out=out)
    return np.matmul(delta, W.T, out=out)


def mlp_forward(layers, x, activation="relu", output_activation="identity", *, ws=None, tag="mlp"):
    """The forward pass ``h_l = phi(h_{l-1} W_l + b_l)`` (``psi`` on the last layer); returns an
    :class:`MLPCache` whose ``.output`` is the network's output."""
    ws = ws or _fresh
    inputs, activations, slopes = [], [], []
    h = x
    for k, (W, b) in enumerate(layers):
        kind = output_activation if k == len(layers) - 1 else activation
        inputs.append(h)
        z = np.matmul(h, W, out=ws((tag, "h", k), (h.shape[0], W.shape[1]), h.dtype))
        z += b
        h, s = _activate(z, kind, None if kind == "identity" else ws((tag, "s", k), z.shape, z.dtype))
        activations.append(kind)
        slopes.append(s)
    return MLPCache(inputs, activations, slopes, h)


def _grad_arrays(layers, ws, tag, zero=False):
    """Arrays for ``[(dl/dW_l, dl/db_l), ...]``, zero-filled when ``zero``."""
    grads = [(ws((tag, "dW", k), W.shape, W.dtype), ws((tag, "db", k), b.shape, b.dtype))
             for k, (W, b) in enumerate(layers)]
    for dW, db in grads if zero else ():
        dW.fill(0)
        db.fill(0)
    return grads


def _add_matmul(dst, a, b, ws, key):
    """``dst += a @ b`` through a reused scratch array."""
    dst += np.matmul(a, b, out=ws(key, dst.shape, dst.dtype))


def mlp_backward(layers, cache, grad_output, *, grads=None, param_grads=True, input_grad=False,
                 ws=None, tag="bwd"):
    """Reverse mode through the MLP for a loss ``l`` with ``grad_output = dl/dy`` of shape ``(B, out)``.

    Returns ``(grads, grad_input)``: ``grads = [(dl/dW_l, dl/db_l), ...]`` (added into ``grads`` when
    given; ``None`` when ``param_grads`` is false) and ``dl/dx`` (``None`` unless ``input_grad``).
    Chain rule through ``z_l = h_{l-1} W_l + b_l`` and ``h_l = phi(z_l)``, with ``delta_l = dl/dz_l``::

        delta_L = dl/dy * psi'(z_L)
        dl/dW_l = h_{l-1}^T delta_l         dl/db_l = sum over the batch of delta_l
        dl/dh_{l-1} = delta_l W_l^T         delta_{l-1} = dl/dh_{l-1} * s_{l-1}
    """
    ws = ws or _fresh
    accumulate = grads is not None
    if param_grads and grads is None:
        grads = _grad_arrays(layers, ws, tag)
    delta = grad_output
    if cache.slopes[-1] is not None:
        delta = np.multiply(grad_output, cache.slopes[-1], out=ws((tag, "out"), delta.shape, delta.dtype))
    for k in reversed(range(len(layers))):
        W, _ = layers[k]
        h = cache.inputs[k]
        if param_grads:
            dW, db = grads[k]
            if accumulate:
                _add_matmul(dW, h.T, delta, ws, (tag, "tmp", k))
                db += np.sum(delta, axis=0)
            else:
                np.matmul(h.T, delta, out=dW)
                np.sum(delta, axis=0, out=db)
        if k == 0 and not input_grad:
            break
        delta = _times_transpose(delta, W, ws((tag, "u", k), h.shape, h.dtype))  # dl/dh_{l-1}
        if k > 0:
            delta *= cache.slopes[k - 1]  # delta_{l-1}
    return (grads if param_grads else None), (delta if input_grad else None)


def gradient_penalty(layers, cache, gp_weight, *, grads=None, ws=None, tag="gp"):
    """Gulrajani et al. 2017, Eq. 3: ``P = lambda * mean_i (||grad_x f(x_hat_i)||_2 - 1)^2`` for the
    critic ``f`` (1-wide output) at the interpolates cached in ``cache``, and ``dP/dtheta`` by hand.

    Returns ``(P, grads)`` with ``dP/dW_l, dP/db_l`` added into ``grads`` when given. Double backprop,
    derived (per sample; rows of a batch are independent):

    1. ``g = grad_x f`` by reverse mode. The output layer is 1-wide and ``df/dz_L = 1``, so
       ``df/dh_{L-1} = w_L^T`` on every row; then ``delta_l = df/dh_l * s_l`` and
       ``df/dh_{l-1} = delta_l W_l^T`` down to ``g = df/dh_0``. Keep every ``delta_l``.
    2. ``P`` from ``g``, and ``g_bar = dP/dg = (2 lambda / B) (||g|| - 1) g / ||g||``.
    3. ``P`` depends on theta only through ``g``, so with ``g_bar`` held fixed,
       ``dP/dtheta = d/dtheta sum_i <g_bar_i, grad_x f(x_hat_i)>``: the parameter gradient of the
       directional derivative of ``f`` along ``g_bar``. That derivative is a forward-mode (tangent) pass:
       ``hdot_0 = g_bar,  zdot_l = hdot_{l-1} W_l,  hdot_l = zdot_l * s_l,  fdot = hdot_{L-1} w_L``
       (the biases drop out: a tangent has no offset). ``fdot`` is linear in each ``W_l`` through ``zdot_l``,
       and its adjoint at ``zdot_l`` is the same ``delta_l`` as step 1 (same weights, same slopes), so
       ``dP/dW_l = hdot_{l-1}^T delta_l``  and  ``dP/dw_L = sum_i hdot_{L-1,i}``.
       Equivalently: reverse the backward pass of step 1, whose adjoint of ``df/dh_l`` is ``hdot_l``.
    4. ``fdot`` also depends on theta through the slopes ``s_l = phi'(z_l)``: adjoint
       ``s_bar_l = zdot_l * df/dh_l``, so ``z_bar_l = s_bar_l * phi''(z_l)``. For ReLU and LeakyReLU
       ``phi'' = 0`` (the slopes are constant masks): steps 1-3 are everything, and the biases get no
       penalty gradient. For tanh ``phi'' = -2 h s``, so ``z_bar_l = -2 zdot_l * h_l * delta_l``, and
       these seeds go through an ordinary backward pass of the forward graph (into ``W_l`` and ``b_l``).
    """
    ws = ws or _fresh
    if grads is None:
        grads = _grad_arrays(layers, ws, tag, zero=True)
    L, B = len(layers), cache.inputs[0].shape[0]
    w_L = layers[-1][0]
    if w_L.shape[1] != 1:
        raise ValueError(f"the critic's last layer must be 1-wide; got W of shape {w_L.shape}")

    # 1. g = grad_x f(x_hat): every row of df/dh_{L-1} is w_L (a broadcast view, no copy)
    deltas = [None] * (L - 1)
    u = np.broadcast_to(w_L[:, 0], (B, w_L.shape[0]))
    for k in reversed(range(L - 1)):
        s = cache.slopes[k]
        deltas[k] = np.multiply(u, s, out=ws((tag, "delta", k), s.shape, s.dtype))
        h = cache.inputs[k]
        u = _times_transpose(deltas[k], layers[k][0], ws((tag, "u", k), h.shape, h.dtype))
    g = u

    # 2. P = lambda mean (||g|| - 1)^2 and g_bar = dP/dg
    norm = np.sqrt(np.sum(g * g, axis=1, keepdims=True))
    penalty = gp_weight * np.mean((norm - 1) ** 2)
    g_bar = ((2 * gp_weight / B) * (norm - 1) / norm) * g

    # 3. tangent pass along g_bar: dP/dW_l = hdot_{l-1}^T delta_l
    hdot, seeds = g_bar, [None] * (L - 1)
    for k in range(L - 1):
        W = layers[k][0]
        _add_matmul(grads[k][0], hdot.T, deltas[k], ws, (tag, "tmp", k))
        zdot = np.matmul(hdot, W, out=ws((tag, "zdot", k), deltas[k].shape, hdot.dtype))
        if cache.activations[k] == "tanh":  # step 4's seed z_bar_l = -2 zdot_l h_l delta_l
            seeds[k] = -2 * zdot * cache.inputs[k + 1] * deltas[k]
        elif cache.activations[k] not in ("relu", "leaky_relu"):
            raise ValueError(f"gradient_penalty knows relu, leaky_relu and tanh; "
                             f"got {cache.activations[k]!r}")
        hdot = np.multiply(zdot, cache.slopes[k], out=zdot)
    dW_L = grads[L - 1][0]
    dW_L += np.sum(hdot, axis=0)[:, None]

    # 4. second-order terms through phi'' (tanh only): backpropagate the seeds through the forward graph
    z_bar = None
    for k in reversed(range(L - 1)):
        if z_bar is not None:
            z_bar = _times_transpose(z_bar, layers[k + 1][0], ws((tag, "hbar", k), deltas[k].shape, g.dtype))
            z_bar *= cache.slopes[k]
        if seeds[k] is not None:
            z_bar = seeds[k] if z_bar is None else z_bar + seeds[k]
        if z_bar is not None:
            dW, db = grads[k]
            _add_matmul(dW, cache.inputs[k].T, z_bar, ws, (tag, "tmp", k))
            db += np.sum(z_bar, axis=0)
    return penalty, grads


def critic_gradients(critic, real, fake, alpha=None, *, activation="relu", gp_weight=10.0,
                     ws=None, tag="critic"):
    """The critic's loss and its gradient for one batch (Gulrajani et al. 2017, Alg. 1, lines 6-7 and
    the gradient that line 9 hands to Adam):

        L = mean_i f(x~_i) - mean_i f(x_i) + lambda mean_i (||grad f(x_hat_i)|| - 1)^2,
        x_hat_i = alpha_i x_i + (1 - alpha_i) x~_i,

    with ``real`` = x, ``fake`` = x~ (constants: no gradient to the generator) and ``alpha`` (the
    paper's epsilon ~ U[0, 1]) of shape ``(B, 1)``. ``alpha=None`` drops the penalty (the clipping WGAN,
    Arjovsky et al. 2017, Alg. 1, line 5). Returns ``(L, P, grads)``: the loss (penalty included), the
    penalty (0.0 without one) and ``[(dL/dW_l, dL/db_l), ...]``. With a workspace ``ws`` the gradient
    arrays are scratch arrays that the next call with the same ``ws`` and ``tag`` overwrites.
    """
    ws = ws or _fresh
    B = real.shape[0]
    f_real = mlp_forward(critic, real, activation, ws=ws, tag=(tag, "real"))
    f_fake = mlp_forward(critic, fake, activation, ws=ws, tag=(tag, "fake"))
    loss = np.mean(f_fake.output) - np.mean(f_real.output)
    # dL/df(x_i) = -1/B and dL/df(x~_i) = +1/B
    grads, _ = mlp_backward(critic, f_real, np.full((B, 1), -1 / B, real.dtype), ws=ws, tag=(tag, "bwd"))
    mlp_backward(critic, f_fake, np.full((B, 1), 1 / B, real.dtype), grads=grads, ws=ws, tag=(tag, "bwd"))
    penalty = 0.0
    if alpha is not None:
        x_hat = alpha * real + (1 - alpha) * fake
        interpolates = mlp_forward(critic, x_hat, activation, ws=ws, tag=(tag, "x_hat"))
        penalty, grads = gradient_penalty(critic, interpolates, gp_weight, grads=grads, ws=ws,
                                          tag=(tag, "gp"))
        loss = loss + penalty
    return float(loss), float(penalty), grads


def generator_gradients(generator, critic, z, *, generator_activation="relu", generator_output="identity",
                        critic_activation="relu", ws=None, tag="generator"):
    """The generator's loss ``L = -mean_i f(g(z_i))`` and ``[(dL/dW_l, dL/db_l), ...]`` for the generator
    (Arjovsky et al. 2017, Alg. 1, line 10). The critic is a constant: only ``dL/d fake`` is propagated
    through it, no critic weight gradient is formed. Returns ``(L, grads)``."""
    ws = ws or _fresh
    B = z.shape[0]
    gen = mlp_forward(generator, z, generator_activation, generator_output, ws=ws, tag=(tag, "G"))
    crit = mlp_forward(critic, gen.output, critic_activation, ws=ws, tag=(tag, "f"))
    loss = -np.mean(crit.output)
    _, grad_fake = mlp_backward(critic, crit, np.full((B, 1), -1 / B, z.dtype), param_grads=False,
                                input_grad=True, ws=ws, tag=(tag, "f_bwd"))
    grads, _ = mlp_backward(generator, gen, grad_fake, ws=ws, tag=(tag, "G_bwd"))
    return float(loss), grads


class Adam:
    """Adam, in place, as documented for ``torch.optim.Adam`` (Kingma & Ba 2015, bias-corrected; eps
    added outside the square root), at step t::

        m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
        theta -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
    """

    def __init__(self, params, lr=1e-4, betas=(0.5, 0.9), eps=1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = list(params), lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self._scratch = [np.empty_like(p) for p in self.params]

    def step(self, grads):
        self.t += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1 ** self.t)
        inv_sqrt_bc2 = 1 / math.sqrt(1 - beta2 ** self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self._scratch):
            m *= beta1
            m += np.multiply(g, 1 - beta1, out=tmp)
            v *= beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v += tmp
            np.sqrt(v, out=tmp)  # denominator sqrt(v_hat) + eps
            tmp *= inv_sqrt_bc2
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


class RMSprop:
    """RMSprop, in place, as documented for ``torch.optim.RMSprop`` (no momentum, not centred)::

        v = alpha v + (1 - alpha) g^2        theta -= lr * g / (sqrt(v) + eps)
    """

    def __init__(self, params, lr=5e-5, alpha=0.99, eps=1e-8):
        self.params, self.lr, self.alpha, self.eps = list(params), lr, alpha, eps
        self.v = [np.zeros_like(p) for p in self.params]
        self._scratch = [np.empty_like(p) for p in self.params]

    def step(self, grads):
        for p, g, v, tmp in zip(self.params, grads, self.v, self._scratch):
            v *= self.alpha
            np.multiply(g, g, out=tmp)
            tmp *= 1 - self.alpha
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.eps
            np.divide(g, tmp, out=tmp)
            tmp *= self.lr
            p -= tmp


def make_optimizer(params, variant: str):
    """The optimizer of a variant (``"gp"``: Adam; ``"clip"``: RMSprop), set as in ``VARIANTS``."""
    cfg = VARIANTS[variant]
    if cfg["optimizer"] == "adam":
        return Adam(params, cfg["lr"], cfg["betas"], cfg["eps"])
    return RMSprop(params, cfg["lr"], cfg["alpha"], cfg["eps"])


class HandwrittenWGAN:
    """One WGAN training iteration (``n_critic`` critic steps, then one generator step) on NumPy arrays.

    ``critic`` and ``generator`` are the initial weights (``[(W, b), ...]`` or a flat ``[W, b, ...]``,
    float32 to train, float64 to check); they are copied unless ``copy=False``. ``gp_weight`` defaults
    to the workload's. ``real_sampler(rng) -> (B, D) array`` replaces the default real data.
    """

    def __init__(self, workload="toy", variant="gp", critic=None, generator=None, *, gp_weight=None,
                 n_critic=5, real_sampler=None, copy=True, seed=0):
        self.workload, self.gp_weight, critic, generator = resolve_setup(
            workload, variant, critic, generator, gp_weight, seed)
        self.variant, self.n_critic, self.real_sampler = variant, n_critic, real_sampler
        self.critic = [(W.copy(), b.copy()) for W, b in critic] if copy else critic
        self.generator = [(W.copy(), b.copy()) for W, b in generator] if copy else generator
        self.dtype = self.critic[0][0].dtype
        self.critic_optimizer = make_optimizer(flat(self.critic), variant)
        self.generator_optimizer = make_optimizer(flat(self.generator), variant)
        self.ws = Workspace()

    def critic_step(self, rng):
        """One critic update; returns the critic's loss (penalty included)."""
        wl = self.workload
        # x ~ P_r, z ~ p(z), eps ~ U[0, 1]   (Gulrajani et al. 2017, Alg. 1, line 4)
        real, z, alpha = draw_critic_inputs(wl, self.variant, rng, self.dtype, self.real_sampler)
        # x~ = G(z), a constant for the critic (line 5)
        fake = mlp_forward(self.generator, z, wl.generator_activation, wl.generator_output,
                           ws=self.ws, tag="G").output
        # L = D(x~) - D(x) + lambda (||grad D(x_hat)|| - 1)^2, averaged over the batch (lines 6-9)
        loss, _, grads = critic_gradients(self.critic, real, fake, alpha, activation=wl.critic_activation,
                                          gp_weight=self.gp_weight, ws=self.ws)
        self.critic_optimizer.step(flat(grads))
        clip_value = VARIANTS[self.variant]["clip_value"]
        if clip_value is not None:  # Arjovsky et al. 2017, Alg. 1, line 7: w <- clip(w, -c, c)
            for p in flat(self.critic):
                np.clip(p, -clip_value, clip_value, out=p)
        return loss

    def generator_step(self, rng):
        """One generator update; returns the generator's loss ``-mean f(g(z))``."""
        wl = self.workload
        z = draw_generator_noise(wl, rng, self.dtype)
        loss, grads = generator_gradients(self.generator, self.critic, z,
                                          generator_activation=wl.generator_activation,
                                          generator_output=wl.generator_output,
                                          critic_activation=wl.critic_activation, ws=self.ws)
        self.generator_optimizer.step(flat(grads))
        return loss

    def iteration(self, rng):
        """``n_critic`` critic steps then one generator step; returns ``(critic_loss, generator_loss)``
        (the critic's from its last step)."""
        # Critic: maximise E_x~Pr[f(x)] - E_z~p(z)[f(g(z))]  (Kantorovich-Rubinstein dual)
        for _ in range(self.n_critic):
            critic_loss = self.critic_step(rng)
        # Generator: minimise -E_z~p(z)[f(g(z))]
        return critic_loss, self.generator_step(rng)
