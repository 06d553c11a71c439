"""The lab's grading checks: one test per task (the task's marker selects it, so ``pytest -m
batchnorm_backward`` runs the diagnosing check too), the report of ``nndl lab check``, and the
per-path terms (``nndl.lab.terms``) that the diagnoses are built from.

In a student copy these tests fail task by task until the student's code passes the checks.
"""

import json
import re

import numpy as np
import pytest

import nndl.fc_net
from derivations.batchnorm import batchnorm_test, batchnorm_train
from nndl.cli import main
from nndl.lab import TASKS, TaskResult, check_task, format_report, gradescope_results
from nndl.lab.runner import grade
from nndl.lab.student import stub_message
from nndl.lab.terms import batchnorm_dx_terms, batchnorm_terms, loss_dx_terms
from tests.strategies import offset_and_scaled


@pytest.mark.parametrize(
    "task", [pytest.param(name, marks=getattr(pytest.mark, name)) for name in TASKS]
)
def test_task_passes_its_lab_check_without_a_diagnosis(task):
    # The verdict of ``nndl lab check TASK`` itself: graded in a child process, held back only
    # by the failing tasks its code calls, so that ``pytest -m TASK`` cannot disagree with it.
    (graded,) = grade([task])
    result = TaskResult(graded.task, graded.problems, graded.output.text(), graded.advice)
    assert result.passed, "\n".join(result.lines())


def test_every_task_is_a_declared_marker_that_names_its_chapter(pytestconfig):
    markers = dict(line.split(":", 1) for line in pytestconfig.getini("markers"))
    for task in TASKS.values():
        assert task.name in markers, f"tests/conftest.py registers no marker {task.name!r}"
        first, last = re.search(r"\(chapters? (\d+)(?:-(\d+))?\)", markers[task.name]).groups()
        chapters = range(int(first), int(last or first) + 1)
        assert task.chapter in chapters, f"{task.name}: marker says {markers[task.name]!r}"


