"""Creating tensors: from data (:func:`tensor`), filled (:func:`zeros`, :func:`ones`) or random
(:func:`randn`, :func:`rand`)."""
from __future__ import annotations

from . import backend
from .tensor import Tensor, data_of


def tensor(data, dtype=None, device: str | None = None, requires_grad: bool = False) -> Tensor:
    """A leaf tensor from Python numbers, lists or arrays. Python floats become float32 (as in PyTorch);
    arrays keep their dtype unless ``dtype`` is given, and their device unless ``device`` is given
    (numbers and lists go to the CPU)."""
    data = data_of(data)
    if device is None:
        try:
            device = backend.device_of(data)
        except TypeError:
            device = "cpu"
    return Tensor(backend.as_array(data, dtype, device), requires_grad=requires_grad)


def zeros(shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = backend.namespace(device)
    return Tensor(xp.zeros(backend.shape_tuple(shape), dtype=backend.dtype_of(xp, dtype)),
                  requires_grad=requires_grad)


def ones(shape, dtype="float32", device: str = "cpu", requires_grad: bool = False) -> Tensor:
    xp = backend.namespace(device)
    return Tensor(xp.ones(backend.shape_tuple(shape), dtype=backend.dtype_of(xp, dtype)),
                  requires_grad=requires_grad)


def randn(shape, rng: backend.Generator | None = None, dtype="float32", device: str | None = None,
          requires_grad: bool = False) -> Tensor:
    """Samples of N(0, 1). Pass ``rng`` (a :class:`tinywgan.engine.backend.Generator`) for reproducible
    numbers; without it the draw is seeded from the operating system."""
    rng = rng if rng is not None else backend.Generator(None, device or "cpu")
    return Tensor(rng.normal(shape, dtype=dtype), requires_grad=requires_grad)


def rand(shape, rng: backend.Generator | None = None, dtype="float32", device: str | None = None,
         requires_grad: bool = False) -> Tensor:
    """Samples of U[0, 1)."""
    rng = rng if rng is not None else backend.Generator(None, device or "cpu")
    return Tensor(rng.uniform(shape, dtype=dtype), requires_grad=requires_grad)
