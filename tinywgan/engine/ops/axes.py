"""Ops along axes: linear algebra, shapes, reductions, indexing and joining.

The ops of :mod:`tinywgan.engine.ops.elementwise` act element by element; each op here moves, combines or
selects elements along axes, so in general its output's shape is not its input's: matmul and the affine map
of a Linear layer, transpose and reshape, broadcast_to and its adjoint sum_to (with which the graph walk
undoes broadcasting), sum, mean, max and norm, indexing, concatenate and stack.

The conventions are the elementwise ops': ``forward`` works on raw arrays and calls only array API standard
functions; ``backward`` is written with Tensor ops, so it can be differentiated again.
"""
from __future__ import annotations

import math

from .. import backend, checks
from ..tensor import Function, as_tensors, data_of

# ---------------------------------------------------------------------------------------------------------
# Linear algebra and shapes


class MatMul(Function):
    """y = a @ b (2-D, or batched over leading axes that broadcast).
    dy/da: ga = gy @ b^T,  dy/db: gb = a^T @ gy  (^T swaps the last two axes).
    """

    def forward(self, a, b):
        return backend.matmul(a, b)  # xp.matmul, broadcast views made compact for BLAS

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        ga = matmul(gy, matrix_transpose(b)) if need_a else None
        gb = matmul(matrix_transpose(a), gy) if need_b else None
        return ga, gb


class Linear(Function):
    """y = x @ W + b, the affine map of a Linear layer, as one op (x: (..., in), W: (in, out), b: (out,)).
    dy/dx = gy @ W^T,  dy/dW = x^T @ gy,  dy/db = gy (the graph walk sums it over the batch axes to b's
    shape, as for any broadcast operand).
    """

    def forward(self, x, W, b=None):
        y = backend.matmul(x, W)
        return y if b is None else y + b

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = matmul(gy, matrix_transpose(W)) if need[0] else None
        gW = matmul(matrix_transpose(x), gy) if need[1] else None
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gy)


def linear(x, W, b=None):
    """x @ W + b (b optional) as one differentiable op; shapes are checked like :func:`matmul`'s."""
    xs = as_tensors((x, W) if b is None else (x, W, b))
    checks.linear(*xs[:2], None if b is None else xs[2])
    return Linear()(*xs)


def matmul(a, b):
    """a @ b for 2-D or batched operands; a mismatch of the inner dimensions is a ValueError with both shapes."""
    a, b = as_tensors((a, b))
    checks.matmul(a, b)
    return MatMul()(a, b)


class Transpose(Function):
    """y = x with its axes permuted.   The gradient is permuted back by the inverse permutation."""

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, x):
        return self.xp.permute_dims(x, self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return transpose(gy, inverse)


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    x, = as_tensors((x,))
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
    checks.permutation(axes, x)
    return Transpose(axes)(x)


def matrix_transpose(x):
    """Swap the last two axes (the ``^T`` of batched matrices)."""
    x, = as_tensors((x,))
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return Transpose(axes)(x)


class Reshape(Function):
    """y = x with a new shape (same elements, C order).   The gradient is reshaped back."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return self.xp.reshape(x, self.shape)

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def reshape(x, shape):
    x, = as_tensors((x,))
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return Reshape(shape)(x)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes.   The gradient is summed back to x's shape by the graph walk."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy  # the graph walk sums it to x's shape (sum_to), as it does for every op


class SumTo(Function):
    """y = x summed over the axes that broadcasting added or stretched, so that y.shape == shape.
    The gradient is gy broadcast back to x's shape: sum_to and broadcast_to are each other's adjoints."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return sum_to_array(self.xp, x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def sum_to_array(xp, x, shape):
    """The raw-array sum_to: ``x`` summed over the axes that broadcasting added (the leading ones) or
    stretched (size 1 in ``shape``)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    y = xp.sum(x, axis=axes, keepdims=True) if axes else x
    if lead:
        y = xp.reshape(y, shape)
    return y


def broadcast_to(x, shape):
    x, = as_tensors((x,))
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting ``shape`` up to ``x.shape``)."""
    x, = as_tensors((x,))
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


# ---------------------------------------------------------------------------------------------------------
# Reductions


def kept_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axes``.   dy/dx = 1: the gradient is gy broadcast back over the summed axes."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)), x.shape)


class Mean(Function):
    """y = mean of x over ``axes`` (n elements each).   dy/dx = 1/n."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        n = math.prod(x.shape[a] for a in self.axes)
        return broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)) * (1.0 / n), x.shape)


class Max(Function):
    """y = max of x over ``axes``.   dy/dx = [x == y] / (number of maxima): tied maxima share the gradient."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = self.xp
        y = xp.max(x, axis=self.axes, keepdims=True)
        mask = backend.astype(x == y, x.dtype)
        self.share = mask / xp.sum(mask, axis=self.axes, keepdims=True)
        return y if self.keepdims else xp.reshape(y, tuple(s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)), x.shape) * self.share


