"""The checks an op's public function makes before it records anything: a bad argument is an error that
names it, the expected and the received value, raised where it enters (never a NumPy traceback from deep
inside a backward pass). Kept apart from the ops so that each op reads as its formula."""
from __future__ import annotations

import math
import numbers

from . import backend


def can_require_grad(data, creator, requires_grad: bool) -> None:
    """A tensor may require grad when its array is floating point; a non-leaf (one with a creator) must."""
    if creator is not None and not requires_grad:
        raise ValueError("requires_grad_(False) on a non-leaf tensor; use .detach()")
    if requires_grad and backend.dtype_kind(data.dtype) != "f":
        raise TypeError(f"requires_grad=True needs a floating-point array; got dtype {data.dtype}")


def flag(value, name: str) -> bool:
    """True or False (a string such as ``'no'`` would be true: refused), as a Python bool."""
    if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def axes(axis, ndim: int) -> tuple:
    """``axis`` (None: all, an int, or a tuple; negative counts from the end) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    found = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in found:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
    if len({a % ndim for a in found}) != len(found):
        raise ValueError(f"axis {axis} names an axis twice; each axis may appear once")
    return tuple(sorted(a % ndim for a in found))


def broadcastable(a, b, op: str) -> None:
    """Operands of an elementwise op: shapes that broadcast (the array API's rule: aligned from the last axis,
    each pair of sizes equal or one of them 1), and dtypes that do not promote a floating operand (below)."""
    if a.shape != b.shape:
        for m, n in zip(a.shape[::-1], b.shape[::-1]):
            if m != n and m != 1 and n != 1:
                raise ValueError(f"{op}: operands of shapes {a.shape} and {b.shape} do not broadcast (aligned "
                                 f"from the last axis, each pair of sizes must be equal or contain a 1)")
    if type(a.data) is not type(b.data):
        backend.array_namespace(a.data, b.data)  # two backends: a TypeError naming both
    if a.data.dtype != b.data.dtype:
        same_dtype(a, b, op)


def same_dtype(a, b, op: str, names=("a", "b")) -> None:
    """Refuse two operands whose result would have another dtype than a floating operand: NumPy computes
    float32 * float64 in float64, so a float32 leaf would receive a float64 gradient that its optimizer
    refuses, far from here. tinywgan refuses at the op instead, naming both dtypes (a bool mask or a small
    integer array that leaves a float operand's dtype as it is passes)."""
    da, db = a.data.dtype, b.data.dtype
    if da == db:
        return
    xp = backend.array_namespace(a.data, b.data)
    try:
        result = xp.result_type(da, db)
    except TypeError:  # array_api_strict does not promote an integer with a float
        result = None
    for name, d in zip(names, (da, db)):
        if backend.dtype_kind(d) == "f" and result != d:
            raise TypeError(f"{op}: {names[0]} is {backend.dtype_name(da)} and {names[1]} is "
                            f"{backend.dtype_name(db)}; tinywgan does not mix dtypes silently (the "
                            f"{backend.dtype_name(d)} operand's gradient would come back in another dtype): "
                            f"convert one first, e.g. x.astype('float32') on the array, or build the model "
                            f"with dtype='float64'")


def broadcasts_to(shape, target, op: str) -> None:
    """``shape`` broadcasts to ``target``: no more axes, and each size (aligned from the last axis) equal to
    the target's or 1."""
    shape, target = tuple(shape), tuple(target)
    if len(shape) > len(target) or any(s != t and s != 1 for s, t in zip(shape[::-1], target[::-1])):
        raise ValueError(f"{op}: shape {shape} does not broadcast to {target} (aligned from the last axis, "
                         f"each size must equal the target's or be 1)")


def reshaped(shape, new_shape) -> tuple:
    """``new_shape`` (an int or a sequence of ints, at most one -1 for "the rest") checked against
    ``shape``; returns it as a tuple of Python ints with the -1 left in place for the backend to fill."""
    if isinstance(new_shape, numbers.Integral) and not isinstance(new_shape, bool):
        new_shape = (new_shape,)
    elif not isinstance(new_shape, (tuple, list)):
        raise TypeError(f"reshape: shape must be an int or a tuple of ints; got {type(new_shape).__name__} "
                        f"{new_shape!r}")
    size = math.prod(shape)
    for i, s in enumerate(new_shape):
        integer(s, f"reshape: shape[{i}]", -1)
    new_shape = tuple(int(s) for s in new_shape)
    if new_shape.count(-1) > 1:
        raise ValueError(f"reshape: shape {new_shape} has more than one -1; only one size can be inferred")
    known = math.prod(s for s in new_shape if s != -1)
    fits = size == known if -1 not in new_shape else known != 0 and size % known == 0  # -1 beside a 0: any
    if not fits:
        raise ValueError(f"reshape: a tensor of shape {tuple(shape)} ({size} elements) cannot be reshaped to "
                         f"{new_shape}" + (f" ({known} elements)" if -1 not in new_shape else ""))
    return new_shape


def basic_index(index: tuple, shape) -> None:
    """A basic index (ints, slices, None, one Ellipsis), already a tuple: no more axes than the tensor has,
    and every int inside ``[-n, n)`` for its axis of length n (an ``IndexError`` naming both)."""
    consumed = [i for i in index if i is not None and i is not Ellipsis]
    if len(consumed) > len(shape):
        raise IndexError(f"getitem: {len(consumed)} indices for a tensor with {len(shape)} axes "
                         f"(shape {tuple(shape)})")
    if sum(i is Ellipsis for i in index) > 1:
        raise IndexError("getitem: an index can have only one Ellipsis (...)")
    head = []
    for i in index:
        if i is Ellipsis:
            break
        head.append(i)
    tail = index[len(head) + 1:] if len(head) < len(index) else ()
    head_items = [i for i in head if i is not None]
    tail_items = [i for i in tail if i is not None]
    axes_of = list(range(len(head_items))) + list(range(len(shape) - len(tail_items), len(shape)))
    for i, axis in zip(head_items + tail_items, axes_of):
        if isinstance(i, bool) or not isinstance(i, (numbers.Integral, slice)):
            raise TypeError(f"getitem: an index must be an int, a slice, None, ... or an integer array; got "
                            f"{type(i).__name__} {i!r}")
        if isinstance(i, numbers.Integral) and not -shape[axis] <= i < shape[axis]:
            raise IndexError(f"getitem: index {int(i)} is out of range for axis {axis} of length {shape[axis]} "
                             f"(shape {tuple(shape)}); it must be in [-{shape[axis]}, {shape[axis]})")


def matmul(a, b) -> None:
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul needs operands with at least 2 axes; got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: a has shape {a.shape} and b has shape {b.shape}; a's last axis "
                         f"({a.shape[-1]}) must equal b's second-to-last ({b.shape[-2]})")
    same_dtype(a, b, "matmul")


