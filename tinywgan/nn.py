r"""Layers: what a WGAN critic and generator are made of.

A :class:`Module` owns :class:`Parameter` s (leaf tensors that require grad) and sub-modules, found by walking
its attributes in the order they were set, so ``named_parameters()`` gives stable dotted names
(``"layers.0.weight"``) for checkpoints. ``MLP([2, 512, 512, 512, 1])`` is the toy critic of Gulrajani et al.
(2017) in one line.

Convention: a :class:`Linear` layer computes $y = x W + b$ (``x @ W + b``) with ``W`` of shape ``(in_features,
out_features)``, the orientation in which the batch-major product needs no transpose (PyTorch stores the
transpose, (out_features, in_features), and computes $x W^\top + b$).

The activations and losses as functions are ``tinywgan.nn.functional`` (the module :mod:`tinywgan.functional`,
also ``tinywgan.F``; it is attached here by :mod:`tinywgan`, since its WGAN losses sit in a layer above this one).
"""
from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from typing import Iterator

from .engine import backend, checks
from .engine import ops as F
from .engine.tensor import Tensor, data_of

# ---------------------------------------------------------------------------------------------------------
# Parameter and Module


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, name: str | None = None):
        super().__init__(data, requires_grad=True, name=name)


class Module:
    """Base class of layers and networks: ``module(x)`` calls ``forward(x)``.

    ``training`` is True until :meth:`eval` (as in PyTorch). A class attribute, so a subclass need not call
    ``super().__init__()``; :meth:`train` and :meth:`eval` set it on each instance.
    """

    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    # -- what the module holds --------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def modules(self) -> Iterator["Module"]:
        """This module and every module inside it, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for this module and its sub-modules, in definition order. A parameter
        shared by two layers is listed once, under its first name (an optimizer must step it once)."""
        seen: set[int] = set()
        for name, p in self._all_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_parameters(self, prefix: str):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value._all_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def train(self, mode: bool = True) -> "Module":
        """Set ``training = mode`` on this module and every module inside it; returns self. Only
        :class:`tinywgan.wgan.SpectralNorm` reads it: its power iteration advances while training, so
        measuring a critic in ``eval()`` mode leaves the next training step as it would have been."""
        mode = checks.flag(mode, f"{type(self).__name__}.train: mode")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        """``train(False)``: evaluation mode for this module and every module inside it; returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients accumulated by ``backward()`` (set ``.grad`` to None)."""
        for p in self.parameters():
            p.grad = None

    def buffers(self) -> dict:
        """Named arrays that are state but not parameters (the power-iteration vector of spectral norm).
        Sub-classes with such state override ``_own_buffers``."""
        out = {}
        for name, value in vars(self).items():
            if isinstance(value, Module):
                out.update({f"{name}.{k}": v for k, v in value.buffers().items()})
        out.update(self._own_buffers())
        return out

    def _own_buffers(self) -> dict:
        return {}

    def _set_buffer(self, name: str, value) -> None:
        head, _, rest = name.partition(".")
        if rest:
            getattr(self, head)._set_buffer(rest, value)
        else:
            setattr(self, name, value)

    # -- saving and loading -----------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, object]":
        """Name -> array (a copy) for every parameter and buffer."""
        out = OrderedDict((name, backend.copy(p.data)) for name, p in self.named_parameters())
        out.update((name, backend.copy(b)) for name, b in self.buffers().items())
        return out

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays (or Tensors' values) into the parameters and buffers, each onto its current device.
        Everything is checked first (:meth:`check_state_dict`), so a state that does not fit changes nothing;
        ``strict=False`` loads the names both have and leaves the rest. A Linear weight is (in, out), the
        transpose of PyTorch's: a PyTorch state dict needs each weight transposed (a non-square one that is
        not is refused with both shapes; a square one cannot be told apart)."""
        if not hasattr(state, "keys") or not hasattr(state, "__getitem__"):
            raise TypeError(f"load_state_dict: state must be a dict of name -> array (module.state_dict()); got "
                            f"{type(state).__name__}")
        strict = checks.flag(strict, "load_state_dict: strict")
        own = dict(self.named_parameters())
        buffers = self.buffers()
        try:
            names = self.check_state_dict(state, strict)
        except (KeyError, ValueError, TypeError) as err:
            raise type(err)(f"load_state_dict: {err.args[0]}") from None
        for name in names:
            current = own[name].data if name in own else buffers[name]
            array = backend.copy(backend.to_device(data_of(state[name]), backend.device_of(current)))
            if name in own:
                own[name].data = array
            else:
                self._set_buffer(name, array)

    def check_state_dict(self, state: dict, strict: bool = True, source: str = "the state") -> list[str]:
        """Check ``state`` (name -> array) against this module, changing nothing; return the names to load.

        Names must match (a KeyError listing the missing and unexpected ones; ``strict=False`` allows
        both), and so must each entry's shape and dtype (a ValueError naming the entry and both values).
        ``source`` names where ``state`` came from in the messages ("the checkpoint").
        """
        own = dict(self.named_parameters())
        buffers = self.buffers()
        expected = set(own) | set(buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if strict and (missing or unexpected):
            raise KeyError(f"missing {sorted(missing)}, unexpected {sorted(unexpected)} (missing: in the model "
                           f"but not in {source}; unexpected: in {source} but not in the model)")
        names = [name for name in list(own) + list(buffers) if name in state]  # the module's order
        for name in names:
            current = own[name].data if name in own else buffers[name]
            new = state[name]
            if not hasattr(new, "shape") or not hasattr(new, "dtype"):
                raise TypeError(f"{name!r} in {source} must be an array or a Tensor; got {type(new).__name__}")
            if tuple(new.shape) != tuple(current.shape):
                # A PyTorch nn.Linear stores its weight (out, in); tinywgan's is (in, out), so x @ W + b.
                hint = "; a Linear's weight is stored (in_features, out_features), the transpose of PyTorch's " \
                       "(out_features, in_features): pass W.T" \
                    if len(new.shape) == 2 and tuple(new.shape) == tuple(current.shape)[::-1] else ""
                raise ValueError(f"{name!r} has shape {tuple(current.shape)} in the model and "
                                 f"{tuple(new.shape)} in {source}{hint}")
            if backend.dtype_name(new.dtype) != backend.dtype_name(current.dtype):
                raise ValueError(f"{name!r} has dtype {backend.dtype_name(current.dtype)} in the model and "
                                 f"{backend.dtype_name(new.dtype)} in {source}")
        return names

    def to(self, device: str) -> "Module":
        """Move every parameter and buffer to ``device`` ('cpu', 'gpu', 'strict'), in place; returns self."""
        for _, p in self.named_parameters():
            p.data = backend.to_device(p.data, device)
            p.grad = None
        for name, b in self.buffers().items():
            self._set_buffer(name, backend.to_device(b, device))
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            lines.append("  (" + name + "): " + repr(child).replace("\n", "\n  "))
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------------------------------------------------
# Layers


INITS = ("pytorch", "he_uniform", "glorot_uniform")


class Linear(Module):
    r"""$y = x W + b$ with $W$ of shape (in_features, out_features).

    ``init`` names how $W$ (and $b$) are drawn, with $\text{fan}_\text{in}$ = ``in_features`` and
    $\text{fan}_\text{out}$ = ``out_features``:

    * ``"pytorch"`` (default): PyTorch's ``nn.Linear`` default,
      $W, b \sim \mathcal{U}(-1/\sqrt{\text{fan}_\text{in}}, 1/\sqrt{\text{fan}_\text{in}})$;
    * ``"he_uniform"``: $W \sim \mathcal{U}(-\sqrt{6/\text{fan}_\text{in}}, \sqrt{6/\text{fan}_\text{in}})$
      (He et al. 2015), $b = 0$;
    * ``"glorot_uniform"``: $W \sim \mathcal{U}(-a, a)$ with
      $a = \sqrt{6/(\text{fan}_\text{in} + \text{fan}_\text{out})}$ (Glorot & Bengio 2010), $b = 0$.

    The last two are the initialisations Gulrajani et al.'s toy code uses (He for ReLU layers, Glorot for the
    rest). Weights are drawn from ``rng``, so a seed fixes them: a :class:`tinywgan.engine.backend.Generator`
    (its device is the layer's), a ``numpy.random.Generator``, an int seed, or None for the default generator
    (SPEC 7; :func:`tinywgan.engine.backend.as_generator`; ``tinywgan.manual_seed`` reseeds it). Sizes must be integers: ``Linear(2.5, 4)`` is refused.
    """

    def __init__(self, in_features: int, out_features: int, rng: backend.Generator | None = None,
                 init: str = "pytorch", bias: bool = True, dtype: str = "float32"):
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {INITS}; got {init!r}")
        bias = checks.flag(bias, "Linear: bias")
        in_features = checks.integer(in_features, "Linear: in_features", 1)  # 2.5 is refused, not truncated
        out_features = checks.integer(out_features, "Linear: out_features", 1)
        dtype = backend.float_dtype_name(dtype, "Linear: dtype")
        rng = backend.as_generator(rng, None, "Linear: rng")  # no rng: the default generator
        self.in_features, self.out_features, self.init = in_features, out_features, init
        bound = {"pytorch": 1 / math.sqrt(in_features),
                 "he_uniform": math.sqrt(6 / in_features),
                 "glorot_uniform": math.sqrt(6 / (in_features + out_features))}[init]
        self.weight = Parameter(rng.uniform((in_features, out_features), -bound, bound, dtype=dtype))
        if bias:
            b = (rng.uniform((out_features,), -bound, bound, dtype=dtype) if init == "pytorch"
                 else rng.xp.zeros((out_features,), dtype=getattr(rng.xp, dtype)))
            self.bias = Parameter(b)
        else:
            self.bias = None

    def forward(self, x):
        """$x W + b$ (:func:`tinywgan.engine.ops.linear`)."""
        self.check_input(x)
        return F.linear(x, self.weight, self.bias)

    def check_input(self, x) -> None:
        if not hasattr(x, "dtype") or not hasattr(x, "shape"):
            raise TypeError(f"Linear({self.in_features}, {self.out_features}): the input must be a Tensor or an "
                            f"array; got {type(x).__name__}")
        if x.dtype != self.weight.data.dtype:
            raise TypeError(f"Linear({self.in_features}, {self.out_features}): the input is "
                            f"{backend.dtype_name(x.dtype)} but the layer's weights are "
                            f"{backend.dtype_name(self.weight.dtype)}; convert the input (x.astype(...) on "
                            f"the array) or build the layer with dtype={backend.dtype_name(x.dtype)!r}")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input has shape "
                             f"{tuple(x.shape)}; its last axis must be {self.in_features}")

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, init={self.init!r}"


class ReLU(Module):
    slope = 0.0  # a LeakyReLU of slope 0 (what the speed layer reads when it fuses Linear + ReLU)

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.2):
        self.slope = checks.real(slope, "LeakyReLU: slope")

    def forward(self, x):
        return F.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Sequential(Module):
    """Modules applied one after another; they are named "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)
        self._length = len(modules)

    def __getitem__(self, i: int) -> Module:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not -self._length <= i < self._length:
            raise IndexError(f"Sequential: index {i!r} is out of range for {self._length} modules; it must be an "
                             f"int in [-{self._length}, {self._length})")
        return getattr(self, str(range(self._length)[i]))

    def __len__(self) -> int:
        return self._length

    def __iter__(self):
        return (getattr(self, str(i)) for i in range(self._length))

    def forward(self, x):
        for m in self:
            x = m(x)
        return x


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def _activation(spec) -> Module:
    if isinstance(spec, Module):
        return spec
    if isinstance(spec, str) and spec in ACTIVATIONS:
        return ACTIVATIONS[spec]()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or a Module; got {spec!r}")


class MLP(Sequential):
    """A multilayer perceptron: Linear layers of the given ``sizes`` with ``activation`` between them and
    ``output_activation`` (None: a linear output, as a critic needs) after the last: a :class:`Sequential`
    built from a list of sizes.

    >>> critic = MLP([2, 512, 512, 512, 1])          # Gulrajani et al. 2017, toy critic
    >>> generator = MLP([2, 512, 512, 512, 2])       # and its generator
    """

    def __init__(self, sizes, activation="relu", output_activation=None,
                 rng: backend.Generator | None = None, init: str = "pytorch", dtype: str = "float32"):
        sizes = [checks.integer(s, f"MLP: sizes[{k}]", 1) for k, s in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size; got {sizes}")
        rng = backend.as_generator(rng, None, "MLP: rng")  # no rng: the default generator
        layers: list[Module] = []
        for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(i, o, rng=rng, init=init, dtype=dtype))
            last = k == len(sizes) - 2
            if not last:
                layers.append(_activation(activation))
            elif output_activation is not None:
                layers.append(_activation(output_activation))
        super().__init__(*layers)
        self.sizes = sizes
