"""The engine itself: the graph walk, grad/backward, higher-order derivatives, double backprop through an
MLP's gradient penalty, grad modes, dtypes, devices, and the errors bad input gets."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan.engine.gradcheck import gradcheck


def leaf(values, device="cpu", dtype="float64"):
    return tw.tensor(np.asarray(values, dtype=dtype), device=device, requires_grad=True)


# -------------------------------------------------------------------------------------------------------
# Higher-order derivatives in closed form


@pytest.mark.parametrize("x0", [-1.3, 0.4, 2.0])
def test_x_cubed_three_levels(device, x0):
    x = leaf([x0], device)
    g1, = tw.grad((x ** 3).sum(), x, create_graph=True)
    g2, = tw.grad(g1.sum(), x, create_graph=True)
    g3, = tw.grad(g2.sum(), x, create_graph=True)
    np.testing.assert_allclose(g1.numpy(), [3 * x0 ** 2], rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), [6 * x0], rtol=1e-12)
    np.testing.assert_allclose(g3.numpy(), [6.0], rtol=1e-12)


@pytest.mark.parametrize("x0", [-0.7, 0.0, 1.1])
def test_tanh_three_levels(device, x0):
    x = leaf([x0], device)
    t = math.tanh(x0)
    g1, = tw.grad(tw.tanh(x).sum(), x, create_graph=True)
    g2, = tw.grad(g1.sum(), x, create_graph=True)
    g3, = tw.grad(g2.sum(), x, create_graph=True)
    # d tanh = 1 - t^2;  d^2 = -2 t (1 - t^2);  d^3 = (1 - t^2)(6 t^2 - 2)
    np.testing.assert_allclose(g1.numpy(), [1 - t * t], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g2.numpy(), [-2 * t * (1 - t * t)], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g3.numpy(), [(1 - t * t) * (6 * t * t - 2)], rtol=1e-12, atol=1e-15)


def test_create_graph_false_records_no_graph():
    x = leaf([0.5, -1.0])
    g, = tw.grad(tw.tanh(x * x).sum(), x)
    assert g.creator is None and not g.requires_grad
    y = tw.tanh(x * x).sum()
    y.backward()
    assert x.grad.creator is None and not x.grad.requires_grad
    g2, = tw.grad(tw.tanh(x * x).sum(), x, create_graph=True)
    assert g2.creator is not None and g2.requires_grad


def test_no_grad_and_enable_grad():
    x = leaf([1.0, 2.0])
    with tw.no_grad():
        y = x * 2
        with tw.enable_grad():
            z = x * 3
    assert y.creator is None and not y.requires_grad
    assert z.creator is not None and z.requires_grad
    assert tw.is_grad_enabled()


# -------------------------------------------------------------------------------------------------------
# The graph walk


def test_shared_subexpression_accumulates():
    # y = a*a + a*a*a uses `a` from several places; dy/da = 2a + 3a^2
    a = leaf([1.5])
    y = a * a + a * a * a
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), [2 * 1.5 + 3 * 1.5 ** 2])


@pytest.mark.parametrize("create_graph", [False, True])
def test_gradients_shared_by_several_inputs_accumulate_correctly(device, create_graph):
    """Add passes its gradient on to both operands unchanged: one tensor becomes the gradient of several
    inputs, so adding a later contribution into it in place would change all of them (the walk never
    does: accumulation is a + b)."""
    x, w = leaf([1.0, 2.0], device), leaf([0.5, -1.0], device)
    p, q = x * 1.0, (w * 1.0) * 1.0  # q one op deeper: t's Add is walked before p's other uses
    t = p + q  # t's gradient (a sum of three) reaches p and q as one tensor
    loss = t.sum() + (t * 2.0).sum() + (t * 3.0).sum() + (p * 4.0).sum() + (p * 5.0).sum()
    gt, gx, gw = tw.grad(loss, [t, x, w], create_graph=create_graph)
    np.testing.assert_allclose(gt.numpy(), [6.0, 6.0])  # 1 + 2 + 3
    np.testing.assert_allclose(gx.numpy(), [15.0, 15.0])  # 6 through t, 4 + 5 directly
    np.testing.assert_allclose(gw.numpy(), [6.0, 6.0])  # through t alone
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [15.0, 15.0])
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 6.0])


def test_backward_accumulates_into_grad_and_grad_leaves_it_alone():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    before = x.grad
    tw.grad((x * x).sum(), x)
    assert x.grad is before


def test_broadcasting_is_undone_centrally(device):
    a = leaf(np.ones((4, 3)), device)
    b = leaf(np.arange(3.0), device)
    c = leaf(2.0, device)
    (a * b + c).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 4.0, 4.0])
    np.testing.assert_allclose(c.grad.numpy(), 12.0)
    assert a.grad.shape == (4, 3) and b.grad.shape == (3,) and c.grad.shape == ()


def test_grad_of_a_non_leaf_input_stops_there():
    w = leaf([2.0])
    x = leaf([3.0])
    h = x * w  # a non-leaf input
    y = (h * h).sum()
    gh, = tw.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), [2 * 6.0])
    assert w.grad is None and x.grad is None


def test_deep_chain_does_not_recurse():
    x = leaf([0.5])
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** 5000], rtol=1e-9)


def test_python_scalars_keep_the_tensor_dtype(device):
    x = tw.tensor(np.ones(3, dtype=np.float32), device=device, requires_grad=True)
    y = (2.5 * x + 1) / 3 - x ** 2
    assert y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.dtype == x.dtype


def test_tensor_basics(device):
    x = tw.tensor(np.arange(6.0).reshape(2, 3), device=device)
    assert x.shape == (2, 3) and x.ndim == 2 and x.T.shape == (3, 2) and x.device == device
    assert isinstance(x.numpy(), np.ndarray)
    assert x[1, 2].item() == 5.0
    np.testing.assert_array_equal(backend.to_numpy(x > 2.0), [[False, False, False], [True, True, True]])
    assert x.to("cpu").device == "cpu"
    d = (x * 2).detach()
    assert d.creator is None
    for maker in (tw.zeros, tw.ones):
        t = maker((2, 2), device=device)
        assert t.shape == (2, 2) and t.device == device and t.dtype == backend.namespace(device).float32
    r1 = tw.randn((3,), rng=tw.Generator(7, device))
    r2 = tw.randn((3,), rng=tw.Generator(7, device))
    np.testing.assert_array_equal(r1.numpy(), r2.numpy())
    u = tw.rand((1000,), rng=tw.Generator(1, device)).numpy()
    assert 0 <= u.min() and u.max() < 1


# -------------------------------------------------------------------------------------------------------
# Double backprop end to end: the WGAN-GP penalty of a 3-layer LeakyReLU MLP


def _mlp(params, x):
    W1, b1, W2, b2, W3, b3 = params
    h = tw.leaky_relu(x @ W1 + b1, 0.2)
    h = tw.leaky_relu(h @ W2 + b2, 0.2)
    return h @ W3 + b3


def _penalty(x_hat, *params):
    """mean((||grad_x f(x_hat)|| - 1)^2) (Gulrajani et al. 2017, Eq. 3 without the weight lambda)."""
    x_hat = x_hat.detach().requires_grad_()
    g, = tw.grad(_mlp(params, x_hat).sum(), x_hat, create_graph=True)
    return ((tw.norm(g, axis=1) - 1) ** 2).mean()


def test_gradient_penalty_of_an_mlp_matches_finite_differences(device):
    rng = np.random.default_rng(0)
    sizes = [3, 6, 5, 1]
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((i, o)) / np.sqrt(i), rng.standard_normal(o) * 0.1]
    x_hat = rng.standard_normal((4, 3))
    # LeakyReLU has kinks: check no pre-activation sits within reach of the finite-difference step.
    h1 = x_hat @ params[0] + params[1]
    h2 = np.where(h1 > 0, h1, 0.2 * h1) @ params[2] + params[3]
    assert np.abs(h1).min() > 1e-3 and np.abs(h2).min() > 1e-3
    x_t = tw.tensor(backend.to_device(x_hat, device))
    params = [backend.to_device(p, device) for p in params]
    assert gradcheck(lambda *ps: _penalty(x_t, *ps), params)


# -------------------------------------------------------------------------------------------------------
# Errors that name the argument and both values


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\).*\(3\).*\(4\)"):
        tw.tensor(np.ones((2, 3))) @ tw.tensor(np.ones((4, 5)))


def test_operands_from_two_backends_are_refused():
    a = tw.tensor(np.ones(2))
    b = tw.tensor(np.ones(2), device="strict")
    with pytest.raises(TypeError, match="'numpy' and 'array_api_strict'"):
        a + b


def test_requires_grad_on_integers_is_refused():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        tw.tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        tw.Tensor(np.arange(3)).requires_grad_()


def test_backward_of_a_non_scalar_needs_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(2,\) needs a gradient"):
        (x * 2).backward()
    (x * 2).backward(np.ones(2))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_grad_of_an_unused_input():
    x, z = leaf([1.0]), leaf([2.0])
    y = (x * 3).sum()
    with pytest.raises(ValueError, match=r"inputs\[1\].*does not reach"):
        tw.grad(y, [x, z])
    gx, gz = tw.grad((x * 3).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 3.0


def test_grad_output_shape_must_match_its_output():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(3,\); its output has shape \(2,\)"):
        tw.grad(x * 2, x, grad_outputs=np.ones(3))


def test_output_that_does_not_require_grad():
    x = leaf([1.0])
    with tw.no_grad():
        y = (x * 2).sum()
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()


def test_getitem_rejects_float_index():
    with pytest.raises(TypeError, match="1-D integers"):
        tw.tensor(np.ones(3))[np.array([0.5])]


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_getitem_with_negative_indices_sends_gradient_to_the_right_rows(device):
    x = tw.tensor(np.arange(3.0), device=device, requires_grad=True)
    index = backend.to_device(np.asarray([-1, 0]), device)
    y = x[index]
    np.testing.assert_array_equal(backend.to_numpy(y.data), [2.0, 0.0])
    y.sum().backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad.data), [1.0, 0.0, 1.0])
    long = tw.tensor(np.arange(200.0), device=device)  # 200 does not fit an int8 index's type
    picked = long[backend.to_device(np.asarray([-1, 3], np.int8), device)]
    assert backend.to_numpy(picked.data).tolist() == [199.0, 3.0]


def test_getitem_refuses_indices_out_of_range():
    x = tw.tensor(np.ones((3, 2)))
    with pytest.raises(IndexError, match=r"in \[-3, 3\) for axis 0 of length 3; got values from 0 to 3"):
        x[np.asarray([0, 3])]
    with pytest.raises(IndexError, match="got values from -4 to 1"):
        x[[1, -4]]
    with pytest.raises(IndexError, match="0-d"):
        tw.tensor(np.float64(1.0))[np.asarray([0])]
    assert x[np.asarray([], dtype=np.int64)].shape == (0, 2)


def test_pow_needs_a_constant_exponent():
    with pytest.raises(TypeError, match="exponent must be a Python number"):
        tw.tensor(np.ones(2)) ** tw.tensor(np.ones(2))


def test_cupy_13_namespace_gets_the_standard_names_it_lacks(monkeypatch):
    """The CuPy shim, on a stand-in for CuPy 13 (NumPy's functions without the names CuPy 13 lacks):
    each missing standard name gets a working stand-in, a name the module has stays its own, and the
    version is the module's (the bench prints it)."""
    import types
    lacking = {"concat", "permute_dims", "astype", "matrix_transpose", "pow", "bool"}
    cupy13 = types.ModuleType("cupy")
    cupy13.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__") and k not in lacking})
    cupy13.__version__ = "13.3.0"
    monkeypatch.setattr(backend, "_CUPY", None)
    xp = backend._cupy_namespace(cupy13)
    a = np.arange(6.0).reshape(2, 3)
    assert xp.__version__ == "13.3.0" and xp.matmul is np.matmul
    assert xp.bool is np.bool_
    assert xp.concat([a, a], axis=1).shape == (2, 6)
    assert xp.permute_dims(a, (1, 0)).shape == (3, 2) and xp.matrix_transpose(a).shape == (3, 2)
    assert xp.astype(a, np.float32).dtype == np.float32 and xp.pow(a, 2)[1, 2] == 25.0
    monkeypatch.setattr(backend, "_CUPY", None)
    cupy14 = types.ModuleType("cupy")
    cupy14.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    cupy14.__version__ = "14.0.0"
    assert backend._cupy_namespace(cupy14).concat is np.concat  # its own, not the stand-in


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="'tpu'"):
        tw.zeros(3, device="tpu")


def test_generator_accepts_dtypes_of_every_spelling(device):
    """A name, NumPy's dtype objects, and the device's own dtype (cupy.float32 is numpy.float32)."""
    rng = tw.Generator(0, device)
    xp = backend.namespace(device)
    for dtype in ("float32", np.float32, np.dtype("float32"), xp.float32):
        assert rng.normal((2,), dtype=dtype).dtype == xp.float32
    assert rng.integers(0, 3, (4,), dtype=xp.int64).dtype == xp.int64
