"""Checkpoints: save a run and continue it later, bit for bit, without pickle.

A checkpoint is one ``.npz`` file (a zip of ``.npy`` arrays) that holds arrays only:

* the parameters and buffers of each Module, under ``<item>/<parameter name>`` (``critic/0.weight``);
* the state arrays of each optimizer, under ``<item>/state/<parameter index>/<name>``
  (``opt_critic/state/3/exp_avg``);
* one JSON document, UTF-8 bytes in a uint8 array named ``__tinywgan__``, that says what the rest is: a format
  marker and version, the tinywgan version that wrote it, which items are modules, optimizers, random
  generators or plain metadata, the optimizers' hyperparameters and step counts, the generators' states,
  the metadata (step, seed, config...), and the name, shape and dtype of every array.

Why not pickle: unpickling runs code chosen by whoever wrote the file. :func:`load` reads with
``numpy.load(..., allow_pickle=False)``, so an object array in a file is refused, never unpickled.

Why a temporary file: :func:`save` writes next to the target, flushes and fsyncs, then renames over it with
``os.replace`` (atomic on POSIX and Windows). A crash or an exception mid-write leaves the previous checkpoint
whole, and the temporary file is removed.

>>> save("run.npz", critic=critic, generator=generator, opt_critic=opt_c, opt_generator=opt_g,
...      rng=rng, step=1000, config=config.to_dict())                           # doctest: +SKIP
>>> ckpt = load("run.npz")                                                        # doctest: +SKIP
>>> ckpt.restore(critic=critic, opt_critic=opt_c, rng=rng); ckpt.metadata["step"]  # doctest: +SKIP
1000
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np  # checkpoints live on the host: NumPy is the file format, whatever the device

from .. import npzfile
from ..engine import backend
from ..engine import Tensor
from ..nn import Module
from ..optim import Optimizer

MARKER = npzfile.MARKER
FORMAT = "tinywgan-checkpoint"
FORMAT_VERSION = 1
KINDS = ("modules", "optimizers", "generators", "metadata")


class CheckpointError(ValueError):
    """A file that is not a readable tinywgan checkpoint, or one that does not fit the objects given to
    :meth:`Checkpoint.restore`. The message names the file and what is wrong."""


# ---------------------------------------------------------------------------------------------------------
# Saving


def save(path, **items) -> Path:
    """Write ``items`` to the checkpoint file ``path`` (used as given; ``.npz`` is the customary suffix).

    Each keyword is an item: a :class:`~tinywgan.nn.Module` (its parameters and buffers), an
    :class:`~tinywgan.optim.Optimizer` (its state_dict), a :class:`~tinywgan.engine.backend.Generator` (its state,
    so the random stream continues), or anything else, kept as metadata: numbers, strings, booleans, None,
    and lists and dicts of them (JSON: tuples come back as lists, dict keys as strings; NumPy scalars are
    stored as Python numbers). Arrays are copied to the host. Returns the path.

    The file is written to a temporary file in the same folder and moved into place with ``os.replace``,
    so an interrupted save never destroys the previous checkpoint. The temporary file's name carries the
    writer's host and process id (``.run.npz.<host>-<pid>.<random>.tmp``): a save killed before it could
    clean up (SIGKILL, a power cut) leaves one behind, and the next :func:`save` or :func:`load` of that
    checkpoint removes those whose process is gone. A folder that does not exist or cannot be written is
    an error naming that folder.
    """
    path = _checked_path(path, "checkpoint.save")
    if not items:
        raise ValueError("checkpoint.save: no items to save; name each one, e.g. save(path, critic=critic, "
                         "opt=opt)")
    arrays, document = _pack(items)
    document_bytes = json.dumps(document, separators=(",", ":")).encode("utf-8")
    arrays = {MARKER: np.frombuffer(document_bytes, dtype=np.uint8), **arrays}
    return npzfile.write_atomically(path, arrays, "checkpoint.save")


def _pack(items: dict) -> tuple[dict, dict]:
    """(name -> host array, the JSON document) for the items of :func:`save`. Touches no file."""
    arrays: dict[str, np.ndarray] = {}
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "tinywgan_version": npzfile.version(),
                "items": {}, **{kind: {} for kind in KINDS}, "arrays": {}}

    def put(name: str, array) -> None:
        host = backend.to_numpy(array)
        arrays[name] = host
        document["arrays"][name] = {"shape": list(host.shape), "dtype": host.dtype.str}

    for item, value in items.items():
        if not item or "/" in item or item == MARKER:
            raise ValueError(f"save: item name {item!r} must be non-empty, without '/', and not {MARKER!r}")
        if isinstance(value, Module):
            kind = "modules"
            state = value.state_dict()
            document[kind][item] = {"class": type(value).__name__, "names": list(state)}
            for name, array in state.items():
                put(f"{item}/{name}", array)
        elif isinstance(value, Optimizer):
            kind = "optimizers"
            sd = value.state_dict()
            entry = {k: v for k, v in sd.items() if k != "state"}
            entry["state"] = {}
            for i, state in sd["state"].items():
                entry["state"][str(i)] = {k: v for k, v in state.items() if not hasattr(v, "shape")}
                for name, array in state.items():
                    if hasattr(array, "shape"):
                        put(f"{item}/state/{i}/{name}", array)
            document[kind][item] = entry
        elif isinstance(value, backend.Generator):
            kind = "generators"
            document[kind][item] = _json_value(value.state_dict(), item)
        else:
            if isinstance(value, Tensor) or hasattr(value, "shape") and not isinstance(value, np.generic):
                raise TypeError(f"save: item {item!r} is an array or Tensor; checkpoints hold Modules, "
                                f"optimizers, Generators and JSON metadata (use .tolist() for small arrays)")
            kind = "metadata"
            document[kind][item] = _json_value(value, item)
        document["items"][item] = kind
    return arrays, document


def _json_value(value, item: str):
    """``value`` as it will come back from JSON; NumPy scalars become Python numbers."""
    def plain(o):
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"a {type(o).__name__}")
    try:
        return json.loads(json.dumps(value, default=plain))
    except (TypeError, ValueError) as err:
        raise TypeError(f"save: item {item!r} cannot be stored as JSON metadata ({err}); metadata must be "
                        f"numbers, strings, booleans, None, lists and dicts") from None


# ---------------------------------------------------------------------------------------------------------
# Loading


def load(path) -> "Checkpoint":
    """Read and check the checkpoint at ``path``; returns a :class:`Checkpoint` (all arrays on the host).

    Every array is read now, so a truncated or corrupted file fails here, with a :class:`CheckpointError`
    naming the file, and not halfway through :meth:`Checkpoint.restore`. Nothing is ever unpickled.
    """
    path = _checked_path(path, "checkpoint.load")
    npzfile.remove_stale_temporaries(path)
    document, arrays = npzfile.read(path, "checkpoint.load", "a tinywgan checkpoint", CheckpointError)
    return Checkpoint(path, document, arrays)


def _checked_path(path, fn: str) -> Path:
    """``path`` (a str or os.PathLike) as a Path; anything else a TypeError naming it."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)) or str(path) in ("", "."):
        raise TypeError(f"{fn}: path must be a file path (a str or os.PathLike); got {type(path).__name__} "
                        f"{path!r}")
    return Path(path)


