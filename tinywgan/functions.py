"""Differentiable operations: one small :class:`Function` subclass per op, plus a lowercase wrapper.

Every ``forward`` works on raw arrays of the namespace ``self.xp`` and calls only functions of the array API
standard. Every ``backward`` is written with Tensor ops, so the gradient it returns can be differentiated
again (``create_graph=True``). Derivatives that are constant almost everywhere (the masks of ReLU, LeakyReLU,
clip, abs, max) enter the backward pass as constant arrays: double backprop through them builds no graph for
their (zero) derivative.

Broadcasting: binary ops broadcast their operands as the array API does; the graph walk in autograd.py sums
each gradient back to its input's shape, so no backward below un-broadcasts by hand.

Speed: the ops that every training step runs through most (Linear, MatMul, ReLU, LeakyReLU) have a second,
array-level path in ``backward`` for when no graph is being recorded (a plain ``backward()``, or the last
walk of a gradient penalty): the same formulas on raw arrays, wrapped once, which skips the Python cost
(~3 us each) of the Tensor ops a recorded backward must build. The tests check both paths.
"""
from __future__ import annotations

from . import backend
from .autograd import Function, Tensor, _as_tensors, _wrap, is_grad_enabled

# ---------------------------------------------------------------------------------------------------------
# Arithmetic


class Add(Function):
    """y = a + b.   dy/da = 1, dy/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """y = a - b.   dy/da = 1, dy/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b.   dy/da = b, dy/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (gy * b if need_a else None), (gy * a if need_b else None)


class Div(Function):
    """y = a / b.   dy/da = 1 / b, dy/db = -a / b**2 = -y / b."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        gb = -ga * self.outputs[0] if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = -x.   dy/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x**c for a constant number c.   dy/dx = c * x**(c - 1)."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return x * x if self.c == 2 else x ** self.c

    def backward(self, gy):
        x, = self.inputs
        if self.c == 2:
            return gy * (2 * x)
        return gy * (self.c * pow(x, self.c - 1))


def add(a, b):
    return Add()(a, b)


def sub(a, b):
    return Sub()(a, b)


def mul(a, b):
    return Mul()(a, b)


def div(a, b):
    return Div()(a, b)


def neg(x):
    return Neg()(x)


def pow(x, c):
    """x**c with a constant exponent ``c`` (a Python number)."""
    if isinstance(c, bool) or not isinstance(c, (int, float)):
        raise TypeError(f"pow: the exponent must be a Python number; got {type(c).__name__}")
    return Pow(c)(x)


# ---------------------------------------------------------------------------------------------------------
# Elementwise functions


class Exp(Function):
    """y = exp(x).   dy/dx = y."""

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy):
        return gy * self.outputs[0]


class Log(Function):
    """y = log(x).   dy/dx = 1 / x."""

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x).   dy/dx = 1 / (2 y)."""

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.outputs[0])


class Abs(Function):
    """y = |x|.   dy/dx = sign(x) (a constant almost everywhere; 0 at x = 0)."""

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, gy):
        return gy * self.xp.sign(self.inputs[0].data)


