"""The textbook autograd engine: reverse mode with broadcasting and double backprop.

Read it in this order: :mod:`.tensor` (Tensor, Function, grad mode), :mod:`.ops` (one small Function per
op), :mod:`.backprop` (the graph walk): together about 600 lines of code. Beside them: :mod:`.backend` (one
array interface for NumPy, CuPy and array_api_strict), :mod:`.creation` (tensor, zeros, randn, ...),
:mod:`.checks` (the ops' argument checks) and :mod:`.gradcheck` (finite-difference checks of it all). The
speed layer, :mod:`tinywgan.fast`, sits beside the engine and changes no number.
"""
from . import backend, ops
from .backprop import NO_GRAPH_BACKWARD, backward, grad
from .creation import ones, rand, randn, tensor, zeros
from .tensor import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
