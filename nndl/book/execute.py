"""Re-executing the book's chapters in place, for authors (``nndl book execute``).

nbformat and nbclient (the ``book`` extra) are imported where they are used, so that the ``nndl``
command line works without them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path

from nndl.cli import CommandError, UsageError
from nndl.paths import explained


def execute_chapters(paths: Iterable[Path | str], timeout: int = 600) -> list[tuple[Path, float]]:
    """Execute each notebook top to bottom in a fresh kernel and write it back with its outputs.

    Execution counts run 1..n in every notebook; no timing metadata is written, so that a
    re-execution that changes nothing leaves only the timing cells' outputs changed. A notebook
    whose execution fails is not written back.

    Inputs:
    - paths: the notebooks, executed in the order given
    - timeout: seconds allowed for one cell

    Returns:
    - list of (path, seconds it took)

    Raises ChapterError naming the notebook (and the cell) when one cannot be read, executed or
    written.
    """
    import nbformat
    from nbclient import NotebookClient

    from nndl.book.kernel import encrypt_kernel_connections

    encrypt_kernel_connections()
    timings = []
    for path in map(Path, paths):
        notebook = _read(path)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
        except Exception as error:
            raise ChapterError(f"{path}: {_failure(error, notebook, timeout)}; the notebook "
                               "was not written back") from error  # fmt: skip
        timings.append((path, time.perf_counter() - start))
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = merge_streams(cell.outputs)
        try:
            nbformat.write(notebook, path)
        except OSError as error:
            raise explained(error, path, "write the executed notebook") from None
    return timings


class ChapterError(CommandError):
    """A chapter could not be read, executed or written; the message names it and says why."""


def _read(path):
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except OSError as error:
        raise explained(error, path, "read the notebook") from None
    except Exception as error:  # nbformat's NotJSONError, ValidationError, a missing key...
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ChapterError(
            f"{path} is not a readable notebook ({type(error).__name__}: {first[:200]})"
        ) from None


def _failure(error, notebook, timeout):
    """What went wrong in a notebook's execution, in one line."""
    name = type(error).__name__
    failed = [
        i for i, cell in enumerate(notebook.cells, 1)
        if any(out.get("output_type") == "error" for out in cell.get("outputs", ()))
    ]  # fmt: skip
    where = f"cell {failed[0]}" if failed else "a cell"
    if name == "CellExecutionError":
        return f"{where} raised {error.ename}: {str(error.evalue).splitlines()[0][:300]}"
    if name == "CellTimeoutError":
        return f"a cell ran past the timeout of {timeout} s (--timeout)"
    if name == "DeadKernelError":
        return "the kernel died (out of memory, or a crash in C code)"
    if name == "NoSuchKernel":
        return "there is no 'python3' Jupyter kernel: pip install ipykernel"
    return f"{name}: {error}"


def merge_streams(outputs: list) -> list:
    """Join consecutive outputs of the same stream (stdout or stderr) into one.

    A kernel sends printed text in pieces as it is flushed; where the pieces fall depends on
    timing, so the stored notebook would change from run to run without this.
    """
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def _execute_command(args: argparse.Namespace) -> int:
    paths = args.notebooks or sorted(Path(args.book).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise UsageError(f"no chapters found in {args.book!r}: run from the repository root")
    missing = [str(path) for path in paths if not Path(path).is_file()]
    if missing:
        raise UsageError(f"no such notebook: {', '.join(missing)}")
    total = 0.0
    for path, seconds in execute_chapters(paths, timeout=args.timeout):
        print(f"{seconds:6.1f} s  {path}")
        total += seconds
    print(f"{total:6.1f} s  total")
    return 0


def register_cli(subparsers) -> None:
    """Add ``nndl book execute [NOTEBOOK ...]`` to the ``nndl`` command line."""
    book = subparsers.add_parser("book", help="work on the book's chapters")
    commands = book.add_subparsers(dest="book_command", required=True)
    execute = commands.add_parser(
        "execute",
        help="re-execute chapters in place, in fresh kernels (all of book/ by default)",
    )
    execute.add_argument("notebooks", nargs="*", type=Path, help="chapters to execute")
    execute.add_argument("--book", default="book", help="folder of the chapters (default: book)")
    execute.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    execute.set_defaults(func=_execute_command)
