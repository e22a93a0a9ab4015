"""The graph walk: ``loss.backward()`` and ``grad(outputs, inputs)``.

The walk visits functions in decreasing *generation* (a heap; among equals, the most recently made first),
so a function runs only after every consumer of its output has contributed to that output's gradient; the
order is fixed by the graph alone, so gradients that meet are always added up in the same order. It never
recurses, so deep graphs cannot overflow
the stack. Broadcasting is undone in one place: the walk sums each input's gradient back to that input's
shape (:func:`tinywgan.engine.ops.sum_to`), so no op can forget it. With ``create_graph=True`` the walk
records the backward pass (grad mode on), so the gradients it returns can be differentiated again.

Two entry points, named as PyTorch users expect:

* ``loss.backward()`` accumulates into ``.grad`` of the leaves that require grad;
* ``grad(outputs, inputs, ...)`` returns the gradients and touches no ``.grad``.

The one seam of the speed layer: :data:`NO_GRAPH_BACKWARD` maps a Function type to a backward that gives the
same numbers without recording anything. The walk calls it instead of ``f.backward`` when it records no
graph; :mod:`tinywgan.fast` fills the table, and with the table empty this file is the whole story.
"""
from __future__ import annotations

import heapq
from typing import Callable, Iterable, Sequence

from . import checks
from .ops import sum_to
from .tensor import Tensor, set_grad_enabled

# Function type -> backward(f, gy) computing f's input gradients without recording a graph (tinywgan.fast).
NO_GRAPH_BACKWARD: dict[type, Callable] = {}


def backward(tensor: Tensor, grad=None, create_graph: bool = False) -> None:
    r"""Accumulate $\partial\,\text{tensor} / \partial\,\text{leaf}$ into ``leaf.grad`` for every leaf that requires
    grad.

    ``grad`` is the gradient flowing into ``tensor`` ($\partial\,\text{loss} / \partial\,\text{tensor}$); it may be
    left out only when ``tensor`` has a single element. With ``create_graph=True`` the gradients carry a graph
    of their own.
    """
    create_graph = checks.flag(create_graph, "backward: create_graph")
    _backprop([tensor], [grad], inputs=None, create_graph=create_graph, allow_unused=True)


Tensor.backward = backward  # installed here: the walk is built on the ops, which are built on Tensor


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False, allow_unused: bool = False):
    r"""The gradients of ``outputs`` with respect to ``inputs``; no ``.grad`` is touched.

    Returns a tuple with one Tensor per input: $\sum_k \partial \langle y_k, g_k \rangle / \partial x_i$, with
    $y_k$ = ``outputs[k]``, $g_k$ = ``grad_outputs[k]`` and $x_i$ = ``inputs[i]``.
    ``grad_outputs`` may be left out for single-element outputs (it is then 1). With ``create_graph=True``
    the returned gradients are part of a graph and can be differentiated again (double backprop: the
    gradient penalty of WGAN-GP). An input that does not reach any output is an error, unless
    ``allow_unused=True``, when its gradient is ``None``.
    """
    # a single Tensor, or an iterable of them; anything else is checked (and named) as one output / input
    outputs = [outputs] if isinstance(outputs, Tensor) or not hasattr(outputs, "__iter__") else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) or not hasattr(inputs, "__iter__") else list(inputs)
    if not inputs:
        raise ValueError("grad: inputs is empty; pass the tensor (or list of tensors) to differentiate with respect to")
    create_graph = checks.flag(create_graph, "grad: create_graph")
    allow_unused = checks.flag(allow_unused, "grad: allow_unused")
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    checks.grad_inputs(inputs, Tensor)
    return tuple(_backprop(outputs, list(grad_outputs), inputs, create_graph, allow_unused))


def _backprop(outputs: Sequence[Tensor], grad_outputs: list, inputs, create_graph: bool, allow_unused: bool):
    """Walk the graph from ``outputs`` back to ``inputs`` (or to every leaf when ``inputs`` is None)."""
    checks.same_length(grad_outputs, outputs)
    grads: dict[int, Tensor] = {}  # id(tensor) -> gradient accumulated so far
    for k, (y, gy) in enumerate(zip(outputs, grad_outputs)):
        gy = _seed_gradient(y, gy, k)
        grads[id(y)] = grads[id(y)] + gy if id(y) in grads else gy

    # Which tensors need a gradient: for backward() every one that requires grad; for grad(y, x) only those
    # on a path from x to y (the set `reaches`), so no work is spent on gradients nobody asked for.
    reaches = None if inputs is None else _reaching(outputs, inputs)
    targets = set() if inputs is None else {id(x) for x in inputs}
    leaves: dict[int, Tensor] = {}
    heap, pushed = [], set()

    def visit(t: Tensor):
        """Remember a leaf; schedule the function that made ``t`` (once), if one of its inputs needs a gradient
        (for grad(y, x): never the one that made x itself, unless x is also on a path from another input)."""
        if t.creator is None or id(t) in targets:
            leaves[id(t)] = t
        f = t.creator
        if f is not None and id(f) not in pushed and (
                t.requires_grad if reaches is None else any(id(x) in reaches for x in f.inputs)):
            pushed.add(id(f))
            heapq.heappush(heap, (-f.generation, -f.seq, f, t))  # then the most recently made first

    for y in outputs:
        visit(y)
    with set_grad_enabled(create_graph):
        while heap:
            _, _, f, y = heapq.heappop(heap)
            gy = grads[id(y)] if id(y) in targets else grads.pop(id(y))
            f.needs_input_grad = tuple(x.requires_grad if reaches is None else id(x) in reaches for x in f.inputs)
            no_graph = None if create_graph else NO_GRAPH_BACKWARD.get(type(f))
            gxs = f.backward(gy) if no_graph is None else no_graph(f, gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx, needed in zip(f.inputs, gxs, f.needs_input_grad):
                if not needed or gx is None:
                    continue
                if gx.data.shape != x.data.shape:
                    gx = sum_to(gx, x.shape)  # undo broadcasting, once for every op
                grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx  # never in place: gx may be shared
                visit(x)

    if inputs is None:  # backward(): accumulate into .grad of the leaves
        for key, x in leaves.items():
            if x.creator is None and x.requires_grad:
                g = grads[key] if create_graph else grads[key].detach()
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
    checks.output(y, gy, k, Tensor)
    if gy is None:
        return Tensor(y.xp.ones(y.data.shape, dtype=y.data.dtype))
    gy = gy if isinstance(gy, Tensor) else Tensor(gy)
    checks.seed(y, gy, k)
    return gy


def _reaching(outputs: Iterable[Tensor], inputs) -> set:
    """ids of the tensors in the graph above ``outputs`` that lie on a path from one of ``inputs``."""
    tensors, stack, seen = {}, list(outputs), set()
    while stack:
        t = stack.pop()
        if id(t) in tensors:
            continue
        tensors[id(t)] = t
        f = t.creator
        if f is not None and id(f) not in seen:
            seen.add(id(f))
            stack.extend(f.inputs)
    reaches = {id(x) for x in inputs}
    # In increasing generation order a tensor's creator's inputs are decided before the tensor itself.
    for t in sorted(tensors.values(), key=lambda t: t.generation):
        if t.creator is not None and id(t) not in reaches:
            if any(id(x) in reaches for x in t.creator.inputs):
                reaches.add(id(t))
    return reaches

