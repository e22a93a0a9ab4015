"""Tensor's methods, and the functions beside them, under PyTorch's names and keywords.

The ops take the array API's keywords (``axis=``, ``keepdims=``); a PyTorch user types ``dim=`` and
``keepdim=``. Each function here takes both spellings (passing both is a TypeError), checks its arguments and
calls the ops; :mod:`tinywgan.engine.ops` installs them as methods (``x.sum(dim=1, keepdim=True)``,
``x.relu()``, ``x.view(-1)``) and :mod:`tinywgan` exports them (``tw.cat``, ``tw.clamp``). Nothing here is
differentiated by hand: every result comes from the ops, so gradients of any order work as for the ops.

Where PyTorch and NumPy give one spelling two meanings, tinywgan takes one and refuses the ambiguous call,
so that no call silently computes something other than what its writer meant:

* ``x.transpose(0, 1)`` swaps the two axes (PyTorch); ``x.transpose()`` reverses all axes (NumPy's; on a
  matrix it is PyTorch's ``x.t()``); one tuple is a permutation (NumPy's ``x.transpose((1, 2, 0))``, which is
  ``x.permute(1, 2, 0)``); any other number of axes is a TypeError.
* ``x.max(dim=1)`` and ``x.min(dim=1)`` return PyTorch's ``(values, indices)``; ``x.max(axis=1)`` the values
  alone (the array API's); ``x.max(1)``, which means one in PyTorch and the other in NumPy, is a TypeError.
* ``x.squeeze(dim)`` follows the array API: naming an axis whose size is not 1 is an error (PyTorch leaves
  it in place).
* ``x.size`` is the number of elements (NumPy's meaning); ``x.size()`` is refused (:mod:`..tensor`).
"""
from __future__ import annotations

import math
import numbers
from typing import NamedTuple

from .. import ops
from ..tensor import Tensor, as_tensors

# ---------------------------------------------------------------------------------------------------------
# The two spellings of an axis


def _either(fn: str, names: tuple, values: tuple, default):
    """The one value given among two spellings of an argument (``axis``/``dim``); both given is a TypeError."""
    given = [(n, v) for n, v in zip(names, values) if v is not None]
    if len(given) == 2:
        raise TypeError(f"{fn}: pass {names[0]}= or {names[1]}=, not both (two spellings of one argument)")
    return given[0][1] if given else default


def _dims(fn: str, x: Tensor, axis, dim, *, many: bool = True, ndim: int | None = None):
    """The axes of ``x`` named by ``axis`` or ``dim`` (None: all): an int, or a tuple of ints when ``many``."""
    value = _either(fn, ("axis", "dim"), (axis, dim), None)
    if value is None:
        return None
    items = tuple(value) if many and isinstance(value, (tuple, list)) else (value,)
    ndim = x.ndim if ndim is None else ndim
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            what = "an int or a tuple of ints" if many else "an int"
            raise TypeError(f"{fn}: dim must be {what}; got {type(value).__name__} {value!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{fn}: dim {int(a)} is out of range for a tensor with {x.ndim} axes (shape "
                             f"{x.shape}); it must be in [{-ndim}, {ndim})")
    return tuple(int(a) for a in items) if isinstance(value, (tuple, list)) else int(value)


def _keep(fn: str, keepdims, keepdim) -> bool:
    value = _either(fn, ("keepdims", "keepdim"), (keepdims, keepdim), False)
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: keepdim must be True or False; got {type(value).__name__} {value!r}")
    return value