def linear(x, W, b) -> None:
    if W.ndim != 2 or x.ndim < 2 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"linear: x has shape {x.shape} and W has shape {W.shape}; W must be 2-D with as "
                         f"many rows as x's last axis")
    same_dtype(x, W, "linear", ("x", "W"))
    if b is not None and b.shape != (W.shape[1],):
        raise ValueError(f"linear: b has shape {b.shape}; expected ({W.shape[1]},) for W of shape {W.shape}")


def permutation(axes_, x) -> None:
    if sorted(axes_) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes_} is not a permutation of the {x.ndim} axes of {x.shape}")


def joinable(xs, axis: int | None, op: str) -> None:
    """Tensors that ``concatenate`` can join along ``axis`` (equal elsewhere), or that ``stack`` (axis None)
    can stack (equal shapes)."""
    if not xs:
        raise ValueError(f"{op}: needs at least one tensor")
    for i, x in enumerate(xs):
        if axis is None and x.shape != xs[0].shape:
            raise ValueError(f"{op}: xs[{i}] has shape {x.shape}; xs[0] has {xs[0].shape}")
        if axis is not None and (x.ndim != xs[0].ndim or [s for k, s in enumerate(x.shape) if k != axis]
                                 != [s for k, s in enumerate(xs[0].shape) if k != axis]):
            raise ValueError(f"{op} along axis {axis}: xs[{i}] has shape {x.shape}, incompatible with xs[0]'s "
                             f"{xs[0].shape}")
        same_dtype(xs[0], x, op, ("xs[0]", f"xs[{i}]"))


