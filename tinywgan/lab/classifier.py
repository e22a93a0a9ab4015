"""A small digit classifier, trained with tinywgan itself, that grades a generator's samples.

Pixels cannot say whether a generated image *is* a digit, nor whether the generator draws all ten of them
or has collapsed onto a few (mode collapse, Goodfellow 2016, §5.1.1; Arjovsky et al. 2017 report that WGAN
training shows none in their experiments). A classifier trained on the real digits can: fed a batch of
samples it gives

* the class histogram: how many samples it calls 0, 1, ..., 9 -- all ten present, or a few?
* the entropy of that histogram, H = -sum_k p_k log p_k in nats, from 0 (one class) to log 10 = 2.303
  (all ten equally often); a generator that covers the modes evenly sits near log 10;
* its mean confidence, E[max_k softmax(logits)_k]: near 1 when the samples look like clear digits, near
  1/10 when they look like nothing it knows.

The two statistics are the two halves of the Inception Score (Salimans et al. 2016, §4): a confident
p(y|x) per sample and a spread-out marginal p(y). Here they are reported apart, with an MLP trained on the
same data in place of the Inception network.

The classifier is an MLP (784-256-256-10, ReLU) trained by minimising the cross-entropy

    L = -(1/n) sum_i log softmax(f(x_i))_{y_i},   log softmax(z)_k = z_k - log sum_j exp(z_j),

with Adam. ``log_softmax`` is built from the engine's differentiable ops (exp, log, sum), so its gradient
and second derivative come from the ops' own backward passes and are checked by gradcheck in the tests.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ..engine import backend
from ..engine import ops as F
from ..engine import Tensor, no_grad
from ..engine.tensor import data_of
from ..nn import MLP
from ..optim import Adam

N_CLASSES = 10


# ---------------------------------------------------------------------------------------------------------
# The loss


def log_softmax(logits, axis: int = -1) -> Tensor:
    """log softmax(z)_k = z_k - m - log sum_j exp(z_j - m), with m = max_j z_j.

    Subtracting m changes nothing mathematically (numerator and denominator of softmax both gain a factor
    exp(-m)) but keeps every exp argument <= 0, so no exp overflows and the largest term of the sum is 1.
    Because the value does not depend on m, neither does its derivative, so m enters as a constant: the
    derivative d/dz_k = delta_jk - softmax(z)_k comes from the exp, log and sum ops alone.
    """
    z = logits if isinstance(logits, Tensor) else Tensor(logits)
    m = Tensor(z.xp.max(z.data, axis=axis, keepdims=True))  # a constant: no graph through the max
    shifted = z - m
    return shifted - F.log(F.sum(F.exp(shifted), axis=axis, keepdims=True))


def one_hot(labels, n_classes: int = N_CLASSES, dtype=None):
    """An (n, n_classes) array with 1 at column ``labels[i]`` of row i and 0 elsewhere (``labels`` an integer
    array of any backend; the result lives on its device, float32 unless ``dtype`` says otherwise)."""
    labels = data_of(labels)
    xp = backend.array_namespace(labels)
    classes = xp.reshape(xp.arange(n_classes, dtype=labels.dtype), (1, n_classes))
    hits = xp.reshape(labels, (-1, 1)) == classes
    return backend.astype(hits, xp.float32 if dtype is None else dtype)


def cross_entropy(logits, labels) -> Tensor:
    """L = -(1/n) sum_i log softmax(logits_i)_{y_i}, the mean negative log-likelihood of the labels.

    ``logits``: a Tensor (n, k); ``labels``: integers in 0..k-1 (an array of the same backend). The label's
    log-probability is picked by a product with the one-hot matrix of the labels, so the gradient is
    dL/dz_ik = (softmax(z_i)_k - [k == y_i]) / n.
    """
    z = logits if isinstance(logits, Tensor) else Tensor(logits)
    if z.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (n, classes); got {z.shape}")
    labels = data_of(labels)
    if tuple(labels.shape) != (z.shape[0],):
        raise ValueError(f"cross_entropy: {z.shape[0]} rows of logits need {z.shape[0]} labels; "
                         f"got labels of shape {tuple(labels.shape)}")
    target = one_hot(labels, z.shape[1], dtype=z.dtype)
    return -F.mean(F.sum(log_softmax(z, axis=1) * target, axis=1))


# ---------------------------------------------------------------------------------------------------------
# The classifier and its training


def digit_classifier(rng: backend.Generator, hidden=(256, 256), n_pixels: int = 28 * 28) -> MLP:
    """An MLP n_pixels - hidden... - 10 with ReLU between layers and linear logits at the end."""
    return MLP([n_pixels, *hidden, N_CLASSES], activation="relu", rng=rng)


def train_classifier(images, labels, *, steps: int = 2000, batch_size: int = 128, lr: float = 1e-3,
                     hidden=(256, 256), seed: int = 0, progress: bool = False) -> MLP:
    """A :func:`digit_classifier` trained with Adam (Kingma & Ba 2015) on ``(images, labels)`` for ``steps``
    minibatches of the cross-entropy.

    ``images``: (n, 784) floats in [-1, 1] (the layout of :func:`tinywgan.data.mnist.load_digits`), ``labels``:
    (n,) integers 0..9, both on one device; the classifier is built and trained there. Minibatches walk
    through the data in epochs, each in a fresh random order. One :class:`~tinywgan.engine.backend.Generator`
    seeded with ``seed`` draws the weights and the orders, so a seed fixes the result.
    """
    if tuple(images.shape[:1]) != tuple(labels.shape) or images.ndim != 2:
        raise ValueError(f"train_classifier: images must be (n, pixels) with one label each; got images "
                         f"{tuple(images.shape)} and labels {tuple(labels.shape)}")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"train_classifier: steps and batch_size must be >= 1; got {steps}, {batch_size}")
    xp = backend.array_namespace(images, labels)
    rng = backend.Generator(seed, backend.device_of(images))
    model = digit_classifier(rng, hidden, n_pixels=images.shape[1])
    opt = Adam(model.parameters(), lr=lr)
    n = images.shape[0]
    batch_size = min(batch_size, n)
    order, at = None, n
    bar = None
    if progress:
        from tqdm import tqdm  # text bars: the same in a terminal and a notebook (no widgets needed)
        bar = tqdm(total=steps, desc="classifier", unit="step", mininterval=0.5)
    for _ in range(steps):
        if at + batch_size > n:  # a new epoch: a fresh order; the last partial batch is dropped
            order, at = rng.permutation(n), 0
        index = order[at:at + batch_size]
        at += batch_size
        x, y = xp.take(images, index, axis=0), xp.take(labels, index, axis=0)
        loss = cross_entropy(model(Tensor(x)), y)
        model.zero_grad()
        loss.backward()
        opt.step()
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        bar.close()
    return model


def predict_proba(classifier: Callable, images, batch_size: int = 1000):
    """softmax(classifier(images)) row by row, as an (n, 10) array on the images' device (no graph)."""
    xp = backend.array_namespace(images)
    parts = []
    with no_grad():
        n = images.shape[0]
        for lo in range(0, n, batch_size):
            # min(): the array API standard leaves a slice that runs past the end unspecified
            logits = classifier(Tensor(images[lo:min(lo + batch_size, n), ...]))
            parts.append(F.exp(log_softmax(logits, axis=1)).data)
    if not parts:
        return xp.zeros((0, N_CLASSES), dtype=xp.float32)
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)  # backend fills concat in for CuPy 13


