r"""The three ways to keep a WGAN critic (roughly) 1-Lipschitz.

The Kantorovich-Rubinstein duality (Arjovsky et al. 2017, Eq. 2) gives

$$W(\mathbb{P}_r, \mathbb{P}_g) = \sup\limits_{\|f\|_L \le 1} \;
  \mathbb{E}_{x \sim \mathbb{P}_r}[f(x)] - \mathbb{E}_{x \sim \mathbb{P}_g}[f(x)]:$$

the critic must stay in a set of Lipschitz functions. Three tools do it, in the order the papers came:

* :func:`clip_weights` (Arjovsky et al. 2017, Algorithm 1): every parameter into $[-c, c]$. The critic is then
  $K$-Lipschitz for some $K$ that depends on $c$ and the architecture, so it estimates $K \cdot W$.
* :func:`gradient_penalty` (Gulrajani et al. 2017, Eq. 3): the optimal critic has gradient norm 1 almost
  everywhere between the two distributions (their Proposition 1), so penalise
  $\lambda\, \mathbb{E}[(\|\nabla_x f(\hat x)\|_2 - 1)^2]$ at random interpolates $\hat x$. Needs double backprop.
* :class:`SpectralNorm` (Miyato et al. 2018): divide each weight matrix by its largest singular value, so
  each layer is 1-Lipschitz and, with 1-Lipschitz activations, so is the network.
"""
from __future__ import annotations

import numpy as np

from ..engine import backend, checks
from ..engine import ops as F
from ..engine import Tensor, grad
from ..engine.tensor import data_of
from ..nn import Linear, Module, Sequential


def clip_weights(module: Module, c: float, count: bool = True) -> int | None:
    """Clip every parameter of ``module`` (biases included, as Arjovsky et al. do) into $[-c, c]$, in place.

    Returns how many values lay outside and were moved to the boundary, or None with ``count=False``:
    counting costs two more passes over the weights, and the trainer counts only at the last critic step
    of each generator iteration (the one its log reports).
    """
    if not isinstance(module, Module):
        raise TypeError(f"clip_weights: module must be a tinywgan Module; got {type(module).__name__}")
    c = checks.real(c, "clip_weights: c", 0, low_open=True)
    count = checks.flag(count, "clip_weights: count")
    clipped = 0
    for p in module.parameters():
        if count:  # summed on the device, read once (on a GPU each int() waits for the device)
            xp = p.xp
            clipped = clipped + xp.count_nonzero(xp.abs(p.data) > c)
        p.data = backend.clip_in_place(p.data, -c, c)
    return int(clipped) if count else None


# What an ``rng`` argument may be: a tinywgan or numpy Generator, an int seed, or None.
Rng = backend.Generator | np.random.Generator | int | None


