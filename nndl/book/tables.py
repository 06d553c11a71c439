"""What the book prints: a derivation's nodes and its staged gradients as Markdown tables of
formulas, each row led by the name the code uses (chapters 2-4), numbers rounded so that a
chapter's output is the same on every machine, and the settings a chapter ran with, written for
a sentence (glued into the text, never typed).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping

import numpy as np


def node_table(derivation, local_derivatives: bool = True) -> str:
    """The nodes of a derivation as a Markdown table: name, what it is, its forward definition
    and its local derivatives, the formulas in LaTeX as ``derivations`` prints them.

    Inputs:
    - derivation: a ``derivations`` Derivation (nodes with ``name``, ``description``, ``latex``
      and ``local_derivative_latex``)
    - local_derivatives: whether to add the column of local derivatives

    Returns:
    - the table, for ``IPython.display.Markdown``
    """

    header = ["node", "what it is", "forward"] + ["local derivatives"] * local_derivatives
    rows = []
    for node in derivation.nodes:
        row = [f"`{node.name}`", node.description, _math(node.latex)]
        if local_derivatives:
            row.append("<br>".join(_math(d) for d in node.local_derivative_latex.values()))
        rows.append(row)
    return _markdown_table(header, rows)


def staged_table(derivation) -> str:
    """The staged gradients of a derivation as a Markdown table, in the order the backward pass
    computes them (from the output back): the gradient's name in the code (``dxhat``) and its
    formula in LaTeX, as ``derivations`` prints it. The upstream gradient, which is given, has
    no row.

    Inputs:
    - derivation: a ``derivations`` Derivation (``staged``, ``upstream`` and ``gradient``)

    Returns:
    - the table, for ``IPython.display.Markdown``
    """
    import sympy as sp

    from derivations import latex

    rows = [
        [f"`{name}`", _math(latex(sp.Eq(derivation.gradient(name), expression, evaluate=False)))]
        for name, expression in derivation.staged.items()
        if expression != derivation.upstream
    ]
    return _markdown_table(["gradient", "staged, from the output back"], rows)


def _math(latex: str) -> str:
    """Inline math for a table cell; a bar would end the cell."""
    return "$" + latex.replace("|", r"\vert ") + "$"


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def rounded(values, decimals: int = 2) -> np.ndarray:
    """``values`` rounded for printing, as an f-string or a glue's format spec rounds them, and
    without negative zeros.

    A chapter prints rounded numbers so that its output does not change with the order of a
    floating-point sum (which differs between machines); a tiny negative mean would still print
    as ``-0.`` on one machine and ``0.`` on another, so zeros lose their sign. The rounding is
    ``format``'s (of the binary value: 0.975 is 0.97499..., so 0.97), not ``np.round``'s (which
    scales first and gives 0.98), so that a value printed here and glued into the prose with
    the same number of decimals reads the same.
    """
    array = np.asarray(values, dtype=float)
    text = np.vectorize(lambda v: format(v, f".{decimals}f"), otypes=[object])(array)
    return text.astype(float) + 0.0


def number(value) -> str:
    """A setting as a sentence writes it: ``1,000`` for an int; for a float the shorter of its
    decimal and its exponent form, the decimal on a tie: ``0.02``, ``0.25``, ``1e-3``, ``1e-5``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"number: value must be an int or a float, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    decimal = np.format_float_positional(float(value), trim="-")
    # The shortest exponent form that gives the value back, without padding or plus sign.
    exponent = re.sub(r"\.?0*e\+?(-?)0*(\d)", r"e\1\2", f"{float(value):.15e}")
    exponent = exponent if float(exponent) == value else np.format_float_scientific(value)
    return decimal if len(decimal) <= len(exponent) else exponent


def significant(value, digits: int = 2) -> str:
    """A computed number as a sentence writes it: rounded to ``digits`` significant digits, then
    written as ``number`` writes a setting: ``0.57``, ``10``, ``5e-3``, ``9e5``.

    For exact mathematics (a derivation, a float64 check), whose round-off cannot reach the
    digits kept; an experiment's value goes through ``nndl.book.values.measured``.
    """
    if not digits >= 1:
        raise ValueError(f"significant: digits must be >= 1, got {digits!r}")
    value = float(value)
    return number(float(f"{value:.{digits - 1}e}")) if np.isfinite(value) else str(value)


def plain_exponent(text: str) -> str:
    """Python's exponent form as ``number`` writes it, without plus sign or zero padding:
    ``3e-05`` -> ``3e-5``, ``2.0e+05`` -> ``2.0e5``; any other text unchanged."""
    return re.sub(r"(\d)e\+?(-?)0*(\d)", r"\1e\2\3", text)


def listing(values, conjunction: str = "and") -> str:
    """Settings as a sentence lists them: ``5, 10 and 50`` (each written by ``number``)."""
    words = [number(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def settings(function: Callable, arguments: Mapping) -> dict:
    """The keyword values a call ``function(**arguments)`` runs with: ``arguments`` over the
    function's defaults, so that a chapter can state a default it did not pass.
    """
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return {**defaults, **arguments}
