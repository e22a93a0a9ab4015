"""A clear error for every bad input on the public surface (issue 16, items 2 and 5), one table per kind of
mistake: each row is a call, the error it must raise where the argument enters, and a pattern of its message
(the argument's name, what was expected, what came). Also: ``rng`` arguments the way SPEC 7 agreed, the
training loop's checks at the data, the NaN guard's blame, checkpoint folders and stale temporary files, the
chapters' options refused before their output folder exists, and Sinkhorn that never returns NaN."""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinywgan as tw
from tinywgan import nn, npzfile, optim
from tinywgan.data import rendered_digits, toy_dataset, two_gaussians_1d, write_idx
from tinywgan.data.mnist import load_digits, load_mnist, read_idx
from tinywgan.engine import backend
from tinywgan.engine.backend import Generator, as_generator, to_device
from tinywgan.lab import cli
from tinywgan.lab import experiment as ex
from tinywgan.transport.divergences import parallel_lines_closed_form, parallel_lines_sample
from tinywgan.transport.ot import cost_matrix, sinkhorn
from tinywgan.transport import divergences, ot
from tinywgan.lab import metrics
from tinywgan.wgan import (SpectralNorm, TrainingDiverged, WGANConfig, WGANTrainer, checkpoint, clip_weights,
                           gradient_penalty, interpolate, spectral_norm)

ROOT = Path(__file__).resolve().parents[1]
TOY = toy_dataset("8gaussians")


