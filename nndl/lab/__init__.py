"""Lab mode: a student copy generated from the solution, and checks that say what is wrong.

- ``nndl lab student OUTDIR`` writes the student copy (``nndl.lab.student``): the project with
  every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block replaced by a
  ``NotImplementedError`` that names the task and the chapter that explains it.
- ``nndl lab check [TASK ...]`` grades the tasks (``nndl.lab.checks``) and prints one line per
  task: PASS, or FAIL with a diagnosis such as "dx lacks the path through the mean".

The tasks, their chapters and their checks are listed once, in ``nndl.lab.tasks.TASKS``; each
task is also a pytest marker (``pytest -m batchnorm_backward``).
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.lab.student import STUB_MESSAGE, LabError, fill_solutions, make_student_copy
from nndl.lab.tasks import TASKS

__all__ = [
    "TASKS",
    "LabError",
    "TaskResult",
    "check_task",
    "fill_solutions",
    "format_report",
    "make_student_copy",
    "register_cli",
]


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one task's check: the problems found (none: the task passes)."""

    task: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def line(self, width: int = 24) -> str:
        """The task's line of the report."""
        status = "PASS" if self.passed else "FAIL  " + "; ".join(self.problems)
        return f"{self.task:<{width}}{status}"


def _not_implemented(task: str, error: NotImplementedError) -> str:
    stub = STUB_MESSAGE.match(str(error))
    if stub:
        return f"not implemented yet: see chapter {stub['chapter']} ({stub['function']})"
    return f"not implemented yet: see chapter {TASKS[task].chapter} ({error})"


def _raised(error: Exception) -> str:
    """An exception as a diagnosis, with the line of code that raised it."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    return f"raised {type(error).__name__}: {error} ({where})"


def check_task(name: str, **implementations) -> TaskResult:
    """Run the check of task ``name``.

    Inputs:
    - name: a key of ``TASKS``
    - implementations: the functions (or class) to grade, by the check's parameter names, e.g.
      ``check_task("batchnorm_backward", batchnorm_backward=my_backward)``; those not given are
      imported from the task's module, so that by default the current code is graded

    Returns:
    - a ``TaskResult``; an exception raised by the implementation is a problem, not an error
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; the tasks are: {', '.join(TASKS)}")
    task = TASKS[name]
    try:
        # Inside the try: a student's module that does not even import is a diagnosis too.
        arguments = {**task.implementations(), **implementations}
        # A wrong implementation may divide by zero or overflow: the diagnosis says so, numpy's
        # warnings would only clutter the report.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            problems = task.check(**arguments)
    except NotImplementedError as error:
        problems = [_not_implemented(name, error)]
    except Exception as error:  # a student's bug of any kind is a diagnosis
        problems = [_raised(error)]
    # One slip can show in several outputs (the unbiased variance in out, running_var and the
    # cache): say it once.
    return TaskResult(name, tuple(dict.fromkeys(problems)))


def format_report(results) -> str:
    """The report: one line per task, then how many passed."""
    results = list(results)
    passed = sum(r.passed for r in results)
    lines = [r.line() for r in results]
    return "\n".join([*lines, f"{passed} of {len(results)} tasks pass"])


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register_cli(subparsers) -> None:
    """Add ``nndl lab student OUTDIR`` and ``nndl lab check [TASK ...]``."""
    parser = subparsers.add_parser("lab", help="make a student copy; grade the lab tasks")
    actions = parser.add_subparsers(dest="lab_command", required=True)

    student = actions.add_parser(
        "student", help="write a student copy of the project (solutions replaced by stubs)"
    )
    student.add_argument("outdir", help="a new or empty folder outside this project")
    student.set_defaults(func=_run_student)

    check = actions.add_parser(
        "check",
        help="grade the lab tasks: PASS, or FAIL with a diagnosis",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="tasks: " + ", ".join(f"{t.name} (ch. {t.chapter})" for t in TASKS.values()),
    )
    check.add_argument("tasks", nargs="*", metavar="TASK", help="tasks to check (default: all)")
    check.set_defaults(func=_run_check)


def _run_student(args) -> int:
    try:
        blocks = make_student_copy(args.outdir)
    except LabError as error:
        print(f"nndl lab student: {error}", file=sys.stderr)
        return 2
    tasks = sorted({b.task for b in blocks}, key=list(TASKS).index)
    print(
        f"wrote the student copy to {args.outdir}: {len(blocks)} solution blocks of "
        f"{len(tasks)} tasks replaced by NotImplementedError ({', '.join(tasks)})"
    )
    return 0


def _run_check(args) -> int:
    unknown = [name for name in args.tasks if name not in TASKS]
    if unknown:
        print(
            f"nndl lab check: unknown task {', '.join(unknown)}; the tasks are: {', '.join(TASKS)}",
            file=sys.stderr,
        )
        return 2
    results = [check_task(name) for name in args.tasks or TASKS]
    print(format_report(results))
    return 0 if all(r.passed for r in results) else 1
