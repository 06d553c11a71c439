"""Grade catalogue entries in place of the solution: a context manager, a pytest plugin, and a
batch grader that runs the student-facing tests of many entries in one process.

    NNDL_SUBSTITUTE=correct:relu_backward_by_masked_assignment \
        python -m pytest -p tests.instructor.substitute -m relu tests --ignore=tests/instructor

runs the student-facing tests of the relu task with that ``relu_backward``. The entry replaces
the function in its task's module and in every nndl module that imported it by name, before the
tests are imported: the tests see it as they would see a student's code.

    python -m tests.instructor.substitute RESULTS.json correct:NAME wrong:NAME ...

runs that same ``pytest -m TASK`` for each entry in turn in this one process, and writes each
entry's exit code and the end of its output to RESULTS.json. Between entries the student-facing
test modules (``tests.*`` but ``tests.instructor.*``, ``tests.conftest`` with its cache of
verdicts among them) are dropped from ``sys.modules``, so that each run imports them afresh and
binds the entry then in place; the tests run with the same options and Hypothesis profile as one
``pytest -m TASK`` in a process of its own (derandomized, so without an example database).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
from pathlib import Path

ENVIRONMENT = "NNDL_SUBSTITUTE"


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


def pytest_configure(config):
    spec = os.environ.get(ENVIRONMENT)
    if spec:
        config._nndl_substitute = substituted(catalogue_entry(spec))
        config._nndl_substitute.__enter__()


def student_test_arguments(task: str) -> list[str]:
    """The arguments of ``pytest -m TASK`` over the student-facing tests, stopping at the first
    failure, in a fixed order."""
    return [
        "-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider", "-m", task, "tests",
        "--ignore=tests/instructor",
    ]  # fmt: skip


def _student_test_module(name: str) -> bool:
    return name.startswith("tests.") and not (
        name == "tests.instructor" or name.startswith("tests.instructor.")
    )


def grade(specs: list[str], arguments: tuple[str, ...] = ()) -> list[dict]:
    """Each entry's ``pytest -m TASK`` (and ``arguments``), one after another in this process,
    run from the project root.

    Each run starts from the modules a process of its own has when the plugin substitutes the
    entry: the catalogues and ``nndl.lab`` with what they import. What a run imports besides
    (the student-facing test modules, the rest of nndl) is dropped from ``sys.modules`` after
    it, so the next run imports it afresh, under its own entry.

    Returns, for each entry: its spec, the exit code, the last 3000 characters of the output,
    and ``stale``: the test modules that held one of the solution's functions the entry
    replaces (none should: they bind the entry, as a student's tests bind the student's code).
    """
    import pytest

    import nndl.lab  # noqa: F401  (what ``substituted`` imports, before it substitutes)
    from tests.instructor import correct_implementations, wrong_implementations  # noqa: F401

    present = set(sys.modules)

    def imported_by_a_run(name: str) -> bool:
        of_nndl = name == "nndl" or name.startswith("nndl.")
        return _student_test_module(name) or (of_nndl and name not in present)

    results = []
    for spec in specs:
        entry = catalogue_entry(spec)
        output = io.StringIO()
        with substituted(entry) as originals, contextlib.redirect_stdout(output):
            code = pytest.main([*student_test_arguments(entry.task), *arguments])
        stale = sorted(
            name
            for name, loaded in sys.modules.items()
            if _student_test_module(name)
            and loaded is not None
            and any(
                value is original
                for value in vars(loaded).values()
                for original in originals.values()
            )
        )
        for name in [name for name in sys.modules if imported_by_a_run(name)]:
            del sys.modules[name]
        results.append(
            {
                "spec": spec,
                "returncode": int(code),
                "output": output.getvalue()[-3000:],
                "stale": stale,
            }
        )
    return results


if __name__ == "__main__":
    # RESULTS.json SPEC... [-- PYTEST_ARGUMENT...]
    results_path, *rest = sys.argv[1:]
    split = rest.index("--") if "--" in rest else len(rest)
    specs, arguments = rest[:split], tuple(rest[split + 1 :])
    Path(results_path).write_text(json.dumps(grade(specs, arguments)), encoding="utf-8")
