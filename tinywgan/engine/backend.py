"""The array backend: one interface, NumPy and CuPy interchangeable.

Engine code never imports numpy or cupy. It asks this module for the namespace of the arrays it holds
(``xp = array_namespace(x)``) and then calls only functions of the Python array API standard
(https://data-apis.org/array-api/) on it: ``xp.matmul``, ``xp.sum(..., keepdims=True)``, ``xp.where``...
NumPy >= 2 implements that standard in its main namespace, and so does CuPy from version 14; on CuPy 13 the
few names it lacks are filled in here (:func:`_cupy_namespace`), so the same code runs on both.

Three backends are known, each reached through a *device* name:

=========  ====================  =====================================================================
device     namespace             what it is for
=========  ====================  =====================================================================
``cpu``    ``numpy``             the default; training on a laptop
``gpu``    ``cupy``              a CUDA GPU (``pip install -e ".[gpu]"``); ``cuda`` is an alias
``strict`` ``array_api_strict``  tests only: a CPU implementation of the bare standard that fails
                                 loudly on anything NumPy-only, which is how the tests know the engine
                                 will run on CuPy without owning a GPU
=========  ====================  =====================================================================

What the standard lacks lives here, one small function per need: random numbers (:class:`Generator`, and
:func:`as_generator` for every ``rng`` argument: None, an int seed, a NumPy or a tinywgan Generator),
moving arrays between host and device (:func:`to_device`, :func:`to_numpy`), and waiting for a device
before reading a clock (:func:`synchronize`).
"""
from __future__ import annotations

import importlib
from typing import Any

DEVICES = ("cpu", "gpu", "strict")
_ALIASES = {
    "cpu": "cpu", "numpy": "cpu", "host": "cpu",
    "gpu": "gpu", "cuda": "gpu", "cupy": "gpu",
    "strict": "strict", "array_api_strict": "strict",
}
_MODULE_OF_DEVICE = {"cpu": "numpy", "gpu": "cupy", "strict": "array_api_strict"}
_DEVICE_OF_MODULE = {v: k for k, v in _MODULE_OF_DEVICE.items()}

# type(array) -> namespace; filled on first sight of each array type so the hot path is one dict lookup.
NAMESPACE_OF_TYPE: dict[type, Any] = {}


def canonical_device(device: str) -> str:
    """``'cuda'`` -> ``'gpu'``, ``'numpy'`` -> ``'cpu'``...; an unknown name is a ``ValueError``."""
    try:
        return _ALIASES[str(device).lower()]
    except KeyError:
        raise ValueError(
            f"device must be one of {sorted(_ALIASES)}; got {device!r}") from None


def namespace(device: str = "cpu"):
    """The array namespace (module) of a device: ``numpy``, ``cupy`` or ``array_api_strict``.

    Raises an ``ImportError`` that says how to install the backend when it is missing.
    """
    name = _MODULE_OF_DEVICE[canonical_device(device)]
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        hint = {"cupy": 'pip install -e ".[gpu]" (needs a CUDA GPU)',
                "array_api_strict": 'pip install -e ".[dev]"'}.get(name, "pip install numpy")
        raise ImportError(f"device {device!r} needs the {name} package: {hint}") from err
    if name == "cupy":
        if _CUPY is not None:  # a GPU was found before: asked again for every Generator and copy
            return _CUPY
        try:
            if module.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device")
        except Exception as err:  # CUDA driver missing, no device, ...
            raise RuntimeError(f"device {device!r}: CuPy is installed but sees no GPU ({err})") from err
        return _cupy_namespace(module)
    return module


_CUPY = None


