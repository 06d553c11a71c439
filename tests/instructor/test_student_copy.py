"""The student copy, generated from the current sources so that it never drifts from them: it
imports, its checks fail task by task with the NotImplementedError message, its chapters stop at
the first unimplemented function, and filling the solutions back in gives the instructor's files.

Instructor-only: the student copy leaves this file out.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nndl.cli import main
from nndl.lab import TASKS, LabError, fill_solutions, make_student_copy
from nndl.lab.student import (
    BEGIN,
    END,
    GENERATED,
    INSTRUCTOR_ONLY,
    NNDL_OWN_TESTS,
    STUB_MESSAGE,
    find_solution_blocks,
    instructor_only,
    project_root,
    student_source,
)

ROOT = project_root()
STUB = re.compile(r'^\s*raise NotImplementedError\("(?P<message>.*)"\)$', re.MULTILINE)


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory):
    """The student copy of this checkout, and the solution blocks it replaced."""
    outdir = tmp_path_factory.mktemp("lab") / "student"
    return outdir, make_student_copy(outdir)


def run_in(copy: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run this Python in the copy, importing nndl and derivations from the copy."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_copy_has_the_project_layout_without_the_instructor_only_files(student_copy):
    copy, _ = student_copy
    for name in (
        "pyproject.toml",
        "README.md",
        "_config.yml",
        "_toc.yml",
        "nndl/lab/checks/batchnorm.py",
        "derivations/terms.py",
        "tests/test_lab.py",
        "book/06_network.ipynb",
    ):
        assert (copy / name).is_file(), name
    assert not (copy / ".ci").exists(), "the instructor's CI script is not the student's"
    assert not any((copy / folder).exists() for folder in INSTRUCTOR_ONLY)
    assert instructor_only("tests/instructor/test_student_copy.py")
    assert not instructor_only("tests/test_lab.py")
    assert not (copy / ".venv").exists() and not (copy / ".git").exists()


def test_every_solution_block_became_a_stub_naming_its_task_and_chapter(student_copy):
    copy, blocks = student_copy
    assert {block.task for block in blocks} == set(TASKS)
    messages = []
    for path in copy.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not {line.strip() for line in text.splitlines()} & {BEGIN, END}, path
        messages += STUB.findall(text)
    assert len(messages) == len(blocks)
    for message in messages:
        stub = STUB_MESSAGE.match(message)
        assert stub and int(stub["chapter"]) == TASKS[stub["task"]].chapter, message


def test_the_copy_imports(student_copy):
    copy, _ = student_copy
    code = "import nndl.layers, nndl.fc_net, nndl.optim, nndl.lab; print(nndl.layers.__file__)"
    result = run_in(copy, "-c", code)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == copy / "nndl" / "layers.py"


def test_the_copys_checks_fail_task_by_task_with_the_not_implemented_message(student_copy):
    copy, _ = student_copy
    result = run_in(copy, "-m", "nndl", "lab", "check")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    # Each task's own stub raises before its check reaches another task's code, but for the
    # batch-norm backward passes, graded on the cache of the student's batchnorm_forward: they
    # are held back by it (the runner holds a task back only by the code it really calls).
    held = {"batchnorm_backward", "batchnorm_backward_alt"}
    for line, task in zip(lines, TASKS.values()):
        expected = rf"{task.name} +FAIL  not implemented yet: see chapter {task.chapter} \(\S+\)"
        if task.name in held:
            expected = rf"{task.name} +FAIL  graded once batchnorm_forward passes: .*"
        assert re.fullmatch(expected, line), line
    assert lines[-1] == f"0 of {len(TASKS)} tasks pass"


# Run in the copy: collect its whole suite (tests/ and the chapters) once, and print each item
# with its task markers; a collection error is an item of its own.
COLLECT = """
import json, sys
import pytest
from nndl.lab import TASKS

class Record:
    def __init__(self):
        self.items, self.errors = [], []
    def pytest_collection_modifyitems(self, items):
        for item in items:
            marks = sorted({m.name for m in item.iter_markers()} & set(TASKS))
            self.items.append([item.nodeid, marks])
    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(report.nodeid)

