"""``tw.save(obj, path)`` and ``tw.load(path)``: state dicts and checkpoints in one ``.npz`` file, no pickle.

What ``save`` takes (PyTorch's ``torch.save`` takes any object and pickles it; tinywgan takes data only):

* arrays of any backend (stored on the host, loaded back as NumPy arrays) and Tensors (loaded back as CPU
  Tensors, ``requires_grad`` as saved; a non-leaf is saved as its values);
* Python numbers, strings, booleans and None; NumPy scalars (back as NumPy scalars of the same dtype);
* dicts (with str or int keys; an OrderedDict comes back as an OrderedDict), lists and tuples of all these,
  nested as deep as needed.

So ``tw.save(model.state_dict(), "model.npz")`` and, for a whole run,
``tw.save({"critic": critic.state_dict(), "opt": opt.state_dict(), "rng": rng.state_dict(), "step": 100}, path)``;
each comes back equal from ``tw.load`` and goes back with ``load_state_dict``. A Module, an optimizer or a
Generator itself is refused with a TypeError that says to save its ``state_dict()``: rebuilding an object
from a file would take pickle, and unpickling runs code chosen by whoever wrote the file.

``tw.load`` also reads the trainer's checkpoints (:mod:`tinywgan.wgan.checkpoint`): it returns their items as
a dict of state dicts (``{"critic": {...}, "opt_critic": {...}, "rng": {...}, "step": 1000, ...}``).

The file: ``numpy.savez`` arrays named ``0``, ``1``, ... plus one JSON document (UTF-8 bytes in a uint8 array
named ``__tinywgan__``, as in checkpoints) that gives the nesting, with ``{"array": "3"}`` where array 3
goes. It is written to a temporary file beside ``path`` and moved into place with ``os.replace``, so a save
that fails or is killed never destroys the previous file; temporary files left by killed saves are removed by
the next save or load of the same path.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np  # the file format lives on the host, whatever the device

from . import npzfile
from .engine import backend
from .engine.tensor import Tensor
from .nn import Module
from .optim import Optimizer

MARKER = npzfile.MARKER
FORMAT = "tinywgan-save"
FORMAT_VERSION = 1


def save(obj, path) -> Path:
    """Write ``obj`` (a state dict, or nested dicts, lists and tuples of arrays, Tensors and plain values;
    see the module's docstring) to the file ``path``, used as given (any suffix: ``.npz``, ``.pt``).
    Returns the path."""
    path = _path(path, "save", obj)
    arrays: dict = {}
    tree = _encode(obj, arrays, "obj", set())
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "tinywgan_version": npzfile.version(), "tree": tree}
    marker = np.frombuffer(json.dumps(document, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)
    npzfile.write_atomically(path, {MARKER: marker, **arrays}, "save")
    return path


def load(path, *, device: str | None = None):
    """Read what :func:`save` wrote to ``path`` (or a trainer checkpoint: its items as a dict of state
    dicts). Arrays come back as NumPy arrays and Tensors on the CPU, or both on ``device`` when one is named.
    Nothing is unpickled; a file that is not one of these is a ValueError naming it."""
    path = _path(path, "load")
    if device is not None:
        device = backend.canonical_device(device)
    npzfile.remove_stale_temporaries(path)
    document, arrays = _read(path)
    if document.get("format") == "tinywgan-checkpoint":
        return _checkpoint_items(path, device)
    if document.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not a file written by tinywgan.save (its {MARKER!r} entry says "
                         f"format {document.get('format')!r})")
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"load: {path} was written in format version {document.get('format_version')!r} by "
                         f"tinywgan {document.get('tinywgan_version')}; this tinywgan reads version "
                         f"{FORMAT_VERSION}")
    try:
        return _decode(document["tree"], arrays, device)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise ValueError(f"load: {path} is damaged: its index does not match its arrays "
                         f"({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------------------------------------------------
# The nesting as JSON: plain values as they are, everything else as a one-key object


def _encode(obj, arrays: dict, where: str, seen: set):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        return {"tensor": _put(obj.data, arrays, where), "requires_grad": obj.requires_grad}
    if isinstance(obj, np.generic):
        return {"scalar": _put(np.asarray(obj), arrays, where)}
    if isinstance(obj, (Module, Optimizer, backend.Generator)):
        raise TypeError(f"save: {where} is a {type(obj).__name__} object; save its state_dict() and load it "
                        f"back with load_state_dict(tw.load(path)) (a whole object would need pickle)")
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in seen:
            raise ValueError(f"save: {where} contains itself")
        seen = seen | {id(obj)}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: {where} has a key of type {type(key).__name__} ({key!r}); keys must be "
                                    f"strings or ints")
                items.append([key, _encode(value, arrays, f"{where}[{key!r}]", seen)])
            return {"ordered_dict" if isinstance(obj, OrderedDict) else "dict": items}
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{where}[{i}]", seen) for i, v in enumerate(obj)]}
    try:
        backend.array_namespace(obj)
    except TypeError:
        raise TypeError(f"save: {where} has type {type(obj).__name__}; tw.save takes arrays, Tensors, numbers, "
                        f"strings, booleans, None, and dicts, lists and tuples of them") from None
    return {"array": _put(obj, arrays, where)}


def _put(array, arrays: dict, where: str) -> str:
    host = backend.to_numpy(array)
    if host.dtype.kind not in "biufc":
        raise TypeError(f"save: {where} is an array of dtype {host.dtype}; only numbers and booleans are stored "
                        f"(no object arrays: they would need pickle)")
    name = str(len(arrays))
    arrays[name] = host
    return name


def _decode(node, arrays: dict, device):
    if not isinstance(node, dict):
        if isinstance(node, list):
            raise TypeError("a bare list in the index")
        return node
    (kind, value), = ((k, v) for k, v in node.items() if k != "requires_grad")
    if kind in ("array", "tensor", "scalar"):
        array = arrays[value]
        if kind == "scalar":
            return array[()]
        array = array if device is None else backend.to_device(array, device)
        return array if kind == "array" else Tensor(array, requires_grad=bool(node["requires_grad"]))
    if kind in ("dict", "ordered_dict"):
        pairs = ((key, _decode(v, arrays, device)) for key, v in value)
        return OrderedDict(pairs) if kind == "ordered_dict" else dict(pairs)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, device) for v in value]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"unknown entry {kind!r}")


def _checkpoint_items(path: Path, device):
    """A trainer checkpoint's items in the order saved: modules and optimizers as their state dicts,
    Generators as their states, metadata as it is."""
    from .wgan import checkpoint  # the trainer's layer sits above this one; only needed for its files
    ckpt = checkpoint.load(path)
    out = {}
    for item, kind in ckpt.kinds.items():
        value = getattr(ckpt, kind)[item]
        out[item] = _on_device(value, device) if kind in ("modules", "optimizers") else value
    return out


def _on_device(value, device):
    if device is None:
        return value
    if isinstance(value, dict):
        return type(value)((k, _on_device(v, device)) for k, v in value.items())
    return backend.to_device(value, device) if isinstance(value, np.ndarray) else value


# ---------------------------------------------------------------------------------------------------------
# The file


def _path(path, fn: str, obj=None) -> Path:
    if isinstance(path, (str, os.PathLike)) and not isinstance(path, bytes):
        path = Path(path)
        if str(path) in ("", "."):
            raise ValueError(f"{fn}: path must name a file; got {str(path)!r}")
        return path
    hint = " (the object comes first: tw.save(obj, path), as in PyTorch)" \
        if fn == "save" and isinstance(obj, (str, os.PathLike)) else ""
    raise TypeError(f"{fn}: path must be a str or os.PathLike; got {type(path).__name__}{hint}")


def _read(path: Path):
    """The JSON index and the arrays of a tinywgan ``.npz`` (:func:`tinywgan.npzfile.read`)."""
    document, arrays = npzfile.read(path, "load", "a file written by tinywgan")
    if not isinstance(document, dict):
        raise ValueError(f"load: {path} is damaged: its {MARKER!r} entry is not an index")
    return document, arrays


