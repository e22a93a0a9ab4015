"""The chapters as notebooks: read by jupytext, executed cell by cell by nbclient, their outputs kept.

The book shows each chapter with what its default run printed and drew. Chapters 01-05 run in seconds, so the
book executes them when it is built. Chapters 06-09 take minutes (they train WGANs), so the book shows a
default run recorded in the repository (``docs/book/recorded/NN_*.ipynb``), which one command regenerates::

    python -m tinywgan.book record            # 06, 07, 08 and 09, one after the other (about 25 minutes)
    python -m tinywgan.book record 07         # one of them

Each notebook carries where its outputs came from in ``metadata["tinywgan"]`` (built or recorded, the date,
the machine, the wall time, whether it was a ``--quick`` run), and the chapter's page says it.
"""
from __future__ import annotations

import datetime
import os
import platform
import re
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
RECORDED = ROOT / "docs" / "book" / "recorded"
RECORDED_CHAPTERS = ("06", "07", "08", "09")  # minutes each at their defaults; 01-05 (seconds) run at build time


def chapter_files() -> list[Path]:
    """The chapters in the story's order (their file names start with the chapter's number)."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.py"))


def chapter_file(number: str) -> Path:
    """``chapters/NN_*.py`` for ``number`` "NN" (or "N"); a clear error for a number with no chapter."""
    number = f"{int(number):02d}" if str(number).isdigit() else str(number)
    found = [p for p in chapter_files() if p.name.startswith(number + "_")]
    if not found:
        known = ", ".join(p.name[:2] for p in chapter_files())
        raise ValueError(f"no chapter numbered {number!r}; the chapters are {known}")
    return found[0]


def read_chapter(path: Path):
    """The chapter as the notebook a student opens (jupytext reads the percent format: ``# %%`` cells)."""
    import jupytext
    return jupytext.read(path)


def kernel_environment(quick: bool) -> dict[str, str]:
    """The environment a chapter's kernel runs in: this process's, with ``TINYWGAN_QUICK=1`` for a quick run
    (and without it otherwise), one BLAS thread set before NumPy loads, and no ``MPLBACKEND`` (the kernel
    picks its inline backend, which shows figures below their cells)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TINYWGAN_QUICK", "MPLBACKEND")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if quick:
        env["TINYWGAN_QUICK"] = "1"
    return env


def machine() -> str:
    """One line that names this machine: CPU model, cores, OS (where a recorded run's numbers come from)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def collapse_carriage_returns(text: str) -> str:
    """What a terminal shows of ``text``: a progress bar redraws its line with ``\\r`` many times a second,
    and a notebook keeps every redraw; keep only the last one of each line."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def tidy_outputs(notebook) -> None:
    """Collapse the progress bars' redraws, drop terminal colour codes, merge consecutive stream outputs of
    one kind and drop blank ones, so a page shows what the terminal showed at the end."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = _ANSI.sub("", out["text"])
                if merged and merged[-1].get("output_type") == "stream" and merged[-1]["name"] == out["name"]:
                    merged[-1]["text"] += out["text"]
                    continue
            merged.append(out)
        for out in merged:
            if out.get("output_type") == "stream":
                out["text"] = collapse_carriage_returns(out["text"])
        # a bar that cleared itself (tqdm's leave=False) or a lone newline would show as an empty box
        cell["outputs"] = [o for o in merged if o.get("output_type") != "stream" or o["text"].strip()]


def execute(notebook, folder: Path, quick: bool = False, timeout: int | None = None):
    """Execute ``notebook`` cell by cell in a fresh kernel started in ``folder`` (where the chapter's
    ``out/`` goes), with ``TINYWGAN_QUICK=1`` when ``quick``; tidy its outputs and return it. A cell that
    raises stops the run with nbclient's ``CellExecutionError`` (which shows the cell and the traceback)."""
    from nbclient import NotebookClient
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its warning about plain
                            resources={"metadata": {"path": str(folder)}})  # TCP on localhost at every start
    client.execute(env=kernel_environment(quick))  # the kernel's own environment: this process's stays as it is
    tidy_outputs(notebook)
    return notebook


def run_chapter(path: Path, quick: bool = False, how: str = "built", timeout: int | None = None):
    """Execute chapter ``path`` as a notebook in a scratch folder and stamp where its outputs come from:
    ``metadata["tinywgan"] = {how, date, machine, seconds, quick, command}``."""
    notebook = read_chapter(path)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tinywgan-book-") as folder:
        execute(notebook, Path(folder), quick=quick, timeout=timeout)
    notebook.metadata["tinywgan"] = {
        "how": how,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "seconds": round(time.perf_counter() - start, 1),
        "quick": quick,
        "command": f"python chapters/{path.name}" + (" --quick" if quick else ""),
    }
    notebook.metadata.pop("jupytext", None)
    return notebook


def recorded_path(path: Path) -> Path:
    """Where chapter ``path``'s recorded default run lives: ``docs/book/recorded/<name>.ipynb``."""
    return RECORDED / (path.stem + ".ipynb")


def record(numbers=RECORDED_CHAPTERS, quick: bool = False, folder: Path = RECORDED, log=print) -> list[Path]:
    """Run each chapter in ``numbers`` at its defaults as a notebook and save it, outputs included, in
    ``folder`` (the repository's recorded runs by default): what the book shows for the chapters that take
    minutes. Each file is written whole or not at all (the old one stays when a run fails)."""
    import nbformat
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        path = chapter_file(number)
        log(f"recording {path.name} {'with --quick' if quick else 'at its defaults'} ...")
        notebook = run_chapter(path, quick=quick, how="recorded")
        target = folder / (path.stem + ".ipynb")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            nbformat.write(notebook, str(tmp))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        log(f"  {target} ({notebook.metadata['tinywgan']['seconds']:.0f} s)")
        written.append(target)
    return written
