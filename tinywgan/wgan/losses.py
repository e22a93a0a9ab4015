r"""The WGAN losses and, for comparison, the vanilla GAN's.

The Kantorovich-Rubinstein duality (Arjovsky et al. 2017, Eq. 2) writes $W$ as a sup over 1-Lipschitz $f$,

$$W(\mathbb{P}_r, \mathbb{P}_\theta) = \sup\limits_{\|f\|_L \le 1} \;
  \mathbb{E}_{x \sim \mathbb{P}_r}[f(x)] - \mathbb{E}_{x \sim \mathbb{P}_\theta}[f(x)],$$

and the critic $f_w$ searches a parametrised family of $K$-Lipschitz functions instead, $w$ ranging over a
compact set of weights (a box $[-c, c]$ under weight clipping; Arjovsky et al. 2017, Eq. 3):

$$\max\limits_w \; \mathbb{E}_{x \sim \mathbb{P}_r}[f_w(x)] - \mathbb{E}_{z \sim p(z)}[f_w(g_\theta(z))],$$

so the critic *minimises* ``critic_loss`` $= \mathbb{E}[f(\text{fake})] - \mathbb{E}[f(\text{real})]$ and
``-critic_loss`` is the running estimate of $W$ (up to the Lipschitz constant $K$ when the weights are
clipped). The generator minimises ``generator_loss`` $= -\mathbb{E}[f(g_\theta(z))]$ (Arjovsky et al. 2017,
Algorithm 1, line 10; Gulrajani et al. 2017, Algorithm 1). The vanilla GAN losses (Goodfellow et al. 2014)
are here too, for chapter 05's comparison.
"""
from __future__ import annotations

from ..engine import ops as F
from ..engine.tensor import Tensor



def critic_loss(f_real: Tensor, f_fake: Tensor) -> Tensor:
    r"""$\mathbb{E}[f(\text{fake})] - \mathbb{E}[f(\text{real})]$: the negated Kantorovich-Rubinstein objective,
    minimised by the critic."""
    return F.mean(f_fake) - F.mean(f_real)


def generator_loss(f_fake: Tensor) -> Tensor:
    r"""$-\mathbb{E}[f(g(z))]$: the generator moves its samples up the critic's slope."""
    return -F.mean(f_fake)


def gan_discriminator_loss(logit_real: Tensor, logit_fake: Tensor) -> Tensor:
    r"""$-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(g(z)))]$ with $D = \operatorname{sigmoid}(\text{logit})$,
    written with the stable log-sigmoid: $\log D$ = ``log_sigmoid(logit)``, $\log(1 - D)$ = ``log_sigmoid(-logit)``
    (Goodfellow et al. 2014, Eq. 1)."""
    return -F.mean(F.log_sigmoid(logit_real)) - F.mean(F.log_sigmoid(-logit_fake))


def gan_generator_loss(logit_fake: Tensor, saturating: bool = False) -> Tensor:
    r"""The vanilla generator loss. ``saturating=True``: $\mathbb{E}[\log(1 - D(g(z)))]$, the minimax loss whose
    gradient vanishes when $D$ is confident; default: the non-saturating $-\mathbb{E}[\log D(g(z))]$ (Goodfellow
    et al. 2014, §3)."""
    if saturating:
        return F.mean(F.log_sigmoid(-logit_fake))
    return -F.mean(F.log_sigmoid(logit_fake))
