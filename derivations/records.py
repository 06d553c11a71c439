"""What a derivation returns: the node table, the gradients, and the closed forms, with their
LaTeX and a NumPy function; small frozen records that the book, the lab and the tests read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from derivations.evaluate import Evaluator
from derivations.notation import Index, latex
from derivations.sums import magnitude


@dataclass(frozen=True)
class Node:
    """One node of a forward computation graph.

    - name: the node's name in the code, e.g. "xc"
    - description: what it is, e.g. "centred input"
    - forward: its definition at its own indices, e.g. Eq(xc[i], x[i] - mu)
    - local_derivative: for each input of the node that a gradient flows through, the derivative
      of the node with respect to that input at another index, e.g.
      local_derivative["x"] = Eq(Derivative(xc[i], x[k]), KroneckerDelta(i, k))
    """

    name: str
    description: str
    forward: sp.Eq
    local_derivative: Mapping[str, sp.Eq] = field(default_factory=dict)

    @property
    def value(self) -> sp.Basic:
        """The node at its own indices, e.g. ``xc[i]``."""
        return self.forward.lhs

    @property
    def expression(self) -> sp.Expr:
        """The node's forward expression, e.g. ``x[i] - mu``."""
        return self.forward.rhs

    @property
    def latex(self) -> str:
        """The forward definition in LaTeX."""
        return latex(self.forward)

    @property
    def local_derivative_latex(self) -> dict[str, str]:
        """Each local derivative in LaTeX, written as a fraction of partial derivatives."""
        return {name: _derivative_latex(eq) for name, eq in self.local_derivative.items()}


class _PlainPrinter(StrPrinter):
    """sympy's str, with a sum over the batch written ``sum_j(...)`` (over several indices,
    ``sum_j,r,u(...)``)."""

    def _print_Sum(self, expr: sp.Sum) -> str:
        summed = ",".join(str(var) for var, _, _ in expr.limits)  # sum_j,r,u over three indices
        return f"sum_{summed}({self._print(expr.function)})"


@dataclass(frozen=True)
class Term:
    """The part of a gradient that flows along one path of the graph.

    - path: node names from the input to the output, e.g. ("x", "mu", "xc", "xhat", "out")
    - description: e.g. "the path through the mean"
    - expression: its contribution, in the vocabulary of the closed form (or, after
      ``derivations.terms.split(..., via=node)``, through the gradient of ``node``)
    """

    path: tuple[str, ...]
    description: str
    expression: sp.Expr

    @property
    def formula(self) -> str:
        """One line of plain text, e.g. ``-inv_std*sum_j(dxhat[j])/N``."""
        return _PlainPrinter().doprint(self.expression)

    @property
    def latex(self) -> str:
        """The term in the book's notation."""
        return latex(self.expression)


