"""Array-level helpers of the speed layer: BLAS-friendly products and compact views."""
from __future__ import annotations

from ..engine import backend


def dense(x):
    """``x`` itself, or a compact copy when it is a broadcast view (a zero stride on NumPy and CuPy).

    BLAS cannot take zero-stride operands, so NumPy falls back to its own loops for them (about 10x slower);
    the gradient of a mean is such a view, and it meets a matmul in every Linear layer's backward pass.
    The array API has no strides: other backends get ``x`` unchanged.
    """
    strides = getattr(x, "strides", None)
    if strides and 0 in strides and x.size > 1:
        return backend.array_namespace(x).ascontiguousarray(x)
    return x


def matmul(xp, a, b):
    """a @ b on arrays. An inner dimension of 1 makes an outer product, done by broadcasting: BLAS runs a
    k = 1 matmul about 100x under its peak, and the critic's 1-unit output layer meets one in every
    backward pass. Broadcast views are made compact first (BLAS cannot read zero strides)."""
    if a.shape[-1] == 1:
        return a * b
    return xp.matmul(dense(a), dense(b))


def mT(xp, a):
    """``a`` with its last two axes swapped: the standard's ``.T`` for a matrix (an attribute, ~1 us less
    than NumPy's ``matrix_transpose`` function)."""
    return a.T if a.ndim == 2 else xp.matrix_transpose(a)