def interpolate(real, fake, rng: Rng = None, alpha=None):
    r"""$\hat x = \alpha \cdot \text{real} + (1 - \alpha) \cdot \text{fake}$ with one $\alpha \sim \mathcal{U}[0, 1]$
    per sample, shape (batch, 1, ...) (Gulrajani et al. 2017, Algorithm 1, line 6). Returns a leaf tensor that
    requires grad, detached from whatever made ``real`` and ``fake``. alpha is drawn from ``rng``: a tinywgan or
    numpy Generator, an int seed, or None (fresh, unseeded numbers). ``alpha`` (shape (batch, 1, ...)) may be
    given instead of drawn, to compare with another implementation on the same numbers."""
    real, fake, alpha = data_of(real), data_of(fake), data_of(alpha)
    if alpha is not None and not hasattr(alpha, "shape"):
        raise TypeError(f"gradient penalty: alpha must be None or an array; got {type(alpha).__name__}")
    for name, x in (("real", real), ("fake", fake)):
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"gradient penalty: {name} must be a Tensor or an array; got {type(x).__name__}")
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(f"gradient penalty: real batch has shape {tuple(real.shape)} and fake batch has "
                         f"shape {tuple(fake.shape)}; they must be equal")
    if real.ndim == 0 or real.shape[0] == 0:
        raise ValueError(f"gradient penalty: the batch is empty (shape {tuple(real.shape)}); the penalty is a "
                         f"mean over interpolates, one per sample, and needs at least one sample")
    backend.array_namespace(real, fake)
    if real.dtype != fake.dtype or backend.dtype_kind(real.dtype) != "f":
        raise TypeError(f"gradient penalty: real is {backend.dtype_name(real.dtype)} and fake is "
                        f"{backend.dtype_name(fake.dtype)}; both must be the critic's floating dtype")
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    if alpha is None:
        alpha = backend.as_generator(rng, backend.device_of(real), "interpolate: rng").uniform(shape,
                                                                                             dtype=real.dtype)
    elif tuple(alpha.shape) != shape:
        raise ValueError(f"gradient penalty: alpha has shape {tuple(alpha.shape)}; expected {shape}, one value "
                         f"per sample")
    elif alpha.dtype != real.dtype:
        raise TypeError(f"gradient penalty: alpha is {backend.dtype_name(alpha.dtype)} but real and fake are "
                        f"{backend.dtype_name(real.dtype)}; give alpha in their dtype")
    elif not bool(backend.to_numpy(backend.array_namespace(alpha).all((alpha >= 0) & (alpha <= 1)))):
        # (checked for a given alpha only: a drawn one lies in [0, 1), and checking costs a device sync)
        raise ValueError("gradient penalty: alpha must lie in [0, 1] (a point between real and fake); got values "
                         "outside")
    return Tensor(fake + alpha * (real - fake), requires_grad=True)


def critic_gradient_norms(critic: Module, x: Tensor, create_graph: bool = False) -> Tensor:
    r"""$\|\nabla_x f(x)\|_2$ per sample, the norm taken over all non-batch axes.

    Each sample's output depends on that sample alone, so the gradient of $\sum_i f(x_i)$ with respect to
    $x_i$ is $\nabla f(x_i)$: one backward pass gives all of them.
    """
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not x.requires_grad:
        x = x.detach().requires_grad_()
    g, = grad(critic(x).sum(), x, create_graph=create_graph)
    return F.norm(F.reshape(g, (g.shape[0], -1)), axis=1)


def gradient_penalty(critic: Module, real, fake, rng: Rng = None, weight: float = 10.0, alpha=None) -> Tensor:
    r"""$\text{weight} \cdot \operatorname{mean}_i (\|\nabla_x f(\hat x_i)\|_2 - 1)^2$ at random interpolates
    (Gulrajani et al. 2017, Eq. 3: weight = $\lambda$; their Algorithm 1 uses $\lambda = 10$).

    The gradient is computed with ``create_graph=True``, so ``penalty.backward()`` reaches the critic's
    weights through it. ``rng`` and ``alpha``: see :func:`interpolate`.
    """
    if not callable(critic):
        raise TypeError(f"gradient_penalty: critic must be a Module (or a function of x); got {type(critic).__name__}")
    weight = checks.real(weight, "gradient_penalty: weight (lambda)", 0)  # < 0 would reward steep critics
    x_hat = interpolate(real, fake, rng, alpha)
    norms = critic_gradient_norms(critic, x_hat, create_graph=True)
    gap = norms - 1.0
    return weight * (gap * gap).mean()


