"""``python -m tinywgan.bench``: the speed of one WGAN training iteration, side by side.

One iteration is what :func:`tinywgan.wgan.train` runs per generator step: ``n_critic = 5`` critic steps and
one generator step (Gulrajani et al. 2017, Algorithm 1; Arjovsky et al. 2017, Algorithm 1). It is timed for

* two workloads (:data:`tinywgan.bench.workloads.WORKLOADS`): ``toy``, the MLPs 2-512-512-512 of Gulrajani et
  al.'s ``gan_toy.py`` at batch 256 on 8 Gaussians; ``mnist``, generator 128-512-512-512-784 (tanh out) and
  critic 784-512-512-512-1 (LeakyReLU 0.2) at batch 64, on a stand-in for MNIST: 2,048 fixed images of
  uniform pixels in [-1, 1], batches drawn by index as chapter 09 draws MNIST's (the time does not depend
  on the pixels, and the bench needs no download);
* two variants: ``gp`` (gradient penalty, Adam 1e-4, betas (0.5, 0.9), lambda = the workload's: toy 0.1,
  mnist 10) and ``clip`` (RMSprop 5e-5, weight clipping c = 0.01, no penalty);
* five implementations, started from the same initial weights: tinywgan (``WGANTrainer.iteration``, the
  library's loop, with the speed layer :mod:`tinywgan.fast` on); textbook (the same with the speed layer off,
  so that its gain is measured, not claimed); user code (the iteration as a PyTorch user writes it with
  tinywgan: ``nn.Sequential``, the penalty by hand, ``backward()`` for both networks,
  :mod:`tinywgan.bench.usercode`); the hand-derived NumPy iteration with no autograd
  (:mod:`tinywgan.bench.handwritten`); and, when it is installed, PyTorch
  (:mod:`tinywgan.bench.torch_reference`; never a dependency);
* on the CPU (NumPy) and, when CuPy sees a GPU, on the GPU (tinywgan on CuPy, PyTorch on CUDA).

Before any timing, each (workload, variant) is checked: on one fixed (real, fake, alpha) batch in float64,
tinywgan's critic gradients (loss and penalty, by double backprop) and generator gradients must equal the
hand-written ones (and PyTorch's, when installed) to a relative 1e-6, so must the user code's, and the
speed layer off must give tinywgan's gradients bit for bit. A disagreement stops the bench with
a :class:`GradientMismatch` naming the workload, variant, parameter and error (exit status 1).

Timing: warm-up iterations first; then the implementations take turns (round-robin, the order rotating
every round) so that load from other processes falls on all of them alike, and each timed iteration comes
right after an untimed one of the same implementation (``--lead-in``, default 1: the steady state of a
training loop, whatever ran before); the table gives the median over
the repeats, and each ratio is the median of the ratios within a round (:func:`paired_ratio`: the two
iterations of a round met the same load). On a GPU the device is synchronised before each reading of the
clock. PyTorch runs in a child process (:class:`~tinywgan.bench.torch_reference.TorchProcess`), which times its
own iterations: with PyTorch's OpenMP pool and NumPy's OpenBLAS pool in one process, each pool's threads
polled for work on the cores the other was using, and on a two-core machine the two-thread ratios swung by
20% between runs. For the same reason each implementation's turn starts after a pause (0.25 s; none with one
thread, where no pool exists; the environment variable ``TINYWGAN_BENCH_PAUSE`` sets it), so that idle
threads have stopped polling.

Threads: ``--threads N`` sets the BLAS (OpenBLAS / MKL / OpenMP) thread count and PyTorch's (without it,
PyTorch gets as many threads as NumPy's BLAS has): as a script, before NumPy loads; called in-process
(``main([...])``), at run time, and put back when ``main`` returns (:mod:`tinywgan.bench.threads`). The header
prints the count in force. On a shared machine, BLAS threads that wait for a descheduled sibling can make
multi-threaded timings swing 10x from run to run; ``--threads 1`` gives steady numbers.

``python -m tinywgan.bench --quick`` (CI: 1 warm-up, 2 timed iterations, 1 thread, the real sizes) checks
the gradients; timings are printed, never asserted. ``--small`` (hidden layers of 64, batch 32) is for the
tests. PyTorch on the GPU row runs :class:`~tinywgan.bench.torch_reference.TorchWGAN`'s own steps on CUDA, the
batch drawn on the host.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

from .. import fast, nn
from ..data import toy_dataset
from ..engine import Tensor, backend, grad, no_grad
from ..wgan import WGANConfig, WGANTrainer, critic_loss, generator_loss, gradient_penalty
from . import handwritten as hw
from .threads import blas_threads, set_blas_threads
from .torch_reference import TorchProcess, TorchProcessError, torch_installed
from .usercode import UserCodeWGAN
from .workloads import (VARIANTS, Workload, draw_critic_inputs, draw_generator_noise, flat, initial_weights,
                        stand_in_images, workload)

WORKLOAD_NAMES = ("toy", "mnist")
VARIANT_NAMES = ("gp", "clip")
# tinywgan: the trainer's iteration (WGANTrainer, the speed layer on); textbook: the same with the speed layer
# off (tinywgan.fast.disabled); usercode: the iteration as a PyTorch user writes it (tinywgan.bench.usercode).
IMPLEMENTATIONS = ("tinywgan", "textbook", "usercode", "handwritten", "pytorch")
# Relative, in float64. Measured: PyTorch and the hand-written gradients differ by ~2e-15; tinywgan's gradient
# penalty by up to ~4e-10 (its norm is sqrt(sum x^2 + 1e-12), tinywgan.engine.ops.norm's eps).
TOLERANCE = 1e-6


class GradientMismatch(AssertionError):
    """Two implementations of the same gradient disagree: the bench's numbers would compare different
    computations, so it stops before timing anything."""


# ---------------------------------------------------------------------------------------------------------
# tinywgan's side of a workload: its networks (the same weights as the others), its trainer, its data


def mlp_with_weights(layers, activation: str, output_activation: str, device: str = "cpu") -> nn.MLP:
    """A :class:`tinywgan.nn.MLP` on ``device`` holding ``layers`` (copied): the same weights as the
    hand-written and PyTorch implementations, whose convention ``y = x @ W + b`` it shares."""
    sizes = [layers[0][0].shape[0]] + [W.shape[1] for W, _ in layers]
    dtype = str(layers[0][0].dtype)
    mlp = nn.MLP(sizes, activation=activation,
                 output_activation=None if output_activation == "identity" else output_activation, dtype=dtype)
    mlp.to(device)
    names = [name for name, _ in mlp.named_parameters()]
    mlp.load_state_dict(dict(zip(names, flat(layers))))
    return mlp


def critic_and_generator(wl: Workload, critic_layers, generator_layers, device: str = "cpu"):
    return (mlp_with_weights(critic_layers, wl.critic_activation, "identity", device),
            mlp_with_weights(generator_layers, wl.generator_activation, wl.generator_output, device))


def wgan_config(wl: Workload, variant: str, device: str = "cpu", seed: int = 0) -> WGANConfig:
    """The :class:`~tinywgan.wgan.WGANConfig` of a workload and variant, read from ``workloads.VARIANTS``
    (the settings the hand-written and PyTorch iterations use too)."""
    v = VARIANTS[variant]
    common = dict(n_critic=5, batch_size=wl.batch_size, noise_dim=wl.noise_dim, device=device, seed=seed,
                  progress=False, optimizer=v["optimizer"], lr=v["lr"])
    if v["clip_value"] is None:  # Gulrajani et al. 2017, Alg. 1
        return WGANConfig(lipschitz="gp", betas=v["betas"], gp_weight=wl.gp_weight, **common)
    return WGANConfig.clipping(clip_value=v["clip_value"], **common)  # Arjovsky et al. 2017, Alg. 1


def real_sampler(wl: Workload) -> Callable:
    """``sample_real(n, rng)`` for :class:`~tinywgan.wgan.WGANTrainer`: 8 Gaussians for ``toy``; for
    ``mnist`` the hand-written bench's stand-in (:func:`tinywgan.bench.workloads.stand_in_images`), on the
    device, drawn by index as chapter 09 draws MNIST batches."""
    if wl.name == "toy":
        return toy_dataset("8gaussians").sample
    images = {}

    def sample(n, rng):
        if rng.device not in images:
            images[rng.device] = backend.to_device(stand_in_images(wl.data_dim), rng.device)
        x = images[rng.device]
        return rng.xp.take(x, rng.integers(0, x.shape[0], (n,)), axis=0)
    return sample


# ---------------------------------------------------------------------------------------------------------
# The gradient check


def _compare(got, want, what: str, wl, variant: str, device: str, tolerance: float) -> float:
    """max |got - want| / max |want|; a :class:`GradientMismatch` when it exceeds ``tolerance``."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise GradientMismatch(f"gradient check, workload {wl.name!r}, variant {variant!r}, device {device!r}: "
                               f"{what} have shapes {got.shape} and {want.shape}")
    abs_err = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    rel_err = abs_err / scale if scale > 0 else abs_err
    if not rel_err <= tolerance:  # also catches NaN
        raise GradientMismatch(
            f"gradient check failed for workload {wl.name!r}, variant {variant!r}, device {device!r}: {what} "
            f"differ by {abs_err:.3g} at most (relative to max |value| {scale:.3g}: {rel_err:.3g}; tolerance "
            f"{tolerance:g}). The timings would compare different computations; nothing was timed.")
    return rel_err


