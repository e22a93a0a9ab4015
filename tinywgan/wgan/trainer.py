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
from ..engine import Tensor, backend, checks, grad, no_grad
from ..nn import Linear, Module, Sequential
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
        # Numbers must arrive as numbers (a config file's '0.1' is a TypeError, not a silent string), finite
        # and in range; each error names the field (checks.real / checks.integer).
        for name in ("n_critic", "batch_size", "steps", "noise_dim"):
            setattr(self, name, checks.integer(getattr(self, name), f"WGANConfig.{name}", 1))
        for name in ("checkpoint_every", "seed"):
            setattr(self, name, checks.integer(getattr(self, name), f"WGANConfig.{name}", 0))
        self.clip_value = checks.real(self.clip_value, "WGANConfig.clip_value", 0, low_open=True)
        self.gp_weight = checks.real(self.gp_weight, "WGANConfig.gp_weight", 0)
        self.lr = checks.real(self.lr, "WGANConfig.lr", 0, low_open=True)
        if self.critic_lr is not None:
            self.critic_lr = checks.real(self.critic_lr, "WGANConfig.critic_lr (None or a number)", 0,
                                         low_open=True)
        if isinstance(self.betas, (str, bytes)) or not hasattr(self.betas, "__len__") or len(self.betas) != 2:
            raise TypeError(f"WGANConfig.betas must be two numbers in [0, 1) (beta1, beta2); got "
                            f"{type(self.betas).__name__} {self.betas!r}")
        self.betas = tuple(checks.real(b, f"WGANConfig.betas[{i}]", 0, 1, high_open=True)
                           for i, b in enumerate(self.betas))
        need(self.lr_schedule in LR_SCHEDULES, "lr_schedule", f"one of {LR_SCHEDULES}")
        need(self.ema_decay is None or (isinstance(self.ema_decay, (int, float)) and not isinstance(
            self.ema_decay, bool) and 0 <= self.ema_decay < 1), "ema_decay", "None or a number in [0, 1)")
        need(self.checkpoint_every == 0 or self.checkpoint_path, "checkpoint_path",
             "a file path when checkpoint_every > 0")
        need(self.checkpoint_path is None or isinstance(self.checkpoint_path, (str, Path)), "checkpoint_path",
             "None or a file path")
        for name in ("warmup", "progress"):
            need(isinstance(getattr(self, name), bool), name, "True or False")
        try:
            self.device = backend.canonical_device(self.device)
        except ValueError as err:
            raise ValueError(f"WGANConfig.{err}") from None

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


def _check_finite(value: float, step: int, update: str, suspects) -> None:
    """Stop when a loss is NaN or infinite, naming the generator step as the log counts it (1-based) and
    what went non-finite first along the forward pass: the real data, the generator's output, the critic's
    output, the penalty (``suspects``: (culprit, what, array or Tensor), in that order)."""
    if math.isfinite(value):
        return
    where = f"training stopped at generator step {step + 1} (counted from 1, as the log), in the {update} update"
    for culprit, what, x in suspects:
        data = x.data if isinstance(x, Tensor) else x
        xp = backend.array_namespace(data)
        if not bool(xp.all(xp.isfinite(data))):
            raise TrainingDiverged(f"{where}: {what} holds NaN or Inf values (so the {update}'s loss is "
                                   f"{value}). {_REMEDY[culprit]}")
    raise TrainingDiverged(f"{where}: the {update}'s loss is {value}. {_REMEDY['loss']}")


_REMEDY = {
    "data": "No network diverged: the data are not finite; check what sample_real(n, rng) returns.",
    "generator": "The generator diverged: lower its learning rate (WGANConfig.lr).",
    "critic": "The critic diverged: lower its learning rate (WGANConfig.critic_lr, or lr), or strengthen its "
              "Lipschitz constraint.",
    "loss": "Lower the learning rates (WGANConfig.lr, critic_lr).",
}


# ---------------------------------------------------------------------------------------------------------
# Training


