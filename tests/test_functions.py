"""Every differentiable op, first and second derivatives, against finite differences in float64.

One table drives the tests: the op table of the package, :data:`tinywgan.engine.optable.OPS`, whose rows
give each op, its smooth domain (away from kinks and singularities, with broadcasting pairs for the binary
ops) and how to draw float64 inputs from it. Here hypothesis draws them (:class:`HypothesisSource`); the
report ``python -m tinywgan.engine.gradcheck --report`` checks the same rows (tests/test_opreport.py). A new
op is one new row there.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinywgan as tw
from tinywgan.engine import backend, optable
from tinywgan.engine import ops as F
from tinywgan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck

F64 = np.float64


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def shapes(min_dims=0, max_dims=3, max_side=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape, low=-2.0, high=2.0):
    return hnp.arrays(F64, shape, elements=floats(low, high))


def with_axis(strategy_of_shape=shapes(min_dims=1)):
    """(x, axis, keepdims) with axis None, one axis, or a tuple of axes."""
    def build(shape):
        nd = len(shape)
        axes = st.one_of(st.none(), st.integers(-nd, nd - 1),
                         st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
        return st.tuples(arrays(shape), axes, st.booleans())
    return strategy_of_shape.flatmap(build)


class HypothesisSource:
    """The op table's source of random choices (see :class:`tinywgan.engine.optable.NumpySource`), asking
    hypothesis for each one, so that it tries edge values and shrinks a failing example."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, low, high):
        return self.draw(st.integers(low, high))

    def floats(self, shape, low, high):
        return self.draw(arrays(shape, low, high))

    def signs(self, shape):
        return np.where(self.draw(hnp.arrays(np.bool_, shape)), 1.0, -1.0)

    def permutation(self, n):
        return np.asarray(self.draw(st.permutations(range(n))))

    def choose(self, options):
        return self.draw(st.sampled_from(options))


@st.composite
def drawn_from(draw, domain):
    """A hypothesis strategy of the inputs of an op-table domain."""
    return domain.draw(HypothesisSource(draw))


# (name, fn of tensors, strategy of a tuple of float64 inputs, filter or None): the op table's rows.
OPS = [(op.name, op.fn, drawn_from(op.domain), op.keep) for op in optable.OPS]


def _on(device, arrays_):
    """The float64 inputs on `device` (gradients are compared on the host)."""
    return [backend.to_device(a, device) for a in arrays_]


@pytest.mark.parametrize("name, fn, strategy, keep", OPS, ids=[row[0] for row in OPS])
def test_op_gradients(device, speed, name, fn, strategy, keep):
    @given(inputs=strategy)
    def check(inputs):
        if keep is not None:
            assume(keep(inputs))
        xs = _on(device, inputs)
        assert gradcheck(fn, xs)
        assert gradgradcheck(fn, xs)
    check()


def _var(x, axis=None, keepdims=False):
    return F.var(x, axis, correction=1, keepdims=keepdims)


def _std(x, axis=None, keepdims=False):
    return F.std(x, axis, correction=0, keepdims=keepdims)


@pytest.mark.parametrize("reduction", [tw.sum, tw.mean, tw.max, F.min, tw.norm, _var, _std, F.logsumexp],
                         ids=lambda f: f.__name__)
def test_reductions_over_axes(device, speed, reduction):
    @given(case=with_axis())
    def check(case):
        x, axis, keepdims = case
        if reduction in (tw.max, F.min):  # a single extremum, further from the others than the step h
            x = (np.argsort(np.argsort(x, axis=None)).reshape(x.shape) - x.size / 2) * 0.01
        if reduction is tw.norm:
            assume(np.all(np.abs(x) > 1e-3))
        reduced = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis)
        if reduction is _var:  # correction = 1 needs two elements or more
            assume(np.prod([x.shape[a] for a in reduced]) > 1)
        if reduction is _std:
            assume(np.all(np.ptp(x, axis=tuple(int(a) for a in reduced)) > 0.1))

        def fn(t):
            return reduction(t, axis=axis, keepdims=keepdims)
        xs = _on(device, [x])
        assert gradcheck(fn, xs)
        assert gradgradcheck(fn, xs)
    check()


def test_norm_eps_keeps_derivative_finite_at_zero(device):
    x = tw.tensor(backend.to_device(np.zeros((2, 3)), device), requires_grad=True)
    n = tw.norm(x, axis=1)
    g, = tw.grad(n.sum(), x, create_graph=True)
    assert np.all(np.isfinite(g.numpy())) and np.all(g.numpy() == 0)
    gg, = tw.grad((g * g).sum() + n.sum(), x)
    assert np.all(np.isfinite(gg.numpy()))


def test_gradcheck_catches_a_wrong_derivative():
    class WrongSquare(tw.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * 3 * self.inputs[0]  # should be 2x

    with pytest.raises(GradcheckError, match=r"inputs\[0\]\[\(1,\)\].*analytic.*numeric"):
        gradcheck(lambda x: WrongSquare()(x), [np.array([0.0, 1.0])])


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class Detached(tw.Function):  # backward right, but built from raw arrays: no second derivative
        def forward(self, x):
            return x * x * x

        def backward(self, gy):
            return gy * tw.Tensor(3 * self.inputs[0].data ** 2)

    assert gradcheck(lambda x: Detached()(x), [np.array([0.5, 1.5])])
    with pytest.raises(GradcheckError, match="gradgradcheck"):
        gradgradcheck(lambda x: Detached()(x), [np.array([0.5, 1.5])])
