"""The nndl command line: data, lab exercises, the book's chapters, and a demo.

Each subcommand lives with the module it drives; that module exposes
``register_cli(subparsers)``, which adds its parser and sets ``func`` to the function that runs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# The module that contributes each subcommand. A command line that names a subcommand imports
# only its module: ``nndl lab check`` must work while a student's layers.py does not import.
SUBCOMMAND_MODULES = {
    "data": "nndl.data",
    "lab": "nndl.lab",
    "book": "nndl.book.execute",
    "demo": "nndl.demo",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nndl", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    named = [argv[0]] if argv and argv[0] in SUBCOMMAND_MODULES else list(SUBCOMMAND_MODULES)
    for command in named:
        importlib.import_module(SUBCOMMAND_MODULES[command]).register_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return int(args.func(args) or 0)
