"""How many threads NumPy's BLAS (and PyTorch's OpenMP) use: read it, set it, and set it early enough.

BLAS fixes its thread pool when NumPy loads it, from the environment variables in :data:`THREAD_VARIABLES`;
so a script that wants ``N`` threads sets them before importing NumPy (``python -m tinywgan.bench`` does,
from its ``--threads`` option, :func:`threads_option`). After NumPy is loaded, :func:`set_blas_threads`
changes the count at run time: through ``threadpoolctl`` when it is installed, else through OpenBLAS's
own ``openblas_set_num_threads``. Nothing here imports NumPy.
"""
from __future__ import annotations

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_option(argv) -> str | None:
    """The value of ``--threads N`` / ``--threads=N`` in a command line, or None."""
    for k, arg in enumerate(argv):
        if arg == "--threads" and k + 1 < len(argv):
            return argv[k + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return None


def _openblas_symbols():
    """(get, set) of the OpenBLAS loaded in this process, through ctypes, or (None, None)."""
    import ctypes
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None, None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # NumPy's wheels rename the symbols (scipy_openblas*_64_); a system OpenBLAS keeps the plain names.
        for suffix in ("", "64_", "_64_"):
            for prefix in ("openblas", "scipy_openblas"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None, None


def blas_threads() -> int | None:
    """The thread count of NumPy's BLAS now, or None when it cannot be read."""
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return counts[0]
    except ImportError:
        pass
    get, _ = _openblas_symbols()
    return int(get()) if get is not None else None


def set_blas_threads(n: int):
    """Set NumPy's BLAS to ``n`` threads at run time (threadpoolctl if installed, else OpenBLAS's own
    setter). Returns a function that puts back the previous count. (PyTorch, loaded only in the bench's
    child process, gets its count from that process's environment, set by
    :class:`~tinywgan.bench.torch_reference.TorchProcess`.)"""
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=n, user_api="blas")
        return limits.restore_original_limits
    except ImportError:
        pass
    get, put = _openblas_symbols()
    if put is None:
        return lambda: None
    previous = int(get())
    put(int(n))
    return lambda: put(previous)
