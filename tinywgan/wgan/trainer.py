"""WGAN training: the configuration, the annotated training loop, its log and the NaN guard.

One generator iteration is ``n_critic`` critic updates, then one generator update (Arjovsky et al. 2017,
Algorithm 1; Gulrajani et al. 2017, Algorithm 1); the losses are in :mod:`tinywgan.wgan.losses`, the
Lipschitz tools in :mod:`tinywgan.wgan.lipschitz`.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import fast
from ..engine import Tensor, backend, grad, no_grad
from ..nn import Module
from ..optim import Adam, LinearLR, RMSprop, update_ema
from . import checkpoint
from .lipschitz import SpectralNorm, clip_weights, gradient_penalty
from .losses import critic_loss, generator_loss

# ---------------------------------------------------------------------------------------------------------
# Configuration

LIPSCHITZ = ("clip", "gp", "sn")
LR_SCHEDULES = ("constant", "linear")
OPTIMIZERS = ("adam", "rmsprop")  # Gulrajani et al.'s and Arjovsky et al.'s


@dataclass
class WGANConfig:
    """Everything that decides a training run. Checked on creation; a bad field is a ``ValueError`` that names
    it. The defaults are WGAN-GP's: lambda 10, n_critic 5, Adam lr 1e-4 (Gulrajani et al. 2017, Algorithm 1,
    which states betas (0, 0.9)) with betas (0.5, 0.9), the value of the authors' released toy and MNIST code;
    ``WGANConfig.clipping()`` gives Arjovsky et al.'s (RMSprop 5e-5, c = 0.01)."""

    lipschitz: str = "gp"          # "clip" (Arjovsky et al.), "gp" (Gulrajani et al.), "sn" (Miyato et al.)
    n_critic: int = 5              # critic iterations per generator iteration
    clip_value: float = 0.01       # c, for lipschitz="clip"
    gp_weight: float = 10.0        # lambda, for lipschitz="gp"
    optimizer: str = "adam"
    lr: float = 1e-4               # both networks, unless critic_lr is given
    critic_lr: float | None = None
    betas: tuple = (0.5, 0.9)      # Adam
    batch_size: int = 256
    steps: int = 1000              # generator iterations
    noise_dim: int = 2
    warmup: bool = False           # Arjovsky et al.'s released code: 100 critic iterations for the first
                                   # 25 generator iterations and every 500th
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 0      # generator iterations between checkpoints (0: none)
    checkpoint_path: str | None = None
    progress: bool = True          # a tqdm bar
    lr_schedule: str = "constant"  # "linear": both learning rates decay from lr to 0 over the run
                                   # (lr * (1 - t / steps) at generator iteration t, as Gulrajani et al.'s
                                   # released CIFAR-10 code)
    ema_decay: float | None = None  # keep an exponential moving average of the generator's weights with
                                    # this decay (e.g. 0.999); None: no average

    def __post_init__(self):
        def need(ok, name, expected):
            if not ok:
                raise ValueError(f"WGANConfig.{name} must be {expected}; got {getattr(self, name)!r}")
        need(self.lipschitz in LIPSCHITZ, "lipschitz", f"one of {LIPSCHITZ}")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {OPTIMIZERS}")
        for name in ("n_critic", "batch_size", "steps", "noise_dim"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "an integer >= 1")
        need(self.clip_value > 0, "clip_value", "> 0")
        need(self.gp_weight >= 0, "gp_weight", ">= 0")
        need(self.lr > 0, "lr", "> 0")
        need(self.critic_lr is None or self.critic_lr > 0, "critic_lr", "None or > 0")
        need(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas", "two numbers in [0, 1)")
        need(self.lr_schedule in LR_SCHEDULES, "lr_schedule", f"one of {LR_SCHEDULES}")
        need(self.ema_decay is None or (isinstance(self.ema_decay, (int, float)) and 0 <= self.ema_decay < 1),
             "ema_decay", "None or a number in [0, 1)")
        need(isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 0, "checkpoint_every",
             "an integer >= 0")
        need(self.checkpoint_every == 0 or self.checkpoint_path, "checkpoint_path",
             "a file path when checkpoint_every > 0")
        self.device = backend.canonical_device(self.device)
        self.betas = tuple(self.betas)

    @classmethod
    def clipping(cls, **overrides) -> "WGANConfig":
        """Arjovsky et al. 2017's settings: weight clipping c = 0.01, RMSprop lr 5e-5, n_critic 5."""
        settings = dict(lipschitz="clip", optimizer="rmsprop", lr=5e-5, clip_value=0.01, n_critic=5)
        return cls(**{**settings, **overrides})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------------------
# The log


@dataclass
class TrainLog:
    """One entry per generator iteration (the critic's numbers are those of its last iteration)."""

    step: list = field(default_factory=list)
    critic_loss: list = field(default_factory=list)      # E f(fake) - E f(real) + penalty
    w_estimate: list = field(default_factory=list)       # E f(real) - E f(fake), no penalty
    penalty: list = field(default_factory=list)
    generator_loss: list = field(default_factory=list)
    clipped_fraction: list = field(default_factory=list)  # share of critic parameters moved by the last clip
    wall_time: list = field(default_factory=list)        # seconds since the start of the run

    def append(self, **row) -> None:
        for name, value in row.items():
            getattr(self, name).append(value)

    def __len__(self) -> int:
        return len(self.step)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainLog":
        return cls(**{k: list(v) for k, v in d.items()})


class TrainingDiverged(FloatingPointError):
    """A loss or a gradient became NaN or infinite; the message says at which step and in which module."""


def _host_values(*tensors: Tensor) -> list[float]:
    """The values of one-element tensors as Python floats, brought to the host in one transfer: on a GPU
    each ``.item()`` waits for the device on its own, and a critic step would wait three times."""
    if len(tensors) == 1:
        return [tensors[0].item()]
    xp = tensors[0].xp
    return [float(v) for v in backend.to_numpy(xp.stack([xp.reshape(t.data, ()) for t in tensors]))]


def _check_finite(value: float, what: str, module: str, step: int, extra: str = "") -> None:
    if not math.isfinite(value):
        raise TrainingDiverged(f"training stopped at generator step {step}: the {what} of the {module} is "
                               f"{value}{extra}. Lower the learning rate, or check the data for NaN/Inf.")


# ---------------------------------------------------------------------------------------------------------
# Training


def make_optimizer(config: WGANConfig, params, lr: float):
    if config.optimizer == "adam":
        return Adam(params, lr=lr, betas=config.betas)
    return RMSprop(params, lr=lr)


def critic_iterations(config: WGANConfig, step: int) -> int:
    """n_critic, or 100 during Arjovsky et al.'s warm-up (first 25 generator steps and every 500th), when
    ``config.warmup`` is on: a near-optimal critic first, so its gradients are worth following."""
    if config.warmup and (step < 25 or step % 500 == 0):
        return 100
    return config.n_critic


class WGANTrainer:
    """One WGAN training run's state: the two networks, their optimizers and the random generator.

    :meth:`iteration` is one generator iteration (n_critic critic iterations, then one generator update);
    :func:`train` loops over it with a progress bar, checkpoints and a log, and ``python -m tinywgan.bench``
    times it. ``sample_real(n, rng)`` returns n real samples (an array on ``config.device``); the noise is
    N(0, I) of size ``config.noise_dim``. One :class:`tinywgan.engine.backend.Generator` seeded with ``config.seed``
    draws the data, the noise and the interpolation weights, so a seed fixes the run.

    Two additions steady the end of a run, where a WGAN's generator tends to circle its target instead of
    settling (the min-max game oscillates; a gradient step on each player in turn rotates around the saddle
    point rather than falling into it):

    * ``config.lr_schedule = "linear"``: both learning rates fall linearly to 0 over the run
      (:class:`tinywgan.optim.LinearLR`), so the circles shrink as training ends;
    * ``config.ema_decay``: ``generator_ema`` (a module of the generator's architecture; its weights are set
      to the generator's at the start) follows the exponential moving average of the generator's weights,
      updated after each generator step (:func:`tinywgan.optim.update_ema`). The average sits near the
      centre of the circle (Yazici et al. 2019); sample and evaluate with it.
    """

    def __init__(self, config: WGANConfig, sample_real: Callable, generator: Module, critic: Module,
                 generator_ema: Module | None = None):
        if config.lipschitz == "sn" and not any(isinstance(m, SpectralNorm) for m in critic.modules()):
            raise ValueError("WGANConfig.lipschitz is 'sn' but the critic has no SpectralNorm layer: wrap it "
                             "with tinywgan.wgan.spectral_norm(critic)")
        self.config, self.sample_real = config, sample_real
        # Training mode: a spectrally normalised critic advances its power iteration at every forward pass.
        self.generator, self.critic = generator.train(), critic.train()
        self.rng = backend.Generator(config.seed, config.device)
        self.critic_params, self.generator_params = critic.parameters(), generator.parameters()
        self.opt_critic = make_optimizer(config, self.critic_params, config.critic_lr or config.lr)
        self.opt_generator = make_optimizer(config, self.generator_params, config.lr)
        self.n_weights = sum(p.size for p in self.critic_params)
        self.schedulers = []
        if config.lr_schedule == "linear":
            self.schedulers = [LinearLR(opt, 1.0, 0.0, config.steps)
                               for opt in (self.opt_critic, self.opt_generator)]
        if (config.ema_decay is None) != (generator_ema is None):
            raise ValueError("WGANTrainer: pass generator_ema (e.g. copy.deepcopy(generator)) exactly when "
                             f"config.ema_decay is set; ema_decay is {config.ema_decay!r} and generator_ema is "
                             f"{'None' if generator_ema is None else type(generator_ema).__name__}")
        self.generator_ema = generator_ema
        if generator_ema is not None:  # the average starts at the generator's weights
            generator_ema.load_state_dict(generator.state_dict())
            generator_ema.eval()

    def noise(self, n: int) -> Tensor:
        return Tensor(self.rng.normal((n, self.config.noise_dim)))

    def critic_step(self, step: int, count_clipped: bool = True) -> dict:
        """One critic update; returns the W estimate, the penalty, the total loss and, with weight clipping,
        how many weights the clip moved (None when ``count_clipped`` is False: counting costs two passes
        over the weights, so :meth:`iteration` counts at its last critic step only)."""
        config, critic = self.config, self.critic
        # ---- Critic: maximise E_{x~P_r}[f(x)] - E_{z~p(z)}[f(g(z))]  (Kantorovich-Rubinstein dual) ----------
        real = Tensor(self.sample_real(config.batch_size, self.rng))
        with no_grad():  # theta is held fixed while the critic learns: no graph through g
            fake = self.generator(self.noise(config.batch_size))
        loss = critic_loss(critic(real), critic(fake))
        penalty = None
        if config.lipschitz == "gp":
            # Gulrajani et al. 2017, Eq. 3: + lambda E_{x_hat}[(||grad f(x_hat)|| - 1)^2], x_hat on lines
            # between real and fake samples; double backprop carries it into the critic's weights.
            penalty = gradient_penalty(critic, real, fake, self.rng, weight=config.gp_weight)
            total = loss + penalty
            total_value, loss_value, penalty_value = _host_values(total, loss, penalty)
        else:
            total = loss
            total_value, = _host_values(total)
            loss_value, penalty_value = total_value, 0.0
        _check_finite(total_value, "loss", "critic", step)
        # grad() walks only the paths to w: no gradient is spent on the interpolates x_hat, a leaf of the penalty.
        for p, g in zip(self.critic_params, grad(total, self.critic_params, allow_unused=True)):
            p.grad = g
        self.opt_critic.step()
        clipped = 0
        if config.lipschitz == "clip":
            # Arjovsky et al. 2017, Algorithm 1, line 7: w <- clip(w, -c, c) keeps f in a K-Lipschitz family.
            clipped = clip_weights(critic, config.clip_value, count=count_clipped)
        return {"w_estimate": -loss_value, "penalty": penalty_value, "critic_loss": total_value,
                "clipped": clipped}

    def generator_step(self, step: int) -> float:
        """One generator update; returns the generator loss."""
        # ---- Generator: minimise -E_{z~p(z)}[f(g_theta(z))] ----------------------------------------------
        g_loss = generator_loss(self.critic(self.generator(self.noise(self.config.batch_size))))
        value = g_loss.item()
        _check_finite(value, "loss", "generator", step)
        # grad() walks only the paths to theta: the critic's weight gradients are never computed here.
        for p, g in zip(self.generator_params, grad(g_loss, self.generator_params)):
            p.grad = g
        self.opt_generator.step()
        if self.generator_ema is not None:  # the average follows: ema <- decay * ema + (1 - decay) * theta
            update_ema(self.generator_ema.parameters(), self.generator_params, self.config.ema_decay)
        return value

    def iteration(self, step: int) -> dict:
        """Generator iteration ``step`` (0-based): the critic's iterations, then the generator's update.
        Returns the log row (the critic's numbers are those of its last iteration)."""
        n_critic = critic_iterations(self.config, step)
        for k in range(n_critic):
            c = self.critic_step(step, count_clipped=k == n_critic - 1)
        g_loss = self.generator_step(step)
        for scheduler in self.schedulers:  # the learning rates of the next iteration
            scheduler.step()
        return dict(step=step + 1, critic_loss=c["critic_loss"], w_estimate=c["w_estimate"],
                    penalty=c["penalty"], generator_loss=g_loss,
                    clipped_fraction=c["clipped"] / self.n_weights)

    def save(self, path, step: int, log: "TrainLog") -> None:
        """Everything a run needs to continue bit for bit: both networks, both optimizers, the RNG, the log."""
        extra = {} if self.generator_ema is None else {"generator_ema": self.generator_ema}
        checkpoint.save(path, generator=self.generator, critic=self.critic, opt_generator=self.opt_generator,
                        opt_critic=self.opt_critic, rng=self.rng, step=step, config=self.config.to_dict(),
                        log=log.to_dict(), schedulers=[s.state_dict() for s in self.schedulers], **extra)

    def restore(self, path) -> tuple[int, "TrainLog"]:
        """Load a checkpoint written by :meth:`save`; returns (the step to continue from, the log so far)."""
        saved = checkpoint.load(path)
        extra = {} if self.generator_ema is None else {"generator_ema": self.generator_ema}
        saved.restore(generator=self.generator, critic=self.critic, opt_generator=self.opt_generator,
                      opt_critic=self.opt_critic, rng=self.rng, **extra)
        schedulers = saved.metadata.get("schedulers", [])
        if len(schedulers) != len(self.schedulers):
            raise checkpoint.CheckpointError(f"{path}: the checkpoint holds {len(schedulers)} learning-rate "
                                             f"schedules; this run (lr_schedule {self.config.lr_schedule!r}) "
                                             f"has {len(self.schedulers)}")
        for scheduler, state in zip(self.schedulers, schedulers):
            scheduler.load_state_dict(state)
        return saved.metadata["step"], TrainLog.from_dict(saved.metadata["log"])


def train(config: WGANConfig, sample_real: Callable, generator: Module, critic: Module,
          resume: str | Path | None = None, callback: Callable | None = None,
          generator_ema: Module | None = None) -> TrainLog:
    """Train ``generator`` and ``critic`` (in place) for ``config.steps`` generator iterations.

    See :class:`WGANTrainer` for ``sample_real`` and the randomness. ``resume`` is a checkpoint written by an
    earlier run (``config.checkpoint_every``): training continues from its step, and the returned log is the
    whole run's. ``callback(step, log)`` runs after every generator iteration (chapters take snapshots).
    ``generator_ema``: with ``config.ema_decay`` set, a module of the generator's architecture (say
    ``copy.deepcopy(generator)``) that receives the moving average of its weights; see :class:`WGANTrainer`.
    """
    fast.prepare_run()  # the speed layer's memory setting, when the layer is on
    trainer = WGANTrainer(config, sample_real, generator, critic, generator_ema)
    log, start = TrainLog(), 0
    if resume is not None:
        start, log = trainer.restore(resume)
    t0 = time.perf_counter() - (log.wall_time[-1] if len(log) else 0.0)
    bar = _progress(config, start)
    for step in range(start, config.steps):
        row = trainer.iteration(step)
        log.append(**row, wall_time=time.perf_counter() - t0)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(W=f"{row['w_estimate']:.4f}", refresh=False)
        if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0:
            trainer.save(config.checkpoint_path, step + 1, log)
        if callback is not None:
            callback(step + 1, log)
    if bar is not None:
        bar.close()
    if config.progress and len(log):
        print(f"trained {len(log)} generator steps ({config.lipschitz}, n_critic {config.n_critic}) in "
              f"{log.wall_time[-1]:.1f} s: W estimate {log.w_estimate[-1]:.4f}, "
              f"generator loss {log.generator_loss[-1]:.4f}")
    return log


def _progress(config: WGANConfig, start: int):
    if not config.progress:
        return None
    from tqdm import tqdm  # text bars: the same in a terminal and a notebook (no widgets needed)
    return tqdm(total=config.steps, initial=start, desc=f"WGAN-{config.lipschitz}", unit="step",
                mininterval=0.5)
