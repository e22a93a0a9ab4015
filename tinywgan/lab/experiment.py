"""The toy-2D WGAN experiment that chapters 06-08 share: build the two networks, train, watch, measure.

Chapters 06 (weight clipping), 07 (gradient penalty) and 08 (spectral normalization) ask one question of
three Lipschitz tools: trained on a 2D mixture whose modes we know, does the generator cover every mode
with sharp samples, and does the critic's loss say how far the generator still is from the data? This
module runs that experiment once for any :class:`tinywgan.wgan.WGANConfig`, so the chapters differ only in
the config they pass and the story they tell.

What a run measures, besides the trainer's per-step log:

* at ``n_evals`` evenly spaced generator steps, the *exact* W1 between ``n_eval`` generated samples (from a
  fixed batch of noise) and ``n_eval`` fixed real samples, by optimal assignment
  (:func:`tinywgan.transport.ot.emd`), next to the critic's running estimate ``E f(real) - E f(fake)``
  averaged over the steps just before.
  Arjovsky et al. 2017 (Sec. 4.2, Fig. 3) claim the second follows the first: the WGAN loss is meaningful;
* at a few steps, a snapshot: the generated samples and the critic's values on a grid (the contours);
* at the end, modes covered and high-quality samples (:func:`tinywgan.lab.metrics.mode_coverage`), W1 to the
  data on ``n_final`` samples, and the *floor* of that number: W1 between two independent real samples of
  the same size, which is not 0 (a finite sample never matches its distribution exactly);
* at the end, the critic's input-gradient norms ``||grad_x f(x_hat)||`` at interpolates between real and
  generated samples, the quantity the gradient penalty pushes to 1 (Gulrajani et al. 2017, Prop. 1).

Networks: ReLU MLPs with ``depth`` hidden layers of ``width`` units for both the generator (noise -> 2D)
and the critic (2D -> a score), the architecture of Gulrajani et al.'s toy code with its 512 replaced by
``width``. The networks are drawn with seed ``10_000 + config.seed``, the training stream with
``config.seed`` and the evaluation samples with ``20_000 + config.seed``, so one seed fixes the run, and
measuring never draws from the training stream.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..engine import Tensor, no_grad
from ..engine.backend import Generator, to_device, to_numpy
from ..data import TOY_DATASETS, ToyData
from ..wgan.lipschitz import SpectralNorm, critic_gradient_norms, interpolate, spectral_norm
from . import cli
from .metrics import mode_coverage, w1_to_data
from ..nn import MLP, Linear, Module
from ..wgan.trainer import TrainLog, WGANConfig, train

GRID_LIMIT = 2.2  # every toy set lies inside [-2, 2]^2 (8 gaussians: radius 1.41; swiss roll: 1.9)


@dataclass(frozen=True)
class Scale:
    """How big a run is: network width and depth, generator steps, and how much is measured."""

    width: int
    depth: int
    steps: int
    n_evals: int = 20       # evaluations of the exact W1 along training
    n_eval: int = 1024      # samples per evaluation
    n_final: int = 2048     # samples for the final metrics
    grid_size: int = 96     # critic contours: grid_size^2 points


# The CPU defaults, chosen on a 2-core machine to keep each chapter within about 10 minutes (docs/tuning.md).
CPU = Scale(width=128, depth=3, steps=10_000)
# The papers' toy settings (Gulrajani et al. 2017, the released gan_toy.py): 3 hidden ReLU layers of 512
# units, 100k generator iterations (batch 256 and 5 critic iterations are the defaults everywhere).
PAPER = Scale(width=512, depth=3, steps=100_000, n_evals=50)
# --quick: what the tests run, a few seconds.
QUICK = Scale(width=16, depth=2, steps=30, n_evals=5, n_eval=256, n_final=256, grid_size=24)

# Adam for the gradient penalty and spectral norm: betas (0.5, 0.9), n_critic 5, as in Gulrajani et al.'s toy
# code (their Algorithm 1 lists beta1 = 0) and Miyato et al. 2018's setting "A". The toy penalty weight is
# 0.1, the value of that toy code (lambda = 10 is for images; on the toy sets it keeps the generator on one
# mode for thousands of steps). The papers' lr is 1e-4 for both networks, constant.
#
# On the CPU budget a constant lr leaves the generator circling the modes: where the circle stops decides
# the final number (seed 0 ended at 90.7% high quality, seed 1 at 69%). A large lr that decays linearly to 0
# (Gulrajani et al.'s released CIFAR-10 code) shrinks the circle as training ends, and a moving average of
# the generator's weights (Yazici et al. 2019) sits at its centre: CPU_RECIPE, chosen over seeds 0-4
# (docs/tuning.md has every run tried). Weight clipping keeps Arjovsky et al.'s plain RMSprop at every
# scale: its chapter shows that recipe's limits.
GP_WEIGHT = 0.1
PAPER_LR = 1e-4
CPU_RECIPE = dict(lr=1e-3, critic_lr=1e-3, lr_schedule="linear", ema_decay=0.999)
PAPER_RECIPE = dict(lr=PAPER_LR, critic_lr=PAPER_LR, lr_schedule="constant", ema_decay=None)
_DEFAULT = object()


def toy_config(lipschitz: str, steps: int, seed: int = 0, device: str = "cpu", paper: bool = False,
               progress: bool = True, lr_schedule: str | None = None, ema_decay=_DEFAULT) -> WGANConfig:
    """The settings each chapter trains with. ``clip``: Arjovsky et al. 2017's RMSprop 5e-5, c = 0.01,
    n_critic 5, constant lr, no average, at every scale; ``gp`` and ``sn``: Adam with betas (0.5, 0.9),
    n_critic 5, and PAPER_RECIPE for ``paper``, CPU_RECIPE otherwise; ``gp`` adds the penalty with weight
    GP_WEIGHT. ``lr_schedule`` and ``ema_decay`` (None: no average) replace the tool's defaults when given."""
    common = dict(steps=steps, seed=seed, device=device, progress=progress, batch_size=256, noise_dim=2)
    if lipschitz == "clip":
        recipe = dict(lr_schedule="constant", ema_decay=None)
    else:
        recipe = dict(PAPER_RECIPE if paper else CPU_RECIPE)
    if lr_schedule is not None:
        recipe["lr_schedule"] = lr_schedule
    if ema_decay is not _DEFAULT:
        recipe["ema_decay"] = ema_decay
    if lipschitz == "clip":
        return WGANConfig.clipping(**common, **recipe)
    return WGANConfig(lipschitz=lipschitz, optimizer="adam", betas=(0.5, 0.9), n_critic=5, gp_weight=GP_WEIGHT,
                      **recipe, **common)


