"""Safe unpickling of CIFAR-10's batches: an unpickler that rebuilds numpy arrays and no more.

Loading a pickle can run any code it names, so the batches are read with an unpickler whose
``find_class`` resolves only the few names the official format needs.
"""

from __future__ import annotations

import pickle

import numpy as np

from nndl.data.errors import DatasetError, UnsafePickleError


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

# Everything the official format needs (a dict of bytes, lists of ints and uint8 arrays); all
# containers and numbers have their own opcodes and never pass through find_class.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in ``_ALLOWED_GLOBALS``.

    A pickle runs code by naming a callable (``os.system``, ``builtins.eval``...) that
    ``find_class`` looks up; refusing every other name means its payload is never even imported.
    """

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to load {module}.{name}: a CIFAR-10 batch holds only numpy arrays, "
                "lists and bytes, and a pickle that calls anything else could run arbitrary code"
            ) from None


def _load_pickle(path):
    """Unpickle `path` with the restricted unpickler; errors name the file.

    The official batches were written by Python 2, whose byte strings must stay bytes
    (``encoding="bytes"``): the keys are b'data', b'labels', ...
    """
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: no such file; run `nndl data fetch cifar10` to download CIFAR-10"
        ) from None
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except Exception as err:  # any failure to parse means the bytes are not a whole pickle
        raise DatasetError(
            f"{path}: not a complete pickle ({type(err).__name__}: {err}); the file is truncated "
            "or corrupt, fetch it again"
        ) from err
