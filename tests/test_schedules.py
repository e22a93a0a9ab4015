"""The learning-rate schedule and the generator's moving average: against their formulas, in the trainer, through
a checkpoint and back, and off by default (training then is what it was)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import tinywgan as tw
from tinywgan import data, nn
from tinywgan.optim import SGD, Adam, LinearLR, update_ema
from tinywgan.wgan import TrainLog, WGANConfig, WGANTrainer, train

TOY = data.toy_dataset("8gaussians")


def _nets(seed=0, width=8, dtype=None):
    rng = tw.Generator(seed)
    g, c = nn.MLP([2, width, 2], rng=rng), nn.MLP([2, width, 1], rng=rng)
    if dtype is not None:
        for p in g.parameters() + c.parameters():
            p.data = p.data.astype(dtype)
    return g, c


def _param():
    return nn.Parameter(np.zeros(3))


# ---- LinearLR ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start,end,total", [(1.0, 0.0, 7), (1 / 3, 1.0, 5), (0.5, 0.25, 3)])
def test_linear_lr_follows_its_formula(start, end, total):
    opt = SGD([_param()], lr=0.3)
    scheduler = LinearLR(opt, start, end, total)
    seen = [opt.lr]
    for _ in range(total + 3):  # past total_iters it stays at end_factor
        scheduler.step()
        seen.append(scheduler.get_last_lr()[0])
    expected = [0.3 * (start + (end - start) * min(t, total) / total) for t in range(total + 4)]
    np.testing.assert_allclose(seen, expected, rtol=0, atol=1e-12)
    assert seen[-1] == pytest.approx(0.3 * end, abs=1e-15)


def test_linear_lr_defaults_are_pytorchs():
    scheduler = LinearLR(SGD([_param()], lr=1.0))
    assert (scheduler.start_factor, scheduler.end_factor, scheduler.total_iters) == (1 / 3, 1.0, 5)


def test_linear_lr_state_round_trip():
    opt = Adam([_param()], lr=1e-3)
    scheduler = LinearLR(opt, 1.0, 0.0, 10)
    for _ in range(4):
        scheduler.step()
    other_opt = Adam([_param()], lr=1e-3)
    other = LinearLR(other_opt, 1.0, 0.0, 10)
    other.load_state_dict(scheduler.state_dict())
    assert other.last_epoch == 4 and other_opt.lr == opt.lr == 1e-3 * (1 - 4 / 10)
    with pytest.raises(ValueError, match="total_iters 10; this scheduler has 9"):
        LinearLR(Adam([_param()], lr=1e-3), 1.0, 0.0, 9).load_state_dict(scheduler.state_dict())


@pytest.mark.parametrize("kwargs,message", [
    (dict(start_factor=0.0), "start_factor must be in"), (dict(end_factor=1.5), "end_factor must be in"),
    (dict(total_iters=0), "total_iters must be an integer >= 1"), (dict(total_iters=2.5), "total_iters")])
def test_linear_lr_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LinearLR(SGD([_param()], lr=1.0), **kwargs)


# ---- the moving average -------------------------------------------------------------------------------------


def test_update_ema_follows_its_formula():
    rng = np.random.default_rng(0)
    average = [nn.Parameter(rng.normal(size=(3, 2))), nn.Parameter(rng.normal(size=4))]
    params = [nn.Parameter(rng.normal(size=(3, 2))), nn.Parameter(rng.normal(size=4))]
    expected = [a.numpy().copy() for a in average]
    for _ in range(5):
        for p in params:
            p.data = p.data + rng.normal(size=p.shape)
        update_ema(average, params, 0.9)
        expected = [0.9 * e + 0.1 * p.numpy() for e, p in zip(expected, params)]
    for a, e in zip(average, expected):
        np.testing.assert_allclose(a.numpy(), e, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        update_ema(average, params, 1.0)


def test_trainer_applies_the_schedule_and_the_average_as_their_formulas_say():
    """float64 networks: after each generator iteration both optimizers' lr is lr * (1 - t / steps), and the
    average is decay * average + (1 - decay) * theta, recomputed here from the generator's weights."""
    g, c = _nets(dtype=np.float64)
    steps, decay = 6, 0.8
    config = WGANConfig(steps=steps, batch_size=16, lr=1e-3, critic_lr=2e-3, progress=False,
                        lr_schedule="linear", ema_decay=decay)
    trainer = WGANTrainer(config, lambda n, rng: TOY.sample(n, rng).astype(np.float64), g, c,
                          generator_ema=copy.deepcopy(g))
    expected = [p.numpy().copy() for p in g.parameters()]
    lrs = []
    for step in range(steps):
        lrs.append((trainer.opt_critic.lr, trainer.opt_generator.lr))
        trainer.iteration(step)
        expected = [decay * e + (1 - decay) * p.numpy() for e, p in zip(expected, g.parameters())]
        for a, e in zip(trainer.generator_ema.parameters(), expected):
            np.testing.assert_allclose(a.numpy(), e, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lrs, [(2e-3 * (1 - t / steps), 1e-3 * (1 - t / steps)) for t in range(steps)],
                               rtol=0, atol=1e-15)
    assert trainer.opt_generator.lr == 0.0 and trainer.opt_critic.lr == 0.0  # 0 after the last iteration


