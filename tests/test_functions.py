"""Every differentiable op, first and second derivatives, against finite differences in float64.

One table drives the tests: a row is ``(name, fn, inputs)``, where ``inputs`` is a hypothesis strategy that
draws the op's float64 inputs from the op's smooth domain (away from kinks and singularities), with
broadcasting pairs for the binary ops. A new op is one new row.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinywgan as tw
from tinywgan import fast
from tinywgan.engine import backend
from tinywgan.engine import ops as F
from tinywgan.engine.gradcheck import GradcheckError, gradcheck, gradgradcheck

F64 = np.float64


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def shapes(min_dims=0, max_dims=3, max_side=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape, low=-2.0, high=2.0):
    return hnp.arrays(F64, shape, elements=floats(low, high))


def nonzero(shape, margin=0.3, high=2.0):
    """Values with |x| in [margin, high], either sign: away from a kink or a pole at 0."""
    return st.tuples(arrays(shape, margin, high), hnp.arrays(np.bool_, shape)).map(
        lambda t: np.where(t[1], t[0], -t[0]))


def unary(domain=arrays, **kw):
    return shapes(**kw).flatmap(lambda s: st.tuples(domain(s)))


def binary(domain_a=arrays, domain_b=arrays):
    """Two inputs whose shapes broadcast against each other (including equal and scalar shapes)."""
    pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
    return pairs.flatmap(lambda p: st.tuples(domain_a(p.input_shapes[0]), domain_b(p.input_shapes[1])))


def away_from(points, margin=1e-3):
    """A filter: every element at least `margin` from each point (finite differences must not cross a kink)."""
    def ok(xs):
        return all(np.all(np.abs(x - p) > margin) for x in xs for p in points)
    return ok


def distinct_values(shape):
    """Values on a 0.01 grid, all different, so a max has one winner and a gap wider than the step h."""
    n = int(np.prod(shape))
    return st.permutations(range(n)).map(lambda p: (np.asarray(p, F64).reshape(shape) - n / 2) * 0.01)


def matmul_shapes():
    """2-D, batched, broadcast-batched, and inner dimension 1 (the broadcasting fast path)."""
    n, k, m, b = (st.integers(1, 3) for _ in range(4))
    return st.one_of(
        st.tuples(n, k, m).map(lambda t: ((t[0], t[1]), (t[1], t[2]))),
        st.tuples(b, n, k, m).map(lambda t: ((t[0], t[1], t[2]), (t[2], t[3]))),
        st.tuples(b, n, k, m).map(lambda t: ((t[0], t[1], t[2]), (t[0], t[2], t[3]))),
        st.tuples(n, m).map(lambda t: ((t[0], 1), (1, t[1]))),
    ).flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1])))


def with_axis(strategy_of_shape=shapes(min_dims=1)):
    """(x, axis, keepdims) with axis None, one axis, or a tuple of axes."""
    def build(shape):
        nd = len(shape)
        axes = st.one_of(st.none(), st.integers(-nd, nd - 1),
                         st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
        return st.tuples(arrays(shape), axes, st.booleans())
    return strategy_of_shape.flatmap(build)


def spread(xs, axis=-1, margin=0.1):
    """A filter for std: x is not (nearly) constant along ``axis``, where std has no derivative."""
    x = xs[0]
    return x.size > 0 and np.all(np.ptp(x, axis=axis) > margin)


def with_side(axis, side):
    """Shapes of 1 to 3 axes whose axis ``axis`` has length ``side`` (for indexing with fixed indices)."""
    return shapes(min_dims=2, max_dims=3).map(lambda s: s[:axis] + (side,) + s[axis + 1:])


# (name, fn of tensors, strategy of a tuple of float64 inputs, filter or None)
OPS = [
    ("add", lambda a, b: a + b, binary(), None),
    ("sub", lambda a, b: a - b, binary(), None),
    ("mul", lambda a, b: a * b, binary(), None),
    ("div", lambda a, b: a / b, binary(arrays, nonzero), None),
    ("neg", lambda x: -x, unary(), None),
    ("pow2", lambda x: x ** 2, unary(), None),
    ("pow3", lambda x: x ** 3, unary(), None),
    ("pow_half", lambda x: x ** 0.5, unary(lambda s: arrays(s, 0.3, 2.0)), None),
    ("pow_neg", lambda x: x ** -1.5, unary(lambda s: arrays(s, 0.3, 2.0)), None),
    ("exp", tw.exp, unary(), None),
    ("log", tw.log, unary(lambda s: arrays(s, 0.3, 3.0)), None),
    ("sqrt", tw.sqrt, unary(lambda s: arrays(s, 0.3, 3.0)), None),
    ("tanh", tw.tanh, unary(), None),
    ("sigmoid", tw.sigmoid, unary(lambda s: arrays(s, -5, 5)), None),
    ("relu", tw.relu, unary(nonzero), None),
    ("leaky_relu", lambda x: tw.leaky_relu(x, 0.2), unary(nonzero), None),
    ("softplus", tw.softplus, unary(lambda s: arrays(s, -5, 5)), None),
    ("log_sigmoid", tw.log_sigmoid, unary(lambda s: arrays(s, -5, 5)), None),
    ("clip", lambda x: tw.clip(x, -0.5, 0.7), unary(), away_from([-0.5, 0.7])),
    ("matmul", lambda a, b: a @ b, matmul_shapes(), None),
    ("matmul_of_transpose", lambda a, b: a @ b.T, matmul_shapes().filter(lambda t: t[1].ndim == 2).map(
        lambda t: (t[0], t[1].T.copy())), None),
    ("linear", lambda x, w, b: tw.linear(x, w, b), st.tuples(st.integers(1, 3), st.integers(1, 3),
     st.integers(1, 3)).flatmap(lambda s: st.tuples(arrays((s[0], s[1])), arrays((s[1], s[2])), arrays((s[2],)))),
     None),
    ("linear_batched_no_bias", lambda x, w: tw.linear(x, w), st.tuples(arrays((2, 3, 2)), arrays((2, 1))), None),
    ("linear_relu", lambda x, w, b: fast.linear_act(x, w, b, slope=0.0), st.tuples(arrays((3, 2)), arrays((2, 3)),
     arrays((3,))), lambda xs: np.all(np.abs(xs[0] @ xs[1] + xs[2]) > 1e-3)),
    ("linear_leaky_relu_no_bias", lambda x, w: fast.linear_act(x, w, None, slope=0.2), st.tuples(arrays((2, 3, 2)),
     arrays((2, 3))), lambda xs: np.all(np.abs(xs[0] @ xs[1]) > 1e-3)),
    ("transpose", lambda x: x.T, unary(), None),
    ("transpose_axes", lambda x: tw.transpose(x, (1, 2, 0)), unary(min_dims=3, max_dims=3), None),
    ("reshape", lambda x: x.reshape(-1), unary(), None),
    ("broadcast_to", lambda x: tw.broadcast_to(x, (2,) + x.shape), unary(), None),
    ("sum_to", lambda x: tw.sum_to(x, (1,) + x.shape[2:]), unary(min_dims=2), None),
    ("sum_all", lambda x: x.sum(), unary(), None),
    ("mean_all", lambda x: x.mean(), unary(), None),
    ("max_all", lambda x: x.max(), shapes(min_dims=1).flatmap(lambda s: st.tuples(distinct_values(s))), None),
    ("norm", lambda x: tw.norm(x, axis=-1), unary(min_dims=1), lambda xs: np.all(np.abs(xs[0]).sum(-1) > 0.1)),
    ("getitem_slice", lambda x: x[1:, ::2], unary(min_dims=2), None),
    ("getitem_int", lambda x: x[0], unary(min_dims=1), None),
    ("getitem_array", lambda x: x[[0, 0, 1, 0]], unary(min_dims=1).filter(lambda t: t[0].shape[0] > 1),
     None),
    ("getitem_array_negative", lambda x: x[[-1, 0, -1]], unary(min_dims=1), None),
    ("concatenate", lambda a, b: tw.concatenate([a, b * 2, a], axis=0), st.tuples(arrays((2, 3)), arrays((1, 3))),
     None),
    ("stack", lambda a, b: tw.stack([a, b, a * b], axis=1), st.tuples(arrays((2, 3)), arrays((2, 3))), None),
    ("sin", F.sin, unary(), None),
    ("cos", F.cos, unary(), None),
    ("log1p", F.log1p, unary(lambda s: arrays(s, -0.7, 3.0)), None),
    ("expm1", F.expm1, unary(), None),
    ("square", F.square, unary(), None),
    ("min_all", lambda x: F.min(x), shapes(min_dims=1).flatmap(lambda s: st.tuples(distinct_values(s))), None),
    ("var_last_axis", lambda x: F.var(x, axis=-1, correction=1), unary(min_dims=1).filter(
        lambda t: t[0].shape[-1] > 1), None),
    ("var_all", lambda x: F.var(x, correction=0), unary(), None),
    ("std_last_axis", lambda x: F.std(x, axis=-1, correction=1), unary(min_dims=1), spread),
    ("std_all", lambda x: F.std(x, correction=0), unary(min_dims=1), lambda xs: spread(xs, axis=None)),
    ("logsumexp_all", F.logsumexp, unary(), None),
    ("logsumexp_axis0_keepdims", lambda x: F.logsumexp(x, axis=0, keepdims=True), unary(min_dims=1), None),
    ("softmax", F.softmax, unary(min_dims=1), None),
    ("softmax_axis0", lambda x: F.softmax(x, axis=0), unary(min_dims=2), None),
    ("log_softmax", F.log_softmax, unary(min_dims=1), None),
    ("squeeze_all", F.squeeze, unary(), None),
    ("squeeze_axis", lambda x: F.squeeze(x.reshape((1,) + x.shape + (1,)), (0, -1)), unary(), None),
    ("expand_dims", lambda x: F.expand_dims(x, (0, -1)), unary(), None),
    ("swapaxes", lambda x: F.swapaxes(x, 0, -1), unary(min_dims=1), None),
    ("getitem_array_axis1", lambda x: x[:, [2, 0, 2, -3]], with_side(1, 3).flatmap(lambda s: st.tuples(arrays(s))),
     None),
    ("getitem_array_last_axis", lambda x: x[..., [1, -1, 1]], unary(min_dims=1).filter(lambda t: t[0].shape[-1] > 1),
     None),
    ("getitem_slices_then_array", lambda x: x[1:, [0, -1, 0]], unary(min_dims=2).filter(lambda t: t[0].shape[0] > 1),
     None),
    ("getitem_pick", lambda x: x[[0, 1, 2, 0, -3], [1, -1, 0, 1, 1]], with_side(0, 3).flatmap(
        lambda s: st.tuples(arrays(s[:1] + (2,) + s[2:]))), None),
]


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
