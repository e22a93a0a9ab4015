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
import numbers

from .. import backend, checks
from ..tensor import Function, as_tensors, data_of
from .elementwise import exp

# ---------------------------------------------------------------------------------------------------------
# Linear algebra and shapes


class MatMul(Function):
    r"""$y = a b$ (``a @ b``; 2-D, or batched over leading axes that broadcast).
    $\partial y/\partial a$: $g_a = g_y b^\top$,  $\partial y/\partial b$: $g_b = a^\top g_y$  (${}^\top$ swaps the
    last two axes).
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
    r"""$y = x W + b$, the affine map of a Linear layer, as one op (x: (..., in), W: (in, out), b: (out,)).
    $\partial y/\partial x$: $g_x = g_y W^\top$,  $\partial y/\partial W$: $g_W = x^\top g_y$,  $\partial y/\partial b$:
    $g_b = g_y$ (the graph walk sums it over the batch axes to b's shape, as for any broadcast operand).
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
    xs = as_tensors((x, W) if b is None else (x, W, b), "linear")
    checks.linear(*xs[:2], None if b is None else xs[2])
    return Linear()(*xs)


def matmul(a, b):
    """a @ b for 2-D or batched operands; a mismatch of the inner dimensions is a ValueError with both shapes."""
    a, b = as_tensors((a, b), "matmul")
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
    x, = as_tensors((x,), "transpose")
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
    checks.permutation(axes, x)
    return Transpose(axes)(x)


def matrix_transpose(x):
    """Swap the last two axes (the ``^T`` of batched matrices)."""
    x, = as_tensors((x,), "matrix_transpose")
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
    """``x`` with a new shape of as many elements (one size may be -1: the rest); anything else is a
    ValueError naming both shapes."""
    x, = as_tensors((x,), "reshape")
    shape = checks.reshaped(x.shape, shape)
    if tuple(x.shape) == shape:
        return x
    return Reshape(shape)(x)


def squeeze(x, axis=None):
    """``x`` without the axes of size 1 named by ``axis`` (an int or a tuple; all of them when None), as a
    reshape. Naming an axis whose size is not 1 is an error (the array API's rule; PyTorch's squeeze leaves
    such an axis in place silently)."""
    x, = as_tensors((x,), "squeeze")
    axes = tuple(i for i, s in enumerate(x.shape) if s == 1) if axis is None else checks.axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, not 1 (x has shape {x.shape})")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis=0):
    """``x`` with new axes of size 1 at ``axis`` (an int or a tuple of positions in the result; negative
    ones count from its end), as a reshape: PyTorch's ``unsqueeze``."""
    x, = as_tensors((x,), "expand_dims")
    ndim = x.ndim + (1 if isinstance(axis, int) else len(axis))
    axes = checks.axes(axis, ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"expand_dims: axis {axis} names one position twice (the result has {ndim} axes)")
    sizes = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(sizes) for i in range(ndim)))


def swapaxes(x, axis1: int, axis2: int):
    """``x`` with axes ``axis1`` and ``axis2`` exchanged (NumPy's swapaxes; PyTorch's transpose(dim0, dim1))."""
    x, = as_tensors((x,), "swapaxes")
    a, b = checks.axes(axis1, x.ndim)[0], checks.axes(axis2, x.ndim)[0]
    axes = list(range(x.ndim))
    axes[a], axes[b] = b, a
    return Transpose(axes)(x)


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
    x, = as_tensors((x,), "broadcast_to")
    shape = tuple(shape)
    if x.shape == shape:
        return x
    checks.broadcasts_to(x.shape, shape, "broadcast_to")
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting ``shape`` up to ``x.shape``)."""
    x, = as_tensors((x,), "sum_to")
    shape = tuple(shape)
    if x.shape == shape:
        return x
    checks.broadcasts_to(shape, x.shape, "sum_to")
    return SumTo(shape)(x)


# ---------------------------------------------------------------------------------------------------------
# Reductions


def kept_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """$y$ = sum of $x$ over ``axes``.   $dy/dx = 1$: the gradient is gy broadcast back over the summed axes."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)), x.shape)