def _check_networks(config: WGANConfig, generator: Module, critic: Module) -> str:
    """Check that the two networks fit together and fit the config, naming the network: both Modules with
    parameters of one floating dtype on ``config.device``; for Sequential networks (an MLP) also the sizes:
    the generator takes ``noise_dim`` numbers, makes samples of the critic's input size, and the critic gives
    one score per sample. Returns the networks' dtype name ('float32' or 'float64')."""
    dtypes = {}
    for name, net in (("generator", generator), ("critic", critic)):
        if not isinstance(net, Module):
            raise TypeError(f"WGANTrainer: the {name} must be a tinywgan Module; got {type(net).__name__}")
        params = net.parameters()
        if not params:
            raise ValueError(f"WGANTrainer: the {name} has no parameters to train")
        kinds = {backend.dtype_name(p.dtype) for p in params}
        if len(kinds) > 1:
            raise TypeError(f"WGANTrainer: the {name}'s parameters mix dtypes {sorted(kinds)}; use one")
        dtypes[name] = kinds.pop()
        devices = {p.device for p in params}
        if devices != {config.device}:
            raise ValueError(f"WGANTrainer: the {name}'s parameters are on {sorted(devices)} but "
                             f"WGANConfig.device is {config.device!r}; move it with {name}.to({config.device!r})")
    if dtypes["generator"] != dtypes["critic"]:
        raise TypeError(f"WGANTrainer: the generator is {dtypes['generator']} but the critic is "
                        f"{dtypes['critic']}; build both with one dtype")
    g_in, g_out, c_in, c_out = _end_layers(generator) + _end_layers(critic)
    if g_in is not None and g_in.in_features != config.noise_dim:
        raise ValueError(f"WGANTrainer: the generator takes inputs of size {g_in.in_features} (its first layer is "
                         f"{g_in!r}) but WGANConfig.noise_dim is {config.noise_dim}: build the generator for "
                         f"{config.noise_dim} noise numbers, or set noise_dim={g_in.in_features}")
    if g_out is not None and c_in is not None and g_out.out_features != c_in.in_features:
        raise ValueError(f"WGANTrainer: the generator makes samples of {g_out.out_features} features but the "
                         f"critic takes {c_in.in_features} (its first layer is {c_in!r})")
    if c_out is not None and c_out.out_features != 1:
        raise ValueError(f"WGANTrainer: the critic must give one score per sample, but its last layer "
                         f"{c_out!r} has {c_out.out_features} outputs")
    return dtypes["critic"]


