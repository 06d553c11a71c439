"""The affine (fully connected) layer: out = x w + b, for a batch x of shape (N, D)."""

from __future__ import annotations

import functools

import sympy as sp

from derivations.graph import Derivation, define, derive
from derivations.notation import BATCH, FEATURES, OUTPUTS, tensor

x = tensor("x", BATCH, FEATURES)
w = tensor("w", FEATURES, OUTPUTS)
b = tensor("b", OUTPUTS)
out = tensor("out", BATCH, OUTPUTS)


@functools.cache
def affine_layer() -> Derivation:
    """dx = dout w^T, dw = x^T dout, db = the sum of dout over the batch."""
    i, m, e = BATCH.own, OUTPUTS.own, FEATURES.summed
    nodes = (
        define(out[i, m], sp.Sum(x[i, e] * w[e, m], (e, 0, FEATURES.size - 1)) + b[m], "output"),
    )
    return derive(
        "affine",
        "Affine layer",
        nodes,
        wrt=("x", "w", "b"),
        indices=(BATCH, FEATURES, OUTPUTS),
    )


CHAPTER = 6
DERIVED = {"affine": affine_layer}
