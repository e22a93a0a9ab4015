"""The book: built once (chapters 01-05 as --quick runs, 06-09 from their recorded default runs), then read as
files and opened in headless Chromium.

The browser tests need Debian's ``chromium`` (``.ci/run`` installs it when missing) and the ``playwright``
package (in ``.[dev]``), which drives the system's Chromium (no browser is downloaded). Without them they skip,
saying so. Screenshots of the landing page, a chapter and an annotated page, at a desktop and a phone width, go
to ``out/book-screenshots/``.
"""
from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from tinywgan.book import annotate, build, notebooks

pytestmark = pytest.mark.book

SCREENSHOTS = ROOT / "out" / "book-screenshots"
CHAPTERS = notebooks.chapter_files()
ANNOTATED = [annotate.module_name(ROOT / p) for p in annotate.DEFAULT_MODULES]
STORY = ["earth_movers_distance", "divergences", "autograd", "kantorovich_rubinstein_critic", "gan_vs_wgan",
         "wgan_weight_clipping", "wgan_gradient_penalty", "spectral_normalization", "wgan_mnist_gpu"]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "book"
    lines = []
    index = build.build(out, quick=True, jobs=2, log=lines.append)
    assert index == out / "index.html" and index.exists(), lines
    return out


def links(page: Path) -> list[str]:
    return re.findall(r'href="([^"#]+)(?:#[^"]*)?"', page.read_text(encoding="utf-8"))


# The book as files.

def test_the_landing_page_links_every_chapter_in_the_story_order(book):
    chapter_links = [h for h in links(book / "index.html") if h.startswith("chapters/")]
    story = list(dict.fromkeys(chapter_links))  # the story list, then the sidebar: first appearance order
    assert [Path(h).stem for h in story] == [p.stem for p in CHAPTERS]
    assert [Path(h).stem[3:] for h in story] == STORY
    for h in story:
        assert (book / h).exists(), h
    assert "source.html" in links(book / "index.html") and "checks.html" in links(book / "index.html")


def test_every_listed_module_has_an_annotated_page_linked_from_the_book(book):
    listed = [h for h in links(book / "source.html") if h.startswith("source/")]
    assert listed == [f"source/{name}.html" for name in ANNOTATED]
    for name in ANNOTATED:
        page = book / "source" / f"{name}.html"
        assert page.exists() and (book / "source" / f"{name}.py").exists(), name
        assert 'href="../index.html"' in page.read_text(encoding="utf-8"), f"{name}: no link back to the book"
    for part in ("tensor", "backprop", "ops.elementwise", "gradcheck", "nn", "optim", "lipschitz", "trainer"):
        assert any(name.endswith(part) for name in ANNOTATED), part


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name[:2])
def test_each_chapter_page_has_its_outputs_figures_provenance_and_downloads(book, chapter):
    page = book / "chapters" / f"{chapter.stem}.html"
    text = page.read_text(encoding="utf-8")
    assert "About this page" in text
    recorded = chapter.name[:2] in notebooks.RECORDED_CHAPTERS
    assert ("recorded on" in text) == recorded and ("when this book was built" in text) != recorded
    if not recorded:
        assert "This was a <code" in text and "--quick" in text  # the test builds 01-05 as quick runs
    images = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert images, f"{chapter.name}: no figure on its page"
    for src in images:
        assert (page.parent / src).resolve().exists(), src
        assert f'<a class="figure-link" href="{src}"><img' in text, f"{src}: not linked to its full-size file"
    downloads = [h for h in links(page) if "_downloads/" in h]
    assert {Path(h).name for h in downloads} == {f"{chapter.stem}.ipynb", chapter.name}
    for h in downloads:
        assert (page.parent / h).resolve().exists(), h
    notebook = nbformat.read(str(next(page.parent.parent.glob(f"_downloads/*/{chapter.stem}.ipynb"))), 4)
    assert any(c.cell_type == "code" and c.outputs for c in notebook.cells), "the notebook has its outputs"
    source = notebooks.read_chapter(chapter)
    assert [c.source for c in notebook.cells] == [c.source for c in source.cells], "the chapter's cells, no others"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    sources = re.findall(r'href="\.\./source/([\w.]+)\.html"', text)
    assert sources and set(sources) <= set(ANNOTATED), f"{chapter.name}: no link to the annotated source"