def check_gradients(wl: Workload, variant: str, device: str = "cpu", seed: int = 0,
                    torch_process: TorchProcess | None = None, tolerance: float = TOLERANCE) -> dict:
    """Check, in float64 on one fixed batch, that tinywgan's gradients equal the hand-derived ones:

    * the critic's ``d/dtheta [mean f(x~) - mean f(x) + lambda mean (||grad f(x_hat)|| - 1)^2]``
      (no penalty for ``clip``), tinywgan by ``backward()`` through :func:`~tinywgan.wgan.gradient_penalty`
      with the same ``alpha``, against :func:`tinywgan.bench.handwritten.critic_gradients`;
    * the generator's ``d/dtheta [-mean f(g(z))]`` against :func:`tinywgan.bench.handwritten.generator_gradients`;
    * PyTorch's, for both, computed in ``torch_process`` (a :class:`~tinywgan.bench.torch_reference.TorchProcess`)
      when one is given and ``device`` is the CPU.

    Returns ``{"workload", "variant", "device", "passed", "max_rel_error", "torch_checked"}``; raises
    :class:`GradientMismatch` naming the parameter when any entry is off by more than ``tolerance``.
    """
    critic, generator = initial_weights(wl, seed, np.float64)
    rng = np.random.default_rng(seed + 1)
    real, z, alpha = draw_critic_inputs(wl, variant, rng, np.float64)
    z_generator = draw_generator_noise(wl, rng, np.float64)
    gp_weight = wl.gp_weight if alpha is not None else 0.0
    fake = hw.mlp_forward(generator, z, wl.generator_activation, wl.generator_output).output
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    host = backend.to_numpy
    compare = lambda got, want, what, tol=tolerance: _compare(got, want, what, wl, variant, device, tol)  # noqa: E731
    errors = []

    # hand-written, then tinywgan, on the same numbers
    hw_loss, _, hw_critic = hw.critic_gradients(critic, real, fake, alpha, activation=wl.critic_activation,
                                                gp_weight=gp_weight)
    _, hw_generator = hw.generator_gradients(generator, critic, z_generator,
                                             generator_activation=wl.generator_activation,
                                             generator_output=wl.generator_output,
                                             critic_activation=wl.critic_activation)
    D, G = critic_and_generator(wl, critic, generator, device)
    with no_grad():
        fake_tinywgan = host(G(Tensor(on(z))).data)
    errors.append(compare(fake_tinywgan, fake, "the generator's output g(z), tinywgan vs hand-written,"))
    real_t, fake_t = Tensor(on(real)), Tensor(on(fake))
    loss = critic_loss(D(real_t), D(fake_t))
    if alpha is not None:  # Gulrajani et al. 2017, Eq. 3, at the same x_hat = alpha x + (1 - alpha) x~
        loss = loss + gradient_penalty(D, real_t, fake_t, None, weight=gp_weight, alpha=on(alpha))
    D.zero_grad()
    loss.backward()
    errors.append(compare(loss.item(), hw_loss, "the critic's loss, tinywgan vs hand-written,"))
    critic_names = [n for n, _ in D.named_parameters()]
    fast_critic = [host(p.grad.data) for p in D.parameters()]
    for name, got, want in zip(critic_names, fast_critic, flat(hw_critic)):
        errors.append(compare(got, want, f"d(critic loss)/d(critic.{name}), tinywgan vs hand-written,"))
    g_loss = generator_loss(D(G(Tensor(on(z_generator)))))
    generator_names = [n for n, _ in G.named_parameters()]
    fast_generator = [host(g.data) for g in grad(g_loss, G.parameters())]
    for name, got, want in zip(generator_names, fast_generator, flat(hw_generator)):
        errors.append(compare(got, want, f"d(generator loss)/d(generator.{name}), tinywgan vs hand-written,"))

    # The speed layer changes no number: the same gradients, bit for bit, with it off.
    with fast.disabled():
        D.zero_grad()
        textbook = critic_loss(D(real_t), D(fake_t))
        if alpha is not None:
            textbook = textbook + gradient_penalty(D, real_t, fake_t, None, weight=gp_weight, alpha=on(alpha))
        textbook.backward()
        textbook_generator = grad(generator_loss(D(G(Tensor(on(z_generator))))), G.parameters())
    for name, p, want in zip(critic_names, D.parameters(), fast_critic):
        compare(host(p.grad.data), want, f"d(critic loss)/d(critic.{name}), the speed layer off vs on,", 0.0)
    for name, g, want in zip(generator_names, textbook_generator, fast_generator):
        compare(host(g.data), want, f"d(generator loss)/d(generator.{name}), the speed layer off vs on,", 0.0)

    # The iteration as a user writes it (penalty by hand, backward() for both networks): the same gradients.
    user = UserCodeWGAN(wl, variant, critic, generator, device=device, gp_weight=gp_weight)
    user_loss = user.critic_loss(real_t, fake_t, None if alpha is None else Tensor(on(alpha)))
    user_loss.backward()
    for name, p, want in zip(critic_names, user.critic.parameters(), flat(hw_critic)):
        errors.append(compare(host(p.grad.data), want, f"d(critic loss)/d(critic.{name}), user code vs hand-written,"))
    user.generator_loss(Tensor(on(z_generator))).backward()
    for name, p, want in zip(generator_names, user.generator.parameters(), flat(hw_generator)):
        errors.append(compare(host(p.grad.data), want,
                              f"d(generator loss)/d(generator.{name}), user code vs hand-written,"))

    torch_checked = torch_process is not None and device == "cpu"  # PyTorch's check runs on the CPU
    if torch_checked:
        t_critic, t_generator = torch_process.gradients(wl, variant, critic, generator, real, fake, alpha,
                                                        z_generator, gp_weight)
        for name, got, want in zip(critic_names, t_critic, flat(hw_critic)):
            errors.append(compare(got, want, f"d(critic loss)/d(critic.{name}), PyTorch vs hand-written,"))
        for name, got, want in zip(generator_names, t_generator, flat(hw_generator)):
            errors.append(compare(got, want, f"d(generator loss)/d(generator.{name}), PyTorch vs hand-written,"))
    return dict(workload=wl.name, variant=variant, device=device, passed=True,
                max_rel_error=max(errors), torch_checked=torch_checked)


