"""Weight clipping, the gradient penalty (double backprop into the critic's weights) and spectral norm."""
from __future__ import annotations

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan import nn
from tinywgan.engine.gradcheck import gradcheck
from tinywgan.wgan import (SpectralNorm, clip_weights, critic_gradient_norms, gradient_penalty,
                                interpolate, spectral_norm)


def _critic(activation, device="cpu", seed=0, sizes=(3, 7, 5, 1)):
    c = nn.MLP(list(sizes), activation=activation, rng=tw.Generator(seed, device), dtype="float64")
    for p in c.parameters():  # larger weights than the default init: every unit's kink matters
        p.data = p.data * 2.0
    return c


def _linear_layers(critic):
    return [m for m in critic if isinstance(m, nn.Linear)]


def _preactivations(critic, x):
    out, h = [], x
    for m in critic:
        h = m(h)
        if isinstance(m, nn.Linear):
            out.append(h.numpy())
    return out


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_gradient_penalty_gradient_matches_finite_differences(device, activation):
    critic = _critic(activation, device)
    rng = np.random.default_rng(1)
    real = backend.to_device(rng.standard_normal((6, 3)), device)
    fake = backend.to_device(rng.standard_normal((6, 3)) + 1.0, device)
    layers = _linear_layers(critic)
    # Finite differences must not step across a ReLU kink at the interpolates.
    x_hat = interpolate(real, fake, tw.Generator(3, device))
    assert min(np.abs(a).min() for a in _preactivations(critic, x_hat)[:-1]) > 1e-4

    def penalty(*params):
        for layer, (w, b) in zip(layers, zip(params[::2], params[1::2])):
            layer.weight, layer.bias = w, b  # plug the checked tensors into the critic
        return gradient_penalty(critic, real, fake, tw.Generator(3, device), weight=10.0)

    params = [a for layer in layers for a in (layer.weight.data, layer.bias.data)]
    assert gradcheck(penalty, params)


def test_penalty_reaches_the_critic_weights():
    critic = _critic("leaky_relu")
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((8, 3)), rng.standard_normal((8, 3)) + 2

    def weight_grads(with_penalty):
        critic.zero_grad()
        loss = critic(tw.tensor(fake)).mean() - critic(tw.tensor(real)).mean()
        if with_penalty:
            loss = loss + gradient_penalty(critic, real, fake, tw.Generator(0))
        loss.backward()
        return [p.grad.numpy() for p in critic.parameters()]

    without, with_gp = weight_grads(False), weight_grads(True)
    differences = [np.abs(a - b).max() for a, b in zip(without, with_gp)]
    # Every weight matrix, first layer included, gets a share of the penalty's gradient.
    assert all(d > 1e-3 for d in differences[0::2]), differences


def test_alpha_is_one_value_per_sample():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((5, 4))
    fake = real.copy()
    fake[2] += rng.standard_normal(4) + 3.0  # only sample 2 differs
    x_hat = interpolate(real, fake, tw.Generator(9)).numpy()
    np.testing.assert_array_equal(np.delete(x_hat, 2, axis=0), np.delete(real, 2, axis=0))
    t = (x_hat[2] - fake[2]) / (real[2] - fake[2])  # the same alpha on every feature of sample 2
    np.testing.assert_allclose(t, t[0], rtol=1e-12)
    assert 0 < t[0] < 1
    images = rng.standard_normal((3, 1, 2, 2))
    alpha_shape = interpolate(images, images * 0, tw.Generator(0)).numpy() / images
    np.testing.assert_allclose(alpha_shape, alpha_shape[:, :1, :1, :1] * np.ones_like(images))


def test_alpha_is_drawn_independently_for_each_sample():
    """Gulrajani et al. 2017, Algorithm 1, line 4: eps ~ U[0, 1] for *each* sample. With real = 1 and
    fake = 0, x_hat is alpha itself: 4000 draws must look like independent U[0, 1] numbers, not one number
    for the batch (nor a value per feature: a sample's features share its alpha)."""
    real, fake = np.ones((4000, 3)), np.zeros((4000, 3))
    x_hat = interpolate(real, fake, tw.Generator(4)).numpy()
    np.testing.assert_array_equal(x_hat, x_hat[:, :1] * np.ones((1, 3)))
    alpha = x_hat[:, 0]
    assert len(np.unique(alpha)) == len(alpha)
    assert alpha.min() >= 0 and alpha.max() < 1 and alpha.min() < 0.01 and alpha.max() > 0.99
    assert abs(alpha.mean() - 0.5) < 0.02 and abs(alpha.var() - 1 / 12) < 0.01
    assert abs(np.corrcoef(alpha[:-1], alpha[1:])[0, 1]) < 0.1  # neighbours are not tied to each other


