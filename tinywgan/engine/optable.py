"""The op table: every differentiable op whose first and second derivatives are checked, one row per op.

A row (:class:`Op`) names the op, gives it as a function of Tensors (``fn``), and says on which inputs its
derivatives are checked (``domain``): float64 arrays drawn from where the op is smooth, away from its kinks
and poles, with broadcasting pairs for the binary ops. ``keep``, when there is one, rejects the draws that
still land too close to a kink (finite differences must not step across one). A new op is one new row.

Two readers draw from the same rows:

* the tests (``tests/test_functions.py``) draw many inputs per row with hypothesis, which also tries edge
  values and shrinks a failure to a small example;
* the report (:mod:`.opreport`, ``python -m tinywgan.engine.gradcheck --report``) draws a few per row with a
  seeded NumPy generator, so it needs nothing but NumPy and prints the same numbers every time.

So that one description of a domain serves both, a domain draws through a *source* of random choices: an
object with the five methods of :class:`NumpySource` (the tests' source asks hypothesis for each choice).

The table tests the ops as a student calls them (``tw.exp``, ``x @ w``, ``x[1:, ::2]``), including the fused
Linear + activation of the speed layer, :func:`tinywgan.fast.linear_act`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import tinywgan as tw
from tinywgan import fast
from tinywgan.engine import ops as F

F64 = np.float64


class NumpySource:
    """Random choices from a NumPy generator (the report's source)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included."""
        return int(self.rng.integers(low, high + 1))

    def floats(self, shape: tuple, low: float, high: float) -> np.ndarray:
        """A float64 array of ``shape`` with elements in [low, high]."""
        return np.asarray(self.rng.uniform(low, high, size=shape), dtype=F64)

    def signs(self, shape: tuple) -> np.ndarray:
        """An array of ``shape`` of +1.0 and -1.0."""
        return np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)

    def permutation(self, n: int) -> np.ndarray:
        """0, 1, ..., n - 1 in a random order."""
        return self.rng.permutation(n)

    def choose(self, options: list):
        """One of ``options``."""
        return options[self.integer(0, len(options) - 1)]


# ---- values: what the elements of an input may be -------------------------------------------------------

@dataclass(frozen=True)
class Values:
    text: str                                      # for the report, e.g. "[-2, 2]"
    draw: Callable[[object, tuple], np.ndarray]    # (source, shape) -> float64 array


def interval(low: float = -2.0, high: float = 2.0) -> Values:
    return Values(f"[{low:g}, {high:g}]", lambda src, shape: src.floats(shape, low, high))


def nonzero(margin: float = 0.3, high: float = 2.0) -> Values:
    """|x| in [margin, high], either sign: away from a kink or a pole at 0."""
    return Values(f"+-[{margin:g}, {high:g}]", lambda src, shape: src.floats(shape, margin, high) * src.signs(shape))


def _distinct(src, shape):
    n = int(np.prod(shape))
    return (np.asarray(src.permutation(n), F64).reshape(shape) - n / 2) * 0.01


# All different, on a 0.01 grid: a max or min has one winner, further from the others than the step h.
DISTINCT = Values("distinct values 0.01 apart", _distinct)


# ---- domains: the shapes of the inputs and the values in them --------------------------------------------

@dataclass(frozen=True)
class Domain:
    text: str                                      # for the report, e.g. "x in [-2, 2], 0-3 axes"
    draw: Callable[[object], tuple]                # source -> a tuple of float64 arrays, the op's inputs


def random_shape(src, min_dims: int = 0, max_dims: int = 3, max_side: int = 3, fixed: dict | None = None) -> tuple:
    """min_dims to max_dims axes of length 1 to max_side; ``fixed`` maps an axis to its length."""
    shape = [src.integer(1, max_side) for _ in range(src.integer(min_dims, max_dims))]
    for axis, length in (fixed or {}).items():
        shape[axis] = length
    return tuple(shape)


def unary(values: Values = interval(), min_dims: int = 0, max_dims: int = 3, fixed: dict | None = None) -> Domain:
    """One input x of any shape with min_dims to max_dims axes (of length 1 to 3)."""
    axes = f"{min_dims} axes" if min_dims == max_dims else f"{min_dims}-{max_dims} axes"
    if fixed:
        axes += "".join(f", axis {a} of {n}" for a, n in fixed.items())
    return Domain(f"x in {values.text}, {axes}",
                  lambda src: (values.draw(src, random_shape(src, min_dims, max_dims, fixed=fixed)),))


def _broadcasting_pair(src):
    """Two shapes that broadcast to a common one: each drops some of its leading axes and turns some of the
    others into 1 (equal shapes and scalars included)."""
    common = random_shape(src)
    pair = []
    for _ in range(2):
        tail = common[src.integer(0, len(common)):]
        pair.append(tuple(1 if src.integer(0, 1) else side for side in tail))
    return pair


def binary(a: Values = interval(), b: Values = interval()) -> Domain:
    """Two inputs a, b whose shapes broadcast against each other."""
    def draw(src):
        shape_a, shape_b = _broadcasting_pair(src)
        return a.draw(src, shape_a), b.draw(src, shape_b)
    text = f"a, b in {a.text}" if a.text == b.text else f"a in {a.text}, b in {b.text}"
    return Domain(text + ", shapes that broadcast", draw)


