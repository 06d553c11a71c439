"""The grader survives the student's program: ``nndl lab check`` grades each task in a process
of its own with a time limit (``nndl.lab.runner``), so that an endless loop, ``exit()``, a
KeyboardInterrupt or twenty thousand printed lines in a student's file cost that task its points
and nothing else, and the student's prints never mix into ``--json``.

Each test plants its hostile code in a temporary copy of ``nndl`` and ``derivations`` and runs
``python -m nndl lab check`` there, as a student's copy would. Instructor-only: the copies are
made from the solution.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from nndl.lab.student import project_root


def hostile_copy(tmp_path, replacements):
    """nndl and derivations copied to ``tmp_path``, with ``replacements`` (file -> [(old,
    new)]) applied; each old text must be found."""
    for package in ("nndl", "derivations"):
        shutil.copytree(project_root() / package, tmp_path / package)
    for name, pairs in replacements.items():
        path = tmp_path / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"{name}: {old!r} not found"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def lab_check(copy, *args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, "-m", "nndl", "lab", "check", *args],
        cwd=copy, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def inserted_after(anchor, code):
    return (anchor, f"{anchor}\n{code}")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A copy whose affine_forward prints 20,000 lines per call, relu_forward never returns,
    dropout_forward calls exit(3) and softmax_loss raises KeyboardInterrupt; graded with a
    time limit of 20 s per task, in JSON."""
    indent = "    "
    flood = f'{indent}for i in range(20000):\n{indent}    print("debug line", i)'
    copy = hostile_copy(
        tmp_path_factory.mktemp("hostile"),
        {
            "nndl/layers.py": [
                inserted_after('    check_shape("b", layer, b, (w.shape[1],), match=("w", w))',
                               flood),
                inserted_after('    check_array("x", "relu_forward", x)',
                               f"{indent}while True:\n{indent}    pass"),
                inserted_after("    p, mode = _check_dropout_param(layer, dropout_param)",
                               f"{indent}exit(3)"),
                inserted_after('    y = _check_scores("softmax_loss", x, y)',
                               f"{indent}raise KeyboardInterrupt"),
            ]
        },
    )  # fmt: skip
    result = lab_check(copy, "--json", "--timeout", "20", "affine", "relu", "dropout", "losses",
                       "optim")  # fmt: skip
    records = {r["task"]: r for r in map(json.loads, result.stdout.splitlines())}
    return result, records


def test_json_output_is_one_record_per_task_and_nothing_of_the_students(hostile):
    result, records = hostile
    assert result.returncode == 1, result.stderr
    assert list(records) == ["affine", "relu", "dropout", "losses", "optim"]
    assert "Traceback" not in result.stdout + result.stderr
    assert "debug line" not in result.stderr


def test_an_endless_loop_is_a_task_that_did_not_finish_and_the_others_are_still_graded(hostile):
    _, records = hostile
    assert records["relu"]["diagnosis"].startswith("did not finish in 20 s")
    assert records["relu"]["points"] == 0
    assert records["optim"]["passed"] and records["optim"]["points"] == 8


def test_exit_in_a_students_file_is_a_diagnosis_with_its_line(hostile):
    _, records = hostile
    assert records["dropout"]["diagnosis"].startswith("called exit(3), which ends Python (nndl/")
    assert "in dropout_forward)" in records["dropout"]["diagnosis"]


def test_keyboard_interrupt_in_a_students_file_is_a_diagnosis(hostile):
    _, records = hostile
    assert records["losses"]["diagnosis"].startswith("raised KeyboardInterrupt (nndl/layers.py:")


def test_twenty_thousand_printed_lines_are_kept_short_and_shown_with_their_task(hostile):
    _, records = hostile
    affine = records["affine"]
    assert affine["passed"], affine["diagnosis"]
    assert affine["output"].startswith("debug line 0\n")
    assert "lines in all left out" in affine["output"]
    assert "debug line 19999" in affine["output"]
    assert len(affine["output"]) < 5000


def test_the_report_shows_a_tasks_output_under_its_line(tmp_path):
    copy = hostile_copy(tmp_path, {"nndl/optim.py": [
        inserted_after('    config, dw = _with_defaults("adam", config, w, dw)',
                       '    print("adam step")')]})  # fmt: skip
    result = lab_check(copy, "optim")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["optim", "PASS"]
    assert lines[1].strip() == "your code printed:"
    assert lines[2].strip() == "| adam step"
    assert lines[-1] == "1 of 1 tasks pass"


def test_a_task_is_held_back_only_by_a_failing_task_it_calls(tmp_path):
    copy = hostile_copy(tmp_path, {"nndl/layers.py": [
        inserted_after('    check_shape("b", layer, b, (w.shape[1],), match=("w", w))',
                       '    raise ValueError("half written")')]})  # fmt: skip
    result = lab_check(copy, "--json", "fc_net", "optim")
    records = {r["task"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["fc_net"]["diagnosis"] == (
        "graded once affine passes: fc_net calls their code (nndl lab check affine)"
    )
    assert records["optim"]["passed"]


def test_an_unwritable_gradescope_path_is_refused_before_grading(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file where the folder should be")
    result = lab_check(project_root(), "--gradescope", str(blocker / "results.json"), "affine",
                       timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("nndl lab check: cannot write the Gradescope results: ")
    assert result.stdout == "" and "Traceback" not in result.stderr
