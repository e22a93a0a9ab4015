"""Sphinx configuration of the book. Build it with ``python -m tinywgan.book`` (see tinywgan/book/build.py):
that command stages this folder with the chapters as executed notebooks, the annotated source and the gradient
checks' page, then runs Sphinx on it. Running ``sphinx-build`` on this folder alone gives the landing page only.
"""
project = "tinywgan"
author = "the tinywgan authors"
copyright = "2026, the tinywgan authors"

extensions = [
    "myst_nb",                 # notebooks (the chapters, already executed) and Markdown pages
    "tinywgan.book.mathml",    # math as MathML at build time: no script, style or font from the network
]
html_math_renderer = "mathml"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True
nb_execution_mode = "off"      # the build executes chapters 01-05 itself; 06-09 come from recorded runs
nb_output_stderr = "show"      # progress bars end on stderr, as in a terminal

exclude_patterns = ["_build", "recorded", "chapters/download", "**.ipynb_checkpoints"]  # download: files, not pages
html_theme = "furo"
html_title = "tinywgan: Wasserstein GANs from scratch"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_extra_path = ["_extra"]   # the annotated source pages, copied as they are (book/source/)
html_show_sourcelink = False
html_copy_source = False
html_show_search_summary = False  # the summaries are fetched, which a browser refuses for file:// pages
