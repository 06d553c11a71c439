"""A task's marker selects exactly the tests that grade the task, for the normalization family
(layer norm, spatial batch norm, group norm): ``pytest -m layernorm`` runs every test that runs
layer norm's code, and only those.

The tests of these tasks run under ``tests.instructor.task_calls``, which records which tasks'
functions each test ran to completion; then

- every test that runs a task's code carries its marker;
- every test that carries a task's marker runs that task's code.

Instructor-only: it checks the test suite, not a student's code.
"""

import json
import os
import subprocess
import sys

import pytest

from nndl.lab.student import project_root
from tests.instructor.task_calls import ENVIRONMENT
from tests.layer_cases import FAMILY

# The tasks of the normalization layers that are one task each (tests/layer_cases.py: FAMILY).
NEW_TASKS = tuple(task.name for layer in FAMILY.values() for task in layer.tasks)
# The modules that test the normalization family, and the lab check of every task.
TESTS = (
    "tests/test_normalization.py",
    "tests/test_normalization_witnesses.py",
    "tests/test_normalization_derivations.py",
    "tests/test_layernorm_network.py",
    "tests/test_lab.py::test_task_passes_its_lab_check_without_a_diagnosis",
)


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    path = tmp_path_factory.mktemp("calls") / "calls.json"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
        "-p", "tests.instructor.task_calls", *TESTS,
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=project_root(), env={**os.environ, ENVIRONMENT: str(path)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(path.read_text(encoding="utf-8"))


VERDICT_TEST = "tests/test_lab.py::test_task_passes_its_lab_check_without_a_diagnosis["


def graders(task: str) -> set[str]:
    """The markers under which ``task``'s code is graded: its own (no task requires another's
    statically; the lab holds a task back by the calls its check makes)."""
    return {task}


@pytest.mark.slow
@pytest.mark.parametrize("task", NEW_TASKS)
def test_every_test_that_runs_a_tasks_code_carries_its_marker(calls, task):
    unmarked = [
        test
        for test, record in calls.items()
        if task in record["called"] and not graders(task) & set(record["markers"])
    ]
    assert not unmarked, f"these run {task}'s code without its marker: {unmarked}"


@pytest.mark.slow
@pytest.mark.parametrize("task", NEW_TASKS)
def test_every_test_with_a_tasks_marker_runs_its_code(calls, task):
    marked = [test for test, record in calls.items() if task in record["markers"]]
    assert marked, f"no test carries the marker {task}"
    # test_lab's verdict test grades the task in a child process (nndl.lab.runner), beyond this
    # process's tracer; tests/test_lab.py and the pasted corpus check what that grading runs.
    idle = [
        test
        for test in marked
        if task not in calls[test]["called"] and not test.startswith(VERDICT_TEST)
    ]
    assert not idle, f"these carry the marker {task} but do not run its code: {idle}"