def _cupy_namespace(cupy):
    """CuPy's main namespace with the array API standard's names it may lack filled in.

    CuPy 13 predates NumPy 2's API (the standard's): names the standard added (``concat``, ``permute_dims``,
    ``astype``, ``matrix_transpose``, ``pow``, ``bool``) are missing from it and arrive with CuPy 14. Each
    missing one gets a one-line stand-in from CuPy's own functions; everything else is CuPy itself, and
    ``__version__`` is CuPy's.
    """
    global _CUPY
    if _CUPY is None:
        import types
        shims = {
            "concat": lambda arrays, axis=0: cupy.concatenate(arrays, axis=axis),
            "permute_dims": lambda x, axes: cupy.transpose(x, axes),
            "astype": lambda x, dtype, copy=True: x.astype(dtype, copy=copy),
            "matrix_transpose": lambda x: cupy.swapaxes(x, -1, -2),
            "pow": cupy.power,
            "bool": cupy.bool_,
        }
        ns = types.ModuleType("cupy")
        ns.__dict__.update({k: getattr(cupy, k) for k in dir(cupy) if not k.startswith("__")})
        ns.__version__ = cupy.__version__
        for k, v in shims.items():
            if not hasattr(cupy, k):
                setattr(ns, k, v)
        _CUPY = ns
    return _CUPY


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        namespace("gpu")
    except (ImportError, RuntimeError):
        return False
    return True


def array_namespace(*arrays):
    """The namespace shared by ``arrays`` (Python scalars and ``None`` are ignored).

    Arrays from two backends in one operation are an error that names both: the engine never copies
    between host and device behind the user's back.
    """
    if len(arrays) == 1:  # the common case, one lookup
        xp = NAMESPACE_OF_TYPE.get(type(arrays[0]))
        if xp is not None:
            return xp
    found = None
    for a in arrays:
        xp = NAMESPACE_OF_TYPE.get(type(a))
        if xp is None:
            if a is None or isinstance(a, (int, float, bool)):
                continue
            xp = _lookup_namespace(a)
        if found is None:
            found = xp
        elif xp is not found:
            raise TypeError(
                f"operands live on two backends: {backend_name(found)!r} and {backend_name(xp)!r}; "
                f"move one with .to(device) first")
    if found is None:
        raise TypeError("no array among the operands (only Python scalars)")
    return found


def _lookup_namespace(a):
    module = type(a).__module__.split(".")[0]
    if module == "numpy":
        import numpy as xp
    elif module == "cupy":
        import cupy
        xp = _cupy_namespace(cupy)
    elif hasattr(a, "__array_namespace__"):
        xp = a.__array_namespace__()  # array_api_strict
    else:
        raise TypeError(f"expected an array of numpy, cupy or array_api_strict; got {type(a).__name__}")
    NAMESPACE_OF_TYPE[type(a)] = xp
    return xp


def backend_name(xp) -> str:
    """``'numpy'``, ``'cupy'`` or ``'array_api_strict'`` for a namespace."""
    return xp.__name__.split(".")[0]


def device_of(x) -> str:
    """The device name (``'cpu'``, ``'gpu'``, ``'strict'``) of an array."""
    return _DEVICE_OF_MODULE[backend_name(array_namespace(x))]


def to_numpy(x, name: str | None = None):
    """A NumPy array on the host holding the values of ``x`` (any backend). Anything that is no array or
    number is a TypeError naming the argument (``name``, e.g. ``"emd: x"``) when it is given."""
    import numpy as np
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (int, float, bool, np.generic)):
        return np.asarray(x)
    if name is not None and NAMESPACE_OF_TYPE.get(type(x)) is None:
        try:
            array_namespace(x)
        except TypeError:
            raise TypeError(f"{name} must be an array (NumPy, CuPy or array_api_strict), a list or a number; got "
                            f"{type(x).__name__} {repr(x)[:40]}") from None
    if backend_name(array_namespace(x)) == "cupy":
        return x.get()
    return np.from_dlpack(x)


def to_device(x, device: str):
    """Move an array (or anything ``numpy.asarray`` takes) to ``device``; no copy when already there."""
    target = canonical_device(device)
    xp = namespace(target)
    try:
        if device_of(x) == target:
            return x
    except TypeError:
        pass  # a list, a scalar: not an array of any backend yet
    host = to_numpy(x) if not isinstance(x, (list, tuple)) else x
    return xp.asarray(host)


def synchronize(device_or_array: Any = "cpu") -> None:
    """Wait until the device has finished its queued work (a no-op on the CPU). Call before a timer."""
    dev = device_or_array if isinstance(device_or_array, str) else device_of(device_or_array)
    if canonical_device(dev) == "gpu":
        namespace("gpu").cuda.Device().synchronize()


