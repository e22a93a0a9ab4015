"""Shared fixtures: the backends every gradient test runs on, hypothesis profiles, chapter loading."""
from __future__ import annotations

import importlib.util
import os
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


def load_chapter(filename: str):
    """Import chapters/<filename> (a name starting with a digit cannot be imported the usual way)."""
    path = ROOT / "chapters" / filename
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