@dataclass(frozen=True)
class Derivation:
    """The derivation of one layer's backward pass.

    - name, title: e.g. "batchnorm_train", "Batch normalization, train mode"
    - nodes: the forward graph with the local derivatives, in forward order
    - staged: each gradient of the staged backward (reverse order) through the gradients of the
      nodes that use it, e.g. staged["dxc"] = dxhat_i * inv_std + 2 * dvar * xc_i / N
    - closed_forms: the gradients of the layer's inputs through the upstream gradient, simplified,
      e.g. closed_forms["dx"]
    - terms: each closed form split by path through the graph
    - identities: the facts used to simplify, each proven from the definitions
    - upstream: the gradient arriving at the output (``dout[i]``, or 1 for a loss)
    - inputs: the arguments of ``numpy_fn``, in order
    - symbols: every quantity by name (an IndexedBase or a Symbol), and indices: the index kinds
    """

    name: str
    title: str
    nodes: tuple[Node, ...]
    staged: Mapping[str, sp.Expr]
    closed_forms: Mapping[str, sp.Expr]
    terms: Mapping[str, tuple[Term, ...]]
    identities: tuple[sp.Eq, ...]
    upstream: sp.Expr
    inputs: tuple[str, ...]
    symbols: Mapping[str, sp.Basic]
    indices: tuple[Index, ...]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The gradients ``numpy_fn`` returns, e.g. ("dx", "dgamma", "dbeta")."""
        return tuple(self.closed_forms)

    def own(self, name: str) -> sp.Basic:
        """Quantity ``name`` (a gradient ``d<name>`` too) at its own indices, e.g. ``xhat[i]``."""
        symbol = self.symbols[name]
        if not isinstance(symbol, sp.IndexedBase):
            return symbol
        kinds = {ix.size: ix for ix in self.indices}
        return symbol[tuple(kinds[size].own for size in symbol.shape)]

    def gradient(self, name: str) -> sp.Basic:
        """The gradient called ``name`` (e.g. "dx", "dxhat") at its own indices, the symbol
        ``staged`` uses."""
        symbol = self.own(name[1:])
        if isinstance(symbol, sp.Indexed):
            return sp.IndexedBase(name, shape=symbol.base.shape, real=True)[symbol.indices]
        return sp.Symbol(name, real=True)

    @cached_property
    def latex(self) -> Mapping[str, str]:
        """Each closed form as a LaTeX equation, e.g. latex["dx"] = r"\\mathrm{d}x_{i} = ..."."""
        return MappingProxyType(
            {
                name: latex(sp.Eq(self.gradient(name), expr, evaluate=False))
                for name, expr in self.closed_forms.items()
            }
        )

    @cached_property
    def magnitudes(self) -> Mapping[str, sp.Expr]:
        """For each closed form, the sum of the absolute values of the terms that make it up,
        sums of products expanded: the natural scale of its round-off error (see
        ``derivations.check.term_scaled_error``)."""
        return MappingProxyType({name: magnitude(e) for name, e in self.closed_forms.items()})

    def evaluator(self, inputs: Mapping[str, Any]) -> Evaluator:
        """An ``Evaluator`` of this derivation's formulas on arrays (see derivations.evaluate).

        ``inputs`` may hold the gradient of a node (e.g. ``dxhat``), for terms written through it
        (``derivations.terms.split(..., via="xhat")``); a node that is not given is computed from
        its definition."""
        symbols = dict(self.symbols)
        for name in inputs:
            if name not in symbols and name.startswith("d") and name[1:] in symbols:
                gradient = self.gradient(name)
                symbols[name] = gradient.base if isinstance(gradient, sp.Indexed) else gradient
        definitions = {n.name: (n.value, n.expression) for n in self.nodes}
        return Evaluator(symbols, definitions, self.indices, inputs)

    def evaluate(self, exprs: Mapping[str, sp.Expr], inputs: Mapping[str, Any]) -> dict:
        """Evaluate gradient expressions (closed forms, terms, magnitudes: keyed by gradient
        name) on arrays: float arrays, or object arrays of sympy symbols."""
        ev = self.evaluator(inputs)
        return {name: ev.array(expr, self._labels(name)) for name, expr in exprs.items()}

    def evaluate_terms(
        self, gradient: str, inputs: Mapping[str, Any], terms=None
    ) -> dict[str, np.ndarray]:
        """The value of each path's term of ``gradient`` (e.g. "dx"), by the term's description.

        ``terms``: the terms to evaluate (default ``self.terms[gradient]``), e.g. those of
        ``derivations.terms.split`` written through a node's gradient given in ``inputs``."""
        ev = self.evaluator(inputs)
        labels = self._labels(gradient)
        terms = self.terms[gradient] if terms is None else terms
        return {t.description: np.asarray(ev.array(t.expression, labels)) for t in terms}

    def _labels(self, gradient: str) -> tuple[sp.Symbol, ...]:
        symbol = self.own(gradient[1:])
        return tuple(symbol.indices) if isinstance(symbol, sp.Indexed) else ()

    @property
    def numpy_fn(self) -> Callable[..., tuple[np.ndarray, ...]]:
        """The closed forms as one NumPy function: arguments ``inputs``, returns ``outputs``.
        For batch norm: ``numpy_fn(dout, x, gamma, eps) -> (dx, dgamma, dbeta)``."""

        def closed_form(*arrays):
            if len(arrays) != len(self.inputs):
                raise TypeError(f"{self.name}: expected arguments {self.inputs}")
            values = self.evaluate(self.closed_forms, dict(zip(self.inputs, arrays, strict=True)))
            return tuple(values[name] for name in self.outputs)

        closed_form.__name__ = f"{self.name}_closed_form"
        closed_form.__doc__ = f"({', '.join(self.inputs)}) -> ({', '.join(self.outputs)})"
        return closed_form


def _derivative_latex(eq: sp.Eq) -> str:
    derivative = eq.lhs
    ((variable, _),) = derivative.variable_count
    return rf"\frac{{\partial {latex(derivative.expr)}}}{{\partial {latex(variable)}}} = " + latex(
        eq.rhs
    )
