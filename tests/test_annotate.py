"""The annotated-source generator (tinywgan.book.annotate): blocks, math, anchors, imports, offline pages."""
import ast
import re
import textwrap

import pytest

pytest.importorskip("pygments")
pytest.importorskip("markdown_it")
pytest.importorskip("mdit_py_plugins")
pytest.importorskip("latex2mathml")

from tinywgan.book import annotate  # noqa: E402

SMALL = textwrap.dedent('''\
    """A small module: the intro, with ``inline code``."""
    import math
    from .helper import twice

    # The scale: a comment before the code it explains.
    # It spans two lines.
    SCALE = 2.0
    OFFSET = 1.0


    def square(x):
        r"""The square, $x^2$, of ``x``.

        $$\\int f$$
        """
        return x * x  # trailing comment stays in the code


    class Box:
        """A box around a value, made by :func:`square`; for example::

            >>> Box().value()
            5.0
        """

        # the value it holds
        def value(self):
            v = square(SCALE)
            # inside a function, a run of comment lines starts a block of its own
            return v + twice(OFFSET)
    ''')
HELPER = 'def twice(x):\n    return 2 * x\n'


def _rows(page):
    """Each row's notes and code (as text) in page order."""
    notes = re.findall(r'<div class="notes">(.*?)</div><div class="code">', page, re.S)
    code = re.findall(r'<div class="code">(.*?)</div></div>', page, re.S)
    text = lambda h: re.sub(r"<[^>]+>", "", h)
    return [(text(n), text(c)) for n, c in zip(notes, code)]


@pytest.fixture
def small_site(tmp_path):
    pkg = tmp_path / "src" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "small.py").write_text(SMALL)
    (pkg / "helper.py").write_text(HELPER)
    out = tmp_path / "out"
    pages = annotate.build(out, [pkg / "small.py", pkg / "helper.py"])
    return out, pages


def test_small_module_blocks_in_order(small_site):
    out, pages = small_site
    assert [p.name for p in pages] == ["pkg.small.html", "pkg.helper.html"]
    page = (out / "pkg.small.html").read_text()
    rows = _rows(page)
    assert page.count('<div class="row">') == len(rows) == 6  # imports, constants, square, Box, Box.value x2
    notes, code = zip(*rows)
    assert "import math" in code[0] and notes[0] == ""
    assert "The scale" in notes[1] and "two lines" in notes[1] and "SCALE = 2.0" in code[1] and "OFFSET" in code[1]
    assert "The square" in notes[2] and "def square(x):" in code[2] and "The square" not in code[2]
    assert "# trailing comment stays in the code" in code[2]
    assert "A box around" in notes[3] and "class Box:" in code[3] and "::" not in notes[3]
    assert '<a href="#square"><code>square</code></a>' in page  # an RST role, linked to its definition
    assert '<code class="language-python">&gt;&gt;&gt; Box().value()\n5.0' in page  # a doctest, not a quote
    assert "the value it holds" in notes[4] and "def value(self):" in code[4] and "return" not in code[4]
    assert "a block of its own" in notes[5] and code[5].strip() == "return v + twice(OFFSET)"
    # the module docstring is the full-width intro, before the rows; RST double backticks are inline code
    intro = re.search(r'<section class="intro">(.*?)</section>', page, re.S).group(1)
    assert "A small module" in intro and "<code>inline code</code>" in intro
    assert page.index('class="intro"') < page.index('class="row"')


def test_math_is_mathml_and_no_dollar_left(small_site):
    out, _ = small_site
    page = (out / "pkg.small.html").read_text()
    notes = "".join(re.findall(r'<div class="notes">(.*?)</div><div class="code">', page, re.S))
    assert notes.count("<math") == 2 and 'display="block"' in notes and "<msup>" in notes
    assert "$" not in notes
    assert "<code>x</code>" in notes


def test_anchors_imports_links_and_offline(small_site):
    out, _ = small_site
    page = (out / "pkg.small.html").read_text()
    for anchor in ("square", "Box", "Box.value", "SCALE", "OFFSET"):
        assert f'id="{anchor}"' in page
    imports = re.search(r'<section class="imports">(.*?)</section>', page, re.S).group(1)
    assert "<code>math</code>" in imports
    assert '<a href="pkg.helper.html"><code>pkg.helper</code></a>' in imports
    assert 'href="pkg.helper.html#twice"' in imports
    assert '<a class="n" href="#square">square</a>' in page  # names in the code link to their definitions
    assert '<a class="n" href="pkg.helper.html#twice">twice</a>' in page
    for name in ("pkg.small.html", "pkg.helper.html", "index.html"):
        html = (out / name).read_text()
        assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', html), name
        assert "<script" not in html and "<link" not in html
    assert re.search(r"@media \(min-width: ?900px\)", page)
    assert 'href="pkg.small.py"' in page and (out / "pkg.small.py").read_text() == SMALL
    index = (out / "index.html").read_text()
    assert index.index("pkg.small.html") < index.index("pkg.helper.html")