def test_the_average_starts_at_the_generator_and_is_required_exactly_with_ema_decay():
    g, c = _nets()
    other, _ = _nets(seed=5)
    trainer = WGANTrainer(WGANConfig(steps=1, ema_decay=0.5, progress=False), TOY.sample, g, c,
                          generator_ema=other)
    for a, p in zip(other.parameters(), g.parameters()):
        np.testing.assert_array_equal(a.numpy(), p.numpy())
        assert a.data is not p.data
    assert trainer.generator_ema is other
    with pytest.raises(ValueError, match="pass generator_ema"):
        WGANTrainer(WGANConfig(steps=1, ema_decay=0.5), TOY.sample, g, c)
    with pytest.raises(ValueError, match="pass generator_ema"):
        WGANTrainer(WGANConfig(steps=1), TOY.sample, g, c, generator_ema=other)


@pytest.mark.parametrize("field,value,message", [
    ("lr_schedule", "cosine", "lr_schedule must be one of"), ("ema_decay", 1.0, "ema_decay must be None or"),
    ("ema_decay", "0.9", "ema_decay must be None or")])
def test_bad_schedule_or_decay_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        WGANConfig(**{field: value})


def _rows(log):
    d = log.to_dict()
    d.pop("wall_time")
    return d


def test_resume_reproduces_the_schedule_and_the_average_bit_for_bit(tmp_path):
    path = tmp_path / "run.npz"
    settings = dict(steps=6, batch_size=32, progress=False, lr_schedule="linear", ema_decay=0.9, lr=1e-3)
    g, c = _nets()
    ema = copy.deepcopy(g)
    full = train(WGANConfig(**settings), TOY.sample, g, c, generator_ema=ema)
    g1, c1 = _nets()  # the same run, stopped after 3 of its 6 steps with a checkpoint
    trainer = WGANTrainer(WGANConfig(**settings), TOY.sample, g1, c1, generator_ema=copy.deepcopy(g1))
    log = TrainLog()
    for step in range(3):
        log.append(**trainer.iteration(step), wall_time=0.0)
    trainer.save(path, 3, log)
    g2, c2 = _nets(seed=99)  # other weights: everything must come from the file
    ema2, _ = _nets(seed=98)
    resumed = train(WGANConfig(**settings), TOY.sample, g2, c2, resume=path, generator_ema=ema2)
    assert _rows(resumed) == _rows(full)
    for p, q in zip(g.parameters() + ema.parameters(), g2.parameters() + ema2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    with pytest.raises(Exception, match="learning-rate schedules"):
        train(WGANConfig(**{**settings, "lr_schedule": "constant"}), TOY.sample, *_nets(), resume=path,
              generator_ema=_nets()[0])


def test_with_both_off_training_is_what_it_was():
    """The defaults add nothing: a run with lr_schedule='constant' and no average equals one that never heard
    of them, step for step (the same optimizers, the same lr at every step, no extra random draws)."""
    g1, c1 = _nets()
    log1 = train(WGANConfig(steps=4, batch_size=16, progress=False), TOY.sample, g1, c1)
    g2, c2 = _nets()
    trainer = WGANTrainer(WGANConfig(steps=4, batch_size=16, progress=False), TOY.sample, g2, c2)
    assert trainer.schedulers == [] and trainer.generator_ema is None
    rows = [trainer.iteration(step) for step in range(4)]
    assert [r["w_estimate"] for r in rows] == log1.w_estimate
    assert trainer.opt_generator.lr == 1e-4
