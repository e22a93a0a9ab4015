"""The op table's derivative checks as a report a student can read: one line per op.

For each row of :data:`.optable.OPS` the report draws a few inputs from the row's domain (a seeded NumPy
generator: the same numbers on every run) and, for each draw, on each backend (NumPy, array_api_strict, and
CuPy when a GPU is present) and with the speed layer (:mod:`tinywgan.fast`) on and off, compares the engine's
first and second derivatives with central finite differences in float64 (:func:`.gradcheck.derivatives`). It
keeps the worst relative error of each order (:func:`.gradcheck.relative_error`). A row passes when both are
at most ``RTOL`` (1e-6): exactly when :func:`.gradcheck.gradcheck` and :func:`.gradcheck.gradgradcheck`, as
the tests call them, pass on every draw. The tests (``tests/test_functions.py``) check the same rows with
many more draws, chosen by hypothesis.

Run it with::

    python -m tinywgan.engine.opreport              # aligned columns, for a terminal
    python -m tinywgan.engine.opreport --markdown   # a markdown table, for the book

(``python -m tinywgan.engine.gradcheck --report`` does the same; Python warns there that the module was
imported before it ran, because ``import tinywgan`` imports gradcheck.)
"""
from __future__ import annotations

import argparse
import contextlib
import time
import zlib
from dataclasses import dataclass

import numpy as np

from tinywgan import fast
from tinywgan.engine import backend
from tinywgan.engine.gradcheck import ATOL, RTOL, derivatives, relative_error
from tinywgan.engine.optable import OPS, NumpySource

BACKEND_NAMES = {"cpu": "numpy", "strict": "strict", "gpu": "cupy"}  # strict: array_api_strict
DRAWS = 5  # inputs drawn per op; the tests draw up to 12 per op, backend and speed setting (hypothesis's
           # default profile in tests/conftest.py)
COLUMNS = ("op", "domain", "1st order", "2nd order", "backends", "result")


@dataclass
class Row:
    op: str
    domain: str
    first: float          # worst relative error of the first derivatives
    second: float         # worst relative error of the second derivatives
    backends: str         # where it was checked
    passed: bool
    failures: str = ""    # where it failed, when it did

    def cells(self) -> tuple:
        result = "pass" if self.passed else f"FAIL: {self.failures}"
        return self.op, self.domain, _number(self.first), _number(self.second), self.backends, result


def _number(error: float) -> str:
    return "0" if error == 0 else f"{error:.1e}"  # 0: analytic and numeric agree exactly (e.g. both 0)


def default_devices() -> list:
    return ["cpu", "strict"] + (["gpu"] if backend.gpu_available() else [])


@contextlib.contextmanager
def speed_layer(on: bool):
    """The speed layer on or off inside the block, as it was after."""
    was = fast.is_enabled()
    fast.enable(memory=False) if on else fast.disable()
    try:
        yield
    finally:
        fast.enable(memory=False) if was else fast.disable()


def check_op(op, draws: int = DRAWS, seed: int = 0, devices=None) -> Row:
    """Check one row of the table: ``draws`` inputs x every device x speed layer on and off x orders 1, 2."""
    devices = default_devices() if devices is None else devices
    # One generator per row, seeded by its name: adding a row does not change the others' draws.
    src = NumpySource(np.random.default_rng([seed, zlib.crc32(op.name.encode())]))
    worst = {1: 0.0, 2: 0.0}
    failures = []
    for _ in range(draws):
        inputs = op.draw(src)
        for device in devices:
            xs = [backend.to_device(x, device) for x in inputs]
            for on in (True, False):
                where = f"{BACKEND_NAMES[device]}, fast {'on' if on else 'off'}"
                for order in (1, 2):
                    try:
                        with speed_layer(on):
                            pairs = derivatives(op.fn, xs, order=order)
                        err = max((relative_error(a, n) for a, n in pairs), default=0.0)
                    except Exception as e:  # an op that raises fails its row; the report goes on
                        err = float("inf")
                        where += f" ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
                    worst[order] = max(worst[order], err)
                    if not err <= RTOL and where not in failures:
                        failures.append(where)
    backends = ", ".join(BACKEND_NAMES[d] for d in devices)
    return Row(op.name, op.description, worst[1], worst[2], backends, not failures, "; ".join(failures))


def check_table(ops=OPS, draws: int = DRAWS, seed: int = 0, devices=None) -> list:
    """One :class:`Row` per op of the table, in the table's order."""
    return [check_op(op, draws, seed, devices) for op in ops]


def summary(rows, seconds: float) -> str:
    """One line: how many ops, how many fail, the worst errors and where, the time taken."""
    failed = [r.op for r in rows if not r.passed]
    verdict = "all pass" if not failed else f"{len(failed)} fail ({', '.join(failed)})"
    w1 = max(rows, key=lambda r: r.first)
    w2 = max(rows, key=lambda r: r.second)
    return (f"{len(rows)} ops, {verdict}; worst relative error {w1.first:.1e} first order ({w1.op}), "
            f"{w2.second:.1e} second order ({w2.op}), tolerance {RTOL:g}; {seconds:.1f} s")


def explanation(draws: int) -> str:
    """What the numbers are, in three lines (printed above the table)."""
    plural = "s" if draws != 1 else ""
    return (f"Worst relative error |analytic - numeric| / (|numeric| + {ATOL / RTOL:g}) of the engine's derivatives "
            f"against\ncentral differences in float64, over {draws} draw{plural} per op x backends x speed layer "
            f"on and off\n(strict: array_api_strict). A row passes when both are <= {RTOL:g}, the rule of "
            f"gradcheck and gradgradcheck.")


def format_text(rows, seconds: float, draws: int = DRAWS) -> str:
    """The table in aligned columns, an explanation above and the summary below."""
    table = [COLUMNS] + [r.cells() for r in rows]
    widths = [max(len(line[j]) for line in table) for j in range(len(COLUMNS))]
    right = {2, 3}  # numbers are right-aligned

    def line(cells):
        return "  ".join(c.rjust(w) if j in right else c.ljust(w)
                         for j, (c, w) in enumerate(zip(cells, widths))).rstrip()
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([explanation(draws), "", line(COLUMNS), rule, *(line(r.cells()) for r in rows), rule,
                      summary(rows, seconds)])


def format_markdown(rows) -> str:
    """The table in markdown: a header, its separator, and one line per row (``|`` in a cell escaped)."""
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(COLUMNS), "|" + "|".join(["---", "---", "---:", "---:", "---", "---"]) + "|",
                      *(line(r.cells()) for r in rows)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinywgan.engine.opreport",
        description="Check every op of the op table (tinywgan/engine/optable.py) against finite differences, "
                    "first and second order, and print one line per op.")
    parser.add_argument("--report", action="store_true", help="aligned columns for a terminal (the default)")
    parser.add_argument("--markdown", action="store_true", help="a markdown table instead")
    parser.add_argument("--draws", type=int, default=DRAWS, help=f"inputs drawn per op (default {DRAWS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error(f"--draws must be 1 or more, got {args.draws}")
    start = time.perf_counter()
    rows = check_table(draws=args.draws, seed=args.seed)
    seconds = time.perf_counter() - start
    if args.markdown:
        print(format_markdown(rows))
        print()
        print(explanation(args.draws))
        print()
        print(summary(rows, seconds))
    else:
        print(format_text(rows, seconds, args.draws))
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
