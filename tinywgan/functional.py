"""The activations and losses as functions, under PyTorch's names: ``tinywgan.F``, also reachable as
``tinywgan.nn.functional`` (``import tinywgan.nn.functional as F`` works, as ``torch.nn.functional`` does).

Activations: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``softplus``, ``logsigmoid`` (also
``log_sigmoid``), ``softmax`` and ``log_softmax`` (both need ``dim``). Losses, each with PyTorch's
``reduction='mean' | 'sum' | 'none'``: ``mse_loss``, ``binary_cross_entropy_with_logits``, ``nll_loss``,
``cross_entropy``; and the WGAN's own (:mod:`tinywgan.wgan`): ``critic_loss``, ``generator_loss``,
``gradient_penalty``, ``gan_discriminator_loss``, ``gan_generator_loss``.

Two differences from ``torch.nn.functional``, both deliberate:

* ``leaky_relu``'s default slope is 0.2, the DCGAN and WGAN-GP critics' (``nn.LeakyReLU`` and
  :func:`tinywgan.leaky_relu` have the same); PyTorch's is 0.01. Pass ``negative_slope`` when porting code.
* There is no ``F.linear``: PyTorch's takes a weight of shape (out, in) and computes ``x @ W.T + b``, while
  tinywgan stores W as (in, out) and computes ``x @ W + b`` (:func:`tinywgan.linear`). With a square W the
  two would silently differ, so the PyTorch spelling is absent rather than different.

Every function is built from the engine's ops, so gradients of any order work.
"""
from __future__ import annotations

from .engine import backend
from .engine import ops
from .engine.ops.methods import log_softmax, softmax
from .engine.tensor import Tensor, as_tensors, data_of
from .wgan.lipschitz import gradient_penalty
from .wgan.losses import critic_loss, gan_discriminator_loss, gan_generator_loss, generator_loss

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "logsigmoid", "log_sigmoid", "softmax",
           "log_softmax", "mse_loss", "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy",
           "critic_loss", "generator_loss", "gradient_penalty", "gan_discriminator_loss", "gan_generator_loss"]

# ---------------------------------------------------------------------------------------------------------
# Activations

relu = ops.relu
sigmoid = ops.sigmoid
tanh = ops.tanh
softplus = ops.softplus
logsigmoid = log_sigmoid = ops.log_sigmoid  # PyTorch's name, and tinywgan's


def leaky_relu(input, negative_slope: float = 0.2) -> Tensor:
    """x if x > 0 else negative_slope * x. The default slope is 0.2 (tinywgan's everywhere; PyTorch's 0.01)."""
    return ops.leaky_relu(input, negative_slope)


# ---------------------------------------------------------------------------------------------------------
# Losses

REDUCTIONS = ("mean", "sum", "none")


def _reduced(loss: Tensor, reduction: str, fn: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be one of {REDUCTIONS}; got {reduction!r}")


def _same_shape(x: Tensor, t: Tensor, fn: str) -> None:
    # PyTorch broadcasts here with a warning; a (n, 1) input against a (n,) target would silently compare
    # every pair (an (n, n) loss), so tinywgan asks for one shape.
    if x.shape != t.shape:
        raise ValueError(f"{fn}: input has shape {x.shape} and target has shape {t.shape}; they must be equal")


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """(input - target)**2, averaged (``reduction='mean'``), summed or kept elementwise."""
    x, t = as_tensors((input, target))
    _same_shape(x, t, "mse_loss")
    d = x - t
    return _reduced(d * d, reduction, "mse_loss")


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean") -> Tensor:
    """-[t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))] for logits z and targets t in [0, 1], written with the
    stable log-sigmoid (log(1 - sigmoid(z)) = log_sigmoid(-z)), so no sigmoid saturates to log 0."""
    z, t = as_tensors((input, target))
    _same_shape(z, t, "binary_cross_entropy_with_logits")
    loss = -(t * ops.log_sigmoid(z) + (1 - t) * ops.log_sigmoid(-z))
    return _reduced(loss, reduction, "binary_cross_entropy_with_logits")


def nll_loss(input, target, reduction: str = "mean") -> Tensor:
    """-input[i, target[i]]: the negative log-likelihood of class indices ``target`` (n,) under the
    log-probabilities ``input`` (n, classes), picked by a product with the one-hot matrix of the targets."""
    x, = as_tensors((input,))
    return _nll(x, target, reduction, "nll_loss")


def _nll(x: Tensor, target, reduction: str, fn: str) -> Tensor:
    onehot = _one_hot(x, target, fn)
    return _reduced(-ops.sum(x * onehot, axis=1), reduction, fn)


def cross_entropy(input, target, reduction: str = "mean") -> Tensor:
    """-log softmax(input)[i, target[i]] for logits (n, classes) and class indices ``target`` (n,): the
    classifier's loss, ``nll_loss(log_softmax(input, dim=1), target)``. A floating ``target`` of the logits'
    shape holds class probabilities instead (PyTorch's soft labels): -sum_k target[i, k] log softmax(input)[i, k].
    Its gradient is (softmax(input) - target) / n with ``reduction='mean'``."""
    x, = as_tensors((input,))
    if x.ndim != 2:
        raise ValueError(f"cross_entropy: input must be logits of shape (n, classes); got shape {x.shape}")
    logp = ops.log_softmax(x, 1)
    labels = data_of(target)
    if hasattr(labels, "dtype") and backend.dtype_kind(labels.dtype) == "f":
        t = target if isinstance(target, Tensor) else Tensor(labels)
        _same_shape(x, t, "cross_entropy")
        return _reduced(-ops.sum(t * logp, axis=1), reduction, "cross_entropy")
    return _nll(logp, target, reduction, "cross_entropy")


def _one_hot(x: Tensor, target, fn: str):
    """The (n, classes) one-hot array of the class indices ``target``, on ``x``'s device in ``x``'s dtype."""
    if x.ndim != 2:
        raise ValueError(f"{fn}: input must have shape (n, classes); got shape {x.shape}")
    labels = data_of(target)
    xp = x.xp
    if isinstance(labels, (list, tuple)):
        labels = xp.asarray(labels)
    backend.array_namespace(x.data, labels)  # one backend, or a TypeError naming both
    if backend.dtype_kind(labels.dtype) not in "iu" or tuple(labels.shape) != (x.shape[0],):
        raise TypeError(f"{fn}: target must be {x.shape[0]} integer class indices, shape ({x.shape[0]},); got "
                        f"dtype {backend.dtype_name(labels.dtype)}, shape {tuple(labels.shape)}")
    n_classes = x.shape[1]
    if labels.shape[0]:
        low, high = (int(v) for v in backend.to_numpy(xp.stack([xp.min(labels), xp.max(labels)])))
        if low < 0 or high >= n_classes:
            raise IndexError(f"{fn}: target holds class indices from {low} to {high}; there are {n_classes} "
                             f"classes, so they must be in [0, {n_classes})")
    classes = xp.reshape(xp.arange(n_classes, dtype=labels.dtype), (1, n_classes))
    return backend.astype(xp.reshape(labels, (-1, 1)) == classes, x.dtype)
