"""The book's generators. :mod:`.annotate` renders a module as notes beside code (the annotated source pages).

Needs the ``book`` extra (``pip install -e ".[book]"``, included in ``.[dev]``).
"""