class SpectralNorm(Module):
    r"""A Linear layer whose weight is divided by (an estimate of) its largest singular value:
    $W_{\text{SN}} = W / \sigma(W)$ (Miyato et al. 2018, Eq. 8).

    $\sigma$ is estimated by power iteration with a vector $u$ kept across calls (Miyato et al., Algorithm 1):
    $v = W^\top u / \|W^\top u\|_2$, $u = W v / \|W v\|_2$, $\sigma = u^\top W v$. With $W$ of shape (in, out), $u$
    lives in $\mathbb{R}^{\text{in}}$ and $v$ in $\mathbb{R}^{\text{out}}$. One iteration per forward pass suffices
    because $W$ changes slowly between steps. $u$ and $v$ are constants of the graph: $\sigma$ is differentiated
    through $W$ only. Each forward pass iterates from the stored $u$; the result is kept as the next $u$ only in
    training mode (``module.train()``, the
    default), whatever the grad mode, so a critic measured in ``eval()`` mode trains on as if unmeasured.
    """

    def __init__(self, linear: Linear, n_power_iterations: int = 1, rng: Rng = None, eps: float = 1e-12):
        if not isinstance(linear, Linear):
            raise TypeError(f"SpectralNorm wraps a Linear layer; got {type(linear).__name__}")
        n_power_iterations = checks.integer(n_power_iterations, "SpectralNorm: n_power_iterations", 1)
        eps = checks.real(eps, "SpectralNorm: eps", 0)
        self.linear = linear
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        rng = backend.as_generator(rng, linear.weight.device, "SpectralNorm: rng")
        u = rng.normal((linear.in_features,), dtype=linear.weight.dtype)
        self.u = u / (linear.weight.xp.sqrt(linear.weight.xp.sum(u * u)) + eps)

    def _own_buffers(self) -> dict:
        return {"u": self.u}

    def _power_iteration(self, W, u, n):
        xp = backend.array_namespace(W)
        v = None
        for _ in range(n):
            v = xp.matmul(u, W)  # W^T u as a row vector
            v = v / (xp.sqrt(xp.sum(v * v)) + self.eps)
            u = xp.matmul(W, v)
            u = u / (xp.sqrt(xp.sum(u * u)) + self.eps)
        return u, v

    def sigma(self) -> Tensor:
        r"""The current estimate $u^\top W v$ of the largest singular value (differentiable in $W$; $u$ is not
        advanced)."""
        W = self.linear.weight
        u, v = self._power_iteration(W.data, self.u, 1)
        return self._estimate(W, u, v)

    def _estimate(self, W: Tensor, u, v) -> Tensor:
        # $\sigma = u^\top W v = \sum_{ij} W_{ij} u_i v_j$, with u and v constants of the graph (Miyato et al., Alg. 1).
        xp = W.xp
        return F.sum(W * (xp.reshape(u, (-1, 1)) * xp.reshape(v, (1, -1))))

    def normalized_weight(self) -> Tensor:
        W = self.linear.weight
        u, v = self._power_iteration(W.data, self.u, self.n_power_iterations)
        if self.training:
            self.u = u
        return W / self._estimate(W, u, v)

    def forward(self, x):
        return F.linear(x, self.normalized_weight(), self.linear.bias)

    def extra_repr(self) -> str:
        return f"{self.linear.in_features}, {self.linear.out_features}, n_power_iterations=" \
               f"{self.n_power_iterations}"


def spectral_norm(module: Sequential, n_power_iterations: int = 1, rng: Rng = None) -> Sequential:
    """Wrap every Linear layer of a Sequential (an :class:`tinywgan.nn.MLP`) in :class:`SpectralNorm`,
    in place; returns the module. The critic of Miyato et al. normalises every layer. A Generator ``rng``
    draws each layer's u in turn; an int seeds each layer's own; None draws from the default generator (tinywgan.manual_seed)."""
    if not isinstance(module, Sequential):
        raise TypeError(f"spectral_norm: module must be a Sequential (an MLP) whose Linear layers it wraps; got "
                        f"{type(module).__name__} (wrap a single layer with SpectralNorm(linear))")
    if not isinstance(rng, (backend.Generator, np.random.Generator)):  # a bad rng fails here, named
        backend.as_generator(rng, None, "spectral_norm: rng")
    for i in range(len(module)):
        layer = module[i]
        if isinstance(layer, Linear):
            setattr(module, str(i), SpectralNorm(layer, n_power_iterations, rng=rng))
    return module
