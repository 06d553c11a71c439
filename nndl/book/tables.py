"""What the book prints: a derivation's nodes and its staged gradients as Markdown tables of
formulas, each row led by the name the code uses (chapters 2-4), and numbers rounded so that a
chapter's output is the same on every machine.
"""

from __future__ import annotations

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
    """``values`` rounded for printing, without negative zeros.

    A chapter prints rounded numbers so that its output does not change with the order of a
    floating-point sum (which differs between machines); a tiny negative mean would still print
    as ``-0.`` on one machine and ``0.`` on another, so zeros lose their sign.
    """
    return np.round(np.asarray(values, dtype=float), decimals) + 0.0
