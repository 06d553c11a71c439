"""Safe unpickling of CIFAR-10's batches: an unpickler that rebuilds numpy arrays and no more.

Loading a pickle can run any code it names, so the batches are read with an unpickler whose
``find_class`` resolves only the few names the official format needs.
"""

from __future__ import annotations

import errno
import math
import os
import pickle

import numpy as np

from nndl.data.errors import DatasetError, UnsafePickleError
from nndl.paths import PathError, open_regular


def _latin1_bytes(text, encoding):
    """Rebuild a bytes object the way Python 3 pickles bytes at protocol 2.

    Protocol 2 has no opcode for bytes, so Python 3 writes ``_codecs.encode(text, "latin1")``.
    Only that exact call is honoured: any other codec is not part of the format.
    """
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError(
            f"refused _codecs.encode({type(text).__name__}, {encoding!r}): bytes are rebuilt "
            "from a str with the 'latin1' codec only"
        )
    return text.encode("latin1")


# The function numpy pickles its arrays with. Python 2 and numpy 1 files name it
# numpy.core.multiarray._reconstruct, numpy 2 files numpy._core.multiarray._reconstruct.
_reconstruct = np.empty(0).__reduce__()[0]


class _ClaimedArray(np.ndarray):
    """What a batch's arrays are rebuilt as: ``__setstate__`` checks the shape and dtype that
    the pickle claims against the bytes it holds, and against the file's size, before numpy
    allocates anything. A pickle cannot call it (``ndarray(shape)`` would allocate any shape it
    names): only ``_reconstruct`` below makes one, empty."""

    file_size = 0  # set on the subclass made for each file

    def __new__(cls, *args, **kwargs):
        raise UnsafePickleError(
            "refused to call numpy.ndarray: a CIFAR-10 batch rebuilds its arrays with "
            "_reconstruct, and a direct call could allocate an array of any size"
        )

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise UnsafePickleError("an array's pickled state is not numpy's (version, shape, "
                                    "dtype, fortran order, bytes)")  # fmt: skip
        _, shape, dtype, _, raw = state
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise UnsafePickleError(f"refused an array of dtype {dtype!r}: a batch holds numbers")
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise DatasetError(f"an array's shape {shape!r} is not a tuple of sizes")
        claimed = math.prod(shape) * dtype.itemsize
        if claimed > self.file_size:
            raise DatasetError(
                f"an array claims shape {shape} of {dtype} ({claimed:,} bytes), more than the "
                f"whole file ({self.file_size:,} bytes): the file is corrupt"
            )
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != claimed:
            held = len(raw) if isinstance(raw, (bytes, bytearray)) else type(raw).__name__
            raise DatasetError(
                f"an array claims shape {shape} of {dtype} ({claimed:,} bytes) but holds {held} "
                "bytes: the file is corrupt"
            )
        super().__setstate__(state)


def _checked_reconstruct(cls, shape, dtype_code):
    """numpy's ``_reconstruct`` for the one call its pickles make: an empty array of the
    checking class, which ``__setstate__`` then fills."""
    if not (isinstance(cls, type) and issubclass(cls, _ClaimedArray)) or shape != (0,):
        raise UnsafePickleError(
            f"refused _reconstruct({_name(cls)}, {shape!r}, ...): numpy "
            "pickles an array as an empty one, (0,), filled by its state"
        )
    return _reconstruct(cls, shape, dtype_code)


def _name(cls):
    if isinstance(cls, type) and issubclass(cls, _ClaimedArray):
        return "ndarray"
    return getattr(cls, "__name__", repr(cls))


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names the official format needs: numpy's array
    rebuilder (as ``_checked_reconstruct``), ``ndarray`` (as a ``_ClaimedArray`` bounded by the
    file's size), ``dtype``, and ``_codecs.encode`` for Python 3's bytes.

    A pickle runs code by naming a callable (``os.system``, ``builtins.eval``...) that
    ``find_class`` looks up; refusing every other name means its payload is never even imported.
    """

    def __init__(self, file, file_size):
        super().__init__(file, encoding="bytes")
        self.array_class = type("CheckedArray", (_ClaimedArray,), {"file_size": file_size})

    def find_class(self, module, name):
        if (module, name) in _RECONSTRUCT:
            return _checked_reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return self.array_class
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        raise UnsafePickleError(
            f"refused to load {module}.{name}: a CIFAR-10 batch holds only numpy arrays, "
            "lists and bytes, and a pickle that calls anything else could run arbitrary code"
        )


_RECONSTRUCT = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


def _load_pickle(path):
    """Unpickle `path` with the restricted unpickler; errors name the file and say what it is.

    The official batches were written by Python 2, whose byte strings must stay bytes
    (``encoding="bytes"``): the keys are b'data', b'labels', ... Arrays come back as plain
    numpy arrays.
    """
    try:
        file = open_regular(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise DatasetError(
                f"{path}: a symbolic link to {os.readlink(path)}, which does not exist; "
                "run `nndl data fetch cifar10` to download CIFAR-10"
            ) from None
        raise DatasetError(
            f"{path}: no such file; run `nndl data fetch cifar10` to download CIFAR-10"
        ) from None
    except OSError as error:
        raise DatasetError(_unreadable(path, error)) from None
    with file:
        size = os.fstat(file.fileno()).st_size
        try:
            loaded = _RestrictedUnpickler(file, size).load()
        except UnsafePickleError as err:
            raise UnsafePickleError(f"{path}: {err}") from None
        except DatasetError as err:
            raise DatasetError(f"{path}: {err}; fetch it again") from None
        except (EOFError, pickle.UnpicklingError) as error:
            if not isinstance(error, EOFError) and "truncated" not in str(error):
                raise DatasetError(
                    f"{path}: not a pickle ({error}); the file is corrupt, fetch it again"
                ) from None
            raise DatasetError(
                f"{path}: ends early ({size:,} bytes): the file is truncated; fetch it again "
                "(nndl data fetch cifar10)"
            ) from None
        except OSError as error:
            raise DatasetError(_unreadable(path, error)) from None
        except Exception as err:  # any other failure to parse: the bytes are not a pickle
            raise DatasetError(
                f"{path}: not a complete pickle ({type(err).__name__}: {err}); the file is "
                "truncated or corrupt, fetch it again"
            ) from None
    return _plain_arrays(loaded)


def _unreadable(path, error):
    """Why path cannot be read, for each cause its own words."""
    if error.errno == errno.ELOOP:
        return f"{path}: a symbolic link that loops back on itself; replace it with the file"
    if isinstance(error, IsADirectoryError):
        return f"{path}: a folder, where a CIFAR-10 batch file should be"
    if isinstance(error, PermissionError):
        return (
            f"{path}: cannot be read (permission denied); give yourself read permission "
            "(chmod u+r) or fetch CIFAR-10 again into a folder of yours"
        )
    if isinstance(error, PathError):  # a FIFO, a device: its message names the path
        return str(error)
    return f"{path}: cannot be read ({error.strerror or error})"


def _plain_arrays(value):
    """The loaded batch with every checked array as a plain ndarray."""
    if isinstance(value, np.ndarray):
        return value.view(np.ndarray)
    if isinstance(value, dict):
        return {key: _plain_arrays(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_arrays(item) for item in value]
    return value
