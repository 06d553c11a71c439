"""Each wrong implementation of the catalogue gets its own diagnosis from ``nndl lab check``.

Instructor-only, like the catalogue (``tests/wrong_implementations.py``): the student copy
leaves both out. Each case carries its task's marker.
"""

import pytest

from nndl.lab import TASKS, check_task
from tests.instructor.wrong_implementations import CATALOGUE


@pytest.mark.parametrize(
    "wrong",
    [pytest.param(w, id=w.name) for w in CATALOGUE],
)
def test_wrong_implementation_gets_its_specific_diagnosis(wrong):
    result = check_task(wrong.task, **wrong.implementations)
    assert not result.passed
    assert wrong.diagnosis in result.line(), result.line()


def test_the_catalogue_has_at_least_32_mistakes_and_covers_every_task():
    assert len(CATALOGUE) >= 32
    assert {w.task for w in CATALOGUE} == set(TASKS)
    assert len({w.diagnosis for w in CATALOGUE}) == len(CATALOGUE), "two mistakes, one diagnosis"
