"""What goes wrong with data: the errors nndl.data raises, and its optional dependencies."""

from __future__ import annotations

import importlib


class DatasetError(Exception):
    """A data file or archive is missing, corrupt, unsafe or could not be fetched.

    The message names the file, says what was wrong and, where it can, what to do about it.
    """


class UnsafePickleError(DatasetError):
    """A pickle asked for a function or class that a CIFAR-10 batch never needs."""


def _import_optional(name):
    """Import a dependency of nndl's "data" extra, saying how to install it if it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"cannot import {name}: install nndl's data extra, pip install 'nndl[data]'"
        ) from None
