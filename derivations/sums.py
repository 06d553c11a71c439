"""Sums over symbolic index ranges: the sympy manipulations the derivations need.

Differentiating sum_j x_j with respect to x_k gives sum_j KroneckerDelta(j, k); sympy evaluates
that to a Piecewise (1 where 0 <= k <= N - 1). ``collapse`` does this and drops the conditions
that hold for every index of the batch; ``expand_sums`` applies the linearity of sums;
``canonical_sums`` names every summation index the same way, so that equal sums compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from derivations.notation import Index


def fresh_dummies(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the index of every sum renamed to a new Dummy, so that putting it into
    another sum, or renaming its free indices, cannot capture an index."""

    def rename(s: sp.Sum) -> sp.Sum:
        limits = [(sp.Dummy(v.name, integer=True), lo, hi) for v, lo, hi in s.limits]
        mapping = {old[0]: new[0] for old, new in zip(s.limits, limits, strict=True)}
        return sp.Sum(s.function.xreplace(mapping), *limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), rename)


def at_indices(expr: sp.Expr, own: Sequence[sp.Symbol], indices: Sequence[sp.Basic]) -> sp.Expr:
    """``expr``, written at indices ``own``, moved to ``indices`` without capture."""
    return fresh_dummies(expr).xreplace(dict(zip(own, indices, strict=True)))


def in_range(expr: sp.Expr, free: Mapping[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """Drop the conditions ``0 <= k <= size - 1`` that summing a Kronecker delta leaves in a
    Piecewise, for the free indices ``k`` (mapped to their sizes): they hold by definition.

    A condition is dropped when it is linear in one free index and holds at both ends of the
    index's range, which is all the Piecewise results of sympy's Kronecker sums need.
    """
    truths = {}
    for rel in expr.atoms(sp.core.relational.Relational):
        ks = rel.free_symbols & set(free)
        if len(ks) != 1:
            continue
        (k,) = ks
        linear = sp.Poly(rel.lhs - rel.rhs, k).degree() <= 1
        if linear and rel.subs(k, 0) == sp.true and rel.subs(k, free[k] - 1) == sp.true:
            truths[rel] = sp.true
    return expr.xreplace(truths)


def collapse(expr: sp.Expr, free: Mapping[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """Evaluate the sums of Kronecker deltas in ``expr`` (free indices in range) until none
    is left."""
    while True:
        new = in_range(expand_sums(expr).doit(), free)
        if new == expr:
            return new
        expr = new


def expand_sums(expr: sp.Expr) -> sp.Expr:
    """Linearity of sums: sum_j (a x_j + b y_j + c) -> a sum_j x_j + b sum_j y_j + N c, for
    every sum in ``expr`` (innermost first), with everything distributed."""

    def split_one(function: sp.Expr, var, lo, hi) -> sp.Expr:
        total = sp.S.Zero
        for term in sp.Add.make_args(sp.expand_mul(function)):
            const, dependent = term.as_independent(var, as_Add=False)
            total += const * (hi - lo + 1 if dependent == 1 else sp.Sum(dependent, (var, lo, hi)))
        return total

    def split(s: sp.Sum) -> sp.Expr:
        result = s.function
        for limit in s.limits:  # innermost first
            result = split_one(result, *limit)
        return result

    return sp.expand_mul(expr.replace(lambda e: isinstance(e, sp.Sum), split))


def canonical_sums(expr: sp.Expr, indices: Mapping[sp.Symbol, Index]) -> sp.Expr:
    """Every sum's index renamed to its kind's ``summed`` name (j for the batch), so that equal
    sums are equal expressions and print as in the book."""

    def rename(s: sp.Sum) -> sp.Sum:
        function, limits = s.function, []
        for var, lo, hi in s.limits:
            summed = indices[hi + 1].summed
            for inner in function.atoms(sp.Sum):
                if summed in inner.variables and var in inner.free_symbols:
                    raise NotImplementedError(f"nested sums over the same index: {s}")
            function = function.xreplace({var: summed})
            limits.append((summed, lo, hi))
        return sp.Sum(function, *limits)

    return expr.replace(lambda e: isinstance(e, sp.Sum), rename)


def magnitude(expr: sp.Expr) -> sp.Expr:
    """The sum of the absolute values of the terms of ``expr``, products of sums expanded:
    |a - b c| -> |a| + |b| |c|, sum_j x_j y_j -> sum_j |x_j| |y_j|. A power with a negative or
    fractional exponent, and a function, count as one factor."""
    if isinstance(expr, sp.Add):
        return sp.Add(*map(magnitude, expr.args))
    if isinstance(expr, sp.Mul):
        return sp.Mul(*map(magnitude, expr.args))
    if isinstance(expr, sp.Sum):
        return sp.Sum(magnitude(expr.function), *expr.limits)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return magnitude(expr.base) ** expr.exp
    if isinstance(expr, sp.Number):
        return abs(expr)
    return sp.Abs(expr)
