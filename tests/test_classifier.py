"""The digit classifier: its loss's first and second derivatives, its accuracy on rendered digits, and the
grading of samples (class histogram, entropy, confidence)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinywgan.engine import backend
from tinywgan.data import mnist
from tinywgan.engine import Tensor, grad
from tinywgan.lab.classifier import (accuracy, cross_entropy, log_softmax, one_hot, predict_proba,
                                 sample_quality, train_classifier)
from tinywgan.engine.gradcheck import gradcheck, gradgradcheck

LOG10 = math.log(10)


def _on(device, a):
    return backend.to_device(np.asarray(a), device)


def logits_and_labels(max_rows=4, max_classes=5):
    """(logits (n, k) float64 in [-4, 4], labels (n,) in 0..k-1)."""
    def draw(shape):
        n, k = shape
        return st.tuples(hnp.arrays(np.float64, (n, k), elements=st.floats(-4, 4, width=64)),
                         hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return st.tuples(st.integers(1, max_rows), st.integers(2, max_classes)).flatmap(draw)


# ----------------------------------------------------------------------------------------------- the loss
@given(data=logits_and_labels())
def test_cross_entropy_gradients(device, data):
    z, labels = data
    y = _on(device, labels)
    assert gradcheck(lambda t: cross_entropy(t, y), [_on(device, z)])
    assert gradgradcheck(lambda t: cross_entropy(t, y), [_on(device, z)])


@given(z=hnp.arrays(np.float64, (3, 4), elements=st.floats(-4, 4, width=64)))
def test_log_softmax_gradients(device, z):
    assert gradcheck(log_softmax, [_on(device, z)])
    assert gradgradcheck(log_softmax, [_on(device, z)])


def test_log_softmax_value_and_stability(device):
    z = np.random.default_rng(0).normal(size=(5, 10)) * 3
    want = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(Tensor(_on(device, z))).numpy(), want, rtol=1e-12, atol=1e-12)
    big = log_softmax(Tensor(_on(device, [[1000.0, 0.0, -1000.0]]))).numpy()  # no exp overflows
    np.testing.assert_allclose(big, [[0.0, -1000.0, -2000.0]], atol=1e-9)


def test_cross_entropy_value_and_gradient_formula(device):
    z = np.random.default_rng(1).normal(size=(6, 10))
    labels = np.array([0, 3, 9, 3, 1, 7])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    t = Tensor(_on(device, z), requires_grad=True)
    loss = cross_entropy(t, _on(device, labels))
    assert loss.item() == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])), rel=1e-12)
    onehot = np.eye(10)[labels]
    np.testing.assert_allclose(grad(loss, [t])[0].numpy(), (p - onehot) / 6, atol=1e-14)
    np.testing.assert_array_equal(backend.to_numpy(one_hot(_on(device, labels))), onehot)


def test_cross_entropy_shape_errors():
    z = Tensor(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="4 rows of logits need 4 labels"):
        cross_entropy(z, np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match=r"logits must have shape \(n, classes\)"):
        cross_entropy(Tensor(np.zeros(10)), np.zeros(1, dtype=np.int64))


# ------------------------------------------------------------------------------------ the trained classifier
@pytest.fixture(scope="module")
def digits():
    images, labels = mnist.rendered_digits(6000, backend.Generator(2017))
    return {"x_train": images[:5000], "y_train": labels[:5000],
            "x_test": images[5000:], "y_test": labels[5000:]}


@pytest.fixture(scope="module")
def trained(digits):
    return train_classifier(digits["x_train"], digits["y_train"], steps=800, seed=0)


def test_classifier_learns_rendered_digits(digits, trained):
    held_out = accuracy(trained, digits["x_test"], digits["y_test"])
    assert held_out > 0.90, f"held-out accuracy {held_out:.3f}"


def test_training_is_deterministic_for_a_seed(digits):
    x, y = digits["x_train"][:300], digits["y_train"][:300]
    a, b = (train_classifier(x, y, steps=5, batch_size=32, seed=3) for _ in range(2))
    c = train_classifier(x, y, steps=5, batch_size=32, seed=4)
    for (name, pa), (_, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(), c.named_parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
    assert not np.array_equal(a.parameters()[0].numpy(), c.parameters()[0].numpy())


def test_training_runs_on_every_backend(device, digits):
    """A few steps on each backend (array_api_strict stands in for CuPy): same numbers on both CPU ones."""
    x, y = _on(device, digits["x_train"][:200]), _on(device, digits["y_train"][:200])
    model = train_classifier(x, y, steps=3, batch_size=50, hidden=(16,), seed=0)
    acc = accuracy(model, x, y)
    ref = train_classifier(digits["x_train"][:200], digits["y_train"][:200], steps=3, batch_size=50,
                           hidden=(16,), seed=0)
    # The random numbers are drawn on the host for every device: the same batches and initial weights.
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    if device != "gpu":  # the two CPU backends do the same float32 arithmetic
        assert acc == accuracy(ref, digits["x_train"][:200], digits["y_train"][:200])


def test_sample_quality_of_real_digits(digits, trained):
    q = sample_quality(trained, digits["x_test"])
    assert q.all_digits and q.n_classes == 10
    assert sum(q.histogram) == 1000
    assert LOG10 - 0.1 < q.entropy <= LOG10 + 1e-12
    assert q.max_entropy == pytest.approx(LOG10)
    assert q.mean_confidence > 0.8


def test_sample_quality_of_one_repeated_digit(digits, trained):
    q = sample_quality(trained, np.repeat(digits["x_test"][:1], 50, axis=0))
    assert q.n_classes == 1 and not q.all_digits
    assert q.entropy == 0.0
    assert sorted(q.histogram) == [0] * 9 + [50]


def test_sample_quality_counts_and_entropy_exactly(device):
    """With logits 5 * one_hot(class) the predictions, the histogram, the entropy and the confidence are
    known in closed form."""
    classes = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    images = _on(device, 5.0 * np.eye(10)[classes])

    def identity(x):
        return x

    q = sample_quality(identity, images)
    assert q.histogram == [2, 2, 4] + [0] * 7
    assert q.n_classes == 3 and not q.all_digits
    p = np.array([0.25, 0.25, 0.5])
    assert q.entropy == pytest.approx(-np.sum(p * np.log(p)), rel=1e-12)
    assert q.mean_confidence == pytest.approx(math.exp(5) / (math.exp(5) + 9), rel=1e-6)
    assert "classes 3/10" in q.summary()
    probs = backend.to_numpy(predict_proba(identity, images, batch_size=3))  # batches join up
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="no images"):
        sample_quality(identity, images[:0, ...])
