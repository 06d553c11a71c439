"""The corpus pasted for real: each entry's body written into the solution region of its function
in a student copy, with the entries it is graded with, and graded there by the student's own two
commands, ``nndl lab check TASK`` and ``pytest -m TASK`` (``grade_pasted.py``, run inside the
copy).

The copy is the student copy with every other solution filled back in (``fill_solutions``): a
student who has done the other tasks, so that a task that calls another's code (the network
calls the layers) meets a working one. An entry replaces the region (from the BEGIN marker to the
END marker) of the function it implements (``Entry.implements``), indented as the region. CS231n
has one backward pass of layer norm, RMSNorm and the image layers where nndl has two (the staged
one and ``*_backward_alt``): the entry of the backward is pasted into both regions, as a student
who writes one would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nndl.lab import fill_solutions, make_student_copy
from nndl.lab.student import project_root
from nndl.lab.tasks import FUNCTION_TASKS
from tests.instructor.corpus.verify import graded_with

SCRIPT = Path(__file__).with_name("grade_pasted.py")


def targets(entry) -> list[str]:
    """The functions whose regions receive ``entry``'s body: the one it implements, and its
    ``_alt`` twin when that belongs to the same task (nndl's second backward pass)."""
    twin = entry.implements + "_alt"
    tasks = {function: task for (_, function), task in FUNCTION_TASKS.items()}
    return [entry.implements] + ([twin] if tasks.get(twin) == entry.task else [])


def bodies(entry) -> dict[str, str]:
    """Function -> the body pasted into its region, for ``entry`` and its group."""
    group = graded_with(entry)
    pasted = {function: e.body for e in group for function in targets(e)}
    pasted.update({e.implements: e.body for e in group})  # an entry's own function wins
    return pasted


def filled_copy(folder: Path) -> Path:
    """A student copy of this checkout in ``folder`` with every solution filled back in."""
    make_student_copy(folder)
    fill_solutions(folder, project_root())
    return folder


def grade(entries, folder: Path, workers: int = 2) -> dict[str, dict]:
    """Grade ``entries`` pasted into filled copies under ``folder``: the entries of one task one
    after another in one process, ``workers`` tasks at a time, each in a copy of its own.

    Returns:
    - entry name -> record: lab_passed, lab_diagnosis, advice, pytest_returncode, pytest_output
    """
    tasks: dict[str, list] = {}
    for entry in entries:
        tasks.setdefault(entry.task, []).append(entry)
    # The longest first: the network's entries grade the slowest.
    order = sorted(tasks, key=lambda t: -len(tasks[t]) - 10 * (t == "fc_net"))
    template = filled_copy(folder / "template")
    copies = [template]
    for i in range(1, workers):
        copies.append(Path(shutil.copytree(template, folder / f"copy{i}")))
    free = list(copies)

    def run(task: str) -> list[dict]:
        copy = free.pop()
        try:
            spec = folder / f"{task}.spec.json"
            results = folder / f"{task}.results.json"
            group = [{"name": e.name, "task": e.task, "bodies": bodies(e)} for e in tasks[task]]
            spec.write_text(json.dumps(group), encoding="utf-8")
            env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
            for variable in ("PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"):
                env.pop(variable, None)
            result = subprocess.run(
                [sys.executable, str(SCRIPT), str(spec), str(results)],
                cwd=copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=120 * len(group),
            )
            if result.returncode != 0:
                raise RuntimeError(f"{task}: {result.stdout[-3000:]}{result.stderr[-3000:]}")
            return json.loads(results.read_text(encoding="utf-8"))
        finally:
            free.append(copy)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        records = [record for found in pool.map(run, order) for record in found]
    return {record["name"]: record for record in records}