class Mean(Function):
    """$y$ = mean of $x$ over ``axes`` ($n$ elements each).   $dy/dx = 1/n$."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        n = math.prod(x.shape[a] for a in self.axes)
        return broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)) * (1.0 / n), x.shape)


class Max(Function):
    r"""$y$ = max of $x$ over ``axes``.   $dy/dx = [x = y] / (\text{number of maxima})$: tied maxima share the
    gradient."""

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
    r"""$y = \sqrt{\sum_{\text{axes}} x^2 + \epsilon}$, the Euclidean norm.   $dy/dx = x/y$.

    ``eps`` ($\epsilon$) > 0 keeps the derivative finite at $x = 0$, where the plain norm has none; the gradient
    penalty evaluates $\|\nabla_x f(\hat x)\|_2$ (Gulrajani et al. 2017, Eq. 3) and a zero gradient must not
    produce NaN. With eps = 0 the derivative at $x = 0$ is taken as 0 (a subgradient; PyTorch's choice), not
    $0/0$.
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
        g, y = reshape(gy, kept), reshape(self.outputs[0], kept)
        if self.eps == 0:
            zero = backend.astype(y.data == 0, y.dtype)  # a constant mask: 1 where y = 0 (and so x = 0)
            return x * (g / (y + zero) * (1 - zero))
        return x * (g / y)


class LogSumExp(Function):
    r"""$y = \log \sum \exp(x)$ over ``axes``, computed as $m + \log \sum \exp(x - m)$ with $m = \max x$, so
    that no exp overflows ($m$ is replaced by 0 where it is infinite).
    $dy/dx = \exp(x - y) = \operatorname{softmax}(x)$."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = self.xp
        m = xp.max(x, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        y = xp.log(xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else xp.squeeze(y, axis=self.axes)

    def backward(self, gy):
        x = self.inputs[0]
        kept = kept_shape(x.shape, self.axes)
        return reshape(gy, kept) * exp(x - reshape(self.outputs[0], kept))


def sum(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,), "sum")
    return Sum(checks.axes(axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,), "mean")
    return Mean(checks.axes(axis, x.ndim), keepdims)(x)


def max(x, axis=None, keepdims: bool = False):
    x, = as_tensors((x,), "max")
    axes_ = checks.axes(axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes_):
        raise ValueError(f"max/min: x has shape {x.shape}; the reduced axes {axes_} must not be empty (an empty "
                         f"set has no maximum or minimum)")
    return Max(axes_, keepdims)(x)


def min(x, axis=None, keepdims: bool = False):
    """Minimum over ``axis``, as -max(-x): tied minima share the gradient, as tied maxima do (:class:`Max`)."""
    x, = as_tensors((x,), "min")
    return -max(-x, axis, keepdims)


def var(x, axis=None, *, correction=None, keepdims: bool = False):
    r"""Variance over ``axis``: $\sum (x - \operatorname{mean}(x))^2 / (N - \text{correction})$, $N$ the number of
    elements reduced.

    ``correction`` (the array API's and PyTorch's name) is required: 0 (the population variance) is the
    array API's and NumPy's default, 1 (the unbiased sample variance) PyTorch's, so a call without it would
    silently mean one of them to some reader. Its derivative,
    $2 (x - \operatorname{mean}(x)) / (N - \text{correction})$, comes from the ops it is built of.
    """
    x, = as_tensors((x,), "var")
    axes = checks.axes(axis, x.ndim)
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / _degrees_of_freedom(x, axes, correction, "var")


def std(x, axis=None, *, correction=None, keepdims: bool = False):
    r"""Standard deviation over ``axis``:
    $\sqrt{\operatorname{var}(x)} = \|x - \operatorname{mean}(x)\|_2 / \sqrt{N - \text{correction}}$ (see :func:`var`
    for ``correction``), built on :func:`norm` with eps = 0, so that its derivative at a constant $x$ (std 0) is
    0, as in PyTorch, not $0/0$."""
    x, = as_tensors((x,), "std")
    axes = checks.axes(axis, x.ndim)
    dof = _degrees_of_freedom(x, axes, correction, "std")
    return norm(x - mean(x, axes, keepdims=True), axes, keepdims, eps=0.0) / math.sqrt(dof)


def _degrees_of_freedom(x, axes, correction, op: str):
    """N - correction, checked: the divisor of :func:`var` and :func:`std`."""
    if correction is None:
        raise TypeError(f"{op}: pass correction=0 (divide by N: NumPy's and the array API's default) or "
                        f"correction=1 (divide by N - 1: PyTorch's default)")
    checks.number(correction, "correction", op)
    n = math.prod(x.shape[a] for a in axes)
    if not 0 <= correction < n:
        raise ValueError(f"{op}: correction must be >= 0 and below N = {n}, the number of elements over axes "
                         f"{axes} of shape {x.shape}; got correction={correction}")
    return n - correction


def logsumexp(x, axis=None, keepdims: bool = False):
    r"""$\log \sum \exp(x)$ over ``axis`` (all axes when None), computed stably; see :class:`LogSumExp`."""
    x, = as_tensors((x,), "logsumexp")
    return LogSumExp(checks.axes(axis, x.ndim), keepdims)(x)


def log_softmax(x, axis: int = -1):
    r"""$\log \operatorname{softmax}(x)_k = d_k - \log \sum_j \exp(d_j)$ along ``axis``, with $d = x - \max(x)$ taken
    as a constant (log softmax does not change under a shift): no exp overflows, and $d$ keeps every digit of
    $x$'s gaps."""
    x, = as_tensors((x,), "log_softmax")
    d = x - max(x, axis, keepdims=True).detach()
    return d - logsumexp(d, axis, keepdims=True)


def softmax(x, axis: int = -1):
    r"""$\operatorname{softmax}(x)_k = \exp(x_k) / \sum_j \exp(x_j)$ along ``axis``, as ``exp(log_softmax(x))``:
    never overflows."""
    return exp(log_softmax(x, axis))


def norm(x, axis=None, keepdims: bool = False, eps: float = 1e-12):
    """Euclidean norm over ``axis`` (all axes when None), smoothed by ``eps`` at zero; see :class:`Norm`."""
    x, = as_tensors((x,), "norm")
    if eps < 0:
        raise ValueError(f"norm: eps must be >= 0; got {eps}")
    return Norm(checks.axes(axis, x.ndim), keepdims, eps)(x)


# ---------------------------------------------------------------------------------------------------------
# Indexing, joining


class GetItem(Function):
    """y = x[index] for a basic index (ints, slices, None, Ellipsis; ``axis`` None), or y = take(x, index,
    axis) for a 1-D integer array ``index`` along ``axis``. The gradient scatters gy back into zeros of x's
    shape (:class:`GetItemGrad`)."""

    def __init__(self, index, axis=None):
        self.index, self.axis = index, axis

    def forward(self, x):
        if self.axis is None:
            return x[self.index]
        return self.xp.take(x, self.index, axis=self.axis)

    def backward(self, gy):
        return GetItemGrad(self.index, self.axis, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """The adjoint of indexing: zeros of ``shape`` with gy added at ``index`` (repeated indices add up).
    Its own gradient is indexing again."""

    def __init__(self, index, axis, shape):
        self.index, self.axis, self.shape = index, axis, tuple(shape)

    def forward(self, gy):
        xp = self.xp
        if self.axis is None:
            gx = xp.zeros(self.shape, dtype=gy.dtype)
            gx[self.index] = gy
            return gx
        # Scatter-add as a matmul with a one-hot matrix: the array API has no `add.at`, and repeated indices
        # must add up. onehot[i, k] = 1 when index[k] == i; the indexed axis is moved first and back.
        n = self.shape[self.axis]
        onehot = backend.astype(xp.reshape(xp.arange(n), (n, 1)) == xp.reshape(self.index, (1, -1)), gy.dtype)
        g = xp.moveaxis(gy, self.axis, 0)
        gx = xp.matmul(onehot, xp.reshape(g, (g.shape[0], -1)))
        return xp.moveaxis(xp.reshape(gx, (n,) + tuple(g.shape[1:])), 0, self.axis)

    def backward(self, ggx):
        return GetItem(self.index, self.axis)(ggx)


def getitem(x, index):
    """``x[index]`` for

    * a basic index: ints, slices, None, Ellipsis;
    * one 1-D integer array (or list) among slices, selecting along its axis: ``x[idx]``, ``x[:, idx]``;
    * 1-D integer arrays of one length in the leading positions, one element each, as NumPy reads them:
      ``x[arange(n), labels]`` is the labelled entry of each row (a classifier's loss picks its logits so).

    Negative values count from the end, as in NumPy; values outside ``[-n, n)`` are an ``IndexError`` on every
    backend. The gradient's scatter is a one-hot matmul whose matrix has (length of the indexed axis) x
    (number of indices) entries."""
    x, = as_tensors((x,), "getitem")
    parts = tuple(x.xp.asarray(p) if isinstance(p, list) else int(p) if _integer(p) else data_of(p)
                  for p in (index if isinstance(index, tuple) else (index,)))
    arrays = [k for k, p in enumerate(parts) if backend.is_array_index(p)]
    if not arrays:
        return GetItem(backend.canonical_index(parts, x.data))(x)
    if len([p for p in parts if p is not Ellipsis and p is not None]) > x.ndim:
        raise IndexError(f"getitem: {len(parts)} indices for a {x.ndim}-d tensor of shape {x.shape}")
    if len(arrays) == len(parts):
        return _pick(x, parts)
    k = arrays[0]
    if len(arrays) > 1 or not all(p is Ellipsis or isinstance(p, slice) for i, p in enumerate(parts) if i != k):
        raise TypeError("getitem: an integer array goes with slices (x[:, idx], one array) or with other "
                        "arrays alone (x[rows, cols]), not with ints, None or a second array among slices; "
                        "index in two steps")
    axis = x.ndim - (len(parts) - k) if any(p is Ellipsis for p in parts[:k]) else k
    basic = tuple(slice(None) if i == k else p for i, p in enumerate(parts))
    if any(p is not Ellipsis and p != slice(None) for p in basic):
        x = getitem(x, basic)  # the slices first, then the array along its axis
    return GetItem(backend.checked_index(parts[k], x.shape[axis], x.data, axis), axis)(x)


def _integer(p) -> bool:
    """An integer that is not an array or a bool (numpy.int64 from an argmax, say): an index like a Python int."""
    return isinstance(p, numbers.Integral) and not isinstance(p, bool)


def _pick(x, arrays):
    """``x[i0, i1, ...]`` for 1-D integer arrays of one length: x reshaped to (n0 * n1 * ..., rest) indexed
    along axis 0 by the flat (C-order) positions of the pairs ``(i0[j], i1[j], ...)`` (so the gradient's one-hot
    matrix has n0 * n1 * ... rows: fine for a batch of logits, not for a large table)."""
    index = [backend.astype(backend.checked_index(i, x.shape[a], x.data, a), x.xp.int64) for a, i in enumerate(arrays)]
    lengths = [int(i.shape[0]) for i in index]
    if len(set(lengths)) > 1:
        raise IndexError(f"getitem: the index arrays must have one length; got lengths {lengths}")
    flat = index[0]
    for a in range(1, len(index)):
        flat = flat * x.shape[a] + index[a]
    k = len(index)
    return GetItem(flat, 0)(reshape(x, (math.prod(x.shape[:k]),) + x.shape[k:]))


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
    xs = as_tensors(tuple(xs), "concatenate")
    axis = checks.axes(axis, xs[0].ndim)[0] if xs else 0
    checks.joinable(xs, axis, "concatenate")
    return Concatenate(axis)(*xs)


def stack(xs, axis: int = 0):
    xs = as_tensors(tuple(xs), "stack")
    checks.joinable(xs, None, "stack")
    return Stack(checks.axes(axis, xs[0].ndim + 1)[0])(*xs)