class Generator:
    """A seeded random generator: the same seed gives the same numbers, on every device.

    The numbers come from NumPy's PCG64 (``numpy.random.default_rng``) on the host and are copied to the
    device (``cpu``: no copy; ``strict``, ``gpu``: one small copy per draw, a batch of noise or indices, which
    is little next to a training step). So a seed means the same run on NumPy, array_api_strict and CuPy up
    to the devices' arithmetic, and the generator's state can be saved in a checkpoint on every device.

    >>> rng = Generator(0)
    >>> rng.normal((2, 3)).shape
    (2, 3)
    """

    def __init__(self, seed: int | None = 0, device: str = "cpu"):
        import numpy as np
        self.device = canonical_device(device)
        if isinstance(seed, np.random.Generator):  # draw from the caller's NumPy stream (SPEC 7)
            self.seed = None
        else:
            self.seed = seed if seed is None else _seed("Generator: seed", seed)
        self.xp = namespace(self.device)
        self._rng = np.random.default_rng(seed)

    def _out(self, a, dtype):
        """The host array ``a`` as ``dtype`` (a name, or a dtype of any backend) on this generator's device."""
        import numpy as np
        try:
            name = np.dtype(dtype).name  # 'float32', np.float32, cupy.float32 (which is np.float32)
        except TypeError:
            name = dtype_name(dtype)  # array_api_strict.float32
        a = a.astype(name, copy=False)
        return a if self.device == "cpu" else self.xp.asarray(a)

    def normal(self, shape, mean=0.0, std=1.0, dtype="float32"):
        """Samples of N(mean, std**2) with the given shape."""
        _finite("Generator.normal: mean", mean)
        if not _finite("Generator.normal: std", std) >= 0:
            raise ValueError(f"Generator.normal: std must be >= 0; got {std}")
        a = self._rng.standard_normal(shape_tuple(shape, "Generator.normal: shape"))
        if mean != 0.0 or std != 1.0:
            a = a * std + mean
        return self._out(a, dtype)

    def uniform(self, shape, low=0.0, high=1.0, dtype="float32"):
        """Samples of U[low, high) with the given shape."""
        if not _finite("Generator.uniform: low", low) <= _finite("Generator.uniform: high", high):
            raise ValueError(f"Generator.uniform: low must be <= high; got low={low}, high={high}")
        return self._out(self._rng.uniform(low, high, size=shape_tuple(shape, "Generator.uniform: shape")), dtype)

    def integers(self, low, high, shape, dtype="int64"):
        """Integers drawn uniformly from [low, high)."""
        if not _finite("Generator.integers: low", low) < _finite("Generator.integers: high", high):
            raise ValueError(f"Generator.integers: low must be < high; got low={low}, high={high}")
        return self._out(self._rng.integers(low, high, size=shape_tuple(shape, "Generator.integers: shape")), dtype)

    def permutation(self, n: int):
        """A random permutation of ``range(n)`` as an int64 array."""
        return self._out(self._rng.permutation(shape_tuple(n, "Generator.permutation: n")[0]), "int64")

    def state_dict(self) -> dict:
        """The generator's state as JSON-friendly data, for checkpoints."""
        return {"seed": self.seed, "device": self.device, "bit_generator": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self._rng.bit_generator.state = state["bit_generator"]


def _seed(name: str, seed) -> int:
    """An int seed >= 0 (NumPy's SeedSequence takes no negative seed) as a Python int; ``name`` names the
    argument in the error (``"Linear: rng"``)."""
    import numbers
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an int seed, a numpy.random.Generator or a tinywgan Generator; "
                        f"got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{name}: an int seed must be >= 0; got {seed}")
    return int(seed)


default_generator = Generator(None)
"""The generator that every ``rng=None`` draws from (PyTorch's ``torch.default_generator``): seeded from the
operating system at import (SPEC 7's None: unpredictable), until :func:`manual_seed` reseeds it. It draws on the
host; a draw for another device is copied there, so a seed gives the same numbers on every device."""