def _raises(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def _f32(*shape):
    return tw.tensor(np.ones(shape, np.float32), requires_grad=True)


# ------------------------------------------------------------------------------------ rng (SPEC 7)
# Every public rng parameter, as (name, call(rng) -> numbers drawn with it).
def _critic():
    return nn.MLP([2, 4, 1], rng=0)


RNG_USERS = {
    "Linear": lambda rng: nn.Linear(3, 2, rng=rng).weight.numpy(),
    "MLP": lambda rng: nn.MLP([3, 4, 1], rng=rng)[0].weight.numpy(),
    "SpectralNorm": lambda rng: SpectralNorm(nn.Linear(3, 2, rng=0), rng=rng).u,
    "spectral_norm": lambda rng: spectral_norm(nn.MLP([3, 4, 1], rng=0), rng=rng)[0].u,
    "interpolate": lambda rng: interpolate(np.zeros((4, 2), np.float32), np.ones((4, 2), np.float32), rng).numpy(),
    "gradient_penalty": lambda rng: gradient_penalty(_critic(), np.zeros((4, 2), np.float32),
                                                     np.ones((4, 2), np.float32), rng).numpy(),
    "toy sample": lambda rng: TOY.sample(5, rng),
    "swissroll sample": lambda rng: toy_dataset("swissroll").sample(5, rng),
    "sample_p": lambda rng: two_gaussians_1d().sample_p(5, rng),
    "sample_q": lambda rng: two_gaussians_1d().sample_q(5, rng),
    "parallel_lines_sample": lambda rng: parallel_lines_sample(0.5, 5, rng)[1],
    "rendered_digits": lambda rng: rendered_digits(3, rng, size=8)[0],
    "load_digits": lambda rng: load_digits(None, n_rendered=3, rng=rng)[0],
}


@pytest.mark.parametrize("name", sorted(RNG_USERS))
def test_every_rng_takes_none_a_seed_a_numpy_and_a_tinywgan_generator(name):
    """SPEC 7: None, an int seed, a numpy.random.Generator or a tinywgan Generator. A seed and a NumPy
    Generator seeded alike draw the same numbers (tinywgan's Generator is NumPy's PCG64 on the host)."""
    draw = RNG_USERS[name]
    by_seed = backend.to_numpy(draw(7))
    assert np.array_equal(by_seed, backend.to_numpy(draw(Generator(7))))
    assert np.array_equal(by_seed, backend.to_numpy(draw(np.random.default_rng(7))))
    assert np.array_equal(by_seed, backend.to_numpy(draw(np.int64(7))))
    assert backend.to_numpy(draw(None)).shape == by_seed.shape
    for bad, kind in (("7", "str"), (7.0, "float"), (True, "bool"), ([7], "list"),
                      (np.random.RandomState(7), "RandomState")):
        with pytest.raises(TypeError, match=r"rng must be None, an int seed, a numpy\.random\.Generator or a "
                                            rf"tinywgan Generator; got .*{kind}"):
            draw(bad)
    with pytest.raises(ValueError, match="rng: an int seed must be >= 0; got -1"):
        draw(-1)


def test_a_seed_still_draws_what_it_drew():
    """Nothing a seed draws changed, and no rng means the default generator, which manual_seed reseeds."""
    tw.manual_seed(0)
    assert np.array_equal(nn.Linear(3, 2).weight.numpy(), nn.Linear(3, 2, rng=Generator(0)).weight.numpy())
    np.testing.assert_array_equal(Generator(0).normal((3,)), np.random.default_rng(0).standard_normal(3)
                                  .astype(np.float32))
    assert nn.Linear(2, 1, rng=3).weight.numpy().tolist() == nn.Linear(2, 1, rng=Generator(3)).weight.numpy() \
        .tolist()


@pytest.mark.parametrize("device", ["strict"])
def test_the_same_seed_gives_the_same_numbers_on_every_device(device):
    for seed in (0, 5):
        on_cpu = nn.MLP([3, 4, 1], rng=Generator(seed)).state_dict()
        there = nn.MLP([3, 4, 1], rng=Generator(seed, device)).state_dict()
        for name in on_cpu:
            np.testing.assert_array_equal(on_cpu[name], backend.to_numpy(there[name]))
        np.testing.assert_array_equal(TOY.sample(6, Generator(seed)), backend.to_numpy(TOY.sample(6, Generator(seed, device))))


def test_a_generator_on_another_device_than_the_data_is_refused():
    real = to_device(np.zeros((4, 2), np.float32), "strict")
    _raises(lambda: interpolate(real, real, Generator(0, "cpu")), ValueError,
            r"interpolate: rng is a Generator on device 'cpu' but it must draw onto 'strict'")
    assert interpolate(real, real, 0).device == "strict"  # a seed draws onto the data's device


GENERATOR_MISTAKES = [
    ("a negative size", lambda: Generator(0).normal((2, -1)), ValueError,
     r"Generator\.normal: shape\[1\] must be an integer >= 0; got -1"),
    ("a float size", lambda: Generator(0).uniform((2.5,)), TypeError, r"Generator\.uniform: shape\[0\] must be an integer"),
    ("a shape that is a string", lambda: Generator(0).normal("3"), TypeError, r"shape\[0\] must be an integer"),
    ("std < 0", lambda: Generator(0).normal(3, std=-1.0), ValueError, r"Generator\.normal: std must be >= 0"),
    ("mean NaN", lambda: Generator(0).normal(3, mean=math.nan), ValueError, "mean must be a finite number"),
    ("low > high", lambda: Generator(0).uniform(3, 1.0, 0.0), ValueError, "low must be <= high"),
    ("an infinite bound", lambda: Generator(0).uniform(3, 0.0, math.inf), ValueError, "high must be a finite"),
    ("integers from an empty range", lambda: Generator(0).integers(5, 5, 3), ValueError, "low must be < high"),
    ("a permutation of -1 elements", lambda: Generator(0).permutation(-1), ValueError,
     "permutation: n must be an integer >= 0; got -1"),
]


@pytest.mark.parametrize("what, call, error, pattern", GENERATOR_MISTAKES, ids=[m[0] for m in GENERATOR_MISTAKES])
def test_generator_draw_mistakes(what, call, error, pattern):
    _raises(call, error, pattern)


def test_generator_and_as_generator_name_what_is_wrong():
    _raises(lambda: Generator("0"), TypeError, r"Generator: seed must be None, an int seed.*got str '0'")
    _raises(lambda: Generator(-3), ValueError, r"Generator: seed: an int seed must be >= 0; got -3")
    _raises(lambda: as_generator(1.5, name="f: rng"), TypeError, r"f: rng must be None.*got float 1\.5")
    wrapped = Generator(np.random.default_rng(1))
    assert wrapped.seed is None and checkpoint._json_value(wrapped.state_dict(), "rng")  # JSON-friendly


# ------------------------------------------------------------------------------- shapes and indices
SHAPE_MISTAKES = [
    ("reshape to a size that does not fit", lambda: _f32(2, 3).reshape(4), ValueError,
     r"reshape: a tensor of shape \(2, 3\) \(6 elements\) cannot be reshaped to \(4,\)"),
    ("reshape with two -1", lambda: _f32(2, 3).reshape(-1, -1), ValueError, "more than one -1"),
    ("reshape with a -1 that does not divide", lambda: _f32(2, 3).reshape(4, -1), ValueError,
     r"cannot be reshaped to \(4, -1\)"),
    ("reshape with a float size", lambda: _f32(2, 3).reshape(2.0, 3), TypeError,
     r"reshape: shape\[0\] must be an integer"),
    ("reshape to a string", lambda: tw.reshape(_f32(2, 3), "6"), TypeError, "shape must be an int or a tuple"),
    ("operands that do not broadcast", lambda: _f32(2, 3) + _f32(4), ValueError,
     r"add: operands of shapes \(2, 3\) and \(4,\) do not broadcast"),
    ("operands that do not broadcast (mul)", lambda: _f32(2, 3) * np.ones((3, 2), np.float32), ValueError,
     r"mul: operands of shapes \(2, 3\) and \(3, 2\) do not broadcast"),
    ("division that does not broadcast", lambda: _f32(5) / _f32(2, 3), ValueError, r"div: operands of shapes"),
    ("broadcast_to a shape it cannot reach", lambda: tw.broadcast_to(_f32(2, 3), (3, 3)), ValueError,
     r"broadcast_to: shape \(2, 3\) does not broadcast to \(3, 3\)"),
    ("an index out of range", lambda: _f32(2, 3)[2], IndexError,
     r"getitem: index 2 is out of range for axis 0 of length 2"),
    ("a negative index out of range", lambda: _f32(2, 3)[0, -4], IndexError,
     r"index -4 is out of range for axis 1 of length 3"),
    ("an index after an Ellipsis out of range", lambda: _f32(2, 3)[..., 3], IndexError, "axis 1 of length 3"),
    ("too many indices", lambda: _f32(2, 3)[0, 0, 0], IndexError, r"3 indices for a tensor with 2 axes"),
    ("an index array out of range", lambda: _f32(2, 3)[np.array([0, 5])], IndexError, r"\[-2, 2\)"),
    ("a float index", lambda: _f32(2, 3)[1.0], TypeError, "an index must be an int, a slice"),
    ("a bool index", lambda: _f32(2, 3)[True], TypeError, "got bool True"),
    ("matmul with inner sizes apart", lambda: _f32(2, 3) @ _f32(2, 3), ValueError, "a's last axis"),
    ("clip with a string bound", lambda: tw.clip(_f32(3), "a", 1.0), TypeError, "clip: low must be a Python number"),
    ("clip with low > high", lambda: tw.clip(_f32(3), 1.0, 0.0), ValueError, "clip: low must be <= high"),
    ("clip with a NaN bound", lambda: tw.clip(_f32(3), math.nan, 1.0), ValueError, "clip: low must be <= high"),
    ("Linear layer fed the wrong width", lambda: nn.Linear(3, 2)(np.ones((4, 2), np.float32)), ValueError,
     r"its last axis must be 3"),
]


@pytest.mark.parametrize("what, call, error, pattern", SHAPE_MISTAKES, ids=[m[0] for m in SHAPE_MISTAKES])
def test_shape_and_index_mistakes(what, call, error, pattern):
    _raises(call, error, pattern)


def test_numpy_integer_indices_and_good_shapes_still_work():
    x = tw.tensor(np.arange(6.0).reshape(2, 3))
    assert x[np.int64(1)].tolist() == [3.0, 4.0, 5.0] and x[np.argmax([0, 1]), -1].item() == 5.0
    assert x.reshape(3, -1).shape == (3, 2) and x.reshape(-1).shape == (6,)
    assert (x * np.ones(3, bool)).dtype == x.dtype  # a bool mask keeps the float dtype


# -------------------------------------------------------------------------------------------- dtypes
DTYPE_MISTAKES = [
    ("float32 leaf times a float64 tensor", lambda: _f32(3) * tw.tensor(np.ones(3)), TypeError,
     r"mul: a is float32 and b is float64"),
    ("float32 leaf plus a float64 array", lambda: _f32(3) + np.ones(3), TypeError, r"add: a is float32 and b is float64"),
    ("float32 times int64: NumPy would make float64", lambda: _f32(3) * np.ones(3, np.int64), TypeError,
     r"a is float32 and b is int64"),
    ("matmul float32 @ float64", lambda: _f32(2, 3) @ tw.tensor(np.ones((3, 2))), TypeError,
     r"matmul: a is float32 and b is float64"),
    ("linear with float64 input", lambda: tw.linear(tw.tensor(np.ones((2, 3))), _f32(3, 2)), TypeError,
     r"linear: x is float64 and W is float32"),
    ("concatenate float32 and float64", lambda: tw.concatenate([_f32(2), tw.tensor(np.ones(2))]), TypeError,
     r"xs\[0\] is float32 and xs\[1\] is float64"),
    ("float64 data into a float32 layer", lambda: nn.MLP([2, 3, 1])(np.ones((4, 2))), TypeError,
     r"Linear\(2, 3\): the input is float64 but the layer's weights are float32"),
]


@pytest.mark.parametrize("what, call, error, pattern", DTYPE_MISTAKES, ids=[m[0] for m in DTYPE_MISTAKES])
def test_mixed_dtypes_are_refused_at_the_op(what, call, error, pattern, speed):
    _raises(call, error, pattern)


def test_python_numbers_take_the_tensors_dtype():
    x = _f32(3)
    for y in (x * 2.0, x + np.float64(1.0), 1 - x, x / 3):
        assert y.dtype == np.float32
    (g,) = tw.grad((x * 2.0).sum(), x)
    assert g.dtype == np.float32


# ------------------------------------------------------------------------------------- layer arguments
LAYER_MISTAKES = [
    ("Linear(2.5, 4): no silent truncation", lambda: nn.Linear(2.5, 4), TypeError,
     r"Linear: in_features must be an integer >= 1; got float 2\.5"),
    ("Linear('3', 4)", lambda: nn.Linear("3", 4), TypeError, r"in_features must be an integer >= 1; got str '3'"),
    ("Linear(3, 0)", lambda: nn.Linear(3, 0), ValueError, r"out_features must be an integer >= 1; got 0"),
    ("Linear(3, 4.0)", lambda: nn.Linear(3, 4.0), TypeError, r"out_features must be an integer"),
    ("Linear with an unknown dtype", lambda: nn.Linear(3, 4, dtype="float16"), ValueError,
     r"Linear: dtype must be 'float32' or 'float64'; got 'float16'"),
    ("MLP with a float size", lambda: nn.MLP([2, 4.5, 1]), TypeError, r"MLP: sizes\[1\] must be an integer"),
    ("SpectralNorm with 1.5 iterations", lambda: SpectralNorm(nn.Linear(2, 2), n_power_iterations=1.5), TypeError,
     "n_power_iterations must be an integer"),
    ("SpectralNorm with 0 iterations", lambda: SpectralNorm(nn.Linear(2, 2), n_power_iterations=0), ValueError,
     "n_power_iterations must be an integer >= 1"),
    ("spectral_norm of a single layer", lambda: spectral_norm(nn.Linear(2, 2)), TypeError,
     "spectral_norm: module must be a Sequential"),
]


@pytest.mark.parametrize("what, call, error, pattern", LAYER_MISTAKES, ids=[m[0] for m in LAYER_MISTAKES])
def test_layer_argument_mistakes(what, call, error, pattern):
    _raises(call, error, pattern)


# --------------------------------------------------------- numbers: strings, NaN, infinities, negatives
def _params():
    return nn.Linear(2, 2).parameters()


NUMBER_MISTAKES = [
    ("clip_value from a config file", lambda: WGANConfig(clip_value="0.1"), TypeError,
     r"WGANConfig\.clip_value must be a number > 0; got str '0\.1'"),
    ("lr='abc'", lambda: WGANConfig(lr="abc"), TypeError, r"WGANConfig\.lr must be a number > 0; got str 'abc'"),
    ("betas=0.9", lambda: WGANConfig(betas=0.9), TypeError, r"WGANConfig\.betas must be two numbers in \[0, 1\)"),
    ("betas with a string", lambda: WGANConfig(betas=("0.5", 0.9)), TypeError, r"WGANConfig\.betas\[0\] must be a number"),
    ("betas=(0.5, 1.0)", lambda: WGANConfig(betas=(0.5, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    ("lr=inf", lambda: WGANConfig(lr=math.inf), ValueError, r"WGANConfig\.lr must be a finite number > 0; got inf"),
    ("lr=nan", lambda: WGANConfig(lr=math.nan), ValueError, r"WGANConfig\.lr must be a finite number > 0; got nan"),
    ("lr=-1e-4", lambda: WGANConfig(lr=-1e-4), ValueError, r"WGANConfig\.lr must be > 0"),
    ("critic_lr=inf", lambda: WGANConfig(critic_lr=math.inf), ValueError, r"WGANConfig\.critic_lr"),
    ("clip_value=inf", lambda: WGANConfig(clip_value=math.inf), ValueError, r"clip_value must be a finite number"),
    ("gp_weight=-1", lambda: WGANConfig(gp_weight=-1), ValueError, r"WGANConfig\.gp_weight must be >= 0; got -1"),
    ("gp_weight=nan", lambda: WGANConfig(gp_weight=math.nan), ValueError, r"gp_weight must be a finite number"),
    ("steps=10.0", lambda: WGANConfig(steps=10.0), TypeError, r"WGANConfig\.steps must be an integer >= 1"),
    ("batch_size='64'", lambda: WGANConfig(batch_size="64"), TypeError, r"WGANConfig\.batch_size must be an integer"),
    ("seed=-1", lambda: WGANConfig(seed=-1), ValueError, r"WGANConfig\.seed must be an integer >= 0"),
    ("noise_dim=True", lambda: WGANConfig(noise_dim=True), TypeError, r"WGANConfig\.noise_dim must be an integer"),
    ("device='tpu'", lambda: WGANConfig(device="tpu"), ValueError, r"WGANConfig\.device must be one of"),
    ("warmup='no'", lambda: WGANConfig(warmup="no"), ValueError, r"WGANConfig\.warmup must be True or False"),
    ("Adam lr='abc'", lambda: optim.Adam(_params(), lr="abc"), TypeError, r"Adam: lr must be a number >= 0\.0; got str"),
    ("Adam lr='1e-3' from a config file", lambda: optim.Adam(_params(), lr="1e-3"), TypeError, "got str '1e-3'"),
    ("Adam lr=inf", lambda: optim.Adam(_params(), lr=math.inf), ValueError, r"Adam: lr must be a finite number"),
    ("Adam lr=-1", lambda: optim.Adam(_params(), lr=-1), ValueError, r"Adam: lr must be >= 0\.0; got -1"),
    ("Adam betas=0.9", lambda: optim.Adam(_params(), betas=0.9), TypeError, r"Adam: betas must be two numbers"),
    ("Adam betas=('0.9', 0.99)", lambda: optim.Adam(_params(), betas=("0.9", 0.99)), TypeError, "Adam: betas"),
    ("RMSprop lr=nan", lambda: optim.RMSprop(_params(), lr=math.nan), ValueError, r"RMSprop: lr must be >= 0\.0; got nan"),
    ("RMSprop centered='no'", lambda: optim.RMSprop(_params(), centered="no"), TypeError,
     "RMSprop: centered must be True or False"),
    ("SGD momentum='0.9'", lambda: optim.SGD(_params(), momentum="0.9"), TypeError, r"SGD: momentum must be a number"),
    ("SGD weight_decay=inf", lambda: optim.SGD(_params(), weight_decay=math.inf), ValueError, "weight_decay"),
    ("a negative penalty weight", lambda: gradient_penalty(_critic(), np.zeros((4, 2), np.float32),
                                                           np.ones((4, 2), np.float32), 0, weight=-1), ValueError,
     r"gradient_penalty: weight \(lambda\) must be >= 0; got -1"),
    ("a NaN penalty weight", lambda: gradient_penalty(_critic(), np.zeros((4, 2), np.float32),
                                                      np.ones((4, 2), np.float32), 0, weight=math.nan), ValueError,
     "must be a finite number"),
    ("a penalty weight as a string", lambda: gradient_penalty(_critic(), np.zeros((4, 2), np.float32),
                                                              np.ones((4, 2), np.float32), 0, weight="10"),
     TypeError, r"weight \(lambda\) must be a number"),
    ("clip value inf", lambda: clip_weights(_critic(), math.inf), ValueError, "clip_weights: c must be a finite"),
    ("clip value as a string", lambda: clip_weights(_critic(), "0.01"), TypeError, "clip_weights: c must be a number"),
    ("clip value negative", lambda: clip_weights(_critic(), -0.01), ValueError, r"clip_weights: c must be > 0"),
    ("clip a non-module", lambda: clip_weights([1.0], 0.01), TypeError, "clip_weights: module must be"),
    ("a distance of theta='a'", lambda: parallel_lines_closed_form("a"), TypeError, "theta must be a number"),
    ("sinkhorn reg as a string", lambda: sinkhorn([1.0], [1.0], np.zeros((1, 1)), reg="0.1"), TypeError,
     "reg must be a finite number > 0; got str"),
    ("sinkhorn max_iter=2.5", lambda: sinkhorn([1.0], [1.0], np.zeros((1, 1)), reg=0.1, max_iter=2.5), TypeError,
     "max_iter must be an int"),
    ("cost_matrix p='2'", lambda: cost_matrix(np.zeros((2, 2)), np.zeros((2, 2)), p="2"), TypeError,
     "p must be a number >= 1"),
    ("two_gaussians_1d(mean_gap='a')", lambda: two_gaussians_1d("a"), TypeError, "mean_gap must be a number"),
]


@pytest.mark.parametrize("what, call, error, pattern", NUMBER_MISTAKES, ids=[m[0] for m in NUMBER_MISTAKES])
def test_number_mistakes(what, call, error, pattern):
    _raises(call, error, pattern)


def test_numpy_numbers_are_numbers():
    config = WGANConfig(lr=np.float64(1e-3), steps=np.int64(3), betas=np.array([0.5, 0.9]))
    assert (config.lr, config.steps, config.betas) == (1e-3, 3, (0.5, 0.9))
    assert type(config.lr) is float and type(config.steps) is int  # never a NumPy scalar that promotes float32
    assert optim.Adam(_params(), lr=0).lr == 0.0  # lr 0 is allowed: the state still updates


# --------------------------------------------------------------------------------- the gradient penalty
PENALTY_MISTAKES = [
    ("a batch of 0", lambda: gradient_penalty(_critic(), np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)),
     ValueError, r"gradient penalty: the batch is empty \(shape \(0, 2\)\)"),
    ("real and fake of different shapes", lambda: interpolate(np.zeros((4, 2), np.float32),
                                                              np.zeros((3, 2), np.float32)),
     ValueError, r"real batch has shape \(4, 2\) and fake batch has shape \(3, 2\)"),
    ("real float64, fake float32", lambda: interpolate(np.zeros((4, 2)), np.zeros((4, 2), np.float32)),
     TypeError, "real is float64 and fake is float32"),
    ("a list for real", lambda: interpolate([[0.0, 0.0]], np.zeros((1, 2), np.float32)), TypeError,
     "real must be a Tensor or an array; got list"),
    ("alpha of the wrong shape", lambda: interpolate(np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32),
                                                     alpha=np.zeros((4,), np.float32)), ValueError,
     r"alpha has shape \(4,\); expected \(4, 1\)"),
]


@pytest.mark.parametrize("what, call, error, pattern", PENALTY_MISTAKES, ids=[m[0] for m in PENALTY_MISTAKES])
def test_gradient_penalty_mistakes(what, call, error, pattern):
    _raises(call, error, pattern)


# ------------------------------------------------------------------------ training: the data, the nets
def _nets(noise_dim=2, data_dim=2, critic_out=1, dtype="float32", device="cpu"):
    rng = Generator(0, device)
    return (nn.MLP([noise_dim, 8, data_dim], rng=rng, dtype=dtype),
            nn.MLP([data_dim, 8, critic_out], rng=rng, dtype=dtype))


def _train(sample_real=TOY.sample, nets=None, **config):
    g, c = nets or _nets()
    return tw.wgan.train(WGANConfig(**{"steps": 2, "batch_size": 16, "progress": False, **config}), sample_real, g, c)


TRAINING_MISTAKES = [
    ("float64 data for a float32 network", lambda: _train(lambda n, rng: TOY.sample(n, rng).astype(np.float64)),
     TypeError, r"sample_real\(16, rng\) returned float64 data but the networks are float32"),
    ("a real batch smaller than batch_size", lambda: _train(lambda n, rng: TOY.sample(n - 3, rng)), ValueError,
     r"sample_real\(16, rng\) returned 13 samples \(shape \(13, 2\)\); it must return batch_size = 16"),
    ("a real batch larger than batch_size", lambda: _train(lambda n, rng: TOY.sample(2 * n, rng)), ValueError,
     "returned 32 samples"),
    ("a list instead of an array", lambda: _train(lambda n, rng: TOY.sample(n, rng).tolist()), TypeError,
     r"sample_real\(16, rng\) must return an array .*; got list"),
    ("data on another device", lambda: _train(lambda n, rng: to_device(TOY.sample(n, rng), "strict")), ValueError,
     r"returned an array on device 'strict'; WGANConfig\.device is 'cpu'"),
    ("a generator whose input differs from noise_dim", lambda: _train(nets=_nets(noise_dim=3)), ValueError,
     r"the generator takes inputs of size 3 .* but WGANConfig\.noise_dim is 2"),
    ("a generator that makes 3 features for a critic of 2",
     lambda: _train(nets=(nn.MLP([2, 8, 3]), nn.MLP([2, 8, 1]))), ValueError,
     "the generator makes samples of 3 features but the critic takes 2"),
    ("a critic with two outputs", lambda: _train(nets=_nets(critic_out=2)), ValueError,
     "the critic must give one score per sample"),
    ("networks of two dtypes", lambda: _train(nets=(nn.MLP([2, 8, 2]), nn.MLP([2, 8, 1], dtype="float64"))),
     TypeError, "the generator is float32 but the critic is float64"),
    ("networks on another device than the config", lambda: _train(nets=_nets(device="strict")), ValueError,
     r"the generator's parameters are on \['strict'\] but WGANConfig\.device is 'cpu'"),
    ("a critic that is not a Module", lambda: _train(nets=(nn.MLP([2, 8, 2]), lambda x: x)), TypeError,
     "the critic must be a tinywgan Module"),
]


@pytest.mark.parametrize("what, call, error, pattern", TRAINING_MISTAKES, ids=[m[0] for m in TRAINING_MISTAKES])
def test_training_mistakes_are_named_where_they_enter(what, call, error, pattern):
    _raises(call, error, pattern)


def test_float64_networks_train_on_float64_data():
    g, c = _nets(dtype="float64")
    log = _train(lambda n, rng: TOY.sample(n, rng).astype(np.float64), nets=(g, c))
    assert len(log) == 2 and all(math.isfinite(w) for w in log.w_estimate)


# ------------------------------------------------------------------------------------------ NaN guard
def _poison(module, value=math.nan):
    module.parameters()[0].data[...] = value


def _nan_data(n, rng):
    x = TOY.sample(n, rng)
    _nan_data.calls += 1
    return x * np.float32("nan") if _nan_data.calls > 7 else x  # generator step 2, critic iteration 3


def _diverge(which):
    g, c = _nets()
    trainer = WGANTrainer(WGANConfig(steps=3, batch_size=16, progress=False), TOY.sample, g, c)
    if which == "generator":
        trainer.iteration(0)
        _poison(g)
        trainer.iteration(1)
    elif which == "critic":
        trainer.iteration(0)
        _poison(c)
        trainer.iteration(1)
    else:  # only the generator's update: the critic steps are skipped
        trainer.iteration(0)
        _poison(g, math.inf)
        trainer.generator_step(1)


NAN_GUARD = [
    ("the data", lambda: (setattr(_nan_data, "calls", 0), _train(_nan_data, steps=3)),
     r"generator step 2 \(counted from 1, as the log\), in the critic update: the real batch from sample_real "
     r"holds NaN or Inf values .* No network diverged"),
    ("the generator, in the critic's update", lambda: _diverge("generator"),
     r"generator step 2 .* critic update: the generator's output holds NaN .* The generator diverged"),
    ("the critic", lambda: _diverge("critic"),
     r"generator step 2 .* critic update: the critic's output on real data holds NaN .* The critic diverged"),
    ("the generator, in its own update", lambda: _diverge("generator update"),
     r"generator step 2 .* generator update: the generator's output holds NaN or Inf .* The generator diverged"),
]


@pytest.mark.parametrize("what, call, pattern", NAN_GUARD, ids=[m[0] for m in NAN_GUARD])
def test_the_nan_guard_counts_steps_as_the_log_and_blames_the_right_network(what, call, pattern):
    _raises(call, TrainingDiverged, pattern)


# --------------------------------------------------------------------------------------------- files
def test_idx_files_with_no_images_are_refused(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((0, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((0,), np.uint8))
    _raises(lambda: load_mnist(tmp_path), ValueError, r"train-images-idx3-ubyte holds 0 images")
    _raises(lambda: write_idx(tmp_path / "nowhere" / "x.idx", np.zeros(3, np.uint8)), FileNotFoundError,
            r"write_idx: the folder '.*nowhere' of")


CHECKPOINT_MISTAKES = [
    ("a folder that does not exist", lambda tmp: checkpoint.save(tmp / "missing" / "run.npz", m=nn.Linear(2, 2)),
     FileNotFoundError, r"checkpoint\.save: the folder '.*missing' of '.*run\.npz' does not exist"),
    ("a folder that is a file", lambda tmp: (tmp.joinpath("file").write_text("x"),
                                             checkpoint.save(tmp / "file" / "run.npz", m=nn.Linear(2, 2))),
     FileNotFoundError, r"the folder '.*file' of .* is a file, not a folder"),
    ("a path that is a folder", lambda tmp: checkpoint.save(tmp, m=nn.Linear(2, 2)), IsADirectoryError,
     r"is a folder; give a file path"),
]


@pytest.mark.parametrize("what, call, error, pattern", CHECKPOINT_MISTAKES, ids=[m[0] for m in CHECKPOINT_MISTAKES])
def test_checkpoint_folder_mistakes_name_the_folder(what, call, error, pattern, tmp_path):
    _raises(lambda: call(tmp_path), error, pattern)
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_read_only_folder_is_named_not_a_temporary_file(tmp_path, monkeypatch):
    def refuse(**kwargs):  # what mkstemp does in a read-only folder (root may write anywhere: simulated)
        raise PermissionError(13, "Permission denied", str(Path(kwargs["dir"]) / (kwargs["prefix"] + "abc.tmp")))
    monkeypatch.setattr(npzfile.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        checkpoint.save(tmp_path / "run.npz", m=nn.Linear(2, 2))
    assert f"cannot write into the folder {str(tmp_path)!r}" in str(info.value) and ".tmp" not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_a_really_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _raises(lambda: checkpoint.save(folder / "run.npz", m=nn.Linear(2, 2)), PermissionError,
                "cannot write into the folder")
    finally:
        folder.chmod(0o755)


_KILLED_SAVE = """
import os, sys, tempfile
from tinywgan import npzfile
from pathlib import Path
path = Path(sys.argv[1])
fd, tmp = tempfile.mkstemp(prefix=npzfile.temporary_prefix(path), suffix=".tmp", dir=path.parent)
os.write(fd, b"half a checkpoint")
os.kill(os.getpid(), 9)  # killed mid-save: no cleanup runs
"""


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_or_load_removes(tmp_path):
    path = tmp_path / "run.npz"
    checkpoint.save(path, m=nn.Linear(2, 2))
    for then in (lambda: checkpoint.save(path, m=nn.Linear(2, 2)), lambda: checkpoint.load(path)):
        subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path)], cwd=ROOT, check=False, timeout=120)
        left = list(tmp_path.glob(".run.npz.*.tmp"))
        assert len(left) == 1 and str(os.getpid()) not in left[0].name  # the dead writer's pid is in the name
        then()
        assert not list(tmp_path.glob(".run.npz.*.tmp"))


def test_temporary_files_of_live_processes_and_other_hosts_are_kept(tmp_path):
    path = tmp_path / "run.npz"
    live = tmp_path / f".run.npz.{npzfile.host_tag()}-{os.getpid()}.abcd1234.tmp"
    elsewhere = tmp_path / ".run.npz.otherhost-999999.abcd1234.tmp"
    unrelated = tmp_path / ".other.npz.x-1.abcd1234.tmp"
    for f in (live, elsewhere, unrelated):
        f.write_bytes(b"x")
    checkpoint.save(path, m=nn.Linear(2, 2))
    checkpoint.load(path)
    assert live.exists() and elsewhere.exists() and unrelated.exists()


# ------------------------------------------------------------------------------------- chapters' options
OPTION_MISTAKES = [
    ("--steps 0", ["--steps", "0"], "--steps must be >= 1; got 0"),
    ("--steps -5 with --quick", ["--quick", "--steps=-5"], "--steps must be >= 1; got -5"),
    ("--ema 1.5", ["--ema", "1.5"], r"--ema must be in \[0, 1\)"),
    ("--seed -1", ["--seed=-1"], "--seed must be an integer >= 0; got -1"),
    ("--threads 0", ["--threads", "0"], "--threads must be >= 1; got 0"),
]


@pytest.mark.parametrize("what, argv, pattern", OPTION_MISTAKES, ids=[m[0] for m in OPTION_MISTAKES])
def test_a_bad_option_creates_no_output_folder(what, argv, pattern, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        cli.chapter_options("06_wgan_weight_clipping", "test", add_options=ex.add_toy_options,
                            argv=[*argv, "--out", str(out)])
    assert re.search(pattern, str(info.value) + capsys.readouterr().err)
    assert not out.exists()


def test_out_pointing_at_a_file_is_refused_cleanly(tmp_path, capsys):
    afile = tmp_path / "figures.png"
    afile.write_text("not a folder")
    with pytest.raises(SystemExit):
        cli.chapter_options("06_wgan_weight_clipping", "test", argv=["--out", str(afile)])
    assert f"--out {afile} is a file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.chapter_options("06_wgan_weight_clipping", "test", argv=["--out", str(afile / "sub")])
    assert "cannot create the folder" in capsys.readouterr().err


def test_a_chapters_validate_hook_runs_before_the_folder_exists(tmp_path):
    out = tmp_path / "out"

    def validate(args):
        raise ValueError("--widget must be blue")
    with pytest.raises(SystemExit, match="--widget must be blue"):
        cli.chapter_options("09_wgan_mnist_gpu", "test", argv=["--out", str(out)], validate=validate)
    assert not out.exists()


def test_a_chapter_refuses_a_bad_option_from_the_shell_without_creating_its_folder(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(ROOT / "chapters" / "06_wgan_weight_clipping.py"), "--steps", "0",
                             "--out", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode != 0 and "--steps must be >= 1; got 0" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


# ------------------------------------------------------------------------------------------- Sinkhorn
@pytest.mark.parametrize("dtype, reg", [(np.float64, 1e-300), (np.float64, 5e-324), (np.float32, 1e-30),
                                        (np.float32, 1e-40)])
def test_sinkhorn_refuses_a_reg_whose_kernel_underflows_and_never_returns_nan(dtype, reg):
    x, y = np.linspace(0, 1, 5), np.linspace(0, 1, 4) + 5
    cost = cost_matrix(x, y).astype(dtype)
    with pytest.raises(ValueError, match=r"reg=.* is too small for float(32|64) costs up to 6"):
        sinkhorn(np.ones(5) / 5, np.ones(4) / 4, cost, reg=reg, max_iter=50)


def test_sinkhorn_at_a_small_reg_it_resolves_is_exact():
    x, y = np.linspace(0, 1, 5), np.linspace(0, 1, 4) + 5
    result = sinkhorn(np.ones(5) / 5, np.ones(4) / 4, cost_matrix(x, y), reg=1e-3)
    assert result.converged and result.value == pytest.approx(5.0, abs=1e-6)
    assert np.all(np.isfinite(result.plan))


# ------------------------------------------------------------------ found by an outside sweep of bad inputs
SWEEP_MISTAKES = [
    ("sum over an axis named twice", lambda: _f32(2, 3).sum(axis=(0, 0)), ValueError, "names an axis twice"),
    ("max of an empty tensor", lambda: tw.max(tw.zeros(0)), ValueError, r"max/min: x has shape \(0,\)"),
    ("a ragged nested list", lambda: tw.tensor([[1, 2], [3]]), ValueError, "nested lists have unequal lengths"),
    ("backward with a float64 gradient", lambda: (_f32(3) * 2).backward(tw.tensor(np.ones(3))), TypeError,
     r"grad_outputs\[0\] is float64; its output is float32"),
    ("grad of a float", lambda: tw.grad(3.0, _f32(3)), TypeError, r"outputs\[0\] must be a Tensor; got float"),
    ("grad with create_graph='yes'", lambda: tw.grad(_f32(3).sum(), _f32(3), create_graph="yes"), TypeError,
     "grad: create_graph must be True or False"),
    ("grad with no inputs", lambda: tw.grad(_f32(3).sum(), []), ValueError, "grad: inputs is empty"),
    ("Linear(bias='no')", lambda: nn.Linear(3, 4, bias="no"), TypeError, "Linear: bias must be True or False"),
    ("Linear fed a string", lambda: nn.Linear(3, 2)("abc"), TypeError, r"Linear\(3, 2\): the input must be a Tensor"),
    ("Sequential index out of range", lambda: nn.Sequential(nn.ReLU())[9], IndexError,
     r"Sequential: index 9 is out of range for 1 modules"),
    ("LeakyReLU('a')", lambda: nn.LeakyReLU("a"), TypeError, "LeakyReLU: slope must be a number"),
    ("LeakyReLU(nan)", lambda: nn.LeakyReLU(math.nan), ValueError, "LeakyReLU: slope must be a finite number"),
    ("load_state_dict of a list", lambda: nn.Linear(2, 3).load_state_dict([1, 2]), TypeError,
     "load_state_dict: state must be a dict"),
    ("load_state_dict of a string entry", lambda: nn.Linear(2, 3).load_state_dict({"weight": "abc", "bias": "b"}),
     TypeError, r"load_state_dict: 'weight' in the state must be an array or a Tensor; got str"),
    ("load_state_dict(strict='no')", lambda: nn.Linear(2, 3).load_state_dict({}, strict="no"), TypeError,
     "load_state_dict: strict must be True or False"),
    ("train('no')", lambda: nn.Linear(2, 3).train("no"), TypeError, "Linear.train: mode must be True or False"),
    ("update_ema decay='0.9'", lambda: optim.update_ema(_params(), _params(), "0.9"), TypeError,
     "update_ema: decay must be a number"),
    ("update_ema of two sizes", lambda: optim.update_ema(_params(), nn.MLP([2, 2, 2]).parameters(), 0.9), ValueError,
     "update_ema: average has 2 tensors but params has 4"),
    ("update_ema of two dtypes", lambda: optim.update_ema(_params(), nn.Linear(2, 2, dtype="float64").parameters(),
                                                          0.9), ValueError, r"average\[0\] is float32 .* float64"),
    ("update_ema of a number", lambda: optim.update_ema(5, 6, 0.9), TypeError, "update_ema: average must be a list"),
    ("train with a dict for config", lambda: tw.wgan.train({"steps": 2}, TOY.sample, *_nets()), TypeError,
     "WGANTrainer: config must be a WGANConfig"),
    ("sample_real that is an array", lambda: _train(np.zeros((16, 2), np.float32)), TypeError,
     "WGANTrainer: sample_real must be a function"),
    ("sample_real taking one argument", lambda: _train(lambda n: TOY.sample(n, 0)), TypeError,
     r"sample_real must take two arguments, sample_real\(n, rng\)"),
    ("sample_real of the wrong width", lambda: _train(lambda n, rng: np.zeros((n, 3), np.float32)), ValueError,
     r"sample_real\(16, rng\) returned data of shape \(16, 3\); the critic .* takes shape \(16, 2\)"),
    ("int data: no advice to build int networks", lambda: _train(lambda n, rng: np.zeros((n, 2), np.int64)),
     TypeError, r"returned int64 data but the networks are float32: return float32 samples \(x\.astype\('float32'\)\)$"),
    ("one module as generator and critic", lambda: (lambda m: _train(nets=(m, m)))(nn.MLP([2, 8, 2])), ValueError,
     "the generator and the critic are the same module"),
    ("a callback that is not callable", lambda: tw.wgan.train(WGANConfig(steps=1, batch_size=8, progress=False),
                                                              TOY.sample, *_nets(), callback=5), TypeError,
     "train: callback must be None or a function"),
    ("gradient_penalty of None", lambda: gradient_penalty(None, np.zeros((4, 2), np.float32),
                                                          np.zeros((4, 2), np.float32)), TypeError,
     "gradient_penalty: critic must be a Module"),
    ("alpha outside [0, 1]", lambda: interpolate(np.zeros((4, 2), np.float32), np.ones((4, 2), np.float32),
                                                 alpha=np.full((4, 1), 5.0, np.float32)), ValueError,
     r"alpha must lie in \[0, 1\]"),
    ("alpha float64 for float32 data", lambda: interpolate(np.zeros((4, 2), np.float32), np.ones((4, 2), np.float32),
                                                           alpha=np.full((4, 1), 0.5)), TypeError,
     "alpha is float64 but real and fake are float32"),
    ("clip_weights(count='x')", lambda: clip_weights(_critic(), 0.1, count="x"), TypeError,
     "clip_weights: count must be True or False"),
    ("central_difference with h=0", lambda: __import__("tinywgan.transport.divergences", fromlist=["x"])
     .central_difference(lambda t: t, 0.5, h=0), ValueError, "central_difference: h must be > 0"),
    ("central_difference of a number", lambda: __import__("tinywgan.transport.divergences", fromlist=["x"])
     .central_difference(5, 0.5), TypeError, "central_difference: fn must be a function"),
    ("mode_coverage std='x'", lambda: __import__("tinywgan.lab.metrics", fromlist=["x"])
     .mode_coverage(np.zeros((4, 2)), TOY.centres, "x"), TypeError, "mode_coverage: std must be a number"),
    ("w1_to_data seed='x'", lambda: __import__("tinywgan.lab.metrics", fromlist=["x"])
     .w1_to_data(np.zeros((4, 2)), np.zeros((4, 2)), seed="x"), TypeError, "w1_to_data: seed must be an integer"),
]


@pytest.mark.parametrize("what, call, error, pattern", SWEEP_MISTAKES, ids=[m[0] for m in SWEEP_MISTAKES])
def test_mistakes_found_by_a_sweep(what, call, error, pattern):
    _raises(call, error, pattern)


FILE_MISTAKES = [
    ("checkpoint.save(None)", lambda tmp: checkpoint.save(None, m=nn.Linear(2, 2)), TypeError,
     "checkpoint.save: path must be a file path"),
    ("checkpoint.save with no items", lambda tmp: checkpoint.save(tmp / "c.npz"), ValueError,
     "checkpoint.save: no items to save"),
    ("checkpoint.load of a missing file", lambda tmp: checkpoint.load(tmp / "missing.npz"), FileNotFoundError,
     r"checkpoint\.load: no file '.*missing\.npz'"),
    ("checkpoint.load of a folder", lambda tmp: checkpoint.load(tmp), IsADirectoryError,
     r"checkpoint\.load: '.*' is a folder"),
    ("checkpoint.load(None)", lambda tmp: checkpoint.load(None), TypeError, "checkpoint.load: path must be a file path"),
    ("a metadata item that is not there", lambda tmp: (checkpoint.save(tmp / "c.npz", m=nn.Linear(2, 2)),
                                                        checkpoint.load(tmp / "c.npz")["nothere"]), KeyError,
     r"no metadata item 'nothere'"),
    ("read_idx of a missing file", lambda tmp: read_idx(tmp / "nope.idx"), FileNotFoundError,
     r"read_idx: '.*nope\.idx' does not exist"),
]


@pytest.mark.parametrize("what, call, error, pattern", FILE_MISTAKES, ids=[m[0] for m in FILE_MISTAKES])
def test_file_mistakes_found_by_a_sweep(what, call, error, pattern, tmp_path):
    _raises(lambda: call(tmp_path), error, pattern)
    assert not [p for p in tmp_path.rglob("*.tmp")] and not (tmp_path / "c.npz").exists() or "metadata" in what


NOT_AN_OPERAND = [
    ("exp of a string", lambda x: tw.exp("a"), r"Exp: operand 0 must be a Tensor, an array .* got str 'a'"),
    ("a string added", lambda x: x + "a", r"add: operand 1 must be a Tensor, an array .* got str 'a'"),
    ("None added", lambda x: x + None, r"add: operand 1 .* got NoneType None"),
    ("a string subtracted from", lambda x: "a" - x, r"sub: operand 0 .* got str 'a'"),
    ("a string in a product", lambda x: x @ "a", r"matmul: operand 1 .* got str 'a'"),
    ("a string among the tensors to join", lambda x: tw.cat([x, "abc"]), r"cat: operand 1 .* got str 'abc'"),
    ("a list to softmax", lambda x: tw.softmax([1.0, 2.0], dim=0), r"softmax: operand 0 .* got list"),
    ("a string to a layer", lambda x: nn.ReLU()("x"), r"ReLU: operand 0 .* got str 'x'"),
]


@pytest.mark.parametrize("call, message", [c[1:] for c in NOT_AN_OPERAND], ids=[c[0] for c in NOT_AN_OPERAND])
def test_an_operand_that_is_no_tensor_array_or_number_is_named_with_its_op(call, message):
    with pytest.raises(TypeError, match=message):
        call(tw.randn(3, rng=0))


@pytest.mark.parametrize("call, name", [
    (lambda: ot.emd("a", "b"), "x"), (lambda: divergences.js("ab", "cd"), "p"),
    (lambda: ot.north_west_corner("ab", "cd"), "a"), (lambda: metrics.w1_to_data("ab", np.ones((3, 2))), "samples")])
def test_transport_and_metrics_name_an_argument_that_is_no_array(call, name):
    with pytest.raises(TypeError, match=rf"^{name} must be an array \(NumPy, CuPy or array_api_strict\), a list or "
                                        rf"a number; got str"):
        call()
