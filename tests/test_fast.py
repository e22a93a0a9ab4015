"""The speed layer (tinywgan.fast): switchable, connected at one seam, and number-neutral.

The op table's gradient checks run with it on and off (tests/test_functions.py, the `speed` fixture); here:
whole training runs give the same logs and weights bit for bit, the switches work, and importing tinywgan
changes nothing in the process (the memory setting waits for a run).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tinywgan as tw
from tinywgan import data, fast, nn
from tinywgan.engine import backend
from tinywgan.engine.backprop import NO_GRAPH_BACKWARD
from tinywgan.wgan import WGANConfig, spectral_norm, train

TOY = data.toy_dataset("8gaussians")


@pytest.fixture(autouse=True)
def layer_on():
    """Each test starts with the layer on (also under TINYWGAN_FAST=0) and leaves it as it found it."""
    was = fast.is_enabled()
    fast.enable(memory=False)
    yield
    fast.enable(memory=False) if was else fast.disable()


def _run(lipschitz: str, device: str):
    rng = tw.Generator(3, device)
    generator = nn.MLP([2, 16, 16, 2], rng=rng)
    critic = nn.MLP([2, 16, 16, 1], activation="leaky_relu", rng=rng)
    if lipschitz == "sn":
        critic = spectral_norm(critic, rng=0)
    config = (WGANConfig.clipping(steps=4, batch_size=32, device=device, progress=False) if lipschitz == "clip"
              else WGANConfig(lipschitz=lipschitz, steps=4, batch_size=32, device=device, progress=False))
    log = train(config, TOY.sample, generator, critic).to_dict()
    log.pop("wall_time")
    weights = {**{"g." + k: backend.to_numpy(v) for k, v in generator.state_dict().items()},
               **{"c." + k: backend.to_numpy(v) for k, v in critic.state_dict().items()}}
    return log, weights


@pytest.mark.parametrize("lipschitz", ["gp", "clip", "sn"])
def test_training_gives_the_same_log_and_weights_with_the_speed_layer_on_and_off(device, lipschitz):
    assert fast.is_enabled()
    log_fast, weights_fast = _run(lipschitz, device)
    with fast.disabled():
        assert not fast.is_enabled() and not NO_GRAPH_BACKWARD
        log_textbook, weights_textbook = _run(lipschitz, device)
    assert fast.is_enabled()
    assert log_fast == log_textbook  # every logged number, exactly
    assert weights_fast.keys() == weights_textbook.keys()
    for name in weights_fast:
        np.testing.assert_array_equal(weights_fast[name], weights_textbook[name], err_msg=name)


def test_user_code_gradients_are_the_same_with_the_speed_layer_on_and_off():
    """A Sequential critic, the penalty written by hand and backward(): the user's path, not the trainer's."""
    rng = np.random.default_rng(0)
    x = tw.tensor(rng.standard_normal((8, 3)), requires_grad=True)
    grads = []
    for on in (True, False):
        fast.enable(memory=False) if on else fast.disable()
        critic = nn.Sequential(nn.Linear(3, 5, rng=tw.Generator(1), dtype="float64"), nn.ReLU(),
                               nn.Linear(5, 5, rng=tw.Generator(2), dtype="float64"), nn.LeakyReLU(0.2),
                               nn.Linear(5, 1, rng=tw.Generator(3), dtype="float64"))
        (g,) = tw.grad(critic(x).sum(), x, create_graph=True)
        loss = critic(x).mean() + 10 * (((g * g).sum(axis=1).sqrt() - 1) ** 2).mean()
        loss.backward()
        grads.append([p.grad.numpy() for p in critic.parameters()] + [x.grad.numpy()])
        x.grad = None
    fast.enable(memory=False)
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def _bits(a):
    """The bit patterns of a float array: equal bits, not only equal values (a zero's sign included)."""
    a = np.ascontiguousarray(backend.to_numpy(a))
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("kind", ["feature matching", "orthogonality", "tied"])
def test_graphs_where_a_weight_collects_many_gradients_give_the_same_bits(kind):
    """A weight whose gradient is a sum of three or more contributions: their order decides the last bits.
    The fused Linear + activation op stands for two nodes (its output's generation counts both), and the walk
    visits by generation, then newest first, so the contributions meet in the same order either way."""
    def gradients(seed):
        rng = np.random.default_rng(seed)
        critic = nn.MLP([2, 16, 16, 16, 1], rng=tw.Generator(seed))
        real, fake = (tw.tensor(rng.standard_normal((32, 2)).astype("float32")) for _ in range(2))
        loss = critic(fake).mean() - critic(real).mean()
        if kind == "feature matching":  # the first hidden layer called by hand, unfused
            d = critic[1](critic[0](real)).mean(axis=0) - critic[1](critic[0](fake)).mean(axis=0)
            loss = loss + (d * d).sum()
        elif kind == "orthogonality":
            for p in critic.parameters():
                if p.ndim == 2:
                    m = p.T @ p
                    loss = loss + 1e-3 * (m * m).sum()
        else:
            loss = loss + critic(critic[0](real)[:, :2]).mean()
        loss.backward()
        return [_bits(p.grad.data) for p in critic.parameters()]
    for seed in range(5):
        fast_bits = gradients(seed)
        with fast.disabled():
            textbook_bits = gradients(seed)
        for a, b in zip(fast_bits, textbook_bits):
            np.testing.assert_array_equal(a, b)


def test_pow_with_a_numpy_exponent_keeps_float32_and_the_same_gradient():
    x = tw.tensor(np.linspace(0.5, 2.0, 6, dtype=np.float32), requires_grad=True)
    y = tw.pow(x, np.float64(3.0))
    assert y.dtype == np.float32
    (g,) = tw.grad(y.sum(), x)
    with fast.disabled():
        (g_textbook,) = tw.grad(tw.pow(x, np.float64(3.0)).sum(), x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(_bits(g.data), _bits(g_textbook.data))


def test_a_wider_bias_promotes_in_the_fused_op_as_in_the_textbook():
    layer = nn.Linear(3, 4, rng=tw.Generator(0))
    layer.bias.data = layer.bias.data.astype(np.float64)  # set by hand to another dtype
    x = tw.tensor(np.ones((2, 3), np.float32))
    fused = nn.Sequential(layer, nn.ReLU())(x)
    with fast.disabled():
        textbook = nn.Sequential(layer, nn.ReLU())(x)
    assert fused.dtype == textbook.dtype == np.float64
    np.testing.assert_array_equal(_bits(fused.data), _bits(textbook.data))


def test_the_switches():
    assert fast.is_enabled() and NO_GRAPH_BACKWARD
    fast.disable()
    try:
        assert not fast.is_enabled() and not NO_GRAPH_BACKWARD
        assert nn.Sequential.forward is fast._textbook_sequential_forward
        with fast.disabled():  # nested: stays off, and off after
            assert not fast.is_enabled()
        assert not fast.is_enabled()
    finally:
        fast.enable(memory=False)
    assert fast.is_enabled() and nn.Sequential.forward is fast.sequential_forward
    with pytest.raises(RuntimeError):
        with fast.disabled():
            raise RuntimeError("an error inside the block")
    assert fast.is_enabled()  # put back on the way out


def _python(code: str, **env) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **env}).stdout.strip()


def test_the_environment_variable_switches_it_off_for_a_process():
    code = "import tinywgan; from tinywgan import fast; print(fast.is_enabled())"
    assert _python(code, TINYWGAN_FAST="0") == "False"
    assert _python(code, TINYWGAN_FAST="1") == "True"


def test_importing_tinywgan_sets_no_allocator_option():
    """The memory setting is applied when a run starts (or by fast.enable()), never by the import."""
    code = ("import tinywgan; from tinywgan.fast import memory; print(memory._applied); "
            "tinywgan.fast.prepare_run(); print(memory._applied)")
    first, second = _python(code, TINYWGAN_FAST="1", TINYWGAN_KEEP_FREED_MEMORY="1").split()
    assert first == "False"
    assert second == str(sys.platform.startswith("linux"))
