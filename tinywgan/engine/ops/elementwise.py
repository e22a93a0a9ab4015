"""Elementwise ops: arithmetic, elementwise functions and activations, whose output has the (broadcast)
shape of their inputs. One small :class:`Function` subclass per op, plus a lowercase wrapper.

Every ``forward`` works on raw arrays of the namespace ``self.xp`` and calls only functions of the array API
standard. Every ``backward`` is written with Tensor ops, so the gradient it returns can be differentiated
again (``create_graph=True``). Derivatives that are constant almost everywhere (the masks of ReLU, LeakyReLU,
clip, max) enter the backward pass as constant arrays: double backprop through them builds no graph for
their (zero) derivative.

Broadcasting: binary ops broadcast their operands as the array API does; the graph walk
(:mod:`tinywgan.engine.backprop`) sums each gradient back to its input's shape, so no backward below
un-broadcasts by hand.
"""
from __future__ import annotations

from .. import backend, checks
from ..tensor import Function, Tensor, as_tensors

# ---------------------------------------------------------------------------------------------------------
# Arithmetic


class Add(Function):
    r"""$y = a + b$.   $\partial y/\partial a = 1$, $\partial y/\partial b = 1$."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    r"""$y = a - b$.   $\partial y/\partial a = 1$, $\partial y/\partial b = -1$."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    r"""$y = a b$.   $\partial y/\partial a = b$, $\partial y/\partial b = a$."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (gy * b if need_a else None), (gy * a if need_b else None)


