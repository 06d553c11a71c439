"""Both catalogues against both graders: every correct implementation passes ``nndl lab check``
and every student-facing test of its task (``pytest -m TASK``); every wrong one fails both; so
the two always give the same verdict.

The student-facing tests grade each entry in a ``pytest -m TASK`` of its own, the entries of one
task one after another in one process (``substitute.grade``), which checks that each run's test
modules bound that run's entry.

Instructor-only, like the catalogues.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, zip_longest
from pathlib import Path

import pytest

from nndl.lab import TASKS, TaskResult, check_task
from nndl.lab.student import project_root
from tests.instructor import correct_implementations, wrong_implementations
from tests.instructor.substitute import substituted

CORRECT = [pytest.param(e, id=e.name) for e in correct_implementations.CATALOGUE]
BOTH = CORRECT + [
    pytest.param(e, id=e.name, marks=pytest.mark.slow) for e in wrong_implementations.CATALOGUE
]


def grade_in_one_process(specs: list[str], results: Path, *arguments: str) -> list[dict]:
    """``substitute.grade(specs, arguments)`` in a fresh Python: each entry's ``pytest -m TASK``
    over the student-facing tests, in turn."""
    command = [sys.executable, "-m", "tests.instructor.substitute", str(results), *specs]
    result = subprocess.run(
        [*command, "--", *arguments],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=300 * len(specs),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(results.read_text(encoding="utf-8"))


def specs_of(task: str) -> list[str]:
    """The entries of ``task`` in both catalogues, correct and wrong taking turns."""
    kinds = [
        [f"{kind}:{e.name}" for e in catalogue.CATALOGUE if e.task == task]
        for kind, catalogue in (
            ("correct", correct_implementations),
            ("wrong", wrong_implementations),
        )
    ]
    return [spec for spec in chain(*zip_longest(*kinds)) if spec is not None]


@pytest.fixture(scope="module")
def student_tests(request, tmp_path_factory):
    """The student-facing tests' result for an entry (``substitute.grade``'s record). The first
    time one is asked for, every entry of each task that this session's tests ask about is
    graded: a task's entries in one process, two such processes at a time (each its own
    Python, independent of the other)."""
    graded: dict[str, dict] = {}

    def grade_task(task: str) -> list[dict]:
        results = tmp_path_factory.mktemp(task) / "results.json"
        return grade_in_one_process(specs_of(task), results)

    def result(entry) -> dict:
        if entry.name not in graded:
            asked = {
                item.callspec.params["entry"].task
                for item in request.session.items
                if getattr(item, "module", None) is request.module
                and "entry" in getattr(getattr(item, "callspec", None), "params", {})
            }
            tasks = sorted(asked | {entry.task}, key=list(TASKS).index)
            with ThreadPoolExecutor(max_workers=2) as pool:
                for records in pool.map(grade_task, tasks):
                    graded.update((record["spec"].partition(":")[2], record) for record in records)
        return graded[entry.name]

    return result


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


@pytest.mark.slow
@pytest.mark.parametrize("entry", BOTH)
def test_lab_check_and_the_tasks_tests_give_the_same_verdict(entry, student_tests):
    kind = "correct" if entry in correct_implementations.CATALOGUE else "wrong"
    lab = lab_result(entry).passed
    tests = student_tests(entry)
    assert tests["returncode"] in (0, 1), tests["output"]
    assert not tests["stale"], f"these test modules kept the solution's code: {tests['stale']}"
    assert (tests["returncode"] == 0) == lab, tests["output"]
    assert lab == (kind == "correct")


@pytest.mark.slow
def test_entries_graded_in_one_process_each_meet_tests_that_bound_their_own_code(tmp_path):
    """A wrong entry graded after a correct one, and a correct one after a wrong one, in the
    same process: each gets its own verdict from the tests that import the function by name
    (test_lab.py, which grades through ``check_task``, is left out here)."""
    specs = [
        "correct:relu_backward_by_masked_assignment",
        "wrong:relu_backward_everywhere",
        "correct:relu_backward_by_multiplying_with_a_comparison",
        "wrong:relu_backward_masking_with_dout",
    ]
    results = grade_in_one_process(specs, tmp_path / "results.json", "--ignore=tests/test_lab.py")
    assert [r["spec"] for r in results] == specs
    assert [r["returncode"] for r in results] == [0, 1, 0, 1], [r["output"] for r in results]
    assert all("tests/test_layers.py" in r["output"] for r in results[1::2])
    assert not any(r["stale"] for r in results)
