"""Every chapter is a script that runs on its own and follows the chapter conventions (README, "Set up, run, test").

Each chapter's claims (the numbers it prints) are tested, with ``--quick``, in the test file of its topic:
tests/test_ot.py (01), tests/test_divergences.py (02), tests/test_chapters_03_05.py, tests/test_chapters_06_08.py,
tests/test_chapter_09.py. Here: the conventions every chapter shares.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, load_chapter

CHAPTERS = sorted(p.name for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))


def test_the_story_is_complete():
    numbers = [int(name[:2]) for name in CHAPTERS]
    assert numbers == list(range(1, 10)), CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_follows_the_conventions(name):
    module = load_chapter(name)
    assert module.__doc__ and len(module.__doc__) > 200, f"{name} needs a docstring that teaches its step"
    assert callable(getattr(module, "main", None)), f"{name} needs main(argv=None)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_as_a_script(name):
    """`python chapters/NN_topic.py --help` works from any folder and lists the shared options."""
    result = subprocess.run([sys.executable, str(ROOT / "chapters" / name), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT.parent)
    assert result.returncode == 0, result.stderr
    for option in ("--out", "--seed", "--device", "--quick"):
        assert option in result.stdout, f"{name} --help does not list {option}"
