"""The rectified linear unit, out = max(x, 0) elementwise, and the two sympy functions it
needs: ``ramp`` (max(x, 0)) and its derivative ``step``.

At x = 0 the derivative of max(x, 0) is undefined; nndl, like CS231n, lets no gradient through
there, so ``step(0) = 0``. The SVM loss uses the same functions for its hinge.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from derivations.graph import Derivation, define, derive
from derivations.notation import BATCH, tensor


class step(sp.Function):  # noqa: N801 (a sympy function, named like sympy's own)
    """1 where the argument is > 0, 0 where it is <= 0: the derivative of ``ramp``."""

    @staticmethod
    def numpy(a):
        return np.greater(a, 0).astype(np.result_type(a, np.float32))

    @classmethod
    def eval(cls, arg):
        if arg.is_positive:
            return sp.S.One
        if arg.is_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _latex(self, printer):
        return rf"\left[{printer._print(self.args[0])} > 0\right]"


class ramp(sp.Function):  # noqa: N801
    """max(argument, 0)."""

    @staticmethod
    def numpy(a):
        return np.maximum(a, 0)

    @classmethod
    def eval(cls, arg):
        if arg.is_positive:
            return arg
        if arg.is_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _latex(self, printer):
        return rf"\max\left({printer._print(self.args[0])}, 0\right)"


x, out = tensor("x", BATCH), tensor("out", BATCH)


@functools.cache
def relu_layer() -> Derivation:
    """dx = dout where x > 0, else 0."""
    i = BATCH.own
    nodes = (define(out[i], ramp(x[i]), "output"),)
    return derive("relu", "ReLU", nodes, wrt=("x",), indices=(BATCH,))


CHAPTER = 6
DERIVED = {"relu": relu_layer}
