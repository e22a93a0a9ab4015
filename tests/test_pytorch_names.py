"""PyTorch's names, where they do not fight the array API (issue 16, item 1).

The issue's everyday PyTorch spellings, each checked against the result PyTorch gives, written as a NumPy
formula (and against PyTorch itself when it is installed); then, by topic: creation functions and their
errors, ``manual_seed``, the two spellings of an axis, the calls where PyTorch and NumPy disagree
(``transpose``, ``max(dim=)``, ``x.size``), modules, ``tw.save`` / ``tw.load``, and ``tw.F``.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import tinywgan as tw
from tinywgan import nn
from tinywgan.engine import backend
from tinywgan.engine.gradcheck import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # PyTorch is optional: its comparisons are skipped without it
    torch = None

X = np.array([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]])  # float64: the formulas are compared exactly
POS = np.abs(X) + 0.5


def softmax_np(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# (the spelling, fn(library, x) written as a PyTorch user writes it, the NumPy formula of PyTorch's result,
#  the input). ``library`` is tinywgan (as tw) or torch: the same line runs on both.
SPELLINGS = [
    ("tw.tensor([[1., 2.]])", lambda lib, x: lib.tensor([[1.0, 2.0]]), lambda x: np.array([[1.0, 2.0]], np.float32),
     X),
    ("tw.zeros(2, 3)", lambda lib, x: lib.zeros(2, 3), lambda x: np.zeros((2, 3), np.float32), X),
    ("tw.zeros((2, 3))", lambda lib, x: lib.zeros((2, 3)), lambda x: np.zeros((2, 3), np.float32), X),
    ("tw.ones(2, 3, dtype=tw.float64)", lambda lib, x: lib.ones(2, 3, dtype=lib.float64),
     lambda x: np.ones((2, 3)), X),
    ("x.sum(dim=1, keepdim=True)", lambda lib, x: x.sum(dim=1, keepdim=True), lambda x: x.sum(1, keepdims=True), X),
    ("x.sum(1)", lambda lib, x: x.sum(1), lambda x: x.sum(1), X),
    ("x.mean(dim=0)", lambda lib, x: x.mean(dim=0), lambda x: x.mean(0), X),
    ("x.mean(dim=(0, 1), keepdim=True)", lambda lib, x: x.mean(dim=(0, 1), keepdim=True),
     lambda x: x.mean((0, 1), keepdims=True), X),
    ("x.relu()", lambda lib, x: x.relu(), lambda x: np.maximum(x, 0), X),
    ("x.sigmoid()", lambda lib, x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), X),
    ("x.tanh()", lambda lib, x: x.tanh(), np.tanh, X),
    ("x.exp()", lambda lib, x: x.exp(), np.exp, X),
    ("x.log()", lambda lib, x: x.log(), np.log, POS),
    ("x.pow(2)", lambda lib, x: x.pow(2), lambda x: x ** 2, X),
    ("x.pow(0.5)", lambda lib, x: x.pow(0.5), np.sqrt, POS),
    ("x.view(-1)", lambda lib, x: x.view(-1), lambda x: x.reshape(-1), X),
    ("x.view(3, 2)", lambda lib, x: x.view(3, 2), lambda x: x.reshape(3, 2), X),
    ("x.permute(1, 0)", lambda lib, x: x.permute(1, 0), lambda x: x.T, X),
    ("x.transpose(0, 1)", lambda lib, x: x.transpose(0, 1), lambda x: x.T, X),
    ("x.clamp(min=-0.5, max=1.0)", lambda lib, x: x.clamp(min=-0.5, max=1.0), lambda x: np.clip(x, -0.5, 1.0), X),
    ("x.clamp(min=0)", lambda lib, x: x.clamp(min=0), lambda x: np.maximum(x, 0), X),
    ("x.norm()", lambda lib, x: x.norm(), lambda x: np.sqrt((x * x).sum()), X),
    ("x.norm(dim=1)", lambda lib, x: x.norm(dim=1), lambda x: np.sqrt((x * x).sum(1)), X),
    ("x.unsqueeze(0)", lambda lib, x: x.unsqueeze(0), lambda x: x[None], X),
    ("x.unsqueeze(-1)", lambda lib, x: x.unsqueeze(-1), lambda x: x[..., None], X),
    ("x.unsqueeze(1).squeeze()", lambda lib, x: x.unsqueeze(1).squeeze(), lambda x: x, X),
    ("x.unsqueeze(1).squeeze(1)", lambda lib, x: x.unsqueeze(1).squeeze(1), lambda x: x, X),
    ("x.min()", lambda lib, x: x.min(), lambda x: x.min(), X),
    ("x.max()", lambda lib, x: x.max(), lambda x: x.max(), X),
    ("x.max(dim=1)", lambda lib, x: tuple(x.max(dim=1)), lambda x: (x.max(1), x.argmax(1)), X),
    ("x.min(dim=0, keepdim=True)", lambda lib, x: tuple(x.min(dim=0, keepdim=True)),
     lambda x: (x.min(0, keepdims=True), x.argmin(0)[None]), X),
    ("tw.cat([x, x], dim=1)", lambda lib, x: lib.cat([x, 2 * x], dim=1), lambda x: np.concatenate([x, 2 * x], 1), X),
    ("tw.stack([x, x])", lambda lib, x: lib.stack([x, 2 * x]), lambda x: np.stack([x, 2 * x]), X),
    ("tw.stack([x, x], dim=2)", lambda lib, x: lib.stack([x, 2 * x], dim=2), lambda x: np.stack([x, 2 * x], 2), X),
    ("tw.clamp(x, -1, 1)", lambda lib, x: lib.clamp(x, -1, 1), lambda x: np.clip(x, -1, 1), X),
    ("tw.transpose(x, 0, 1)", lambda lib, x: lib.transpose(x, 0, 1), lambda x: x.T, X),
    ("tw.sum(x, dim=0)", lambda lib, x: lib.sum(x, dim=0), lambda x: x.sum(0), X),
    ("tw.softmax(x, dim=1)", lambda lib, x: lib.softmax(x, dim=1), lambda x: softmax_np(x, 1), X),
    ("x.softmax(dim=0)", lambda lib, x: x.softmax(dim=0), lambda x: softmax_np(x, 0), X),
    ("x.logsumexp(dim=1)", lambda lib, x: x.logsumexp(dim=1), lambda x: np.log(np.exp(x).sum(1)), X),
    ("x.std(dim=1, correction=1)", lambda lib, x: x.std(dim=1, correction=1), lambda x: x.std(1, ddof=1), X),
    ("x.T", lambda lib, x: x.T, lambda x: x.T, X),
    ("F.relu(x)", lambda lib, x: lib.nn.functional.relu(x), lambda x: np.maximum(x, 0), X),
    ("F.mse_loss(x, 0 * x)", lambda lib, x: lib.nn.functional.mse_loss(x, 0 * x), lambda x: (x * x).mean(), X),
]


def as_numpy(result):
    if isinstance(result, tuple):
        return tuple(as_numpy(r) for r in result)
    if torch is not None and isinstance(result, torch.Tensor):
        return result.detach().numpy()
    return result.numpy()


def compare(got, expected):
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            compare(g, e)
        return
    expected = np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got.shape, got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("spelling, fn, formula, x", SPELLINGS, ids=[row[0] for row in SPELLINGS])
def test_pytorch_spelling_gives_pytorchs_result(spelling, fn, formula, x):
    compare(as_numpy(fn(tw, tw.tensor(x))), formula(x))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("spelling, fn, formula, x", SPELLINGS, ids=[row[0] for row in SPELLINGS])
def test_pytorch_spelling_matches_pytorch_itself(spelling, fn, formula, x):
    compare(as_numpy(fn(tw, tw.tensor(x))), as_numpy(fn(torch, torch.tensor(x))))


def test_the_namespaces_a_pytorch_user_reaches_for():
    assert tw.nn is nn and tw.optim.Adam and tw.autograd.grad is tw.grad
    assert tw.nn.functional is tw.F and importlib.import_module("tinywgan.nn.functional") is tw.F
    assert tw.float32 == np.float32 and tw.float64 == np.float64 and tw.int64 == np.int64
    with tw.no_grad():
        assert not tw.is_grad_enabled()


def test_import_tinywgan_nn_functional_in_a_fresh_process():
    code = "import tinywgan.nn.functional as F, tinywgan; assert F is tinywgan.F; print(F.relu.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "relu", out.stderr


def test_autograd_grad_and_a_linear_layer_and_adam_as_in_pytorch():
    x = tw.tensor(X, requires_grad=True)
    g, = tw.autograd.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * X ** 2)
    layer = tw.nn.Linear(3, 2, rng=0)
    W, b = layer.weight.numpy().copy(), layer.bias.numpy().copy()
    inp = tw.randn(4, 3, rng=1)
    np.testing.assert_allclose(layer(inp).numpy(), inp.numpy() @ W + b, rtol=1e-6)
    opt = tw.optim.Adam(layer.parameters(), lr=0.1)
    opt.zero_grad()
    layer(inp).sum().backward()
    grad_b = layer.bias.grad.numpy()
    opt.step()  # Adam's first step: m_hat = g, v_hat = g**2, so p -= lr * g / (|g| + eps)
    np.testing.assert_allclose(layer.bias.numpy(), b - 0.1 * grad_b / (np.abs(grad_b) + 1e-8), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# Creation


def test_creation_takes_the_shape_as_ints_or_one_tuple(device):
    for make in (tw.zeros, tw.ones):
        a, b, c = make(2, 3, device=device), make((2, 3), device=device), make([2, 3], device=device)
        assert a.shape == b.shape == c.shape == (2, 3) and a.device == device and a.dtype == b.dtype
    assert tw.zeros(()).shape == () and tw.zeros(0, 2).shape == (0, 2) and tw.zeros(np.int64(3)).shape == (3,)
    for make in (tw.randn, tw.rand):
        a, b = make(2, 3, rng=5, device=device), make((2, 3), rng=5, device=device)
        assert a.device == device and a.dtype == backend.namespace(device).float32
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert tw.randn(4, dtype=tw.float64, rng=0).dtype == np.float64
    assert tw.zeros(2, dtype=np.float64).dtype == np.float64 and tw.zeros(2, dtype="int64").dtype == np.int64
    assert tw.tensor([1.0], dtype=tw.float64).dtype == np.float64
    assert tw.zeros(2, requires_grad=True).requires_grad


def test_tensor_copies_its_data_as_pytorchs_does(device):
    a = backend.to_device(np.ones(3), device)
    layer = nn.Linear(2, 2, rng=0)
    t, w = tw.tensor(a), tw.tensor(layer.weight)
    before = layer.weight.numpy().copy()
    layer.weight.data *= 2  # what an optimizer's step does
    a[...] = 5.0
    np.testing.assert_array_equal(t.numpy(), np.ones(3))
    np.testing.assert_array_equal(w.numpy(), before)
    assert not w.requires_grad and tw.tensor(t, requires_grad=True).requires_grad


def test_a_seed_gives_the_same_numbers_on_every_device():
    cpu = tw.randn(3, 2, rng=7).numpy()
    np.testing.assert_array_equal(tw.randn(3, 2, rng=7, device="strict").numpy(), cpu)
    np.testing.assert_array_equal(tw.randn(3, 2, rng=tw.Generator(7, "strict")).numpy(), cpu)
    np.testing.assert_array_equal(tw.randn(3, 2, rng=np.random.default_rng(7)).numpy(), cpu)
    np.testing.assert_array_equal(cpu, np.random.default_rng(7).standard_normal((3, 2)).astype(np.float32))
    u = tw.rand(1000, rng=1).numpy()
    assert u.min() >= 0 and u.max() < 1


CREATION_ERRORS = [
    (lambda: tw.zeros(2, -3), ValueError, r"zeros: shape\[1\] must be an integer >= 0; got -3"),
    (lambda: tw.ones((2, -1)), ValueError, r"ones: shape\[1\] must be an integer >= 0; got -1"),
    (lambda: tw.zeros(2.5), TypeError, r"zeros: shape\[0\] must be an integer >= 0; got float 2.5"),
    (lambda: tw.randn(2, 3.0), TypeError, r"randn: shape\[1\] must be an integer >= 0; got float 3.0"),
    (lambda: tw.zeros(True), TypeError, r"zeros: shape\[0\] must be an integer"),
    (lambda: tw.zeros("3"), TypeError, r"zeros: shape\[0\] must be an integer; got a str .*keyword-only"),
    (lambda: tw.zeros(), TypeError, r"zeros: missing the shape"),
    (lambda: tw.randn((2, 3), tw.Generator(0)), TypeError,
     r"randn: shape\[1\] must be an integer; got a Generator \(everything but the shape is keyword-only: "
     r"randn\(2, 3, rng=rng"),
    (lambda: tw.rand(2, np.random.default_rng(0)), TypeError, r"rand: shape\[1\] .* keyword-only"),
    (lambda: tw.zeros(2, dtype="flaot32"), ValueError, r"zeros: dtype must be one of bool, .*float64.*got 'flaot32'"),
    (lambda: tw.tensor([1.0], dtype="float"), ValueError, r"tensor: dtype must be one of .*got 'float'"),
    (lambda: tw.ones(2, dtype=np.complex64), ValueError, r"ones: dtype must be one of"),
    (lambda: tw.zeros(2, dtype=5), TypeError, r"zeros: dtype must be one of .*got int 5"),
    (lambda: tw.randn(2, dtype="int64"), ValueError, r"randn: dtype must be float32 or float64 .*got int64"),
    (lambda: tw.rand(2, dtype=tw.int32), ValueError, r"rand: dtype must be float32 or float64 .*got int32"),
    (lambda: tw.zeros(2, device="tpu"), ValueError, r"zeros: device must be one of .*got 'tpu'"),
    (lambda: tw.randn(2, device="tpu"), ValueError, r"randn: device must be one of .*got 'tpu'"),
    (lambda: tw.tensor([1.0], device="tpu"), ValueError, r"tensor: device must be one of .*got 'tpu'"),
    (lambda: tw.zeros(2, requires_grad="yes"), TypeError, r"zeros: requires_grad must be True or False; got str"),
    (lambda: tw.zeros(2, dtype="int64", requires_grad=True), TypeError, r"requires_grad=True needs a floating"),
    (lambda: tw.randn(2, rng="0"), TypeError, r"randn: rng must be None, an int seed, a numpy.random.Generator"),
    (lambda: tw.randn(2, rng=-1), ValueError, r"randn: rng: an int seed must be >= 0; got -1"),
    (lambda: tw.manual_seed(-1), ValueError, r"manual_seed: seed must be an integer >= 0; got -1"),
    (lambda: tw.manual_seed(0.5), TypeError, r"manual_seed: seed must be an integer >= 0; got float 0.5"),
    (lambda: tw.manual_seed("3"), TypeError, r"manual_seed: seed must be an integer >= 0; got str '3'"),
]


@pytest.mark.parametrize("call, error, message", CREATION_ERRORS, ids=[m for _, _, m in CREATION_ERRORS])
def test_creation_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_manual_seed_reseeds_the_default_generator_that_draws_when_no_rng_is_given():
    g = tw.manual_seed(3)
    assert g is tw.default_generator and g.seed == 3
    a = tw.randn(2, 3).numpy()
    b = tw.rand(4).numpy()
    tw.manual_seed(3)
    np.testing.assert_array_equal(tw.randn(2, 3).numpy(), a)
    np.testing.assert_array_equal(tw.rand(4).numpy(), b)
    reference = tw.Generator(3)  # the default generator's stream is Generator(seed)'s
    np.testing.assert_array_equal(a, reference.normal((2, 3)))
    tw.manual_seed(3)
    np.testing.assert_array_equal(tw.randn(2, 3, device="strict").numpy(), a)  # every device, one stream
    tw.manual_seed(4)
    assert not np.array_equal(tw.randn(2, 3).numpy(), a)


def test_a_seeded_call_does_not_touch_the_default_generator():
    seeded = tw.randn(3, rng=11).numpy()
    tw.manual_seed(0)
    state = tw.default_generator.state_dict()
    np.testing.assert_array_equal(tw.randn(3, rng=11).numpy(), seeded)  # the same, whatever the global seed
    nn.MLP([2, 3, 1], rng=tw.Generator(1))
    assert tw.default_generator.state_dict() == state


# ---------------------------------------------------------------------------------------------------------
# The two spellings of an axis


BOTH_SPELLINGS = [
    lambda x: x.sum(axis=1, dim=1), lambda x: x.mean(axis=0, dim=0), lambda x: x.max(axis=1, dim=1),
    lambda x: x.min(axis=1, dim=1), lambda x: x.norm(axis=1, dim=1), lambda x: x.squeeze(axis=0, dim=0),
    lambda x: x.unsqueeze(0, axis=0), lambda x: x.logsumexp(dim=1, axis=1), lambda x: x.softmax(dim=1, axis=1),
    lambda x: x.var(axis=1, dim=1, correction=0), lambda x: x.std(axis=1, dim=1, correction=0),
    lambda x: tw.cat([x, x], dim=0, axis=0), lambda x: tw.stack([x, x], dim=0, axis=0),
    lambda x: x.sum(keepdims=True, keepdim=True), lambda x: x.mean(dim=1, keepdims=False, keepdim=False),
]


@pytest.mark.parametrize("call", BOTH_SPELLINGS)
def test_both_spellings_of_one_argument_are_a_type_error(call):
    with pytest.raises(TypeError, match=r"pass (axis= or dim=|keepdims= or keepdim=), not both"):
        call(tw.tensor(X))


def test_either_spelling_gives_the_same_result(device):
    x = tw.tensor(backend.to_device(X, device))
    for name in ("sum", "mean", "norm", "logsumexp"):
        f = getattr(x, name)
        np.testing.assert_array_equal(f(dim=1, keepdim=True).numpy(), f(axis=1, keepdims=True).numpy())
        np.testing.assert_array_equal(f(dim=(0, 1)).numpy(), f(axis=(0, 1)).numpy())
    np.testing.assert_array_equal(x.max(dim=1).values.numpy(), x.max(axis=1).numpy())
    np.testing.assert_array_equal(tw.sum(x, dim=1).numpy(), tw.sum(x, axis=1).numpy())


AXIS_ERRORS = [
    (lambda x: x.sum(dim=2), ValueError, r"sum: dim 2 is out of range for a tensor with 2 axes"),
    (lambda x: x.sum(dim=1.0), TypeError, r"sum: dim must be an int or a tuple of ints; got float"),
    (lambda x: x.mean(dim="0"), TypeError, r"mean: dim must be an int or a tuple of ints; got str"),
    (lambda x: x.sum(dim=1, keepdim=1), TypeError, r"sum: keepdim must be True or False; got int"),
    (lambda x: x.max(dim=(0, 1)), TypeError, r"max: dim must be an int; got tuple"),
    (lambda x: x.max(1), TypeError, r"max: name the axis: max\(dim=1\) gives PyTorch's \(values, indices\), "
                                    r"max\(axis=1\) the values alone"),
    (lambda x: x.min(0), TypeError, r"min: name the axis"),
    (lambda x: x.norm(p=1), ValueError, r"norm: p must be 2 \(or 'fro'\)"),
    (lambda x: x.norm(float("inf")), ValueError, r"norm: p must be 2"),
    (lambda x: x.softmax(), TypeError, r"softmax: name the axis that sums to 1"),
    (lambda x: x.log_softmax(dim=(0, 1)), TypeError, r"log_softmax: dim must be an int; got tuple"),
    (lambda x: x.var(dim=1), TypeError, r"var: pass correction=0"),
    (lambda x: x.unsqueeze(), TypeError, r"unsqueeze: missing dim"),
    (lambda x: x.unsqueeze(3), ValueError, r"unsqueeze: dim 3 is out of range .* it must be in \[-3, 3\)"),
    (lambda x: x.squeeze(0), ValueError, r"squeeze: axis 0 has size 2, not 1"),
    (lambda x: x.view(4, 2), ValueError, r"cannot be reshaped to \(4, 2\)"),
    (lambda x: x.view("float32"), TypeError, r"view: shape\[0\] must be an integer; got str"),
    (lambda x: x.permute(1, 2), ValueError, r"permute: dim 2 is out of range"),
    (lambda x: x.permute(0, 0), ValueError, r"permute: dims \(0, 0\) is not a permutation of the 2 axes"),
    (lambda x: x.permute(0), ValueError, r"permute: dims \(0,\) is not a permutation"),
    (lambda x: x.clamp(), TypeError, r"clamp: give min, max or both"),
    (lambda x: x.clamp(min=1, max=0), ValueError, r"clamp: min must be <= max; got min=1.0, max=0.0"),
    (lambda x: x.clamp(min="0"), TypeError, r"clamp: min must be a number or None; got str"),
    (lambda x: x.clamp(max=float("nan")), ValueError, r"clamp: max must not be NaN"),
    (lambda x: x.pow(x), TypeError, r"pow: the exponent must be a Python number"),
    (lambda x: tw.cat(x, x), TypeError, r"cat: pass the tensors as one list or tuple"),
    (lambda x: tw.cat([]), ValueError, r"cat: needs at least one tensor"),
    (lambda x: tw.stack([x, x], dim=3), ValueError, r"stack: dim 3 is out of range .* it must be in \[-3, 3\)"),
    (lambda x: tw.cat([x, x], dim=2), ValueError, r"cat: dim 2 is out of range"),
]


@pytest.mark.parametrize("call, error, message", AXIS_ERRORS, ids=[m for _, _, m in AXIS_ERRORS])
def test_axis_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call(tw.tensor(X))


# ---------------------------------------------------------------------------------------------------------
# Where PyTorch and NumPy disagree


def test_transpose_swaps_two_axes_as_in_pytorch(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tw.tensor(backend.to_device(a, device))
    np.testing.assert_array_equal(x.transpose(0, 2).numpy(), np.swapaxes(a, 0, 2))
    np.testing.assert_array_equal(x.transpose(-1, 1).numpy(), np.swapaxes(a, -1, 1))
    np.testing.assert_array_equal(tw.transpose(x, 0, 1).numpy(), np.swapaxes(a, 0, 1))
    m = tw.tensor(X)
    np.testing.assert_array_equal(m.transpose(0, 1).numpy(), X.T)  # NumPy's X.transpose(0, 1) would be X
    np.testing.assert_array_equal(m.transpose(1, 0).numpy(), X.T)
    # No axes: all reversed (NumPy's, and on a matrix PyTorch's x.t()); one tuple: a permutation (NumPy's).
    np.testing.assert_array_equal(x.transpose().numpy(), a.transpose())
    np.testing.assert_array_equal(x.transpose((1, 2, 0)).numpy(), a.transpose((1, 2, 0)))
    np.testing.assert_array_equal(tw.transpose(x, (1, 2, 0)).numpy(), a.transpose((1, 2, 0)))
    np.testing.assert_array_equal(tw.transpose(x, axes=(2, 0, 1)).numpy(), a.transpose((2, 0, 1)))
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), a.transpose((2, 0, 1)))


@pytest.mark.parametrize("call", [lambda x: x.transpose(2, 0, 1), lambda x: x.transpose(0),
                                  lambda x: tw.transpose(x, 1), lambda x: x.transpose(0, 1, axes=(0, 1, 2))])
def test_a_transpose_that_means_two_things_is_refused(call):
    with pytest.raises(TypeError, match=r"transpose: pass"):
        call(tw.tensor(np.zeros((2, 3, 4))))


def test_max_and_min_along_a_dim_give_values_and_indices(device):
    a = np.array([[1.0, 3.0, 3.0], [-2.0, -5.0, 0.5]])
    x = tw.tensor(backend.to_device(a, device), requires_grad=True)
    out = x.max(dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices
    np.testing.assert_array_equal(values.numpy(), [3.0, 0.5])
    np.testing.assert_array_equal(indices.numpy(), [1, 2])  # the first of tied maxima
    assert not indices.requires_grad and backend.dtype_kind(indices.dtype) == "i"
    g, = tw.grad(values.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [[0, 0.5, 0.5], [0, 0, 1]])  # ties share the gradient
    lo = x.min(dim=0, keepdim=True)
    np.testing.assert_array_equal(lo.values.numpy(), [[-2.0, -5.0, 0.5]])
    np.testing.assert_array_equal(lo.indices.numpy(), [[1, 1, 1]])
    assert x.max(axis=1).shape == (2,) and x.max().shape == () and x.min().item() == -5.0


def test_size_is_the_element_count_and_calling_it_says_where_the_shape_is():
    x = tw.tensor(X)
    assert x.size == 6 and isinstance(x.size, int) and x.shape == (2, 3)
    with pytest.raises(TypeError, match=r"x.size is the number of elements \(6\).*x.size\(\) is x.shape here"):
        x.size()


# The methods are built on the ops, so their gradients of both orders hold; checked like the op table's rows.
METHOD_GRADIENTS = [
    ("transpose(0, 1)", lambda x: x.transpose(0, 1), (2, 3)),
    ("transpose(0, 2)", lambda x: x.transpose(0, 2), (2, 3, 2)),
    ("permute(2, 0, 1)", lambda x: x.permute(2, 0, 1) * x.permute(2, 0, 1), (2, 3, 2)),
    ("view(-1)", lambda x: x.view(-1) ** 3, (2, 3)),
    ("sum(dim=1, keepdim=True)", lambda x: x.sum(dim=1, keepdim=True) ** 2, (2, 3)),
    ("mean(dim=0)", lambda x: x.mean(dim=0) ** 2, (2, 3)),
    ("norm(dim=1)", lambda x: x.norm(dim=1), (2, 3)),
    ("clamp(min=-0.5, max=0.5)", lambda x: x.clamp(min=-0.5, max=0.5) ** 2, (2, 3)),
    ("unsqueeze(1).squeeze(1)", lambda x: x.unsqueeze(1).squeeze(1) ** 3, (2, 3)),
    ("cat(dim=1)", lambda x: tw.cat([x, x * x], dim=1) ** 2, (2, 3)),
    ("stack(dim=-1)", lambda x: tw.stack([x, x * x], dim=-1) ** 2, (2, 3)),
    ("relu, sigmoid, tanh, exp", lambda x: x.relu() * x.sigmoid() + x.tanh() * x.exp(), (2, 3)),
    ("max(dim=1).values", lambda x: x.max(dim=1).values ** 2, (2, 3)),
]


@pytest.mark.parametrize("name, fn, shape", METHOD_GRADIENTS, ids=[row[0] for row in METHOD_GRADIENTS])
def test_method_gradients(device, speed, name, fn, shape):
    rng = np.random.default_rng(0)
    # distinct values away from the kinks of clamp and relu, so that finite differences do not cross one
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) - 2.2) * 0.137
    xs = [backend.to_device(x, device)]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


# ---------------------------------------------------------------------------------------------------------
# Modules


def test_train_and_eval_return_the_module_and_spectral_norm_advances_u_only_in_training():
    from tinywgan.wgan import spectral_norm
    critic = spectral_norm(nn.MLP([2, 4, 1], rng=0), rng=0)
    x = tw.randn(5, 2, rng=1)
    assert critic.eval() is critic and not critic[0].training
    u = critic[0].u.copy()
    critic(x)
    np.testing.assert_array_equal(critic[0].u, u)  # evaluation leaves u as it was
    assert critic.train() is critic and critic[0].training
    critic(x)
    assert not np.array_equal(critic[0].u, u)


def test_a_pytorch_shaped_linear_weight_is_refused_naming_both_shapes():
    layer = nn.Linear(3, 2, rng=0)
    torch_style = {"weight": np.zeros((2, 3), np.float32), "bias": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 2\) in the model and \(2, 3\) in the state; a "
                                         r"Linear's weight is stored \(in_features, out_features\), the transpose "
                                         r"of PyTorch's"):
        layer.load_state_dict(torch_style)
    layer.load_state_dict({"weight": tw.tensor(torch_style["weight"].T), "bias": torch_style["bias"]})  # Tensors too
    assert np.all(layer.weight.numpy() == 0)


# ---------------------------------------------------------------------------------------------------------
# tw.save and tw.load


def test_a_state_dict_round_trips(tmp_path):
    model = nn.MLP([2, 5, 1], rng=0)
    path = tw.save(model.state_dict(), tmp_path / "model.pt")
    assert path == tmp_path / "model.pt" and os.listdir(tmp_path) == ["model.pt"]
    state = tw.load(path)
    assert isinstance(state, OrderedDict) and list(state) == list(model.state_dict())
    for name, array in model.state_dict().items():
        assert state[name].dtype == array.dtype
        np.testing.assert_array_equal(state[name], array)
    other = nn.MLP([2, 5, 1], rng=1)
    other.load_state_dict(tw.load(str(path)))
    x = tw.randn(3, 2, rng=2)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_a_checkpoint_of_state_dicts_round_trips_and_continues_exactly(tmp_path):
    def setup(seed):
        model = nn.MLP([2, 4, 1], rng=seed)
        return model, tw.optim.Adam(model.parameters(), lr=1e-2), tw.Generator(seed)

    def step(model, opt, rng):
        opt.zero_grad()
        (model(tw.randn(8, 2, rng=rng)) ** 2).mean().backward()
        opt.step()

    model, opt, rng = setup(0)
    step(model, opt, rng)
    extra = {"step": 1, "losses": [0.5, float("inf")], "pair": (1, "a"), "scale": np.float32(0.25), 3: None,
             "leaf": tw.tensor([1.0, 2.0], requires_grad=True)}
    tw.save({"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.state_dict(), **extra},
            tmp_path / "run.npz")
    back = tw.load(tmp_path / "run.npz")
    assert back["step"] == 1 and back["losses"] == [0.5, float("inf")] and back["pair"] == (1, "a")
    assert back[3] is None and back["scale"] == np.float32(0.25) and back["scale"].dtype == np.float32
    assert isinstance(back["leaf"], tw.Tensor) and back["leaf"].requires_grad
    np.testing.assert_array_equal(back["leaf"].numpy(), [1.0, 2.0])
    model2, opt2, rng2 = setup(5)
    model2.load_state_dict(back["model"])
    opt2.load_state_dict(back["opt"])
    rng2.load_state_dict(back["rng"])
    step(model, opt, rng)
    step(model2, opt2, rng2)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_moves_arrays_to_a_device_and_reads_trainer_checkpoints(tmp_path):
    from tinywgan.wgan import checkpoint
    model = nn.MLP([2, 3, 1], rng=0)
    tw.save({"w": model.state_dict(), "t": tw.tensor([1.0])}, tmp_path / "a.npz")
    back = tw.load(tmp_path / "a.npz", device="strict")
    assert backend.device_of(back["w"]["0.weight"]) == "strict" and back["t"].device == "strict"
    opt = tw.optim.RMSprop(model.parameters(), lr=1e-3)
    checkpoint.save(tmp_path / "ckpt.npz", critic=model, opt_critic=opt, rng=tw.Generator(2), step=9)
    items = tw.load(tmp_path / "ckpt.npz")
    assert list(items) == ["critic", "opt_critic", "rng", "step"] and items["step"] == 9
    fresh = nn.MLP([2, 3, 1], rng=1)
    fresh.load_state_dict(items["critic"])
    np.testing.assert_array_equal(fresh[0].weight.numpy(), model[0].weight.numpy())
    with pytest.raises(checkpoint.CheckpointError, match="not a tinywgan checkpoint"):
        checkpoint.load(tmp_path / "a.npz")


SAVE_ERRORS = [
    (lambda p: tw.save(nn.Linear(2, 2, rng=0), p), TypeError,
     r"save: obj is a Linear object; save its state_dict\(\) and load it back with load_state_dict"),
    (lambda p: tw.save({"opt": tw.optim.SGD(nn.Linear(2, 2, rng=0).parameters(), lr=0.1)}, p), TypeError,
     r"save: obj\['opt'\] is a SGD object; save its state_dict"),
    (lambda p: tw.save({"rng": tw.Generator(0)}, p), TypeError, r"save: obj\['rng'\] is a Generator object"),
    (lambda p: tw.save(p, {"a": 1}), TypeError,
     r"save: path must be a str or os.PathLike; got dict"),
    (lambda p: tw.save(str(p), {"a": 1}), TypeError,
     r"the object comes first: tw.save\(obj, path\)"),
    (lambda p: tw.save({1.5: 2}, p), TypeError, r"save: obj has a key of type float \(1.5\); keys must be strings"),
    (lambda p: tw.save({"a": [object()]}, p), TypeError, r"save: obj\['a'\]\[0\] has type object"),
    (lambda p: tw.save({"a": np.array([{}], dtype=object)}, p), TypeError,
     r"save: obj\['a'\] is an array of dtype object; only numbers and booleans"),
    (lambda p: tw.save({"a": {1, 2}}, p), TypeError, r"save: obj\['a'\] has type set"),
    (lambda p: tw.save({}, p.parent / "missing" / "x.npz"), FileNotFoundError,
     r"save: the folder '.*missing' of '.*x.npz' does not exist"),
    (lambda p: tw.save({}, p.parent), IsADirectoryError, r"save: '.*' is a folder; give a file path inside it"),
    (lambda p: tw.load(p.parent / "absent.npz"), FileNotFoundError, r"load: no file .*absent.npz"),
    (lambda p: tw.load(p.parent), IsADirectoryError, r"load: .* is a folder"),
    (lambda p: tw.load(p, device="tpu"), ValueError, r"device must be one of"),
]


@pytest.mark.parametrize("call, error, message", SAVE_ERRORS, ids=[m for _, _, m in SAVE_ERRORS])
def test_save_and_load_errors(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path / "x.npz")
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_a_list_that_contains_itself_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"save: obj\[0\] contains itself"):
        tw.save(loop, tmp_path / "x.npz")


def test_files_not_written_by_save_are_refused_by_name(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    np.save(tmp_path / "one.npy", np.ones(2))
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    for name, message in (("empty.npz", "is not a file written by tinywgan"),
                          ("one.npy", "holds a single .npy array"),
                          ("other.npz", "is not a file written by tinywgan: the .npz has no '__tinywgan__'")):
        with pytest.raises(ValueError, match=f"load: .*{name} {message}"):
            tw.load(tmp_path / name)


def test_a_failed_save_leaves_the_previous_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tw.save({"a": np.ones(3)}, path)
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tw.save({"a": np.zeros(3)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.skipif(os.name != "posix", reason="process ids are asked about on POSIX only")
def test_temporary_files_of_killed_saves_are_removed_by_the_next_save_or_load(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from tinywgan.npzfile import host_tag as _host
    path = tmp_path / "model.npz"
    stale = tmp_path / f".model.npz.{_host()}-{dead.pid}.0a1b2c3d.tmp"
    mine = tmp_path / f".model.npz.{_host()}-{os.getpid()}.0a1b2c3d.tmp"  # a save of this process, running
    elsewhere = tmp_path / f".model.npz.otherhost-{dead.pid}.0a1b2c3d.tmp"  # another machine's: alive for all we know
    other = tmp_path / f".other.npz.{_host()}-{dead.pid}.0a1b2c3d.tmp"  # another file's: not ours to remove
    for f in (stale, mine, elsewhere, other):
        f.write_bytes(b"half")
    tw.save({"a": 1}, path)
    assert not stale.exists() and mine.exists() and elsewhere.exists() and other.exists()
    stale.write_bytes(b"half")
    assert tw.load(path) == {"a": 1} and not stale.exists()


# ---------------------------------------------------------------------------------------------------------
# tw.F, also tw.nn.functional


def test_functional_activations_and_losses_against_their_formulas():
    F = tw.F
    x, t = tw.tensor(X), tw.tensor(X[::-1].copy())
    np.testing.assert_allclose(F.leaky_relu(x).numpy(), np.where(X > 0, X, 0.2 * X))  # tinywgan's slope 0.2
    np.testing.assert_allclose(F.leaky_relu(x, negative_slope=0.01).numpy(), np.where(X > 0, X, 0.01 * X))
    np.testing.assert_allclose(F.logsigmoid(x).numpy(), -np.log1p(np.exp(-X)))
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), np.log(softmax_np(X, 1)))
    np.testing.assert_allclose(F.mse_loss(x, t).numpy(), ((X - X[::-1]) ** 2).mean())
    np.testing.assert_allclose(F.mse_loss(x, t, reduction="sum").numpy(), ((X - X[::-1]) ** 2).sum())
    assert F.mse_loss(x, t, reduction="none").shape == (2, 3)
    p = np.clip(X[::-1], 0, 1)
    bce = -(p * np.log(1 / (1 + np.exp(-X))) + (1 - p) * np.log(1 - 1 / (1 + np.exp(-X))))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, tw.tensor(p)).numpy(), bce.mean())
    far = F.binary_cross_entropy_with_logits(tw.tensor([800.0, -800.0]), tw.tensor([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(far.numpy(), [800.0, 800.0])  # no log(0) in the far tails
    labels = np.array([2, 0])
    logp = np.log(softmax_np(X, 1))
    np.testing.assert_allclose(F.cross_entropy(x, labels).numpy(), -logp[[0, 1], labels].mean())
    np.testing.assert_allclose(F.cross_entropy(x, tw.tensor(labels), reduction="sum").numpy(),
                               -logp[[0, 1], labels].sum())
    np.testing.assert_allclose(F.nll_loss(tw.tensor(logp), [2, 0]).numpy(), -logp[[0, 1], labels].mean())
    soft = softmax_np(X[::-1], 1)
    np.testing.assert_allclose(F.cross_entropy(x, soft).numpy(), -(soft * logp).sum(1).mean())
    assert F.critic_loss is tw.wgan.critic_loss and F.gradient_penalty is tw.wgan.gradient_penalty


def test_cross_entropy_gradient_is_softmax_minus_one_hot(device):
    x = tw.tensor(backend.to_device(X, device), requires_grad=True)
    labels = backend.to_device(np.array([1, 1]), device)
    g, = tw.grad(tw.F.cross_entropy(x, labels), x)
    np.testing.assert_allclose(g.numpy(), (softmax_np(X, 1) - np.eye(3)[[1, 1]]) / 2, atol=1e-12)
    assert gradgradcheck(lambda z: tw.F.cross_entropy(z, labels), [backend.to_device(X, device)])


FUNCTIONAL_ERRORS = [
    (lambda F, x: F.mse_loss(x, x[:, :1]), ValueError, r"mse_loss: input has shape \(2, 3\) and target has shape "
                                                        r"\(2, 1\); they must be equal"),
    (lambda F, x: F.mse_loss(x, x, reduction="avg"), ValueError, r"mse_loss: reduction must be one of"),
    (lambda F, x: F.cross_entropy(x, np.array([0, 3])), IndexError,
     r"cross_entropy: target holds class indices from 0 to 3; there are 3 classes"),
    (lambda F, x: F.cross_entropy(x, np.array([0, -1])), IndexError, r"class indices from -1 to 0"),
    (lambda F, x: F.cross_entropy(x, np.array([0])), TypeError, r"target must be 2 integer class indices"),
    (lambda F, x: F.cross_entropy(x[0], np.array([0])), ValueError, r"cross_entropy: input must be logits of shape"),
    (lambda F, x: F.nll_loss(x, np.array([0.0, 1.0])), TypeError, r"nll_loss: target must be 2 integer class"),
    (lambda F, x: F.binary_cross_entropy_with_logits(x, x[0]), ValueError,
     r"binary_cross_entropy_with_logits: input has shape"),
    (lambda F, x: F.softmax(x), TypeError, r"softmax: name the axis"),
]


@pytest.mark.parametrize("call, error, message", FUNCTIONAL_ERRORS, ids=[m for _, _, m in FUNCTIONAL_ERRORS])
def test_functional_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call(tw.F, tw.tensor(X))
