"""``python -m tinywgan.book``: build the book. ``python -m tinywgan.book record [NN ...]``: record chapters.

See :mod:`tinywgan.book.build` for what the book holds and :mod:`tinywgan.book.notebooks` for the recorded runs.
"""
from tinywgan.book.build import main

raise SystemExit(main())
