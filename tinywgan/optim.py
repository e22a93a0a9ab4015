r"""Optimizers: how the critic's weights $w$ and the generator's weights $\theta$ follow their gradients.

The WGAN papers choose their optimizer with care, and the choice is part of the story:

* Arjovsky et al. 2017 (Algorithm 1) train the weight-clipped critic with RMSProp, lr = 5e-5: with a
  momentum-based method (Adam) they saw training become unstable (their Sec. 3).
* Gulrajani et al. 2017 (Algorithm 1) train WGAN-GP with Adam, lr = 1e-4, beta1 = 0, beta2 = 0.9.

The update rules and defaults are PyTorch's, as its documentation of ``torch.optim.SGD``, ``RMSprop`` and
``Adam`` writes them, so a run can be checked against PyTorch step by step (tests/test_optim.py does).

How the code works:

* A step updates raw arrays in place (``p.data``, from ``p.grad.data``): no graph is recorded, and only
  array-API operations on the parameter's own namespace are used, so the same lines run on NumPy, CuPy and
  array_api_strict. Hyperparameters are Python floats, which never promote float32 arrays to float64.
* ``optimizer.state[i]`` holds the state of parameter ``i`` (its index in the list the optimizer was given):
  ``"step"``, the number of updates it has received, and its arrays (``"exp_avg"``...). It is created at
  the parameter's first update.
* A parameter whose ``.grad`` is ``None`` (it took no part in the loss) is skipped: its values and its state,
  step count included, are left as they are. A zero gradient would not be the same thing: momentum and
  weight decay would still move it, and Adam's bias correction would count a step it never took.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

from .engine import backend, checks
from .engine import Tensor


class Optimizer:
    """The base class: a list of parameters, their per-parameter state, and the hyperparameters.

    A subclass names its hyperparameters in ``hyperparameter_names``, checks and stores them in
    ``_configure(**hyperparameters)``, lists the arrays of a parameter's state in ``_state_arrays()`` and
    updates one parameter in ``_update(p, g, state)``.
    """

    hyperparameter_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], **hyperparameters):
        self.params = _parameter_list(params, type(self).__name__)
        self._configure(**hyperparameters)
        self.state: dict[int, dict] = {}

    def _configure(self, **hyperparameters) -> None:
        raise NotImplementedError

    def _state_arrays(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _update(self, p: Tensor, g, state: dict) -> None:
        raise NotImplementedError

    @property
    def hyperparameters(self) -> dict:
        """Name -> value of the hyperparameters (Python numbers, tuples as lists: JSON-friendly)."""
        values = {name: getattr(self, name) for name in self.hyperparameter_names}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items()}

    def step(self) -> None:
        """Update every parameter that has a gradient; leave those whose ``.grad`` is None untouched."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if g.dtype != p.data.dtype or g.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}.step: parameter {i} is {p.data.dtype} of shape "
                                 f"{tuple(p.data.shape)} but its gradient is {g.dtype} of shape "
                                 f"{tuple(g.shape)}")
            state = self.state.get(i, {"step": 0})
            state["step"] += 1
            self._update(p, g, state)
            self.state[i] = state  # a first update that fails leaves no half-made state behind

    def zero_grad(self) -> None:
        """Forget the gradients (``p.grad = None``), so the next ``backward()`` does not add to them."""
        for p in self.params:
            p.grad = None

    # -- saving and loading -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue exactly where this optimizer stands::

            {"optimizer": "Adam", "num_parameters": 6,
             "hyperparameters": {"lr": 0.001, "betas": [0.9, 0.999], ...},
             "state": {0: {"step": 5, "exp_avg": <array>, "exp_avg_sq": <array>}, ...}}

        The arrays are copies on the parameters' device; everything else is JSON-friendly. Parameters are
        identified by their index in the list the optimizer was given (as in PyTorch), and only those that
        have been updated at least once have an entry in ``"state"``.
        """
        return {
            "optimizer": type(self).__name__,
            "num_parameters": len(self.params),
            "hyperparameters": self.hyperparameters,
            "state": {i: {k: (backend.copy(v) if k != "step" else v) for k, v in s.items()}
                      for i, s in sorted(self.state.items())},
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from ``state_dict`` (from :meth:`state_dict`): its hyperparameters replace this
        optimizer's (as in PyTorch), and its arrays are copied to each parameter's device.

        Everything is checked first (:meth:`check_state_dict`), so a state that does not fit leaves this
        optimizer as it was.
        """
        hyperparameters = self.check_state_dict(state_dict)
        state = {}
        for key, entry in state_dict.get("state", {}).items():
            i = int(key)
            device = backend.device_of(self.params[i].data)
            state[i] = {k: v if k == "step" else backend.copy(backend.to_device(v, device))
                        for k, v in entry.items()}
        self._configure(**hyperparameters)
        self.state = state

    def check_state_dict(self, state_dict: dict) -> dict:
        """Raise the ``ValueError`` that :meth:`load_state_dict` would raise, naming the entry and both
        values (``state[3]['exp_avg'] has shape (8,); parameter 3 has shape (9,)``); change nothing.
        Returns the state's hyperparameters."""
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if state_dict.get("optimizer") != name:
            raise ValueError(f"{where}: the state is of a {state_dict.get('optimizer')!r} optimizer, "
                             f"not {name!r}")
        if state_dict.get("num_parameters") != len(self.params):
            raise ValueError(f"{where}: the state is for {state_dict.get('num_parameters')} parameters; "
                             f"this optimizer has {len(self.params)}")
        hyperparameters = dict(state_dict.get("hyperparameters", {}))
        if set(hyperparameters) != set(self.hyperparameter_names):
            raise ValueError(f"{where}: hyperparameters {sorted(hyperparameters)} in the state; "
                             f"{name} has {sorted(self.hyperparameter_names)}")
        # Validate the hyperparameters on a blank object of this class, which also says which arrays a
        # parameter's state holds under them (RMSprop's depend on momentum and centered).
        scratch = object.__new__(type(self))
        scratch._configure(**hyperparameters)
        expected = set(scratch._state_arrays()) | {"step"}
        for key, entry in state_dict.get("state", {}).items():
            i = int(key)
            if not 0 <= i < len(self.params):
                raise ValueError(f"{where}: state[{key!r}] names no parameter (there are {len(self.params)})")
            if set(entry) != expected:
                raise ValueError(f"{where}: state[{i}] has entries {sorted(entry)}; {name} with these "
                                 f"hyperparameters keeps {sorted(expected)}")
            step = entry["step"]
            if not isinstance(step, int) or isinstance(step, bool) or step < 1:
                raise ValueError(f"{where}: state[{i}]['step'] must be an integer >= 1; got {step!r}")
            p = self.params[i].data
            for k in sorted(expected - {"step"}):
                a = entry[k]
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"{where}: state[{i}][{k!r}] has shape {tuple(a.shape)}; parameter {i} "
                                     f"has shape {tuple(p.shape)}")
                if backend.dtype_name(a.dtype) != backend.dtype_name(p.dtype):
                    raise ValueError(f"{where}: state[{i}][{k!r}] has dtype {backend.dtype_name(a.dtype)}; "
                                     f"parameter {i} has dtype {backend.dtype_name(p.dtype)}")
        return hyperparameters

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