def _tensor(x, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        x, = as_tensors((x,), fn)  # an array of a backend; anything else is a TypeError naming it
    return x


# ---------------------------------------------------------------------------------------------------------
# Reductions


def sum(x, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
    """The sum over ``axis`` / ``dim`` (all axes when None), keeping them as size 1 with ``keepdims`` /
    ``keepdim``: ``x.sum(dim=1, keepdim=True)``."""
    x = _tensor(x, "sum")
    return ops.sum(x, _dims("sum", x, axis, dim), _keep("sum", keepdims, keepdim))


def mean(x, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
    """The mean over ``axis`` / ``dim`` (all axes when None); see :func:`sum`."""
    x = _tensor(x, "mean")
    return ops.mean(x, _dims("mean", x, axis, dim), _keep("mean", keepdims, keepdim))


class ValuesIndices(NamedTuple):
    """What ``x.max(dim=d)`` and ``x.min(dim=d)`` return, as PyTorch's ``torch.return_types.max`` does:
    the values (differentiable) and the positions along ``d`` where they are (int64, the first among ties)."""
    values: Tensor
    indices: Tensor


def max(x, *args, axis=None, keepdims=None, dim=None, keepdim=None):
    """The maximum: of all elements (``x.max()``), over ``axis`` (the values, as the array API's max), or
    along one ``dim`` (PyTorch's ``(values, indices)``; see :class:`ValuesIndices`). Tied maxima share the
    gradient (:class:`~tinywgan.engine.ops.axes.Max`)."""
    return _extreme("max", ops.max, x, args, axis, keepdims, dim, keepdim)


def min(x, *args, axis=None, keepdims=None, dim=None, keepdim=None):
    """The minimum, with :func:`max`'s arguments and results."""
    return _extreme("min", ops.min, x, args, axis, keepdims, dim, keepdim)


def _extreme(fn: str, op, x, args, axis, keepdims, dim, keepdim):
    x = _tensor(x, fn)
    if args:
        raise TypeError(f"{fn}: name the axis: {fn}(dim={args[0]!r}) gives PyTorch's (values, indices), "
                        f"{fn}(axis={args[0]!r}) the values alone (NumPy's); {fn}({args[0]!r}) would mean one "
                        f"to a PyTorch reader and the other to a NumPy reader")
    keep = _keep(fn, keepdims, keepdim)
    if dim is None:
        return op(x, _dims(fn, x, axis, None), keep)
    d = _dims(fn, x, axis, dim, many=False)
    xp = x.xp
    arg = xp.argmax if fn == "max" else xp.argmin
    return ValuesIndices(op(x, d, keep), Tensor(arg(x.data, axis=d, keepdims=keep)))


def norm(x, p=2, dim=None, keepdim=None, *, axis=None, keepdims=None, eps: float = 1e-12) -> Tensor:
    """The Euclidean norm sqrt(sum x**2 + eps) over ``dim`` / ``axis`` (all axes when None): PyTorch's
    ``x.norm()``, ``x.norm(dim=1)``. Only p = 2 (``'fro'``, the same over the axes named) is implemented; any
    other p is a ValueError. The ``eps`` = 1e-12 inside the root keeps the gradient at x = 0 finite (0 there),
    where the plain norm has none, so ``||0||`` is 1e-6; ``eps=0`` gives the plain norm, with gradient 0 at 0
    (PyTorch's choice). See :class:`~tinywgan.engine.ops.axes.Norm`."""
    x = _tensor(x, "norm")
    if p not in (2, 2.0, "fro", None) or isinstance(p, bool):
        raise ValueError(f"norm: p must be 2 (or 'fro'): tinywgan has the Euclidean norm only; got p={p!r}")
    return ops.norm(x, _dims("norm", x, axis, dim), _keep("norm", keepdims, keepdim), eps)


def var(x, axis=None, *, correction=None, keepdims=None, dim=None, keepdim=None) -> Tensor:
    """The variance over ``axis`` / ``dim``; ``correction`` must be given (0: NumPy's default, 1: PyTorch's);
    see :func:`~tinywgan.engine.ops.axes.var`."""
    x = _tensor(x, "var")
    return ops.var(x, _dims("var", x, axis, dim), correction=correction, keepdims=_keep("var", keepdims, keepdim))


def std(x, axis=None, *, correction=None, keepdims=None, dim=None, keepdim=None) -> Tensor:
    """The standard deviation over ``axis`` / ``dim``; ``correction`` must be given, as for :func:`var`."""
    x = _tensor(x, "std")
    return ops.std(x, _dims("std", x, axis, dim), correction=correction, keepdims=_keep("std", keepdims, keepdim))


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=None) -> Tensor:
    """log sum exp(x) over ``dim`` / ``axis``, computed stably (all axes when None)."""
    x = _tensor(x, "logsumexp")
    return ops.logsumexp(x, _dims("logsumexp", x, axis, dim), _keep("logsumexp", keepdims, keepdim))


def softmax(x, dim=None, *, axis=None) -> Tensor:
    """softmax along ``dim`` / ``axis``, which must be given (PyTorch deprecated guessing it)."""
    return _softmax("softmax", ops.softmax, x, dim, axis)


def log_softmax(x, dim=None, *, axis=None) -> Tensor:
    """log softmax along ``dim`` / ``axis``, which must be given, computed stably."""
    return _softmax("log_softmax", ops.log_softmax, x, dim, axis)


def _softmax(fn: str, op, x, dim, axis) -> Tensor:
    x = _tensor(x, fn)
    d = _dims(fn, x, axis, dim, many=False)
    if d is None:
        raise TypeError(f"{fn}: name the axis that sums to 1: {fn}(x, dim=-1)")
    return op(x, d)


# ---------------------------------------------------------------------------------------------------------
# Shapes


def view(x, *shape) -> Tensor:
    """``x`` with a new shape: ``x.view(-1)``, ``x.view(2, 3)``, ``x.view((2, 3))`` (PyTorch's view, which
    here is :func:`~tinywgan.engine.ops.axes.reshape`: tinywgan's tensors have no strides to share)."""
    x = _tensor(x, "view")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for i, s in enumerate(shape):
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"view: shape[{i}] must be an integer; got {type(s).__name__} {s!r} (a view as "
                            f"another dtype is not supported)")
    return ops.reshape(x, tuple(int(s) for s in shape))


def permute(x, *dims) -> Tensor:
    """``x`` with its axes in the order ``dims`` (a permutation): ``x.permute(1, 0)``, ``x.permute((2, 0, 1))``."""
    x = _tensor(x, "permute")
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    dims = _dims("permute", x, None, dims)
    if sorted(a % x.ndim for a in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} is not a permutation of the {x.ndim} axes of a tensor of shape "
                         f"{x.shape}")
    return ops.transpose(x, dims)


