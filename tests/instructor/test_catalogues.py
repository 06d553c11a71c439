"""Both catalogues against ``nndl lab check``'s grading: every correct implementation passes its
task's check, every wrong one gets its diagnosis (``test_lab_diagnoses.py``).

The catalogues are functions substituted for the solution in this process
(``substitute.substituted``); ``pytest -m TASK`` gives the same verdict by construction in a
student copy, where its test is the runner's grading of the task (``tests/test_lab.py``): the
corpus of real students' idioms is graded by both commands, pasted into a student copy for real
(``test_corpus_pasted.py``).

Instructor-only, like the catalogues.
"""

import pytest

from nndl.lab import TASKS, TaskResult, check_task
from tests.instructor import correct_implementations, wrong_implementations
from tests.instructor.substitute import substituted

CORRECT = [pytest.param(e, id=e.name) for e in correct_implementations.CATALOGUE]


_LAB: dict[str, TaskResult] = {}


def lab_result(entry) -> TaskResult:
    """``nndl lab check``'s result on ``entry``: computed once, read by both tests below."""
    if entry.name not in _LAB:
        with substituted(entry):
            _LAB[entry.name] = check_task(entry.task)
    return _LAB[entry.name]


def test_the_correct_catalogue_has_at_least_15_entries_and_covers_every_task():
    entries = correct_implementations.CATALOGUE
    assert len(entries) >= 15
    assert {e.task for e in entries} == set(TASKS)
    names = [e.name for e in (*entries, *wrong_implementations.CATALOGUE)]
    assert len(set(names)) == len(names), "a name must say which entry a subprocess grades"


@pytest.mark.parametrize("entry", CORRECT)
def test_a_correct_implementation_passes_its_lab_check(entry):
    result = lab_result(entry)
    assert result.passed, result.line()