# ---------------------------------------------------------------------------------------------------------
# The optimizers


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum and weight decay (``torch.optim.SGD``).

    With $g_t = \text{grad} + \text{weight_decay} \cdot p$ at update $t$ of a parameter $p$:

    $$\text{momentum} = 0: \quad p \leftarrow p - \text{lr} \cdot g_t$$
    $$\text{momentum} > 0: \quad b_1 = g_t,
      \quad b_t = \text{momentum} \cdot b_{t-1} + (1 - \text{dampening}) \cdot g_t$$
    $$p \leftarrow p - \text{lr} \cdot b_t \qquad (\text{nesterov=False})$$
    $$p \leftarrow p - \text{lr} \cdot (g_t + \text{momentum} \cdot b_t) \qquad (\text{nesterov=True})$$

    Defaults: lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0, nesterov = False. The state of a
    parameter holds ``"momentum_buffer"`` ($b_t$) when momentum > 0.
    """

    hyperparameter_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov)

    def _configure(self, lr, momentum, dampening, weight_decay, nesterov) -> None:
        self.lr = _at_least("SGD", "lr", lr, 0.0)
        self.momentum = _at_least("SGD", "momentum", momentum, 0.0)
        self.dampening = _at_least("SGD", "dampening", dampening, 0.0)
        self.weight_decay = _at_least("SGD", "weight_decay", weight_decay, 0.0)
        self.nesterov = _flag("SGD", "nesterov", nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0; got momentum "
                             f"{self.momentum}, dampening {self.dampening}")

    def _state_arrays(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum else ()

    def _update(self, p, g, state) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            b = state.get("momentum_buffer")
            if b is None:
                b = state["momentum_buffer"] = backend.copy(g)
            else:
                b *= self.momentum
                b += g if self.dampening == 0 else (1 - self.dampening) * g
            g = g + self.momentum * b if self.nesterov else b
        p.data -= self.lr * g


class RMSprop(Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012, lecture 6.5), as ``torch.optim.RMSprop`` computes it.

    With $g_t = \text{grad} + \text{weight_decay} \cdot p$, starting from $v_0 = 0$ (and $\bar g_0 = 0$, $b_0 = 0$):

    $$v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2$$
    $$\text{centered:} \quad \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t, \quad \tilde v_t = v_t - \bar g_t^2$$
    $$\text{not centered:} \quad \tilde v_t = v_t$$
    $$\text{momentum} = 0: \quad p \leftarrow p - \text{lr} \cdot g_t / (\sqrt{\tilde v_t} + \epsilon)$$
    $$\text{momentum} > 0: \quad b_t = \text{momentum} \cdot b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon),
      \quad p \leftarrow p - \text{lr} \cdot b_t$$

    eps is added *outside* the square root. Defaults (PyTorch's): lr = 1e-2, alpha = 0.99, eps = 1e-8,
    weight_decay = 0, momentum = 0, centered = False. Arjovsky et al. 2017 use lr = 5e-5. The state of a
    parameter holds ``"square_avg"`` ($v_t$), plus ``"grad_avg"`` ($\bar g_t$) when centered and
    ``"momentum_buffer"`` ($b_t$) when momentum > 0.
    """

    hyperparameter_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered)

    def _configure(self, lr, alpha, eps, weight_decay, momentum, centered) -> None:
        self.lr = _at_least("RMSprop", "lr", lr, 0.0)
        self.alpha = _at_least("RMSprop", "alpha", alpha, 0.0)
        if self.alpha > 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1]; got {alpha}")
        self.eps = _at_least("RMSprop", "eps", eps, 0.0)
        self.weight_decay = _at_least("RMSprop", "weight_decay", weight_decay, 0.0)
        self.momentum = _at_least("RMSprop", "momentum", momentum, 0.0)
        self.centered = _flag("RMSprop", "centered", centered)

    def _state_arrays(self) -> tuple[str, ...]:
        return (("square_avg",) + (("grad_avg",) if self.centered else ())
                + (("momentum_buffer",) if self.momentum else ()))

    def _update(self, p, g, state) -> None:
        xp = backend.array_namespace(p.data)
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if "square_avg" not in state:
            for k in self._state_arrays():
                state[k] = xp.zeros_like(p.data)
        v = state["square_avg"]
        g2 = g * g
        g2 *= 1 - self.alpha
        v *= self.alpha
        v += g2
        if self.centered:
            gbar = state["grad_avg"]
            gbar *= self.alpha
            gbar += (1 - self.alpha) * g
            denom = xp.sqrt(v - gbar * gbar)
        else:
            denom = xp.sqrt(v)
        denom += self.eps
        if self.momentum:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / denom
            p.data -= self.lr * b
        elif self.lr:  # lr * g / d computed as g / (d / lr): one pass over the array fewer
            denom *= 1 / self.lr
            p.data -= g / denom


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, Algorithm 1), as ``torch.optim.Adam`` computes it.

    With $g_t = \text{grad} + \text{weight_decay} \cdot p$ (L2 penalty, not AdamW's decoupled decay),
    $m_0 = v_0 = 0$, and $t$ the number of updates this parameter has received:

    $$m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t$$
    $$v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2$$
    $$\hat m_t = m_t / (1 - \beta_1^t), \quad \hat v_t = v_t / (1 - \beta_2^t)$$
    $$p \leftarrow p - \text{lr} \cdot \hat m_t / (\sqrt{\hat v_t} + \epsilon)$$

    eps is added *outside* the square root, to $\sqrt{\hat v_t}$. Defaults (PyTorch's and the paper's):
    lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0. Gulrajani et al. 2017 use lr = 1e-4,
    betas = (0, 0.9). The state of a parameter holds ``"exp_avg"`` ($m_t$) and ``"exp_avg_sq"`` ($v_t$).
    """

    hyperparameter_names = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _configure(self, lr, betas, eps, weight_decay) -> None:
        self.lr = _at_least("Adam", "lr", lr, 0.0)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or \
                not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas):
            raise TypeError(f"Adam: betas must be two numbers in [0, 1) (beta1, beta2); got "
                            f"{type(betas).__name__} {betas!r}")
        if len(betas) != 2 or not all(0 <= float(b) < 1 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1); got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _at_least("Adam", "eps", eps, 0.0)
        self.weight_decay = _at_least("Adam", "weight_decay", weight_decay, 0.0)

    def _state_arrays(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _update(self, p, g, state) -> None:
        xp = backend.array_namespace(p.data)
        beta1, beta2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = xp.zeros_like(p.data), xp.zeros_like(p.data)
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * g
        g2 = g * g
        g2 *= 1 - beta2
        v *= beta2
        v += g2
        # $$\text{lr} \cdot \hat m / (\sqrt{\hat v} + \epsilon)
        #   = m / ((\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon) (1 - \beta_1^t) / \text{lr}):$$
        # the bias corrections and lr become Python scalars, applied to the denominator in place.
        denom = xp.sqrt(v)
        denom *= 1 / math.sqrt(1 - beta2 ** t)
        denom += self.eps
        if self.lr:  # lr = 0 still accumulates m and v, as in PyTorch
            denom *= (1 - beta1 ** t) / self.lr
            p.data -= m / denom


# ---------------------------------------------------------------------------------------------------------
# Learning-rate schedules and weight averaging (PyTorch's names: lr_scheduler.LinearLR, swa_utils)


class LinearLR:
    r"""Scale an optimizer's learning rate linearly over ``total_iters`` calls of :meth:`step`
    (``torch.optim.lr_scheduler.LinearLR``, same arguments and defaults): after ``t`` calls

    $$\text{lr}_t = \text{base_lr} \cdot \left(\text{start_factor}
      + (\text{end_factor} - \text{start_factor}) \cdot \frac{\min(t, \text{total_iters})}{\text{total_iters}}\right)$$

    computed from ``t`` in closed form (no running product), so a resumed run gets the same lr to the bit.
    ``LinearLR(opt, 1.0, 0.0, T)`` stepped once per generator iteration is the decay of Gulrajani et al.'s
    released CIFAR-10 code: $\text{lr} \cdot (1 - t/T)$ at iteration $t$, reaching 0 after the last one.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LinearLR: optimizer must be a tinywgan Optimizer; got {type(optimizer).__name__}")
        if not 0 < float(start_factor) <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1]; got {start_factor!r}")
        if not 0 <= float(end_factor) <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1]; got {end_factor!r}")
        if not isinstance(total_iters, int) or isinstance(total_iters, bool) or total_iters < 1:
            raise ValueError(f"LinearLR: total_iters must be an integer >= 1; got {total_iters!r}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = total_iters
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` calls of :meth:`step`."""
        fraction = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict:
        return {"scheduler": "LinearLR", "base_lr": self.base_lr, "start_factor": self.start_factor,
                "end_factor": self.end_factor, "total_iters": self.total_iters, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        if state.get("scheduler") != "LinearLR":
            raise ValueError(f"LinearLR.load_state_dict: the state is of a {state.get('scheduler')!r} scheduler")
        if state.get("total_iters") != self.total_iters:
            raise ValueError(f"LinearLR.load_state_dict: the state has total_iters {state.get('total_iters')}; "
                             f"this scheduler has {self.total_iters}")
        self.base_lr = float(state["base_lr"])
        self.start_factor, self.end_factor = float(state["start_factor"]), float(state["end_factor"])
        self.last_epoch = int(state["last_epoch"])
        self.optimizer.lr = self.lr_at(self.last_epoch)


def update_ema(average: Iterable[Tensor], params: Iterable[Tensor], decay: float) -> None:
    r"""One step of an exponential moving average of weights, in place on each array's device:

    $$\text{average} \leftarrow \text{decay} \cdot \text{average} + (1 - \text{decay}) \cdot \text{params}$$

    (``torch.optim.swa_utils.get_ema_multi_avg_fn``). Averaging a GAN generator's weights over the last
    stretch of training steadies a generator that circles its target instead of settling (Yazici et al.
    2019, "The Unusual Effectiveness of Averaging in GAN Training")."""
    decay = checks.real(decay, "update_ema: decay", 0, 1, high_open=True)
    average, params = _tensor_list(average, "update_ema: average"), _tensor_list(params, "update_ema: params")
    if len(average) != len(params):
        raise ValueError(f"update_ema: average has {len(average)} tensors but params has {len(params)}; pass "
                         f"the parameters of two copies of one network")
    for i, (a, p) in enumerate(zip(average, params)):
        if a.shape != p.shape or a.data.dtype != p.data.dtype:
            raise ValueError(f"update_ema: average[{i}] is {backend.dtype_name(a.data.dtype)} of shape {a.shape} "
                             f"but params[{i}] is {backend.dtype_name(p.data.dtype)} of shape {p.shape}")
    for a, p in zip(average, params, strict=True):
        a.data *= decay
        a.data += (1 - decay) * p.data


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _tensor_list(tensors, name: str) -> list:
    """An iterable of Tensors (module.parameters()) as a list; anything else a TypeError naming it."""
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{name} must be a list of Tensors (module.parameters()); got {type(tensors).__name__}")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}[{i}] must be a Tensor; got {type(t).__name__}")
    return tensors


def _parameter_list(params, owner: str) -> list:
    if isinstance(params, Tensor):
        raise TypeError(f"{owner}: params must be an iterable of Parameters (e.g. module.parameters()); "
                        f"got a single Tensor")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{owner}: params must be an iterable of Parameters (e.g. module.parameters()); "
                        f"got {type(params).__name__}") from None
    if not params:
        raise ValueError(f"{owner}: got an empty parameter list")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: params[{i}] is a {type(p).__name__}, not a Parameter; "
                            f"pass module.parameters()")
        if not p.requires_grad or not p.is_leaf:
            raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) must be a leaf that requires grad")
        if id(p) in seen:
            raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) appears twice; it would be updated "
                             f"twice")
        seen.add(id(p))
    return params


def _flag(owner: str, name: str, value) -> bool:
    """True or False (``centered='no'`` would be true as a string: refused)."""
    if not isinstance(value, (bool, int)) or value not in (0, 1):
        raise TypeError(f"{owner}: {name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def _at_least(owner: str, name: str, value, low: float) -> float:
    """``value``, a finite number >= ``low``, as a Python float (never a NumPy float64 scalar, which would
    promote float32 arrays). A string (``lr='1e-3'`` from a config file) or a bool is a ``TypeError``; NaN,
    an infinity or a value below ``low`` a ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number >= {low}; got {type(value).__name__} {value!r}")
    value = float(value)
    if not value >= low:  # also refuses NaN
        raise ValueError(f"{owner}: {name} must be >= {low}; got {value}")
    if value == math.inf:
        raise ValueError(f"{owner}: {name} must be a finite number >= {low}; got {value}")
    return value

