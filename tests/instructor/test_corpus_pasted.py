"""The corpus of real students' idioms pasted for real (``tests/instructor/paste.py``): every
correct entry, its body written into its regions of a student copy with the entries it is graded
with, passes both of the student's commands, ``nndl lab check TASK`` and ``pytest -m TASK``; every
wrong entry fails both, with its diagnosis.

All of them, not most: one copy per worker, the entries of a task graded one after another in
one process, two tasks at a time.

Instructor-only: every correct entry is a solution.
"""

import pytest

from tests.instructor import corpus
from tests.instructor.paste import grade, targets


@pytest.fixture(scope="module")
def pasted(tmp_path_factory):
    return grade(corpus.ENTRIES, tmp_path_factory.mktemp("pasted"))


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.name) for e in corpus.CORRECT])
def test_a_correct_entry_pasted_into_a_student_copy_passes_lab_check_and_pytest(pasted, entry):
    record = pasted[entry.name]
    assert record["lab_passed"] is True, f"nndl lab check {entry.task}: {record['lab_diagnosis']}"
    assert record["pytest_returncode"] == 0, record["pytest_output"]


@pytest.mark.parametrize("entry", [pytest.param(e, id=e.name) for e in corpus.WRONG])
def test_a_wrong_entry_pasted_into_a_student_copy_fails_both_with_its_diagnosis(pasted, entry):
    record = pasted[entry.name]
    assert record["lab_passed"] is False, f"nndl lab check {entry.task} passes: {entry.mistake}"
    assert entry.diagnosis in record["lab_diagnosis"], record["lab_diagnosis"]
    assert record["pytest_returncode"] == 1, record["pytest_output"]
    assert entry.diagnosis in record["pytest_output"], record["pytest_output"]


def test_a_backward_entry_fills_nndls_second_backward_pass_only_within_its_own_task():
    by_name = corpus.BY_NAME
    assert targets(by_name["layernorm_backward_three_terms"]) == [
        "layernorm_backward",
        "layernorm_backward_alt",
    ]
    # batchnorm_backward_alt is a task of its own: a staged entry does not fill it.
    assert targets(by_name["batchnorm_backward_dvar_dmean"]) == ["batchnorm_backward"]
