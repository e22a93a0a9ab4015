"""Annotated source: each module as one static HTML page, notes beside the code they explain (nn.labml.ai style).

``python -m tinywgan.book.annotate OUT_DIR [module.py ...]`` writes one page per module (named by its dotted
name, ``tinywgan.engine.tensor.html``), a copy of each plain ``.py`` beside it, and ``index.html`` listing the
pages in the story's order (the default modules, or those given).

How a module is cut. The module docstring is the page's full-width intro. Then the page is a sequence of rows,
one per block: notes on the left, code on the right (stacked, notes first, on a screen under 900 px). Blocks
are cut at top-level statements and, one level down, at the statements of a class body. A block's notes are the
``#`` comment lines just before its first statement plus, for a ``def``/``class``, its docstring (taken out of
the code). A statement that brings no notes and is no ``def``/``class`` joins the block above it, so a
commented group of assignments stays one block. Inside a function, each run of comment lines starts a
new block with those lines as its notes; trailing comments (after code on a line) stay in the code. Every top-level name a block defines gets an ``id`` (``tensor.html#Tensor``, ``#Tensor.backward`` for a
method); names in the code that are defined here or imported from another page link there, and each page lists
what it imports from which module, with links to the pages of the set.

Notes are Markdown (markdown-it-py, CommonMark) with math: ``$...$`` and ``$$...$$`` (mdit-py-plugins'
dollarmath) are turned into MathML at build time by latex2mathml, so the page loads no script, style or font
from anywhere and works offline. RST-isms of the docstrings are understood: ````code```` is already Markdown's
inline code, and roles like ``:func:`tinywgan.engine.ops.sum_to``` become code, linked when the name has a page.
Code is highlighted by Pygments (HTML with CSS classes, the stylesheet embedded in the page).

Why hand-written: no maintained package renders a Python module as notes-beside-code with math (pycco is
unmaintained since 2019 and has no math; labml's generator is unpublished). This file only cuts the module
into blocks and lays them out; the libraries above do the rendering.
"""
from __future__ import annotations

import argparse
import ast
import html
import io
import re
import shutil
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from tinywgan.book.mathml import to_mathml

ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the tinywgan package
DEFAULT_MODULES = [  # the story's order: transport and divergences, the tensor, the graph walk, the ops, their
    # checks, the layers and optimizers, then the WGAN
    "tinywgan/transport/ot.py", "tinywgan/transport/divergences.py",
    "tinywgan/engine/tensor.py", "tinywgan/engine/backprop.py", "tinywgan/engine/ops/elementwise.py",
    "tinywgan/engine/ops/axes.py", "tinywgan/engine/gradcheck.py", "tinywgan/nn.py", "tinywgan/optim.py",
    "tinywgan/wgan/losses.py", "tinywgan/wgan/lipschitz.py", "tinywgan/wgan/trainer.py",
]
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Block:
    notes: str  # Markdown
    code: str
    anchors: list[str] = field(default_factory=list)
    local: set[str] = field(default_factory=set)  # names local to the function it is part of: not linked


def _local_names(fn) -> set[str]:
    """The parameters of a function and the names it assigns (a parameter ``grad`` is not the function grad)."""
    if isinstance(fn, ast.ClassDef):
        return set()
    args = fn.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not fn:
            inner = node.args
            names |= {a.arg for a in inner.posonlyargs + inner.args + inner.kwonlyargs}
    return names


@dataclass
class Module:
    name: str  # dotted, e.g. tinywgan.engine.tensor
    path: Path
    source: str
    intro: str
    blocks: list[Block]
    imports: list[tuple[str, tuple[str, ...]]]  # (module, names imported from it); () for `import module`

    @property
    def page(self) -> str:
        return self.name + ".html"

    @property
    def summary(self) -> str:
        """The intro's first paragraph, on one line (what an index shows of the module)."""
        return " ".join(self.intro.strip().split("\n\n")[0].split())

    @property
    def anchors(self) -> set[str]:
        return {a for b in self.blocks for a in b.anchors}


def module_name(path: Path) -> str:
    """The dotted name of a module file, found by walking up the folders that hold an ``__init__.py``."""
    path = path.resolve()
    parts, folder = ([] if path.stem == "__init__" else [path.stem]), path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def _comment_notes(lines: list[str]) -> str:
    """Markdown from the comment lines among ``lines`` (a blank line between comments keeps a paragraph break)."""
    out: list[str] = []
    for line in (s.strip() for s in lines):
        if line.startswith("#") and not line.startswith(("#!", "# -*-")):
            text = line[2:] if line.startswith("# ") else line[1:]
            if re.fullmatch(r"[-=]{10,}", text):  # a section rule: the comment line under it is a heading
                out += ["", "## "]
            elif m := re.fullmatch(r"-- (.+?) -{3,}", text):  # a class's section title: -- what it holds ----
                out += ["", f"### {m.group(1)}", ""]
            elif out and out[-1] == "## ":
                out[-1] += text
            else:
                out.append(text)
        elif not line and out:
            out.append("")
    return "\n".join(out).strip()


