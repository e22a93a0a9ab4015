r"""Check analytic gradients against central finite differences, in float64, on any backend.

For a function ``fn`` of tensors $x_1, \ldots, x_m$ with any output shape, both checks reduce the output to a
scalar with a fixed random projection, $L(x) = \sum \operatorname{fn}(x) \odot v$: $\partial L/\partial x = J^\top v$
contains every row of the Jacobian with a random weight, so one backward pass tests them all (an error in any
entry of $J$ shows up for almost every $v$).

* :func:`gradcheck` compares $(\partial L/\partial x_i)_k$ from one backward pass with
  $\frac{L(x + h e_k) - L(x - h e_k)}{2h}$, whose error is $O(h^2)$.
* :func:`gradgradcheck` does the same one level up: with $G(x) = \sum_i \langle \partial L/\partial x_i, u_i \rangle$
  computed by a backward pass with ``create_graph=True``, it compares $\partial G/\partial x$ (double backprop)
  with central differences of $G$. This is what the gradient penalty of WGAN-GP relies on.

An element passes when $|\text{analytic} - \text{numeric}| \le \text{atol} + \text{rtol} \cdot |\text{numeric}|$.
The inputs are perturbed on the host and copied to their device for each evaluation, so the comparison is the
same on every backend.

:func:`derivatives` returns both sides of either comparison and :func:`relative_error` measures the gap, for
a report rather than a pass/fail: ``python -m tinywgan.engine.opreport`` (or ``python -m
tinywgan.engine.gradcheck --report``) runs both checks over every row of the op table (:mod:`.optable`) and
prints one line per op (:mod:`.opreport`).
"""
from __future__ import annotations

import numpy as np

from . import backend
from .backprop import grad
from .tensor import Tensor, data_of


EPS, ATOL, RTOL = 1e-6, 1e-8, 1e-6  # the step h of the differences and the tolerances of every check


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


def _numeric(fn_scalar, hosts, device, eps):
    """Central differences of the scalar function ``fn_scalar`` of tensors: one array per input."""
    numeric = []
    for host in hosts:
        n = np.zeros_like(host)
        for k in np.ndindex(*host.shape):
            orig = host[k]
            host[k] = orig + eps
            plus = float(fn_scalar(_tensors(hosts, device)))
            host[k] = orig - eps
            minus = float(fn_scalar(_tensors(hosts, device)))
            host[k] = orig
            n[k] = (plus - minus) / (2 * eps)
        numeric.append(n)
    return numeric


def _compare(name, hosts, analytic, numeric, atol, rtol):
    for i, (host, a, n) in enumerate(zip(hosts, analytic, numeric)):
        for k in np.ndindex(*host.shape):
            err = abs(a[k] - n[k])
            if not err <= atol + rtol * abs(n[k]):
                raise GradcheckError(
                    f"{name}: d/d inputs[{i}][{k}] disagrees with finite differences at input value "
                    f"{float(host[k])!r}: analytic {float(a[k])!r}, numeric {float(n[k])!r}, error {err:.3e} "
                    f"(allowed {atol:.1e} + {rtol:.1e} * |numeric|); inputs[{i}] =\n{host}")
    return True


def _as_float(t) -> float:
    return backend.to_numpy(t.data).item() if isinstance(t, Tensor) else float(t)


def _first_order(fn, hosts, device, seed):
    r"""The engine's $\partial L/\partial x$ for $L = \sum \operatorname{fn}(x) \odot v$, and $L$ as a function of
    tensors (for the differences)."""
    v = _projection(fn, hosts, device, seed)
    xs = _tensors(hosts, device)
    gs = grad(_scalar(fn, xs, v, device), xs, allow_unused=True)
    analytic = [np.zeros_like(h) if g is None else np.asarray(g.numpy(), dtype=np.float64)
                for g, h in zip(gs, hosts)]
    return analytic, lambda ts: _as_float(_scalar(fn, ts, v, device))


def _second_order(fn, hosts, device, seed):
    r"""The engine's $\partial G/\partial x$ (double backprop) for
    $G = \sum_i \langle \partial L/\partial x_i, u_i \rangle$, and $G$ as a function of tensors."""
    v = _projection(fn, hosts, device, seed)
    rng = np.random.default_rng(seed + 1)
    us = [rng.standard_normal(h.shape) for h in hosts]

    def projected_gradient(ts):
        # $G(x) = \sum_i \langle \partial L/\partial x_i, u_i \rangle$, built with create_graph=True so that it can be
        # differentiated.
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
    return analytic, lambda ts: 0.0 if (G2 := projected_gradient(ts)) is None else _as_float(G2)


def gradcheck(fn, inputs, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL, seed: int = 0) -> bool:
    """Check the first derivatives of ``fn(*inputs)`` against central finite differences (float64).

    ``inputs`` are arrays or Tensors of one backend; they are promoted to float64. Returns True, or raises
    :class:`GradcheckError` naming the input, the element, the analytic and numeric values and the error.
    """
    hosts, device = _prepare(inputs)
    analytic, scalar = _first_order(fn, hosts, device, seed)
    return _compare("gradcheck", hosts, analytic, _numeric(scalar, hosts, device, eps), atol, rtol)


def gradgradcheck(fn, inputs, eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
                  seed: int = 0) -> bool:
    """Check the second derivatives of ``fn(*inputs)`` (double backprop) against finite differences of the
    first derivatives computed by the engine. Returns True or raises :class:`GradcheckError`."""
    hosts, device = _prepare(inputs)
    analytic, scalar = _second_order(fn, hosts, device, seed)
    return _compare("gradgradcheck", hosts, analytic, _numeric(scalar, hosts, device, eps), atol, rtol)


def derivatives(fn, inputs, order: int = 1, eps: float = EPS, seed: int = 0) -> list:
    """The two sides that :func:`gradcheck` (``order=1``) or :func:`gradgradcheck` (``order=2``) compare:
    one pair ``(analytic, numeric)`` of float64 arrays per input."""
    if order not in (1, 2):
        raise ValueError(f"derivatives: order must be 1 or 2, got {order!r}")
    hosts, device = _prepare(inputs)
    analytic, scalar = (_first_order if order == 1 else _second_order)(fn, hosts, device, seed)
    return list(zip(analytic, _numeric(scalar, hosts, device, eps)))


def relative_error(analytic, numeric, atol: float = ATOL, rtol: float = RTOL) -> float:
    r"""The worst $|\text{analytic} - \text{numeric}| / (|\text{numeric}| + \text{atol}/\text{rtol})$ over the
    elements (0 when there are none).

    The error relative to the numeric derivative, with $\text{atol}/\text{rtol}$ (0.01 by default) added to the
    denominator so that derivatives near 0 are judged by their absolute error. Dividing the checks' rule
    $|a - n| \le \text{atol} + \text{rtol}\,|n|$ by $\text{rtol}\,(\text{atol}/\text{rtol} + |n|)$ shows that an
    element passes exactly when this error is at most ``rtol``. A NaN counts as an infinite error.
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.size == 0:
        return 0.0
    err = np.abs(a - n) / (np.abs(n) + atol / rtol)
    return float(np.max(np.where(np.isnan(err), np.inf, err)))


if __name__ == "__main__":  # python -m tinywgan.engine.gradcheck --report [--markdown]
    from tinywgan.engine.opreport import main
    raise SystemExit(main())
