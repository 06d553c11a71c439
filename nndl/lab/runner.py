"""Grade each lab task in a process of its own, so that the student's program cannot take the
grader down.

``grade(names)`` runs every task's check in a child Python (``child_main``) with a time limit.
The child:

- grades the task's functions with its check, catching what ``check_task`` lets through:
  ``SystemExit`` (``exit()`` in a student's file) and ``KeyboardInterrupt`` are a diagnosis;
- records which other tasks' functions the check called (by their code objects), so that a
  task is held back only by the tasks it really calls;
- stands in for a student's module that does not import (a syntax error, a NameError at import,
  ``exit()``): its functions raise that error when they are called, so that the tasks whose code
  is in the file fail with its file and line, those that call into it are held back by them,
  and every other task is graded as usual;
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
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
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
    functions its check called, what the student's code printed, how long it took, and the
    advice (remarks that never fail a task)."""

    task: str
    problems: tuple[str, ...]
    calls: tuple[str, ...]
    output: Captured
    seconds: float
    advice: tuple[str, ...] = ()


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
        return ChildResult(
            name,
            tuple(record["problems"]),
            tuple(record["calls"]),
            output,
            seconds,
            tuple(record["advice"]),
        )


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
            # Only a failing task may be held back: the tasks it called are graded to know.
            called = [c for r in results.values() if r.problems for c in r.calls if c in TASKS]
            pending = [c for c in dict.fromkeys(called) if c not in results]
    graded = []
    for name in names:
        result = results[name]
        failing = [t for t in result.calls if t in results and results[t].problems]
        if result.problems and failing:
            failing = sorted(failing, key=list(TASKS).index)
            result = ChildResult(
                name,
                (waiting_for(name, failing),),
                result.calls,
                result.output,
                result.seconds,
                result.advice,
            )
        graded.append(result)
    return graded


# --------------------------------------------------------------------------------------------
# The child
# --------------------------------------------------------------------------------------------


def _student_modules() -> dict[str, str]:
    """Module name -> file (resolved) of every module that holds a task's solution regions."""
    from nndl.lab.tasks import TASKS

    root = Path(_source_root())
    modules = (module for task in TASKS.values() for module, _ in task.parts)
    return {
        module: str((root / (module.replace(".", "/") + ".py")).resolve())
        for module in dict.fromkeys(modules)
    }


def _culprit(error: BaseException, files: dict[str, str]) -> str | None:
    """The student module in which ``error`` arose while a module was imported: the file of a
    syntax error, else the innermost frame in a student module's file."""
    modules = {path: module for module, path in files.items()}
    paths = []
    if isinstance(error, SyntaxError) and error.filename:
        paths.append(error.filename)
    paths += [frame.filename for frame in reversed(traceback.extract_tb(error.__traceback__))]
    for path in paths:
        try:
            resolved = str(Path(path).resolve())
        except (OSError, ValueError):
            continue
        if resolved in modules:
            return modules[resolved]
    return None


class _Raising(type):
    """The type of a stand-in's names: calling one raises the import error of its module, and
    ``isinstance(x, name)`` is false (a cache type of a module that does not import)."""

    def __call__(cls, *args, **kwargs):
        cls._called(cls.__qualname__)
        raise cls._error.with_traceback(cls._traceback)


class StandIn(types.ModuleType):
    """A student's module that does not import: every name asked of it is a callable that
    raises the module's import error (a SyntaxError with its file and line...) when it is
    called; ``called(name)`` is told first, so that the runner records the call."""

    def __init__(self, name: str, path: str, error: BaseException, called):
        super().__init__(name)
        self.__file__ = path
        self._error, self._called = error, called

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        namespace = {
            "_error": self._error,
            "_traceback": self._error.__traceback__,
            "_called": staticmethod(self._called),
            "__module__": self.__name__,
        }
        stand_in = _Raising(name, (), namespace)
        setattr(self, name, stand_in)
        return stand_in


def import_or_stand_in(called) -> dict[str, BaseException]:
    """Import every student module; a module that does not import is replaced, in
    ``sys.modules``, by a ``StandIn`` of its error, and the modules that import from it are
    imported again. ``called(module, name)`` is told of each call of a stand-in's name.

    Returns:
    - module name -> the error of each module that did not import
    """
    files = _student_modules()
    broken: dict[str, BaseException] = {}
    for module in files:
        while module not in sys.modules:
            try:
                importlib.import_module(module)
            except BaseException as error:  # a student's module may raise anything at import
                culprit = _culprit(error, files)
                if culprit is None or culprit in broken:
                    culprit = module
                broken[culprit] = error
                sys.modules[culprit] = StandIn(
                    culprit, files[culprit], error, lambda name, m=culprit: called(m, name)
                )
    return broken


def _task_codes(own: str) -> dict:
    """Code object -> task of every other task's function (none of a StandIn's)."""
    from nndl.lab.tasks import TASKS

    codes = {}
    for task in TASKS.values():
        if task.name == own:
            continue
        for name, functions in task.parts:
            module = sys.modules[name]  # imported, or a StandIn (import_or_stand_in)
            for qualified in functions:
                function = module
                for part in qualified.split("."):
                    function = getattr(function, part, None)
                code = getattr(function, "__code__", None)
                if code is not None:
                    codes[code] = task.name
    return codes


@contextlib.contextmanager
def unrecorded():
    """Calls made in the block are not recorded as calls of other tasks' code: a check that
    only probes whether a task is written yet (the network's check asks whether layer norm is)
    is not held back by it."""
    profile = sys.getprofile()
    sys.setprofile(None)
    try:
        yield
    finally:
        sys.setprofile(profile)


def _tasks_of_module(module: str, name: str) -> list[str]:
    """The tasks a call of ``name`` of ``module`` belongs to: its task if it is a task's
    function, else (a helper, a cache type) every task with functions in the module."""
    from nndl.lab.tasks import FUNCTION_TASKS, TASKS

    path = module.replace(".", "/") + ".py"
    if (path, name) in FUNCTION_TASKS:
        return [FUNCTION_TASKS[(path, name)]]
    return [t.name for t in TASKS.values() if any(m == module for m, _ in t.parts)]


def child_main(name: str, verdict: str) -> None:
    """Grade task ``name`` in this (child) process and write the verdict to ``verdict``."""
    from nndl.lab import _raised, check_task

    calls: set[str] = set()
    problems: list[str] = []
    advice: list[str] = []
    codes: dict = {}
    try:

        def called(module: str, function: str) -> None:
            calls.update(task for task in _tasks_of_module(module, function) if task != name)

        import_or_stand_in(called)
        codes = _task_codes(name)

        def profile(frame, event, arg):
            if event == "call":
                task = codes.get(frame.f_code)
                if task is not None:
                    calls.add(task)

        sys.setprofile(profile)
        try:
            result = check_task(name)
            problems, advice = list(result.problems), list(result.advice)
        finally:
            sys.setprofile(None)
    except SystemExit as error:
        problems = [_raised(error, f"called exit({error.code!r}), which ends Python")]
    except KeyboardInterrupt as error:
        problems = [_raised(error, "raised KeyboardInterrupt")]
    except BaseException as error:  # GeneratorExit and the like: still a verdict
        problems = [_raised(error)]
    record = {"task": name, "problems": problems, "calls": sorted(calls), "advice": advice}
    with open(verdict, "w", encoding="utf-8") as file:
        json.dump(record, file)