def _docstring_node(node):
    body = getattr(node, "body", None)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[0]
    return None


def _cut(body: list[ast.stmt], lines: list[str], prev_end: int, prefix: str, blocks: list[Block],
         comments: set[int]) -> None:
    """Append the blocks of a module or class body; ``prev_end`` is the last line (1-based) already shown;
    ``comments`` holds the numbers of the lines that are nothing but a comment."""
    for stmt in body:
        start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        if start <= prev_end:  # a second statement on a line already shown (a; b)
            continue
        notes = _comment_notes(lines[prev_end:start - 1])
        doc = _docstring_node(stmt) if isinstance(stmt, DEFS) else None
        if doc is not None:
            notes = "\n\n".join(filter(None, [notes, ast.get_docstring(stmt)]))
        if isinstance(stmt, DEFS):
            anchors = [prefix + stmt.name]
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            anchors = [prefix + t.id for t in targets if isinstance(t, ast.Name)]
        else:
            anchors = []
        if isinstance(stmt, ast.ClassDef) and not prefix and stmt.body[0].lineno > start:
            # a class: its header (and docstring) is one block, then each statement of its body is cut alone
            header_end = stmt.body[0].lineno - 1
            while header_end > start and (not lines[header_end - 1].strip() or lines[header_end - 1].strip()
                                          .startswith("#")):
                header_end -= 1
            blocks.append(Block(notes, "\n".join(lines[start - 1:header_end]), anchors))
            rest = stmt.body[1:] if doc is not None else stmt.body
            _cut(rest, lines, doc.end_lineno if doc is not None else header_end, stmt.name + ".", blocks, comments)
            prev_end = stmt.end_lineno
            continue
        numbered = [(n, lines[n - 1]) for n in range(start, stmt.end_lineno + 1)
                    if doc is None or not doc.lineno <= n <= doc.end_lineno]  # the docstring is in the notes
        if doc is not None and len(stmt.body) == 1:  # nothing but the docstring: keep the code valid-looking
            numbered.insert(doc.lineno - start, (0, lines[doc.lineno - 1][:doc.col_offset] + "..."))
        code = [line for _, line in numbered]
        if isinstance(stmt, DEFS):  # a function: each run of comment lines in its body starts a new block
            body_start = doc.end_lineno if doc is not None else stmt.body[0].lineno - 1
            while doc is None and body_start > start and (body_start in comments or not lines[body_start - 1].strip()):
                body_start -= 1  # no docstring: comments between the signature and the first statement are notes
            local = _local_names(stmt)
            blocks.append(Block(notes, "", anchors, local))
            for n, line in numbered:
                if n in comments and n > body_start:
                    if blocks[-1].code.strip():  # the first line of a run
                        blocks.append(Block("", "", local=local))
                    blocks[-1].notes += line.strip()[1:].strip() + "\n"
                else:
                    blocks[-1].code += ("\n" if blocks[-1].code else "") + line
        elif notes or not blocks:
            blocks.append(Block(notes, "\n".join(code), anchors))
        else:  # no notes of its own: it belongs to the block above (blank lines between kept)
            blocks[-1].code += "\n" + "\n".join(lines[prev_end:start - 1] + code)
            blocks[-1].anchors += anchors
            blocks[-1].local |= _local_names(stmt) if isinstance(stmt, DEFS) else set()
        prev_end = stmt.end_lineno
    tail = _comment_notes(lines[prev_end:]) if not prefix else ""
    if tail:  # comments after the last statement of the module
        blocks.append(Block(tail, ""))


