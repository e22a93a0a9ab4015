"""The hand-derived WGAN iteration: its gradients against central finite differences (float64), its
optimizers against their formulas, and (when PyTorch is installed) a whole iteration against PyTorch."""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from tinywgan.bench import handwritten as hw
from tinywgan.bench import workloads as wk

ACTIVATIONS = ["relu", "leaky_relu", "tanh"]


def _pre_activations(layers, x, activation, output_activation="identity"):
    """Every hidden pre-activation z_l of the MLP at x, recomputed plainly."""
    zs, h = [], x
    for k, (W, b) in enumerate(layers):
        z = h @ W + b
        if k < len(layers) - 1:
            zs.append(z)
        kind = output_activation if k == len(layers) - 1 else activation
        h = {"relu": lambda z: np.maximum(z, 0), "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z),
             "tanh": np.tanh, "identity": lambda z: z}[kind](z)
    return zs, h


def _away_from_kinks(layers, xs, activation, margin=1e-3):
    """True when no hidden pre-activation is within `margin` of ReLU's kink at 0, so that a finite
    difference of step 1e-6 never crosses it."""
    if activation == "tanh":
        return True
    return all(np.abs(z).min() > margin for x in xs for z in _pre_activations(layers, x, activation)[0])


def _finite_difference_grads(loss, layers, step=1e-6):
    """Central differences (loss(theta + h e_i) - loss(theta - h e_i)) / 2h for every parameter entry."""
    grads = []
    for W, b in layers:
        pair = []
        for p in (W, b):
            d = np.zeros_like(p)
            for i in np.ndindex(p.shape):
                saved = p[i]
                p[i] = saved + step
                up = loss()
                p[i] = saved - step
                down = loss()
                p[i] = saved
                d[i] = (up - down) / (2 * step)
            pair.append(d)
        grads.append(tuple(pair))
    return grads


def _assert_grads_close(got, want, rtol=1e-6, atol=1e-8):
    for k, ((dW, db), (eW, eb)) in enumerate(zip(got, want)):
        np.testing.assert_allclose(dW, eW, rtol=rtol, atol=atol, err_msg=f"dW of layer {k}")
        np.testing.assert_allclose(db, eb, rtol=rtol, atol=atol, err_msg=f"db of layer {k}")