def manual_seed(seed: int) -> Generator:
    """Reseed :data:`default_generator` with ``seed`` (an int >= 0) and return it: after ``manual_seed(0)``
    every draw made without an ``rng`` (``randn``, a layer's initial weights, a sampler) repeats from run to run
    (PyTorch's ``torch.manual_seed``). Draws given their own ``rng`` are not affected."""
    import numbers
    import numpy as np
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        kind = TypeError if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) else ValueError
        got = f"{type(seed).__name__} {seed!r}" if kind is TypeError else f"{seed!r}"
        raise kind(f"manual_seed: seed must be an integer >= 0; got {got}")
    default_generator.seed = int(seed)
    default_generator._rng = np.random.default_rng(default_generator.seed)
    return default_generator


def as_generator(rng, device: str | None = None, name: str = "rng", default_seed: int | None = None) -> Generator:
    """What an ``rng`` argument may be, as a tinywgan :class:`Generator` (SPEC 7, "Seeding pseudo-random
    number generation", the scientific Python ecosystem's agreement on ``rng`` arguments):

    * a tinywgan Generator: itself (its stream advances), which must draw onto ``device`` when one is named;
    * an int seed: ``Generator(seed, device)``, so the same seed gives the same numbers on every device;
    * a ``numpy.random.Generator``: a Generator that draws from that NumPy stream (which advances);
    * None: :data:`default_generator` (seeded from the operating system unless :func:`manual_seed` was
      called), drawing onto ``device``; or a fresh Generator seeded with ``default_seed`` when one is given.

    ``device`` None means the CPU for a new Generator. Anything else is a ``TypeError`` that names the
    argument (``name``, e.g. ``"Linear: rng"``), and a negative seed is a ``ValueError``.
    """
    import numpy as np
    if isinstance(rng, Generator):
        if device is not None and rng.device != canonical_device(device):
            raise ValueError(f"{name} is a Generator on device {rng.device!r} but it must draw onto "
                             f"{canonical_device(device)!r} (where the arrays live); pass "
                             f"Generator(seed, {canonical_device(device)!r}) or an int seed")
        return rng
    if rng is None:
        if default_seed is not None:
            return Generator(default_seed, device or "cpu")
        if canonical_device(device or "cpu") == default_generator.device:
            return default_generator
        return Generator(default_generator._rng, device)
    if isinstance(rng, np.random.Generator):
        return Generator(rng, device or "cpu")
    if isinstance(rng, np.random.RandomState):
        raise TypeError(f"{name} must be None, an int seed, a numpy.random.Generator or a tinywgan Generator; "
                        f"got a legacy numpy.random.RandomState (use numpy.random.default_rng(seed))")
    return Generator(_seed(name, rng), device or "cpu")


def shape_tuple(shape, name: str = "shape") -> tuple:
    """``3`` -> ``(3,)``, ``[2, 3]`` -> ``(2, 3)``: a shape as a tuple of Python ints; a size that is not an
    integer >= 0 (``2.5``, ``-2``, ``'3'``) is an error naming it (``name``, e.g. ``"zeros: shape"``)."""
    import numbers
    sizes = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"{name} must be an integer or a sequence of integers; got {type(shape).__name__} "
                        f"{shape!r}") from None
    for i, s in enumerate(sizes):
        where = name if isinstance(shape, numbers.Integral) else f"{name}[{i}]"
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{where} must be an integer >= 0; got {type(s).__name__} {s!r}")
        if s < 0:
            raise ValueError(f"{where} must be an integer >= 0; got {s}")
    return tuple(int(s) for s in sizes)


def _finite(name: str, value) -> float:
    """A finite real number (a Generator's mean, std, bounds) as a float, else an error naming it."""
    import math
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value}")
    return float(value)


def dtype_of(xp, dtype):
    """``dtype`` (a name such as ``'float32'``, or a dtype of any backend) as a dtype of namespace ``xp``."""
    if isinstance(dtype, str):
        return getattr(xp, dtype)
    if xp.__name__ != "numpy" and not isinstance(dtype, type(xp.float32)):
        return getattr(xp, dtype_name(getattr(dtype, "name", dtype)))  # numpy dtype -> this backend's
    return dtype