def shaped(*shapes: tuple, values: Values = interval()) -> Domain:
    """Inputs of fixed shapes."""
    return Domain(f"in {values.text}, shapes " + " ".join(str(s) for s in shapes),
                  lambda src: tuple(values.draw(src, s) for s in shapes))


def matmul(transpose_b: bool = False) -> Domain:
    """a @ b: 2-D, batched, broadcast-batched (when b is 2-D), and inner size 1 (the broadcasting fast path).
    With ``transpose_b`` b is 2-D and drawn transposed (for ``a @ b.T``)."""
    kinds = [lambda n, k, m, z: ((n, k), (k, m)),
             lambda n, k, m, z: ((z, n, k), (k, m)),
             lambda n, k, m, z: ((n, 1), (1, m))]
    if not transpose_b:
        kinds.append(lambda n, k, m, z: ((z, n, k), (z, k, m)))

    def draw(src):
        shape_a, shape_b = src.choose(kinds)(*(src.integer(1, 3) for _ in range(4)))
        a, b = interval().draw(src, shape_a), interval().draw(src, shape_b)
        return (a, b.T.copy()) if transpose_b else (a, b)
    what = "2-D b (drawn as b.T)" if transpose_b else "2-D, batched, broadcast-batched"
    return Domain(f"a, b in [-2, 2]; {what}, inner size 1", draw)


def _linear(src):
    n, k, m = (src.integer(1, 3) for _ in range(3))
    return interval().draw(src, (n, k)), interval().draw(src, (k, m)), interval().draw(src, (m,))


LINEAR = Domain("in [-2, 2], x (n, k), w (k, m), b (m,), n, k, m in 1-3", _linear)


# ---- keep: filters on the drawn inputs -----------------------------------------------------------------

@dataclass(frozen=True)
class Keep:
    text: str                                      # for the report, e.g. "1e-3 from -0.5, 0.7"
    test: Callable[[tuple], bool]                  # the op's inputs -> keep them?

    def __call__(self, inputs) -> bool:
        return bool(self.test(inputs))


def away_from(points, margin: float = 1e-3) -> Keep:
    """Every element at least ``margin`` from each point (finite differences must not cross a kink)."""
    return Keep(f"{margin:g} from " + ", ".join(f"{p:g}" for p in points),
                lambda xs: all(np.all(np.abs(x - p) > margin) for x in xs for p in points))


def spread(axis=-1, margin: float = 0.1) -> Keep:
    """x is not (nearly) constant along ``axis``, where std has no derivative."""
    where = "overall" if axis is None else "along the last axis"
    return Keep(f"spread > {margin:g} {where}",
                lambda xs: xs[0].size > 0 and np.all(np.ptp(xs[0], axis=axis) > margin))


def longer_than_1(axis: int) -> Keep:
    return Keep(f"axis {axis} of 2 or more", lambda xs: xs[0].shape[axis] > 1)


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable                                   # a function of Tensors, returning a Tensor
    domain: Domain
    keep: Keep | None = None

    @property
    def description(self) -> str:
        """The domain in words, as the report prints it."""
        return self.domain.text + (f"; {self.keep.text}" if self.keep else "")

    def draw(self, src, tries: int = 200) -> tuple:
        """Inputs from the domain that ``keep`` keeps (drawn again until it does)."""
        for _ in range(tries):
            inputs = self.domain.draw(src)
            if self.keep is None or self.keep(inputs):
                return inputs
        raise RuntimeError(f"{self.name}: no draw out of {tries} passed the filter ({self.keep.text})")


def _pre_activation_away_from_0(xs):
    z = xs[0] @ xs[1] + (xs[2] if len(xs) > 2 else 0.0)
    return np.all(np.abs(z) > 1e-3)


PRE_ACTIVATION = Keep("|x @ w + b| > 1e-3", _pre_activation_away_from_0)
POSITIVE = interval(0.3, 2.0)