class Tanh(Function):
    """y = tanh(x).   dy/dx = 1 - y**2."""

    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, gy):
        y = self.outputs[0]
        return gy * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)).   dy/dx = y (1 - y).

    Computed from e = exp(-|x|), which never overflows: y = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.
    The second form keeps full relative precision for very negative x, where 1 - 1/(1 + exp(-x)) would round
    to 0 (a saturated GAN discriminator lives there).
    """

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        y = self.outputs[0]
        return gy * (y * (1 - y))


class ReLU(Function):
    """y = max(x, 0) = x * [x > 0].   dy/dx = [x > 0], a constant mask.

    The mask is built once, as a float array, and reused: ``[x > 0]`` written into a float array
    (:func:`tinywgan.backend.positive_mask`) and multiplied is many times faster on NumPy than
    ``maximum(x, 0)`` or ``where(x > 0, x, 0)`` with a scalar. ``inplace``: multiply into x's own array.
    """

    def __init__(self, inplace: bool = False):
        self.inplace = inplace

    def forward(self, x):
        self.mask = backend.positive_mask(x)
        if self.inplace:
            x *= self.mask
            return x
        return x * self.mask

    def backward(self, gy):
        if not is_grad_enabled():
            return _wrap(gy.data * self.mask)
        return gy * self.mask


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x.   dy/dx = 1 or slope, a constant mask (Maas et al. 2013)."""

    def __init__(self, slope: float, inplace: bool = False):
        self.slope, self.inplace = slope, inplace

    def forward(self, x):
        m = backend.positive_mask(x)
        m *= 1 - self.slope
        m += self.slope
        self.mask = m
        if self.inplace:
            x *= m
            return x
        return x * m

    def backward(self, gy):
        if not is_grad_enabled():
            return _wrap(gy.data * self.mask)
        return gy * self.mask


class Softplus(Function):
    """y = log(1 + exp(x)), computed stably as max(x, 0) + log(1 + exp(-|x|)).   dy/dx = sigmoid(x)."""

    def forward(self, x):
        xp = self.xp
        return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class LogSigmoid(Function):
    """y = log sigmoid(x) = -softplus(-x), computed stably.   dy/dx = sigmoid(-x) = 1 - sigmoid(x).

    The vanilla GAN losses are written with it: -log D(x) = -log_sigmoid(logit).
    """

    def forward(self, x):
        xp = self.xp
        return xp.minimum(x, xp.zeros_like(x)) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(-self.inputs[0])


class Clip(Function):
    """y = min(max(x, low), high).   dy/dx = [low < x < high], a constant mask."""

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def forward(self, x):
        self.mask = backend.astype((x > self.low) & (x < self.high), x.dtype)
        return self.xp.clip(x, self.low, self.high)

    def backward(self, gy):
        return gy * self.mask


class Maximum(Function):
    """y = max(a, b) elementwise.   dy/da = [a >= b], dy/db = [a < b] (ties go to a)."""

    def forward(self, a, b):
        self.mask = backend.astype(a >= b, a.dtype)
        return self.xp.maximum(a, b)

    def backward(self, gy):
        return gy * self.mask, gy * (1 - self.mask)


class Minimum(Function):
    """y = min(a, b) elementwise.   dy/da = [a <= b], dy/db = [a > b] (ties go to a)."""

    def forward(self, a, b):
        self.mask = backend.astype(a <= b, a.dtype)
        return self.xp.minimum(a, b)

    def backward(self, gy):
        return gy * self.mask, gy * (1 - self.mask)