# ---------------------------------------------------------------------------------------------------------
# What is timed


def clocked(run: Callable[[], object], sync: Callable[[], None] = lambda: None) -> Callable[[], float]:
    """``run`` timed by the wall clock, with ``sync()`` (waiting for a GPU's queue) before both readings."""
    def timed():
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        return time.perf_counter() - t0
    return timed


def make_runners(wl, variant: str, device: str, seed: int, torch_process: TorchProcess | None = None) -> dict:
    """The implementations of one table row, built from the same float32 initial weights, as
    ``{name: timed}``: ``timed()`` runs one training iteration and returns the seconds it took, the device
    synchronised before each reading of the clock. PyTorch runs in ``torch_process`` when one is given (on
    CUDA for the GPU row, if the child sees CUDA)."""
    critic, generator = initial_weights(wl, seed)
    runners = {}
    D, G = critic_and_generator(wl, critic, generator, device)
    trainer = WGANTrainer(wgan_config(wl, variant, device, seed), real_sampler(wl), G, D)
    steps = itertools.count()
    sync = lambda: backend.synchronize(device)  # noqa: E731
    runners["tinywgan"] = clocked(lambda: trainer.iteration(next(steps)), sync)
    D, G = critic_and_generator(wl, critic, generator, device)
    textbook = WGANTrainer(wgan_config(wl, variant, device, seed), real_sampler(wl), G, D)
    textbook_steps = itertools.count()

    def textbook_iteration():
        with fast.disabled():
            textbook.iteration(next(textbook_steps))
    runners["textbook"] = clocked(textbook_iteration, sync)
    user = UserCodeWGAN(wl, variant, critic, generator, real_sampler(wl), device, seed)
    runners["usercode"] = clocked(user.iteration, sync)
    if device == "cpu":  # the hand-written iteration is NumPy only
        h = hw.HandwrittenWGAN(wl, variant, critic=critic, generator=generator, seed=seed)
        h_rng = np.random.default_rng(seed)
        runners["handwritten"] = clocked(lambda: h.iteration(h_rng))
    if torch_process is not None and (device == "cpu" or torch_process.info["cuda"]):
        torch_process.setup(wl, variant, critic, generator, "cpu" if device == "cpu" else "cuda", seed)
        runners["pytorch"] = torch_process.iteration  # timed in the child
    return runners


