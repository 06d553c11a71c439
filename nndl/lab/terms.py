"""The derivations the lab's diagnoses are built from, and batch norm's dx split by path of the
chain rule, written through dxhat, as the lab grades it.

The lab grades a right solution with NumPy alone; only a wrong gradient needs a derivation, to
say which path of the chain rule it lacks. Deriving takes seconds (group norm's, over three
summed indices, about ten), and every task is graded in a process of its own, so ``derivation``
keeps each derived record in a file beside the derivations' bytecode (``__pycache__``, which
git ignores), named after the derivations' sources and sympy's version: a derivation is
computed once per checkout, and again whenever its sources change.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
from pathlib import Path
from types import MappingProxyType


def _mapping_proxy(mapping: dict) -> MappingProxyType:
    """A read-only mapping again, after pickling (the records hold MappingProxyType fields)."""
    return MappingProxyType(mapping)


def _cache_file(name: str) -> Path:
    """The file that keeps derivation ``name``: in derivations' ``__pycache__``, named after a
    hash of the derivations' sources, sympy's version and Python's."""
    import sympy

    import derivations

    folder = Path(derivations.__file__).parent
    digest = hashlib.sha256(f"{sympy.__version__} {sys.version_info[:2]}".encode())
    for source in sorted(folder.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return folder / "__pycache__" / f"derived-{name}-{digest.hexdigest()[:16]}.pickle"


def _store(path: Path, record) -> None:
    """Write ``record`` to ``path`` atomically; a folder that cannot be written is no error
    (the next process derives again)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[MappingProxyType] = lambda m: (_mapping_proxy, (dict(m),))
    try:
        pickler.dump(record)
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            file.write(buffer.getvalue())
        os.replace(temporary, path)
    except (OSError, pickle.PicklingError):
        pass


@functools.cache
def derivation(name: str):
    """The derivation ``name`` of ``derivations.DERIVATIONS`` (e.g. "layernorm"), read from its
    file when one was written for the current sources, else derived and written."""
    import derivations

    if name not in derivations.DERIVATIONS:
        known = ", ".join(derivations.DERIVATIONS)
        raise ValueError(f"no derivation {name!r}; the derivations are: {known}")
    path = _cache_file(name)
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except Exception:  # no file yet, or one another version wrote: derive again
        pass
    record = derivations.DERIVATIONS[name]()
    _store(path, record)
    return record


def batchnorm_derivation(mode: str):
    """``derivations.batchnorm_train()`` or ``batchnorm_test()``."""
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return derivation(f"batchnorm_{mode}")


@functools.cache
def batchnorm_terms(mode: str):
    """The terms (``derivations.records.Term``) of batch norm's dx in ``mode``, through dxhat."""
    from derivations.terms import split

    return split(batchnorm_derivation(mode), "dx", via="xhat")


def batchnorm_dx_terms(mode: str, dxhat, xhat, inv_std):
    """The terms of batch norm's dx, written through dxhat, and their values.

    Inputs:
    - mode: "train" (direct path, through the mean, through the variance) or "test" (the
      direct path only: the running averages are constants)
    - dxhat: gradient of the normalised input, shape (N, D) (dout * gamma)
    - xhat: normalised input, shape (N, D)
    - inv_std: inverse standard deviation, shape (D,)

    Returns:
    - (terms, values): the values, of shape (N, D), add up to dx
    """
    terms = batchnorm_terms(mode)
    inputs = {"dxhat": dxhat, "xhat": xhat, "inv_std": inv_std}
    values = batchnorm_derivation(mode).evaluate_terms("dx", inputs, terms)
    return terms, [values[term.description] for term in terms]


def loss_dx_terms(loss: str, x, onehot):
    """The terms of a loss's dx (``loss``: "softmax" or "svm") and their values on scores ``x``
    with one-hot labels ``onehot``."""
    from derivations.terms import split

    record = derivation(f"{loss}_loss")
    terms = split(record, "dx")
    values = record.evaluate_terms("dx", {"x": x, "y": onehot}, terms)
    return terms, [values[term.description] for term in terms]
