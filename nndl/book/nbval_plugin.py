"""A pytest plugin for nbval: a measured value (``nndl.book.values``) that moved within the
tolerance its chapter states passes; everything else is compared exactly, as nbval does.

nbval executes every cell and compares each output with the committed one, character by
character, ignoring the outputs' metadata. This plugin wraps that comparison: before it, each
output of the cell that records measured values in its metadata, and differs from the committed
one only by values within their tolerance, takes the committed output's text
(``nndl.book.values.reconcile``). When the comparison fails, the report says which value moved
how far.

Loaded with ``-p nndl.book.nbval_plugin`` (``addopts`` in ``pyproject.toml``).
"""

from __future__ import annotations

import functools


def pytest_configure(config) -> None:
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # without nbval there is nothing to compare
        return
    if getattr(IPyNbCell.compare_outputs, "nndl_tolerant", False):
        return
    IPyNbCell.compare_outputs = tolerant(IPyNbCell.compare_outputs)


def tolerant(compare_outputs):
    """nbval's ``IPyNbCell.compare_outputs`` that first reconciles the measured values."""
    from nndl.book.values import reconcile

    @functools.wraps(compare_outputs)
    def compare(self, test, ref, skip_compare=None):
        notes = reconcile(test, ref)
        same = compare_outputs(self, test, ref, skip_compare)
        if not same and notes:
            self.comparison_traceback.append("measured values beyond their tolerance:")
            self.comparison_traceback.extend(f"  {note}" for note in notes)
        return same

    compare.nndl_tolerant = True
    return compare