def test_default_modules_render(tmp_path):
    pages = annotate.build(tmp_path)
    assert [p.name for p in pages] == [annotate.module_name(annotate.ROOT / m) + ".html"
                                       for m in annotate.DEFAULT_MODULES]
    for rel, page in zip(annotate.DEFAULT_MODULES, pages):
        html = page.read_text()
        assert html.count('<div class="row">') > 3, page.name
        tree = ast.parse((annotate.ROOT / rel).read_text())
        defs = [n.name for n in tree.body if isinstance(n, annotate.DEFS)]
        defs += [f"{c.name}.{n.name}" for c in tree.body if isinstance(c, ast.ClassDef)
                 for n in c.body if isinstance(n, annotate.DEFS)]
        assert defs and all(f'id="{d}"' in html for d in defs), page.name
        assert not re.search(r'src\s*=\s*["\']?\s*(?:https?:)?//', html)
    assert (tmp_path / "index.html").exists()


def test_a_comment_opening_a_function_without_docstring_is_its_note(tmp_path):
    module = tmp_path / "cube.py"
    module.write_text("def cube(x):\n    # $x^3$, the note of what follows\n    return x * x * x\n")
    rows = _rows(annotate.build(tmp_path / "out", [module])[0].read_text())
    assert [code.strip() for _, code in rows] == ["def cube(x):", "return x * x * x"]
    assert "the note of what follows" in rows[1][0] and "$" not in rows[1][0] and "x^3" not in rows[1][1]


def test_a_parameter_is_not_linked_to_the_function_of_its_name_and_section_titles_are_headings(tmp_path):
    module = tmp_path / "scope.py"
    module.write_text("def grad(x):\n    return x\n\n\nclass Box:\n    # -- what it holds ----------\n"
                      "    def backward(self, grad):\n        return grad(1) if callable(grad) else grad\n\n\n"
                      "def use(y):\n    return grad(y)\n")
    page = annotate.build(tmp_path / "out", [module])[0].read_text()
    rows = re.findall(r'<div class="row">(.*?)</div></div>', page, re.S)
    backward = next(r for r in rows if ">backward<" in r)
    use = next(r for r in rows if ">use<" in r)
    assert 'href="#grad"' not in backward and 'href="#grad"' in use
    assert "<h3>what it holds</h3>" in page


def test_every_formula_of_the_default_modules_renders(tmp_path):
    """No formula falls back to its TeX (latex2mathml could not read it) and no $ is left in the notes."""
    for page in annotate.build(tmp_path):
        html = page.read_text()
        notes = "".join(re.findall(r'<div class="notes">(.*?)</div><div class="code">', html, re.S))
        intro = re.search(r'<section class="intro">(.*?)</section>', html, re.S).group(1)
        assert 'class="tex"' not in html, page.name
        assert "$" not in re.sub(r"<code>.*?</code>", "", notes + intro, flags=re.S), page.name
    assert "<math" in (tmp_path / "tinywgan.wgan.lipschitz.html").read_text()


def test_command_line(tmp_path, capsys):
    annotate.main([str(tmp_path), "tinywgan/optim.py"])
    assert (tmp_path / "tinywgan.optim.html").exists() and (tmp_path / "index.html").exists()
    assert "wrote 1 pages" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        annotate.main([str(tmp_path), "tinywgan/no_such_module.py"])
    assert "no such module file: tinywgan/no_such_module.py" in capsys.readouterr().err


def test_mathml_mends_what_latex2mathml_garbles_and_refuses_what_it_cannot_read():
    from tinywgan.book.mathml import UnreadableMath, convert_strict, to_mathml
    braces = convert_strict(r"\Big\{ x \Big\}", display=True)
    assert ">{<" in braces and ">}<" in braces and "\\" not in braces
    assert "<munder><mo>min</mo>" in convert_strict(r"\min_{x} f(x)", display=True)  # limits under, as TeX
    assert "<msub><mo>min</mo>" in convert_strict(r"\min_{x} f(x)")  # beside, inline
    for bad in (r"\frac{a}{", "\x07lpha"):  # unbalanced; a "\a" that Python read as BEL
        with pytest.raises(UnreadableMath):
            convert_strict(bad)
        assert to_mathml(bad).startswith('<code class="tex">')
