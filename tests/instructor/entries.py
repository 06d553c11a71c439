"""Catalogue entries kept beside a layer's own files: every module ``tests/instructor/
entries_*.py`` defines ``CORRECT`` (``Substitute``s) and ``WRONG`` (``WrongImplementation``s)
for its layer's task, and the two catalogues (``correct_implementations``,
``wrong_implementations``) take them in. A layer added with its own files brings its entries in
a file of its own."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def entries(kind: str) -> tuple:
    """The ``kind`` ("CORRECT" or "WRONG") entries of every ``entries_*`` module, by name."""
    found = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        if info.name.startswith("entries_"):
            found += getattr(importlib.import_module(f"{__package__}.{info.name}"), kind)
    return tuple(found)