record = Record()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[record])
print(json.dumps({"code": int(code), "items": record.items, "errors": record.errors}))
"""


def test_in_a_fresh_copy_pytest_m_task_collects_and_selects_only_that_tasks_grading(
    student_copy, tmp_path
):
    """``pytest -m TASK`` in a fresh, untouched copy, for every task: the whole suite collects
    without error, and each task's marker selects only tests of tests/test_lab.py, the lab's
    grading (the tests of nndl's own code are not in the copy), among them the task's verdict;
    so each ``pytest -m TASK`` fails only because of that task's code."""
    copy = Path(shutil.copytree(student_copy[0], tmp_path / "fresh"))  # pytest writes caches
    result = run_in(copy, "-c", COLLECT, timeout=600)
    collected = json.loads(result.stdout.strip().splitlines()[-1])
    assert collected["code"] == 0 and not collected["errors"], collected["errors"]
    for task in TASKS:
        selected = [nodeid for nodeid, marks in collected["items"] if task in marks]
        verdict = f"tests/test_lab.py::test_task_passes_its_lab_check_without_a_diagnosis[{task}]"
        assert verdict in selected, task
        assert all(nodeid.startswith("tests/test_lab.py::") for nodeid in selected), selected
    assert not any((copy / name).exists() for name in NNDL_OWN_TESTS)


@pytest.mark.parametrize("task", ["relu", "spatial_batchnorm"])
def test_in_a_fresh_copy_pytest_m_task_fails_with_the_tasks_own_not_implemented(
    student_copy, task, tmp_path
):
    copy = Path(shutil.copytree(student_copy[0], tmp_path / "fresh"))  # pytest writes caches
    result = run_in(copy, "-m", "pytest", "-m", task, "-q", "-p", "no:cacheprovider", "tests")
    assert result.returncode == 1, result.stdout[-3000:]
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed and all("tests/test_lab.py::" in line for line in failed), failed
    expected = rf"{task} +FAIL  not implemented yet: see chapter {TASKS[task].chapter}"
    assert re.search(expected, result.stdout), result.stdout[-3000:]


def test_filling_the_solutions_back_gives_the_instructors_files_byte_for_byte(
    student_copy, tmp_path
):
    copy, _ = student_copy
    filled = tmp_path / "filled"
    shutil.copytree(copy, filled)
    assert {p.relative_to(filled).as_posix() for p in fill_solutions(filled, ROOT)} == {
        path for task in TASKS.values() for path in task.paths
    } | set(GENERATED)
    for path in filled.rglob("*"):
        if not path.is_file():
            continue
        name = path.relative_to(filled).as_posix()
        if name.startswith("book/") and name.endswith(".ipynb"):
            cells = [
                json.loads(p.read_text(encoding="utf-8"))["cells"] for p in (path, ROOT / name)
            ]
            assert [c["source"] for c in cells[0]] == [c["source"] for c in cells[1]], name
        elif name == "README.md":
            assert path.read_text(encoding="utf-8").startswith("# nndl lab:"), "not the student's"
        elif name == "pyproject.toml":
            # Chapters without outputs run under --nbval-lax.
            text = path.read_text(encoding="utf-8")
            assert text == (ROOT / name).read_text(encoding="utf-8").replace(
                "--nbval ", "--nbval-lax "
            )
            assert "--nbval-lax --nbval-current-env" in text
        else:
            assert path.read_bytes() == (ROOT / name).read_bytes(), name


def test_the_copys_readme_lists_every_task_with_its_file_chapter_and_how_to_check_it(
    student_copy,
):
    copy, _ = student_copy
    readme = (copy / "README.md").read_text(encoding="utf-8")
    for task in TASKS.values():
        row = next(line for line in readme.splitlines() if f"| `{task.name}` |" in line)
        assert all(f"`{path}`" in row for path in task.paths), row
        assert f"| {task.chapter}. " in row, row
        for _, functions in task.parts:
            assert all(f"`{function}`" in row for function in functions), row
    for command in ("jupyter lab book/", "nndl lab check", "pytest -m", "--json", "pip install"):
        assert command in readme, command
    assert "'.[student]'" in readme and "jupyterlab" in (copy / "pyproject.toml").read_text()


# A path a file of the copy names: under one of the project's folders, or the CI script.
PATH = re.compile(r"(?<![\w/.-])((?:\.ci|nndl|derivations|tests|book|benchmarks)/[\w./-]*\w/?)")


def test_no_file_of_the_copy_names_a_file_the_copy_does_not_have(student_copy):
    copy, _ = student_copy
    missing = []
    for path in copy.rglob("*"):
        if not path.is_file() or path.suffix not in (".py", ".md", ".toml", ".ipynb", ".yml"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "student.py":
            # The lab's own list of what the copy leaves out names what it leaves out.
            literal = "(" + ", ".join(f'"{folder}"' for folder in INSTRUCTOR_ONLY) + ")"
            text = "".join(text.split(literal))
            for left_out in NNDL_OWN_TESTS:
                text = text.replace(f'"{left_out}"', "")
        for name in set(PATH.findall(text)):
            if path.name == "pyproject.toml" and instructor_only(name):
                continue  # ruff's per-file settings of the instructor's files: harmless
            # _toc.yml names chapters without their suffix; _build is the book's build output.
            if "_build" in name or (copy / name).exists() or list(copy.glob(name + ".*")):
                continue
            missing.append(f"{path.relative_to(copy)} names {name}")
    assert not missing


def test_the_chapters_of_the_copy_have_no_outputs(student_copy):
    copy, _ = student_copy
    for path in (copy / "book").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_the_copy_is_not_written_into_a_non_empty_folder_or_inside_the_project(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["lab", "student", str(tmp_path)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(LabError, match="inside the source tree"):
        make_student_copy(ROOT / "student-copy")
    assert not (ROOT / "student-copy").exists()


# --------------------------------------------------------------------------------------------
# Finding the blocks
# --------------------------------------------------------------------------------------------


def test_a_stub_keeps_the_block_indentation_and_the_line_endings():
    text = f"def relu_forward(x):\r\n    {BEGIN}\r\n    out = x\r\n    {END}\r\n    return out\r\n"
    titles = {task.chapter: "Title" for task in TASKS.values()}
    lines = student_source("nndl/layers.py", text, titles).split("\r\n")
    assert lines[0] == "def relu_forward(x):" and lines[2] == "    return out"
    assert lines[1] == (
        '    raise NotImplementedError("relu: relu_forward is not implemented yet'
        ' — see chapter 6, Title")'
    )


@pytest.mark.parametrize(
    "text, message",
    [
        (f"def relu_forward(x):\n    {BEGIN}\n    return x\n", "unbalanced solution markers"),
        (f"def relu_forward(x):\n    {END}\n    return x\n", "unbalanced solution markers"),
        (f"def helper(x):\n    {BEGIN}\n    y = x\n    {END}\n", "helper belongs to no lab task"),
        (f"{BEGIN}\nX = 1\n{END}\n", "<module> belongs to no lab task"),
    ],
)
def test_unbalanced_markers_and_blocks_outside_the_tasks_are_refused(text, message):
    with pytest.raises(LabError, match=re.escape(message)):
        find_solution_blocks("nndl/layers.py", text)


# --------------------------------------------------------------------------------------------
# The chapters, in a Jupyter kernel
# --------------------------------------------------------------------------------------------


def run_chapters(copy: Path) -> dict[str, tuple[str, str] | None]:
    """Execute each chapter of ``copy`` cell by cell in one kernel (its namespace reset between
    chapters) until a cell fails. Returns chapter -> (exception name, message), or None when
    every cell ran."""
    from jupyter_client.manager import start_new_kernel

    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "MPLBACKEND": "Agg",
        # The kernel spec runs "python": this one.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(copy / "book"), env=env)
    outcomes = {}
    try:
        for path in sorted((copy / "book").glob("*.ipynb")):
            # %reset also drops __spec__, which multiprocessing reads from __main__.
            client.execute_interactive("%reset -f\n__spec__ = None", timeout=60)
            outcomes[path.name] = None
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] != "code":
                    continue
                reply = client.execute_interactive(
                    "".join(cell["source"]), timeout=300, output_hook=lambda message: None
                )["content"]
                if reply["status"] == "error":
                    outcomes[path.name] = (reply["ename"], reply["evalue"])
                    break
    finally:
        manager.shutdown_kernel(now=True)
    return outcomes


@pytest.mark.slow
def test_each_chapter_runs_up_to_the_first_unimplemented_function_and_stops_there(student_copy):
    copy, _ = student_copy
    outcomes = run_chapters(copy)
    assert len(outcomes) == len(list((ROOT / "book").glob("*.ipynb")))
    for chapter, outcome in outcomes.items():
        if outcome is not None:
            name, message = outcome
            if name == "SweepError":
                # chapters 7 and 8 train in a sweep, whose error names each failed task's error
                stub = re.search(STUB_MESSAGE.pattern.removeprefix("^"), message)
            else:
                stub = name == "NotImplementedError" and STUB_MESSAGE.match(message)
            assert stub, (chapter, outcome)
    assert any(outcomes.values()), "no chapter reached an unimplemented function"


@pytest.mark.slow
def test_the_copys_whole_test_suite_passes_once_every_solution_is_filled_in(student_copy, tmp_path):
    """The copy's ``pytest`` over its tests/; its chapters (book/, run by nbval-lax in the copy)
    are not run again here: filled in, they are the instructor's chapters cell for cell, run
    against the instructor's nndl and derivations byte for byte
    (test_filling_the_solutions_back_gives_the_instructors_files_byte_for_byte), and this
    suite's nbval runs those chapters with that code and compares every output, which the
    copy's nbval-lax, without outputs, does not."""
    copy, _ = student_copy
    filled = tmp_path / "filled"
    shutil.copytree(copy, filled)
    fill_solutions(filled, ROOT)
    pyproject = (filled / "pyproject.toml").read_text(encoding="utf-8")
    assert 'testpaths = ["tests", "book"]' in pyproject, "the copy's suite: tests/ and book/"
    result = run_in(filled, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", timeout=1800)
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary


def test_the_copys_fast_kernels_are_the_students_own_functions(student_copy):
    """The instructor's fast kernels would give the answers away: the copy's nndl/fast.py only
    names the student's reference functions, and they are what the copy's network runs."""
    copy, _ = student_copy
    text = (copy / "nndl" / "fast.py").read_text(encoding="utf-8")
    assert "def " not in text and "einsum" not in text
    code = (
        "import nndl.fast, nndl.batchnorm, nndl.spatial\n"
        "assert nndl.fast.batchnorm_forward is nndl.batchnorm.batchnorm_forward\n"
        "assert nndl.fast.spatial_groupnorm_backward_alt is "
        "nndl.spatial.spatial_groupnorm_backward_alt\n"
        "print(sorted(nndl.fast.__all__))"
    )
    result = run_in(copy, "-c", code)
    assert result.returncode == 0, result.stderr
    from nndl.table import fast_kernels

    assert result.stdout.strip() == str(sorted(kernel.name for kernel in fast_kernels()))
