"""The checks an op's public function makes before it records anything: a bad argument is an error that
names it, the expected and the received value, raised where it enters (never a NumPy traceback from deep
inside a backward pass). Kept apart from the ops so that each op reads as its formula."""
from __future__ import annotations

from . import backend


def can_require_grad(data, creator, requires_grad: bool) -> None:
    """A tensor may require grad when its array is floating point; a non-leaf (one with a creator) must."""
    if creator is not None and not requires_grad:
        raise ValueError("requires_grad_(False) on a non-leaf tensor; use .detach()")
    if requires_grad and backend.dtype_kind(data.dtype) != "f":
        raise TypeError(f"requires_grad=True needs a floating-point array; got dtype {data.dtype}")


def axes(axis, ndim: int) -> tuple:
    """``axis`` (None: all, an int, or a tuple; negative counts from the end) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    found = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in found:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
    return tuple(sorted(a % ndim for a in found))


def matmul(a, b) -> None:
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul needs operands with at least 2 axes; got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: a has shape {a.shape} and b has shape {b.shape}; a's last axis "
                         f"({a.shape[-1]}) must equal b's second-to-last ({b.shape[-2]})")


def linear(x, W, b) -> None:
    if W.ndim != 2 or x.ndim < 2 or x.shape[-1] != W.shape[0]:
        raise ValueError(f"linear: x has shape {x.shape} and W has shape {W.shape}; W must be 2-D with as "
                         f"many rows as x's last axis")
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


def number(value, name: str, op: str) -> None:
    """A Python number (not a bool, not an array): an op's constant such as pow's exponent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a Python number; got {type(value).__name__}")


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
    backend.array_namespace(y.data, gy.data)  # the same backend, or a TypeError naming both