class Div(Function):
    r"""$y = a / b$.   $\partial y/\partial a = 1/b$, $\partial y/\partial b = -a/b^2 = -y/b$."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        gb = -ga * self.outputs[0] if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """$y = -x$.   $dy/dx = -1$."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    r"""$y = x^c$ for a constant number $c$.   $dy/dx = c\,x^{c-1}$, and 0 for $c = 0$.

    $c = 0$ is its own case: $c\,x^{c-1}$ would be $0 \cdot \infty = \text{NaN}$ at $x = 0$, where $x^0 = 1$ has
    derivative 0 (as in PyTorch and HIPS autograd, issue #116). It also makes the second derivative of $x^1$
    at 0 exact.
    """

    def __init__(self, c: float):
        self.c = c

    def forward(self, x):
        return x * x if self.c == 2 else x ** self.c

    def backward(self, gy):
        x, = self.inputs
        if self.c == 0:
            return Tensor(self.xp.zeros_like(x.data))
        if self.c == 2:
            return gy * (2 * x)
        return gy * (self.c * pow(x, self.c - 1))


def add(a, b):
    a, b = as_tensors((a, b), "add")
    checks.broadcastable(a, b, "add")  # shapes that broadcast, dtypes that do not promote (a TypeError)
    return Add()(a, b)


def sub(a, b):
    a, b = as_tensors((a, b), "sub")
    checks.broadcastable(a, b, "sub")
    return Sub()(a, b)


def mul(a, b):
    a, b = as_tensors((a, b), "mul")
    checks.broadcastable(a, b, "mul")
    return Mul()(a, b)


def div(a, b):
    a, b = as_tensors((a, b), "div")
    checks.broadcastable(a, b, "div")
    return Div()(a, b)


def neg(x):
    return Neg()(x)


def pow(x, c):
    """$x^c$ with a constant exponent ``c`` (a Python number)."""
    checks.number(c, "the exponent", "pow")
    return Pow(c if isinstance(c, int) else float(c))(x)  # float(): a NumPy float64 would promote float32


# ---------------------------------------------------------------------------------------------------------
# Elementwise functions


class Exp(Function):
    r"""$y = \exp(x)$.   $dy/dx = y$."""

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy):
        return gy * self.outputs[0]


class Expm1(Function):
    r"""$y = \exp(x) - 1$, accurate where $x$ is small (1 + tiny rounds to 1).   $dy/dx = \exp(x)$."""

    def forward(self, x):
        return self.xp.expm1(x)

    def backward(self, gy):
        return gy * exp(self.inputs[0])


class Log(Function):
    r"""$y = \log x$.   $dy/dx = 1/x$."""

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Log1p(Function):
    r"""$y = \log(1 + x)$, accurate where $x$ is small.   $dy/dx = 1/(1 + x)$."""

    def forward(self, x):
        return self.xp.log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Sin(Function):
    r"""$y = \sin x$.   $dy/dx = \cos x$."""

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    r"""$y = \cos x$.   $dy/dx = -\sin x$."""

    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])


class Sqrt(Function):
    r"""$y = \sqrt{x}$.   $dy/dx = 1/(2y)$."""

    def forward(self, x):
        return self.xp.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.outputs[0])


class Tanh(Function):
    r"""$y = \tanh x$.   $dy/dx = 1 - y^2$."""

    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, gy):
        y = self.outputs[0]
        return gy * (1 - y * y)


class Sigmoid(Function):
    r"""$y = 1/(1 + \exp(-x))$.   $dy/dx = y(1 - y)$.

    Computed from $e = \exp(-|x|)$, which never overflows: $y = 1/(1 + e)$ for $x \ge 0$ and $e/(1 + e)$ for
    $x < 0$. The second form keeps full relative precision for very negative $x$, where $1 - 1/(1 + \exp(-x))$
    would round to 0 (a saturated GAN discriminator lives there).
    """

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        y = self.outputs[0]
        return gy * (y * (1 - y))


class LeakyReLU(Function):
    r"""$y = x$ if $x > 0$ else $\text{slope} \cdot x$.   $dy/dx = 1$ or slope, a constant mask (Maas et al. 2013).

    The mask $m = \varphi'(x)$ (1 where $x > 0$, else slope) is built once and used twice: ``y = x * m``
    forward, ``gx = gy * m`` backward. As a constant of the graph it gives double backprop no graph through
    $\varphi'$.
    """

    def __init__(self, slope: float):
        self.slope = slope

    def forward(self, x):
        self.mask = backend.astype(x > 0, x.dtype) * (1 - self.slope) + self.slope
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


class ReLU(LeakyReLU):
    r"""$y = \max(x, 0) = x \cdot [x > 0]$.   $dy/dx = [x > 0]$: LeakyReLU with slope 0."""

    def __init__(self):
        super().__init__(0.0)


class Softplus(Function):
    r"""$y = \log(1 + \exp(x))$, computed stably as $\max(x, 0) + \log(1 + \exp(-|x|))$.
    $dy/dx = \operatorname{sigmoid}(x)$."""

    def forward(self, x):
        xp = self.xp
        return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class LogSigmoid(Function):
    r"""$y = \log \operatorname{sigmoid}(x) = -\operatorname{softplus}(-x)$, computed stably.
    $dy/dx = \operatorname{sigmoid}(-x) = 1 - \operatorname{sigmoid}(x)$.

    The vanilla GAN losses are written with it: $-\log D(x)$ = ``-log_sigmoid(logit)``.
    """

    def forward(self, x):
        xp = self.xp
        return xp.minimum(x, xp.zeros_like(x)) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(-self.inputs[0])


class Clip(Function):
    r"""$y = \min(\max(x, \text{low}), \text{high})$.   $dy/dx = [\text{low} < x < \text{high}]$, a constant mask."""

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def forward(self, x):
        self.mask = backend.astype((x > self.low) & (x < self.high), x.dtype)
        return self.xp.clip(x, self.low, self.high)

    def backward(self, gy):
        return gy * self.mask


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def expm1(x):
    return Expm1()(x)


def log1p(x):
    return Log1p()(x)


def sin(x):
    return Sin()(x)


def cos(x):
    return Cos()(x)


def square(x):
    r"""$x \cdot x$: :class:`Pow` with $c = 2$."""
    return Pow(2)(x)


def sqrt(x):
    return Sqrt()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x):
    return ReLU()(x)


def leaky_relu(x, slope: float = 0.2):
    """LeakyReLU with negative ``slope`` (0.2 in the DCGAN and WGAN-GP critics)."""
    # float(): a NumPy scalar slope does not mix with every backend's arrays (array_api_strict refuses it)
    return LeakyReLU(float(slope))(x)


def softplus(x):
    return Softplus()(x)


def log_sigmoid(x):
    return LogSigmoid()(x)


def clip(x, low: float, high: float):
    r"""$x$ clipped into $[\text{low}, \text{high}]$; the gradient is 0 outside (Arjovsky et al. 2017 clip the
    *weights* with :func:`tinywgan.wgan.clip_weights`, which acts on the arrays, not on the graph)."""
    checks.number(low, "low", "clip")
    checks.number(high, "high", "clip")
    if not low <= high:  # also refuses NaN
        raise ValueError(f"clip: low must be <= high; got low={low}, high={high}")
    return Clip(low, high)(x)
