"""What every chapter shares: its options, where its figures go, its BLAS threads, and how it shows a figure.

A chapter is a percent-format script (``# %%`` cells) that runs two ways:

* whole, from a shell: ``python chapters/06_wgan_weight_clipping.py --quick --out somewhere``;
* cell by cell in a notebook kernel (VS Code, JupyterLab with jupytext, PyCharm, Spyder), with the defaults.

Its first code cell calls :func:`chapter_options`, which reads the command line when the chapter runs as a
script and ignores it in a kernel (whose command line is the kernel's own). In both, ``TINYWGAN_QUICK=1`` in
the environment selects ``--quick``: the smoke test the tests run, whose numbers are not the lesson's.

The shared options are ``--out``, ``--seed``, ``--device``, ``--quick`` and ``--threads``. Figures go to
``out/<chapter>`` by default and a quick run's to ``out/quick/<chapter>``, so a smoke test never writes over
a default run's figures. NumPy's BLAS gets ``--threads`` threads (default 1), set at run time through
threadpoolctl: the chapters' matrices are small (128-unit layers), so a second thread gains little on an idle
2-core machine and, when anything else runs, its spinning makes a step 10-20x slower.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

QUICK_VARIABLE = "TINYWGAN_QUICK"
_BLAS_LIMITS = []  # the threadpoolctl limiter, kept alive for the life of the process


def in_notebook() -> bool:
    """True inside a running Jupyter kernel (where ``sys.argv`` is the kernel's, not the chapter's). Having
    imported ``ipykernel`` is not enough: a program that starts kernels (nbclient, the tests) imports it too."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def quick_from_environment() -> bool:
    """True when ``TINYWGAN_QUICK`` is set to 1 / true / yes / on."""
    return os.environ.get(QUICK_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def use_agg_without_display() -> None:
    """Select matplotlib's non-interactive Agg backend when there is no display (CI, SSH, the GPU box).
    A notebook kernel sets ``MPLBACKEND`` to its inline backend, which is left alone."""
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        import matplotlib
        matplotlib.use("Agg")


def set_blas_threads(n: int) -> None:
    """Limit NumPy's BLAS to ``n`` threads from now on (threadpoolctl; works after NumPy has loaded)."""
    from threadpoolctl import threadpool_limits
    _BLAS_LIMITS.append(threadpool_limits(limits=n, user_api="blas"))


def chapter_parser(description: str, name: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the options every chapter takes; a chapter may add its own.
    ``name`` is the chapter's file name without ``.py``: the default figure folder is ``out/<name>``."""
    p = argparse.ArgumentParser(prog=f"chapters/{name}.py", description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None,
                   help=f"folder for the figures (default: out/{name}; with --quick: out/quick/{name})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu", "strict"],
                   help="array backend: cpu = NumPy, gpu = CuPy, strict = array_api_strict")
    p.add_argument("--quick", action="store_true",
                   help=f"a smoke test of a few seconds with tiny settings (what the tests run; its numbers "
                        f"are not the lesson's); {QUICK_VARIABLE}=1 in the environment does the same")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for NumPy's BLAS (default: 1, the fastest for these small matrices)")
    p.set_defaults(chapter=name)
    return p


def add_check(parser: argparse.ArgumentParser, check) -> None:
    """Register ``check(args)``, run by :func:`chapter_args` on the parsed options before anything is created:
    it raises a ``ValueError`` that names the option (``--steps must be >= 1; got 0``) when they do not fit.
    So a bad option is refused before the chapter makes its output folder or starts any work."""
    if not hasattr(parser, "tinywgan_checks"):
        parser.tinywgan_checks = []
    parser.tinywgan_checks.append(check)


def check_options(parser: argparse.ArgumentParser, args: argparse.Namespace, validate=None) -> None:
    """The shared options' checks, then each check registered with :func:`add_check`, then ``validate``;
    a bad option ends the program with a message that names it (``SystemExit``), and nothing is created."""
    if args.threads < 1:
        parser.error(f"--threads must be >= 1; got {args.threads}")
    if args.seed < 0:
        parser.error(f"--seed must be an integer >= 0; got {args.seed}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; --out names a folder for the figures (created when missing)")
    for check in getattr(parser, "tinywgan_checks", []) + ([validate] if validate is not None else []):
        try:
            check(args)
        except ValueError as err:
            raise SystemExit(f"{parser.prog}: error: {err}") from None


def chapter_args(parser: argparse.ArgumentParser, argv=None, validate=None) -> argparse.Namespace:
    """Parse the options (``argv``; by default the command line, or none in a notebook kernel), then:
    ``--quick`` from the environment, the checks of every option (:func:`check_options`; ``validate(args)``
    is the chapter's own, raising a ``ValueError`` for a bad option), ``args.out`` a folder that exists, the
    BLAS threads, Agg without a display, and for a quick run a banner that says what it is. A bad option
    ends the program before anything is created."""
    if argv is None:
        argv = [] if in_notebook() else sys.argv[1:]
    args = parser.parse_args(argv)
    args.quick = args.quick or quick_from_environment()
    name = parser.get_default("chapter")
    args.out = Path(args.out if args.out is not None else
                    Path("out") / "quick" / name if args.quick else Path("out") / name)
    check_options(parser, args, validate)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, no permission, a read-only disk
        parser.error(f"--out {args.out}: cannot create the folder ({err.strerror or err})")
    set_blas_threads(args.threads)
    use_agg_without_display()
    if args.quick:
        print(f"QUICK RUN: a smoke test with tiny settings. Its numbers are not the lesson's (run without "
              f"--quick for those);\nits figures go to {args.out}/.\n")
    return args


def chapter_options(name: str, description: str, add_options=None, argv=None, validate=None) -> argparse.Namespace:
    """The options of chapter ``name`` (see :func:`chapter_args`); ``add_options(parser)`` adds its own, and
    ``validate(args)`` checks them (a ``ValueError`` naming the option) before anything is created."""
    parser = chapter_parser(description, name)
    if add_options is not None:
        add_options(parser)
    return chapter_args(parser, argv, validate)


def save_figure(fig, path, dpi: int = 110) -> None:
    """Write ``fig`` to ``path``; in a notebook kernel also show it below the cell; then close it."""
    import matplotlib.pyplot as plt
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if in_notebook():
        from IPython.display import display
        display(fig)
    plt.close(fig)