class Where(Function):
    """y = a where condition else b, for a constant boolean ``condition``.
    dy/da = [condition], dy/db = [not condition]."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return self.xp.where(self.condition, a, b)

    def backward(self, gy):
        m = backend.astype(self.condition, gy.dtype)
        return gy * m, gy * (1 - m)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def sqrt(x):
    return Sqrt()(x)


def abs(x):
    return Abs()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x, inplace: bool = False):
    """max(x, 0). ``inplace=True`` writes the result into x's array, as PyTorch's ``ReLU(inplace=True)``
    does, saving an array per layer. It is taken only when x comes straight from a linear op (see
    :func:`can_overwrite`), else the result is a new array; that x feeds no other op is the caller's
    promise (there is no version counter to catch it, as PyTorch's would): if it does, that op's gradient
    and anyone holding x see relu(x)."""
    return ReLU(inplace and can_overwrite(x))(x)


def leaky_relu(x, slope: float = 0.2, inplace: bool = False):
    """LeakyReLU with negative ``slope`` (0.2 in the DCGAN and WGAN-GP critics); ``inplace`` as for
    :func:`relu`."""
    return LeakyReLU(slope, inplace and can_overwrite(x))(x)


def can_overwrite(x) -> bool:
    """Whether an activation may write into x's array: x is the output of a linear op (:class:`Linear`,
    :class:`MatMul`), whose backward reads its inputs but never its output, and so does the activation's
    (it keeps its mask). The engine has no version counter: that x feeds no other op is the caller's promise,
    which :class:`tinywgan.nn.MLP` can make for the Linear outputs it makes itself."""
    return isinstance(x, Tensor) and isinstance(x.creator, (Linear, MatMul))


def softplus(x):
    return Softplus()(x)


def log_sigmoid(x):
    return LogSigmoid()(x)


def clip(x, low: float, high: float):
    """x clipped into [low, high]; the gradient is 0 outside (Arjovsky et al. 2017 clip the *weights* with
    :func:`tinywgan.lipschitz.clip_weights`, which acts on the arrays, not on the graph)."""
    if not low <= high:
        raise ValueError(f"clip: low must be <= high; got low={low}, high={high}")
    return Clip(low, high)(x)


def maximum(a, b):
    return Maximum()(a, b)


def minimum(a, b):
    return Minimum()(a, b)


def where(condition, a, b):
    """Elementwise choice by a constant boolean mask (an array, or a comparison of tensors)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where(condition)(a, b)


# ---------------------------------------------------------------------------------------------------------
# Linear algebra and shapes


def _matmul(xp, a, b):
    """a @ b on arrays. An inner dimension of 1 makes an outer product, done by broadcasting: BLAS runs a
    k = 1 matmul about 100x under its peak, and the critic's 1-unit output layer meets one in every
    backward pass. Broadcast views are made compact first (BLAS cannot read zero strides)."""
    if a.shape[-1] == 1:
        return a * b
    return xp.matmul(backend.dense(a), backend.dense(b))


class MatMul(Function):
    """y = a @ b (2-D, or batched over leading axes that broadcast).
    dy/da: ga = gy @ b^T,  dy/db: gb = a^T @ gy  (^T swaps the last two axes).
    """

    def forward(self, a, b):
        return _matmul(self.xp, a, b)

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        if not is_grad_enabled():  # the same products on raw arrays
            xp, g, A, B = self.xp, gy.data, a.data, b.data
            ga = _wrap(_matmul(xp, g, xp.matrix_transpose(B))) if need_a else None
            if need_b and isinstance(b.creator, Transpose) and b.ndim == 2:  # W's layout, as below
                gb = _wrap(xp.matrix_transpose(_matmul(xp, xp.matrix_transpose(g), A)))
            else:
                gb = _wrap(_matmul(xp, xp.matrix_transpose(A), g)) if need_b else None
            return ga, gb
        ga = matmul(gy, matrix_transpose(b)) if need_a else None
        gb = None
        if need_b:
            if isinstance(b.creator, Transpose) and b.ndim == 2:
                # b = W^T (a Linear layer's backward pass, recorded for double backprop): compute the
                # gradient in W's layout, (gy^T a)^T, so that W's gradients all add up in one memory order
                # (mixing C and transposed operands makes that addition ~10x slower). Same FLOPs.
                gb = matrix_transpose(matmul(matrix_transpose(gy), a))
            else:
                gb = matmul(matrix_transpose(a), gy)
        return ga, gb


class Linear(Function):
    """y = x @ W + b, the affine map of a Linear layer, as one op (x: (..., in), W: (in, out), b: (out,)).
    dy/dx = gy @ W^T,  dy/dW = x^T @ gy,  dy/db = gy summed over all axes but the last (the graph walk
    sums it to b's shape, as for any broadcast operand).

    One op instead of a matmul and an add: the bias is added in place into the product, and the graph
    has half the nodes.
    """

    def forward(self, x, W, b=None):
        y = _matmul(self.xp, x, W)
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        if not is_grad_enabled():  # the same products on raw arrays
            xp, g = self.xp, gy.data
            gx = _wrap(_matmul(xp, g, xp.matrix_transpose(W.data))) if need[0] else None
            gW = _wrap(_matmul(xp, xp.matrix_transpose(x.data), g)) if need[1] else None
        else:
            gx = matmul(gy, matrix_transpose(W)) if need[0] else None
            gW = matmul(matrix_transpose(x), gy) if need[1] else None
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gy)


