"""The op table's report (tinywgan.engine.opreport): one row per op, every row passing, in a terminal and in
markdown, and a broken derivative shown as a failing row."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import optable
from tinywgan.engine.gradcheck import RTOL, derivatives, gradcheck, relative_error
from tinywgan.engine.opreport import COLUMNS, check_op, check_table, format_markdown, format_text, summary


@pytest.fixture(scope="module")
def rows():
    return check_table()


def test_one_row_per_op_in_the_tables_order(rows):
    assert [r.op for r in rows] == [op.name for op in optable.OPS]
    assert len({op.name for op in optable.OPS}) == len(optable.OPS)
    assert all(r.domain and "numpy" in r.backends and "strict" in r.backends for r in rows)


def test_every_row_passes(rows):
    failed = [(r.op, r.first, r.second, r.failures) for r in rows if not r.passed]
    assert not failed
    assert all(0 <= r.first <= RTOL and 0 <= r.second <= RTOL for r in rows)


def test_terminal_table_has_a_line_per_op_and_a_summary(rows):
    text = format_text(rows, seconds=1.5)
    lines = text.splitlines()
    assert lines[-1] == summary(rows, 1.5)
    assert lines[-1].startswith(f"{len(rows)} ops, all pass;") and lines[-1].endswith("1.5 s")
    header = next(i for i, line in enumerate(lines) if line.startswith("op "))
    body = lines[header + 2:-2]
    assert [line.split()[0] for line in body] == [r.op for r in rows]
    assert len({line.index(" pass") for line in body}) == 1  # aligned columns


def test_markdown_has_the_header_and_a_line_per_row(rows):
    lines = format_markdown(rows).splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert set(lines[1]) <= set("|-:")
    assert len(lines) == 2 + len(rows)
    assert all(line.startswith(f"| {r.op} |") for line, r in zip(lines[2:], rows))
    # a | inside a cell is escaped, so every line has the header's number of cells
    assert all(line.replace("\\|", "").count("|") == len(COLUMNS) + 1 for line in lines)


class WrongSquare(tw.Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * 3 * self.inputs[0]  # should be 2x


def test_a_wrong_derivative_is_a_failing_row():
    op = optable.Op("wrong_square", lambda x: WrongSquare()(x), optable.unary(optable.nonzero(), min_dims=1))
    row = check_op(op, draws=1)
    assert not row.passed and row.first > 0.1 and "numpy, fast on" in row.failures
    assert "FAIL" in format_text([row], 0.1) and "1 fail (wrong_square)" in summary([row], 0.1)


def test_relative_error_is_the_rule_of_gradcheck():
    x = np.array([0.5, -1.2, 2.0])
    (a, n), = derivatives(tw.tanh, [x])
    assert gradcheck(tw.tanh, [x]) and relative_error(a, n) <= RTOL
    assert relative_error(n + 1e-8 + 0.5e-6 * abs(n), n) <= RTOL  # just inside atol + rtol |n|
    assert relative_error(n + 1e-8 + 1.5e-6 * abs(n), n) > RTOL   # outside
    assert relative_error(np.array([np.nan]), np.array([1.0])) == np.inf


@pytest.mark.parametrize("command", [["tinywgan.engine.gradcheck", "--report"],
                                     ["tinywgan.engine.opreport", "--markdown"]])
def test_cli_prints_the_table_and_exits_0(command):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", *command, "--draws", "1"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith(f"{len(optable.OPS)} ops, all pass;")
    assert sum(line.startswith(("add ", "| add |")) for line in lines) == 1
