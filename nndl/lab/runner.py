"""Grade each lab task in a process of its own, so that the student's program cannot take the
grader down.

``grade(names)`` runs every task's check in a child Python (``child_main``) with a time limit.
The child:

- grades the task's functions with its check, catching what ``check_task`` lets through:
  ``SystemExit`` (``exit()`` in a student's file) and ``KeyboardInterrupt`` are a diagnosis;
- records which other tasks' functions the check called (their code objects, as the instructor's
  ``tests/instructor/task_calls.py`` does), so that a task is held back only by the tasks it
  really calls;
- writes its verdict to a file, never to its standard output: everything the student's code
  prints (file descriptors 1 and 2, Python's and C's) goes to a pipe that the parent drains,
  keeping the beginning and the end.

A child that does not finish in time is killed with its process group: "did not finish in N s".
The parent never imports a student's module; it runs on when a child hangs, dies or floods its
output, and always returns one result per task.
"""

from __future__ import annotations

import codecs
import collections
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# The child's program: grade one task, write the verdict to a file, and end Python at once
# (whatever threads or atexit hooks the student's code left behind).
CHILD = (
    "import os, sys; from nndl.lab.runner import child_main; "
    "child_main(sys.argv[1], sys.argv[2]); sys.stdout.flush(); os._exit(0)"
)
DEFAULT_TIMEOUT = 300.0  # seconds per task: the slowest check takes well under a minute
HEAD, TAIL = 3000, 1000  # characters of a task's output kept from its beginning and its end


@dataclass(frozen=True)
class Captured:
    """What a child printed: its beginning and end, and how much there was."""

    head: str
    tail: str
    characters: int
    lines: int

    def text(self) -> str:
        """The output, with what was left out in the middle said in one line."""
        if self.characters <= HEAD + TAIL:
            return self.head + self.tail
        left_out = self.characters - len(self.head) - len(self.tail)
        return (
            f"{self.head}\n... ({left_out} characters of {self.lines} lines in all left out) "
            f"...\n{self.tail}"
        )


class _Drain(threading.Thread):
    """Reads a pipe to its end, keeping HEAD characters from the start and TAIL from the end."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.head, self.tail = pipe, [], collections.deque()
        self.head_size = self.tail_size = self.characters = self.lines = 0

    def run(self):
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            chunk = self.pipe.read1(1 << 16)
            if not chunk:
                break
            text = decoder.decode(chunk)
            self.characters += len(text)
            self.lines += text.count("\n")
            if self.head_size < HEAD:
                take = text[: HEAD - self.head_size]
                self.head.append(take)
                self.head_size += len(take)
                text = text[len(take) :]
            if text:
                self.tail.append(text)
                self.tail_size += len(text)
                while self.tail and self.tail_size - len(self.tail[0]) >= TAIL:
                    self.tail_size -= len(self.tail.popleft())
        self.pipe.close()

    def captured(self) -> Captured:
        tail = "".join(self.tail)[-TAIL:] if self.characters > HEAD else "".join(self.tail)
        return Captured("".join(self.head), tail, self.characters, self.lines)


@dataclass(frozen=True)
class ChildResult:
    """One task graded in a child: its problems (none: passed), the other tasks whose
    functions its check called, what the student's code printed, and how long it took."""

    task: str
    problems: tuple[str, ...]
    calls: tuple[str, ...]
    output: Captured
    seconds: float


def _source_root() -> str:
    """The folder that holds the nndl package this process imported (the child imports the same
    one, whatever its working directory)."""
    import nndl

    return str(Path(nndl.__file__).resolve().parents[1])


