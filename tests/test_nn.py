"""Modules: parameters and their names, initialisations, state dicts with strict checks, devices, repr."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan import nn
from tinywgan.engine.gradcheck import gradcheck, gradgradcheck


def test_mlp_structure_and_names():
    critic = nn.MLP([2, 512, 512, 512, 1])
    assert [n for n, _ in critic.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "6.weight", "6.bias"]
    assert critic[0].weight.shape == (2, 512) and critic[6].weight.shape == (512, 1)
    assert isinstance(critic[1], nn.ReLU) and len(critic) == 7
    g = nn.MLP([128, 512, 784], output_activation="tanh")
    assert isinstance(g[-1], nn.Tanh)
    text = repr(nn.MLP([2, 4, 1], activation="leaky_relu"))
    assert "Linear(2, 4, init='pytorch')" in text and "LeakyReLU(slope=0.2)" in text


@pytest.mark.parametrize("init, bound", [
    ("pytorch", lambda i, o: 1 / math.sqrt(i)),
    ("he_uniform", lambda i, o: math.sqrt(6 / i)),
    ("glorot_uniform", lambda i, o: math.sqrt(6 / (i + o)))])
def test_linear_initialisations(init, bound):
    layer = nn.Linear(400, 300, rng=tw.Generator(0), init=init)
    w = layer.weight.numpy()
    b = bound(400, 300)
    assert np.abs(w).max() <= b and np.abs(w).max() > 0.99 * b  # uniform up to the bound
    assert abs(w.std() - b / math.sqrt(3)) < 0.01 * b  # the std of U(-b, b)
    if init != "pytorch":
        assert np.all(layer.bias.numpy() == 0)


def test_same_seed_same_weights(device):
    a = nn.MLP([3, 5, 1], rng=tw.Generator(4, device))
    b = nn.MLP([3, 5, 1], rng=tw.Generator(4, device))
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_mlp_gradients(device):
    net = nn.MLP([3, 4, 2], activation="tanh", rng=tw.Generator(0, device), dtype="float64")
    x = backend.to_device(np.random.default_rng(0).standard_normal((5, 3)), device)
    w, b = net[0].weight.data, net[0].bias.data

    def f(x_, w_, b_):
        net[0].weight, net[0].bias = w_, b_
        return net(x_)
    assert gradcheck(f, [x, w, b]) and gradgradcheck(f, [x, w, b])


def test_state_dict_round_trip_and_strict_checks():
    a = nn.MLP([3, 5, 1], rng=tw.Generator(0))
    b = nn.MLP([3, 5, 1], rng=tw.Generator(1))
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    state = a.state_dict()
    state["2.weight"] = np.zeros((4, 1), np.float32)
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(5, 1\) in the model and \(4, 1\) in the state"):
        b.load_state_dict(state)
    state = a.state_dict()
    state["0.bias"] = state["0.bias"].astype(np.float64)
    with pytest.raises(ValueError, match="'0.bias' has dtype float32 in the model and float64"):
        b.load_state_dict(state)
    state = a.state_dict()
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing \['0.bias'\], unexpected \['extra'\]"):
        b.load_state_dict(state)
    before = b.state_dict()
    assert b.check_state_dict(state, strict=False) == ["0.weight", "2.weight", "2.bias"]  # module order
    b.load_state_dict(state, strict=False)  # loads the three that fit, keeps 0.bias
    np.testing.assert_array_equal(b[0].bias.numpy(), before["0.bias"])
    np.testing.assert_array_equal(b[2].weight.numpy(), state["2.weight"])
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(5, 1\) in the model and \(4, 1\) in the file"):
        b.check_state_dict({**a.state_dict(), "2.weight": np.zeros((4, 1), np.float32)}, source="the file")


def test_state_dict_is_a_copy():
    a = nn.MLP([2, 1])
    s = a.state_dict()
    s["0.weight"][...] = 7
    assert not np.any(a[0].weight.numpy() == 7)


def test_to_device_moves_parameters():
    a = nn.MLP([2, 3, 1]).to("strict")
    assert all(p.device == "strict" for p in a.parameters())
    y = a(tw.tensor(np.ones((4, 2), np.float32), device="strict"))
    assert y.device == "strict" and y.shape == (4, 1)
    a.to("cpu")
    assert all(p.device == "cpu" for p in a.parameters())


def test_zero_grad():
    a = nn.MLP([2, 3, 1])
    a(tw.tensor(np.ones((4, 2), np.float32))).sum().backward()
    assert all(p.grad is not None for p in a.parameters())
    a.zero_grad()
    assert all(p.grad is None for p in a.parameters())


def test_train_and_eval_set_the_mode_of_every_submodule_and_return_self():
    class Bare(nn.Module):  # no __init__ of its own, no super().__init__()
        def __init__(self):
            self.inner = nn.Linear(2, 2)

    mlp = nn.MLP([2, 3, 1])
    model = nn.Sequential(mlp, Bare())
    assert all(m.training for m in model.modules()) and Bare().training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())
    assert model.train(False) is model and not any(m.training for m in model.modules())
    mlp.train()  # a sub-network alone
    assert all(m.training for m in mlp.modules()) and not model.training and not model[1].inner.training
    assert [n for n, _ in model.named_parameters()] == ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias",
                                                        "1.inner.weight", "1.inner.bias"]
    assert "training" not in repr(model) and list(model.state_dict()) == [n for n, _ in model.named_parameters()]


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="init must be one of"):
        nn.Linear(2, 3, init="xavier")
    with pytest.raises(ValueError, match=r"input has shape \(4, 3\); its last axis must be 2"):
        nn.Linear(2, 3)(tw.tensor(np.ones((4, 3), np.float32)))
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.MLP([2, 3, 1], activation="swish")


def test_shared_parameter_is_listed_once_and_failed_load_changes_nothing():
    a = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    a[1].weight = a[0].weight
    assert [n for n, _ in a.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    b = nn.MLP([3, 5, 1], rng=tw.Generator(0))
    before = {k: v.copy() for k, v in b.state_dict().items()}
    state = nn.MLP([3, 5, 1], rng=tw.Generator(1)).state_dict()
    state["2.weight"] = np.zeros((9, 9), np.float32)
    with pytest.raises(ValueError, match="2.weight"):
        b.load_state_dict(state)
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_fused_linear_activation_changes_no_number(device):
    """With the speed layer on, a Sequential (an MLP) runs each Linear with the ReLU / LeakyReLU after it as
    one op; outputs, gradients and the gradient penalty's double backprop come out bit for bit as with the
    speed layer off, where its layers are called one by one."""
    from tinywgan import fast
    from tinywgan.fast import LinearAct
    for activation in ("relu", "leaky_relu"):
        mlp = nn.MLP([3, 6, 6, 1], activation=activation, rng=tw.Generator(0, device), dtype="float64")
        x = tw.tensor(np.random.default_rng(1).standard_normal((5, 3)), device=device, requires_grad=True)
        def run():
            y = mlp(x)
            (g,) = tw.grad(y.sum(), [x], create_graph=True)
            penalty = ((g * g).sum(axis=1).sqrt() - 1.0) ** 2
            weight_grads = tw.grad(penalty.mean(), mlp.parameters(), allow_unused=True)  # biases: unused
            return [y.numpy(), g.numpy()] + [None if h is None else h.numpy() for h in weight_grads]
        fast.enable(memory=False)
        results = [run()]
        with fast.disabled():
            results.append(run())
        assert sum(a is not None for a in results[0]) == 5  # y, g and the three weight matrices
        for a, b in zip(*results):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
        hidden = mlp(x).creator.inputs[0].creator  # the op before the output layer
        assert isinstance(hidden, LinearAct) and hidden.slope == mlp[1].slope
        with fast.disabled():
            assert not isinstance(mlp(x).creator.inputs[0].creator, LinearAct)
        assert isinstance(mlp(x).creator.inputs[0].creator, LinearAct)
    # a NumPy float slope, batched float32 input: fused and layer by layer still agree to the bit
    mlp = nn.MLP([3, 6, 1], activation=nn.LeakyReLU(np.float32(0.2)), rng=tw.Generator(0, device))
    x = tw.tensor(np.random.default_rng(2).standard_normal((2, 5, 3)).astype(np.float32), device=device)
    np.testing.assert_array_equal(mlp(x).numpy(), mlp[2](mlp[1](mlp[0](x))).numpy())
    np.testing.assert_array_equal(tw.leaky_relu(x, np.float32(0.2)).numpy(), tw.leaky_relu(x, 0.2).numpy())


def test_an_activation_subclass_keeps_its_own_forward():
    class Doubled(nn.ReLU):
        def forward(self, x):
            return 2.0 * super().forward(x)
    mlp = nn.MLP([2, 3, 1], activation=Doubled())
    x = tw.tensor(np.ones((4, 2), np.float32))
    hidden = mlp[1](mlp[0](x))
    np.testing.assert_array_equal(mlp(x).numpy(), mlp[2](hidden).numpy())