class Norm(Function):
    """y = sqrt(sum(x**2 over axes) + eps), the Euclidean norm.   dy/dx = x / y.

    ``eps`` > 0 keeps the derivative finite at x = 0, where the plain norm has none; the gradient penalty
    evaluates ||grad_x f(x_hat)|| (Gulrajani et al. 2017, Eq. 3) and a zero gradient must not produce NaN.
    """

    def __init__(self, axes, keepdims, eps):
        self.axes, self.keepdims, self.eps = axes, keepdims, eps

    def forward(self, x):
        xp = self.xp
        y = xp.sqrt(xp.sum(x * x, axis=self.axes, keepdims=self.keepdims) + self.eps)
        return y

    def backward(self, gy):
        x = self.inputs[0]
        kept = kept_shape(x.shape, self.axes)
        return x * (reshape(gy, kept) / reshape(self.outputs[0], kept))


def sum(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,))
    return Sum(checks.axes(axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,))
    return Mean(checks.axes(axis, x.ndim), keepdims)(x)


def max(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,))
    return Max(checks.axes(axis, x.ndim), keepdims)(x)


def norm(x, axis=None, keepdims: bool = False, eps: float = 1e-12):
    """Euclidean norm over ``axis`` (all axes when None), smoothed by ``eps`` at zero; see :class:`Norm`."""
    x, = as_tensors((x,))
    if eps < 0:
        raise ValueError(f"norm: eps must be >= 0; got {eps}")
    return Norm(checks.axes(axis, x.ndim), keepdims, eps)(x)


# ---------------------------------------------------------------------------------------------------------
# Indexing, joining


class GetItem(Function):
    """y = x[index] for basic indices (ints, slices, None, Ellipsis) or one integer array along axis 0.
    The gradient scatters gy back into zeros of x's shape (:class:`GetItemGrad`)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        if backend.is_array_index(self.index):
            return self.xp.take(x, self.index, axis=0)
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """The adjoint of indexing: zeros of ``shape`` with gy added at ``index`` (repeated indices add up).
    Its own gradient is indexing again."""

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, gy):
        xp = self.xp
        if backend.is_array_index(self.index):
            # Scatter-add as a matmul with a one-hot matrix: the array API has no `add.at`, and repeated
            # indices must add up. onehot[i, k] = 1 when index[k] == i.
            n = self.shape[0]
            onehot = backend.astype(xp.reshape(xp.arange(n), (n, 1)) == xp.reshape(self.index, (1, -1)),
                                    gy.dtype)
            flat = xp.reshape(gy, (gy.shape[0], -1))
            return xp.reshape(xp.matmul(onehot, flat), self.shape)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        gx[self.index] = gy
        return gx

    def backward(self, ggx):
        return getitem(ggx, self.index)


def getitem(x, index):
    """``x[index]``: basic indexing (ints, slices, None, ...) or a 1-D integer array selecting along axis 0
    (negative values count from the end, as in NumPy; values outside ``[-n, n)`` are an ``IndexError`` on
    every backend)."""
    x, = as_tensors((x,))
    return GetItem(backend.canonical_index(data_of(index), x.data))(x)


class Concatenate(Function):
    """y = the inputs joined along ``axis``.   Each input's gradient is its slice of gy."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return self.xp.concat(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x in self.inputs:
            stop = start + x.shape[self.axis]
            grads.append(getitem(gy, (slice(None),) * self.axis + (slice(start, stop), Ellipsis)))
            start = stop
        return tuple(grads)


class Stack(Function):
    """y = the inputs stacked along a new ``axis``.   Input i's gradient is gy taken at position i of axis."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return self.xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(getitem(gy, (slice(None),) * self.axis + (i, Ellipsis)) for i in range(len(self.inputs)))


def concatenate(xs, axis: int = 0):
    xs = as_tensors(tuple(xs))
    axis = checks.axes(axis, xs[0].ndim)[0] if xs else 0
    checks.joinable(xs, axis, "concatenate")
    return Concatenate(axis)(*xs)


def stack(xs, axis: int = 0):
    xs = as_tensors(tuple(xs))
    checks.joinable(xs, None, "stack")
    return Stack(checks.axes(axis, xs[0].ndim + 1)[0])(*xs)