def paired_ratio(ours, theirs) -> float:
    """The median over the rounds of (our time / their time) in the same round. Load from other processes
    comes and goes over seconds; the two iterations of one round ran back to back and met the same load, so
    their ratio is steadier than a ratio of medians taken over different moments."""
    return statistics.median(a / b for a, b in zip(ours, theirs))


def time_round_robin(runners: dict, warmup: int, repeat: int, progress=None, pause: float = 0.0,
                     lead_in: int = 0) -> dict:
    """Milliseconds of each of ``repeat`` iterations per runner, after ``warmup`` untimed ones. The runners
    take turns, the order rotating each round, so background load falls on all of them alike.

    ``pause`` seconds of sleep come before each runner's turn: a thread pool (OpenBLAS's, PyTorch's OpenMP)
    keeps its idle threads polling for work for up to ~0.1 s after its last job, and without the pause they
    would take cores from the implementation timed next. ``lead_in`` untimed iterations then run just before the
    timed one, so that it follows an iteration of its own implementation, as in a training loop: without
    them, an iteration timed right after another implementation's starts with that one's data in the
    caches, and with three runners rotating, one of them follows PyTorch in two rounds out of three
    (measured: tinywgan/hand-written 1.11x in that order, 1.04x in the other)."""
    order = list(runners)
    samples = {name: [] for name in order}
    for round_ in range(warmup + repeat):
        k = round_ % len(order)
        for name in order[k:] + order[:k]:
            if pause:
                time.sleep(pause)
            leading = lead_in if round_ >= warmup else 0
            for _ in range(leading):
                runners[name]()
            elapsed = runners[name]()
            if round_ >= warmup:
                samples[name].append(1000 * elapsed)
            if progress is not None:
                progress.update(1 + leading)  # iterations run, timed or not
    return samples


