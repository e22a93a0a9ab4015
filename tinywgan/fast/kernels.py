"""Array-level helpers of the speed layer."""
from __future__ import annotations

from ..engine import backend


def matmul(xp, a, b):
    """a @ b on arrays, as :func:`tinywgan.engine.backend.matmul` computes it. An inner dimension of 1
    makes an outer product, done by broadcasting: BLAS runs a k = 1 matmul about 4x slower, and the
    critic's 1-unit output layer meets one in every backward pass. Each element is one product either
    way, so the numbers are the same."""
    if a.shape[-1] == 1:
        return a * b
    return backend.matmul(a, b)


def mT(xp, a):
    """``a`` with its last two axes swapped: the standard's ``.T`` for a matrix (an attribute, ~1 us less
    than NumPy's ``matrix_transpose`` function)."""
    return a.T if a.ndim == 2 else xp.matrix_transpose(a)
