"""tinywgan: a from-scratch NumPy/CuPy autograd engine that teaches Wasserstein GANs by building one."""
__version__ = "0.1.0"
