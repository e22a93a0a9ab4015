"""The speed layer: optional, on by default, and number-neutral.

The engine in :mod:`tinywgan.engine` is the textbook; this package makes it fast without touching it:

* :mod:`.backward`: no-graph backward passes on raw arrays of the ops a training step walks through (Linear,
  MatMul, the activations, and the small ops a gradient penalty's recorded backward is made of: Sub, Mul,
  Div, Neg, Pow, Sqrt, Tanh, Transpose, Reshape, Sum, Mean, Max, SumTo, BroadcastTo, Norm), registered at
  the engine's one seam, :data:`tinywgan.engine.backprop.NO_GRAPH_BACKWARD`; the MatMul one also keeps a
  weight's gradients in one memory layout;
* :mod:`.fused`: Linear + ReLU/LeakyReLU as one op, which ``nn.Sequential`` (and so ``nn.MLP`` and a user's
  own Sequential) runs while the layer is on: ``nn.Sequential.forward`` is swapped for
  :func:`~.fused.sequential_forward`, the layer's second and last point of contact;
* :mod:`.memory`: glibc keeps freed memory for reuse (fewer page faults per step), applied by
  :func:`enable`, :func:`prepare_run` (which :func:`tinywgan.wgan.train` and the bench call when they start)
  and never by ``import tinywgan``: a user's own training loop gets it by calling
  ``tinywgan.fast.enable()`` once.

Every number is the same with the layer on and off, bit for bit: the no-graph passes compute their textbook
formulas operation for operation, and the fused op counts as the two nodes it replaces, so the walk visits
the graph and adds up gradients in the same order (the test suite runs both ways). Switch it off with
``tinywgan.fast.disable()``, for a block with ``with tinywgan.fast.disabled(): ...``, or for a whole process
with the environment variable ``TINYWGAN_FAST=0``.
"""
from __future__ import annotations

import contextlib
import os

from .. import nn
from ..engine.backprop import NO_GRAPH_BACKWARD
from .backward import TABLE
from .fused import LinearAct, linear_act, sequential_forward
from .memory import keep_freed_memory

_textbook_sequential_forward = nn.Sequential.forward


def enable(memory: bool = True) -> None:
    """Turn the speed layer on; ``memory=True`` also keeps freed memory in the process (:mod:`.memory`)."""
    NO_GRAPH_BACKWARD.update(TABLE)
    nn.Sequential.forward = sequential_forward
    if memory:
        keep_freed_memory()


def disable() -> None:
    """Turn the speed layer off: the textbook engine alone (the memory setting, once made, stays)."""
    for op in TABLE:
        NO_GRAPH_BACKWARD.pop(op, None)
    nn.Sequential.forward = _textbook_sequential_forward


def is_enabled() -> bool:
    return nn.Sequential.forward is sequential_forward


@contextlib.contextmanager
def disabled():
    """Context manager: the textbook engine alone inside, the speed layer as it was after."""
    was = is_enabled()
    disable()
    try:
        yield
    finally:
        if was:
            enable(memory=False)


def prepare_run() -> None:
    """What a training run or the bench calls when it starts: the memory setting, if the layer is on."""
    if is_enabled():
        keep_freed_memory()


if os.environ.get("TINYWGAN_FAST", "1").strip().lower() not in ("0", "false", "no", "off"):
    enable(memory=False)  # on by default; the memory setting waits for a run (see prepare_run)