def grade_one(name: str, timeout: float = DEFAULT_TIMEOUT) -> ChildResult:
    """Grade task ``name`` in a child process; never raises for what the student's code does."""
    with tempfile.TemporaryDirectory(prefix="nndl-lab-") as folder:
        verdict = Path(folder) / "verdict.json"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [_source_root(), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["PYTHONUNBUFFERED"] = "1"
        start = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, name, str(verdict)],
            cwd=_source_root(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: killed whole on a timeout
        )
        drain = _Drain(child.stdout)
        drain.start()
        try:
            child.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
        drain.join(timeout=10)
        seconds = time.monotonic() - start
        output = drain.captured()
        if timed_out:
            problems = (
                f"did not finish in {timeout:g} s (an endless loop, or code far too slow); "
                "the other tasks were graded",
            )
            return ChildResult(name, problems, (), output, seconds)
        try:
            record = json.loads(verdict.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            code = child.returncode
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            problems = (
                f"the grading process ended without a verdict ({how}): the code ended Python "
                "itself (os._exit, a crash in a C extension, memory exhausted)",
            )
            return ChildResult(name, problems, (), output, seconds)
        return ChildResult(name, tuple(record["problems"]), tuple(record["calls"]), output, seconds)


def waiting_for(name: str, failing: list[str]) -> str:
    """The verdict of a task held back by the tasks it calls."""
    return (
        f"graded once {', '.join(failing)} pass{'es' if len(failing) == 1 else ''}: "
        f"{name} calls their code (nndl lab check {' '.join(failing)})"
    )


def default_jobs() -> int:
    """How many tasks are graded at once by default: one per CPU, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


def grade(names, timeout: float = DEFAULT_TIMEOUT, jobs: int | None = None) -> list[ChildResult]:
    """Grade the tasks ``names``, each in a child (``jobs`` children at a time), and hold back
    a failing task whose check called a failing task's functions ("graded once affine passes:
    ..."): its failure may be theirs. The tasks it called are graded too when they were not
    asked for."""
    from nndl.lab.tasks import TASKS

    results: dict[str, ChildResult] = {}
    pending = list(dict.fromkeys(names))
    with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
        while pending:
            for result in pool.map(lambda name: grade_one(name, timeout), pending):
                results[result.task] = result
            called = [c for r in results.values() for c in r.calls if c in TASKS]
            pending = [c for c in dict.fromkeys(called) if c not in results]
    graded = []
    for name in names:
        result = results[name]
        failing = [t for t in result.calls if t in TASKS and results[t].problems]
        if result.problems and failing:
            failing = sorted(failing, key=list(TASKS).index)
            result = ChildResult(
                name, (waiting_for(name, failing),), result.calls, result.output, result.seconds
            )
        graded.append(result)
    return graded


# --------------------------------------------------------------------------------------------
# The child
# --------------------------------------------------------------------------------------------


def _task_codes(own: str) -> dict:
    """Code object -> task of every other task's function, in the modules that import."""
    from nndl.lab.tasks import TASKS

    codes = {}
    for task in TASKS.values():
        if task.name == own:
            continue
        try:
            module = importlib.import_module(task.module)
        except BaseException:  # graded by its own task; a student's module may do anything
            continue
        for qualified in task.functions:
            function = module
            for part in qualified.split("."):
                function = getattr(function, part, None)
            code = getattr(function, "__code__", None)
            if code is not None:
                codes[code] = task.name
    return codes


def child_main(name: str, verdict: str) -> None:
    """Grade task ``name`` in this (child) process and write the verdict to ``verdict``."""
    from nndl.lab import _raised, check_task

    calls: set[str] = set()
    problems: list[str] = []
    codes: dict = {}
    try:
        codes = _task_codes(name)

        def profile(frame, event, arg):
            if event == "call":
                task = codes.get(frame.f_code)
                if task is not None:
                    calls.add(task)

        sys.setprofile(profile)
        try:
            problems = list(check_task(name, gate=False).problems)
        finally:
            sys.setprofile(None)
    except SystemExit as error:
        problems = [_raised(error, f"called exit({error.code!r}), which ends Python")]
    except KeyboardInterrupt as error:
        problems = [_raised(error, "raised KeyboardInterrupt")]
    except BaseException as error:  # GeneratorExit and the like: still a verdict
        problems = [_raised(error)]
    record = {"task": name, "problems": problems, "calls": sorted(calls)}
    with open(verdict, "w", encoding="utf-8") as file:
        json.dump(record, file)
