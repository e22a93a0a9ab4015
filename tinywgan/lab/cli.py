"""The command line every chapter shares (README, "Set up, run, test"): ``--out``, ``--seed``, ``--device``,
``--quick``.

A chapter's ``main(argv=None)`` calls :func:`chapter_args` and gets the parsed options with ``out`` made a
folder that exists. ``--quick`` is what the tests run (seconds); the default is what a reader runs.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def use_agg_without_display() -> None:
    """Select matplotlib's non-interactive Agg backend when there is no display (CI, SSH, the GPU box)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        import matplotlib
        matplotlib.use("Agg")


def chapter_parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the four options every chapter takes; a chapter may add its own."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=default_out,
                   help=f"folder for the figures (default: {default_out})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "gpu", "strict"],
                   help="array backend: cpu = NumPy, gpu = CuPy, strict = array_api_strict")
    p.add_argument("--quick", action="store_true",
                   help="a few-second run with tiny settings (what the tests use)")
    return p


def chapter_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv``, create ``args.out`` and select the Agg backend when there is no display."""
    args = parser.parse_args(argv)
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    use_agg_without_display()
    return args
