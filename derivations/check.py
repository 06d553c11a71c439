"""Hold a backward pass to its derivation: to round-off on floats, exactly on symbols.

Both comparisons take a derivation, its inputs (``derivation.inputs``: e.g. dout, x, gamma, eps
for batch norm) and the gradients to check (e.g. {"dx": ..., "dgamma": ..., "dbeta": ...}). A
gradient that differs raises ``GradientMismatch``, an AssertionError that says which gradient is
wrong, where, by how much, and, when the gradient is a combination of the paths of the graph
with a wrong coefficient (a path missing, of the wrong sign, counted twice...), which path that is.

The diagnosis is one engine, used by these witnesses and by the lab (``nndl lab check``):
``explain`` fits a wrong gradient with the values of its terms (``Derivation.terms``, or those of
``derivations.terms.split``) by least squares, and ``path_mistake`` words each wrong coefficient.
On symbols the coefficients 0, -1 and 2 are tried exactly instead, and worded the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from derivations.exact import is_zero, rationalise
from derivations.records import Derivation

# The coefficients a path's term gets from the typical slips (missing, wrong sign, counted
# twice): those tried on symbols, where there is no least squares.
PATH_MISTAKES = (0, -1, 2)
RTOL = 1e-6  # "equal to round-off": far above float64 round-off, far below any real mistake


def path_mistake(gradient: str, term, coefficient, expected=1) -> str:
    """The wording of one path's wrong coefficient, e.g. "dx lacks the path through the mean
    (-inv_std*sum_j(dxhat[j])/N)"."""
    if coefficient == 0 or abs(coefficient) <= RTOL:
        return f"{gradient} lacks {term.description} ({term.formula})"
    if abs(coefficient + expected) <= RTOL * max(1.0, abs(expected)):
        return f"{gradient} has {term.description} with the wrong sign ({term.formula})"
    return (
        f"{gradient} scales {term.description} ({term.formula}) by {float(coefficient):.3g}, "
        f"not {expected:g}"
    )


def _matches(got, want) -> bool:
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
    return float(np.max(np.abs(got - want), initial=0.0)) <= RTOL * scale


def explain(gradient: str, got, terms, values, expected=None, context: str = ""):
    """Explain a wrong gradient as a combination of the terms that make up the right one.

    Least squares finds the coefficients c with ``got = sum of c * value``; if that holds to
    round-off, every coefficient that differs from the expected one is a named mistake: 0 means
    the path is missing, -1 that its sign is wrong, and so on.

    Inputs:
    - gradient: its name, e.g. "dx"
    - got: the gradient to explain
    - terms: the ``Term``s of the right gradient
    - values: the value of each term, arrays of the gradient's shape
    - expected: the right coefficient of each term (default 1; 0 for a path that must be absent)
    - context: why a path must be absent, appended to that diagnosis

    Returns:
    - (the diagnoses, the terms with a wrong coefficient), or None if ``got`` is not a
      combination of the terms
    """
    expected = [1] * len(terms) if expected is None else list(expected)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != np.shape(values[0]) or not np.all(np.isfinite(got)):
        return None
    columns = np.stack([np.ravel(value) for value in values], axis=1)
    target = np.ravel(got)
    coefficients = np.linalg.lstsq(columns, target, rcond=None)[0]
    if not _matches(columns @ coefficients, target):
        return None
    problems, wrong, extra = [], [], []
    for term, c, e in zip(terms, coefficients, expected):
        if abs(c - e) <= RTOL * max(1.0, abs(e)):
            continue
        wrong.append(term)
        if e == 0:
            extra.append(term.description)
        else:
            problems.append(path_mistake(gradient, term, c, e))
    if extra:
        problems.append(f"{gradient} must not include {' or '.join(extra)}{context}")
    return problems, wrong


class GradientMismatch(AssertionError):
    """A gradient that differs from the derived closed form.

    Attributes:
    - derivation: name of the derivation, e.g. "batchnorm_train"
    - output: the gradient that is wrong, e.g. "dx"
    - error: the term-scaled error (numeric check) or None (exact check)
    - index: where the error is largest (numeric) or the first element that differs (exact)
    - mistake, term: how the gradient gets a path wrong (the diagnosis, e.g. "dx lacks the path
      through the mean (...)") and the first such ``Term``, or None
    - difference: actual minus derived at ``index`` (exact check), else None
    """

    def __init__(
        self,
        derivation,
        output,
        *,
        detail,
        error=None,
        index=None,
        mistake=None,
        term=None,
        difference=None,
    ):
        self.derivation, self.output, self.error, self.index = derivation, output, error, index
        self.mistake, self.term, self.difference = mistake, term, difference
        message = f"{output} differs from the derived closed form ({derivation}): {detail}"
        if term is not None:
            arrows = " -> ".join(term.path)
            message += f"; {mistake} [{arrows}]"
        super().__init__(message)


