"""The lab tasks: which functions make up each task, which chapter explains it, and which check
grades it.

The tasks of the layers are read from the table of layers (``nndl.table``); the network's and
the update rules' tasks, which are no layers, are listed here. This is the one table of tasks:
``nndl lab student`` names the task and chapter in each ``NotImplementedError`` it writes,
``nndl lab check`` runs the checks, and the pytest marker of the same name (registered in
``tests/conftest.py``) selects the task's tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from nndl.table import LAYERS, Function, LabTask


@dataclass(frozen=True)
class Task:
    """One lab task.

    - name: the task's name, also its pytest marker
    - chapter: the book chapter that explains it
    - module: the module of the functions the check grades, e.g. "nndl.layers"
    - functions: qualified names of the functions (in ``module``) that hold its solution
      regions, e.g. "FullyConnectedNet.loss"
    - check: the grading function; it takes the graded implementations in order and returns the
      list of problems found (empty: passed)
    - points: what the task is worth in an autograder (``nndl lab check --gradescope``)
    - graded: the names (in ``module``) of the implementations the check grades, in the order
      of its parameters (default: ``functions``)
    - also: solution regions of the task in other modules, as (module, functions) pairs: batch
      norm's tasks write the normalization core (``nndl.normalization``) too
    """

    name: str
    chapter: int
    module: str
    functions: tuple[str, ...]
    check: Callable[..., list[str]]
    points: int
    graded: tuple[str, ...] = ()
    also: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def path(self) -> str:
        """The module's file, relative to the project root (POSIX separators)."""
        return _path(self.module)

    @property
    def parts(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every (module, functions) pair of the task: ``also``'s, then ``module``'s."""
        return (*self.also, (self.module, self.functions))

    @property
    def paths(self) -> tuple[str, ...]:
        """The files a student edits for this task, in the order of ``parts``."""
        return tuple(_path(module) for module, _ in self.parts)

    def implementations(self) -> dict[str, object]:
        """The implementations the check grades, imported now from ``module`` (so that a
        student's latest code is graded), by name, in the order of the check's parameters."""
        module = importlib.import_module(self.module)
        return {name: getattr(module, name) for name in self.graded or self.functions}


def _path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def _from_table(task: LabTask) -> Task:
    """A task of the table of layers as the lab's ``Task``: its graded functions' module is the
    task's module; the regions of other modules (the core) are ``also``."""
    module = task.graded[0].module
    also: dict[str, list[str]] = {}
    for function in task.functions:
        if function.module != module:
            also.setdefault(function.module, []).append(function.name)
    return Task(
        name=task.name,
        chapter=task.chapter,
        module=module,
        functions=tuple(f.name for f in task.functions if f.module == module),
        check=task.check.resolve(),
        points=task.points,
        graded=tuple(f.name for f in task.graded),
        also=tuple((name, tuple(functions)) for name, functions in also.items()),
    )


_TASKS = [_from_table(task) for layer in LAYERS.values() for task in layer.tasks] + [
    Task(
        "fc_net",
        6,
        "nndl.fc_net",
        ("FullyConnectedNet.__init__", "FullyConnectedNet.loss"),
        Function("nndl.lab.checks.network", "check_fc_net").resolve(),
        8,
        graded=("FullyConnectedNet",),
    ),
    Task(
        "optim",
        7,
        "nndl.optim",
        ("sgd_momentum", "rmsprop", "adam"),
        Function("nndl.lab.checks.optim", "check_optim").resolve(),
        8,
    ),
]
# In the order of the book: by chapter, then as the table lists them.
TASKS: dict[str, Task] = {task.name: task for task in sorted(_TASKS, key=lambda t: t.chapter)}


# (module file, function) -> task: which task a solution region belongs to.
FUNCTION_TASKS: dict[tuple[str, str], str] = {
    (_path(module), function): task.name
    for task in TASKS.values()
    for module, functions in task.parts
    for function in functions
}
