"""Creating tensors: from data (:func:`tensor`), filled (:func:`zeros`, :func:`ones`) or random
(:func:`randn`, :func:`rand`), with PyTorch's signatures: the shape as separate ints or as one tuple
(``randn(2, 3)`` is ``randn((2, 3))``), everything else by keyword only (``dtype=``, ``device=``,
``requires_grad=``, and ``rng=`` for the random ones).

Random numbers come from ``rng`` when one is given (SPEC 7: an int seed, a ``numpy.random.Generator`` or a
tinywgan :class:`~tinywgan.engine.backend.Generator`; see :func:`~tinywgan.engine.backend.as_generator`).
Without one (``rng=None``) they come from :data:`default_generator`, PyTorch's global generator: seeded from
the operating system at import (SPEC 7's None: unpredictable), until :func:`manual_seed` reseeds it. A call
that passes a seed or a Generator never touches it, so seeded code gives the same numbers whatever else draws.
"""
from __future__ import annotations

from . import backend, checks
from .tensor import Tensor, data_of

# The dtype names of the array API standard, the ones every backend has.
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64")
FLOAT_DTYPES = ("float32", "float64")

default_generator = backend.default_generator  # every rng=None draws from it (tinywgan.engine.backend)
manual_seed = backend.manual_seed


def tensor(data, *, dtype=None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A leaf tensor holding a copy of ``data`` (Python numbers, lists, arrays or a Tensor), as PyTorch's
    ``torch.tensor``: changing the array later, or an optimizer stepping the Parameter it came from, leaves
    the tensor as it was. Python floats become float32 (as in PyTorch); arrays keep their dtype unless
    ``dtype`` is given, and their device unless ``device`` is given (numbers and lists go to the CPU)."""
    data = data_of(data)
    name = _dtype_name(dtype, "tensor")
    device = _device(device, "tensor")
    _requires_grad(requires_grad, "tensor")
    if device is None:
        try:
            device = backend.device_of(data)
        except TypeError:
            device = "cpu"
    array = backend.as_array(data, name, device)
    return Tensor(backend.copy(array) if array is data else array, requires_grad=requires_grad)


def zeros(*shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled("zeros", shape, dtype, device, requires_grad)


def ones(*shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled("ones", shape, dtype, device, requires_grad)


def randn(*shape, rng=None, dtype="float32", device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1): ``randn(2, 3, rng=0)``. Without ``rng``, from :data:`default_generator`.
    ``device`` defaults to the device of the ``rng`` Generator (the CPU for a seed or None)."""
    return _random("randn", shape, rng, dtype, device, requires_grad)


def rand(*shape, rng=None, dtype="float32", device: str | None = None, requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1): ``rand(2, 3, rng=0)``. Without ``rng``, from :data:`default_generator`."""
    return _random("rand", shape, rng, dtype, device, requires_grad)


# ---------------------------------------------------------------------------------------------------------
# The checks of the arguments, where they enter


def _filled(fn: str, shape, dtype, device, requires_grad) -> Tensor:
    shape = _shape(shape, fn)
    name = _dtype_name(dtype, fn)
    xp = backend.namespace(_device(device, fn) or "cpu")
    _requires_grad(requires_grad, fn)
    make = xp.zeros if fn == "zeros" else xp.ones
    return Tensor(make(shape, dtype=getattr(xp, name)), requires_grad=requires_grad)


def _random(fn: str, shape, rng, dtype, device, requires_grad) -> Tensor:
    shape = _shape(shape, fn)
    name = _dtype_name(dtype, fn)
    if name not in FLOAT_DTYPES:
        raise ValueError(f"{fn}: dtype must be float32 or float64 (the samples are real numbers); got {name}")
    device = _device(device, fn)
    _requires_grad(requires_grad, fn)
    generator = default_generator if rng is None else backend.as_generator(rng, None, f"{fn}: rng")
    draw = generator.normal if fn == "randn" else generator.uniform
    data = draw(shape, dtype=name)
    if device is not None:
        data = backend.to_device(data, device)  # the numbers are drawn on the host either way
    return Tensor(data, requires_grad=requires_grad)


def _shape(args: tuple, fn: str) -> tuple:
    """The shape of a creation function: ints given one by one, or one tuple (or list) of ints."""
    if not args:
        raise TypeError(f"{fn}: missing the shape: {fn}(2, 3) or {fn}((2, 3)); {fn}(()) makes a 0-d tensor")
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for i, s in enumerate(args):
        if isinstance(s, (str, backend.Generator)) or type(s).__name__ in ("Generator", "dtype"):
            example = "rng=rng, dtype='float64'" if fn in ("randn", "rand") else "dtype='float64', device='cpu'"
            raise TypeError(f"{fn}: shape[{i}] must be an integer; got a {type(s).__name__} (everything but the "
                            f"shape is keyword-only: {fn}(2, 3, {example}))")
    return tuple(checks.integer(s, f"{fn}: shape[{i}]", 0) for i, s in enumerate(args))


def _dtype_name(dtype, fn: str) -> str | None:
    """``dtype`` (a name such as ``'float32'``, ``tinywgan.float32``, or a dtype or scalar type of any
    backend) as the array API's name for it; None stays None. An unknown name is a ValueError."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        name = dtype
    elif isinstance(dtype, type):
        name = dtype.__name__  # numpy.float32 (cupy.float32 is the same type)
    else:
        name = backend.dtype_name(getattr(dtype, "name", dtype))  # numpy's dtype('float32'), array_api_strict's
    if name not in DTYPES:
        expected = f"{fn}: dtype must be one of {', '.join(DTYPES)} (a name or such a dtype)"
        if isinstance(dtype, str) or isinstance(dtype, type) or hasattr(dtype, "name") \
                or type(dtype).__name__ in ("dtype", "DType"):
            raise ValueError(f"{expected}; got {dtype!r}")
        raise TypeError(f"{expected}; got {type(dtype).__name__} {dtype!r}")
    return name


def _device(device, fn: str) -> str | None:
    if device is None:
        return None
    try:
        return backend.canonical_device(device)
    except ValueError as err:
        raise ValueError(f"{fn}: {err}") from None


def _requires_grad(requires_grad, fn: str) -> None:
    if not isinstance(requires_grad, bool):
        raise TypeError(f"{fn}: requires_grad must be True or False; got {type(requires_grad).__name__} "
                        f"{requires_grad!r}")
