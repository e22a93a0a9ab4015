"""The bench's workloads, shared by its implementations: what is trained, on what, from which weights.

:mod:`tinywgan.bench.handwritten` (the iteration derived by hand), :mod:`tinywgan.bench.torch_reference`
(PyTorch) and :mod:`tinywgan.bench.runner` (which times them against tinywgan) all start here, so that they
compute the same thing: the networks and batch of a :class:`Workload` (``toy``, ``mnist``), the optimizer
settings of a variant (``gp``, ``clip``), the initial weights (PyTorch's default initialisation, drawn once in
NumPy and loaded into every implementation) and the random draws of a step, in one fixed order.

Weights are a list of layers ``[(W_1, b_1), ..., (W_L, b_L)]`` with ``W`` of shape ``(in, out)`` and ``b``
of shape ``(out,)``: ``y = x @ W + b``, the convention of ``tinywgan.nn.Linear``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    """The networks and batch of one benchmark workload."""
    name: str
    critic_sizes: tuple[int, ...]
    generator_sizes: tuple[int, ...]
    critic_activation: str
    generator_activation: str
    generator_output: str
    batch_size: int
    gp_weight: float  # lambda of Gulrajani et al. 2017, Eq. 3

    @property
    def noise_dim(self) -> int:
        return self.generator_sizes[0]

    @property
    def data_dim(self) -> int:
        return self.critic_sizes[0]


WORKLOADS = {
    # Gulrajani et al.'s gan_toy.py: DIM = 512, ReLU, noise of dimension 2, LAMBDA = .1
    "toy": Workload("toy", (2, 512, 512, 512, 1), (2, 512, 512, 512, 2),
                    "relu", "relu", "identity", batch_size=256, gp_weight=0.1),
    "mnist": Workload("mnist", (784, 512, 512, 512, 1), (128, 512, 512, 512, 784),
                      "leaky_relu", "relu", "tanh", batch_size=64, gp_weight=10.0),
}

# gp: Gulrajani et al. 2017, Alg. 1 (Adam, alpha = 1e-4, beta2 = 0.9), with beta1 = 0.5 as in their released
# code (Alg. 1 lists beta1 = 0).
# clip: Arjovsky et al. 2017, Alg. 1 (RMSProp, alpha = 5e-5, c = 0.01).
VARIANTS = {
    "gp": dict(optimizer="adam", lr=1e-4, betas=(0.5, 0.9), eps=1e-8, clip_value=None),
    "clip": dict(optimizer="rmsprop", lr=5e-5, alpha=0.99, eps=1e-8, clip_value=0.01),
}


def init_mlp(sizes, rng: np.random.Generator, dtype=np.float32):
    """Layers ``[(W, b), ...]`` for ``sizes = (in, hidden..., out)``, drawn like PyTorch's default
    ``nn.Linear`` initialisation: ``W, b ~ U(-1/sqrt(in), 1/sqrt(in))``."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(n_in)
        W = rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
        b = rng.uniform(-bound, bound, n_out).astype(dtype)
        layers.append((W, b))
    return layers


def as_layers(params):
    """``[(W, b), ...]`` from either that form or a flat list ``[W_1, b_1, W_2, b_2, ...]``."""
    params = list(params)
    if all(isinstance(p, np.ndarray) for p in params):
        if len(params) % 2 or any(W.ndim != 2 or b.ndim != 1 for W, b in zip(params[::2], params[1::2])):
            raise ValueError(f"a flat parameter list must alternate W (in, out) and b (out,); got shapes "
                             f"{[p.shape for p in params]}")
        params = list(zip(params[::2], params[1::2]))
    return [(W, b) for W, b in params]


def flat(layers):
    """``[W_1, b_1, W_2, b_2, ...]``: layer by layer, weight before bias (as ``tinywgan.nn``'s
    ``parameters()`` lists a stack of ``Linear`` layers)."""
    return [a for layer in layers for a in layer]