def number(value, name: str, op: str) -> None:
    """A Python number (not a bool, not an array): an op's constant such as pow's exponent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a Python number; got {type(value).__name__}")


def real(value, name: str, low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False) -> float:
    """A finite real number (a Python or NumPy int or float; not a bool, not a string) in the given range, as a
    Python float (a NumPy float64 scalar would promote float32 arrays). ``name`` names the argument where it
    enters (``"WGANConfig.lr"``, ``"Adam: lr"``); a wrong type is a ``TypeError``, a NaN, an infinity or a
    value out of range a ``ValueError``, each naming the argument, the expected and the received value."""
    expected = _range_text(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = " (a number read from a config file or the command line needs float())" \
            if isinstance(value, str) else ""
        raise TypeError(f"{name} must be a number{expected}; got {type(value).__name__} {value!r}{hint}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{expected}; got {value}")
    if (low is not None and (value <= low if low_open else value < low)) or \
            (high is not None and (value >= high if high_open else value > high)):
        raise ValueError(f"{name} must be{expected}; got {value!r}")
    return value


def integer(value, name: str, low: int | None = None) -> int:
    """An integer (a Python or NumPy int; not a bool, a float such as 2.5 or 2.0, or a string) >= ``low``,
    as a Python int: a float is refused rather than truncated (``Linear(2.5, 4)`` is a mistake, not 2)."""
    expected = "" if low is None else f" >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = " (a number read from a config file or the command line needs int())" \
            if isinstance(value, str) else ""
        raise TypeError(f"{name} must be an integer{expected}; got {type(value).__name__} {value!r}{hint}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer{expected}; got {int(value)}")
    return int(value)


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def grad_inputs(inputs, tensor_type) -> None:
    """``grad``'s inputs: Tensors that require grad."""
    for i, x in enumerate(inputs):
        if not isinstance(x, tensor_type):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor; got {type(x).__name__}")
        if not x.requires_grad:
            raise ValueError(f"grad: inputs[{i}] (shape {x.shape}) does not require grad; "
                             f"create it with requires_grad=True")


def same_length(grad_outputs, outputs) -> None:
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries; outputs has {len(outputs)}")


def output(y, gy, k: int, tensor_type) -> None:
    """An output to differentiate: a Tensor on the graph; without a given gradient, a single element."""
    if not isinstance(y, tensor_type):
        raise TypeError(f"outputs[{k}] must be a Tensor; got {type(y).__name__}")
    if not y.requires_grad:
        raise ValueError(f"outputs[{k}] does not require grad: no input that requires grad reaches "
                         f"it (was it computed under no_grad(), or from detached tensors?)")
    if gy is None and y.size != 1:
        raise ValueError(f"backward/grad of outputs[{k}] with shape {y.shape} needs a gradient "
                         f"(grad / grad_outputs) of the same shape; only one-element outputs default to 1")


def seed(y, gy, k: int) -> None:
    """The gradient given for output ``y``: its shape, on its backend."""
    if gy.shape != y.shape:
        raise ValueError(f"grad_outputs[{k}] has shape {gy.shape}; its output has shape {y.shape}")
    if gy.data.dtype != y.data.dtype:
        raise TypeError(f"grad_outputs[{k}] is {backend.dtype_name(gy.data.dtype)}; its output is "
                        f"{backend.dtype_name(y.data.dtype)}: give the gradient in the output's dtype")
    backend.array_namespace(y.data, gy.data)  # the same backend, or a TypeError naming both
