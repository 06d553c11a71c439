"""The nndl command line: data, lab exercises, the book's chapters, and a demo.

Each subcommand lives with the module it drives; that module exposes
``register_cli(subparsers)``, which adds its parser and sets ``func`` to the function that runs it.

``main`` is the one place that turns an error into one line on stderr, ``nndl SUBCOMMAND:
what went wrong``, with exit status 2 for a usage error (argparse's, or a ``UsageError`` that a
subcommand raises) and 1 for a failure; ``--debug`` (anywhere on the line) or ``NNDL_DEBUG=1``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from nndl.paths import PathError, reason

# The module that contributes each subcommand. A command line that names a subcommand imports
# only its module: ``nndl lab check`` must work while a student's layers.py does not import.
SUBCOMMAND_MODULES = {
    "data": "nndl.data",
    "lab": "nndl.lab",
    "book": "nndl.book.execute",
    "demo": "nndl.demo",
}
DEBUG_FLAG = "--debug"
USAGE_ERROR, FAILURE, INTERRUPTED = 2, 1, 130


class CommandError(Exception):
    """A failure that its message explains (what went wrong, what to do): exit status 1."""


class UsageError(CommandError):
    """A command line that asks for something that cannot be: exit status 2, as argparse's own
    errors. Subcommands raise it for what they can only check once they run (an environment
    variable, a file named on the line that is not there)."""


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nndl", description=__doc__.splitlines()[0])
    parser.add_argument(
        DEBUG_FLAG,
        action="store_true",
        help="show the traceback of an error (also NNDL_DEBUG=1); may stand anywhere on the line",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    named = [argv[0]] if argv and argv[0] in SUBCOMMAND_MODULES else list(SUBCOMMAND_MODULES)
    for command in named:
        importlib.import_module(SUBCOMMAND_MODULES[command]).register_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    end = argv.index("--") if "--" in argv else len(argv)
    debug = DEBUG_FLAG in argv[:end] or os.environ.get("NNDL_DEBUG", "") not in ("", "0")
    argv = [arg for arg in argv[:end] if arg != DEBUG_FLAG] + argv[end:]
    prog = "nndl"
    try:
        args = build_parser(argv).parse_args(argv)
        prog = " ".join(["nndl", *_subcommands(args)])
        return int(args.func(args) or 0)
    except SystemExit:
        raise  # argparse's usage errors (status 2) and --help, already printed
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        if debug:
            raise
        print(f"{prog}: {describe(error)}", file=sys.stderr)
        return USAGE_ERROR if isinstance(error, UsageError) else FAILURE


def _subcommands(args: argparse.Namespace) -> list[str]:
    """The subcommand's words (``lab``, ``check``), from the dests that name them."""
    words = [args.command]
    for name, value in vars(args).items():
        if name.endswith("_command") and isinstance(value, str):
            words.append(value)
    return words


def describe(error: BaseException) -> str:
    """An error as the line the command prints: nndl's own messages as they are; an OSError with
    its path and what to do; anything else with its type and a hint that it may be a bug."""
    from nndl.checkpoint import CheckpointError
    from nndl.data.errors import DatasetError

    if isinstance(error, PathError | CommandError | DatasetError | CheckpointError):
        return str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        if error.filename2:  # shutil's copies name both: the source, then the destination
            where = f"copying {error.filename} to {error.filename2}: "
        return f"{where}{reason(error) if error.errno else error}"
    if isinstance(error, ValueError | TypeError) and str(error):
        return str(error)
    return (
        f"{type(error).__name__}: {error} (unexpected: run again with {DEBUG_FLAG} or "
        "NNDL_DEBUG=1 for the traceback, and report it)"
    )
