"""Reverse-mode automatic differentiation with double backprop.

A :class:`Tensor` wraps an array of the backend (``.data``) and remembers the :class:`Function` that made it
(``.creator``). A Function's ``forward`` works on raw arrays; its ``backward`` is written with Tensor ops, so
when the caller asks for ``create_graph=True`` the backward pass records a graph of its own that can be
differentiated again. That is all double backprop needs, and the WGAN-GP critic needs exactly that: the
penalty ``(||grad_x f(x_hat)|| - 1)^2`` (Gulrajani et al. 2017, Eq. 3) is a function of a gradient, and the
critic's weights must receive its gradient.

The graph walk (:func:`_backprop`) visits functions in decreasing *generation* (a heap), so a function runs
only after every consumer of its output has contributed to that output's gradient; it never recurses, so
deep graphs cannot overflow the stack. Broadcasting is undone in one place: the walk sums each input's
gradient back to that input's shape (:func:`tinywgan.functions.sum_to`), so no op can forget it.

Two entry points, named as PyTorch users expect:

* ``loss.backward()`` accumulates into ``.grad`` of the leaves that require grad;
* ``grad(outputs, inputs, ...)`` returns the gradients and touches no ``.grad``.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import weakref
from typing import Iterable, Sequence

from . import backend

# ---------------------------------------------------------------------------------------------------------
# Grad mode: whether operations record the graph.

_grad_enabled = True


@contextlib.contextmanager
def _set_grad_enabled(mode: bool):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, mode
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: operations inside record no graph (evaluation, optimizer steps, sampling)."""
    return _set_grad_enabled(False)


def enable_grad():
    """Context manager: record the graph again, also inside :func:`no_grad`."""
    return _set_grad_enabled(True)


def is_grad_enabled() -> bool:
    return _grad_enabled


# ---------------------------------------------------------------------------------------------------------
# Tensor


def _is_floating(xp, dtype) -> bool:
    return dtype == xp.float32 or dtype == xp.float64 or getattr(xp, "float16", None) == dtype