def term_scaled_error(actual: Any, expected: Any, magnitude: Any) -> float:
    """The largest |actual - expected|, each element divided by the size of the terms that make
    up the expected value there.

    ``magnitude`` is ``Derivation.magnitudes`` evaluated: the closed form with every term (every
    product, inside sums too) replaced by its absolute value, e.g. for batch norm's dx
    |gamma inv_std| (|dout_i| + mean_j |dout_j| + |xhat_i| mean_j |dout_j xhat_j|). Rounding
    errors of a correct implementation are a small multiple of machine epsilon times this, even
    where the terms cancel and dx is ~0 (at N = 2, say), where an elementwise relative error
    would be meaningless. An element whose terms are all 0 must be exactly 0; NaN counts as
    infinitely wrong.
    """
    actual, expected, magnitude = np.broadcast_arrays(actual, expected, magnitude)
    difference = np.abs(actual - expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(difference == 0, 0.0, difference / magnitude)
    error = np.where(np.isnan(error), np.inf, error)
    return float(np.max(error, initial=0.0))


def _check_shapes(derivation: Derivation, actual: Mapping[str, Any], expected) -> None:
    for name, value in expected.items():
        if name not in actual:
            raise KeyError(f"{derivation.name}: no {name} given to check (need {list(expected)})")
        if np.shape(actual[name]) != np.shape(value):
            raise GradientMismatch(
                derivation.name,
                name,
                detail=f"shape {np.shape(actual[name])}, expected {np.shape(value)}",
            )


def compare_numeric(
    derivation: Derivation,
    inputs: Mapping[str, Any],
    actual: Mapping[str, Any],
    tolerance: float = 1e-12,
) -> dict[str, float]:
    """Witness 1: compare float gradients with the closed forms evaluated on the same inputs.

    Inputs:
    - derivation: e.g. ``derivations.batchnorm_train()``
    - inputs: arrays by name, every name of ``derivation.inputs``
    - actual: the gradients to check, by name (``derivation.outputs``)
    - tolerance: largest term-scaled error accepted (see ``term_scaled_error``)

    Returns the term-scaled error of each gradient; raises ``GradientMismatch`` for the first
    one above ``tolerance``.
    """
    expected = derivation.evaluate(derivation.closed_forms, inputs)
    _check_shapes(derivation, actual, expected)
    magnitudes = derivation.evaluate(derivation.magnitudes, inputs)
    errors = {}
    for name, value in expected.items():
        error = term_scaled_error(actual[name], value, magnitudes[name])
        if not error <= tolerance:
            index = _worst_index(actual[name], value, magnitudes[name])
            mistake, term = _numeric_diagnosis(
                derivation, name, inputs, actual[name], value, magnitudes[name], tolerance
            )
            raise GradientMismatch(
                derivation.name,
                name,
                error=error,
                index=index,
                mistake=mistake,
                term=term,
                detail=f"term-scaled error {error:.2e} > {tolerance:.0e}, largest at {index}",
            )
        errors[name] = error
    return errors


def _worst_index(actual, expected, magnitude) -> tuple[int, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.abs(np.asarray(actual) - expected) / magnitude
    flat = np.argmax(np.nan_to_num(scaled, nan=np.inf, posinf=np.inf))
    return tuple(int(i) for i in np.unravel_index(flat, np.shape(expected)))


def _numeric_diagnosis(derivation, name, inputs, actual, expected, magnitude, tolerance):
    """The path mistakes that explain ``actual``, if they do: (diagnoses joined, first term)."""
    terms = [term for term in derivation.terms[name] if term.expression != 0]
    values = derivation.evaluate_terms(name, inputs, terms)
    explained = explain(name, actual, terms, [values[t.description] for t in terms])
    if not explained or not explained[1]:
        return None, None
    problems, wrong = explained
    return "; ".join(problems), wrong[0]


def compare_symbolic(
    derivation: Derivation, inputs: Mapping[str, Any], actual: Mapping[str, Any]
) -> dict[str, int]:
    """Witness 2: prove that gradients computed on sympy symbols equal the closed forms
    instantiated on the same symbols, exactly (see ``derivations.exact.is_zero``).

    Inputs as ``compare_numeric``, with object arrays of sympy symbols. Returns the number of
    elements proven for each gradient; raises ``GradientMismatch`` at the first element that
    differs.
    """
    expected = derivation.evaluate(derivation.closed_forms, inputs)
    _check_shapes(derivation, actual, expected)
    proven = {}
    for name, value in expected.items():
        got = np.asarray(actual[name], dtype=object)
        for ix in np.ndindex(*value.shape):
            if not is_zero(got[ix] - value[ix]):
                mistake, term = _symbolic_diagnosis(derivation, name, inputs, got, value, ix)
                raise GradientMismatch(
                    derivation.name,
                    name,
                    index=ix,
                    mistake=mistake,
                    term=term,
                    difference=rationalise(got[ix] - value[ix]),
                    detail=f"the difference at {ix} is not 0",
                )
        proven[name] = value.size
    return proven


def _symbolic_diagnosis(derivation, name, inputs, actual, expected, ix):
    """The path mistake that explains ``actual`` at ``ix``, if one does, tried exactly."""
    values = derivation.evaluate_terms(name, inputs)
    for term in derivation.terms[name]:
        for factor in PATH_MISTAKES:
            wrong = expected[ix] + (factor - 1) * values[term.description][ix]
            if term.expression != 0 and is_zero(actual[ix] - wrong):
                return path_mistake(name, term, factor), term
    return None, None


__all__ = [
    "GradientMismatch",
    "compare_numeric",
    "compare_symbolic",
    "explain",
    "path_mistake",
    "term_scaled_error",
]
