"""No-graph backward passes of the hot ops: the same formulas as their textbook ``backward``, on raw arrays.

When the walk records no graph (a plain ``loss.backward()``, or the last walk of a gradient penalty), a
textbook backward still pays the Python cost of the Tensor ops it is written with (~3 us each) only to
throw the graph away. These compute the same products on the arrays and wrap each result once. Registered
in :data:`tinywgan.engine.backprop.NO_GRAPH_BACKWARD` by :func:`tinywgan.fast.enable`.
"""
from __future__ import annotations

from ..engine.ops import LeakyReLU, Linear, MatMul, ReLU, Transpose
from ..engine.tensor import Tensor
from .fused import LinearAct
from .kernels import matmul, mT


def _linear(f, g, gz_tensor):
    """(gx, gW[, gb]) of ``x @ W + b`` from the raw gradient ``g`` at its output (gz_tensor: g as a Tensor)."""
    x, W = f.inputs[0], f.inputs[1]
    need, xp = f.needs_input_grad, f.xp
    gx = Tensor(matmul(xp, g, W.data.T)) if need[0] else None  # W is 2-D: .T is the standard's
    gW = Tensor(matmul(xp, mT(xp, x.data), g)) if need[1] else None
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
    ga = Tensor(matmul(xp, g, mT(xp, B))) if need_a else None
    gb = None
    if need_b and isinstance(b.creator, Transpose) and b.ndim == 2:
        # b = W^T (a Linear layer's recorded backward, walked again by the gradient penalty): compute the
        # gradient in W's layout, (g^T a)^T, so that all of W's gradients add up in one memory order
        # (adding a C-ordered and a transposed array is ~10x slower). Same FLOPs, same numbers.
        gb = Tensor(mT(xp, matmul(xp, mT(xp, g), A)))
    elif need_b:
        gb = Tensor(matmul(xp, mT(xp, A), g))
    return ga, gb


def mask_backward(f: LeakyReLU, gy: Tensor):
    return Tensor(gy.data * f.mask)


TABLE = {Linear: linear_backward, LinearAct: linear_act_backward, MatMul: matmul_backward,
         LeakyReLU: mask_backward, ReLU: mask_backward}
