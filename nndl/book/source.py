"""Source code as a chapter prints it: the function a reader studies, without the lab's
solution markers and the input checks that guard its boundary."""

from __future__ import annotations

import inspect
import re

# A line that is lab or boundary plumbing, not the computation: the markers that
# ``nndl lab student`` cuts between, and a one-line call of an input check.
_PLUMBING = re.compile(r"\s*(### (BEGIN|END) SOLUTION|_check_\w+\(.*\))\s*")


def printed_source(function) -> str:
    """The source of ``function`` without solution markers and input-check calls.

    Inputs:
    - function: a Python function (anything ``inspect.getsource`` accepts)

    Returns:
    - its source text, every other line kept as it is
    """
    lines = inspect.getsource(function).splitlines()
    return "\n".join(line for line in lines if not _PLUMBING.fullmatch(line))


def source_block(function):
    """``printed_source(function)`` as a Python code block to display: the page shows it as code
    (highlighted, and wrapped at the column's width like every code cell) rather than as printed
    text, which keeps its lines and would scroll sideways.

    Returns:
    - an ``IPython.display.Markdown`` of the fenced code block
    """
    from IPython.display import Markdown

    return Markdown(f"```python\n{printed_source(function)}\n```")
