"""``tinywgan.autograd``: differentiation under PyTorch's names (``torch.autograd``).

``grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False)`` returns the gradients
without touching ``.grad``; ``create_graph=True`` makes them differentiable again (double backprop, which the
WGAN-GP gradient penalty needs). ``Function`` is the base class of an op, ``gradcheck`` / ``gradgradcheck``
compare first and second derivatives with central differences, and ``no_grad`` / ``enable_grad`` /
``set_grad_enabled`` switch recording. All of it lives in :mod:`tinywgan.engine`; this module only gathers it
where a PyTorch user looks (``tw.autograd.grad``).
"""
from .engine.backprop import grad
from .engine.gradcheck import gradcheck, gradgradcheck
from .engine.tensor import Function, enable_grad, no_grad, set_grad_enabled

__all__ = ["Function", "enable_grad", "grad", "gradcheck", "gradgradcheck", "no_grad", "set_grad_enabled"]
