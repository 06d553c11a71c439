"""Each gradient split into the paths of the chain rule, written the way a staged backward reads.

``derivations.graph`` splits every closed form by path through the graph (``Derivation.terms``):
for batch norm in train mode, dx is the direct path, plus the path through the mean, plus the path
through the variance, plus the path through the mean and then the variance, which is 0 (the
centred input sums to zero over the batch). A wrong backward pass is, more often than not, the
right one with a path missing, doubled or of the wrong sign, so these terms are what a wrong
gradient is explained with (``derivations.check.explain``). ``split`` gets them ready for that:

- only the paths that contribute (a term that simplifies to 0 cannot be missed);
- each written through the gradient of one node of the staged backward (``dxhat`` for batch
  norm: ``-inv_std/N * sum_j(dxhat[j])`` reads like the line of code that computes it).

``Derivation.evaluate_terms(gradient, inputs, terms)`` evaluates them on arrays.
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from derivations.graph import Derivation, at_indices, canonical_sums, expand_sums
from derivations.records import Term


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


def split(derivation: Derivation, gradient: str, via: str | None = None) -> tuple[Term, ...]:
    """The paths that contribute to ``gradient``.

    Inputs:
    - derivation: e.g. ``derivations.batchnorm.batchnorm_train()``
    - gradient: one of its closed forms, e.g. "dx"
    - via: a node whose gradient the terms are written with (e.g. "xhat"), instead of the
      upstream gradient

    Returns:
    - the terms (``Term``), in the derivation's order; their sum is the closed form
    """
    return tuple(
        dataclasses.replace(term, expression=_through(derivation, term.expression, via))
        if via
        else term
        for term in derivation.terms[gradient]
        if term.expression != 0
    )
