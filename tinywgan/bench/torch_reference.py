"""The same WGAN iteration in PyTorch: the yardstick ``python -m tinywgan.bench`` times against.

PyTorch is never a dependency of tinywgan: this module imports without it (:func:`torch_installed` says
whether a ``torch`` package is there, :func:`torch_available` whether it imports), and ``torch`` is
imported only when a :class:`TorchWGAN` is built. :class:`TorchProcess` sets the thread count.

It mirrors :class:`tinywgan.bench.handwritten.HandwrittenWGAN` step for step: the same initial weights (our
``(in, out)`` matrices, transposed into ``nn.Linear``'s ``(out, in)``), the same random draws from the
same NumPy generator (:func:`~tinywgan.bench.workloads.draw_critic_inputs`), ``torch.optim.Adam`` or
``torch.optim.RMSprop`` with the variant's settings, and the gradient penalty by double backprop
(``torch.autograd.grad(..., create_graph=True)``), as in Gulrajani et al.'s reference code.

:class:`TorchProcess` runs all of that in a child process, which is how the bench times it, so that
PyTorch's OpenMP thread pool and NumPy's OpenBLAS pool never share one process (:mod:`tinywgan.bench` says
why).
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import select
import subprocess
import sys
import time
import traceback

from .threads import THREAD_VARIABLES
from .workloads import VARIANTS, draw_critic_inputs, draw_generator_noise, resolve_setup


def torch_available() -> bool:
    """True when PyTorch imports (a missing or broken installation both read as unavailable)."""
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _mlp(torch, layers, activation, output_activation):
    """``nn.Sequential`` of ``nn.Linear`` layers holding ``layers = [(W (in, out), b (out,)), ...]``."""
    nn = torch.nn
    act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh,
           "identity": nn.Identity}
    modules = []
    for k, (W, b) in enumerate(layers):
        linear = nn.Linear(W.shape[0], W.shape[1], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        modules += [linear, act[output_activation if k == len(layers) - 1 else activation]()]
    return nn.Sequential(*modules)


def _layers_of(module):
    """The weights of an ``nn.Sequential`` back in our convention: ``[(W (in, out), b), ...]`` as NumPy."""
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
            for m in module if hasattr(m, "weight")]


class TorchWGAN:
    """One WGAN iteration (``n_critic`` critic steps, one generator step) in PyTorch (on the CPU;
    :func:`torch_wgan` moves one to another device).

    Same arguments as :class:`tinywgan.bench.handwritten.HandwrittenWGAN`; the weights' dtype (float32 or
    float64) is the dtype of the whole computation.
    """

    def __init__(self, workload="toy", variant="gp", critic=None, generator=None, *, gp_weight=None,
                 n_critic=5, real_sampler=None, seed=0):
        import torch
        self.torch = torch
        self.workload, self.gp_weight, critic, generator = resolve_setup(
            workload, variant, critic, generator, gp_weight, seed)
        self.variant, self.n_critic, self.real_sampler = variant, n_critic, real_sampler
        self.dtype = critic[0][0].dtype
        wl = self.workload
        self.critic = _mlp(torch, critic, wl.critic_activation, "identity")
        self.generator = _mlp(torch, generator, wl.generator_activation, wl.generator_output)
        cfg = VARIANTS[variant]
        if cfg["optimizer"] == "adam":
            optimizer, settings = torch.optim.Adam, dict(lr=cfg["lr"], betas=cfg["betas"], eps=cfg["eps"])
        else:
            optimizer, settings = torch.optim.RMSprop, dict(lr=cfg["lr"], alpha=cfg["alpha"], eps=cfg["eps"])
        self.critic_optimizer = optimizer(self.critic.parameters(), **settings)
        self.generator_optimizer = optimizer(self.generator.parameters(), **settings)

    def critic_layers(self):
        """The critic's current weights as ``[(W (in, out), b), ...]`` NumPy arrays."""
        return _layers_of(self.critic)

    def generator_layers(self):
        """The generator's current weights as ``[(W (in, out), b), ...]`` NumPy arrays."""
        return _layers_of(self.generator)

    def critic_step(self, rng):
        """One critic update; returns the critic's loss (penalty included)."""
        torch, D = self.torch, self.critic
        real, z, alpha = draw_critic_inputs(self.workload, self.variant, rng, self.dtype, self.real_sampler)
        real, z = torch.from_numpy(real), torch.from_numpy(z)
        with torch.no_grad():
            fake = self.generator(z)
        loss = _critic_loss(torch, D, real, fake, alpha, self.gp_weight)
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        clip_value = VARIANTS[self.variant]["clip_value"]
        if clip_value is not None:  # Arjovsky et al. 2017, Alg. 1, line 7
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-clip_value, clip_value)
        return loss.item()

    def generator_step(self, rng):
        """One generator update; returns ``-mean f(g(z))``. The critic's parameters stop requiring
        gradients meanwhile, so no critic weight gradient is computed."""
        torch = self.torch
        z = torch.from_numpy(draw_generator_noise(self.workload, rng, self.dtype))
        for p in self.critic.parameters():
            p.requires_grad_(False)
        loss = -self.critic(self.generator(z)).mean()
        self.generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.generator_optimizer.step()
        for p in self.critic.parameters():
            p.requires_grad_(True)
        return loss.item()

    def iteration(self, rng):
        """``n_critic`` critic steps then one generator step; returns ``(critic_loss, generator_loss)``."""
        for _ in range(self.n_critic):
            critic_loss = self.critic_step(rng)
        return critic_loss, self.generator_step(rng)


