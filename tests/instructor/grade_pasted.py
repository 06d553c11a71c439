"""Run by path inside a filled student copy (working directory and PYTHONPATH the copy): paste
each entry of SPEC.json into the copy's regions, grade it with ``nndl lab check --json TASK`` (a
process of its own, as the student runs it) and with ``pytest -m TASK`` (in this process, one
run per entry, the copy's test modules and nndl imported afresh for each), restore the copy, and
write one record per entry to RESULTS.json.

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
import subprocess
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


def lab_check(copy: Path, task: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "nndl", "lab", "check", "--json", task],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        (record,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    except ValueError:
        record = {"passed": None, "diagnosis": result.stdout[-2000:] + result.stderr[-2000:]}
    return record


def pytest_task(task: str) -> tuple[int, str]:
    """``pytest -m TASK`` in this process; then every nndl and tests module it imported is
    dropped, so that the next run imports the next entry's code."""
    import pytest

    present = set(sys.modules)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(["-m", task, "-q", "-p", "no:cacheprovider", "tests/test_lab.py"])
    for name in [n for n in sys.modules if n not in present]:
        if name.split(".")[0] in ("nndl", "tests"):
            del sys.modules[name]
    return int(code), output.getvalue()


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
            lab = lab_check(copy, entry["task"])
            code, output = pytest_task(entry["task"])
        finally:
            for file, text in originals.items():
                file.write_text(text, encoding="utf-8")
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
