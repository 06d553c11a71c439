"""Gradescope's autograder package (``nndl lab autograder OUT.zip``), unpacked into a clean
folder and run as Gradescope runs it, with ``/autograder`` redirected: the filled copy scores
100, the untouched copy 0 without a traceback, and one wrong task loses its own points only.
Every field Gradescope reads is checked.

Instructor-only and slow (three full gradings).
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from nndl.cli import main
from nndl.lab import TASKS, fill_solutions
from nndl.lab.autograder import COPY, submitted_files
from nndl.lab.student import project_root

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    zip_path = tmp_path_factory.mktemp("package") / "autograder.zip"
    assert main(["lab", "autograder", str(zip_path)]) == 0
    return zip_path


def run_submission(package, root, submission_files):
    """Unpack the package into ``root``/source, put ``submission_files`` (name -> text) in
    ``root``/submission and run run_autograder; return results.json and the run."""
    source = root / "source"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(source)
    for name in ("setup.sh", "run_autograder"):
        mode = (zipfile.ZipFile(package).getinfo(name).external_attr >> 16) & 0o777
        assert mode & stat.S_IXUSR, f"{name} is not executable in the zip"
        (source / name).chmod(0o755)
    (root / "submission").mkdir()
    for name, text in submission_files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "AUTOGRADER": str(root), "NNDL_PYTHON": sys.executable,
           "PYTHONPATH": str(source / COPY)}  # fmt: skip
    run = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True,
                         text=True, timeout=3000)  # fmt: skip
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), run


def check_fields(results):
    """Every field of results.json that Gradescope reads."""
    assert isinstance(results["score"], int | float)
    assert results["output_format"] == "md" and results["test_output_format"] == "md"
    assert results["visibility"] == "visible" and results["execution_time"] > 0
    tests = results["tests"]
    assert [t["name"] for t in tests] == [f"{t.name} (chapter {t.chapter})" for t in TASKS.values()]
    for test in tests:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert (test["status"] == "passed") == (test["score"] == test["max_score"])
        assert test["output_format"] == "md" and test["visibility"] == "visible"
        assert isinstance(test["output"], str) and test["output"]
    assert sum(t["max_score"] for t in tests) == 100
    assert results["score"] == sum(t["score"] for t in tests)


@pytest.fixture(scope="module")
def filled_files(package, tmp_path_factory):
    """The files a student submits, from the copy with the solutions filled in."""
    copy = tmp_path_factory.mktemp("filled") / COPY
    with zipfile.ZipFile(package) as archive:
        names = [n for n in archive.namelist() if n.startswith(f"{COPY}/")]
        archive.extractall(copy.parent, members=names)
    fill_solutions(copy, project_root())
    return {name: (copy / name).read_text(encoding="utf-8") for name in submitted_files()}


def test_the_zip_holds_setup_run_autograder_and_the_copy_with_every_edited_file(package):
    names = set(zipfile.ZipFile(package).namelist())
    assert {"setup.sh", "run_autograder", f"{COPY}/pyproject.toml"} <= names
    script = zipfile.ZipFile(package).read("run_autograder").decode()
    paths = dict.fromkeys(path for task in TASKS.values() for path in task.paths)
    assert "nndl/normalization.py" in paths  # the core, which the batch-norm tasks write
    for path in paths:
        assert f"{COPY}/{path}" in names
        assert path in script, f"run_autograder does not copy {path}"


def test_the_filled_copy_scores_100(package, filled_files, tmp_path):
    results, run = run_submission(package, tmp_path, filled_files)
    check_fields(results)
    assert results["score"] == 100, [t["output"] for t in results["tests"] if t["score"] == 0]


def test_the_untouched_copy_scores_0_without_a_traceback(package, tmp_path):
    results, run = run_submission(package, tmp_path, {})
    check_fields(results)
    assert results["score"] == 0
    # each task fails with its own stub, but the batch-norm backward passes, graded on the
    # student's forward's cache: held back by it
    for test in results["tests"]:
        held = test["name"].split()[0] in ("batchnorm_backward", "batchnorm_backward_alt")
        expected = "graded once batchnorm_forward passes" if held else "not implemented yet"
        assert expected in test["output"], test
    assert "Traceback" not in run.stdout + run.stderr + json.dumps(results)


def test_one_wrong_task_loses_its_own_points_only(package, filled_files, tmp_path):
    wrong = dict(filled_files)
    # submitted under its bare name, as students often upload it; Adam without bias correction
    wrong["optim.py"] = wrong.pop("nndl/optim.py") + (
        "\n\ndef adam(w, dw, config=None):\n"
        "    config, dw = _with_defaults('adam', config, w, dw)\n"
        "    config['t'] += 1\n"
        "    config['m'] = config['beta1'] * config['m'] + (1 - config['beta1']) * dw\n"
        "    config['v'] = config['beta2'] * config['v'] + (1 - config['beta2']) * dw**2\n"
        "    step = config['m'] / (np.sqrt(config['v']) + config['epsilon'])\n"
        "    return w - config['learning_rate'] * step, config\n"
    )
    results, _ = run_submission(package, tmp_path, wrong)
    check_fields(results)
    scores = {t["name"].split()[0]: t for t in results["tests"]}
    assert results["score"] == 100 - TASKS["optim"].points
    assert scores["optim"]["status"] == "failed"
    assert "adam without bias correction" in scores["optim"]["output"]
    assert all(t["status"] == "passed" for name, t in scores.items() if name != "optim")


def test_a_missing_interpreter_still_leaves_a_results_file(package, tmp_path):
    source = tmp_path / "source"
    with zipfile.ZipFile(package) as archive:
        archive.extract("run_autograder", source)
    (source / COPY).mkdir()
    env = {**os.environ, "AUTOGRADER": str(tmp_path), "NNDL_PYTHON": "no-such-python"}
    subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True,
                   timeout=60)  # fmt: skip
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not run" in results["output"]
    shutil.rmtree(source)
