"""Each gradient split into the paths of the chain rule, in the form the lab's diagnoses use.

``derivations.graph`` splits every closed form by path through the graph (``Derivation.terms``):
for batch norm in train mode, dx is the direct path, plus the path through the mean, plus the path
through the variance, plus the path through the mean and then the variance, which is 0 (the
centred input sums to zero over the batch). A wrong backward pass is, more often than not, the
right one with a path missing, doubled or of the wrong sign, so these terms are what
``nndl.lab.checks`` fits a wrong gradient with. This module gets them ready for that:

- only the paths that contribute (a term that simplifies to 0 cannot be missed);
- each written through the gradient of one node of the staged backward (``dxhat`` for batch
  norm: ``-inv_std/N * sum_j(dxhat[j])`` reads like the line of code that computes it);
- as one line of plain text, and as LaTeX;
- evaluated on arrays, by the derivation's own evaluator.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from derivations.batchnorm import batchnorm_test, batchnorm_train
from derivations.evaluate import Evaluator
from derivations.graph import Derivation, at_indices, canonical_sums, expand_sums
from derivations.notation import latex


class _PlainPrinter(StrPrinter):
    """sympy's str, with a sum over the batch written ``sum_j(...)``."""

    def _print_Sum(self, expr: sp.Sum) -> str:
        ((var, _, _),) = expr.limits
        return f"sum_{var}({self._print(expr.function)})"


@dataclass(frozen=True)
class PathTerm:
    """The part of one gradient that flows along one path of the graph.

    - gradient: the gradient it is part of, e.g. "dx"
    - path: node names from the input to the output, e.g. ("x", "mu", "xc", "xhat", "out")
    - label: e.g. "the path through the mean"
    - expression: the term, through the gradient of the node ``split`` was asked to use
    """

    gradient: str
    path: tuple[str, ...]
    label: str
    expression: sp.Expr

    @property
    def formula(self) -> str:
        """One line of plain text, e.g. ``-inv_std*sum_j(dxhat[j])/N``."""
        return _PlainPrinter().doprint(self.expression)

    @property
    def latex(self) -> str:
        """The term in the book's notation."""
        return latex(self.expression)


def _through(derivation: Derivation, expr: sp.Expr, via: str) -> sp.Expr:
    """``expr``, written with the upstream gradient, rewritten with the gradient of ``via``.

    The staged backward gives d<via> as a function of the upstream gradient (dxhat = gamma *
    dout); solving that for the upstream gradient and substituting it is the rewrite.
    """
    upstream, staged = derivation.upstream, derivation.staged["d" + via]
    if staged.free_symbols - {*upstream.free_symbols, *derivation.symbols.values()}:
        raise ValueError(f"d{via} is not a function of the upstream gradient alone: {staged}")
    (solution,) = sp.solve(sp.Eq(derivation.gradient("d" + via), staged), upstream)
    own = upstream.indices if isinstance(upstream, sp.Indexed) else ()
    rewritten = expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == getattr(upstream, "base", None),
        lambda e: at_indices(solution, own, e.indices),
    )
    indices = {ix.size: ix for ix in derivation.indices}
    return sp.together(canonical_sums(expand_sums(rewritten), indices))


def split(derivation: Derivation, gradient: str, via: str | None = None) -> tuple[PathTerm, ...]:
    """The paths that contribute to ``gradient``, each as a ``PathTerm``.

    Inputs:
    - derivation: e.g. ``derivations.batchnorm.batchnorm_train()``
    - gradient: one of its closed forms, e.g. "dx"
    - via: a node whose gradient the terms are written with (e.g. "xhat"), instead of the
      upstream gradient

    Returns:
    - the terms, in the derivation's order; their sum is the closed form
    """
    terms = []
    for term in derivation.terms[gradient]:
        if term.expression == 0:
            continue
        expression = _through(derivation, term.expression, via) if via else term.expression
        terms.append(PathTerm(gradient, term.path, term.description, expression))
    return tuple(terms)


def evaluate(
    derivation: Derivation, terms: Sequence[PathTerm], inputs: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """The value of each term on arrays.

    Inputs:
    - derivation: the derivation the terms come from
    - terms: ``PathTerm``s of one gradient
    - inputs: arrays by name: the gradient the terms are written with (e.g. ``dxhat`` of shape
      (N, D)), and the quantities they use (``xhat`` (N, D), ``inv_std`` (D,)...); a node that is
      not given is computed from its definition

    Returns:
    - one array per term, of the gradient's shape
    """
    symbols = dict(derivation.symbols)
    for name in inputs:
        if name not in symbols and name.startswith("d"):
            symbol = derivation.gradient(name)
            symbols[name] = symbol.base if isinstance(symbol, sp.Indexed) else symbol
    definitions = {n.name: (n.value, n.expression) for n in derivation.nodes}
    evaluator = Evaluator(symbols, definitions, derivation.indices, inputs)
    own = derivation.own(terms[0].gradient[1:]) if terms else None
    labels = tuple(own.indices) if isinstance(own, sp.Indexed) else ()
    return [np.asarray(evaluator.array(term.expression, labels)) for term in terms]


def evaluated(
    derivation: Derivation, gradient: str, inputs: Mapping[str, np.ndarray], via: str | None = None
) -> list[tuple[PathTerm, np.ndarray]]:
    """``split`` and ``evaluate`` in one: the contributing terms of ``gradient`` with their values.

    Example: ``evaluated(softmax_loss(), "dx", {"x": scores, "y": onehot})`` gives the direct
    path (-y/N, the -1 at the true class) and the path through the log-sum-exp (softmax / N).
    """
    terms = split(derivation, gradient, via)
    return list(zip(terms, evaluate(derivation, terms, inputs)))


# --------------------------------------------------------------------------------------------
# Batch norm, as the lab grades it
# --------------------------------------------------------------------------------------------

BATCHNORM_DERIVATIONS = {"train": batchnorm_train, "test": batchnorm_test}


@functools.cache
def batchnorm_terms(mode: str) -> tuple[PathTerm, ...]:
    """The terms of batch norm's dx in ``mode`` ("train" or "test"), through dxhat."""
    if mode not in BATCHNORM_DERIVATIONS:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return split(BATCHNORM_DERIVATIONS[mode](), "dx", via="xhat")


def batchnorm_dx_terms(mode: str, dxhat, xhat, inv_std) -> list[tuple[PathTerm, np.ndarray]]:
    """The terms of batch norm's dx, written through dxhat, and their values.

    Inputs:
    - mode: "train" (direct path, through the mean, through the variance) or "test" (the
      direct path only: the running averages are constants)
    - dxhat: gradient of the normalised input, shape (N, D) (dout * gamma)
    - xhat: normalised input, shape (N, D)
    - inv_std: inverse standard deviation, shape (D,)

    Returns:
    - list of (term, value of shape (N, D)); the values add up to dx
    """
    terms = batchnorm_terms(mode)
    inputs = {"dxhat": dxhat, "xhat": xhat, "inv_std": inv_std}
    return list(zip(terms, evaluate(BATCHNORM_DERIVATIONS[mode](), terms, inputs)))
