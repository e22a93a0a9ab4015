"""The differentiable ops, and Tensor's operators built from them.

:mod:`.elementwise` holds the ops that act element by element (arithmetic, exp, tanh, the activations);
:mod:`.axes` those that work along axes (matmul, Linear, reshapes, reductions, indexing). This module gathers
both (the rest of the package calls them ``F.matmul``, ``F.relu``, ...) and then gives :class:`Tensor` its
operators and op methods: Tensor is defined before the ops that are built on it, so they are installed here,
once the ops exist (DeZero's ``setup_variable()`` does the same). The methods that take axes or options come
from :mod:`.methods`, which gives them PyTorch's names and keywords beside the array API's.
"""
from ..tensor import Tensor
from .axes import (BroadcastTo, Concatenate, GetItem, GetItemGrad, Linear, MatMul, Max, Mean, Norm, Reshape, Stack,
                   Sum, SumTo, Transpose, broadcast_to, concatenate, getitem, linear, matmul, matrix_transpose, max,
                   mean, norm, reshape, stack, sum, sum_to, transpose)
from .elementwise import (Add, Clip, Div, Exp, LeakyReLU, Log, LogSigmoid, Mul, Neg, Pow, ReLU, Sigmoid, Softplus,
                          Sqrt, Sub, Tanh, add, clip, div, exp, leaky_relu, log, log_sigmoid, mul, neg, pow, relu,
                          sigmoid, softplus, sqrt, sub, tanh)
from .axes import LogSumExp, expand_dims, log_softmax, logsumexp, min, softmax, squeeze, std, swapaxes, var
from .elementwise import Cos, Expm1, Log1p, Sin, cos, expm1, log1p, sin, square
from . import methods

Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: sub(other, self)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: mul(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: div(other, self)
Tensor.__neg__ = neg
Tensor.__pow__ = pow
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__getitem__ = getitem
Tensor.T = property(transpose, doc="The transpose (all axes reversed).")
Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
for op in (exp, log, sqrt, tanh, sigmoid, relu, softplus, square, sin, cos, log1p, expm1):
    setattr(Tensor, op.__name__, op)
# The methods that take axes or options, with PyTorch's keywords beside the array API's (x.sum(dim=1,
# keepdim=True)) and PyTorch's meaning where the two differ (x.transpose(0, 1) swaps two axes): .methods
for name, method in methods.METHODS.items():
    setattr(Tensor, name, method)
