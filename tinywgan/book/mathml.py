"""Math as MathML, rendered when the book is built: the pages load no script, style or font to show it.

Chromium, Firefox and Safari draw MathML Core natively, so a page works offline with nothing to download. Sphinx
renders math with MathJax from a CDN by default; KaTeX or a MathJax copy would need a JavaScript runtime at
build time or a script in every page. latex2mathml (pure Python) turns each formula's LaTeX into MathML
instead: the annotated source pages (:mod:`tinywgan.book.annotate`) call :func:`to_mathml`, and the chapter
pages get it through the Sphinx extension this module also is (``extensions = ["tinywgan.book.mathml"]`` and
``html_math_renderer = "mathml"`` in ``conf.py``).
"""
from __future__ import annotations

import html
import re
from xml.etree import ElementTree

from latex2mathml.converter import convert


LIMITS = {"min", "max", "sup", "inf", "lim", "argmin", "argmax", "arg min", "arg max"}


class UnreadableMath(ValueError):
    """latex2mathml could not turn a formula into MathML (or left a TeX command in it)."""


def convert_strict(latex: str, display: bool = False) -> str:
    """``latex`` as a ``<math>`` element; :class:`UnreadableMath` when latex2mathml fails or leaves a TeX
    command in its output (as it does for the braces of ``\\Big\\{``, which are mended here). In a displayed
    formula, the limits of min/max/sup/inf/lim go under the operator, as TeX sets them."""
    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception as err:  # latex2mathml raises many kinds of errors on TeX it does not know
        raise UnreadableMath(f"{type(err).__name__}: {err}") from None
    mathml = re.sub(r' xmlns="[^"]*"', "", mathml)  # HTML needs no namespace, and then no URL is left in the page
    mathml = mathml.replace(">\\{<", ">{<").replace(">\\}<", ">}<").replace(">\\|<", ">&#x02016;<")
    try:
        root = ElementTree.fromstring(mathml)
    except ElementTree.ParseError as err:  # e.g. a control character in the TeX (a "\\a" read as BEL)
        raise UnreadableMath(f"latex2mathml wrote markup that does not parse ({err})") from None
    if display:
        for node in root.iter("msub"):
            base = node[0] if len(node) else None
            if base is not None and base.tag == "mo" and (base.text or "").strip() in LIMITS:
                node.tag = "munder"
    text = "".join(root.itertext())
    if leftover := re.search(r"\\[A-Za-z]+|\\[{}|]", text):
        raise UnreadableMath(f"latex2mathml left {leftover.group(0)!r} in its output")
    return ElementTree.tostring(root, encoding="unicode")


def to_mathml(latex: str, display: bool = False) -> str:
    """``latex`` as a ``<math>`` element (``display="block"`` for a displayed formula). A formula that
    latex2mathml cannot read is shown as its TeX in ``<code class="tex">`` rather than failing the build (the
    annotated-source tests and the book's Sphinx warnings catch it)."""
    try:
        return convert_strict(latex, display)
    except UnreadableMath:
        return f'<code class="tex">{html.escape(latex)}</code>'


# The Sphinx side: a math renderer registered as "mathml".

def _render(node, display: bool) -> str:
    """The node's formula as MathML; a formula latex2mathml cannot read is a Sphinx warning (the build reports
    it, the book's test fails on it) and shows as its TeX."""
    try:
        return convert_strict(node.astext(), display)
    except UnreadableMath as err:
        from sphinx.util import logging
        logging.getLogger(__name__).warning(f"math not rendered: {err}: {node.astext()!r}", location=node)
        return f'<code class="tex">{html.escape(node.astext())}</code>'


def _visit_inline(translator, node) -> None:
    from docutils import nodes
    translator.body.append(_render(node, display=False))
    raise nodes.SkipNode


def _visit_block(translator, node) -> None:
    from docutils import nodes
    mathml = _render(node, display=True)
    if node.get("number"):  # a numbered equation (amsmath, a label): keep its anchor and show the number
        anchor = f' id="{html.escape(node["ids"][0])}"' if node.get("ids") else ""
        translator.body.append(f'<div class="math-block"{anchor}>{mathml}<span class="eqno">({node["number"]})'
                               f'</span></div>')
    else:
        translator.body.append(f'<div class="math-block">{mathml}</div>')
    raise nodes.SkipNode


def setup(app):
    """Sphinx extension entry point: registers the "mathml" HTML math renderer."""
    app.add_html_math_renderer("mathml", (_visit_inline, None), (_visit_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