def _critic_problem(activation, sizes, seed):
    """A small float64 critic with real, fake and alpha drawn away from the activation's kinks."""
    for s in range(seed, seed + 100):
        rng = np.random.default_rng(s)
        critic = wk.init_mlp(sizes, rng, np.float64)
        real = rng.standard_normal((6, sizes[0]))
        fake = rng.standard_normal((6, sizes[0]))
        alpha = rng.random((6, 1))
        x_hat = alpha * real + (1 - alpha) * fake
        if _away_from_kinks(critic, [real, fake, x_hat], activation):
            return critic, real, fake, alpha
    raise AssertionError("no draw away from the kinks")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_input_gradient_matches_finite_differences(activation):
    critic, real, _, _ = _critic_problem(activation, (3, 5, 4, 1), seed=0)
    cache = hw.mlp_forward(critic, real, activation)
    _, grad_x = hw.mlp_backward(critic, cache, np.ones((6, 1)), param_grads=False, input_grad=True)
    want = np.zeros_like(real)
    for i in np.ndindex(real.shape):
        up, down = real.copy(), real.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        f = lambda x: hw.mlp_forward(critic, x, activation).output.sum()  # noqa: E731
        want[i] = (f(up) - f(down)) / 2e-6
    np.testing.assert_allclose(grad_x, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("gp_weight", [0.0, 10.0])
@pytest.mark.parametrize("sizes", [(3, 5, 4, 1), (3, 4, 1)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_critic_gradients_match_finite_differences(activation, sizes, gp_weight):
    """L = mean f(fake) - mean f(real) + lambda mean (||grad f(x_hat)|| - 1)^2; grad f(x_hat) inside L
    comes from the hand backward pass, itself checked by the test above."""
    critic, real, fake, alpha = _critic_problem(activation, sizes, seed=1)
    kwargs = dict(activation=activation, gp_weight=gp_weight)
    loss, penalty, grads = hw.critic_gradients(critic, real, fake, alpha, **kwargs)
    assert gp_weight == 0.0 or penalty > 1e-3  # the penalty term is really there
    want = _finite_difference_grads(lambda: hw.critic_gradients(critic, real, fake, alpha, **kwargs)[0],
                                    critic)
    _assert_grads_close(grads, want)


def test_critic_gradients_without_penalty_match_finite_differences():
    critic, real, fake, _ = _critic_problem("relu", (3, 5, 4, 1), seed=2)
    loss, penalty, grads = hw.critic_gradients(critic, real, fake, None)
    assert penalty == 0.0
    want = _finite_difference_grads(lambda: hw.critic_gradients(critic, real, fake, None)[0], critic)
    _assert_grads_close(grads, want)


@pytest.mark.parametrize("critic_activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("generator_activation,generator_output", [("relu", "identity"), ("relu", "tanh"),
                                                                    ("tanh", "identity")])
def test_generator_gradients_match_finite_differences(generator_activation, generator_output,
                                                      critic_activation):
    kwargs = dict(generator_activation=generator_activation, generator_output=generator_output,
                  critic_activation=critic_activation)
    for seed in range(100):
        rng = np.random.default_rng(seed)
        generator = wk.init_mlp((2, 5, 4, 3), rng, np.float64)
        critic = wk.init_mlp((3, 5, 4, 1), rng, np.float64)
        z = rng.standard_normal((6, 2))
        zs, fake = _pre_activations(generator, z, generator_activation, generator_output)
        if (_away_from_kinks(generator, [z], generator_activation)
                and _away_from_kinks(critic, [fake], critic_activation)):
            break
    loss, grads = hw.generator_gradients(generator, critic, z, **kwargs)
    want = _finite_difference_grads(lambda: hw.generator_gradients(generator, critic, z, **kwargs)[0],
                                    generator)
    _assert_grads_close(grads, want)


def test_adam_matches_its_formula_for_three_steps():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((4, 3))
    gs = [rng.standard_normal((4, 3)) for _ in range(3)]
    lr, (beta1, beta2), eps = 1e-2, (0.5, 0.9), 1e-8
    adam = hw.Adam([theta], lr, (beta1, beta2), eps)
    want, m, v = theta.copy(), np.zeros((4, 3)), np.zeros((4, 3))
    for t, g in enumerate(gs, start=1):
        adam.step([g])
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        want = want - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(theta, want, rtol=1e-13, atol=1e-15)


def test_rmsprop_matches_its_formula_for_three_steps():
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(5)
    gs = [rng.standard_normal(5) for _ in range(3)]
    lr, alpha, eps = 1e-2, 0.99, 1e-8
    rmsprop = hw.RMSprop([theta], lr, alpha, eps)
    want, v = theta.copy(), np.zeros(5)
    for g in gs:
        rmsprop.step([g])
        v = alpha * v + (1 - alpha) * g * g
        want = want - lr * g / (np.sqrt(v) + eps)
        np.testing.assert_allclose(theta, want, rtol=1e-13, atol=1e-15)


SMALL = {
    "toy": wk.Workload("toy", (2, 16, 16, 1), (2, 16, 16, 2), "relu", "relu", "identity", 32, 0.1),
    "mnist": wk.Workload("mnist", (20, 16, 16, 1), (8, 16, 16, 20), "leaky_relu", "relu", "tanh", 16, 10.0),
}


@pytest.mark.parametrize("variant", ["gp", "clip"])
@pytest.mark.parametrize("name", ["toy", "mnist"])
def test_iteration_is_the_composition_of_the_gradient_functions(name, variant):
    """The training loop (which reuses its scratch arrays) against the public functions (which allocate
    fresh ones): catches a scratch array overwritten while still needed."""
    wl = SMALL[name]
    rng = np.random.default_rng(3)
    critic = wk.init_mlp(wl.critic_sizes, rng, np.float64)
    generator = wk.init_mlp(wl.generator_sizes, rng, np.float64)
    wgan = hw.HandwrittenWGAN(wl, variant, critic, generator, n_critic=3)
    wgan.iteration(np.random.default_rng(4))

    critic_opt = hw.make_optimizer(wk.flat(critic), variant)
    generator_opt = hw.make_optimizer(wk.flat(generator), variant)
    clip_value = wk.VARIANTS[variant]["clip_value"]
    draws = np.random.default_rng(4)
    for _ in range(3):
        real, z, alpha = wk.draw_critic_inputs(wl, variant, draws, np.float64)
        fake = hw.mlp_forward(generator, z, wl.generator_activation, wl.generator_output).output
        _, _, grads = hw.critic_gradients(critic, real, fake, alpha, activation=wl.critic_activation,
                                          gp_weight=wl.gp_weight)
        critic_opt.step(wk.flat(grads))
        if clip_value is not None:
            for p in wk.flat(critic):
                np.clip(p, -clip_value, clip_value, out=p)
    z = wk.draw_generator_noise(wl, draws, np.float64)
    _, grads = hw.generator_gradients(generator, critic, z, generator_activation=wl.generator_activation,
                                      generator_output=wl.generator_output,
                                      critic_activation=wl.critic_activation)
    generator_opt.step(wk.flat(grads))
    for got, want in zip(wk.flat(wgan.critic + wgan.generator), wk.flat(critic + generator)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("variant", ["gp", "clip"])
def test_float32_stays_float32(variant):
    wgan = hw.HandwrittenWGAN("mnist", variant, n_critic=1)
    losses = wgan.iteration(np.random.default_rng(0))
    assert all(math.isfinite(x) for x in losses)
    arrays = wk.flat(wgan.critic + wgan.generator) + [a for a in wgan.ws._arrays.values()]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}


def test_torch_reference_imports_without_torch(monkeypatch):
    from tinywgan.bench import torch_reference
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    assert torch_reference.torch_available() is False


@pytest.mark.parametrize("variant", ["gp", "clip"])
@pytest.mark.parametrize("name", ["toy", "mnist"])
def test_iteration_matches_pytorch(name, variant):
    pytest.importorskip("torch")
    from tinywgan.bench.torch_reference import TorchWGAN
    wl = wk.WORKLOADS[name]
    rng = np.random.default_rng(5)
    critic = wk.init_mlp(wl.critic_sizes, rng, np.float64)
    generator = wk.init_mlp(wl.generator_sizes, rng, np.float64)
    ours = hw.HandwrittenWGAN(name, variant, critic, generator)
    theirs = TorchWGAN(name, variant, critic, generator)
    np.testing.assert_allclose(ours.iteration(np.random.default_rng(6)),
                               theirs.iteration(np.random.default_rng(6)), rtol=1e-10)
    for got, want in zip(wk.flat(ours.critic + ours.generator),
                         wk.flat(theirs.critic_layers() + theirs.generator_layers())):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