class Tensor:
    """An array of the backend plus what reverse-mode differentiation needs.

    ``data``           the array (NumPy, CuPy or array_api_strict)
    ``grad``           a Tensor filled by :meth:`backward` on leaves that require grad, else ``None``
    ``requires_grad``  whether gradients flow to (and through) this tensor
    ``creator``        the Function whose output this is (``None`` for leaves and constants)
    ``generation``     0 for leaves; ``creator.generation + 1`` otherwise (orders the graph walk)
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "name", "__weakref__")
    __array_ufunc__ = None  # `ndarray * Tensor` defers to Tensor.__rmul__ instead of looping elementwise
    __hash__ = object.__hash__  # == returns arrays (comparisons are plain arrays), so keep identity hashing

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data): data is already a Tensor; use .detach() or the tensor itself")
        if type(data) not in backend._NAMESPACE_OF_TYPE:
            try:
                backend.array_namespace(data)  # an array of a backend not seen yet: remember its type
            except TypeError:
                data = _to_array(data)  # numbers and lists
        if requires_grad:
            xp = backend.array_namespace(data)
            if not _is_floating(xp, data.dtype):
                raise TypeError(
                    f"requires_grad=True needs a floating-point array; got dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.generation = 0
        self.name = name

    # -- what the tensor is -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        n = 1
        for s in self.data.shape:
            n *= s
        return n

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
        if self.creator is not None and not requires_grad:
            raise ValueError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        if requires_grad and not _is_floating(self.xp, self.data.dtype):
            raise TypeError(f"requires_grad=True needs a floating-point array; got dtype {self.data.dtype}")
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

    # -- differentiation --------------------------------------------------------------------------------
    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the gradient flowing into ``self`` (d loss / d self); it may be left out only when
        ``self`` has a single element. With ``create_graph=True`` the gradients carry a graph of their own.
        """
        _backprop([self], [grad], inputs=None, create_graph=create_graph, allow_unused=True)

    # -- operators (the ops themselves live in functions.py) --------------------------------------------
    def __add__(self, other): return F.add(self, other)
    def __radd__(self, other): return F.add(other, self)
    def __sub__(self, other): return F.sub(self, other)
    def __rsub__(self, other): return F.sub(other, self)
    def __mul__(self, other): return F.mul(self, other)
    def __rmul__(self, other): return F.mul(other, self)
    def __truediv__(self, other): return F.div(self, other)
    def __rtruediv__(self, other): return F.div(other, self)
    def __neg__(self): return F.neg(self)
    def __pow__(self, exponent): return F.pow(self, exponent)
    def __matmul__(self, other): return F.matmul(self, other)
    def __rmatmul__(self, other): return F.matmul(other, self)
    def __getitem__(self, index): return F.getitem(self, index)

    # Comparisons answer with plain (boolean) arrays: they are not differentiable.
    def __lt__(self, other): return self.data < _data(other)
    def __le__(self, other): return self.data <= _data(other)
    def __gt__(self, other): return self.data > _data(other)
    def __ge__(self, other): return self.data >= _data(other)
    def __eq__(self, other): return self.data == _data(other)
    def __ne__(self, other): return self.data != _data(other)

    @property
    def T(self) -> "Tensor":
        """The transpose (all axes reversed)."""
        return F.transpose(self)

    def sum(self, axis=None, keepdims=False): return F.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return F.max(self, axis, keepdims)
    def reshape(self, *shape): return F.reshape(self, shape[0] if len(shape) == 1 else shape)
    def transpose(self, *axes): return F.transpose(self, axes or None)
    def exp(self): return F.exp(self)
    def log(self): return F.log(self)
    def tanh(self): return F.tanh(self)
    def sqrt(self): return F.sqrt(self)
    def abs(self): return F.abs(self)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _to_array(data, dtype=None, device: str = "cpu"):
    """Python numbers, lists and arrays of any backend -> an array on ``device``.

    Python floats default to float32, the training dtype (as in PyTorch); arrays keep their dtype.
    """
    xp = backend.namespace(device)
    if type(data) in backend._NAMESPACE_OF_TYPE or hasattr(data, "__array_namespace__") \
            or type(data).__module__ == "numpy":
        data = backend.to_device(data, device)
        return data if dtype is None else xp.asarray(data, dtype=_dtype(xp, dtype))
    import numpy as np
    host = np.asarray(data)
    if dtype is None and host.dtype == np.float64:
        dtype = "float32"
    if dtype is None and host.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} (dtype {host.dtype})")
    arr = xp.asarray(host)
    return arr if dtype is None else xp.asarray(arr, dtype=_dtype(xp, dtype))


def _dtype(xp, dtype):
    if isinstance(dtype, str):
        return getattr(xp, dtype)
    if xp.__name__ != "numpy" and not isinstance(dtype, type(xp.float32)):
        return getattr(xp, str(getattr(dtype, "name", dtype)))  # numpy dtype -> this backend's
    return dtype


# ---------------------------------------------------------------------------------------------------------
# Function


class Function:
    """One differentiable operation with one output.

    Subclasses implement ``forward(*arrays) -> array`` (raw arrays of the namespace ``self.xp``) and
    ``backward(gy) -> tuple of Tensors`` (one per input, written with Tensor ops so that it can itself be
    differentiated; a few hot ops in functions.py and shapes.py add a raw-array path for walks that
    record no graph).
    ``backward`` may return ``None`` for an input whose gradient it was told is not needed:
    ``self.needs_input_grad[i]`` is False (the graph walk sets it before each call, so ``grad(y, x)`` never
    pays for the weights' gradients).
    """

    xp = None
    inputs: tuple = ()
    generation = 0
    needs_input_grad: tuple = ()

    def __call__(self, *inputs) -> Tensor:
        inputs = _as_tensors(inputs)
        arrays = [x.data for x in inputs]
        self.xp = backend.array_namespace(*arrays)
        out = _wrap(self.forward(*arrays))
        if not _grad_enabled:  # nothing to record (no_grad, or a walk without create_graph)
            return out
        needs = tuple([x.requires_grad for x in inputs])
        if True in needs:
            self.inputs = inputs
            self.needs_input_grad = needs
            self.generation = max([x.generation for x in inputs])
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} generation={self.generation}>"


