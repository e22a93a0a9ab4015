"""The WGAN iteration as a PyTorch user writes it with tinywgan: the bench's "user code" row.

:class:`tinywgan.wgan.WGANTrainer` is the library's own loop. A user who knows PyTorch writes their own, and
the speed layer must serve that code too: an ``nn.Sequential(nn.Linear(...), nn.ReLU(), ...)`` critic, the
gradient penalty by hand with ``grad(..., create_graph=True)`` and a square root of a sum, and
``loss.backward()`` for both networks (which, for the generator's loss, also fills the critic's ``.grad``, as
in PyTorch; the next critic step zeroes them). The random draws come in the trainer's order (real batch,
noise, interpolation weights) from a :class:`tinywgan.engine.backend.Generator`. The bench applies the speed
layer's memory setting when it starts, so this column times a user's loop that called
``tinywgan.fast.enable()`` once (without it, ~10,000 page faults per toy iteration cost 7-12%).
"""
from __future__ import annotations

from .. import nn
from ..engine import Tensor, backend, grad, no_grad
from ..optim import Adam, RMSprop
from ..wgan import clip_weights
from .workloads import VARIANTS, Workload


def sequential(layers, activation: str, output: str, device: str) -> nn.Sequential:
    """``nn.Sequential`` of Linear layers holding ``layers`` ([(W, b), ...], copied) with ``activation``
    between them and ``output`` ('identity', 'tanh') after the last, written out as a user would."""
    act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}
    modules = []
    for k, (W, b) in enumerate(layers):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=str(W.dtype))
        linear.weight.data = backend.to_device(W.copy(), device)
        linear.bias.data = backend.to_device(b.copy(), device)
        modules.append(linear)
        if k < len(layers) - 1:
            modules.append(act[activation]())
        elif output != "identity":
            modules.append(act[output]())
    return nn.Sequential(*modules)


class UserCodeWGAN:
    """One WGAN iteration (5 critic steps, 1 generator step) written the way a PyTorch user writes it."""

    def __init__(self, wl: Workload, variant: str, critic_layers, generator_layers, sample_real=None,
                 device: str = "cpu", seed: int = 0, gp_weight: float | None = None):
        self.wl, self.sample_real = wl, sample_real
        self.gp_weight = wl.gp_weight if gp_weight is None else gp_weight
        self.critic = sequential(critic_layers, wl.critic_activation, "identity", device)
        self.generator = sequential(generator_layers, wl.generator_activation, wl.generator_output, device)
        v = VARIANTS[variant]
        if v["optimizer"] == "adam":
            self.opt_critic = Adam(self.critic.parameters(), lr=v["lr"], betas=v["betas"])
            self.opt_generator = Adam(self.generator.parameters(), lr=v["lr"], betas=v["betas"])
        else:
            self.opt_critic = RMSprop(self.critic.parameters(), lr=v["lr"])
            self.opt_generator = RMSprop(self.generator.parameters(), lr=v["lr"])
        self.clip_value = v["clip_value"]
        self.rng = backend.Generator(seed, device)

    def critic_loss(self, real: Tensor, fake: Tensor, alpha: Tensor | None) -> Tensor:
        """E f(fake) - E f(real), plus lambda E (||grad f(x_hat)|| - 1)^2 (Gulrajani et al. 2017, Eq. 3),
        the norm written by hand as a square root of a sum, when ``alpha`` is given."""
        loss = self.critic(fake).mean() - self.critic(real).mean()
        if alpha is not None:
            x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_()
            (g,) = grad(self.critic(x_hat).sum(), x_hat, create_graph=True)
            norms = (g * g).sum(axis=1).sqrt()
            loss = loss + self.gp_weight * ((norms - 1) ** 2).mean()
        return loss

    def generator_loss(self, z: Tensor) -> Tensor:
        return -self.critic(self.generator(z)).mean()

    def critic_step(self) -> float:
        B, rng = self.wl.batch_size, self.rng
        real = Tensor(self.sample_real(B, rng))
        with no_grad():
            fake = self.generator(Tensor(rng.normal((B, self.wl.noise_dim))))
        alpha = Tensor(rng.uniform((B, 1))) if self.clip_value is None else None
        loss = self.critic_loss(real, fake, alpha)
        self.opt_critic.zero_grad()
        loss.backward()
        self.opt_critic.step()
        if self.clip_value is not None:
            clip_weights(self.critic, self.clip_value, count=False)
        return loss.item()

    def generator_step(self) -> float:
        loss = self.generator_loss(Tensor(self.rng.normal((self.wl.batch_size, self.wl.noise_dim))))
        self.opt_generator.zero_grad()
        loss.backward()
        self.opt_generator.step()
        return loss.item()

    def iteration(self) -> None:
        for _ in range(5):  # n_critic
            self.critic_step()
        self.generator_step()
