"""The student copy's README, generated from the task table: what to implement, in which order,
where, which chapter explains it, and how to check and submit it."""

from __future__ import annotations

from nndl.lab.tasks import TASKS

INSTALL = """\
```bash
python3 -m venv .venv
.venv/bin/pip install -e '.[student]'     # nndl, the tests, and JupyterLab
```"""


def _functions(task) -> str:
    """The task's files and functions, e.g. "`nndl/normalization.py`: `normalization_forward`;
    `nndl/batchnorm.py`: `batchnorm_forward`"."""
    return "; ".join(
        f"`{path}`: " + ", ".join(f"`{name}`" for name in functions)
        for path, (_, functions) in zip(task.paths, task.parts)
    )


def student_readme(titles: dict[int, str], notebooks: dict[int, str]) -> str:
    """The README of the student copy.

    Inputs:
    - titles: chapter number -> title (``nndl.lab.student.chapter_titles``)
    - notebooks: chapter number -> the chapter's notebook, e.g. "book/02_forward_train.ipynb"
    """
    order = sorted(TASKS.values(), key=lambda task: task.chapter)
    rows = [
        f"| {n} | `{task.name}` | {task.chapter}. {titles[task.chapter]} "
        f"(`{notebooks[task.chapter]}`) | {_functions(task)} | {task.points} |"
        for n, task in enumerate(order, start=1)
    ]
    total = sum(task.points for task in TASKS.values())
    return "\n".join(
        [
            "# nndl lab: batch normalization, implemented by you",
            "",
            "This is your copy of nndl, a book about batch normalization and the NumPy code it",
            "explains. The solution parts of the code are missing: each is a",
            "`raise NotImplementedError(...)` that names its task and the chapter that explains",
            "it. You implement them, one task at a time, and the checks tell you what is wrong,",
            'down to which path of the chain rule a gradient lacks ("dx lacks the path through',
            'the mean").',
            "",
            "## Set up",
            "",
            INSTALL,
            "",
            "## Read the chapters in JupyterLab",
            "",
            "```bash",
            ".venv/bin/jupyter lab book/",
            "```",
            "",
            "Open the chapters in order. Their outputs are cleared: run each one from the top",
            "(Run > Run All Cells). A chapter runs up to the first function you have not",
            "implemented yet and stops there with its `NotImplementedError`; once the function",
            "is written, run it again.",
            "",
            "## What to implement, in order",
            "",
            "| # | task | chapter (notebook) | file: functions | points |",
            "| --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"The tasks are worth {total} points in all. Each task is graded on its own code:",
            "a task whose code calls another task's functions (spatial batch norm calls",
            "`batchnorm_forward`; the network calls the layers) is held back only while a task",
            'it really calls fails ("graded once batchnorm_forward passes"). A file that does',
            "not even import (a syntax error) fails the tasks whose code is in it, with its file",
            "and line, and holds back those that call into it; the other tasks are graded.",
            "",
            "## Check your work",
            "",
            "```bash",
            ".venv/bin/nndl lab check                    # every task: PASS, or FAIL and why",
            ".venv/bin/nndl lab check batchnorm_backward # one task",
            ".venv/bin/python -m pytest -m batchnorm_backward  # the tests of one task",
            ".venv/bin/python -m pytest                  # everything, the chapters included",
            "```",
            "",
            "`nndl lab check TASK` and `pytest -m TASK` give the same verdict: the test that",
            "`pytest -m TASK` runs is `nndl lab check TASK`'s grading itself. A correct solution",
            "passes whatever NumPy idiom it is written in: the function's body is yours, and so",
            "is the cache your forward pass returns (a tuple, a dict, a list...); the grader",
            "calls your own backward pass on your own cache, and judges outputs and gradients",
            "to the round-off of their dtype (float32 is not a mistake). What the assignment",
            "does not ask for (your forward pass writing into its input x, a float32 input",
            "giving a float64 output...) is printed as `advice:` under the task and never fails",
            "it. A backward pass that writes into the `dout` it is given does fail: the caller's",
            "gradient changes under it.",
            "",
            "Each task is graded in a process of its own with a time limit, so an endless loop",
            "or `exit()` in your code fails that task only; what your code prints is shown under",
            "its task. The whole `pytest` passes once every task is done (until then, the tests",
            "of the tasks not done yet fail with their `NotImplementedError`).",
            "",
            "## Submit",
            "",
            "Submit the files you edited: "
            + ", ".join(f"`{path}`" for path in dict.fromkeys(p for t in order for p in t.paths))
            + ". Your course's autograder runs `nndl lab check` on them; to see what it will",
            "report, run",
            "",
            "```bash",
            ".venv/bin/nndl lab check --json",
            "```",
            "",
            "which prints one line per task with its verdict, its diagnosis and its points.",
            "",
        ]
    )
