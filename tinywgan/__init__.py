"""tinywgan: a from-scratch NumPy/CuPy autograd engine that teaches Wasserstein GANs by building one.

The engine (``Tensor``, ``grad``, ``no_grad``, the ops), ``nn`` and ``optim`` are reachable from here, so
``import tinywgan as tw; tw.grad(tw.tanh(x).sum(), x, create_graph=True)`` reads like the papers' math.
The package, layer by layer: :mod:`tinywgan.engine` (the textbook autograd engine), :mod:`tinywgan.fast`
(the optional speed layer, on by default), :mod:`tinywgan.nn` and :mod:`tinywgan.optim`,
:mod:`tinywgan.wgan` (losses, Lipschitz tools, trainer, checkpoints), :mod:`tinywgan.transport` (optimal
transport, divergences), :mod:`tinywgan.data`, :mod:`tinywgan.lab` (what the chapters share) and
:mod:`tinywgan.bench` (``python -m tinywgan.bench``).
"""
from . import fast, nn, optim
from .engine import (Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad, ones, rand, randn, tensor,
                     zeros)
from .engine.backend import Generator, gpu_available
from .engine.ops import (add, broadcast_to, clip, concatenate, div, exp, getitem, leaky_relu, linear, log,
                         log_sigmoid, matmul, matrix_transpose, max, mean, mul, neg, norm, pow,
                         relu, reshape, sigmoid, softplus, sqrt, stack, sub, sum, sum_to, tanh, transpose)

__version__ = "0.1.0"