def test_interpolates_are_alpha_real_plus_one_minus_alpha_fake():
    """x_hat = eps x + (1 - eps) x~ (Gulrajani et al. 2017, Algorithm 1, line 6), not the other way round."""
    rng = np.random.default_rng(5)
    real, fake, alpha = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.uniform(size=(4, 1))
    x_hat = interpolate(real, fake, alpha=alpha)
    np.testing.assert_allclose(x_hat.numpy(), alpha * real + (1 - alpha) * fake, rtol=1e-12)
    assert x_hat.requires_grad and x_hat.is_leaf


def test_rng_may_be_none_a_seed_a_numpy_or_a_tinywgan_generator(device):
    real = backend.to_device(np.ones((6, 3)), device)
    fake = backend.to_device(np.zeros((6, 3)), device)

    def alphas(rng):  # x_hat = alpha * 1 + (1 - alpha) * 0
        return interpolate(real, fake, rng).numpy()[:, :1]

    ours = tw.Generator(5, device)
    expected = [ours.uniform((6, 1), dtype="float64") for _ in range(2)]
    expected = [backend.to_numpy(a) for a in expected]
    ours = tw.Generator(5, device)
    np.testing.assert_array_equal(alphas(ours), expected[0])  # a tinywgan Generator: its numbers, as before
    np.testing.assert_array_equal(alphas(ours), expected[1])
    np.testing.assert_array_equal(alphas(5), expected[0])  # an int seeds a fresh generator each call
    np.testing.assert_array_equal(alphas(5), expected[0])
    theirs = np.random.default_rng(5)
    np.testing.assert_array_equal(alphas(theirs), expected[0])  # a numpy Generator: drawn from its stream
    np.testing.assert_array_equal(alphas(theirs), expected[1])
    a, b = alphas(None), alphas(None)  # None: fresh unseeded numbers on the data's device
    assert np.all((0 <= a) & (a < 1)) and not np.array_equal(a, b)
    critic = _critic("relu", device)
    penalties = [gradient_penalty(critic, real, fake, rng).item() for rng in (5, np.random.default_rng(5))]
    assert penalties == [gradient_penalty(critic, real, fake, tw.Generator(5, device)).item()] * 2
    assert np.isfinite(gradient_penalty(critic, real, fake).item())
    with pytest.raises(TypeError, match="rng must be None, an int seed, .*; got float"):
        interpolate(real, fake, 0.5)


def test_spectral_norm_rng_forms():
    layer = nn.Linear(5, 3, rng=tw.Generator(0), dtype="float64")
    u = SpectralNorm(layer, rng=tw.Generator(7)).u
    for rng in (7, np.random.default_rng(7)):
        np.testing.assert_array_equal(SpectralNorm(layer, rng=rng).u, u)
    tw.manual_seed(5)  # None: the default generator, which manual_seed reseeds
    u5 = SpectralNorm(layer).u
    tw.manual_seed(5)
    np.testing.assert_array_equal(SpectralNorm(layer).u, u5)
    assert not np.array_equal(SpectralNorm(layer).u, u5)  # the stream moved on


def test_penalty_of_a_linear_critic():
    critic = nn.MLP([2, 1], rng=tw.Generator(0), dtype="float64")
    critic[0].weight.data = np.array([[0.3], [0.4]])  # ||grad|| = 0.5 everywhere
    real, fake = np.ones((4, 2)), np.zeros((4, 2))
    assert gradient_penalty(critic, real, fake, tw.Generator(0), weight=1.0).item() == pytest.approx(0.25)
    # lambda (||grad|| - 1)^2 with lambda = 3 and ||grad|| = 2: weighted, squared, and a norm above 1 costs too
    critic[0].weight.data = np.array([[1.2], [1.6]])
    assert gradient_penalty(critic, real, fake, tw.Generator(0), weight=3.0).item() == pytest.approx(3.0)
    assert gradient_penalty(critic, real, fake, tw.Generator(0)).item() == pytest.approx(10.0)  # lambda = 10


def test_penalty_rejects_batches_of_different_shapes():
    critic = _critic("relu")
    with pytest.raises(ValueError, match=r"real batch has shape \(4, 3\) and fake batch has shape \(5, 3\)"):
        gradient_penalty(critic, np.ones((4, 3)), np.ones((5, 3)), tw.Generator(0))


def test_gradient_norms_of_a_linear_critic():
    critic = nn.MLP([3, 1], rng=tw.Generator(0), dtype="float64")
    w = critic[0].weight.numpy()
    norms = critic_gradient_norms(critic, tw.tensor(np.random.default_rng(0).standard_normal((5, 3))))
    np.testing.assert_allclose(norms.numpy(), np.linalg.norm(w), rtol=1e-10)