def _read_document(path: Path, document, arrays: dict) -> dict:
    """The checked contents of a checkpoint: the four kinds of items with their arrays put back in place."""
    def fail(message):
        raise CheckpointError(f"{path}: {message}")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        fail(f"not a tinywgan checkpoint: {MARKER!r} holds no {FORMAT!r} marker")
    if document.get("format_version") != FORMAT_VERSION:
        fail(f"written in checkpoint format {document.get('format_version')!r} by tinywgan "
             f"{document.get('tinywgan_version')}; this tinywgan ({npzfile.version()}) reads format "
             f"{FORMAT_VERSION}")
    try:
        manifest = document["arrays"]
        missing, unexpected = sorted(set(manifest) - set(arrays)), sorted(set(arrays) - set(manifest))
        if missing or unexpected:
            fail(f"damaged checkpoint: arrays missing {missing}, unexpected {unexpected}")
        for name, a in arrays.items():
            want = manifest[name]
            if list(a.shape) != want["shape"] or a.dtype.str != want["dtype"]:
                fail(f"damaged checkpoint: {name!r} is {a.dtype.str} of shape {tuple(a.shape)}; its index "
                     f"entry says {want['dtype']} of shape {tuple(want['shape'])}")
        modules = {item: OrderedDict((name, arrays[f"{item}/{name}"]) for name in entry["names"])
                   for item, entry in document["modules"].items()}
        optimizers = {}
        for item, entry in document["optimizers"].items():
            state = {}
            for i, values in entry["state"].items():
                prefix = f"{item}/state/{i}/"
                state[int(i)] = {**values, **{name[len(prefix):]: a for name, a in arrays.items()
                                              if name.startswith(prefix)}}
            optimizers[item] = {**entry, "state": state}
        return dict(kinds=dict(document["items"]), metadata=dict(document["metadata"]),
                    generators=dict(document["generators"]), modules=modules, optimizers=optimizers,
                    tinywgan_version=document.get("tinywgan_version"))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        fail(f"damaged checkpoint index {MARKER!r} ({type(err).__name__}: {err})")