# ---------------------------------------------------------------------------------------------------------
# Reporting


def _header(args, threads, torch_info) -> dict:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the layout of show_config is not a stable API
        blas = "unknown"
    meta = dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                machine=platform.processor() or platform.machine(), platform=platform.platform(),
                cpu_count=os.cpu_count(), python=platform.python_version(), numpy=np.__version__, blas=blas,
                blas_threads=threads, torch=None, torch_threads=None, cupy=None, gpu=None,
                load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                warmup=args.warmup, repeat=args.repeat, lead_in=args.lead_in, small=args.small)
    if torch_info is not None:
        meta["torch"], meta["torch_threads"] = torch_info["version"], torch_info["threads"]
    if backend.gpu_available():
        cp = backend.namespace("gpu")
        meta["cupy"] = cp.__version__
        meta["gpu"] = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return meta


def _fmt_ms(x) -> str:
    return "—" if x is None else f"{x:.1f}"


def _fmt_ratio(x) -> str:
    return "—" if x is None else f"{x:.2f}x"


def _threads(n) -> str:
    return "? threads" if n is None else f"{n} thread" + ("s" if n != 1 else "")


def format_table(results: dict) -> str:
    m = results["meta"]
    lines = [
        "tinywgan bench: one training iteration = 5 critic steps + 1 generator step; median ms; ratios are "
        "medians of the ratios within each round",
        f"date {m['date']}  machine {m['machine']} ({m['cpu_count']} CPUs, {m['platform']})",
        f"Python {m['python']}  NumPy {m['numpy']} ({m['blas']}, {_threads(m['blas_threads'])})  "
        f"PyTorch {m['torch'] or '—'}" + (f" ({_threads(m['torch_threads'])})" if m["torch"] else "")
        + (" in a child process" if m["torch"] else "")
        + f"  CuPy {m['cupy'] or '—'}" + (f" ({m['gpu']})" if m["gpu"] else ""),
        f"warm-up {m['warmup']}, {m['repeat']} timed iterations each, implementations interleaved round-robin"
        + (f", each timed iteration after {m.get('lead_in')} untimed of its own" if m.get("lead_in") else "")
        + (f"; load average {m['load_average']:.2f}" if m["load_average"] is not None else "")
        + (" (machine busy: timings are noisy; --threads 1 steadies them)"
           if (m["load_average"] or 0) > 0.5 * (m["cpu_count"] or 1) and m["blas_threads"] != 1
           else " (machine busy: timings are noisy)" if (m["load_average"] or 0) > 0.5 * (m["cpu_count"] or 1)
           else "") + ("; SMALL sizes (--small)" if m["small"] else ""),
        "gradient check (float64, rel. tolerance %g): " % TOLERANCE + ", ".join(
            f"{c['workload']}/{c['variant']}/{c['device']} ok ({c['max_rel_error']:.1e}"
            + (", +PyTorch)" if c["torch_checked"] else ")") for c in results["gradient_checks"]),
    ] + ([m["torch_note"]] if m.get("torch_note") else []) + [""]
    head = ("workload", "variant", "device", "tinywgan", "textbook", "user code", "hand-written", "PyTorch",
            "tiny/hand", "tiny/torch", "textbook/tiny", "user/tiny", "user/hand")
    rows = [head] + [(r["workload"], r["variant"], r["device"],
                      *(_fmt_ms(r["ms"][name]) for name in IMPLEMENTATIONS),
                      *(_fmt_ratio(r.get(key)) for key in ("ratio_handwritten", "ratio_pytorch", "ratio_textbook",
                                                            "ratio_usercode", "ratio_usercode_handwritten")))
                     for r in results["rows"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for j, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", results["summary"]]
    return "\n".join(lines)


def _summary(rows) -> str:
    def span(key, label):
        values = [r[key] for r in rows if r[key] is not None]
        if not values:
            return None
        geo = math.exp(sum(math.log(v) for v in values) / len(values))
        return f"{geo:.2f}x {label} (geometric mean; {min(values):.2f}x to {max(values):.2f}x)"
    parts = [p for p in (span("ratio_handwritten", "the hand-written NumPy iteration's time"),
                         span("ratio_pytorch", "PyTorch's")) if p]
    return "summary: tinywgan takes " + (", and ".join(parts) if parts else "(nothing to compare with)") + "."


# ---------------------------------------------------------------------------------------------------------
# The command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tinywgan.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="CI: 1 warm-up and 2 timed iterations, 1 thread (unless --warmup/--repeat/--threads "
                        "say otherwise)")
    p.add_argument("--repeat", type=int, default=None, help="timed iterations per implementation (default 10)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 2)")
    p.add_argument("--lead-in", type=int, default=None,
                   help="untimed iterations right before each timed one, of the same implementation "
                        "(default 1; 0 with --quick)")
    p.add_argument("--workload", choices=WORKLOAD_NAMES + ("all",), default="all")
    p.add_argument("--variant", choices=VARIANT_NAMES + ("all",), default="all")
    p.add_argument("--device", choices=("cpu", "gpu", "all"), default="all",
                   help="'all': the CPU, and the GPU when CuPy sees one")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS / OpenMP / PyTorch threads (default: BLAS's own count, and as many for PyTorch)")
    p.add_argument("--json", metavar="PATH", default=None, help="also save the results as JSON")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when it is installed")
    p.add_argument("--small", action="store_true", help="hidden layers of 64 and batch 32 (for the tests)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = p.parse_args(argv)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.repeat = args.repeat if args.repeat is not None else (2 if args.quick else 10)
    args.lead_in = args.lead_in if args.lead_in is not None else (0 if args.quick else 1)
    # A shared 2-core CI box: BLAS and OpenMP threads waiting on descheduled siblings made --quick 3x slower
    # and erratic (one 10 ms step took 1.3 s), so --quick runs one thread unless told otherwise.
    args.threads = args.threads if args.threads is not None else (1 if args.quick else None)
    if args.repeat < 1 or args.warmup < 0 or args.lead_in < 0 or (args.threads is not None and args.threads < 1):
        p.error(f"need --repeat >= 1, --warmup >= 0, --lead-in >= 0 and --threads >= 1; got {args.repeat}, "
                f"{args.warmup}, {args.lead_in}, {args.threads}")
    return args


def main(argv=None) -> dict:
    """Run the bench; print the table; return ``{"meta", "gradient_checks", "rows", "summary"}`` (and save
    it with ``--json``). Raises :class:`GradientMismatch` when the implementations disagree.

    PyTorch, when installed and not ``--no-torch``, runs in a child process
    (:class:`~tinywgan.bench.torch_reference.TorchProcess`) with the same thread count as NumPy's BLAS; if it
    cannot start there, the bench says why and goes on without it."""
    args = parse_args(argv)
    fast.prepare_run()  # the speed layer's memory setting, as a training run gets it
    restore = set_blas_threads(args.threads) if args.threads else (lambda: None)
    torch_process = torch_note = None
    try:
        if not args.no_torch and torch_installed():
            try:
                torch_process = TorchProcess(threads=args.threads or blas_threads())
            except TorchProcessError as err:
                torch_note = f"PyTorch left out: it did not start in a child process ({err})"
                print(torch_note, file=sys.stderr)
        return _run(args, torch_process, torch_note)
    finally:  # an in-process caller (the tests) gets its thread counts back
        if torch_process is not None:
            torch_process.close()
        restore()


def _run(args, torch_process: TorchProcess | None, torch_note: str | None) -> dict:
    gpu = backend.gpu_available()
    if args.device == "gpu" and not gpu:
        raise SystemExit("--device gpu: CuPy sees no GPU here (pip install -e '.[gpu]' on a CUDA machine)")
    devices = {"cpu": ["cpu"], "gpu": ["gpu"], "all": ["cpu"] + (["gpu"] if gpu else [])}[args.device]
    workloads = WORKLOAD_NAMES if args.workload == "all" else (args.workload,)
    variants = VARIANT_NAMES if args.variant == "all" else (args.variant,)
    cases = [(w, v, d) for w in workloads for v in variants for d in devices]

    # 1. Do the implementations compute the same thing? Checked before anything is timed.
    checks = [check_gradients(workload(w, args.small), v, d, args.seed, torch_process) for w, v, d in cases]

    # 2. Time them.
    progress = None
    if not args.no_progress:
        from tqdm import tqdm
        with_torch = torch_process is not None
        n_impl = {"cpu": 4 + with_torch, "gpu": 3 + (with_torch and torch_process.info["cuda"])}
        iterations = args.warmup + args.repeat * (1 + args.lead_in)
        progress = tqdm(total=sum(n_impl[d] for _, _, d in cases) * iterations, desc="bench",
                        unit="it", file=sys.stderr, leave=False, disable=None)
    threads = blas_threads()
    pause = os.environ.get("TINYWGAN_BENCH_PAUSE", "0" if threads == 1 else "0.25")
    try:
        pause = float(pause)
    except ValueError:
        pause = float("nan")
    if not 0 <= pause <= 60:
        raise SystemExit(f"TINYWGAN_BENCH_PAUSE must be a number of seconds in [0, 60]; got "
                         f"{os.environ.get('TINYWGAN_BENCH_PAUSE')!r}")
    rows = []
    for w, v, d in cases:
        if progress is not None:
            progress.set_description(f"{w}/{v}/{d}")
        runners = make_runners(workload(w, args.small), v, d, args.seed, torch_process)
        samples = time_round_robin(runners, args.warmup, args.repeat, progress, pause, args.lead_in)
        ms = {name: (statistics.median(samples[name]) if name in samples else None) for name in IMPLEMENTATIONS}
        def ratio(ours, theirs):
            return paired_ratio(samples[ours], samples[theirs]) if theirs in samples else None
        rows.append(dict(workload=w, variant=v, device=d, ms=ms, samples_ms=samples,
                         ratio_handwritten=ratio("tinywgan", "handwritten"), ratio_pytorch=ratio("tinywgan", "pytorch"),
                         ratio_textbook=ratio("textbook", "tinywgan"), ratio_usercode=ratio("usercode", "tinywgan"),
                         ratio_usercode_handwritten=ratio("usercode", "handwritten")))
        del runners
    if progress is not None:
        progress.close()

    meta = _header(args, threads, torch_process.info if torch_process is not None else None)
    meta["torch_note"] = torch_note
    results = dict(meta=meta, gradient_checks=checks, rows=rows, summary=_summary(rows))
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


def command_line() -> None:
    """``python -m tinywgan.bench``: :func:`main`, with a one-line message and exit status 1 on failure."""
    try:
        main()
    except (GradientMismatch, TorchProcessError) as err:
        print(f"tinywgan.bench: {err}", file=sys.stderr)
        sys.exit(1)