def linear(x, W, b=None):
    """x @ W + b (b optional) as one differentiable op; shapes are checked like :func:`matmul`'s."""
    x, W = _as_tensors((x, W))
    if W.ndim != 2 or x.ndim < 2 or x.data.shape[-1] != W.data.shape[0]:
        raise ValueError(f"linear: x has shape {x.shape} and W has shape {W.shape}; W must be 2-D with as "
                         f"many rows as x's last axis")
    if b is None:
        return Linear()(x, W)
    b, = _as_tensors((b,))
    if b.shape != (W.shape[1],):
        raise ValueError(f"linear: b has shape {b.shape}; expected ({W.shape[1]},) for W of shape {W.shape}")
    return Linear()(x, W, b)


def matmul(a, b):
    """a @ b for 2-D or batched operands; a mismatch of the inner dimensions is a ValueError with both shapes."""
    a, b = _as_tensors((a, b))
    sa, sb = a.data.shape, b.data.shape
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError(f"matmul needs operands with at least 2 axes; got shapes {a.shape} and {b.shape}")
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: a has shape {a.shape} and b has shape {b.shape}; a's last axis "
                         f"({a.shape[-1]}) must equal b's second-to-last ({b.shape[-2]})")
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
    x, = _as_tensors((x,))
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} is not a permutation of the {x.ndim} axes of {x.shape}")
    return Transpose(axes)(x)


def matrix_transpose(x):
    """Swap the last two axes (the ``^T`` of batched matrices)."""
    x, = _as_tensors((x,))
    if x.data.ndim == 2:
        return Transpose((1, 0))(x)
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
    x, = _as_tensors((x,))
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
        return gy  # autograd._backprop sums it to x's shape (sum_to), as it does for every op


class SumTo(Function):
    """y = x summed over the axes that broadcasting added or stretched, so that y.shape == shape.
    The gradient is gy broadcast back to x's shape: sum_to and broadcast_to are each other's adjoints."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = self.xp.sum(x, axis=axes, keepdims=True) if axes else x
        if lead:
            y = self.xp.reshape(y, self.shape)
        return y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x, shape):
    x, = _as_tensors((x,))
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting ``shape`` up to ``x.shape``)."""
    x, = _as_tensors((x,))
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


# ---------------------------------------------------------------------------------------------------------
# Reductions


def _normalize_axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
    return tuple(sorted(a % ndim for a in axes))


def _kept_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """y = sum of x over ``axes``.   dy/dx = 1: the gradient is gy broadcast back over the summed axes."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, _kept_shape(x.shape, self.axes)), x.shape)


class Mean(Function):
    """y = mean of x over ``axes`` (n elements each).   dy/dx = 1/n."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return self.xp.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        n = 1
        for a in self.axes:
            n *= x.shape[a]
        return broadcast_to(reshape(gy, _kept_shape(x.shape, self.axes)) * (1.0 / n), x.shape)


