"""``tinywgan.autograd``: differentiation under PyTorch's names (``torch.autograd``).

``grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False)`` returns the gradients
without touching ``.grad``; ``create_graph=True`` makes them differentiable again (double backprop, which the
WGAN-GP gradient penalty needs). ``Function`` is the base class of an op, ``gradcheck`` / ``gradgradcheck``
compare first and second derivatives with central differences, and ``no_grad`` / ``enable_grad`` /
``set_grad_enabled`` switch recording. All of it lives in :mod:`tinywgan.engine`; this module only gathers it
where a PyTorch user looks (``tw.autograd.grad``).
"""
from .engine.backprop import grad
from .engine.tensor import Function, enable_grad, no_grad, set_grad_enabled

__all__ = ["Function", "enable_grad", "grad", "gradcheck", "gradgradcheck", "no_grad", "set_grad_enabled"]


def __getattr__(name):
    """gradcheck and gradgradcheck, imported on first use: importing tinywgan then leaves
    tinywgan.engine.gradcheck unloaded, so ``python -m tinywgan.engine.gradcheck --report`` runs it cleanly."""
    if name in ("gradcheck", "gradgradcheck"):
        from .engine import gradcheck as module
        return getattr(module, name)
    raise AttributeError(f"module 'tinywgan.autograd' has no attribute {name!r}")
