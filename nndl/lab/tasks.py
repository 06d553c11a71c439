"""The lab tasks: which solution blocks make up each task, which chapter explains it, and which
check grades it.

This is the one table that links the three: ``nndl lab student`` names the task and chapter in
each ``NotImplementedError`` it writes, ``nndl lab check`` runs the checks, and the pytest marker
of the same name (declared in ``pyproject.toml``) selects the task's tests.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

from nndl.lab import checks


@dataclass(frozen=True)
class Task:
    """One lab task.

    - name: the task's name, also its pytest marker
    - chapter: the book chapter that explains it
    - module: the module whose solution blocks the student writes, e.g. "nndl.layers"
    - functions: qualified names of the functions (in ``module``) that hold its solution blocks
    - check: the grading function; its parameters are named after the implementations (attributes
      of ``module``) it grades, and it returns the list of problems found (empty: passed)
    - points: what the task is worth in an autograder (``nndl lab check --gradescope``)
    - requires: the tasks whose code this task's code calls (the network calls the layers): it
      is graded once they pass, so that its verdict is about its own code
    """

    name: str
    chapter: int
    module: str
    functions: tuple[str, ...]
    check: Callable[..., list[str]]
    points: int
    requires: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The module's file, relative to the project root (POSIX separators)."""
        return self.module.replace(".", "/") + ".py"

    def implementations(self) -> dict[str, object]:
        """The implementations the check grades, imported now from ``module`` (so that a
        student's latest code is graded), keyed by the check's parameter names."""
        module = importlib.import_module(self.module)
        return {name: getattr(module, name) for name in inspect.signature(self.check).parameters}


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "affine",
            6,
            "nndl.layers",
            ("affine_forward", "affine_backward"),
            checks.check_affine,
            8,
        ),
        Task("relu", 6, "nndl.layers", ("relu_forward", "relu_backward"), checks.check_relu, 4),
        Task(
            "batchnorm_forward",
            2,
            "nndl.batchnorm",
            ("batch_statistics", "batchnorm_forward"),
            checks.check_batchnorm_forward,
            12,
        ),
        Task(
            "batchnorm_backward",
            4,
            "nndl.batchnorm",
            ("batchnorm_backward",),
            checks.check_batchnorm_backward,
            16,
        ),
        Task(
            "batchnorm_backward_alt",
            5,
            "nndl.batchnorm",
            ("batchnorm_backward_alt",),
            checks.check_batchnorm_backward_alt,
            8,
        ),
        Task(
            "dropout",
            6,
            "nndl.layers",
            ("dropout_forward", "dropout_backward"),
            checks.check_dropout,
            8,
        ),
        Task("losses", 6, "nndl.layers", ("svm_loss", "softmax_loss"), checks.check_losses, 8),
        Task(
            "fc_net",
            6,
            "nndl.fc_net",
            (
                "FullyConnectedNet.__init__",
                "FullyConnectedNet.forward_layers",
                "FullyConnectedNet.loss",
            ),
            checks.check_fc_net,
            8,
            ("affine", "relu", "batchnorm_forward", "batchnorm_backward_alt", "dropout", "losses"),
        ),
        Task("optim", 7, "nndl.optim", ("sgd_momentum", "rmsprop", "adam"), checks.check_optim, 8),
        # The new layers: one task each, forward, staged and closed-form backward together (the
        # closed forms are batch norm's with other axes, not a chapter of their own).
        Task(
            "layernorm",
            10,
            "nndl.layernorm",
            (
                "normalise",
                "normalise_backward",
                "normalise_backward_alt",
                "layernorm_forward",
                "layernorm_backward",
                "layernorm_backward_alt",
            ),
            checks.check_layernorm,
            8,
        ),
        Task(
            "spatial_batchnorm",
            11,
            "nndl.spatial",
            (
                "_channels_last",
                "_channels_first",
                "spatial_batchnorm_forward",
                "_spatial_batchnorm_backward",
                "spatial_batchnorm_backward_alt",
            ),
            checks.check_spatial_batchnorm,
            4,
            ("batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt"),
        ),
        Task(
            "spatial_groupnorm",
            11,
            "nndl.spatial",
            (
                "_grouped",
                "spatial_groupnorm_forward",
                "spatial_groupnorm_backward",
                "spatial_groupnorm_backward_alt",
            ),
            checks.check_spatial_groupnorm,
            8,
            ("layernorm",),
        ),
    )
}


def missing_requirements(task: Task, passed: Callable[[str], bool]) -> str | None:
    """Why ``task`` cannot be graded yet (``passed(name)``: whether task ``name`` passes), or
    None when every task it requires passes."""
    failing = [name for name in task.requires if not passed(name)]
    if not failing:
        return None
    return (
        f"graded once {', '.join(failing)} pass{'es' if len(failing) == 1 else ''}: "
        f"{task.name} calls their code (nndl lab check {' '.join(failing)})"
    )


# (module file, function) -> task: which task a solution block belongs to.
FUNCTION_TASKS: dict[tuple[str, str], str] = {
    (task.path, function): task.name for task in TASKS.values() for function in task.functions
}
