"""Multiclass SVM (hinge) loss with margin 1, averaged over the batch, with one-hot labels y::

correct_i   = sum_a y_ia x_ia                          score of the correct class
margin_ic   = x_ic - correct_i + 1                     margin
hinge_ic    = (1 - y_ic) max(margin_ic, 0)             hinge (0 for the correct class)
loss        = 1/N sum_j sum_a hinge_ja                 loss
"""

from __future__ import annotations

import functools

import sympy as sp

from derivations.graph import Derivation, Vocabulary, define, derive
from derivations.notation import BATCH, CLASSES, scalars, tensor
from derivations.relu import ramp, step

x, y = tensor("x", BATCH, CLASSES), tensor("y", BATCH, CLASSES)
margin, hinge = tensor("margin", BATCH, CLASSES), tensor("hinge", BATCH, CLASSES)
correct = tensor("correct", BATCH)
(loss,) = scalars("loss")


@functools.cache
def svm_loss() -> Derivation:
    """dx_ic = 1/N [margin_ic > 0 and c is wrong] - y_ic/N (number of wrong classes with a
    positive margin)."""
    i, c, j, a = BATCH.own, CLASSES.own, BATCH.summed, CLASSES.summed
    N, C = BATCH.size, CLASSES.size
    nodes = (
        define(correct[i], sp.Sum(y[i, a] * x[i, a], (a, 0, C - 1)), "score of the correct class"),
        define(margin[i, c], x[i, c] - correct[i] + 1, "margin"),
        define(hinge[i, c], (1 - y[i, c]) * ramp(margin[i, c]), "hinge"),
        define(
            loss, sp.Sum(sp.Sum(hinge[j, a], (a, 0, C - 1)), (j, 0, N - 1)) / N, "mean hinge loss"
        ),
    )
    # Group the closed form by the indicator of the example's own margin.
    vocabulary = Vocabulary(
        finish=lambda e: sp.together(sp.collect(sp.simplify(e), step(margin[i, c])))
    )
    return derive(
        "svm_loss",
        "Multiclass SVM loss",
        nodes,
        wrt=("x",),
        indices=(BATCH, CLASSES),
        upstream=sp.S.One,
        vocabulary=vocabulary,
    )


CHAPTER = 6
DERIVED = {"svm_loss": svm_loss}
