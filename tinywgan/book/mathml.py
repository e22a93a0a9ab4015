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

from latex2mathml.converter import convert


def to_mathml(latex: str, display: bool = False) -> str:
    """``latex`` as a ``<math>`` element (``display="block"`` for a displayed formula). A formula that
    latex2mathml cannot read is shown as its TeX in ``<code class="tex">`` rather than failing the build."""
    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception:
        return f'<code class="tex">{html.escape(latex)}</code>'
    return re.sub(r' xmlns="[^"]*"', "", mathml)  # HTML needs no namespace, and then no URL is left in the page


# The Sphinx side: a math renderer registered as "mathml".

def _visit_inline(translator, node) -> None:
    from docutils import nodes
    translator.body.append(to_mathml(node.astext()))
    raise nodes.SkipNode


def _visit_block(translator, node) -> None:
    from docutils import nodes
    latex = node.astext()
    if node.get("number"):  # an equation numbered by amsmath / a label: keep the anchor and show the number
        translator.body.append(f'<div class="math-block" id="{html.escape(node["ids"][0] if node["ids"] else "")}">')
        translator.body.append(to_mathml(latex, display=True))
        translator.body.append(f'<span class="eqno">({node["number"]})</span></div>')
    else:
        translator.body.append(f'<div class="math-block">{to_mathml(latex, display=True)}</div>')
    raise nodes.SkipNode


def setup(app):
    """Sphinx extension entry point: registers the "mathml" HTML math renderer."""
    app.add_html_math_renderer("mathml", (_visit_inline, None), (_visit_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