def astype(x, dtype):
    """``x`` converted to ``dtype``: the standard's ``xp.astype`` where the namespace has it (NumPy >= 2.1,
    array_api_strict), else the array method (older NumPy 2.0, CuPy)."""
    xp = array_namespace(x)
    f = getattr(xp, "astype", None)
    return f(x, dtype) if f is not None else x.astype(dtype, copy=False)


def copy(x):
    """A new array with the values of ``x``, on the same device (``xp.asarray(x, copy=True)`` where the
    namespace takes ``copy=``; CuPy's array method otherwise)."""
    if backend_name(array_namespace(x)) == "cupy":
        return x.copy()
    return array_namespace(x).asarray(x, copy=True)


def float_dtype_name(dtype, name: str = "dtype") -> str:
    """``'float32'`` or ``'float64'`` for a floating dtype given by name or as a dtype of any backend (the
    dtypes a network trains in); anything else is an error naming the argument (``name``)."""
    import numpy as np
    try:
        found = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        found = dtype_name(dtype)  # array_api_strict.float32
    if found not in ("float32", "float64"):
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dtype!r}")
    return found


def dtype_kind(dtype) -> str:
    """NumPy's one-letter kind of a dtype of any backend: ``'f'`` floating, ``'i'``/``'u'`` integer,
    ``'b'`` boolean (CuPy 13 lacks the standard's ``isdtype``)."""
    import numpy as np
    return np.dtype(dtype_name(dtype)).kind


def dtype_name(dtype) -> str:
    """``'float32'`` for NumPy's, CuPy's and array_api_strict's float32 alike (``str`` of the last gives
    ``'array_api_strict.float32'``)."""
    return str(dtype).split(".")[-1]


def _takes_out(xp) -> bool:
    """Whether the namespace's functions take ``out=`` (NumPy and CuPy do; the array API standard has no
    ``out=``). Remembered per namespace: it is asked in every ReLU."""
    answer = _TAKES_OUT.get(xp)
    if answer is None:
        answer = _TAKES_OUT[xp] = backend_name(xp) in ("numpy", "cupy")
    return answer


_TAKES_OUT: dict = {}


def positive_mask(x):
    """``[x > 0]`` as an array of ``x``'s dtype (1.0 where positive, else 0.0). NumPy and CuPy write the
    comparison straight into a float array (one pass); the array API casts a boolean array (two)."""
    xp = array_namespace(x)
    if _takes_out(xp):
        return xp.greater(x, 0, out=xp.empty_like(x))
    return astype(x > 0, x.dtype)


def clip_in_place(x, low: float, high: float):
    """``x`` clipped into [low, high]: written into ``x`` itself where the namespace takes ``out=`` (NumPy,
    CuPy: one pass, no new array), a new array elsewhere (the array API has no ``out=``). Use the result."""
    xp = array_namespace(x)
    if _takes_out(xp):
        return xp.clip(x, low, high, out=x)
    return xp.clip(x, low, high)


def array_of(data):
    """``data`` itself when it is an array of a backend; numbers and lists as a NumPy array (:func:`as_array`)."""
    if type(data) in NAMESPACE_OF_TYPE:
        return data
    try:
        array_namespace(data)  # an array of a backend not seen yet: its type is remembered
        return data
    except TypeError:
        return as_array(data)


def as_array(data, dtype=None, device: str = "cpu"):
    """Python numbers, lists and arrays of any backend -> an array on ``device``.

    Python floats default to float32, the training dtype (as in PyTorch); arrays keep their dtype.
    """
    xp = namespace(device)
    if type(data) in NAMESPACE_OF_TYPE or hasattr(data, "__array_namespace__") \
            or type(data).__module__ == "numpy":
        data = to_device(data, device)
        return data if dtype is None else xp.asarray(data, dtype=dtype_of(xp, dtype))
    import numpy as np
    try:
        host = np.asarray(data)
    except ValueError as err:  # a ragged nested list: [[1, 2], [3]]
        raise ValueError(f"cannot make a tensor from this {type(data).__name__}: its nested lists have unequal "
                         f"lengths (a tensor is rectangular); NumPy says: {err}") from None
    if dtype is None and host.dtype == np.float64:
        dtype = "float32"
    if dtype is None and host.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} (dtype {host.dtype})")
    arr = xp.asarray(host)
    return arr if dtype is None else xp.asarray(arr, dtype=dtype_of(xp, dtype))


