"""Grade catalogue entries in place of the solution: ``substituted(entry)`` puts the entry's
implementations in place of the task's functions in every nndl module that holds them, while a
block runs (``tests/instructor/test_catalogues.py`` grades each entry with ``check_task`` so).
"""

from __future__ import annotations

import contextlib
import importlib
import sys


def catalogue_entry(spec: str):
    """The entry named by ``spec``: "correct:NAME" or "wrong:NAME"."""
    from tests.instructor import correct_implementations, wrong_implementations

    kind, _, name = spec.partition(":")
    catalogue = {"correct": correct_implementations, "wrong": wrong_implementations}[kind].CATALOGUE
    (entry,) = [entry for entry in catalogue if entry.name == name]
    return entry


def _nndl_modules():
    return [
        loaded
        for name, loaded in list(sys.modules.items())
        if (name == "nndl" or name.startswith("nndl.")) and loaded is not None
    ]


@contextlib.contextmanager
def substituted(entry):
    """``entry``'s implementations in place of the task's functions of the same names (its
    ``argument`` and its companions) while the block runs; yields the originals by name. On the
    way out every nndl module gets the originals back, also one first imported inside the
    block."""
    from nndl.lab import TASKS

    module = importlib.import_module(TASKS[entry.task].module)
    originals = {argument: getattr(module, argument) for argument in entry.implementations}
    for loaded in _nndl_modules():
        for argument, implementation in entry.implementations.items():
            if getattr(loaded, argument, None) is originals[argument]:
                setattr(loaded, argument, implementation)
    try:
        yield originals
    finally:
        for loaded in _nndl_modules():
            for argument, implementation in entry.implementations.items():
                if getattr(loaded, argument, None) is implementation:
                    setattr(loaded, argument, originals[argument])
