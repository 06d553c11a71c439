"""Grade one catalogue entry in place of the solution: a pytest plugin, and a context manager.

    NNDL_SUBSTITUTE=correct:relu_backward_by_masked_assignment \
        python -m pytest -p tests.instructor.substitute -m relu tests --ignore=tests/instructor

runs the student-facing tests of the relu task with that ``relu_backward``. The entry replaces
the function in its task's module and in every nndl module that imported it by name, before the
tests are imported: the tests see it as they would see a student's code.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys

ENVIRONMENT = "NNDL_SUBSTITUTE"


def catalogue_entry(spec: str):
    """The entry named by ``spec``: "correct:NAME" or "wrong:NAME"."""
    from tests.instructor import correct_implementations, wrong_implementations

    kind, _, name = spec.partition(":")
    catalogue = {"correct": correct_implementations, "wrong": wrong_implementations}[kind].CATALOGUE
    (entry,) = [entry for entry in catalogue if entry.name == name]
    return entry


@contextlib.contextmanager
def substituted(entry):
    """``entry``'s implementations in place of the task's functions of the same names (its
    ``argument`` and its companions) while the block runs."""
    from nndl.lab import TASKS

    module = importlib.import_module(TASKS[entry.task].module)
    replaced = []  # (module, argument, original)
    for argument, implementation in entry.implementations.items():
        original = getattr(module, argument)
        for name, loaded in list(sys.modules.items()):
            if (
                (name == "nndl" or name.startswith("nndl."))
                and loaded is not None
                and getattr(loaded, argument, None) is original
            ):
                replaced.append((loaded, argument, original))
                setattr(loaded, argument, implementation)
    try:
        yield
    finally:
        for loaded, argument, original in reversed(replaced):
            setattr(loaded, argument, original)


def pytest_configure(config):
    spec = os.environ.get(ENVIRONMENT)
    if spec:
        config._nndl_substitute = substituted(catalogue_entry(spec))
        config._nndl_substitute.__enter__()
