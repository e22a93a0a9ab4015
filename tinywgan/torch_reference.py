"""The same WGAN iteration in PyTorch: the yardstick ``python -m tinywgan.bench`` times against.

PyTorch is never a dependency of tinywgan: this module imports without it, :func:`torch_available`
says whether it can run, and ``torch`` is imported only when a :class:`TorchWGAN` is built. The caller
chooses the thread count (``torch.set_num_threads``).

It mirrors :class:`tinywgan.handwritten.HandwrittenWGAN` step for step: the same initial weights (our
``(in, out)`` matrices, transposed into ``nn.Linear``'s ``(out, in)``), the same random draws from the
same NumPy generator (:func:`~tinywgan.handwritten.draw_critic_inputs`), ``torch.optim.Adam`` or
``torch.optim.RMSprop`` with the variant's settings, and the gradient penalty by double backprop
(``torch.autograd.grad(..., create_graph=True)``), as in Gulrajani et al.'s reference code.
"""
from __future__ import annotations

from tinywgan.handwritten import VARIANTS, draw_critic_inputs, draw_generator_noise, resolve_setup


def torch_available() -> bool:
    """True when PyTorch imports (a missing or broken installation both read as unavailable)."""
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _mlp(torch, layers, activation, output_activation):
    """``nn.Sequential`` of ``nn.Linear`` layers holding ``layers = [(W (in, out), b (out,)), ...]``."""
    nn = torch.nn
    act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh,
           "identity": nn.Identity}
    modules = []
    for k, (W, b) in enumerate(layers):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        modules += [linear, act[output_activation if k == len(layers) - 1 else activation]()]
    return nn.Sequential(*modules)


def _layers_of(module):
    """The weights of an ``nn.Sequential`` back in our convention: ``[(W (in, out), b), ...]`` as NumPy."""
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
            for m in module if hasattr(m, "weight")]


class TorchWGAN:
    """One WGAN iteration (``n_critic`` critic steps, one generator step) in PyTorch on the CPU.

    Same arguments as :class:`tinywgan.handwritten.HandwrittenWGAN`; the weights' dtype (float32 or
    float64) is the dtype of the whole computation.
    """

    def __init__(self, workload="toy", variant="gp", critic=None, generator=None, *, gp_weight=None,
                 n_critic=5, real_sampler=None, seed=0):
        import torch
        self.torch = torch
        self.workload, self.gp_weight, critic, generator = resolve_setup(
            workload, variant, critic, generator, gp_weight, seed)
        self.variant, self.n_critic, self.real_sampler = variant, n_critic, real_sampler
        self.dtype = critic[0][0].dtype
        wl = self.workload
        self.critic = _mlp(torch, critic, wl.critic_activation, "identity")
        self.generator = _mlp(torch, generator, wl.generator_activation, wl.generator_output)
        cfg = VARIANTS[variant]
        if cfg["optimizer"] == "adam":
            optimizer, settings = torch.optim.Adam, dict(lr=cfg["lr"], betas=cfg["betas"], eps=cfg["eps"])
        else:
            optimizer, settings = torch.optim.RMSprop, dict(lr=cfg["lr"], alpha=cfg["alpha"], eps=cfg["eps"])
        self.critic_optimizer = optimizer(self.critic.parameters(), **settings)
        self.generator_optimizer = optimizer(self.generator.parameters(), **settings)

    def critic_layers(self):
        """The critic's current weights as ``[(W (in, out), b), ...]`` NumPy arrays."""
        return _layers_of(self.critic)

    def generator_layers(self):
        """The generator's current weights as ``[(W (in, out), b), ...]`` NumPy arrays."""
        return _layers_of(self.generator)

    def critic_step(self, rng):
        """One critic update; returns the critic's loss (penalty included)."""
        torch, D = self.torch, self.critic
        real, z, alpha = draw_critic_inputs(self.workload, self.variant, rng, self.dtype, self.real_sampler)
        real, z = torch.from_numpy(real), torch.from_numpy(z)
        with torch.no_grad():
            fake = self.generator(z)
        loss = D(fake).mean() - D(real).mean()
        if alpha is not None:  # Gulrajani et al. 2017, Eq. 3, at x_hat = alpha x + (1 - alpha) x~
            alpha = torch.from_numpy(alpha)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            out = D(x_hat)
            (g,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
            loss = loss + self.gp_weight * ((g.norm(2, dim=1) - 1) ** 2).mean()
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        clip_value = VARIANTS[self.variant]["clip_value"]
        if clip_value is not None:  # Arjovsky et al. 2017, Alg. 1, line 7
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-clip_value, clip_value)
        return loss.item()

    def generator_step(self, rng):
        """One generator update; returns ``-mean f(g(z))``. The critic's parameters stop requiring
        gradients meanwhile, so no critic weight gradient is computed."""
        torch = self.torch
        z = torch.from_numpy(draw_generator_noise(self.workload, rng, self.dtype))
        for p in self.critic.parameters():
            p.requires_grad_(False)
        loss = -self.critic(self.generator(z)).mean()
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.generator_optimizer.step()
        for p in self.critic.parameters():
            p.requires_grad_(True)
        return loss.item()

    def iteration(self, rng):
        """``n_critic`` critic steps then one generator step; returns ``(critic_loss, generator_loss)``."""
        for _ in range(self.n_critic):
            critic_loss = self.critic_step(rng)
        return critic_loss, self.generator_step(rng)