def sample_eight_gaussians(rng: np.random.Generator, n: int, dtype=np.float32):
    """Gulrajani et al.'s '8gaussians': centres 2 (cos k pi/4, sin k pi/4), std 0.02, all over 1.414."""
    angles = np.arange(8) * (np.pi / 4)
    centers = (2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(dtype)
    points = rng.standard_normal((n, 2), dtype=dtype) * 0.02 + centers[rng.integers(0, 8, n)]
    return points / 1.414


STAND_IN_SIZE = 2048  # images in the MNIST stand-in


def stand_in_images(data_dim: int, dtype=np.float32) -> np.ndarray:
    """The bench's stand-in for the MNIST training set: ``STAND_IN_SIZE`` images of uniform pixels in
    [-1, 1], always the same (seed 0; the timing does not depend on the pixels, and the bench needs no
    download). Batches are drawn from it by index, as chapter 09 draws them from MNIST."""
    key = (data_dim, np.dtype(dtype).name)
    if key not in _STAND_IN:
        images = (np.random.default_rng(0).random((STAND_IN_SIZE, data_dim)) * 2 - 1).astype(dtype)
        images.flags.writeable = False  # shared by every caller
        _STAND_IN[key] = images
    return _STAND_IN[key]


_STAND_IN: dict = {}


def sample_real(workload: Workload, rng: np.random.Generator, dtype=np.float32):
    """A batch of real data: 8 gaussians for ``toy``; for ``mnist`` ``batch_size`` images of
    :func:`stand_in_images` at random indices (the real loader is :mod:`tinywgan.data.mnist`)."""
    if workload.name == "toy":
        return sample_eight_gaussians(rng, workload.batch_size, dtype)
    images = stand_in_images(workload.data_dim, dtype)
    return np.take(images, rng.integers(0, images.shape[0], workload.batch_size), axis=0)


def draw_critic_inputs(workload, variant, rng, dtype=np.float32, real_sampler=None):
    """The random draws of one critic step, in this fixed order, so that every implementation given the
    same seed sees the same numbers: ``real`` (B, D), ``z ~ N(0, I)`` (B, noise_dim), and for ``gp``
    ``alpha ~ U[0, 1)`` (B, 1) (``None`` for ``clip``)."""
    B = workload.batch_size
    real = (real_sampler or (lambda r: sample_real(workload, r, dtype)))(rng)
    z = rng.standard_normal((B, workload.noise_dim), dtype=dtype)
    alpha = rng.random((B, 1), dtype=dtype) if VARIANTS[variant]["clip_value"] is None else None
    return real, z, alpha


def draw_generator_noise(workload, rng, dtype=np.float32):
    """The one draw of a generator step: ``z ~ N(0, I)`` of shape (B, noise_dim)."""
    return rng.standard_normal((workload.batch_size, workload.noise_dim), dtype=dtype)


def resolve_setup(workload, variant, critic, generator, gp_weight, seed):
    """(workload, gp_weight, critic layers, generator layers) with the defaults filled in: the workload by
    name, the penalty weight of the workload, PyTorch-initialised weights from ``seed`` where none are given.
    Shared by :class:`tinywgan.bench.handwritten.HandwrittenWGAN` and
    :class:`tinywgan.bench.torch_reference.TorchWGAN`."""
    workload = WORKLOADS[workload] if isinstance(workload, str) else workload
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}; got {variant!r}")
    gp_weight = workload.gp_weight if gp_weight is None else gp_weight
    init = np.random.default_rng(seed)
    critic = as_layers(critic) if critic is not None else init_mlp(workload.critic_sizes, init)
    generator = as_layers(generator) if generator is not None else init_mlp(workload.generator_sizes, init)
    return workload, gp_weight, critic, generator


SMALL_HIDDEN, SMALL_BATCH = 64, 32  # the tests' sizes: workload(name, small=True)


def workload(name: str, small: bool = False) -> Workload:
    """The named workload; ``small`` keeps its input and output sizes but shrinks the hidden layers to 64
    units and the batch to 32 (for the tests; CI's ``--quick`` runs the real sizes)."""
    wl = WORKLOADS[name]
    if not small:
        return wl
    hidden = lambda sizes: (sizes[0],) + (SMALL_HIDDEN,) * (len(sizes) - 2) + (sizes[-1],)  # noqa: E731
    return dataclasses.replace(wl, critic_sizes=hidden(wl.critic_sizes),
                               generator_sizes=hidden(wl.generator_sizes), batch_size=SMALL_BATCH)


def initial_weights(wl: Workload, seed: int, dtype=np.float32):
    """``(critic, generator)`` as ``[(W (in, out), b), ...]``, drawn by :func:`init_mlp`
    (PyTorch's default ``nn.Linear`` initialisation) in float32 and then cast to ``dtype``."""
    rng = np.random.default_rng(seed)
    critic = init_mlp(wl.critic_sizes, rng)
    generator = init_mlp(wl.generator_sizes, rng)
    cast = lambda layers: [(W.astype(dtype), b.astype(dtype)) for W, b in layers]  # noqa: E731
    return cast(critic), cast(generator)
