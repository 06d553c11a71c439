"""derivations: every backward formula of nndl, derived by sympy from the forward graph.

Each layer's derivation is a function returning a ``Derivation`` (computed once per process)::

    >>> from derivations import batchnorm_train
    >>> d = batchnorm_train()
    >>> d.closed_forms["dbeta"]
    Sum(dout[j], (j, 0, N - 1))
    >>> d.inputs, d.outputs
    (('dout', 'x', 'gamma', 'eps'), ('dx', 'dgamma', 'dbeta'))

- ``d.nodes``: the forward graph, one ``Node`` (name, description, forward, local_derivative)
  per node, in the names nndl and the book use (mu, xc, var, inv_std, xhat, out)
- ``d.staged``: the gradient of each node through the gradients of the nodes that use it, as
  nndl's staged backward computes them; ``d.closed_forms``: through the upstream gradient only
- ``d.terms``: each closed form split by path through the graph
- ``d.latex``, ``Node.latex``, ``Node.local_derivative_latex``: LaTeX for the book
- ``d.numpy_fn``: the closed forms as a NumPy function, e.g. (dout, x, gamma, eps) -> (dx,
  dgamma, dbeta)

``derivations.check`` holds code to these formulas (to round-off, and exactly on symbols);
``derivations.exact`` proves the closed forms for concrete sizes by brute force.
Batch norm, layer norm (``derivations.layernorm``), spatial batch norm and group norm
(``derivations.spatial``) are one graph, ``derivations.normalization``, with other axes averaged
over. ``python -m derivations`` prints every derivation.

``DERIVATIONS`` is found, not listed: every module of this package that names its derivations
in a ``DERIVED`` dict (name -> function) and the chapter that introduces them (``CHAPTER``) is
in it, in the order of the book. A new layer's derivation is a new module.
"""

import importlib
import pkgutil

from derivations.affine import affine_layer
from derivations.batchnorm import batchnorm_test, batchnorm_train
from derivations.dropout import dropout_layer
from derivations.layernorm import layernorm
from derivations.notation import LATEX_NAMES, latex, latex_name
from derivations.records import Derivation, Node, Term
from derivations.relu import relu_layer
from derivations.softmax import softmax_loss
from derivations.spatial import spatial_batchnorm, spatial_groupnorm
from derivations.svm import svm_loss


def _discovered() -> dict:
    """Every module's ``DERIVED`` derivations, by name, ordered by chapter, then module."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "DERIVED"):
                found.append((module.CHAPTER, info.name, module.DERIVED))
    return {name: derive for *_, derived in sorted(found) for name, derive in derived.items()}


# Every derivation, by name, in the order of the book.
DERIVATIONS = _discovered()


def all_derivations() -> dict[str, Derivation]:
    """Every derivation by name (each computed once per process)."""
    return {name: derive() for name, derive in DERIVATIONS.items()}


__all__ = [
    "DERIVATIONS",
    "LATEX_NAMES",
    "Derivation",
    "Node",
    "Term",
    "affine_layer",
    "all_derivations",
    "batchnorm_test",
    "batchnorm_train",
    "dropout_layer",
    "latex",
    "latex_name",
    "layernorm",
    "relu_layer",
    "softmax_loss",
    "spatial_batchnorm",
    "spatial_groupnorm",
    "svm_loss",
]
