"""tinywgan: a from-scratch NumPy/CuPy autograd engine that teaches Wasserstein GANs by building one.

The engine (``Tensor``, ``grad``, ``no_grad``) and the ops (``tinywgan.functions``) are re-exported here, so
``import tinywgan as tw; tw.grad(tw.tanh(x).sum(), x, create_graph=True)`` reads like the papers' math.
"""
from .autograd import (Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad, ones, rand,
                       randn, tensor, zeros)
from .backend import Generator, gpu_available
from .functions import (abs, add, broadcast_to, clip, concatenate, div, exp, getitem, leaky_relu, linear, log,
                        log_sigmoid, matmul, matrix_transpose, max, maximum, mean, minimum, mul, neg,
                        norm, pow, relu, reshape, sigmoid, softplus, sqrt, stack, sub, sum, sum_to, tanh,
                        transpose, where)

from .backend import keep_freed_memory

__version__ = "0.1.0"

# Training allocates and frees the same large temporaries every step; keep them in the process instead of
# paying page faults for fresh pages each time (see backend.keep_freed_memory; opt out with
# TINYWGAN_KEEP_FREED_MEMORY=0).
keep_freed_memory()
