"""Linear + ReLU/LeakyReLU as one op, and a Sequential that uses it.

A Linear layer followed by a ReLU or LeakyReLU costs two graph nodes and two arrays: ``z = x @ W + b``, then
``y = z * m`` with ``m = phi'(z)``. :class:`LinearAct` computes the same numbers, operation for operation, as
one node: the bias is added into the product's own array and the activation is written into it too
(``z`` is nobody else's: the op made it). :func:`sequential_forward` is what ``nn.Sequential.forward`` runs
while the speed layer is on: it runs each exact ``nn.Linear`` followed by an exact ``nn.ReLU`` /
``nn.LeakyReLU`` as one LinearAct (subclasses, which may compute something else, run one by one).
"""
from __future__ import annotations

from .. import nn
from ..engine import backend
from ..engine import ops as F
from ..engine.tensor import Function, as_tensors


class LinearAct(Function):
    """y = phi(x @ W + b) with phi = ReLU (slope 0) or LeakyReLU (slope > 0): ``y = z * m``, ``m = phi'(z)``.
    dy/dz = m, a constant mask; then as :class:`tinywgan.engine.ops.Linear`: gx = gz @ W^T, gW = x^T @ gz,
    gb = gz with gz = gy * m.
    """

    def __init__(self, slope: float):
        self.slope = slope

    def __call__(self, *inputs):
        out = super().__call__(*inputs)
        if out.creator is self:  # it stands for two ops, Linear then the activation: the graph walk then
            out.generation += 1  # visits everything in the same order as with the two (the same sums)
        return out

    def forward(self, x, W, b=None):
        z = backend.matmul(x, W)
        if b is not None and b.dtype == z.dtype:
            z += b  # into the product's own array
        elif b is not None:
            z = z + b  # a wider bias promotes, as in the textbook op
        self.mask = slope_mask(z, self.slope)
        z *= self.mask
        return z

    def backward(self, gy):  # with Tensor ops, for create_graph (the gradient penalty's first walk)
        x, W = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gz = gy * self.mask
        gx = F.matmul(gz, F.matrix_transpose(W)) if need[0] else None
        gW = F.matmul(F.matrix_transpose(x), gz) if need[1] else None
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gz)


def slope_mask(x, slope: float):
    """``phi'(x)`` of ReLU (``slope = 0``) or LeakyReLU as an array of x's dtype: 1 where x > 0, else
    ``slope``, the textbook LeakyReLU's mask computed in place: ``[x > 0]`` written straight into a float array
    (:func:`tinywgan.engine.backend.positive_mask`), then scaled and shifted without new arrays."""
    m = backend.positive_mask(x)
    if slope:
        m *= 1 - slope
        m += slope
    return m


def linear_act(x, W, b, slope: float):
    """phi(x @ W + b) as one op (:class:`LinearAct`); the shapes are those of :func:`tinywgan.engine.ops.linear`."""
    if b is None:
        return LinearAct(float(slope))(*as_tensors((x, W)))
    return LinearAct(float(slope))(*as_tensors((x, W, b)))


def sequential_forward(self: nn.Sequential, x):
    """``nn.Sequential.forward`` with each exact Linear + ReLU/LeakyReLU pair run as one :class:`LinearAct`."""
    layers = list(self)
    k = 0
    while k < len(layers):
        m, after = layers[k], layers[k + 1] if k + 1 < len(layers) else None
        if type(m) is nn.Linear and type(after) in (nn.ReLU, nn.LeakyReLU):
            m.check_input(x)
            x = linear_act(x, m.weight, m.bias, after.slope)
            k += 2
        else:
            x = m(x)
            k += 1
    return x