def test_the_checks_page_has_one_passing_row_per_op(book):
    from tinywgan.engine.optable import OPS
    text = (book / "checks.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", text, flags=re.S)
    assert [html.unescape(re.sub("<[^>]+>", "", r)).strip() for r in rows] == [op.name for op in OPS]
    assert text.count(">pass<") == len(OPS) and "FAIL" not in text
    assert f"{len(OPS)} ops, all pass" in text


def test_sphinx_built_it_without_a_warning(book):
    assert (book / "_warnings.txt").read_text().strip() == ""


def test_no_page_points_outside_the_machine(book):
    for page in book.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        outside = re.findall(r'<(?:script|link|img|iframe|source)[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', text)
        assert not outside, f"{page.relative_to(book)} loads {outside}"


def test_the_recorded_runs_are_default_runs_of_the_chapters_as_they_are():
    for number in notebooks.RECORDED_CHAPTERS:
        path = notebooks.chapter_file(number)
        recorded = nbformat.read(str(notebooks.recorded_path(path)), 4)
        meta = recorded.metadata["tinywgan"]
        assert meta["how"] == "recorded" and meta["quick"] is False, f"{path.name}: not a default run"
        assert not build.is_stale(path), f"{path.name} changed since its recorded run: " \
                                         f"python -m tinywgan.book record {number}"
        text = "".join(o.get("text", "") for c in recorded.cells if c.cell_type == "code" for o in c.outputs)
        assert "QUICK RUN" not in text and "Traceback" not in text and "\r" not in text


def test_a_failed_build_leaves_the_earlier_book_and_no_scratch(tmp_path, monkeypatch):
    out = tmp_path / "book"
    out.mkdir()
    (out / ".buildinfo").write_text("an earlier book")
    (out / "index.html").write_text("earlier")

    def fail(*args, **kwargs):
        raise RuntimeError("a chapter failed")
    monkeypatch.setattr(build, "stage", fail)
    with pytest.raises(RuntimeError, match="a chapter failed"):
        build.build(out, log=lambda *a: None)
    assert (out / "index.html").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book"]


def test_an_out_folder_that_is_no_book_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="not an earlier book"):
        build.build(tmp_path, log=lambda *a: None)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_command_line_refuses_an_unknown_chapter_and_bad_jobs(capsys):
    with pytest.raises(SystemExit):
        build.main(["record", "10"])
    assert "no chapter numbered '10'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build.main(["record", "1"])
    assert "chapter 01 runs when the book is built; record takes 06 07 08 09" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build.main(["--jobs", "0"])
    assert "--jobs must be >= 1; got 0" in capsys.readouterr().err


def test_without_the_book_extra_the_build_says_what_to_install(monkeypatch, tmp_path):
    import importlib.util
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "myst_nb" else find_spec(name, *a))
    with pytest.raises(SystemExit, match=r"myst_nb missing\): python -m pip install -e \"\.\[book\]\""):
        build.build(tmp_path / "book", log=lambda *a: None)
    assert not (tmp_path / "book").exists()


def test_progress_bar_redraws_collapse_to_what_a_terminal_shows():
    assert notebooks.collapse_carriage_returns("\r 10%|#\r 50%|##\r100%|###| 3/3\nnext\r") == "100%|###| 3/3\nnext"
    assert notebooks.collapse_carriage_returns("plain\nlines\n") == "plain\nlines\n"
    cell = nbformat.v4.new_code_cell("run()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a\n"), nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="\r 50%\r"), nbformat.v4.new_output("stream", name="stderr", text="\n"),
        nbformat.v4.new_output("stream", name="stdout", text="\x1b[1mc\x1b[0m\n")])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    notebooks.tidy_outputs(notebook)
    assert [(o.name, o.text) for o in cell.outputs] == [("stdout", "a\nb\n"), ("stderr", " 50%\n"), ("stdout", "c\n")]


# The book in a real browser.

