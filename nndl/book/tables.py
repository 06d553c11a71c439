"""What the book prints: a derivation's nodes as a Markdown table of formulas (chapters 2-4), and
numbers rounded so that a chapter's output is the same on every machine.
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

    def cell(latex: str) -> str:
        return "$" + latex.replace("|", r"\vert ") + "$"  # a bar would end the table cell

    header = ["node", "what it is", "forward"] + ["local derivatives"] * local_derivatives
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for node in derivation.nodes:
        row = [f"`{node.name}`", node.description, cell(node.latex)]
        if local_derivatives:
            row.append("<br>".join(cell(d) for d in node.local_derivative_latex.values()))
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


def rounded(values, decimals: int = 2) -> np.ndarray:
    """``values`` rounded for printing, without negative zeros.

    A chapter prints rounded numbers so that its output does not change with the order of a
    floating-point sum (which differs between machines); a tiny negative mean would still print
    as ``-0.`` on one machine and ``0.`` on another, so zeros lose their sign.
    """
    return np.round(np.asarray(values, dtype=float), decimals) + 0.0