LABELS = {"clip": "weight clipping", "gp": "gradient penalty", "sn": "spectral norm"}


def train_tool(lipschitz: str, args, scale: Scale, data: ToyData) -> ToyRun:
    """A chapter's run of one Lipschitz tool (``clip``, ``gp``, ``sn``): its :func:`toy_config` from the
    parsed options, the settings printed in one line (:func:`describe`), then :func:`run_toy`."""
    config = toy_config(lipschitz, scale.steps, args.seed, args.device, paper=args.paper,
                        **recipe_options(args))
    print("  " + describe(config, scale, data))
    return run_toy(LABELS[lipschitz], config, data, scale)


def add_toy_options(parser) -> None:
    """--dataset, --paper, --steps, --lr-schedule and --ema, the options chapters 06-08 add to the shared ones."""
    parser.add_argument("--dataset", default="8gaussians", choices=sorted(TOY_DATASETS),
                        help="toy data set (default: 8gaussians)")
    parser.add_argument("--paper", action="store_true",
                        help=f"the papers' scale: width {PAPER.width}, {PAPER.steps} steps (for a GPU)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"generator steps (default: {CPU.steps}; --paper {PAPER.steps}; --quick "
                             f"{QUICK.steps})")
    parser.add_argument("--lr-schedule", default=None, choices=["constant", "linear"],
                        help="learning rates constant, or decaying linearly to 0 (default: the tool's; "
                             "gradient penalty and spectral norm: linear on the CPU)")
    parser.add_argument("--ema", type=float, default=None, metavar="DECAY",
                        help="average the generator's weights with this decay, 0 for none (default: the "
                             f"tool's; gradient penalty and spectral norm: {CPU_RECIPE['ema_decay']} on the CPU)")
    cli.add_check(parser, lambda args: (scale_of(args), recipe_options(args)))  # before --out is created


def recipe_options(args) -> dict:
    """The keyword arguments of :func:`toy_config` that ``--lr-schedule`` and ``--ema`` ask for (none when
    they were not given: each tool keeps its defaults)."""
    options = {}
    if getattr(args, "lr_schedule", None) is not None:
        options["lr_schedule"] = args.lr_schedule
    if getattr(args, "ema", None) is not None:
        if not 0 <= args.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (0: no average); got {args.ema}")
        options["ema_decay"] = args.ema or None
    return options


def scale_of(args) -> Scale:
    """The Scale the parsed options ask for: --quick, --paper or the CPU default, with --steps applied."""
    base = QUICK if args.quick else PAPER if args.paper else CPU
    if args.steps is None:
        return base
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1; got {args.steps}")
    return dataclasses.replace(base, steps=args.steps)


@dataclass
class Evaluation:
    """The numbers measured at one generator step."""

    step: int
    w1: float                  # exact W1(generated, real) on n_eval samples each
    w_estimate: float          # the critic's E f(real) - E f(fake), mean over the preceding steps
    modes: int | None          # None for a set without modes (the swiss roll)
    high_quality: float | None
    weights_at_bound: float    # share of critic weights within 1% of +-config.clip_value
    # With a moving average of the generator (config.ema_decay), the numbers above are the average's and
    # these the trained generator's own; None without an average.
    w1_raw: float | None = None
    modes_raw: int | None = None
    high_quality_raw: float | None = None


@dataclass
class Snapshot:
    """What the figures draw at one step: generated samples and the critic on the grid."""

    step: int
    samples: np.ndarray        # (n_eval, 2) generated from the fixed evaluation noise
    critic_values: np.ndarray  # (grid, grid) critic values on `ToyRun.grid`
    modes: int | None
    high_quality: float | None


@dataclass
class ToyRun:
    """Everything one training run produced; the chapters print from it and plots.py draws it."""

    label: str
    config: WGANConfig
    data: ToyData
    scale: Scale                         # the networks and the measuring; the steps trained are config.steps
    generator: Module
    critic: Module
    log: TrainLog
    generator_ema: Module | None = None  # the moving average of the generator (config.ema_decay), or None
    evaluations: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    grid: np.ndarray | None = None       # (grid,) coordinates of each axis
    real: np.ndarray | None = None       # the fixed real evaluation sample
    modes: int | None = None             # final metrics, on scale.n_final samples
    high_quality: float | None = None
    w1_to_data: float = float("nan")
    w1_floor: float = float("nan")       # W1 between two real samples of the same size
    w1_floor_eval: float = float("nan")  # the same floor at the size of the evaluations (n_eval)
    gradient_norms: np.ndarray | None = None
    modes_raw: int | None = None         # the trained generator's own final numbers, beside the average's
    high_quality_raw: float | None = None
    w1_to_data_raw: float | None = None
    train_seconds: float = 0.0           # wall time of training alone (measuring excluded)
    eval_seconds: float = 0.0

    @property
    def sampler(self) -> Module:
        """The generator that samples and is evaluated: the moving average when there is one."""
        return self.generator if self.generator_ema is None else self.generator_ema

    @property
    def n_modes(self) -> int | None:
        """The number of modes of the data (None for a set without modes, the swiss roll)."""
        return None if self.data.centres is None else len(self.data.centres)

    @property
    def ms_per_step(self) -> float:
        """Milliseconds of training per generator step (n_critic critic updates and one generator update)."""
        return 1000 * self.train_seconds / max(1, len(self.log))

    def correlation(self) -> tuple[float, float]:
        """(Pearson, Spearman) correlation between the critic's W estimate and the exact W1 over training."""
        est = np.array([e.w_estimate for e in self.evaluations])
        w1 = np.array([e.w1 for e in self.evaluations])
        return pearson(est, w1), pearson(_ranks(est), _ranks(w1))


def make_networks(width: int, depth: int, noise_dim: int = 2, seed: int = 0, device: str = "cpu",
                  spectral: bool = False) -> tuple[MLP, MLP]:
    """(generator, critic): ReLU MLPs noise_dim -> width x depth -> 2 and 2 -> width x depth -> 1.

    ``spectral=True`` wraps every Linear of the critic in :class:`tinywgan.wgan.SpectralNorm`
    (Miyato et al. 2018 normalise every layer of the discriminator).
    """
    rng = Generator(10_000 + seed, device)
    generator = MLP([noise_dim] + [width] * depth + [2], rng=rng)
    critic = MLP([2] + [width] * depth + [1], rng=rng)
    if spectral:
        spectral_norm(critic, rng=rng)
    return generator, critic


def run_toy(label: str, config: WGANConfig, data: ToyData, scale: Scale,
            snapshot_fractions=(0.0, 0.05, 0.2, 0.5, 1.0)) -> ToyRun:
    """Train a WGAN on ``data`` with ``config`` (its ``steps`` are the run's) on networks of ``scale``, and
    measure it along the way (see the module docstring)."""
    steps, width, depth, n_evals = config.steps, scale.width, scale.depth, scale.n_evals
    n_eval, n_final, grid_size = scale.n_eval, scale.n_final, scale.grid_size
    generator, critic = make_networks(width, depth, config.noise_dim, config.seed, config.device,
                                      spectral=config.lipschitz == "sn")
    rng = Generator(20_000 + config.seed, config.device)
    real = data.sample(n_eval, rng)
    noise = Tensor(rng.normal((n_eval, config.noise_dim)))
    axis = np.linspace(-GRID_LIMIT, GRID_LIMIT, grid_size, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    grid = Tensor(to_device(np.stack([xx.ravel(), yy.ravel()], axis=1), config.device))
    generator_ema = None if config.ema_decay is None else copy.deepcopy(generator)
    run = ToyRun(label, config, data, scale, generator, critic, TrainLog(), generator_ema=generator_ema,
                 grid=axis, real=to_numpy(real))
    sampler = run.sampler
    run.w1_floor_eval = w1_to_data(data.sample(n_eval, rng), run.real)

    eval_steps = sorted({max(1, round(steps * k / n_evals)) for k in range(1, n_evals + 1)})
    snapshot_steps = sorted({round(steps * f) for f in snapshot_fractions})
    window = max(1, (eval_steps[0] if len(eval_steps) == 1 else eval_steps[1] - eval_steps[0]) // 4)

    def generated(net=sampler) -> np.ndarray:
        with no_grad():
            return net(noise).numpy()

    def coverage(samples) -> tuple[int | None, float | None]:
        """(modes covered, high-quality share), or (None, None) for a set without modes."""
        if data.centres is None:
            return None, None
        c = mode_coverage(samples, data.centres, data.std)
        return c.modes, c.high_quality

    def snapshot(step: int) -> None:
        samples = generated()
        with no_grad(), evaluating(critic):
            values = critic(grid).numpy().reshape(grid_size, grid_size)
        run.snapshots.append(Snapshot(step, samples, values, *coverage(samples)))

    inside = [0.0]  # measuring time that the trainer's clock counted (every callback but the last)

    def measure(step: int, log: TrainLog) -> None:
        t = time.perf_counter()
        if step in eval_steps:
            samples = generated()
            w_est = float(np.mean(log.w_estimate[-window:]))
            at_bound = fraction_at_bound(critic_weights(critic), config.clip_value)
            evaluation = Evaluation(step, w1_to_data(samples, run.real), w_est, *coverage(samples), at_bound)
            if generator_ema is not None:
                raw = generated(generator)
                evaluation.w1_raw = w1_to_data(raw, run.real)
                evaluation.modes_raw, evaluation.high_quality_raw = coverage(raw)
            run.evaluations.append(evaluation)
        if step in snapshot_steps:
            snapshot(step)
        spent = time.perf_counter() - t
        run.eval_seconds += spent
        inside[0] += spent if step < steps else 0.0

    if 0 in snapshot_steps:
        snapshot(0)
    run.log = train(config, data.sample, generator, critic, callback=measure, generator_ema=generator_ema)
    run.train_seconds = (run.log.wall_time[-1] if len(run.log) else 0.0) - inside[0]

    # Final metrics on a larger sample, with the floor a perfect generator would reach at that size.
    t = time.perf_counter()
    final_rng = Generator(30_000 + config.seed, config.device)
    final_noise = Tensor(final_rng.normal((n_final, config.noise_dim)))
    with no_grad():
        samples = sampler(final_noise).numpy()
    real_a, real_b = data.sample(n_final, final_rng), data.sample(n_final, final_rng)
    run.modes, run.high_quality = coverage(samples)
    run.w1_to_data = w1_to_data(samples, real_a)
    if generator_ema is not None:
        with no_grad():
            raw = generator(final_noise).numpy()
        run.modes_raw, run.high_quality_raw = coverage(raw)
        run.w1_to_data_raw = w1_to_data(raw, real_a)
    run.w1_floor = w1_to_data(real_b, real_a)
    run.gradient_norms = input_gradient_norms(critic, real, Tensor(to_device(samples[:n_eval], config.device)),
                                              final_rng)
    run.eval_seconds += time.perf_counter() - t
    return run


@contextmanager
def evaluating(module: Module):
    """``module`` in ``eval()`` mode for the block, then back in the mode it was in: measuring a spectrally
    normalised critic must not advance its power iteration, or the next training step would differ."""
    modes = [(m, m.training) for m in module.modules()]  # each its own: a mixed module comes back as it was
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes:
            m.training = training


def input_gradient_norms(critic: Module, real, fake, rng: Generator) -> np.ndarray:
    """||grad_x f(x_hat)|| at random interpolates x_hat between real and fake samples, the points where
    Gulrajani et al. 2017 (Eq. 3) apply their penalty; a 1-Lipschitz critic has all of them <= 1."""
    n = min(real.shape[0], fake.shape[0])
    with evaluating(critic):
        x_hat = interpolate(real[:n, ...], fake[:n, ...], rng)
        return critic_gradient_norms(critic, x_hat).numpy()


def linear_layers(critic: Module) -> list:
    """The critic's Linear and SpectralNorm layers, input to output."""
    return [m for _, m in critic.named_children() if isinstance(m, (Linear, SpectralNorm))]


def effective_weights(layer) -> np.ndarray:
    """The matrix a layer multiplies by: W, or W / sigma(W) under spectral normalization."""
    if isinstance(layer, SpectralNorm):
        with no_grad(), evaluating(layer):
            return layer.normalized_weight().numpy()
    return layer.weight.numpy()


def critic_weights(critic: Module) -> np.ndarray:
    """All weight-matrix entries of the critic in one flat array (biases left out)."""
    return np.concatenate([effective_weights(m).ravel() for m in linear_layers(critic)])


def fraction_at_bound(weights: np.ndarray, c: float, tolerance: float = 0.01) -> float:
    """The share of weights within ``tolerance * c`` of +c or -c: | |w| - c | <= tolerance * c."""
    return float(np.mean(np.abs(np.abs(weights) - c) <= tolerance * c))


def spectral_norms(critic: Module) -> list[float]:
    """The exact largest singular value of each layer's effective matrix (by SVD, float64). Their product
    bounds the critic's Lipschitz constant, ReLU being 1-Lipschitz (Miyato et al. 2018, Eq. 7)."""
    return [float(np.linalg.norm(effective_weights(m).astype(np.float64), 2)) for m in linear_layers(critic)]


def raw_spectral_norms(critic: Module) -> list[float]:
    """sigma(W) of the stored parameters, before any normalization."""
    layers = [m.linear if isinstance(m, SpectralNorm) else m for m in linear_layers(critic)]
    return [float(np.linalg.norm(m.weight.numpy().astype(np.float64), 2)) for m in layers]


def pearson(a, b) -> float:
    """Pearson's correlation coefficient of two equal-length sequences (nan when one is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _ranks(a) -> np.ndarray:
    return np.argsort(np.argsort(np.asarray(a)))


# ---------------------------------------------------------------------------------------------------------
# What the chapters print and return


def describe(c: WGANConfig, scale: Scale, data: ToyData) -> str:
    """One line of settings: tool, optimizer, lr, networks, batch, steps."""
    tool = {"clip": f"weight clipping c = {c.clip_value}", "gp": f"gradient penalty lambda = {c.gp_weight}",
            "sn": "spectral normalization"}[c.lipschitz]
    lr = (f"lr {c.lr:g}" if c.critic_lr in (None, c.lr) else
          f"lr {c.critic_lr:g} (critic) / {c.lr:g} (generator)")
    opt = f"{c.optimizer} {lr}" + (f" betas {c.betas}" if c.optimizer == "adam" else "")
    if c.lr_schedule == "linear":
        opt += " decaying linearly to 0"
    if c.ema_decay is not None:
        opt += f"; generator averaged (EMA {c.ema_decay:g})"
    return (f"{tool}; {opt}; n_critic {c.n_critic}; batch {c.batch_size}; MLPs {scale.depth} x {scale.width} "
            f"ReLU; {c.steps} generator steps; data {data.name}; seed {c.seed}")


def print_evaluations(run: ToyRun, bound: bool = False) -> None:
    """The table of evaluations: step, the critic's estimate, the exact W1, modes and quality."""
    print(f"  exact W1 between {len(run.real)} generated and {len(run.real)} real samples (a perfect generator "
          f"would score about W1(real, real) = {run.w1_floor_eval:.4f});")
    print("  W estimate = E f(real) - E f(fake) of the training batches, averaged over the steps just before")
    averaged = run.generator_ema is not None
    if averaged:
        print("  generated samples come from the moving average of the generator; 'trained' columns from the "
              "generator itself")
    head = "    step   W estimate   exact W1   modes   high-quality"
    print(head + ("   weights at +-c" if bound else "") + ("   W1 trained   HQ trained" if averaged else ""))
    for e in run.evaluations:
        quality = (f"{e.modes:3d}/{run.n_modes:<3d} {100 * e.high_quality:10.1f} %" if e.modes is not None
                   else f"{'-':>7} {'-':>12}")
        extra = f"   {100 * e.weights_at_bound:10.1f} %" if bound else ""
        if averaged:
            extra += f"   {e.w1_raw:10.4f}" + (f"   {100 * e.high_quality_raw:8.1f} %" if e.modes_raw is not None
                                               else f"   {'-':>10}")
        print(f"  {e.step:6d}  {e.w_estimate:11.4g}  {e.w1:9.4f}  {quality}{extra}")


def print_final(run: ToyRun) -> None:
    """The final metrics with the floor a perfect generator would reach."""
    n = run.config.steps
    if run.modes is not None:
        late = late_quality(run)
        print(f"  modes covered (nearest centre of a sample within 3 std)  = {run.modes}/{run.n_modes}")
        print(f"  high-quality samples (within 3 std of a centre)          = {100 * run.high_quality:.1f} %"
              f"   (real data: 98.9 %)")
        print(f"  high-quality share at the evaluations of the last quarter: min {100 * late[0]:.1f} %, "
              f"median {100 * late[1]:.1f} %, max {100 * late[2]:.1f} %")
    print(f"  W1(generated, real), {run.scale.n_final} samples each          = {run.w1_to_data:.4f}"
          f"   (floor W1(real, real) = {run.w1_floor:.4f})")
    if run.generator_ema is not None:
        quality = (f"{run.modes_raw}/{run.n_modes} modes, {100 * run.high_quality_raw:.1f} % high quality, "
                   if run.modes_raw is not None else "")
        print(f"  (above: the averaged generator; the trained generator itself: {quality}W1 "
              f"{run.w1_to_data_raw:.4f})")
    print(f"  training: {n} steps in {run.train_seconds:.1f} s = {run.ms_per_step:.1f} ms/step "
          f"(+ {run.eval_seconds:.1f} s measuring)")


def comparison_rows(runs: list[ToyRun], extra=()) -> list:
    """The rows chapters 07 and 08 compare their runs by (for :func:`print_table`): sample quality, W1 to
    the data, how well the W estimate tracks the exact W1, the gradient norms at interpolates, then
    ``extra`` rows, then the speed."""
    first = runs[0]  # every run of a chapter draws the same real samples: one floor
    return [("final samples: modes covered",
             lambda run: "-" if run.modes is None else f"{run.modes}/{run.n_modes}"),
            ("final samples: high quality (<= 3 std)",
             lambda run: "-" if run.modes is None else f"{100 * run.high_quality:.1f} %"),
            (f"W1 to data ({first.scale.n_final} samples; floor {first.w1_floor:.4f})",
             lambda run: f"{run.w1_to_data:.4f}"),
            ("generator averaged (EMA decay)",
             lambda run: "no" if run.generator_ema is None else f"{run.config.ema_decay:g}"),
            ("trained generator itself: high quality",
             lambda run: "-" if run.high_quality_raw is None else f"{100 * run.high_quality_raw:.1f} %"),
            ("W estimate vs exact W1: Pearson r", lambda run: f"{run.correlation()[0]:.3f}"),
            ("final W estimate / final exact W1",
             lambda run: f"{run.evaluations[-1].w_estimate / run.evaluations[-1].w1:.3g}"),
            ("||grad f|| at interpolates: mean", lambda run: f"{np.mean(run.gradient_norms):.3g}"),
            *extra,
            ("ms per generator step", lambda run: f"{run.ms_per_step:.1f}")]


def print_table(runs: list[ToyRun], rows, title: str = "", name_width: int = 44) -> None:
    """The runs side by side, one column each: ``rows`` are (name, run -> text) pairs, ``title`` heads the
    column of names."""
    print(f"  {title:{name_width}s}" + "".join(f"{run.label:>20s}" for run in runs))
    for name, value in rows:
        print(f"  {name:{name_width}s}" + "".join(f"{value(run):>20s}" for run in runs))


def summary(name: str, run: ToyRun) -> str:
    """The start of a chapter's one-line summary: data, steps, speed, modes and quality, W1 to the data."""
    quality = (f"{run.modes}/{run.n_modes} modes, {100 * run.high_quality:.1f}% high quality, "
               if run.modes is not None else "")
    averaged = " (averaged generator)" if run.generator_ema is not None else ""
    return (f"{name} on {run.data.name}, {run.config.steps} steps ({run.ms_per_step:.0f} ms/step){averaged}: "
            f"{quality}W1 to data {run.w1_to_data:.4f}")


def late_quality(run: ToyRun) -> tuple[float, float, float]:
    """(min, median, max) of the high-quality share over the evaluations of the last quarter of training:
    how steady the final number is (a generator can oscillate around the modes)."""
    late = [e.high_quality for e in run.evaluations if e.step > 0.75 * run.config.steps] or \
        [run.evaluations[-1].high_quality]
    return float(np.min(late)), float(np.median(late)), float(np.max(late))


def claims(run: ToyRun) -> dict:
    """The numbers a chapter claims about one run, by name."""
    r, rho = run.correlation()
    return {"steps": run.config.steps, "width": run.scale.width, "dataset": run.data.name,
            "modes": run.modes, "n_modes": run.n_modes, "high_quality": run.high_quality,
            "w1_to_data": run.w1_to_data, "w1_floor": run.w1_floor,
            "w1_first": run.evaluations[0].w1, "w1_last": run.evaluations[-1].w1,
            "w_estimate_first": run.evaluations[0].w_estimate, "w_estimate_last": run.evaluations[-1].w_estimate,
            "w_correlation": r, "w_rank_correlation": rho,
            "high_quality_late": late_quality(run) if run.modes is not None else None,
            "gradient_norm_mean": float(np.mean(run.gradient_norms)),
            "gradient_norm_max": float(np.max(run.gradient_norms)),
            "ms_per_step": run.ms_per_step, "train_seconds": run.train_seconds,
            "averaged": run.generator_ema is not None, "modes_raw": run.modes_raw,
            "high_quality_raw": run.high_quality_raw, "w1_to_data_raw": run.w1_to_data_raw}
