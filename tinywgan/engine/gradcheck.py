"""Check analytic gradients against central finite differences, in float64, on any backend.

For a function ``fn`` of tensors ``x_1..x_m`` with any output shape, both checks reduce the output to a scalar
with a fixed random projection, ``L(x) = sum(fn(x) * v)``: ``dL/dx = J^T v`` contains every row of the
Jacobian with a random weight, so one backward pass tests them all (an error in any entry of J shows up for
almost every v).

* :func:`gradcheck` compares ``dL/dx_i[k]`` from one backward pass with
  ``(L(x + h e_k) - L(x - h e_k)) / 2h``, whose error is O(h^2).
* :func:`gradgradcheck` does the same one level up: with ``G(x) = sum_i sum(dL/dx_i * u_i)`` computed by a
  backward pass with ``create_graph=True``, it compares ``dG/dx`` (double backprop) with central
  differences of G. This is what the gradient penalty of WGAN-GP relies on.

An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``. The inputs are perturbed on the
host and copied to their device for each evaluation, so the comparison is the same on every backend.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .backprop import grad
from .tensor import Tensor, data_of


class GradcheckError(AssertionError):
    """Raised when an analytic derivative disagrees with finite differences; says where and by how much."""


def _prepare(inputs):
    """(host float64 copies, device) of the inputs."""
    hosts, device = [], None
    for i, x in enumerate(inputs):
        data = data_of(x)
        dev = backend.device_of(data) if not isinstance(data, np.ndarray) else "cpu"
        if device is not None and dev != device:
            raise ValueError(f"gradcheck: inputs[{i}] is on {dev!r}, inputs[0] on {device!r}")
        device = dev
        host = np.array(backend.to_numpy(data), dtype=np.float64)
        hosts.append(host)
    return hosts, device


def _tensors(hosts, device):
    return [Tensor(backend.to_device(h, device), requires_grad=True) for h in hosts]


def _projection(fn, hosts, device, seed):
    """A fixed random v with the shape of fn's output (the same v for every evaluation)."""
    with_grad = fn(*_tensors(hosts, device))
    rng = np.random.default_rng(seed)
    return rng.standard_normal(with_grad.shape)


def _scalar(fn, xs, v, device):
    y = fn(*xs)
    if tuple(y.shape) != v.shape:
        raise ValueError(f"gradcheck: fn's output changed shape from {v.shape} to {y.shape}")
    return (y * backend.to_device(v, device)).sum()


def _compare(name, fn_scalar, hosts, device, analytic, eps, atol, rtol):
    for i, host in enumerate(hosts):
        a = analytic[i]
        for k in np.ndindex(*host.shape):
            orig = host[k]
            host[k] = orig + eps
            plus = float(fn_scalar(_tensors(hosts, device)))
            host[k] = orig - eps
            minus = float(fn_scalar(_tensors(hosts, device)))
            host[k] = orig
            numeric = (plus - minus) / (2 * eps)
            err = abs(a[k] - numeric)
            if not err <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"{name}: d/d inputs[{i}][{k}] disagrees with finite differences at input value "
                    f"{float(orig)!r}: analytic {float(a[k])!r}, numeric {float(numeric)!r}, error {err:.3e} "
                    f"(allowed {atol:.1e} + {rtol:.1e} * |numeric|); inputs[{i}] =\n{host}")
    return True


def _as_float(t) -> float:
    return backend.to_numpy(t.data).item() if isinstance(t, Tensor) else float(t)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-8, rtol: float = 1e-6, seed: int = 0) -> bool:
    """Check the first derivatives of ``fn(*inputs)`` against central finite differences (float64).

    ``inputs`` are arrays or Tensors of one backend; they are promoted to float64. Returns True, or raises
    :class:`GradcheckError` naming the input, the element, the analytic and numeric values and the error.
    """
    hosts, device = _prepare(inputs)
    v = _projection(fn, hosts, device, seed)
    xs = _tensors(hosts, device)
    gs = grad(_scalar(fn, xs, v, device), xs, allow_unused=True)
    analytic = [np.zeros_like(h) if g is None else np.asarray(g.numpy(), dtype=np.float64)
                for g, h in zip(gs, hosts)]
    return _compare("gradcheck", lambda ts: _as_float(_scalar(fn, ts, v, device)), hosts, device,
                    analytic, eps, atol, rtol)


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-8, rtol: float = 1e-6,
                  seed: int = 0) -> bool:
    """Check the second derivatives of ``fn(*inputs)`` (double backprop) against finite differences of the
    first derivatives computed by the engine. Returns True or raises :class:`GradcheckError`."""
    hosts, device = _prepare(inputs)
    v = _projection(fn, hosts, device, seed)
    rng = np.random.default_rng(seed + 1)
    us = [rng.standard_normal(h.shape) for h in hosts]

    def projected_gradient(ts):
        # G(x) = sum_i <dL/dx_i, u_i>, built with create_graph=True so that it can be differentiated.
        gs = grad(_scalar(fn, ts, v, device), ts, create_graph=True, allow_unused=True)
        total = None
        for g, u in zip(gs, us):
            if g is not None:
                term = (g * backend.to_device(u, device)).sum()
                total = term if total is None else total + term
        return total

    xs = _tensors(hosts, device)
    G = projected_gradient(xs)
    if G is None or not G.requires_grad:  # the first derivatives are constant: second derivatives are 0
        analytic = [np.zeros_like(h) for h in hosts]
    else:
        gs = grad(G, xs, allow_unused=True)
        analytic = [np.zeros_like(h) if g is None else np.asarray(g.numpy(), dtype=np.float64)
                    for g, h in zip(gs, hosts)]
    return _compare("gradgradcheck", lambda ts: 0.0 if (G2 := projected_gradient(ts)) is None
                    else _as_float(G2), hosts, device, analytic, eps, atol, rtol)
