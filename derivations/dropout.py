"""Inverted dropout in train mode: out = keep * x / (1 - p), where keep is 1 for the units
kept and 0 for those dropped (each dropped with probability p)."""

from __future__ import annotations

import functools

from derivations.graph import Derivation, define, derive
from derivations.notation import BATCH, scalars, tensor

x, keep, out = tensor("x", BATCH), tensor("keep", BATCH), tensor("out", BATCH)
(p,) = scalars("p")


@functools.cache
def dropout_layer() -> Derivation:
    """dx = keep * dout / (1 - p): the same mask and scale as the forward pass."""
    i = BATCH.own
    nodes = (define(out[i], keep[i] * x[i] / (1 - p), "output"),)
    return derive("dropout", "Inverted dropout, train mode", nodes, wrt=("x",), indices=(BATCH,))


CHAPTER = 6
DERIVED = {"dropout": dropout_layer}
