"""Keep freed memory in the process: fewer page faults per training step (Linux with glibc only)."""
from __future__ import annotations

import ctypes
import os
import sys

_applied = False


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for reuse instead of returning it to the OS.

    A training step allocates and frees the same ~1 MB temporaries (activations, gradients) every time. By
    default glibc serves blocks that large with fresh ``mmap`` pages and gives them back on ``free``, so every
    step pays thousands of page faults (about 8,000 per toy WGAN-GP iteration, measured). Raising the mmap and
    trim thresholds (``mallopt``; the same as the MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ environment
    variables) keeps those pages in the process, as PyTorch's caching allocator does for its tensors. The
    cost: the process keeps up to its peak memory. Applied by :func:`tinywgan.fast.enable`, when
    :func:`tinywgan.wgan.train` starts and when the bench starts, never by ``import tinywgan``; set
    TINYWGAN_KEEP_FREED_MEMORY=0 to opt out. Returns True when the setting is in force (Linux with glibc),
    False elsewhere.
    """
    global _applied
    if _applied:
        return True
    if os.environ.get("TINYWGAN_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        ok = libc.mallopt(m_mmap_threshold, 256 * 1024 * 1024) == 1
        _applied = libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024) == 1 and ok
    except (OSError, AttributeError):
        return False
    return _applied
