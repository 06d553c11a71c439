"""Exact arithmetic on concrete instances: arrays of symbols, a decision procedure for "this
expression is identically zero", and the brute-force check of a derivation.

The closed forms are derived for a symbolic batch size N. ``verify_by_brute_force`` checks them
for concrete sizes without the graph: it builds the forward pass on symbols x_0 .. x_{N-1},
lets sympy differentiate the whole expression, and proves that the result minus the closed form
is exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from derivations.records import Derivation


def symbol_array(name: str, shape: tuple[int, ...], **assumptions) -> np.ndarray:
    """An object array of distinct symbols ``name_0``, ``name_1``, ... (``name_0_1`` in 2-D)."""
    array = np.empty(shape, dtype=object)
    for ix in np.ndindex(*shape):
        array[ix] = sp.Symbol("_".join([name, *map(str, ix)]), **assumptions)
    return array


def symbols_for(derivation: Derivation, names, sizes: Mapping[str, int]) -> dict[str, Any]:
    """Symbols for the quantities ``names`` of ``derivation``, with their assumptions (eps is
    positive, everything real) and shapes from ``sizes`` (e.g. {"N": 3}); a quantity without an
    index is a single symbol."""
    arrays = {}
    for name in names:
        symbol = derivation.symbols[name]
        if isinstance(symbol, sp.IndexedBase):
            shape = tuple(sizes[s.name] for s in symbol.shape)
            arrays[name] = symbol_array(name, shape, **symbol.label.assumptions0)
        else:
            arrays[name] = np.array(sp.Symbol(name, **symbol.assumptions0), dtype=object)
    return arrays


# Largest denominator of the rationals that floats in a symbolic run stand for (1/N, 2/N...).
MAX_DENOMINATOR = 10**6


def rationalise(expr: Any) -> sp.Expr:
    """``expr`` with every Float replaced by the simple rational number it stands for.

    NumPy code run on symbols leaves floats in the result: ``(var + eps) ** -0.5`` and
    ``-0.5 * inv_std**3`` in nndl's batch norm. A float exponent hides that (var + eps)**-0.5
    is 1/sqrt(var + eps), which sympy must know to combine it with (var + eps)**-1.5; and sympy
    multiplies a float coefficient with an exact 2/N into a rounded float (-0.333...). Every
    such float is the double nearest to a rational with a small denominator, and rationals with
    denominators below 10**6 lie more than 1e-12 apart, so the nearest one is the value meant:
    -0.5 -> -1/2, -0.333... -> -1/3. (``sympy.nsimplify(rational=True)`` would not do: it
    reads the decimal digits, 0.333333333333333 -> 333333333333333/10**15.)
    """
    expr = sp.sympify(expr)
    return expr.xreplace(
        {
            f: sp.Rational(Fraction(float(f)).limit_denominator(MAX_DENOMINATOR))
            for f in expr.atoms(sp.Float)
        }
    )


def is_zero(expr: Any) -> bool:
    """Decide exactly whether ``expr`` is identically zero.

    ``expr`` may contain rational functions of its symbols, square roots (the inverse std),
    exp, log and other functions. The procedure: floats to rationals; exp of a sum split into a
    product; each distinct square root sqrt(b) replaced by a new positive symbol s; the
    numerator of the whole expression over a common denominator reduced modulo s**2 - b. The
    expression is zero exactly when that remainder expands to 0.
    """
    expr = sp.expand_power_exp(rationalise(expr))
    roots: dict[sp.Expr, sp.Symbol] = {}

    def name_root(power: sp.Pow) -> sp.Expr:
        radicand = sp.expand(power.base)
        root = roots.setdefault(radicand, sp.Dummy("root", positive=True))
        return root ** int(2 * power.exp)

    expr = expr.replace(
        lambda e: isinstance(e, sp.Pow) and e.exp.is_Rational and e.exp.q == 2, name_root
    )
    numerator = sp.expand(sp.numer(sp.together(expr)))
    for radicand, root in roots.items():
        numerator = sp.expand(sp.rem(numerator, root**2 - radicand, root))
    return numerator == 0


def leaves(derivation: Derivation) -> list[str]:
    """The quantities the forward pass starts from (x, gamma, beta, eps, ...)."""
    nodes = {n.name for n in derivation.nodes}
    gradients = {"d" + name for name in derivation.symbols}
    return [name for name in derivation.symbols if name not in nodes | gradients]


def verify_by_brute_force(derivation: Derivation, sizes: Mapping[str, int]) -> int:
    """Prove the closed forms of ``derivation`` for concrete sizes (e.g. {"N": 3}) against
    sympy differentiating the whole forward pass, element by element.

    Returns the number of gradient elements proven; raises AssertionError naming the first one
    that differs.
    """
    output = derivation.nodes[-1].name
    upstream_name = "d" + output
    names = leaves(derivation)
    if isinstance(derivation.upstream, sp.Indexed):
        names.append(upstream_name)
    arrays = symbols_for(derivation, names, sizes)
    out = derivation.evaluator(arrays).value(output)
    upstream = arrays.get(upstream_name, derivation.upstream)
    loss = np.sum(upstream * out)
    expected = derivation.evaluate(derivation.closed_forms, arrays)
    proven = 0
    for gradient, values in expected.items():
        wrt = arrays[gradient[1:]]
        for ix in np.ndindex(*values.shape):
            if not is_zero(sp.diff(loss, wrt[ix]) - values[ix]):
                raise AssertionError(
                    f"{derivation.name}: {gradient}{list(ix)} differs from the derivative of "
                    f"the forward pass for sizes {dict(sizes)}"
                )
            proven += 1
    return proven