def _imports(tree: ast.Module, name: str, is_package: bool) -> list[tuple[str, tuple[str, ...]]]:
    """What the module imports, from which module (relative imports made absolute), in order of first use."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, [])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            names = found.setdefault(base, [])
            names += [a.name for a in node.names if a.name not in names]
    return [(m, tuple(n)) for m, n in found.items() if m != "__future__"]


def parse(path: Path) -> Module:
    """Cut one module file into its intro, blocks and imports."""
    source = path.read_text(encoding="utf-8")
    tree, lines = ast.parse(source), source.splitlines()
    name = module_name(path)
    doc = _docstring_node(tree)
    comments = {t.start[0] for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type == tokenize.COMMENT and t.line.lstrip().startswith("#")}
    blocks: list[Block] = []
    _cut(tree.body[1:] if doc else tree.body, lines, doc.end_lineno if doc else 0, "", blocks, comments)
    return Module(name, path, source, ast.get_docstring(tree) or "", blocks,
                  _imports(tree, name, path.stem == "__init__"))


class Site:
    """The set of pages being built: resolves names to links and renders each page."""

    def __init__(self, modules: list[Module], book_link: str | None = None, index_link: str = "index.html"):
        self.book_link = book_link  # the book's landing page, when the pages are part of it
        self.index_link = index_link  # the list of all pages (the book has its own)
        self.modules = {m.name: m for m in modules}
        owners: dict[str, list[Module]] = {}
        for m in modules:
            for anchor in m.anchors:
                owners.setdefault(anchor, []).append(m)
        self.unique = {a: ms[0] for a, ms in owners.items() if len(ms) == 1}  # a name defined on one page only
        self.md = MarkdownIt("commonmark", {"html": False}).enable("table")
        dollarmath_plugin(self.md, allow_digits=False, renderer=self._math)

    @staticmethod
    def _math(latex: str, options: dict) -> str:
        return to_mathml(latex, display=options["display_mode"])

    def href(self, module: str, name: str = "", here: Module | None = None) -> str | None:
        """A link to ``module.name`` (a page, or an anchor on one); None when it is not in the set."""
        if name and f"{module}.{name}" in self.modules:
            return self.modules[f"{module}.{name}"].page
        if module in self.modules and (not name or name in self.modules[module].anchors):
            page = "" if self.modules[module] is here else self.modules[module].page
            return f"{page}#{name}" if name else page
        root = (here.name if here else module).split(".")[0]
        if name in self.unique and module.split(".")[0] == root:  # re-exported by a package: find its page
            return f"{self.unique[name].page}#{name}"
        return None

    def _role(self, match: re.Match, here: Module) -> str:
        """``:func:`a.b.c``` (RST) -> Markdown code, linked when a page defines it."""
        tilde, target = match.group(1), match.group(2)
        shown = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
        if target.startswith("."):
            package = here.name.split(".")[:-1] if here.path.stem != "__init__" else here.name.split(".")
            target = ".".join(package + [target.lstrip(".")])
        parts, link = target.split("."), None
        for i in range(len(parts), 0, -1):  # the longest prefix that is a page, the rest an anchor on it
            if ".".join(parts[:i]) in self.modules:
                link = self.href(".".join(parts[:i]), ".".join(parts[i:]), here)
                break
        if link is None:  # a name of this module, or one defined on a single page
            link = self.href(".".join(parts[:-1]) or here.name, parts[-1], here)
        return f"[`{shown}`]({link})" if link else f"`{shown}`"

    def notes(self, text: str, here: Module) -> str:
        """Docstring or comment text (Markdown, with a few RST habits) -> HTML."""
        text = re.sub(r":(?:py:)?[a-z]+:`(~?)([\w.]+)`", lambda m: self._role(m, here), text)
        text = re.sub(r"(\S)::$", r"\1:", re.sub(r"\s+::$", "", text, flags=re.M), flags=re.M)  # RST literal
        # doctest examples (>>> lines up to a blank line) as code, not Markdown quotes
        return self.md.render(re.sub(r"^(>>>.*(?:\n.+)*)", r"```python\n\1\n```", text, flags=re.M))

    def code(self, text: str, links: dict[str, str]) -> str:
        out = highlight(text, PythonLexer(), HtmlFormatter(nowrap=True))
        link = lambda m: f'<a class="n" href="{links[m.group(1)]}">{m.group(1)}</a>' if m.group(1) in links \
            else m.group(0)
        return re.sub(r'(?<!<span class="o">\.</span>)<span class="n">(\w+)</span>', link, out)

    def page(self, m: Module) -> str:
        links = {a: f"#{a}" for a in m.anchors if "." not in a}
        items = []
        for module, names in m.imports:
            for name in names:
                if (target := self.href(module, name, m)) and name not in links:
                    links[name] = target
            mod_link = self.href(module)
            mod = f'<a href="{mod_link}"><code>{module}</code></a>' if mod_link else f"<code>{module}</code>"
            shown = ", ".join(f'<a href="{t}"><code>{n}</code></a>' if (t := self.href(module, n, m))
                              else f"<code>{n}</code>" for n in names)
            items.append(f"<li>from {mod} import {shown}</li>" if names else f"<li>import {mod}</li>")
        rows = []
        for b in m.blocks:
            ids = "".join(f'<span id="{html.escape(a)}"></span>' for a in b.anchors)
            here = {k: v for k, v in links.items() if k not in b.local}
            code = f"<pre>{self.code(b.code.rstrip(), here)}</pre>" if b.code.strip() else ""
            rows.append(f'<div class="row"><div class="notes">{self.notes(b.notes, m) if b.notes else ""}</div>'
                        f'<div class="code">{ids}{code}</div></div>')
        imports = f'<section class="imports"><h2>Imports</h2><ul>{"".join(items)}</ul></section>' if items else ""
        return _html(m.name, f'<header><nav>{self._book()}<a href="{self.index_link}">All modules</a> · '
                     f'<a href="{m.name}.py">plain file</a></nav><h1><code>{m.name}</code></h1></header>'
                     f'<section class="intro">{self.notes(m.intro, m)}</section>{imports}'
                     f'<main>{"".join(rows)}</main><details class="plain"><summary>The plain file, '
                     f'<code>{m.path.name}</code></summary><pre>{html.escape(m.source)}</pre></details>')

    def _book(self) -> str:
        return f'<a href="{self.book_link}">The book</a> · ' if self.book_link else ""

    def module_list(self, folder: str = "") -> str:
        """The pages in the story's order, each with its module's summary, as an ``<ol>`` (``folder``: where
        the pages are, seen from the page that shows the list)."""
        return "<ol>" + "".join(f'<li><a href="{folder}{m.page}"><code>{m.name}</code></a>: '
                                f'{self.md.renderInline(m.summary)}</li>' for m in self.modules.values()) + "</ol>"

    def index(self) -> str:
        book = f'<nav><a href="{self.book_link}">The book</a></nav>' if self.book_link else ""
        return _html("Annotated source", f'<header>{book}<h1>tinywgan: the annotated source</h1></header><section '
                     f'class="intro"><p>Each module with its notes beside its code, in the order of the story.</p>'
                     f'{self.module_list()}</section>')


CSS = """
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
header,.intro,.imports,.plain{padding:8px 24px}
.intro,.imports{max-width:70em;overflow-x:auto} h1{font-size:1.5em;margin:.3em 0;overflow-wrap:anywhere}
h2{font-size:1.1em}
a{color:#0b5cad} nav a{margin-right:.5em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
p code,li code{font-size:.9em;background:#eff1f3;padding:0 .2em;border-radius:3px}
.row{display:grid;grid-template-columns:minmax(0,1fr);border-top:1px solid #e5e7eb}
.notes{padding:4px 24px;overflow-x:auto} .code{background:#f6f8fa;padding:8px 16px;overflow-x:auto}
.code pre{margin:0;font-size:13px;line-height:1.45} .code a{color:inherit;text-decoration:underline dotted}
.notes:empty{display:none} .row:has(span:target) .notes{background:#fff8c5}
math[display=block]{margin:.6em 0;overflow-x:auto} .plain pre{font-size:13px;overflow-x:auto}
@media (min-width: 900px){.row{grid-template-columns:minmax(0,2fr) minmax(0,3fr)} .notes:empty{display:block}}
"""


def _html(title: str, body: str) -> str:
    style = CSS + HtmlFormatter().get_style_defs(".code")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f"<style>{style}</style></head><body>{body}</body></html>\n")


def make_site(paths: list[Path] | None = None, book_link: str | None = None,
              index_link: str = "index.html") -> Site:
    """The modules at ``paths`` (default: :data:`DEFAULT_MODULES`), parsed. ``book_link``: the address of the
    book's landing page, linked from every page, when they are part of it; ``index_link``: where "All
    modules" leads (the book has its own list)."""
    return Site([parse(Path(p)) for p in paths or [ROOT / p for p in DEFAULT_MODULES]], book_link, index_link)


def write(site: Site, out_dir: Path) -> list[Path]:
    """Write a page (and the plain file) per module of ``site``, and index.html, into ``out_dir``; return the
    pages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for m in site.modules.values():
        (out_dir / m.page).write_text(site.page(m), encoding="utf-8")
        shutil.copyfile(m.path, out_dir / f"{m.name}.py")
        written.append(out_dir / m.page)
    (out_dir / "index.html").write_text(site.index(), encoding="utf-8")
    return written


def build(out_dir: Path, paths: list[Path] | None = None) -> list[Path]:
    """:func:`write` the pages of the modules at ``paths`` (default: :data:`DEFAULT_MODULES`) into ``out_dir``."""
    return write(make_site(paths), out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinywgan.book.annotate", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder for the pages (created if missing)")
    parser.add_argument("modules", nargs="*", type=Path, help=f"module files (default: {' '.join(DEFAULT_MODULES)})")
    args = parser.parse_args(argv)
    paths = [p if p.exists() else ROOT / p for p in args.modules]
    if missing := [str(p) for p, q in zip(args.modules, paths) if not q.is_file()]:
        parser.error(f"no such module file: {', '.join(missing)}")
    pages = build(args.out_dir, paths or None)
    print(f"wrote {len(pages)} pages and index.html to {args.out_dir}")


if __name__ == "__main__":
    main()
