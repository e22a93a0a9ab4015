r"""Tensor and Function: the two classes reverse-mode differentiation is made of.

A :class:`Tensor` wraps an array of the backend (``.data``) and remembers the :class:`Function` that made it
(``.creator``). A Function's ``forward`` works on raw arrays; its ``backward`` is written with Tensor ops, so
when the caller asks for ``create_graph=True`` the backward pass records a graph of its own that can be
differentiated again. That is all double backprop needs, and the WGAN-GP critic needs exactly that: the
penalty $(\|\nabla_x f(\hat x)\|_2 - 1)^2$ (Gulrajani et al. 2017, Eq. 3) is a function of a gradient, and the
critic's weights must receive its gradient.

Reading order: this file (grad mode, Tensor, Function), then :mod:`tinywgan.engine.ops`
(the ops, which also give Tensor its operators ``+ - * / @ **`` and methods), then
:mod:`tinywgan.engine.backprop` (the graph walk: ``backward()`` and ``grad()``). Each file imports only the
ones before it, as DeZero does (its ``setup_variable()``): the ops are built on Tensor, so Tensor's
operators are installed once the ops exist.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import weakref

from . import backend, checks

# ---------------------------------------------------------------------------------------------------------
# Grad mode: whether operations record the graph.

_grad_enabled = True
_made = itertools.count()  # numbers the recorded Functions in the order they are made


@contextlib.contextmanager
def set_grad_enabled(mode: bool):
    """Context manager: record the graph (``True``) or not (``False``) inside it."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, mode
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: operations inside record no graph (evaluation, optimizer steps, sampling)."""
    return set_grad_enabled(False)


def enable_grad():
    """Context manager: record the graph again, also inside :func:`no_grad`."""
    return set_grad_enabled(True)


def is_grad_enabled() -> bool:
    return _grad_enabled


# ---------------------------------------------------------------------------------------------------------
# Tensor


class Tensor:
    """An array of the backend plus what reverse-mode differentiation needs.

    ``data``           the array (NumPy, CuPy or array_api_strict)
    ``grad``           a Tensor filled by ``backward()`` on leaves that require grad, else ``None``
    ``requires_grad``  whether gradients flow to (and through) this tensor
    ``creator``        the Function whose output this is (``None`` for leaves and constants)
    ``generation``     0 for leaves; ``creator.generation + 1`` otherwise (orders the graph walk)
    ``name``           an optional label

    The operators (``+ - * / @ ** []``), the methods that are ops (``sum``, ``mean``, ``reshape``, ``T``...;
    with PyTorch's names and keywords: ``x.sum(dim=1, keepdim=True)``, ``x.relu()``, ``x.view(-1)``, see
    :mod:`tinywgan.engine.ops.methods`) and ``backward()`` are installed by :mod:`tinywgan.engine.ops` and
    :mod:`tinywgan.engine.backprop`. ``x.size`` is the number of elements (NumPy's meaning, not PyTorch's).
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "name", "__weakref__")
    __array_ufunc__ = None  # `ndarray * Tensor` defers to Tensor.__rmul__ instead of looping elementwise
    __hash__ = object.__hash__  # == returns arrays (comparisons are plain arrays), so keep identity hashing

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data): data is already a Tensor; use .detach() or the tensor itself")
        data = backend.array_of(data)  # numbers and lists become arrays
        checks.can_require_grad(data, None, requires_grad)
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.generation = 0
        self.name = name  # a label for printing a graph (chapter 03)

    # -- what the tensor is -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements (NumPy's and the array API's meaning). PyTorch's ``x.size()`` (the shape)
        is ``x.shape`` here; calling ``x.size()`` raises a TypeError that says so."""
        return ElementCount(math.prod(self.data.shape))

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def xp(self):
        """The array namespace of ``data``."""
        return backend.array_namespace(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = repr(backend.to_numpy(self.data)).replace("array(", "tensor(", 1)
        extra = [f"device='{self.device}'"] if self.device != "cpu" else []
        if self.creator is not None:
            extra.append(f"creator={type(self.creator).__name__}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return body[:-1] + (", " + ", ".join(extra) if extra else "") + ")"

    # -- leaving the graph, changing place --------------------------------------------------------------
    def detach(self) -> "Tensor":
        """The same array as a constant: no creator, no gradient."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Mark a leaf as a variable to differentiate with respect to (in place); returns ``self``."""
        checks.can_require_grad(self.data, self.creator, requires_grad)
        self.requires_grad = requires_grad
        return self

    def numpy(self):
        """The values as a NumPy array on the host (a copy when the tensor lives on a GPU)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}")
        return backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def to(self, device: str) -> "Tensor":
        """This tensor's values on ``device`` ('cpu', 'gpu', 'strict') as a new leaf."""
        if backend.canonical_device(device) == self.device:
            return self
        return Tensor(backend.to_device(self.data, device), requires_grad=self.requires_grad)

    # Comparisons answer with plain (boolean) arrays: they are not differentiable.
    def __lt__(self, other): return self.data < data_of(other)
    def __le__(self, other): return self.data <= data_of(other)
    def __gt__(self, other): return self.data > data_of(other)
    def __ge__(self, other): return self.data >= data_of(other)
    def __eq__(self, other): return self.data == data_of(other)
    def __ne__(self, other): return self.data != data_of(other)


