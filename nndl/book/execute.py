"""Re-executing the book's chapters in place, for authors (``nndl book execute``).

nbformat and nbclient (the ``book`` extra) are imported where they are used, so that the ``nndl``
command line works without them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path


def execute_chapters(paths: Iterable[Path | str], timeout: int = 600) -> list[tuple[Path, float]]:
    """Execute each notebook top to bottom in a fresh kernel and write it back with its outputs.

    Execution counts run 1..n in every notebook; no timing metadata is written, so that a
    re-execution that changes nothing leaves only the timing cells' outputs changed.

    Inputs:
    - paths: the notebooks, executed in the order given
    - timeout: seconds allowed for one cell

    Returns:
    - list of (path, seconds it took)
    """
    import nbformat
    from nbclient import NotebookClient

    from nndl.book.kernel import encrypt_kernel_connections

    encrypt_kernel_connections()
    timings = []
    for path in map(Path, paths):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        client.execute()
        timings.append((path, time.perf_counter() - start))
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = merge_streams(cell.outputs)
        nbformat.write(notebook, path)
    return timings


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
        raise SystemExit(f"no chapters found in {args.book!r}: run from the repository root")
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
