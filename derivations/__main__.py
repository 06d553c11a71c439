"""``python -m derivations [--latex] [NAME ...]``: print the derivations (all by default)."""

from __future__ import annotations

import argparse

import sympy as sp

from derivations import DERIVATIONS, Derivation, Node, latex


def _equation(lhs, rhs, as_latex: bool) -> str:
    return latex(sp.Eq(lhs, rhs, evaluate=False)) if as_latex else f"{lhs} = {rhs}"


def _local_derivative(node: Node, parent: str, as_latex: bool) -> str:
    if as_latex:
        return node.local_derivative_latex[parent]
    derivative, value = node.local_derivative[parent].args
    return f"d {derivative.expr} / d {derivative.variables[0]} = {value}"


def report(d: Derivation, as_latex: bool = False) -> str:
    """The derivation ``d`` as readable text (or LaTeX), section by section."""
    show = latex if as_latex else str
    lines = [f"== {d.title} ({d.name}) ==", "", "Forward graph, with the local derivatives:"]
    for node in d.nodes:
        lines.append(
            f"  {node.name} ({node.description}): {_equation(*node.forward.args, as_latex)}"
        )
        lines += [f"      {_local_derivative(node, p, as_latex)}" for p in node.local_derivative]
    lines += ["", "Staged backward, from the output to the inputs:"]
    lines += [f"  {_equation(d.gradient(n), e, as_latex)}" for n, e in d.staged.items()]
    lines += ["", "Closed forms:"]
    lines += [f"  {_equation(d.gradient(n), e, as_latex)}" for n, e in d.closed_forms.items()]
    lines += ["", "Split by path through the graph:"]
    for name, terms in d.terms.items():
        for t in terms:
            lines.append(f"  {name}, {t.description} ({' -> '.join(t.path)}): {show(t.expression)}")
    if d.identities:
        lines += ["", "Facts used (each proven from the definitions):"]
        lines += [f"  {_equation(*eq.args, as_latex)}" for eq in d.identities]
    lines += ["", f"NumPy: numpy_fn({', '.join(d.inputs)}) -> ({', '.join(d.outputs)})", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m derivations", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of: {', '.join(DERIVATIONS)}")
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in DERIVATIONS]
    if unknown:
        parser.error(
            f"unknown derivation {', '.join(unknown)}; choose from {', '.join(DERIVATIONS)}"
        )
    for name in args.names or DERIVATIONS:
        print(report(DERIVATIONS[name](), as_latex=args.latex))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