def accuracy(classifier: Callable, images, labels) -> float:
    """The share of ``images`` whose most probable class (argmax of the logits) is their label."""
    if images.shape[0] == 0:
        raise ValueError("accuracy: no images")
    xp = backend.array_namespace(images, labels)
    predicted = xp.argmax(predict_proba(classifier, images), axis=1)
    hits = backend.astype(predicted == backend.astype(labels, predicted.dtype), xp.float64)
    return float(backend.to_numpy(xp.mean(hits)))


# ---------------------------------------------------------------------------------------------------------
# Grading samples


class SampleQuality(NamedTuple):
    """What a classifier says about a batch of samples."""

    histogram: list        # samples per predicted class 0..9
    n_classes: int         # classes predicted at least once
    all_digits: bool       # n_classes == 10
    entropy: float         # of the histogram as a distribution, nats; log 10 = 2.303 at most
    mean_confidence: float  # E[max_k p(k | x)]

    @property
    def max_entropy(self) -> float:
        return math.log(len(self.histogram))

    def summary(self) -> str:
        """One line for a chapter's output."""
        return (f"classes {self.n_classes}/{len(self.histogram)}, entropy {self.entropy:.3f} nats "
                f"(max {self.max_entropy:.3f}), mean confidence {self.mean_confidence:.3f}")


def sample_quality(classifier: Callable, images) -> SampleQuality:
    """Grade ``images`` (n, 784) with ``classifier`` (any callable from a Tensor of images to a Tensor of
    logits (n, 10)): the histogram of predicted classes (argmax), whether all ten digits appear, the entropy
    H = -sum_k p_k log p_k (nats) of the histogram normalised to p_k = count_k / n, and the mean of
    max_k softmax(logits)_k (the classifier's confidence). See the module docstring for how to read them."""
    n = images.shape[0]
    if n == 0:
        raise ValueError("sample_quality: no images")
    probs = backend.to_numpy(predict_proba(classifier, images)).astype(np.float64)
    histogram = np.bincount(np.argmax(probs, axis=1), minlength=probs.shape[1])
    p = histogram[histogram > 0] / n
    entropy = float(-np.sum(p * np.log(p))) + 0.0  # + 0.0 turns -0.0 (one class) into 0.0
    return SampleQuality(histogram=[int(c) for c in histogram], n_classes=int(np.count_nonzero(histogram)),
                         all_digits=bool(np.all(histogram > 0)), entropy=entropy,
                         mean_confidence=float(np.mean(np.max(probs, axis=1))))