class Max(Function):
    """y = max of x over ``axes``.   dy/dx = [x == y] / (number of maxima): tied maxima share the gradient."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = self.xp
        y = xp.max(x, axis=self.axes, keepdims=True)
        mask = backend.astype(x == y, x.dtype)
        self.share = mask / xp.sum(mask, axis=self.axes, keepdims=True)
        return y if self.keepdims else xp.reshape(y, tuple(
            s for i, s in enumerate(x.shape) if i not in self.axes))

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(reshape(gy, _kept_shape(x.shape, self.axes)), x.shape) * self.share


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
        kept = _kept_shape(x.shape, self.axes)
        return x * (reshape(gy, kept) / reshape(self.outputs[0], kept))


def sum(x, axis=None, keepdims: bool = False):
    x, = _as_tensors((x,))
    return Sum(_normalize_axes(axis, x.ndim), keepdims)(x)


def mean(x, axis=None, keepdims: bool = False):
    x, = _as_tensors((x,))
    return Mean(_normalize_axes(axis, x.ndim), keepdims)(x)


def max(x, axis=None, keepdims: bool = False):
    x, = _as_tensors((x,))
    return Max(_normalize_axes(axis, x.ndim), keepdims)(x)


def norm(x, axis=None, keepdims: bool = False, eps: float = 1e-12):
    """Euclidean norm over ``axis`` (all axes when None), smoothed by ``eps`` at zero; see :class:`Norm`."""
    x, = _as_tensors((x,))
    if eps < 0:
        raise ValueError(f"norm: eps must be >= 0; got {eps}")
    return Norm(_normalize_axes(axis, x.ndim), keepdims, eps)(x)


# ---------------------------------------------------------------------------------------------------------
# Indexing, joining


class GetItem(Function):
    """y = x[index] for basic indices (ints, slices, None, Ellipsis) or one integer array along axis 0.
    The gradient scatters gy back into zeros of x's shape (:class:`GetItemGrad`)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        if _is_array_index(self.index):
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
        if _is_array_index(self.index):
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


def _is_array_index(index) -> bool:
    return not isinstance(index, (int, slice, tuple, type(None), type(Ellipsis)))


def getitem(x, index):
    """``x[index]``: basic indexing (ints, slices, None, ...) or a 1-D integer array selecting along axis 0."""
    x, = _as_tensors((x,))
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        index = x.xp.asarray(index)
    if _is_array_index(index):
        if index.ndim != 1 or _not_integer(index):
            raise TypeError(f"getitem: an array index must be 1-D integers; got shape {tuple(index.shape)}, "
                            f"dtype {index.dtype}")
        backend.array_namespace(x.data, index)
    else:
        index = index if isinstance(index, tuple) else (index,)
        if any(_is_array_index(i) for i in index):
            raise TypeError("getitem: only one integer array, alone (selecting along axis 0), is supported; "
                            "combine it with basic indexing in two steps")
        if not any(i is Ellipsis for i in index):
            index = index + (Ellipsis,)  # the standard asks for explicit trailing axes; NumPy implies them
    return GetItem(index)(x)


def _not_integer(a) -> bool:
    xp = backend.array_namespace(a)
    return a.dtype in (xp.float32, xp.float64, xp.bool)


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
    xs = _as_tensors(tuple(xs))
    if not xs:
        raise ValueError("concatenate: needs at least one tensor")
    axis = _normalize_axes(axis, xs[0].ndim)[0]
    for i, x in enumerate(xs):
        other = [s for k, s in enumerate(x.shape) if k != axis]
        first = [s for k, s in enumerate(xs[0].shape) if k != axis]
        if x.ndim != xs[0].ndim or other != first:
            raise ValueError(f"concatenate along axis {axis}: xs[{i}] has shape {x.shape}, "
                             f"incompatible with xs[0]'s {xs[0].shape}")
    return Concatenate(axis)(*xs)


def stack(xs, axis: int = 0):
    xs = _as_tensors(tuple(xs))
    if not xs:
        raise ValueError("stack: needs at least one tensor")
    for i, x in enumerate(xs):
        if x.shape != xs[0].shape:
            raise ValueError(f"stack: xs[{i}] has shape {x.shape}; xs[0] has {xs[0].shape}")
    axis = _normalize_axes(axis, xs[0].ndim + 1)[0]
    return Stack(axis)(*xs)