def _critic_loss(torch, D, real, fake, alpha, gp_weight):
    """``mean D(fake) - mean D(real)``, plus the penalty ``gp_weight * mean (||grad D(x_hat)|| - 1)^2`` at
    ``x_hat = alpha real + (1 - alpha) fake`` (Gulrajani et al. 2017, Eq. 3) unless ``alpha`` (NumPy) is None."""
    loss = D(fake).mean() - D(real).mean()
    if alpha is not None:
        alpha = torch.from_numpy(alpha)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = D(x_hat)
        (g,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)
        loss = loss + gp_weight * ((g.norm(2, dim=1) - 1) ** 2).mean()
    return loss


def torch_gradients(workload, variant, critic, generator, real, fake, alpha, z, gp_weight):
    """PyTorch's critic gradients (loss + penalty at ``x_hat = alpha real + (1 - alpha) fake``, or no
    penalty when ``alpha`` is None) and generator gradients (of ``-mean f(g(z))``) for the given NumPy
    numbers, as flat lists ``[W_1, b_1, ...]`` in our ``(in, out)`` convention. The bench compares them
    with the hand-written ones."""
    tw = TorchWGAN(workload, variant, critic=critic, generator=generator, gp_weight=gp_weight)
    torch, D, G = tw.torch, tw.critic, tw.generator
    ours = lambda gs: [g.detach().numpy().T if g.ndim == 2 else g.detach().numpy() for g in gs]  # noqa: E731
    loss = _critic_loss(torch, D, torch.from_numpy(real), torch.from_numpy(fake), alpha, gp_weight)
    critic_grads = ours(torch.autograd.grad(loss, list(D.parameters())))
    g_loss = -D(G(torch.from_numpy(z))).mean()
    generator_grads = ours(torch.autograd.grad(g_loss, list(G.parameters())))
    return critic_grads, generator_grads


class TorchOn:
    """``torch`` with ``from_numpy`` landing on ``device``: lets :class:`TorchWGAN`'s own steps (which
    draw with NumPy and call ``torch.from_numpy``) run on CUDA unchanged. The batch is drawn on the host
    and copied over, a few KB per step."""

    def __init__(self, torch, device: str):
        self._torch, self._device = torch, device

    def from_numpy(self, a):
        return self._torch.from_numpy(a).to(self._device)

    def __getattr__(self, name):
        return getattr(self._torch, name)


def torch_wgan(workload, variant, critic, generator, device: str = "cpu", seed: int = 0) -> TorchWGAN:
    """A :class:`TorchWGAN` whose networks live on the torch ``device`` ('cpu' or 'cuda')."""
    tw = TorchWGAN(workload, variant, critic=critic, generator=generator, seed=seed)
    if device != "cpu":
        tw.critic.to(device)  # parameters move in place: the optimizers still hold them
        tw.generator.to(device)
        tw.torch = TorchOn(tw.torch, device)
    return tw


def torch_installed() -> bool:
    """True when a ``torch`` package can be found, without importing it (the bench's parent process
    never loads PyTorch; a broken installation shows up when :class:`TorchProcess` starts)."""
    return importlib.util.find_spec("torch") is not None


class TorchProcessError(RuntimeError):
    """PyTorch failed in the child process; the message carries the child's traceback."""


