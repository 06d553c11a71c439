"""The nndl command line: data, lab exercises, the book's chapters, and a demo.

Each subcommand lives with the module it drives; that module exposes
``register_cli(subparsers)``, which adds its parser and sets ``func`` to the function that runs it.
"""

from __future__ import annotations

import argparse
import importlib

# Modules that contribute a subcommand, imported lazily so that ``nndl --help`` stays fast.
SUBCOMMAND_MODULES = ("nndl.data", "nndl.lab", "nndl.book.execute", "nndl.demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nndl", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
