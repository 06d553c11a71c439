"""Lab mode: a student copy generated from the solution, and checks that say what is wrong.

- ``nndl lab student OUTDIR`` writes the student copy (``nndl.lab.student``): the project with
  every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block replaced by a
  ``NotImplementedError`` that names the task and the chapter that explains it.
- ``nndl lab check [TASK ...]`` grades the tasks (``nndl.lab.checks``), each in a process of its
  own with a time limit (``nndl.lab.runner``), and prints one line per task: PASS, or FAIL with a
  diagnosis such as "dx lacks the path through the mean", followed by what the student's code
  printed; ``--json`` prints the same as one JSON object per task, ``--gradescope FILE`` writes
  Gradescope's autograder results.
- ``nndl lab autograder OUT.zip`` writes Gradescope's autograder package
  (``nndl.lab.autograder``).

The tasks, their chapters and their checks are listed once, in ``nndl.lab.tasks.TASKS``; each
task is also a pytest marker (``pytest -m batchnorm_backward``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.lab.checks.compare import Advice
from nndl.lab.runner import DEFAULT_TIMEOUT
from nndl.lab.student import STUB_MESSAGE, LabError, fill_solutions, make_student_copy
from nndl.lab.tasks import TASKS

__all__ = [
    "TASKS",
    "LabError",
    "TaskResult",
    "check_task",
    "fill_solutions",
    "format_report",
    "gradescope_results",
    "make_student_copy",
    "register_cli",
]


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one task's check: the problems found (none: the task passes), what the
    student's code printed while it was graded (truncated; "" when graded in this process), and
    advice: remarks on properties the assignment does not ask for (an input written in place, a
    float32 input turned into float64...), which never fail a task."""

    task: str
    problems: tuple[str, ...]
    output: str = ""
    advice: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def diagnosis(self) -> str:
        """The problems in one line ("" when the task passes)."""
        return "; ".join(self.problems)

    @property
    def points(self) -> int:
        """The points earned: all of the task's (``Task.points``) or none."""
        return TASKS[self.task].points if self.passed else 0

    def record(self) -> dict:
        """The result as ``nndl lab check --json`` prints it."""
        return {
            "task": self.task,
            "passed": self.passed,
            "diagnosis": self.diagnosis,
            "points": self.points,
            "max_points": TASKS[self.task].points,
            "output": self.output,
            "advice": list(self.advice),
        }

    def line(self, width: int = 24) -> str:
        """The task's line of the report."""
        status = "PASS" if self.passed else "FAIL  " + "; ".join(self.problems)
        return f"{self.task:<{width}}{status}"

    def lines(self, width: int = 24) -> list[str]:
        """The task's line, then its advice and what the student's code printed, indented
        under it."""
        advice = [f"{'':<{width}}advice: {remark}" for remark in self.advice]
        printed = [f"{'':<{width}}| {line}" for line in self.output.splitlines()]
        if printed:
            printed.insert(0, f"{'':<{width}}your code printed:")
        return [self.line(width), *advice, *printed]


def _not_implemented(task: str, error: NotImplementedError) -> str:
    stub = STUB_MESSAGE.match(str(error))
    if stub:
        return f"not implemented yet: see chapter {stub['chapter']} ({stub['function']})"
    return f"not implemented yet: see chapter {TASKS[task].chapter} ({error})"


def _where(filename: str, lineno) -> str:
    """``filename:lineno``, relative to the project when the file is in it."""
    path = Path(filename)
    try:
        path = path.resolve().relative_to(Path(__file__).resolve().parents[2])
    except ValueError:
        pass
    return f"{path.as_posix()}:{lineno}"


def _raised(error: BaseException, what: str | None = None) -> str:
    """An exception as a diagnosis, with the line of code that raised it: for a module that does
    not compile, the file and line of the syntax error; otherwise the innermost frame of real
    code (importlib's frozen frames say nothing to a student). ``what`` replaces "raised
    TypeError: ..." (for SystemExit: "called exit(...)")."""
    if isinstance(error, SyntaxError):
        return (
            f"{_where(error.filename or '?', error.lineno)}: {type(error).__name__}: {error.msg} "
            "(the module does not compile, so nothing in it can be graded)"
        )
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<")
    ]
    what = what or f"raised {type(error).__name__}: {error}"
    if not frames:
        return what
    frame = frames[-1]
    where = f"{_where(frame.filename, frame.lineno)} in {frame.name}"
    return f"{what} ({where})"