def _end_layers(net: Module) -> tuple:
    """(first, last) Linear layer of a Sequential whose ends are Linear layers (possibly inside SpectralNorm,
    with parameter-free activations after the last), else None for an end that cannot be told."""
    if not isinstance(net, Sequential) or len(net) == 0:
        return None, None
    layers = [m.linear if isinstance(m, SpectralNorm) else m for m in net]
    first = layers[0] if isinstance(layers[0], Linear) else None
    last = None
    for m in reversed(layers):
        if isinstance(m, Linear):
            last = m
            break
        if m.parameters():
            break
    return first, last


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
    r"""One WGAN training run's state: the two networks, their optimizers and the random generator.

    :meth:`iteration` is one generator iteration (n_critic critic iterations, then one generator update);
    :func:`train` loops over it with a progress bar, checkpoints and a log, and ``python -m tinywgan.bench``
    times it. ``sample_real(n, rng)`` returns n real samples (an array on ``config.device``); the noise is
    $\mathcal{N}(0, I)$ of size ``config.noise_dim``. One :class:`tinywgan.engine.backend.Generator` seeded with
    ``config.seed`` draws the data, the noise and the interpolation weights, so a seed fixes the run.

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
        if not isinstance(config, WGANConfig):
            raise TypeError(f"WGANTrainer: config must be a WGANConfig (WGANConfig(**settings)); got "
                            f"{type(config).__name__}")
        if not callable(sample_real):
            raise TypeError(f"WGANTrainer: sample_real must be a function sample_real(n, rng) returning n samples; "
                            f"got {type(sample_real).__name__}")
        if generator is critic:
            raise ValueError("WGANTrainer: the generator and the critic are the same module; pass two networks")
        self.dtype = _check_networks(config, generator, critic)  # the networks' dtype, which the data must have
        self.data_width = _end_layers(critic)[0]  # the critic's first Linear (None: unknown): the data's width
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
        r"""$z \sim \mathcal{N}(0, I)$, drawn in float32 whatever the networks' dtype (so a seed gives float32 and
        float64 networks the same noise) and given to the generator in its own dtype."""
        z = self.rng.normal((n, self.config.noise_dim))
        return Tensor(z if self.dtype == "float32" else backend.astype(z, self.generator_params[0].data.dtype))

    def real_batch(self, n: int) -> Tensor:
        """``sample_real(n, rng)``, checked where the data enter: an array of n samples on
        ``config.device`` in the networks' dtype (a float64 batch for a float32 critic, a smaller batch or
        an array on another device is an error that names sample_real, not a failure deep in the critic)."""
        try:
            x = self.sample_real(n, self.rng)
        except TypeError as err:
            if "positional argument" not in str(err):
                raise
            raise TypeError(f"sample_real must take two arguments, sample_real(n, rng); calling "
                            f"sample_real({n}, rng) failed: {err}") from None
        data = x.data if isinstance(x, Tensor) else x
        try:
            device = backend.device_of(data)
        except (TypeError, KeyError):
            raise TypeError(f"sample_real({n}, rng) must return an array (NumPy, CuPy or array_api_strict) of "
                            f"{n} samples; got {type(x).__name__}") from None
        if device != self.config.device:
            raise ValueError(f"sample_real({n}, rng) returned an array on device {device!r}; WGANConfig.device "
                             f"is {self.config.device!r} (draw with rng, whose arrays live there, or move the data "
                             f"with tinywgan.engine.backend.to_device)")
        if data.ndim < 1 or data.shape[0] != n:
            raise ValueError(f"sample_real({n}, rng) returned {data.shape[0] if data.ndim else 'no'} samples "
                             f"(shape {tuple(data.shape)}); it must return batch_size = {n} samples, one per row")
        if backend.dtype_name(data.dtype) != self.dtype:
            floating = backend.dtype_kind(data.dtype) == "f"
            raise TypeError(f"sample_real({n}, rng) returned {backend.dtype_name(data.dtype)} data but the "
                            f"networks are {self.dtype}: return {self.dtype} samples (x.astype('{self.dtype}'))"
                            + (f", or build both networks with dtype='{backend.dtype_name(data.dtype)}'"
                               if floating else ""))
        width = self.data_width
        if width is not None and (data.ndim != 2 or data.shape[1] != width.in_features):
            raise ValueError(f"sample_real({n}, rng) returned data of shape {tuple(data.shape)}; the critic "
                             f"(first layer {width!r}) takes shape ({n}, {width.in_features})")
        return x if isinstance(x, Tensor) and not x.requires_grad else Tensor(data)

    def critic_step(self, step: int, count_clipped: bool = True) -> dict:
        """One critic update; returns the W estimate, the penalty, the total loss and, with weight clipping,
        how many weights the clip moved (None when ``count_clipped`` is False: counting costs two passes
        over the weights, so :meth:`iteration` counts at its last critic step only)."""
        config, critic = self.config, self.critic
        # ---- Critic: maximise $\mathbb{E}_{x \sim \mathbb{P}_r}[f(x)] - \mathbb{E}_{z \sim p(z)}[f(g(z))]$
        # (Kantorovich-Rubinstein dual) ----------------------------------------------------------------------
        real = self.real_batch(config.batch_size)
        with no_grad():  # theta is held fixed while the critic learns: no graph through g
            fake = self.generator(self.noise(config.batch_size))
        score_real, score_fake = critic(real), critic(fake)
        loss = critic_loss(score_real, score_fake)
        penalty = None
        if config.lipschitz == "gp":
            # Gulrajani et al. 2017, Eq. 3: $+\lambda\, \mathbb{E}_{\hat x}[(\|\nabla f(\hat x)\|_2 - 1)^2]$,
            # $\hat x$ on lines between real and fake samples; double backprop carries it into the critic's weights.
            penalty = gradient_penalty(critic, real, fake, self.rng, weight=config.gp_weight)
            total = loss + penalty
            total_value, loss_value, penalty_value = _host_values(total, loss, penalty)
        else:
            total = loss
            total_value, = _host_values(total)
            loss_value, penalty_value = total_value, 0.0
        _check_finite(total_value, step, "critic", [
            ("data", "the real batch from sample_real", real), ("generator", "the generator's output", fake),
            ("critic", "the critic's output on real data", score_real),
            ("critic", "the critic's output on generated data", score_fake)]
            + ([("critic", "the gradient penalty", penalty)] if penalty is not None else []))
        # grad() walks only the paths to $w$: no gradient is spent on the interpolates $\hat x$, a leaf of the
        # penalty.
        for p, g in zip(self.critic_params, grad(total, self.critic_params, allow_unused=True)):
            p.grad = g
        self.opt_critic.step()
        clipped = 0
        if config.lipschitz == "clip":
            # Arjovsky et al. 2017, Algorithm 1, line 7: $w \leftarrow \operatorname{clip}(w, -c, c)$ keeps $f$ in a
            # $K$-Lipschitz family.
            clipped = clip_weights(critic, config.clip_value, count=count_clipped)
        return {"w_estimate": -loss_value, "penalty": penalty_value, "critic_loss": total_value,
                "clipped": clipped}

    def generator_step(self, step: int) -> float:
        """One generator update; returns the generator loss."""
        # ---- Generator: minimise $-\mathbb{E}_{z \sim p(z)}[f(g_\theta(z))]$ ---------------------------------
        fake = self.generator(self.noise(self.config.batch_size))
        score = self.critic(fake)
        g_loss = generator_loss(score)
        value = g_loss.item()
        _check_finite(value, step, "generator", [("generator", "the generator's output", fake),
                                                 ("critic", "the critic's output on generated data", score)])
        # grad() walks only the paths to $\theta$: the critic's weight gradients are never computed here.
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
    if callback is not None and not callable(callback):
        raise TypeError(f"train: callback must be None or a function callback(step, log); got "
                        f"{type(callback).__name__}")
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