def is_array_index(index) -> bool:
    """Whether ``index`` is an array (or list) of indices rather than basic indexing."""
    import numbers
    if isinstance(index, numbers.Integral):  # a Python or NumPy integer is a basic index
        return False
    return isinstance(index, list) or hasattr(index, "shape")


def canonical_index(index, x):
    """``index`` for ``x[index]`` in a form every backend reads alike: a list becomes an array, a 1-D
    integer array along axis 0 is checked (:func:`checked_index`), and basic indexing (ints, slices, None,
    ...) gets its trailing Ellipsis made explicit (the standard asks for it; NumPy implies it)."""
    import numbers
    if isinstance(index, list):
        index = array_namespace(x).asarray(index)
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        index = int(index)  # a NumPy integer (from argmax, say) is an int index, not an array
    if is_array_index(index):
        if x.ndim == 0:
            raise IndexError("getitem: an array index selects along axis 0; the tensor is 0-d")
        return checked_index(index, x.shape[0], x)
    index = index if isinstance(index, tuple) else (index,)
    index = tuple(int(i) if isinstance(i, numbers.Integral) and not isinstance(i, bool) else i for i in index)
    if any(is_array_index(i) for i in index):
        raise TypeError("getitem: only one integer array, alone (selecting along axis 0), is supported; "
                        "combine it with basic indexing in two steps")
    from . import checks  # checks imports this module
    checks.basic_index(index, x.shape)
    return index if any(i is Ellipsis for i in index) else index + (Ellipsis,)


def checked_index(index, n: int, like, axis: int = 0):
    """A 1-D integer array ``index`` into ``axis``, of length ``n``, with negative values made explicit
    (``n - k`` for ``-k``, so that a scatter by comparison with ``arange(n)`` finds them); values outside
    ``[-n, n)`` are an ``IndexError`` on every backend (CuPy's ``take`` would wrap them around silently).
    ``like`` is the indexed array: the index must live on its backend."""
    xp = array_namespace(like, index)
    if index.ndim != 1 or dtype_kind(index.dtype) not in "iu":
        raise TypeError(f"getitem: an array index must be 1-D integers; got shape {tuple(index.shape)}, "
                        f"dtype {index.dtype}")
    if index.shape[0]:
        low, high = (int(v) for v in to_numpy(xp.stack([xp.min(index), xp.max(index)])))  # one device read
        if low < -n or high >= n:
            raise IndexError(f"getitem: index values must be in [-{n}, {n}) for axis {axis} of length {n}; "
                             f"got values from {low} to {high}")
        if low < 0:
            index = astype(index, xp.int64)  # n may not fit the index's own type (int8)
            index = xp.where(index < 0, index + n, index)
    return index


def matmul(a, b):
    """``a @ b`` (``xp.matmul``), with broadcast views made compact first. NumPy and CuPy hand a zero-stride
    operand (the gradient of a mean or a sum is one) to loops of their own instead of BLAS: about 10x
    slower, and summed in another order, so the same product would round differently with and without a
    copy. The array API has no strides: other backends get the operands unchanged. An inner dimension of 1
    is an outer product, done by broadcasting: BLAS runs a k = 1 product about 4x slower, and the critic's
    1-unit output layer meets one in every backward pass (each element is one product either way)."""
    if a.shape[-1] == 1:
        return a * b
    return array_namespace(a).matmul(_compact(a), _compact(b))  # the op has checked that b's backend is a's


def c_contiguous(x):
    """``x`` in C order (a copy when it is not already; NumPy and CuPy), unchanged on backends without
    strides (the array API has no memory layout)."""
    if getattr(x, "strides", None) is None:
        return x
    return array_namespace(x).ascontiguousarray(x)


def _compact(x):
    strides = getattr(x, "strides", None)
    if strides and 0 in strides and x.size > 1:
        return array_namespace(x).ascontiguousarray(x)
    return x