def _wrap(y) -> Tensor:
    """``Tensor(y)`` for what an op's forward returned, without the checks when it is an array of a known
    backend (the usual case: ~1 us less per op)."""
    if type(y) not in backend._NAMESPACE_OF_TYPE:
        return Tensor(y)  # a type seen for the first time, or a NumPy operation that gave a Python number
    out = object.__new__(Tensor)
    out.data, out.grad, out.requires_grad, out.creator, out.generation, out.name = y, None, False, None, 0, None
    return out


def _as_tensors(inputs) -> tuple:
    """Wrap arrays and Python numbers as constant tensors; numbers take the dtype of the tensor operands."""
    for x in inputs:
        if not isinstance(x, Tensor):
            break
    else:
        return inputs
    ref = next((x for x in inputs if isinstance(x, Tensor)), None)
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (int, float, bool)):
            if ref is None:
                raise TypeError("an operation needs at least one Tensor or array operand")
            out.append(Tensor(ref.xp.asarray(x, dtype=ref.data.dtype)))
        else:
            if type(x) not in backend._NAMESPACE_OF_TYPE:
                backend.array_namespace(x)  # raises a TypeError naming what x is
            out.append(Tensor(x))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------
# The graph walk


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False, allow_unused: bool = False):
    """The gradients of ``outputs`` with respect to ``inputs``; no ``.grad`` is touched.

    Returns a tuple with one Tensor per input: ``sum_k d(outputs[k] . grad_outputs[k]) / d inputs[i]``.
    ``grad_outputs`` may be left out for single-element outputs (it is then 1). With ``create_graph=True``
    the returned gradients are part of a graph and can be differentiated again (double backprop: the
    gradient penalty of WGAN-GP). An input that does not reach any output is an error, unless
    ``allow_unused=True``, when its gradient is ``None``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: inputs[{i}] must be a Tensor; got {type(x).__name__}")
        if not x.requires_grad:
            raise ValueError(f"grad: inputs[{i}] (shape {x.shape}) does not require grad; "
                             f"create it with requires_grad=True")
    return tuple(_backprop(outputs, list(grad_outputs), inputs, create_graph, allow_unused))


def _backprop(outputs: Sequence[Tensor], grad_outputs: list, inputs, create_graph: bool,
              allow_unused: bool):
    """Walk the graph from ``outputs`` back to ``inputs`` (or to every leaf when ``inputs`` is None)."""
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries; outputs has {len(outputs)}")
    grads: dict[int, Tensor] = {}  # id(tensor) -> gradient accumulated so far
    seeds = []
    for k, (y, gy) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(y, Tensor):
            raise TypeError(f"outputs[{k}] must be a Tensor; got {type(y).__name__}")
        if not y.requires_grad:
            raise ValueError(f"outputs[{k}] does not require grad: no input that requires grad reaches "
                             f"it (was it computed under no_grad(), or from detached tensors?)")
        gy = _seed_gradient(y, gy, k)
        grads[id(y)] = grads[id(y)] + gy if id(y) in grads else gy
        seeds.append(y)

    # Which tensors need a gradient: for backward() every one that requires grad; for grad(y, x) only those
    # on a path from x to y (the set `reaches`), so no work is spent on gradients nobody asked for.
    reaches = None if inputs is None else _reaching(seeds, inputs)
    heap, pushed, counter = [], set(), itertools.count()

    def push(t: Tensor):
        f = t.creator
        if f is not None and id(f) not in pushed and (t.requires_grad if reaches is None else id(t) in reaches):
            pushed.add(id(f))
            heapq.heappush(heap, (-f.generation, next(counter), f, t))

    targets = {id(x) for x in inputs} if inputs is not None else set()
    leaves: dict[int, Tensor] = {}
    for y in seeds:
        if y.creator is None or id(y) in targets:
            leaves[id(y)] = y
        push(y)

    with _set_grad_enabled(create_graph):
        while heap:
            _, _, f, y = heapq.heappop(heap)
            gy = grads[id(y)] if id(y) in targets else grads.pop(id(y))
            if reaches is not None:
                f.needs_input_grad = tuple([id(x) in reaches for x in f.inputs])
            else:
                f.needs_input_grad = tuple([x.requires_grad for x in f.inputs])
            gxs = f.backward(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx, needed in zip(f.inputs, gxs, f.needs_input_grad):
                if not needed or gx is None:
                    continue
                if gx.data.shape != x.data.shape:  # undo broadcasting, once for every op
                    gx = F.sum_to(gx, x.shape) if create_graph else _wrap(F.sum_to_array(f.xp, gx.data, x.shape))
                key = id(x)
                if key in grads:  # never in place: gx may be shared. Recorded only under create_graph.
                    gx = grads[key] + gx if create_graph else _wrap(grads[key].data + gx.data)
                grads[key] = gx
                if x.creator is None or id(x) in targets:
                    leaves[id(x)] = x
                push(x)

    if inputs is None:  # backward(): accumulate into .grad of the leaves
        for key, x in leaves.items():
            if x.creator is None and x.requires_grad:
                g = grads[key]
                g = g if create_graph else g.detach()
                x.grad = g if x.grad is None else x.grad + g
        return None

    result = []
    for i, x in enumerate(inputs):
        g = grads.get(id(x))
        if g is None and not allow_unused:
            raise ValueError(f"grad: inputs[{i}] (shape {x.shape}) does not reach the outputs; "
                             f"pass allow_unused=True to get None for it")
        result.append(g if (g is None or create_graph) else g.detach())
    return result


def _seed_gradient(y: Tensor, gy, k: int) -> Tensor:
    """The gradient flowing into output ``y``: 1 for a single element, else the one the caller gave."""
    if gy is None:
        if y.size != 1:
            raise ValueError(f"backward/grad of outputs[{k}] with shape {y.shape} needs a gradient "
                             f"(grad / grad_outputs) of the same shape; only one-element outputs default to 1")
        return Tensor(y.xp.ones(y.data.shape, dtype=y.data.dtype))
    gy = gy if isinstance(gy, Tensor) else Tensor(gy)
    if gy.shape != y.shape:
        raise ValueError(f"grad_outputs[{k}] has shape {gy.shape}; its output has shape {y.shape}")
    backend.array_namespace(y.data, gy.data)  # the same backend, or a TypeError naming both
    return gy


def _reaching(seeds: Iterable[Tensor], inputs) -> set:
    """ids of the tensors in the graph above ``seeds`` that lie on a path from one of ``inputs``."""
    tensors, stack, seen_f = {}, list(seeds), set()
    while stack:
        t = stack.pop()
        if id(t) in tensors:
            continue
        tensors[id(t)] = t
        f = t.creator
        if f is not None and id(f) not in seen_f:
            seen_f.add(id(f))
            stack.extend(f.inputs)
    reaches = {id(x) for x in inputs}
    # In increasing generation order a tensor's creator's inputs are decided before the tensor itself.
    for t in sorted(tensors.values(), key=lambda t: t.generation):
        if t.creator is not None and id(t) not in reaches:
            if any(id(x) in reaches for x in t.creator.inputs):
                reaches.add(id(t))
    return reaches


# ---------------------------------------------------------------------------------------------------------
# Creating tensors


def tensor(data, dtype=None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A leaf tensor from Python numbers, lists or arrays. Python floats become float32 (as in PyTorch);
    arrays keep their dtype unless ``dtype`` is given, and their device unless ``device`` is given
    (numbers and lists go to the CPU)."""
    if isinstance(data, Tensor):
        data = data.data
    if device is None:
        try:
            device = backend.device_of(data)
        except TypeError:
            device = "cpu"
    return Tensor(_to_array(data, dtype, device), requires_grad=requires_grad)


def zeros(shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = backend.namespace(device)
    return Tensor(xp.zeros(_shape(shape), dtype=_dtype(xp, dtype)), requires_grad=requires_grad)


def ones(shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = backend.namespace(device)
    return Tensor(xp.ones(_shape(shape), dtype=_dtype(xp, dtype)), requires_grad=requires_grad)


def randn(shape, rng: backend.Generator | None = None, dtype="float32", device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1). Pass ``rng`` (a :class:`tinywgan.backend.Generator`) for reproducible numbers."""
    rng = rng if rng is not None else backend.Generator(None, device or "cpu")
    return Tensor(rng.normal(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def rand(shape, rng: backend.Generator | None = None, dtype="float32", device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1)."""
    rng = rng if rng is not None else backend.Generator(None, device or "cpu")
    return Tensor(rng.uniform(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def _shape(shape) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


from . import functions as F  # noqa: E402  (functions.py builds on Tensor and Function above)