class ElementCount(int):
    """``x.size``, an int: the number of elements. Calling it, as PyTorch's ``x.size()`` is called for the
    shape, is a TypeError that says where the shape is, instead of an answer that means something else."""

    def __call__(self, *args, **kwargs):
        raise TypeError(f"x.size is the number of elements ({int(self)}), NumPy's and the array API's meaning, "
                        f"not a method; PyTorch's x.size() is x.shape here (x.shape[d] for x.size(d))")


def data_of(x):
    """The array inside a Tensor; anything else as it is."""
    return x.data if isinstance(x, Tensor) else x


# ---------------------------------------------------------------------------------------------------------
# Function


class Function:
    """One differentiable operation with one output.

    Subclasses implement ``forward(*arrays) -> array`` (raw arrays of the namespace ``self.xp``) and
    ``backward(gy) -> Tensor or tuple of Tensors`` (one per input, written with Tensor ops so that it can
    itself be differentiated). ``backward`` may return ``None`` for an input whose gradient it was told is
    not needed: ``self.needs_input_grad[i]`` is False (the graph walk sets it before each call, so
    ``grad(y, x)`` never pays for the weights' gradients).
    """

    xp = None
    inputs: tuple = ()
    generation = 0
    needs_input_grad: tuple = ()

    def __call__(self, *inputs) -> Tensor:
        inputs = as_tensors(inputs, type(self).__name__)
        arrays = [x.data for x in inputs]
        self.xp = backend.array_namespace(*arrays)
        out = Tensor(self.forward(*arrays))
        needs = tuple([x.requires_grad for x in inputs])
        if _grad_enabled and True in needs:  # record the graph
            self.inputs = inputs
            self.needs_input_grad = needs
            self.generation = max([x.generation for x in inputs])
            self.seq = next(_made)
            out.requires_grad = True
            out.creator = self
            out.generation = self.generation + 1
            # A weak reference: the output owns its creator, not the other way round (no cycle to collect).
            self._output = weakref.ref(out)
        return out

    @property
    def outputs(self) -> tuple:
        """``(y,)``: the output Tensor, for backward passes written in terms of y (tanh, exp, sigmoid)."""
        return (self._output(),)

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def as_tensors(inputs, op: str = "an operation") -> tuple:
    """Wrap arrays and Python numbers as constant tensors; numbers take the dtype of the tensor operands.
    Anything else is a TypeError naming the op (``op``), the operand's position and what it was."""
    if all([isinstance(x, Tensor) for x in inputs]):
        return inputs
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (int, float, bool)):
            if ref is None:
                raise TypeError(f"{op} needs at least one Tensor or array operand; got only Python numbers")
            out.append(Tensor(ref.xp.asarray(x, dtype=ref.data.dtype)))
        elif backend.NAMESPACE_OF_TYPE.get(type(x)) is not None or _is_array(x):
            out.append(Tensor(x))
        else:
            raise TypeError(f"{op}: operand {i} must be a Tensor, an array (NumPy, CuPy or array_api_strict) or "
                            f"a Python number; got {type(x).__name__} {repr(x)[:40]}")
    return tuple(out)


def _is_array(x) -> bool:
    try:
        backend.array_namespace(x)
    except TypeError:
        return False
    return True