def chromium() -> str:
    """The Chromium to drive; a skip that says why where there is none, or a failure where
    ``TINYWGAN_BROWSER=required`` (``.ci/run`` sets it once it has installed Chromium)."""
    give_up = pytest.fail if os.environ.get("TINYWGAN_BROWSER") == "required" else pytest.skip
    found = os.environ.get("TINYWGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        give_up("no Chromium: install Debian's `chromium` package (.ci/run does) or set TINYWGAN_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        give_up("the playwright package is missing: python -m pip install -e '.[dev]'")
    return found


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


class Visit:
    """A page opened in Chromium, with every console error and every request that would leave the machine
    (anything but file://, which is aborted) recorded."""

    def __init__(self, browser, width: int, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors, self.outside = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, path: Path):
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def close(self):
        self.context.close()


RAW_MATH = r"""(() => {
  const unread = Array.from(document.querySelectorAll('code.tex')).map(e => e.textContent);  // latex2mathml failed
  const leftover = Array.from(document.querySelectorAll('math')).map(m => m.textContent)
      .filter(t => /\\([A-Za-z]+|[{}|])/.test(t));  // a TeX command left inside the MathML
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, .highlight').forEach(e => e.remove());
  return unread.concat(leftover, body.textContent.match(/\$[^$\n]{1,80}\$/g) || []);
})()"""
MATH = r"""Array.from(document.querySelectorAll('math')).filter(m => m.checkVisibility()).map(m => {
  const r = m.getBoundingClientRect(); return [getComputedStyle(m).display, r.width > 0 && r.height > 0];
})"""  # formulas on screen (not in a collapsed menu): laid out by the browser as MathML, with a size
IMAGES = "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"


def test_every_page_opens_cleanly_in_chromium(book, browser):
    """Every page of the book: no console error, no request leaving the machine, every image loaded, math
    drawn as MathML (the browser lays it out as math) and no raw $...$ left in the text."""
    visit = Visit(browser, 1280)
    pages = sorted(book.rglob("*.html"))
    with_math = []
    try:
        for path in pages:
            page = visit.open(path)
            name = str(path.relative_to(book))
            assert page.evaluate(IMAGES) == [], f"{name}: images that did not load"
            assert page.evaluate(RAW_MATH) == [], f"{name}: LaTeX left as text"
            math = page.evaluate(MATH)
            assert all(display.endswith("math") and drawn for display, drawn in math), f"{name}: {math[:3]}"
            if math:
                with_math.append(name)
        assert visit.errors == [], visit.errors
        assert visit.outside == [], visit.outside
    finally:
        visit.close()
    for chapter in CHAPTERS:
        assert f"chapters/{chapter.stem}.html" in with_math, f"{chapter.name}: no math on its page"
    assert "index.html" in with_math and "source/tinywgan.engine.backprop.html" in with_math


def _boxes(page):
    return page.evaluate("""Array.from(document.querySelectorAll('.row')).filter(r =>
        r.querySelector('.notes').textContent.trim() && r.querySelector('.code pre')).slice(0, 8).map(r => {
        const n = r.querySelector('.notes').getBoundingClientRect(), c = r.querySelector('.code').getBoundingClientRect();
        return {nl: n.left, nr: n.right, nt: n.top, nb: n.bottom, cl: c.left, ct: c.top, cw: c.width};
    })""")


@pytest.mark.parametrize("width, side_by_side", [(1280, True), (390, False)], ids=["desktop", "phone"])
def test_annotated_pages_put_notes_beside_code_on_a_wide_screen_and_stack_them_on_a_phone(
        book, browser, width, side_by_side):
    visit = Visit(browser, width, 900 if side_by_side else 844)
    try:
        for name in ("tinywgan.engine.backprop", "tinywgan.wgan.lipschitz", "tinywgan.wgan.trainer"):
            boxes = _boxes(visit.open(book / "source" / f"{name}.html"))
            assert len(boxes) >= 3, name
            for b in boxes:
                if side_by_side:
                    assert b["nr"] <= b["cl"] + 1 and abs(b["nt"] - b["ct"]) < 1, (name, b)
                else:
                    assert b["ct"] >= b["nb"] - 1 and abs(b["nl"] - b["cl"]) < 1 and b["cw"] >= width - 20, (name, b)
        if not side_by_side:  # nothing wider than a phone: wide code and formulas scroll inside their boxes
            for path in sorted(book.rglob("*.html")):
                page = visit.open(path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, path.relative_to(book)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        kind = "desktop" if side_by_side else "phone"
        visit.open(book / "index.html").screenshot(path=str(SCREENSHOTS / f"landing-{kind}.png"))
        page = visit.open(book / "chapters" / "07_wgan_gradient_penalty.html")
        page.locator("img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"chapter07-figure-{kind}.png"))
        visit.open(book / "chapters" / "04_kantorovich_rubinstein_critic.html").screenshot(
            path=str(SCREENSHOTS / f"chapter04-math-{kind}.png"))
        page = visit.open(book / "source" / "tinywgan.wgan.lipschitz.html")
        page.locator(".row math").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"annotated-lipschitz-{kind}.png"))
        assert visit.errors == [] and visit.outside == []
    finally:
        visit.close()