OPS = [
    Op("add", lambda a, b: a + b, binary()),
    Op("sub", lambda a, b: a - b, binary()),
    Op("mul", lambda a, b: a * b, binary()),
    Op("div", lambda a, b: a / b, binary(interval(), nonzero())),
    Op("neg", lambda x: -x, unary()),
    Op("pow2", lambda x: x ** 2, unary()),
    Op("pow3", lambda x: x ** 3, unary()),
    Op("pow_half", lambda x: x ** 0.5, unary(POSITIVE)),
    Op("pow_neg", lambda x: x ** -1.5, unary(POSITIVE)),
    Op("exp", tw.exp, unary()),
    Op("log", tw.log, unary(interval(0.3, 3.0))),
    Op("sqrt", tw.sqrt, unary(interval(0.3, 3.0))),
    Op("tanh", tw.tanh, unary()),
    Op("sigmoid", tw.sigmoid, unary(interval(-5, 5))),
    Op("relu", tw.relu, unary(nonzero())),
    Op("leaky_relu", lambda x: tw.leaky_relu(x, 0.2), unary(nonzero())),
    Op("softplus", tw.softplus, unary(interval(-5, 5))),
    Op("log_sigmoid", tw.log_sigmoid, unary(interval(-5, 5))),
    Op("clip", lambda x: tw.clip(x, -0.5, 0.7), unary(), away_from([-0.5, 0.7])),
    Op("matmul", lambda a, b: a @ b, matmul()),
    Op("matmul_of_transpose", lambda a, b: a @ b.T, matmul(transpose_b=True)),
    Op("linear", lambda x, w, b: tw.linear(x, w, b), LINEAR),
    Op("linear_batched_no_bias", lambda x, w: tw.linear(x, w), shaped((2, 3, 2), (2, 1))),
    Op("linear_relu", lambda x, w, b: fast.linear_act(x, w, b, slope=0.0), shaped((3, 2), (2, 3), (3,)),
       PRE_ACTIVATION),
    Op("linear_leaky_relu_no_bias", lambda x, w: fast.linear_act(x, w, None, slope=0.2),
       shaped((2, 3, 2), (2, 3)), Keep("|x @ w| > 1e-3", _pre_activation_away_from_0)),
    Op("transpose", lambda x: x.T, unary()),
    Op("transpose_axes", lambda x: tw.transpose(x, (1, 2, 0)), unary(min_dims=3)),
    Op("reshape", lambda x: x.reshape(-1), unary()),
    Op("broadcast_to", lambda x: tw.broadcast_to(x, (2,) + x.shape), unary()),
    Op("sum_to", lambda x: tw.sum_to(x, (1,) + x.shape[2:]), unary(min_dims=2)),
    Op("sum_all", lambda x: x.sum(), unary()),
    Op("mean_all", lambda x: x.mean(), unary()),
    Op("max_all", lambda x: x.max(), unary(DISTINCT, min_dims=1)),
    Op("norm", lambda x: tw.norm(x, axis=-1), unary(min_dims=1),
       Keep("sum of |x| over the last axis > 0.1", lambda xs: np.all(np.abs(xs[0]).sum(-1) > 0.1))),
    Op("getitem_slice", lambda x: x[1:, ::2], unary(min_dims=2)),
    Op("getitem_int", lambda x: x[0], unary(min_dims=1)),
    Op("getitem_array", lambda x: x[[0, 0, 1, 0]], unary(min_dims=1), longer_than_1(0)),
    Op("getitem_array_negative", lambda x: x[[-1, 0, -1]], unary(min_dims=1)),
    Op("concatenate", lambda a, b: tw.concatenate([a, b * 2, a], axis=0), shaped((2, 3), (1, 3))),
    Op("stack", lambda a, b: tw.stack([a, b, a * b], axis=1), shaped((2, 3), (2, 3))),
    Op("sin", F.sin, unary()),
    Op("cos", F.cos, unary()),
    Op("log1p", F.log1p, unary(interval(-0.7, 3.0))),
    Op("expm1", F.expm1, unary()),
    Op("square", F.square, unary()),
    Op("min_all", lambda x: F.min(x), unary(DISTINCT, min_dims=1)),
    Op("var_last_axis", lambda x: F.var(x, axis=-1, correction=1), unary(min_dims=1), longer_than_1(-1)),
    Op("var_all", lambda x: F.var(x, correction=0), unary()),
    Op("std_last_axis", lambda x: F.std(x, axis=-1, correction=1), unary(min_dims=1), spread()),
    Op("std_all", lambda x: F.std(x, correction=0), unary(min_dims=1), spread(axis=None)),
    Op("logsumexp_all", F.logsumexp, unary()),
    Op("logsumexp_axis0_keepdims", lambda x: F.logsumexp(x, axis=0, keepdims=True), unary(min_dims=1)),
    Op("softmax", F.softmax, unary(min_dims=1)),
    Op("softmax_axis0", lambda x: F.softmax(x, axis=0), unary(min_dims=2)),
    Op("log_softmax", F.log_softmax, unary(min_dims=1)),
    Op("squeeze_all", F.squeeze, unary()),
    Op("squeeze_axis", lambda x: F.squeeze(x.reshape((1,) + x.shape + (1,)), (0, -1)), unary()),
    Op("expand_dims", lambda x: F.expand_dims(x, (0, -1)), unary()),
    Op("swapaxes", lambda x: F.swapaxes(x, 0, -1), unary(min_dims=1)),
    Op("getitem_array_axis1", lambda x: x[:, [2, 0, 2, -3]], unary(min_dims=2, fixed={1: 3})),
    Op("getitem_array_last_axis", lambda x: x[..., [1, -1, 1]], unary(min_dims=1), longer_than_1(-1)),
    Op("getitem_slices_then_array", lambda x: x[1:, [0, -1, 0]], unary(min_dims=2), longer_than_1(0)),
    Op("getitem_pick", lambda x: x[[0, 1, 2, 0, -3], [1, -1, 0, 1, 1]], unary(min_dims=2, fixed={0: 3, 1: 2})),
]
