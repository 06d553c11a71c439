"""Run by path inside a filled student copy (working directory and PYTHONPATH the copy): paste
each entry of SPEC.json into the copy's regions, grade it with ``nndl lab check --json TASK`` and
with ``pytest -m TASK`` (both in this process, as their commands' code: each grades the task in a
child process of its own, which imports the pasted code; the copy's test modules are imported
afresh for each run), restore the copy, and write one record per entry to RESULTS.json.

    python tests/instructor/grade_pasted.py SPEC.json RESULTS.json

SPEC.json: a list of {"name", "task", "bodies": {function: body}} (``paste.spec``). Only the
standard library is imported at the top: nndl and the tests are the copy's.

The copy's ``pytest -m TASK`` runs ``tests/test_lab.py`` only: in a student copy the task markers
are on its tests alone (``test_student_copy.py`` asserts it on the collected tests of every
task), so that is the whole of ``pytest -m TASK``, without collecting the chapters.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path


def _indented(body: str, indent: str) -> list[str]:
    return [indent + line if line.strip() else "" for line in body.splitlines()]


def paste(copy: Path, bodies: dict[str, str]) -> dict[Path, str]:
    """Write each body into the region of its function in ``copy``; returns the original text
    of every file written."""
    from nndl.lab.student import find_solution_blocks
    from nndl.lab.tasks import FUNCTION_TASKS

    originals = {}
    for path in sorted({path for (path, function) in FUNCTION_TASKS if function in bodies}):
        file = copy / path
        text = file.read_text(encoding="utf-8")
        originals[file] = text
        lines = text.splitlines()
        for block in sorted(find_solution_blocks(path, text), key=lambda b: -b.start):
            if block.function in bodies:
                lines[block.start : block.stop] = _indented(bodies[block.function], block.indent)
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return originals


def lab_check(task: str) -> dict:
    """``nndl lab check --json TASK``: the command's own code (``nndl.cli.main``), run in this
    process; it grades in a child process of its own, which imports the pasted code."""
    from nndl.cli import main

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["lab", "check", "--json", task])
    try:
        (record,) = [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]
    except ValueError:
        record = {"passed": None, "diagnosis": output.getvalue()[-4000:]}
    record["returncode"] = code
    return record


def pytest_task(task: str) -> tuple[int, str]:
    """``pytest -m TASK`` in this process."""
    import pytest

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(["-m", task, "-q", "-p", "no:cacheprovider", "tests/test_lab.py"])
    return int(code), output.getvalue()


def forget_the_copys_modules() -> None:
    """Drop every nndl and tests module from this process, so that the next entry's runs import
    its code afresh."""
    for name in [n for n in sys.modules if n.split(".")[0] in ("nndl", "tests")]:
        del sys.modules[name]


def main(spec_path: str, results_path: str) -> None:
    copy = Path.cwd()
    for cache in (copy / "nndl").rglob("__pycache__"):
        for stale in cache.glob("*.pyc"):
            stale.unlink()
    # Pasted files change within a second, often at the same size: no bytecode, so that no
    # process reads a stale .pyc of the previous entry.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    records = []
    for entry in json.loads(Path(spec_path).read_text(encoding="utf-8")):
        originals = paste(copy, entry["bodies"])
        try:
            lab = lab_check(entry["task"])
            code, output = pytest_task(entry["task"])
        finally:
            for file, text in originals.items():
                file.write_text(text, encoding="utf-8")
            forget_the_copys_modules()
        records.append(
            {
                "name": entry["name"],
                "lab_passed": lab["passed"],
                "lab_diagnosis": lab["diagnosis"],
                "advice": lab.get("advice", []),
                "pytest_returncode": code,
                "pytest_output": output[-4000:],
            }
        )
    Path(results_path).write_text(json.dumps(records), encoding="utf-8")


if __name__ == "__main__":
    sys.path.pop(0)  # this script's folder, the instructor's: nndl and tests are the copy's
    main(*sys.argv[1:3])
