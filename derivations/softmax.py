"""Softmax cross-entropy, averaged over the batch, with one-hot labels y (y_ic = 1 for the
correct class c of example i)::

    lse_i = log sum_a exp(x_ia)                      log-sum-exp
    loss  = 1/N sum_j (lse_j - sum_a y_ja x_ja)      loss

(-log softmax(x)_ic = lse_i - x_ic for the correct class.)
"""

from __future__ import annotations

import functools

import sympy as sp

from derivations.graph import Derivation, Vocabulary, define, derive
from derivations.notation import BATCH, CLASSES, scalars, tensor

x, y, lse = tensor("x", BATCH, CLASSES), tensor("y", BATCH, CLASSES), tensor("lse", BATCH)
(loss,) = scalars("loss")


@functools.cache
def softmax_loss() -> Derivation:
    """dx = (softmax(x) - y) / N, with softmax(x)_ic = exp(x_ic - lse_i)."""
    i, j, a = BATCH.own, BATCH.summed, CLASSES.summed
    N, C = BATCH.size, CLASSES.size
    exp_sum = sp.Sum(sp.exp(x[i, a]), (a, 0, C - 1))
    nodes = (
        define(lse[i], sp.log(exp_sum), "log-sum-exp"),
        define(
            loss,
            sp.Sum(lse[j] - sp.Sum(y[j, a] * x[j, a], (a, 0, C - 1)), (j, 0, N - 1)) / N,
            "mean cross-entropy",
        ),
    )
    vocabulary = Vocabulary(
        identities=(sp.Eq(exp_sum, sp.exp(lse[i])),),
        finish=lambda e: sp.together(sp.powsimp(sp.expand(e))),
    )
    return derive(
        "softmax_loss",
        "Softmax cross-entropy loss",
        nodes,
        wrt=("x",),
        indices=(BATCH, CLASSES),
        upstream=sp.S.One,
        vocabulary=vocabulary,
    )


CHAPTER = 6
DERIVED = {"softmax_loss": softmax_loss}
