"""Derivatives at the points where smooth random draws never land: zero, ties, the far tails in float64,
index -n; the graph walk computes no gradient nobody asked for; and the errors the new ops give bad
arguments. Every derivative is checked to the order at which the formula could go wrong (0 * inf, inf - inf,
0 / 0), on every backend, with the speed layer on and off (its no-graph backward passes must agree).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan.engine import ops as F


def leaf(values, device="cpu"):
    return tw.tensor(np.asarray(values, dtype=np.float64), device=device, requires_grad=True)


def derivatives(fn, x, order):
    """[f'(x), f''(x), ...] up to ``order``, elementwise (fn acts elementwise), as NumPy arrays; a derivative
    that no longer depends on x (no graph left) makes the next ones 0."""
    out, g, y = [], None, fn(x).sum()
    for _ in range(order):
        if g is not None and not g.requires_grad:
            out.append(np.zeros(x.shape))
            continue
        g, = tw.grad(y, x, create_graph=True)
        out.append(g.numpy())
        y = g.sum()
    return out


# -------------------------------------------------------------------------------------------------------
# x ** c at 0 (HIPS autograd issue #116: c * x**(c - 1) is 0 * inf there)


def test_x_to_the_0_has_derivative_0_everywhere(device, speed):
    x = leaf([0.0, -1.5, 2.0], device)
    g, = tw.grad((x ** 0).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])
    x.grad = None
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("c, expected", [
    (1, [1.0, 0.0, 0.0]),
    (2, [0.0, 2.0, 0.0]),
    (3, [0.0, 0.0, 6.0]),
    (1.5, [0.0, math.inf, -math.inf]),  # 1.5 x^0.5, 0.75 x^-0.5, -0.375 x^-1.5: truly infinite at 0+
])
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_derivatives_of_powers_at_0(device, speed, c, expected):
    d = derivatives(lambda t: t ** c, leaf([0.0], device), 3)
    np.testing.assert_array_equal(np.concatenate(d), expected)


def test_fourth_derivative_of_x_cubed_is_0_at_0(device):
    d = derivatives(lambda t: t ** 3, leaf([0.0, 1.0], device), 4)
    np.testing.assert_array_equal(d[3], [0.0, 0.0])


def test_square_at_0(device, speed):
    d = derivatives(F.square, leaf([0.0], device), 3)
    np.testing.assert_array_equal(np.concatenate(d), [0.0, 2.0, 0.0])


# -------------------------------------------------------------------------------------------------------
# Norm and std at 0, where they have no derivative: 0 (a subgradient, PyTorch's choice), never 0/0


def test_norm_without_eps_at_0(device, speed):
    x = tw.tensor(backend.to_device(np.array([[0.0, 0.0], [3.0, 4.0]]), device), requires_grad=True)
    n = F.norm(x, axis=1, eps=0.0)
    np.testing.assert_array_equal(n.numpy(), [0.0, 5.0])
    g, = tw.grad(n.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [[0.0, 0.0], [0.6, 0.8]], rtol=1e-15)
    gg, = tw.grad(g[:, 0].sum(), x)  # d/dx (x0 / ||x||): 0 at x = 0; (x1^2, -x0 x1) / ||x||^3 elsewhere
    np.testing.assert_allclose(gg.numpy(), [[0.0, 0.0], [16 / 125, -12 / 125]], rtol=1e-14)
    x.grad = None
    F.norm(x, axis=1, eps=0.0).sum().backward()  # the no-graph path (the speed layer's, when on)
    np.testing.assert_array_equal(x.grad.numpy(), g.numpy())


def test_std_and_var_of_a_constant(device, speed):
    x = leaf(np.full((2, 3), 1.5), device)
    for op in (F.std, F.var):
        y = op(x, axis=1, correction=1)
        np.testing.assert_array_equal(y.numpy(), [0.0, 0.0])
        d = derivatives(lambda t: op(t, axis=1, correction=1), x, 2)
        assert np.all(np.isfinite(d[0])) and np.all(d[0] == 0)
        assert np.all(np.isfinite(d[1]))


@pytest.mark.parametrize("correction", [0, 1, 2.5])
def test_var_and_std_match_numpy(device, correction):
    a = np.random.default_rng(0).standard_normal((4, 5))
    x = tw.tensor(backend.to_device(a, device))
    np.testing.assert_allclose(F.var(x, axis=1, correction=correction).numpy(), np.var(a, axis=1, ddof=correction),
                               rtol=1e-14)
    np.testing.assert_allclose(F.std(x, correction=correction).numpy(), np.std(a, ddof=correction), rtol=1e-14)
    assert F.var(x, (0, 1), correction=correction, keepdims=True).shape == (1, 1)


# -------------------------------------------------------------------------------------------------------
# Ties: max and min share the gradient equally among the tied elements


@pytest.mark.parametrize("op, values, expected", [
    (F.max, [1.0, 3.0, 3.0, 2.0], [0.0, 0.5, 0.5, 0.0]),
    (F.min, [2.0, 1.0, 1.0, 1.0], [0.0, 1 / 3, 1 / 3, 1 / 3]),
    (F.max, [0.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]),
    (F.min, [-0.0, 0.0, 5.0, 5.0], [0.5, 0.5, 0.0, 0.0]),  # -0.0 == 0.0: a tie
])
def test_ties_share_the_gradient(device, speed, op, values, expected):
    x = leaf(values, device)
    assert op(x).item() == (max if op is F.max else min)(values)
    d = derivatives(op, x, 2)
    np.testing.assert_allclose(d[0], expected, rtol=1e-15)
    np.testing.assert_array_equal(d[1], np.zeros(4))
    x.grad = None
    op(x).backward()  # the no-graph path
    np.testing.assert_array_equal(x.grad.numpy(), d[0])


def test_ties_along_an_axis(device, speed):
    x = leaf([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]], device)
    g_max, = tw.grad(F.max(x, axis=1).sum(), x)
    g_min, = tw.grad(F.min(x, axis=1, keepdims=True).sum(), x)
    np.testing.assert_array_equal(g_max.numpy(), [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_array_equal(g_min.numpy(), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert F.min(x, axis=1, keepdims=True).shape == (2, 1)


# -------------------------------------------------------------------------------------------------------
# Kinks: the conventions at the point where the derivative jumps (PyTorch's for relu and leaky_relu)


def test_conventions_at_kinks(device, speed):
    x = leaf([0.0, -0.5, 0.7], device)
    np.testing.assert_array_equal(tw.grad(tw.relu(x).sum(), x)[0].numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(tw.grad(tw.leaky_relu(x, 0.2).sum(), x)[0].numpy(), [0.2, 0.2, 1.0])
    # clip: 0 on the boundaries themselves (PyTorch's clamp passes 1 there; the weights tinywgan clips never
    # go through this op: wgan.clip_weights acts on the arrays)
    np.testing.assert_array_equal(tw.grad(tw.clip(x, -0.5, 0.7).sum(), x)[0].numpy(), [1.0, 0.0, 0.0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_infinite_derivatives_are_inf_not_nan(device, speed):
    """sqrt, log and log1p have a truly infinite derivative at the edge of their domain."""
    x = leaf([0.0], device)
    assert tw.grad(tw.sqrt(x).sum(), x)[0].item() == math.inf
    assert tw.grad(tw.log(x).sum(), x)[0].item() == math.inf
    assert tw.grad(F.log1p(x - 1.0).sum(), x)[0].item() == math.inf


def test_smooth_ops_at_0(device, speed):
    x = leaf([0.0], device)
    cases = [(F.sin, [1.0, 0.0, -1.0]), (F.cos, [0.0, -1.0, 0.0]), (F.expm1, [1.0, 1.0, 1.0]),
             (F.log1p, [1.0, -1.0, 2.0]), (tw.tanh, [1.0, 0.0, -2.0]), (tw.sigmoid, [0.25, 0.0, -0.125]),
             (tw.softplus, [0.5, 0.25, 0.0]), (tw.log_sigmoid, [0.5, -0.25, 0.0])]
    for fn, expected in cases:
        np.testing.assert_allclose(np.concatenate(derivatives(fn, x, 3)), expected, rtol=1e-15, atol=1e-17,
                                   err_msg=fn.__name__)


# -------------------------------------------------------------------------------------------------------
# The far tails in float64: finite, correct values and derivatives


def _sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


TAILS = [-800.0, -30.0, 30.0, 800.0]


@pytest.mark.parametrize("fn, value, first, second", [
    (tw.sigmoid, _sigmoid, lambda x: _sigmoid(x) * _sigmoid(-x),
     lambda x: _sigmoid(x) * _sigmoid(-x) * (1 - 2 * _sigmoid(x))),
    (tw.softplus, lambda x: max(x, 0) + math.log1p(math.exp(-abs(x))), _sigmoid,
     lambda x: _sigmoid(x) * _sigmoid(-x)),
    (tw.log_sigmoid, lambda x: min(x, 0) - math.log1p(math.exp(-abs(x))), lambda x: _sigmoid(-x),
     lambda x: -_sigmoid(x) * _sigmoid(-x)),
    (tw.tanh, math.tanh, lambda x: 1 - math.tanh(x) ** 2, lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2)),
])
def test_far_tails_are_finite_and_correct(device, speed, fn, value, first, second):
    x = leaf(TAILS, device)
    y = fn(x).numpy()
    d1, d2 = derivatives(fn, x, 2)
    for i, t in enumerate(TAILS):
        for name, got, want in (("value", y[i], value(t)), ("d1", d1[i], first(t)), ("d2", d2[i], second(t))):
            assert math.isfinite(got), (fn.__name__, name, t, got)
            # relative precision where the value is not rounded away next to a number of size ~1 (the
            # derivative y (1 - y) of sigmoid at +30 keeps only what 1 - y has: ~3 digits of e^-30)
            assert abs(got - want) <= 1e-15 + 1e-12 * abs(want) or (t == 30.0 and abs(got - want) <= 1e-15), \
                (fn.__name__, name, t, got, want)


def test_expm1_and_log1p_where_they_beat_exp_and_log(device, speed):
    x = leaf([-800.0, -30.0, 1e-20, -1e-20], device)
    np.testing.assert_array_equal(F.expm1(x).numpy(), [-1.0, math.expm1(-30.0), 1e-20, -1e-20])
    d1, d2 = derivatives(F.expm1, x, 2)
    np.testing.assert_allclose(d1, [0.0, math.exp(-30.0), 1.0, 1.0], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(F.log1p(x[2:]).numpy(), [1e-20, -1e-20])
    np.testing.assert_array_equal(derivatives(F.log1p, x[2:], 1)[0], [1.0, 1.0])


def test_logsumexp_and_softmax_far_out(device, speed):
    x = leaf([[800.0, 800.0, -800.0], [-800.0, -800.0, -1600.0]], device)
    np.testing.assert_allclose(F.logsumexp(x, axis=1).numpy(), [800 + math.log(2), -800 + math.log(2)],
                               rtol=1e-15)
    p = F.softmax(x, axis=1).numpy()
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], rtol=1e-15, atol=0)
    np.testing.assert_allclose(F.log_softmax(x, axis=1).numpy(), [[-math.log(2)] * 2 + [-1600 - math.log(2)],
                                                                 [-math.log(2)] * 2 + [-800 - math.log(2)]],
                               rtol=1e-15)
    for fn in (lambda t: F.logsumexp(t, axis=1), lambda t: F.softmax(t, axis=1)[:, 0],
               lambda t: F.log_softmax(t, axis=1)[:, 2]):
        for d in derivatives(fn, x, 2):
            assert np.all(np.isfinite(d))
    g, = tw.grad(F.logsumexp(x, axis=1).sum(), x)  # exp(x - y): as exact as y, to ~|x| ulp (as in PyTorch)
    np.testing.assert_allclose(g.numpy(), p, rtol=800 * 2.0 ** -52)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_logsumexp_of_infinities(device):
    minus_inf = tw.tensor(backend.to_device(np.array([-np.inf, -np.inf]), device))
    assert F.logsumexp(minus_inf).item() == -math.inf  # log 0, not -inf - (-inf) = NaN
    assert F.logsumexp(tw.tensor(backend.to_device(np.array([np.inf, 1.0]), device))).item() == math.inf
    x = leaf([-np.inf, 0.0, 0.0], device)
    g, = tw.grad(F.logsumexp(x), x)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.5, 0.5])


# -------------------------------------------------------------------------------------------------------
# Integer-array indexing: NumPy's values, scatter-add of repeated indices, index -n


def _np_cases(n0, n1):
    return [
        (np.array([0, -n0, n0 - 1, 0]),),
        (slice(None), np.array([-n1, 1, 1])),
        (Ellipsis, np.array([1, -2, 1])),
        (slice(1, None), np.array([0, 0])),
        (np.array([0, 1, -n0, 1]), np.array([-n1, n1 - 1, 0, -n1])),
        (np.array([2, 2]), np.array([1, 1])),
    ]


@pytest.mark.parametrize("case", range(6))
def test_integer_array_indexing_matches_numpy(device, speed, case):
    a = np.arange(3 * 4 * 2, dtype=np.float64).reshape(3, 4, 2) / 7
    index = _np_cases(3, 4)[case]
    x = leaf(a, device)
    on_device = tuple(backend.to_device(i, device) if isinstance(i, np.ndarray) else i for i in index)
    y = x[on_device]
    np.testing.assert_array_equal(y.numpy(), a[index])
    w = np.random.default_rng(case).standard_normal(a[index].shape)
    (y * backend.to_device(w, device)).sum().backward()
    expected = np.zeros_like(a)
    np.add.at(expected, index, w)  # repeated indices add up
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-15)


def test_index_minus_n_reaches_the_first_row(device, speed):
    x = leaf(np.arange(6.0).reshape(2, 3), device)
    for index, value, grad in [((backend.to_device(np.array([-2]), device),), [[0.0, 1.0, 2.0]],
                                [[1, 1, 1], [0, 0, 0]]),
                               ((slice(None), [-3]), [[0.0], [3.0]], [[1, 0, 0], [1, 0, 0]]),
                               (([-2, -1], [-3, -3]), [0.0, 3.0], [[1, 0, 0], [1, 0, 0]])]:
        y = x[index]
        np.testing.assert_array_equal(y.numpy(), value)
        g, = tw.grad(y.sum(), x)
        np.testing.assert_array_equal(g.numpy(), grad)


def test_labelled_logits_for_a_classifier_loss(device, speed):
    """-mean_i log softmax(z_i)_{y_i} with z[arange(n), y]: the gradient is (softmax(z) - onehot(y)) / n."""
    rng = np.random.default_rng(1)
    z0, labels = rng.standard_normal((5, 4)), np.array([3, 0, 0, 2, 3])
    z = leaf(z0, device)
    loss = -F.log_softmax(z, axis=1)[list(range(5)), labels.tolist()].mean()
    g, = tw.grad(loss, z)
    p = np.exp(z0 - z0.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(g.numpy(), (p - np.eye(4)[labels]) / 5, rtol=1e-13, atol=1e-16)


# -------------------------------------------------------------------------------------------------------
# The walk computes no gradient nobody asked for


class Spy(tw.Function):
    """y = 2 x, counting its backward calls (and what the walk told it it needs)."""

    def __init__(self, calls):
        self.calls = calls

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        self.calls.append(self.needs_input_grad)
        return gy * 2


@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_visits_only_the_paths_from_the_inputs(create_graph):
    on_path, off_path, above = [], [], []
    x, w, v = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([0.5, 0.5])
    h = Spy(above)(v)  # made from a leaf nobody asks about
    y = (Spy(on_path)(x) * Spy(off_path)(w) * h).sum()
    gx, = tw.grad(y, x, create_graph=create_graph)
    np.testing.assert_array_equal(gx.numpy(), [2 * 6.0 * 1.0, 2 * 8.0 * 1.0])
    assert on_path == [(True,)] and off_path == [] and above == []
    assert x.grad is None and w.grad is None and v.grad is None


def test_grad_with_respect_to_a_non_leaf_does_not_walk_above_it():
    above = []
    x = leaf([1.0, 2.0])
    h = Spy(above)(x)
    gh, = tw.grad(tw.tanh(h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 1 - np.tanh([2.0, 4.0]) ** 2)
    assert above == []
    # ... unless another input lies above it: then h's creator is walked for x's sake
    gh2, gx = tw.grad(tw.tanh(h).sum(), [h, x])
    np.testing.assert_array_equal(gh2.numpy(), gh.numpy())
    np.testing.assert_allclose(gx.numpy(), 2 * gh.numpy())
    assert above == [(True,)]


def test_backward_skips_branches_of_constants():
    calls = []
    x, c = leaf([1.0]), tw.tensor(np.array([2.0]))
    y = (x * Spy(calls)(c)).sum()  # Spy(c) records nothing: no input requires grad
    y.backward()
    assert calls == [] and x.grad.item() == 4.0 and c.grad is None


# -------------------------------------------------------------------------------------------------------
# Bad arguments: a clear error where the argument enters


X = tw.tensor(np.ones((2, 3)))
BAD = [
    (lambda: F.squeeze(X, 0), ValueError, r"squeeze: axis 0 has size 2, not 1 \(x has shape \(2, 3\)\)"),
    (lambda: F.squeeze(X, 2), ValueError, "axis 2 is out of range for a tensor with 2 axes"),
    (lambda: F.expand_dims(X, 3), ValueError, "axis 3 is out of range for a tensor with 3 axes"),
    (lambda: F.expand_dims(X, (1, -3)), ValueError, "names (one position|an axis) twice"),
    (lambda: F.swapaxes(X, 0, 2), ValueError, "axis 2 is out of range"),
    (lambda: F.min(X, -3), ValueError, "axis -3 is out of range"),
    (lambda: F.logsumexp(X, 2), ValueError, "axis 2 is out of range"),
    (lambda: F.softmax(X, 2), ValueError, "axis 2 is out of range"),
    (lambda: F.var(X), TypeError, r"var: pass correction=0 .* or correction=1 .*PyTorch's default"),
    (lambda: F.std(X, 1), TypeError, "std: pass correction="),
    (lambda: F.var(X, 0, correction=2), ValueError, r"below N = 2.*got correction=2"),
    (lambda: F.std(X, correction=-1), ValueError, "correction must be >= 0"),
    (lambda: F.var(X, correction="1"), TypeError, "var: correction must be a Python number; got str"),
    (lambda: X[np.array([0.0])], TypeError, "1-D integers; got shape \\(1,\\), dtype float64"),
    (lambda: X[np.array([True, False])], TypeError, "1-D integers"),
    (lambda: X[:, np.array([[0]])], TypeError, "1-D integers; got shape \\(1, 1\\)"),
    (lambda: X[:, [0, 3]], IndexError, r"in \[-3, 3\) for axis 1 of length 3; got values from 0 to 3"),
    (lambda: X[..., [-4]], IndexError, r"for axis 1 of length 3; got values from -4 to -4"),
    (lambda: X[[0, 1], [0, 3]], IndexError, "for axis 1 of length 3"),
    (lambda: X[[0, 1], [0, 1, 2]], IndexError, r"one length; got lengths \[2, 3\]"),
    (lambda: X[[0], [0], [0]], IndexError, r"3 indices for a 2-d tensor of shape \(2, 3\)"),
    (lambda: X[:, :, [0]], IndexError, "3 indices for a 2-d tensor"),
    (lambda: X[0, [0, 1]], TypeError, "index in two steps"),
    (lambda: X[None, [0, 1]], TypeError, "index in two steps"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_arguments_name_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=message):
        call()