def test_clip_weights(device):
    critic = nn.MLP([2, 16, 16, 1], rng=tw.Generator(0, device))
    before = np.concatenate([p.numpy().ravel() for p in critic.parameters()])
    n = clip_weights(critic, 0.01)
    after = np.concatenate([p.numpy().ravel() for p in critic.parameters()])
    assert n == int(np.sum(np.abs(before) > 0.01)) and n > 0
    assert np.all(np.abs(after) <= 0.01)
    inside = np.abs(before) <= 0.01
    np.testing.assert_array_equal(after[inside], before[inside])
    for p in critic.parameters():
        p.data = p.data * 3
    data = [p.data for p in critic.parameters()]
    outside = sum(int(np.sum(np.abs(p.numpy()) > 0.01)) for p in critic.parameters())
    assert clip_weights(critic, 0.01, count=False) is None  # uncounted, and clipped all the same
    assert outside > n and all(np.all(np.abs(p.numpy()) <= 0.01) for p in critic.parameters())
    if device == "cpu":  # NumPy clips in place: the parameters keep their arrays
        assert all(p.data is d for p, d in zip(critic.parameters(), data))
    with pytest.raises(ValueError, match="c must be > 0"):
        clip_weights(critic, 0.0)


def test_spectral_norm_converges_to_the_largest_singular_value(device):
    layer = nn.Linear(20, 30, rng=tw.Generator(0, device), dtype="float64")
    sn = SpectralNorm(layer, rng=tw.Generator(1, device))
    x = tw.tensor(backend.to_device(np.ones((2, 20)), device))
    for _ in range(50):
        sn(x)
    top = np.linalg.svd(layer.weight.numpy(), compute_uv=False)[0]
    assert abs(sn.sigma().item() - top) / top < 1e-3
    normalized = np.linalg.svd(sn.normalized_weight().numpy(), compute_uv=False)[0]
    assert normalized <= 1 + 1e-3


def test_spectral_norm_u_is_state_and_advances_only_in_training_mode():
    critic = spectral_norm(nn.MLP([4, 6, 1], rng=tw.Generator(0), dtype="float64"))
    names = list(critic.state_dict())
    assert names == ["0.linear.weight", "0.linear.bias", "2.linear.weight", "2.linear.bias", "0.u", "2.u"]
    sn = critic[0]
    x = tw.tensor(np.random.default_rng(0).standard_normal((3, 4)))
    u0 = np.array(sn.u)
    assert sn.training
    with tw.no_grad():
        y_train = critic(x).numpy()
    u1 = np.array(sn.u)
    assert not np.array_equal(u1, u0)  # training mode: one power-iteration step, grad mode or not
    assert critic.eval() is critic and not sn.training
    y_eval = critic(x).numpy()  # grad mode on: still no step in eval mode
    np.testing.assert_array_equal(sn.u, u1)
    assert not np.array_equal(y_eval, y_train)  # eval iterates from the stored u (u1) too, without keeping it
    np.testing.assert_array_equal(critic(x).numpy(), y_eval)
    critic.train()
    np.testing.assert_array_equal(critic(x).numpy(), y_eval)  # the step eval computed is the one train takes
    assert not np.array_equal(sn.u, u1)


def test_spectral_norm_mode_leaves_the_state_dict_and_checkpoints_alone(tmp_path):
    from tinywgan.wgan import checkpoint
    critic = spectral_norm(nn.MLP([4, 6, 1], rng=tw.Generator(0), dtype="float64"))
    trained = {k: v.copy() for k, v in critic.state_dict().items()}
    critic.eval()
    assert {k: v.tolist() for k, v in critic.state_dict().items()} == {k: v.tolist() for k, v in trained.items()}
    checkpoint.save(tmp_path / "c.npz", critic=critic)
    fresh = spectral_norm(nn.MLP([4, 6, 1], rng=tw.Generator(1), dtype="float64"))
    checkpoint.load(tmp_path / "c.npz").restore(critic=fresh)
    assert fresh.training  # the mode is the caller's choice, not saved state
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(v, trained[k])


def test_spectral_norm_layer_gradient_treats_u_and_v_as_constants():
    layer = nn.Linear(4, 3, rng=tw.Generator(0), dtype="float64")
    sn = SpectralNorm(layer, rng=tw.Generator(1))
    rng = np.random.default_rng(0)
    x, v_out = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    u, v = sn._power_iteration(layer.weight.data, sn.u, 1)
    w = tw.tensor(layer.weight.numpy(), requires_grad=True)
    sn.linear.weight = w
    analytic, = tw.grad((sn(tw.tensor(x)) * v_out).sum(), w)

    def frozen(W):  # the same u, v whatever W is: W / (u^T W v)
        return np.sum((x @ (W / (u @ W @ v)) + layer.bias.numpy()) * v_out)
    W0, h = w.numpy(), 1e-6
    numeric = np.zeros_like(W0)
    for k in np.ndindex(*W0.shape):
        e = np.zeros_like(W0)
        e[k] = h
        numeric[k] = (frozen(W0 + e) - frozen(W0 - e)) / (2 * h)
    np.testing.assert_allclose(analytic.numpy(), numeric, rtol=1e-6, atol=1e-8)