class Checkpoint:
    """A checkpoint read by :func:`load`.

    ``metadata``          the plain items (``ckpt.metadata["step"]``; ``ckpt["step"]`` for short)
    ``modules``           item -> OrderedDict of parameter/buffer name -> NumPy array
    ``optimizers``        item -> optimizer state_dict (arrays as NumPy arrays)
    ``generators``        item -> Generator state
    ``kinds``             item -> "modules", "optimizers", "generators" or "metadata", in the order saved
    ``tinywgan_version``  the version of tinywgan that wrote the file

    :meth:`restore` loads the items into live objects.
    """

    def __init__(self, path: Path, document: dict, arrays: dict):
        self.path = path
        contents = _read_document(path, document, arrays)
        self.kinds: dict[str, str] = contents["kinds"]
        self.metadata: dict = contents["metadata"]
        self.modules: dict = contents["modules"]
        self.optimizers: dict = contents["optimizers"]
        self.generators: dict = contents["generators"]
        self.tinywgan_version: str = contents["tinywgan_version"]

    def _fail(self, message: str):
        raise CheckpointError(f"{self.path}: {message}")

    def __getitem__(self, item: str):
        if item not in self.metadata:
            raise KeyError(f"{self.path}: no metadata item {item!r}; it holds {sorted(self.metadata)} (modules, "
                           f"optimizers and generators {sorted(self.kinds.keys() - self.metadata.keys())} are "
                           f"loaded with restore())")
        return self.metadata[item]

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r}, {self.kinds})"

    def restore(self, **items) -> None:
        """Load the saved items into the objects given by name (``restore(critic=critic, opt=opt)``).

        Modules receive their parameters and buffers (on each module's own device), optimizers their state
        and hyperparameters (on each parameter's device), Generators their state. Items not named are left
        alone (``restore(generator=g)`` alone is fine for sampling). Everything is checked before anything
        changes: names and shapes must match exactly, and a mismatch is a :class:`CheckpointError` naming
        the file, the item, the entry and both shapes.
        """
        where = {Module: "modules", Optimizer: "optimizers", backend.Generator: "generators"}
        plan = []
        for item, obj in items.items():
            kind = next((k for cls, k in where.items() if isinstance(obj, cls)), None)
            if kind is None:
                raise TypeError(f"restore: {item!r} is a {type(obj).__name__}; restore takes Modules, "
                                f"optimizers and Generators (metadata is in .metadata)")
            if item not in self.kinds:
                self._fail(f"has no item {item!r}; it holds {self.kinds}")
            if self.kinds[item] != kind:
                self._fail(f"{item!r} is saved among the {self.kinds[item]}, but a {type(obj).__name__} "
                           f"was given for it")
            plan.append((item, obj, kind))
        # First check every item, then load them all, so a mismatch leaves every object as it was.
        for item, obj, kind in plan:
            if kind == "modules":
                self._check_module(item, obj)
            elif kind == "optimizers":
                self._check_optimizer(item, obj)
            else:
                self._check_generator(item, obj)
        for item, obj, kind in plan:
            obj.load_state_dict(getattr(self, kind)[item])

    def _check_module(self, item: str, module: Module) -> None:
        try:
            module.check_state_dict(self.modules[item], source="the checkpoint")
        except (KeyError, ValueError) as err:
            self._fail(f"module {item!r} does not match the checkpoint: {err.args[0]}")

    def _check_generator(self, item: str, generator: backend.Generator) -> None:
        saved = self.generators[item].get("bit_generator", {}).get("bit_generator")
        live = generator.state_dict()["bit_generator"]["bit_generator"]
        if saved != live:
            self._fail(f"generator {item!r}: the checkpoint holds the state of a {saved!r} bit generator; "
                       f"this Generator uses {live!r}")

    def _check_optimizer(self, item: str, optimizer: Optimizer) -> None:
        try:
            optimizer.check_state_dict(self.optimizers[item])
        except ValueError as err:
            self._fail(f"optimizer {item!r}: {err}")
