"""No-graph backward passes: the same formulas as the ops' textbook ``backward``, on raw arrays.

When the walk records no graph (a plain ``loss.backward()``, or the last walk of a gradient penalty), a
textbook backward still pays the Python cost of the Tensor ops it is written with (~3 us each) only to
throw the graph away. These compute the same products on the arrays and wrap each result once. Registered
in :data:`tinywgan.engine.backprop.NO_GRAPH_BACKWARD` by :func:`tinywgan.fast.enable`.
"""
from __future__ import annotations

import math

from ..engine.backend import astype, c_contiguous, matmul
from ..engine.ops import (BroadcastTo, Div, LeakyReLU, Linear, MatMul, Max, Mean, Mul, Neg, Norm, Pow, ReLU, Reshape,
                          Sqrt, Sub, Sum, SumTo, Tanh, Transpose)
from ..engine.ops.axes import kept_shape
from ..engine.tensor import Tensor
from .fused import LinearAct


def mT(xp, a):
    """``a`` with its last two axes swapped: the standard's ``.T`` for a matrix (an attribute, ~1 us less
    than NumPy's ``matrix_transpose`` function)."""
    return a.T if a.ndim == 2 else xp.matrix_transpose(a)


def _linear(f, g, gz_tensor):
    """(gx, gW[, gb]) of ``x @ W + b`` from the raw gradient ``g`` at its output (gz_tensor: g as a Tensor)."""
    x, W = f.inputs[0], f.inputs[1]
    need, xp = f.needs_input_grad, f.xp
    gx = Tensor(matmul(g, W.data.T)) if need[0] else None  # W is 2-D: .T is the standard's
    gW = Tensor(matmul(mT(xp, x.data), g)) if need[1] else None
    return (gx, gW) if len(f.inputs) == 2 else (gx, gW, gz_tensor)


def linear_backward(f: Linear, gy: Tensor):
    return _linear(f, gy.data, gy)


def linear_act_backward(f: LinearAct, gy: Tensor):
    g = gy.data * f.mask
    return _linear(f, g, Tensor(g))


def matmul_backward(f: MatMul, gy: Tensor):
    a, b = f.inputs
    need_a, need_b = f.needs_input_grad
    xp, g, A, B = f.xp, gy.data, a.data, b.data
    ga = Tensor(matmul(g, mT(xp, B))) if need_a else None
    gb = None
    if need_b and isinstance(b.creator, Transpose) and b.ndim == 2:
        # b = W^T (a Linear layer's recorded backward, walked again by the gradient penalty): the textbook's
        # product a^T g, copied into W's layout (its transpose made C-contiguous), so that all of W's
        # gradients add up in one memory order (adding a C-ordered and a transposed array is ~10x slower).
        # Computing (g^T a)^T directly would save the copy but not the numbers: BLAS may accumulate the
        # two products in different orders (OpenBLAS's Haswell kernels on an AVX-512 EPYC do).
        gb = Tensor(mT(xp, c_contiguous(mT(xp, matmul(mT(xp, A), g)))))
    elif need_b:
        gb = Tensor(matmul(mT(xp, A), g))
    return ga, gb


def mask_backward(f: LeakyReLU, gy: Tensor):
    return Tensor(gy.data * f.mask)


# The small ops a gradient penalty's recorded backward pass is made of, walked again without a graph: each
# computes its textbook backward's formula, operation for operation, on the arrays.

def _wrap(*arrays):
    return tuple(None if a is None else Tensor(a) for a in arrays)


def sub_backward(f: Sub, gy):
    return gy, (Tensor(-gy.data) if f.needs_input_grad[1] else None)


def mul_backward(f: Mul, gy):
    (a, b), (need_a, need_b) = f.inputs, f.needs_input_grad
    return _wrap(gy.data * b.data if need_a else None, gy.data * a.data if need_b else None)


def div_backward(f: Div, gy):
    ga = gy.data / f.inputs[1].data
    return _wrap(ga, -ga * f.outputs[0].data if f.needs_input_grad[1] else None)


def neg_backward(f: Neg, gy):
    return Tensor(-gy.data)


def pow_backward(f: Pow, gy):
    x = f.inputs[0].data
    if f.c == 0:
        return Tensor(f.xp.zeros_like(x))
    if f.c == 2:
        return Tensor(gy.data * (2 * x))
    c1 = f.c - 1
    return Tensor(gy.data * (f.c * (x * x if c1 == 2 else x ** c1)))


def sqrt_backward(f: Sqrt, gy):
    return Tensor(gy.data / (2 * f.outputs[0].data))


def tanh_backward(f: Tanh, gy):
    y = f.outputs[0].data
    return Tensor(gy.data * (1 - y * y))


def transpose_backward(f: Transpose, gy):
    inverse = [0] * len(f.axes)
    for i, a in enumerate(f.axes):
        inverse[a] = i
    return Tensor(f.xp.permute_dims(gy.data, tuple(inverse)))


def reshape_backward(f: Reshape, gy):
    return Tensor(f.xp.reshape(gy.data, f.inputs[0].shape))


def broadcast_back(f, g):
    """``g`` (reduced over f.axes) reshaped with those axes kept and broadcast back to f's input shape."""
    x = f.inputs[0]
    return f.xp.broadcast_to(f.xp.reshape(g, kept_shape(x.shape, f.axes)), x.shape)


def sum_backward(f: Sum, gy):
    return Tensor(broadcast_back(f, gy.data))


def mean_backward(f: Mean, gy):
    x = f.inputs[0]
    n = math.prod(x.shape[a] for a in f.axes)
    return Tensor(f.xp.broadcast_to(f.xp.reshape(gy.data, kept_shape(x.shape, f.axes)) * (1.0 / n), x.shape))


def max_backward(f: Max, gy):
    return Tensor(broadcast_back(f, gy.data) * f.share)


def sum_to_backward(f: SumTo, gy):
    return Tensor(f.xp.broadcast_to(gy.data, f.inputs[0].shape))


def broadcast_to_backward(f: BroadcastTo, gy):
    return gy


def norm_backward(f: Norm, gy):
    x = f.inputs[0]
    kept = kept_shape(x.shape, f.axes)
    g, y = f.xp.reshape(gy.data, kept), f.xp.reshape(f.outputs[0].data, kept)
    if f.eps == 0:
        zero = astype(y == 0, y.dtype)
        return Tensor(x.data * (g / (y + zero) * (1 - zero)))
    return Tensor(x.data * (g / y))


TABLE = {Linear: linear_backward, LinearAct: linear_act_backward, MatMul: matmul_backward,
         LeakyReLU: mask_backward, ReLU: mask_backward, Sub: sub_backward, Mul: mul_backward, Div: div_backward,
         Neg: neg_backward, Pow: pow_backward, Sqrt: sqrt_backward, Tanh: tanh_backward,
         Transpose: transpose_backward, Reshape: reshape_backward, Sum: sum_backward, Mean: mean_backward,
         Max: max_backward, SumTo: sum_to_backward, BroadcastTo: broadcast_to_backward, Norm: norm_backward}
