"""Shared fixtures: the backends every gradient test runs on, hypothesis profiles, chapter loading."""
from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

# One BLAS thread per test process, set before NumPy loads OpenBLAS: the tests' arrays are small, and on a
# 2-core machine shared with other work, two spinning BLAS threads per process slow everything down.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest
from hypothesis import HealthCheck, settings

from tinywgan.engine import backend

ROOT = Path(__file__).resolve().parents[1]

# A fast default for `python -m pytest`; `--hypothesis-profile=thorough` for a long, careful run.
settings.register_profile(
    "default", max_examples=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
settings.register_profile(
    "thorough", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _gpu_param():
    return pytest.param("gpu", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a CUDA GPU")])


@pytest.fixture(params=["cpu", "strict", _gpu_param()])
def device(request):
    """Every test that takes `device` runs on NumPy, on array_api_strict (the stand-in for CuPy), and on
    CuPy when a GPU is present."""
    return request.param


@pytest.fixture(params=["fast", "textbook"])
def speed(request):
    """Runs a test with the speed layer (tinywgan.fast) on and with the textbook engine alone."""
    from tinywgan import fast
    was = fast.is_enabled()
    fast.enable(memory=False) if request.param == "fast" else fast.disable()
    yield request.param
    fast.enable(memory=False) if was else fast.disable()


def run_chapter(filename: str, *argv: str) -> dict:
    """Run chapters/<filename> as ``python chapters/<filename> *argv`` does, in this process, and return its
    global names (a chapter's last cell gathers the numbers it prints as claims in ``claims``)."""
    path = ROOT / "chapters" / filename
    saved = sys.argv[:]
    sys.argv = [str(path), *argv]
    try:
        return runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved


def chapter_as_notebook(filename: str):
    """chapters/<filename> read by jupytext as the notebook a student opens (percent format -> cells)."""
    from tinywgan.book.notebooks import read_chapter
    return read_chapter(ROOT / "chapters" / filename)


def execute_notebook(filename: str, folder: Path, timeout: int = 600):
    """Execute the chapter as a notebook, cell by cell in a fresh kernel started in ``folder``, with
    ``TINYWGAN_QUICK=1``; returns the executed notebook (as the book's build does, outputs tidied)."""
    from tinywgan.book.notebooks import execute
    return execute(chapter_as_notebook(filename), folder, quick=True, timeout=timeout)
