"""Both catalogues against both graders: every correct implementation passes ``nndl lab check``
and every student-facing test of its task (``pytest -m TASK``); every wrong one fails both; so
the two always give the same verdict.

Instructor-only, like the catalogues.
"""

import os
import subprocess
import sys

import pytest

from nndl.lab import TASKS, check_task
from nndl.lab.student import project_root
from tests.instructor import correct_implementations, wrong_implementations
from tests.instructor.substitute import ENVIRONMENT, substituted

CORRECT = [pytest.param(e, id=e.name) for e in correct_implementations.CATALOGUE]
BOTH = CORRECT + [
    pytest.param(e, id=e.name, marks=pytest.mark.slow) for e in wrong_implementations.CATALOGUE
]


def student_tests(kind: str, entry) -> subprocess.CompletedProcess:
    """``pytest -m TASK`` over the student-facing tests, with ``entry`` in place of the solution."""
    command = [
        sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-p", "no:cacheprovider",
        "-p", "tests.instructor.substitute", "-m", entry.task, "tests",
        "--ignore=tests/instructor",
    ]  # fmt: skip
    env = {**os.environ, ENVIRONMENT: f"{kind}:{entry.name}"}
    return subprocess.run(
        command, cwd=project_root(), env=env, capture_output=True, text=True, timeout=300
    )


def test_the_correct_catalogue_has_at_least_15_entries_and_covers_every_task():
    entries = correct_implementations.CATALOGUE
    assert len(entries) >= 15
    assert {e.task for e in entries} == set(TASKS)
    names = [e.name for e in (*entries, *wrong_implementations.CATALOGUE)]
    assert len(set(names)) == len(names), "a name must say which entry a subprocess grades"


@pytest.mark.parametrize("entry", CORRECT)
def test_a_correct_implementation_passes_its_lab_check(entry):
    with substituted(entry):
        result = check_task(entry.task)
    assert result.passed, result.line()


@pytest.mark.slow
@pytest.mark.parametrize("entry", BOTH)
def test_lab_check_and_the_tasks_tests_give_the_same_verdict(entry):
    kind = "correct" if entry in correct_implementations.CATALOGUE else "wrong"
    with substituted(entry):
        lab = check_task(entry.task).passed
    tests = student_tests(kind, entry)
    assert tests.returncode in (0, 1), tests.stdout[-3000:] + tests.stderr[-3000:]
    assert (tests.returncode == 0) == lab, tests.stdout[-3000:]
    assert lab == (kind == "correct")