class TorchProcess:
    """PyTorch in a child process: ``python -c`` running :func:`_serve`, requests pickled over its stdin and
    answers over a pipe of their own (on POSIX; elsewhere its stdout): private pipes between two processes
    of this package, nothing is unpickled from a file. Unlike ``multiprocessing``, the child does not re-run
    the caller's main script.

    ``threads`` sets ``torch.set_num_threads`` there (and the OpenMP / BLAS variables before PyTorch
    loads). :attr:`info` holds ``{"version", "threads", "cuda"}`` as the child sees them. Requests:
    :meth:`gradients` (:func:`torch_gradients`), :meth:`setup` (a :class:`TorchWGAN` and its NumPy
    generator, on 'cpu' or 'cuda') and :meth:`iteration` (one iteration of it, timed in the child, the
    device synchronised before each reading of the clock). Use it as a context manager, or call
    :meth:`close`. ``timeout`` (seconds, None for none) bounds the wait for each answer: a child that hangs
    (a deadlocked thread pool) is closed and the call raises :class:`TorchProcessError` instead of waiting
    for ever (on POSIX; elsewhere the pipe cannot be polled and the wait is unbounded). Anything that fails
    in the child raises :class:`TorchProcessError` here; what the child
    prints (a sitecustomize at its start, PyTorch's C code) cannot reach the answers. A call interrupted
    here (an exception while waiting, Ctrl-C) closes the child, since its answer would otherwise be read as
    the next call's: later calls raise :class:`TorchProcessError`.
    """

    def __init__(self, threads: int | None = None, timeout: float | None = 600.0):
        self.timeout = timeout
        env = dict(os.environ)
        if threads:
            env.update({name: str(threads) for name in THREAD_VARIABLES})
        # The package's folder goes at the end of the child's sys.path (found there when tinywgan is run
        # from a source tree without installing; never ahead of the standard library).
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if os.name == "posix":  # the answers get a pipe of their own; the child's stdout stays this one's
            read_fd, write_fd = os.pipe()
            answers, streams = str(write_fd), dict(pass_fds=(write_fd,))
        else:  # stdout carries the answers; the child moves fd 1 to stderr first thing (start-up output breaks it)
            answers, streams = "os.dup(1); os.dup2(2, 1)", dict(stdout=subprocess.PIPE)
        code = (f"import os, sys; answers = {answers}; sys.path.append({package_root!r}); "
                f"from tinywgan.bench.torch_reference import _serve; _serve({threads!r}, answers)")
        self._process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, env=env, **streams)
        if os.name == "posix":
            os.close(write_fd)
            self._answers = os.fdopen(read_fd, "rb")
        else:
            self._answers = self._process.stdout
        self._broken = None
        try:
            self.info = self._call("info")
        except BaseException:
            self.close()
            raise

    def _call(self, *request):
        if self._broken is not None:
            raise TorchProcessError(f"the PyTorch child process was closed after {self._broken}")
        try:
            pickle.dump(request, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
            _wait_readable(self._answers, self.timeout)
            status, value = pickle.load(self._answers)
        except BaseException as err:  # the pipe no longer lines answers up with requests
            self._broken = f"a failed {request[0]!r} request ({type(err).__name__})"
            self.close()
            if not isinstance(err, Exception):
                raise  # KeyboardInterrupt, SystemExit
            raise TorchProcessError(f"the PyTorch child process failed to answer {request[0]!r} "
                                    f"({type(err).__name__}: {err}; exit code {self._process.returncode})") from err
        if status != "ok":
            raise TorchProcessError(f"PyTorch failed in the child process on {request[0]!r}:\n{value}")
        return value

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def gradients(self, *args):
        return self._call("gradients", *args)

    def setup(self, workload, variant, critic, generator, device: str = "cpu", seed: int = 0) -> None:
        self._call("setup", workload, variant, critic, generator, device, seed)

    def iteration(self) -> float:
        """Seconds one training iteration took, measured in the child."""
        return self._call("iteration")

    def close(self) -> None:
        """Ask the child to stop (closing its stdin); kill it if it has not within 10 s."""
        for stream in (self._process.stdin, self._answers):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _wait_readable(stream, timeout: float | None) -> None:
    """Return once ``stream`` (a pipe) has bytes to read; a ``TimeoutError`` after ``timeout`` seconds.
    Without a timeout, or off POSIX (where ``select`` takes only sockets), return at once."""
    if timeout is None or os.name != "posix":
        return
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no answer within {timeout:g} s")


def _serve(threads, answers_fd: int):
    """The child's loop: answer pickled requests on stdin until it closes, writing the answers to
    ``answers_fd``, which nothing else in the child writes to (Python's own prints go to stderr)."""
    answers = os.fdopen(answers_fd, "wb")
    sys.stdout = sys.stderr
    requests = sys.stdin.buffer
    state = {}

    def info():
        import torch
        if threads:
            torch.set_num_threads(int(threads))
        return dict(version=torch.__version__, threads=torch.get_num_threads(), cuda=torch.cuda.is_available())

    def setup(workload, variant, critic, generator, device, seed):
        import numpy as np
        import torch
        state["wgan"] = torch_wgan(workload, variant, critic, generator, device, seed)
        state["rng"] = np.random.default_rng(seed)
        state["sync"] = torch.cuda.synchronize if device != "cpu" else (lambda: None)

    def iteration():
        state["sync"]()
        t0 = time.perf_counter()
        state["wgan"].iteration(state["rng"])
        state["sync"]()
        return time.perf_counter() - t0

    handlers = dict(info=info, gradients=torch_gradients, setup=setup, iteration=iteration)
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = ("ok", handlers[request[0]](*request[1:]))
        except Exception:
            answer = ("error", traceback.format_exc())
        try:
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
        except BrokenPipeError:  # the parent stopped listening (it timed out or was interrupted): stop quietly
            return
