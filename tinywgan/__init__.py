"""tinywgan: a from-scratch NumPy/CuPy autograd engine that teaches Wasserstein GANs by building one.

The engine (``Tensor``, ``grad``, ``no_grad``, the ops), ``nn``, ``optim``, ``autograd``, ``F`` (also
``nn.functional``), ``save`` / ``load`` and ``manual_seed`` are reachable from here under PyTorch's names, so
``import tinywgan as tw; tw.grad(tw.tanh(x).sum(), x, create_graph=True)`` reads like the papers' math and
``tw.randn(2, 3)``, ``x.sum(dim=1, keepdim=True)``, ``tw.cat([a, b], dim=1)`` read like PyTorch (where the two
disagree, see :mod:`tinywgan.engine.ops.methods`).
The package, layer by layer: :mod:`tinywgan.engine` (the textbook autograd engine), :mod:`tinywgan.fast`
(the optional speed layer, on by default), :mod:`tinywgan.nn` and :mod:`tinywgan.optim`,
:mod:`tinywgan.wgan` (losses, Lipschitz tools, trainer, checkpoints), :mod:`tinywgan.transport` (optimal
transport, divergences), :mod:`tinywgan.data`, :mod:`tinywgan.lab` (what the chapters share) and
:mod:`tinywgan.bench` (``python -m tinywgan.bench``).
"""
import sys as _sys

import numpy as _np

from . import fast, nn, optim
from .engine import (Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad, ones, rand, randn, tensor,
                     zeros)
from .engine.backend import Generator, gpu_available
from .engine.ops import (add, broadcast_to, clip, concatenate, div, exp, getitem, leaky_relu, linear, log,
                         log_sigmoid, matmul, matrix_transpose, max, mean, mul, neg, norm, pow,
                         relu, reshape, sigmoid, softplus, sqrt, stack, sub, sum, sum_to, tanh, transpose)

# PyTorch's names (tinywgan.engine.ops.methods): dim=/keepdim= beside axis=/keepdims=, cat, clamp, permute,
# transpose(x, dim0, dim1) swapping two axes, max/min(x, dim=d) giving (values, indices). They replace the
# plain ops of the same names imported above (sum, mean, max, norm, stack, transpose), which they call.
from .engine.ops.methods import (cat, clamp, log_softmax, logsumexp, max, mean, min, norm, permute, softmax,
                                 squeeze, stack, std, sum, transpose, unsqueeze, var)
from .engine.creation import default_generator, manual_seed
from . import autograd, functional
from . import functional as F
from .serialization import load, save

# tinywgan.nn.functional is tinywgan.functional, attached here because its WGAN losses sit in the layer above
# nn; the sys.modules entry lets `import tinywgan.nn.functional as F` work too (os.path is made the same way).
nn.functional = functional
_sys.modules[__name__ + ".nn.functional"] = functional

# dtypes under PyTorch's names: NumPy's dtype objects, which every creation function and Generator takes on
# every device (x.dtype == tw.float32 holds for NumPy and CuPy arrays).
float32, float64, int32, int64 = (_np.dtype(name) for name in ("float32", "float64", "int32", "int64"))

__version__ = "0.1.0"