def test_each_task_grades_the_functions_of_its_module_by_default():
    assert TASKS["fc_net"].implementations() == {"FullyConnectedNet": nndl.fc_net.FullyConnectedNet}
    assert list(TASKS["losses"].implementations()) == ["svm_loss", "softmax_loss"]


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@pytest.mark.affine
@pytest.mark.relu
def test_lab_check_prints_one_line_per_task_and_a_summary(capsys):
    assert main(["lab", "check", "affine", "relu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"affine +PASS", lines[0])
    assert re.fullmatch(r"relu +PASS", lines[1])
    assert lines[2] == "2 of 2 tasks pass"


def test_lab_check_rejects_an_unknown_task_and_lists_the_tasks(capsys):
    assert main(["lab", "check", "batchnorm"]) == 2
    error = capsys.readouterr().err
    assert "unknown task batchnorm" in error and "batchnorm_backward_alt" in error
    with pytest.raises(ValueError, match="unknown task 'batchnorm'"):
        check_task("batchnorm")


@pytest.mark.batchnorm_backward
def test_a_stub_is_reported_as_not_implemented_with_its_chapter():
    message = stub_message("batchnorm_backward", "batchnorm_backward", "The staged backward")

    def stub(dout, cache):
        raise NotImplementedError(message)

    result = check_task("batchnorm_backward", batchnorm_backward=stub)
    assert result.problems == ("not implemented yet: see chapter 4 (batchnorm_backward)",)
    assert format_report([result]).endswith("0 of 1 tasks pass")


@pytest.mark.relu
def test_an_exception_in_the_implementation_is_reported_with_its_line():
    def relu_forward(x):
        raise ValueError("operands could not be broadcast")

    (problem,) = check_task("relu", relu_forward=relu_forward).problems
    assert problem.startswith(
        "raised ValueError: operands could not be broadcast (tests/test_lab.py:"
    )
    assert problem.endswith("in relu_forward)")


@pytest.mark.batchnorm_backward
def test_a_dx_that_is_no_combination_of_the_paths_gets_its_relative_error():
    from nndl.batchnorm import batchnorm_backward

    def noisy_backward(dout, cache):
        """nndl's own backward, with noise on dx."""
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        noise = 0.1 * np.random.default_rng(0).standard_normal(dout.shape)
        return dx + noise, dgamma, dbeta

    problems = check_task("batchnorm_backward", batchnorm_backward=noisy_backward).problems
    error = r"dx is wrong \(relative error \d\.\d+(e-0\d)? against the right answer\)"
    # The train-mode backward only: the test-mode backward is not graded (the network never
    # calls it).
    assert len(problems) == 1 and re.fullmatch(error, problems[0]), problems


# --------------------------------------------------------------------------------------------
# The paths of the chain rule, as the lab fits them (nndl.lab.terms)
# --------------------------------------------------------------------------------------------


def _batchnorm_inputs(mode, rng):
    x = offset_and_scaled(rng, (6, 4), offset=(-3, 3), scale=(0.1, 2))
    gamma, dout = rng.uniform(0.5, 2, 4), rng.standard_normal((6, 4))
    mean, var = (
        (x.mean(axis=0), x.var(axis=0))
        if mode == "train"
        else (rng.standard_normal(4), rng.uniform(0.5, 2, 4))
    )
    inv_std = (var + 1e-5) ** -0.5
    return {"dout": dout, "gamma": gamma, "xhat": (x - mean) * inv_std, "inv_std": inv_std}


@pytest.mark.batchnorm_backward
@pytest.mark.batchnorm_backward_alt
@pytest.mark.parametrize("mode, derivation", [("train", batchnorm_train), ("test", batchnorm_test)])
def test_the_batchnorm_dx_terms_add_up_to_the_derived_closed_form(rng, mode, derivation):
    inputs = _batchnorm_inputs(mode, rng)
    _, values = batchnorm_dx_terms(
        mode, inputs["dout"] * inputs["gamma"], inputs["xhat"], inputs["inv_std"]
    )
    closed_form = derivation().evaluate(derivation().closed_forms, inputs)["dx"]
    np.testing.assert_allclose(sum(values), closed_form, rtol=1e-12, atol=1e-14)


@pytest.mark.batchnorm_backward
def test_batchnorm_dx_has_three_paths_in_train_mode_and_only_the_direct_one_in_test_mode():
    formulas = {term.description: term.formula for term in batchnorm_terms("train")}
    # The path through the mean and then the variance is 0 (xc sums to 0): it is left out.
    assert formulas == {
        "the direct path": "inv_std*dxhat[i]",
        "the path through the mean": "-inv_std*sum_j(dxhat[j])/N",
        "the path through the variance": "-inv_std*xhat[i]*sum_j(dxhat[j]*xhat[j])/N",
    }
    assert [term.description for term in batchnorm_terms("test")] == ["the direct path"]
    assert batchnorm_terms("train")[1].path == ("x", "mu", "xc", "xhat", "out")


@pytest.mark.losses
def test_softmax_dx_is_the_minus_one_at_the_true_class_plus_the_probabilities(rng):
    x, y = rng.standard_normal((5, 3)), np.eye(3)[[0, 2, 1, 1, 0]]
    terms = {"lse" in term.path: value for term, value in zip(*loss_dx_terms("softmax", x, y))}
    probabilities = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(terms[False], -y / 5, rtol=1e-12)
    np.testing.assert_allclose(terms[True], probabilities / 5, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# A student module that does not import
# --------------------------------------------------------------------------------------------


# A module that does not import fails the tasks whose code is in it; the tasks that call into it
# are held back by them (spatial batch norm calls batch norm; layer norm calls the core); every
# other task is graded as usual: nndl/layers.py's re-export of batch norm breaks nothing.
# (The backward passes are graded on the student's forward's cache: held back by it.)
_BATCHNORM = {"batchnorm_backward", "batchnorm_backward_alt"}
_SPATIAL = {"spatial_batchnorm", "spatial_groupnorm", "fc_net"}


@pytest.mark.parametrize(
    "broken, tasks, held",
    [
        ("nndl/layers.py", {"affine", "relu", "dropout", "losses"}, {"fc_net"}),
        ("nndl/optim.py", {"optim"}, set()),
        # Group norm calls the core, not batch norm: graded as usual.
        ("nndl/batchnorm.py", {"batchnorm_forward"}, _BATCHNORM | _SPATIAL - {"spatial_groupnorm"}),
        ("nndl/normalization.py", {"batchnorm_forward"}, _BATCHNORM | _SPATIAL | {"layernorm"}),
    ],
)
def test_a_module_with_a_syntax_error_fails_only_the_tasks_that_are_in_it_or_call_it(
    tmp_path, broken, tasks, held
):
    import shutil
    import subprocess
    import sys

    from nndl.lab.student import project_root

    for package in ("nndl", "derivations"):
        shutil.copytree(project_root() / package, tmp_path / package)
    with open(tmp_path / broken, "a", encoding="utf-8") as file:
        file.write("\ndef half_written(:\n")
    line = (tmp_path / broken).read_text(encoding="utf-8").count("\n")
    result = subprocess.run(
        [sys.executable, "-m", "nndl", "lab", "check"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=600,  # every task graded in a process of its own
    )
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[:-1])
    assert set(lines) == set(TASKS)
    for task in tasks:
        assert lines[task].startswith(f"FAIL  {broken}:{line}: SyntaxError"), lines[task]
    for task in held - tasks:
        verdict = lines[task]
        assert verdict.startswith("FAIL  graded once ") or "SyntaxError" in verdict, (task, verdict)
    for task in set(TASKS) - tasks - held:
        assert lines[task] == "PASS", (task, lines[task])


# --------------------------------------------------------------------------------------------
# Grades an autograder reads
# --------------------------------------------------------------------------------------------


def test_lab_check_json_prints_one_object_per_task_with_the_documented_fields(capsys):
    assert main(["lab", "check", "--json", "relu", "affine"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["task"] for r in records] == ["relu", "affine"]
    for record in records:
        assert set(record) == {
            "task",
            "passed",
            "diagnosis",
            "points",
            "max_points",
            "output",
            "advice",
        }
        assert record["output"] == "" and record["advice"] == []  # nothing printed, no advice
        assert record["passed"] is True and record["diagnosis"] == ""
        assert record["points"] == record["max_points"] == TASKS[record["task"]].points


def test_lab_check_writes_gradescope_results_with_a_score_per_task(tmp_path, capsys):
    def wrong_relu_backward(dout, cache):
        return dout

    results = [check_task("relu", relu_backward=wrong_relu_backward), check_task("affine")]
    written = gradescope_results(results)
    # Gradescope's format: a total score and a list of tests with name, score, max_score, output.
    assert set(written) >= {"score", "tests"}
    for test in written["tests"]:
        assert {"name", "score", "max_score", "output"} <= set(test)
    relu, affine = written["tests"]
    assert relu["score"] == 0 and relu["max_score"] == TASKS["relu"].points
    assert relu["output"].startswith("FAIL: relu passes gradient where x <= 0")
    assert affine["score"] == affine["max_score"] == TASKS["affine"].points
    assert written["score"] == TASKS["affine"].points

    target = tmp_path / "results" / "results.json"
    assert main(["lab", "check", "--gradescope", str(target), "affine"]) == 0
    assert json.loads(target.read_text())["tests"][0]["name"] == "affine (chapter 6)"
    assert capsys.readouterr().out.endswith("1 of 1 tasks pass\n")


def test_the_points_of_the_tasks_add_up_to_100():
    assert sum(task.points for task in TASKS.values()) == 100