def transpose(x, *dims, axes=None) -> Tensor:
    """PyTorch's meaning with two axes: ``x.transpose(0, 1)`` swaps axes 0 and 1 (on a matrix, the transpose).

    With no axes, all axes are reversed (NumPy's ``x.transpose()``, the same as ``x.T``; on a matrix it is
    PyTorch's ``x.t()``). One tuple, or ``axes=``, is a permutation (NumPy's ``x.transpose((1, 2, 0))``, the
    same as :func:`permute`). Any other call (one int, three ints...) is a TypeError: NumPy reads
    ``x.transpose(2, 0, 1)`` as a permutation and PyTorch refuses it.
    """
    x = _tensor(x, "transpose")
    if axes is not None or (len(dims) == 1 and isinstance(dims[0], (tuple, list))):
        if axes is not None and dims:
            raise TypeError("transpose: pass the axes to swap, or axes=, not both")
        return permute(x, axes if axes is not None else dims[0])
    if not dims:
        return ops.transpose(x)
    if len(dims) != 2:
        raise TypeError(f"transpose: pass the two axes to swap, transpose(dim0, dim1) (PyTorch's meaning), or "
                        f"no axes to reverse them all; got transpose({', '.join(map(repr, dims))}): for a "
                        f"permutation use permute(...)")
    a, b = (d % x.ndim for d in _dims("transpose", x, None, dims))
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return ops.transpose(x, order)


def squeeze(x, dim=None, *, axis=None) -> Tensor:
    """``x`` without its axes of size 1 (all of them when ``dim`` / ``axis`` is None). Naming an axis whose
    size is not 1 is a ValueError (the array API's rule; PyTorch leaves such an axis in place)."""
    x = _tensor(x, "squeeze")
    return ops.squeeze(x, _dims("squeeze", x, axis, dim))


def unsqueeze(x, dim=None, *, axis=None) -> Tensor:
    """``x`` with a new axis of size 1 at position ``dim`` of the result (negative counts from its end):
    PyTorch's unsqueeze, the array API's ``expand_dims``."""
    x = _tensor(x, "unsqueeze")
    d = _dims("unsqueeze", x, axis, dim, many=False, ndim=x.ndim + 1)
    if d is None:
        raise TypeError("unsqueeze: missing dim, the position of the new axis: unsqueeze(x, 0)")
    return ops.expand_dims(x, d)


# ---------------------------------------------------------------------------------------------------------
# Joining, clamping, powers


def cat(tensors, dim=None, *, axis=None) -> Tensor:
    """The tensors joined along an existing axis ``dim`` / ``axis`` (default 0): PyTorch's ``cat``, the
    array API's ``concat``."""
    return _join("cat", ops.concatenate, tensors, dim, axis, 0)


def stack(tensors, dim=None, *, axis=None) -> Tensor:
    """The tensors (all of one shape) stacked along a new axis ``dim`` / ``axis`` (default 0)."""
    return _join("stack", ops.stack, tensors, dim, axis, 1)


def _join(fn: str, op, tensors, dim, axis, extra: int) -> Tensor:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}: pass the tensors as one list or tuple, {fn}([a, b], dim=0); got "
                        f"{type(tensors).__name__}")
    xs = as_tensors(tuple(tensors), fn) if tensors else ()
    if not xs:
        raise ValueError(f"{fn}: needs at least one tensor; got an empty {type(tensors).__name__}")
    d = _dims(fn, xs[0], axis, dim, many=False, ndim=xs[0].ndim + extra)
    return op(xs, 0 if d is None else d)


def clamp(x, min=None, max=None) -> Tensor:
    """``x`` clamped into [min, max]; one bound may be None (no bound on that side). The gradient is 1
    strictly inside and 0 outside (:class:`~tinywgan.engine.ops.elementwise.Clip`)."""
    x = _tensor(x, "clamp")
    if min is None and max is None:
        raise TypeError("clamp: give min, max or both")
    low, high = (_bound(v, name, inf) for v, name, inf in ((min, "min", -math.inf), (max, "max", math.inf)))
    if low > high:
        raise ValueError(f"clamp: min must be <= max; got min={low}, max={high}")
    return ops.clip(x, low, high)


def _bound(value, name: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"clamp: {name} must be a number or None; got {type(value).__name__} {value!r}")
    if math.isnan(value):
        raise ValueError(f"clamp: {name} must not be NaN")
    return float(value)


def pow(x, exponent) -> Tensor:
    """x ** exponent for a constant number ``exponent``."""
    return ops.pow(_tensor(x, "pow"), exponent)


# The functions above, by the name of the method each becomes.
METHODS = {f.__name__: f for f in (sum, mean, max, min, norm, var, std, logsumexp, softmax, log_softmax, view,
                                   permute, transpose, squeeze, unsqueeze, clamp, pow)}
METHODS["clip"] = clamp  # NumPy's name, which PyTorch also has
