"""``python -m tinywgan.bench [options]``: see :mod:`tinywgan.bench.runner`."""
import os
import sys

from tinywgan.bench.threads import THREAD_VARIABLES, threads_option

# BLAS fixes its thread pool when NumPy loads it: set the count before NumPy is imported.
if "numpy" not in sys.modules and (threads_option(sys.argv[1:]) or "").isdigit():
    for _name in THREAD_VARIABLES:
        os.environ[_name] = threads_option(sys.argv[1:])

from tinywgan.bench.runner import command_line  # noqa: E402

command_line()