def check_task(name: str, **implementations) -> TaskResult:
    """Run the check of task ``name`` in this process, on its own: what the implementations call
    of other tasks is not waited for (``nndl lab check`` grades each task in a process of its
    own and holds a task back by the failing tasks it called, ``nndl.lab.runner``).

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
            found = task.check(**arguments)
    except NotImplementedError as error:
        found = [_not_implemented(name, error)]
    except Exception as error:  # a student's bug of any kind is a diagnosis
        found = [_raised(error)]
    # One slip can show in several outputs (the unbiased variance in out, running_var and the
    # cache): say it once.
    problems = tuple(dict.fromkeys(str(p) for p in found if not isinstance(p, Advice)))
    advice = tuple(dict.fromkeys(str(p) for p in found if isinstance(p, Advice)))
    return TaskResult(name, problems, advice=advice)


def _markdown_output(result: TaskResult) -> str:
    """A test's output for Gradescope, in Markdown: the verdict, then the student's output."""
    text = "PASS" if result.passed else "FAIL: " + result.diagnosis
    if result.advice:
        text += "\n\nAdvice (not graded):\n\n" + "\n".join(f"- {a}" for a in result.advice)
    if result.output:
        fence = "~~~~" if "```" in result.output else "```"
        text += f"\n\nYour code printed:\n\n{fence}\n{result.output}\n{fence}"
    return text


def gradescope_results(results, execution_time: float | None = None) -> dict:
    """Gradescope's autograder results (``results.json``): one test per task, named after it,
    with its score, its maximum, its status and the diagnosis (and what the student's code
    printed) as Markdown output, and the total score."""
    results = list(results)
    tests = [
        {
            "name": f"{r.task} (chapter {TASKS[r.task].chapter})",
            "score": r.points,
            "max_score": TASKS[r.task].points,
            "status": "passed" if r.passed else "failed",
            "output": _markdown_output(r),
            "output_format": "md",
            "visibility": "visible",
        }
        for r in results
    ]
    record = {
        "score": sum(r.points for r in results),
        "output": format_report(results, with_output=False).splitlines()[-1],
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "tests": tests,
    }
    if execution_time is not None:
        record["execution_time"] = round(execution_time, 3)
    return record


def format_report(results, with_output: bool = True) -> str:
    """The report: one line per task (followed by what the student's code printed), then how
    many passed."""
    results = list(results)
    passed = sum(r.passed for r in results)
    lines = [line for r in results for line in (r.lines() if with_output else [r.line()])]
    return "\n".join([*lines, f"{passed} of {len(results)} tasks pass"])


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register_cli(subparsers) -> None:
    """Add ``nndl lab student OUTDIR``, ``nndl lab check [TASK ...]`` and ``nndl lab autograder
    OUT.zip``."""
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
    check.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line and task: task, passed, diagnosis, points, "
        "max_points, output, advice",
    )
    check.add_argument(
        "--gradescope",
        metavar="RESULTS_JSON",
        help="also write Gradescope's autograder results to this file (e.g. /autograder/results/"
        "results.json)",
    )
    check.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of each task's grading (default {DEFAULT_TIMEOUT:g} s)",
    )
    check.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="how many tasks to grade at once (default: one per CPU, at most four)",
    )
    check.set_defaults(func=_run_check)

    autograder = actions.add_parser(
        "autograder",
        help="write Gradescope's autograder package (setup.sh, run_autograder, the student copy)",
    )
    autograder.add_argument("zip", metavar="OUT.zip", help="the zip file to write")
    autograder.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit of each task's grading (default {DEFAULT_TIMEOUT:g} s)",
    )
    autograder.set_defaults(func=_run_autograder)


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


def _writable(path: Path) -> str | None:
    """Why ``path`` cannot be written (None when it can), checked without truncating it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        return f"{path}: {error.strerror or error}"
    if path.is_dir():
        return f"{path} is a folder; name the results file, e.g. {path / 'results.json'}"
    return None


def _run_check(args) -> int:
    unknown = [name for name in args.tasks if name not in TASKS]
    if unknown:
        print(
            f"nndl lab check: unknown task {', '.join(unknown)}; the tasks are: {', '.join(TASKS)}",
            file=sys.stderr,
        )
        return 2
    if not args.timeout > 0:
        print(f"nndl lab check: --timeout must be > 0 seconds, got {args.timeout}", file=sys.stderr)
        return 2
    target = Path(args.gradescope) if args.gradescope else None
    why = _writable(target) if target else None
    if why:  # before grading: a results file that cannot be written would lose every grade
        print(f"nndl lab check: cannot write the Gradescope results: {why}", file=sys.stderr)
        return 2
    from nndl.lab.runner import grade

    start = time.monotonic()
    if args.jobs is not None and args.jobs < 1:
        print(f"nndl lab check: --jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return 2
    graded = grade(list(args.tasks or TASKS), timeout=args.timeout, jobs=args.jobs)
    results = [TaskResult(g.task, g.problems, g.output.text(), g.advice) for g in graded]
    if args.json:
        print("\n".join(json.dumps(r.record(), ensure_ascii=False) for r in results))
    else:
        print(format_report(results))
    if target:
        record = gradescope_results(results, execution_time=time.monotonic() - start)
        text = json.dumps(record, indent=2, ensure_ascii=False)
        target.write_text(text + "\n", encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


def _run_autograder(args) -> int:
    from nndl.lab.autograder import write_autograder

    try:
        written = write_autograder(args.zip, timeout=args.timeout)
    except (LabError, OSError) as error:
        print(f"nndl lab autograder: {error}", file=sys.stderr)
        return 2
    print(f"wrote Gradescope's autograder package to {written}")
    return 0
