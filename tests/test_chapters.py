"""Every chapter is a percent-format script a student steps through cell by cell (README, "Step through a
chapter"), that also runs whole from a shell.

Each chapter's claims (the numbers it prints) are tested, with ``--quick``, in the test file of its topic:
tests/test_ot.py (01), tests/test_divergences.py (02), tests/test_chapters_03_05.py, tests/test_chapters_06_08.py,
tests/test_chapter_09.py. Here: the conventions every chapter shares, and each chapter executed as a notebook.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT, chapter_as_notebook, execute_notebook

CHAPTERS = sorted(p.name for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))


def test_the_story_is_complete():
    numbers = [int(name[:2]) for name in CHAPTERS]
    assert numbers == list(range(1, 10)), CHAPTERS


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_cells_of_text_and_code(name):
    """Text cells carry the lesson (a title first, formulas in LaTeX), code cells do one step each."""
    notebook = chapter_as_notebook(name)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown", f"{name} must open with a text cell"
    title = notebook.cells[0].source.lstrip()
    assert title.startswith(f"# Chapter {int(name[:2])}:"), f"{name}'s first cell must be its title: {title[:60]!r}"
    assert kinds.count("markdown") >= 4 and kinds.count("code") >= 4, (name, kinds)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "$" in text, f"{name}'s text cells write no formula in LaTeX math"
    from tinywgan.book.mathml import UnreadableMath, convert_strict
    for m in re.finditer(r"(\$\$)(.+?)\$\$|\$([^$]+)\$", text, flags=re.S):
        formula, display = m.group(2) or m.group(3), bool(m.group(1))
        try:  # every formula renders (the book shows it as MathML); a "\a" written as BEL would not
            convert_strict(formula, display)
        except UnreadableMath as err:
            pytest.fail(f"{name}: {formula!r} does not render: {err}")
    assert not re.search(r"seeds? \d{3}", text + "".join(c.source for c in notebook.cells)), \
        f"{name} cites 'seed 00N', a file the reader does not have"
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "def main(" not in code and "__main__" not in code, f"{name} must run top to bottom, not from main()"
    assert "chapter_options(" in code, f"{name} must read its options with tinywgan.lab.cli.chapter_options"
    assert "claims = " in code, f"{name} must gather the numbers it claims in `claims` (what its tests check)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_help_lists_the_shared_options(name):
    """`python chapters/NN_topic.py --help` works from any folder and lists the shared options."""
    result = subprocess.run([sys.executable, str(ROOT / "chapters" / name), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT.parent)
    assert result.returncode == 0, result.stderr
    for option in ("--out", "--seed", "--device", "--quick", "--threads"):
        assert option in result.stdout, f"{name} --help does not list {option}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_as_a_notebook(name, tmp_path):
    """Executed cell by cell in a Jupyter kernel with TINYWGAN_QUICK=1: no cell fails, the quick banner comes
    first, and the figures land in out/quick/<chapter> and show below their cells."""
    notebook = execute_notebook(name, tmp_path)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert printed.lstrip().startswith("QUICK RUN"), printed[:200]
    figures = sorted((tmp_path / "out" / "quick" / name[:-3]).glob("*.png"))
    assert figures, f"{name} wrote no figure to out/quick/{name[:-3]}"
    shown = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(shown) >= len(figures), f"{name} saved {len(figures)} figures but showed {len(shown)}"
