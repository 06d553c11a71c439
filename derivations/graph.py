"""Reverse-mode differentiation of a computation graph, done by sympy for a symbolic size.

A layer's forward pass is written as a list of nodes, one per line of the forward code::

    mu      = 1/N sum_j x_j
    xc_i    = x_i - mu
    ...

``derive`` then works through the graph the way a staged backward pass does:

1. Local derivatives. For each node and each of its inputs, sympy differentiates the node's
   expression with respect to the input at another index: d xc_i / d x_k = KroneckerDelta(i, k),
   d mu / d x_k = (1/N) sum_j KroneckerDelta(j, k). Summing a Kronecker delta over j leaves a
   Piecewise (1 if 0 <= k <= N - 1, else 0); k is an index of the batch, so it is 1.
2. The chain rule, one node at a time (the *staged* gradients): the gradient arriving at an input
   is the sum, over the nodes that use it and over their indices, of their gradient times the
   local derivative: dxc_k = sum_i dxhat_i d xhat_i / d xc_k + dvar d var / d xc_k.
3. Composition: substituting the staged gradients into each other expresses the gradient of
   each input of the layer through the upstream gradient alone.
4. Simplification to a closed form: sums of sums are split, constants pulled out of the sums,
   quantities rewritten in the closed form's vocabulary (xc_i = xhat_i / inv_std) and facts such as
   sum_j xhat_j = 0 applied. Every rewrite and fact is first proven from the node definitions.

The gradient is also split by path through the graph (``Term``): the sum of the terms equals the
closed form, and a backward pass that forgets a path differs from the closed form by exactly
that term, which is how ``derivations.check`` tells which path a wrong gradient misses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import sympy as sp

from derivations.notation import Index
from derivations.records import Derivation, Node, Term
from derivations.sums import at_indices, canonical_sums, collapse, expand_sums, fresh_dummies


def define(value: sp.Basic, expression: sp.Expr, description: str) -> Node:
    """A node of the forward graph: ``value`` (e.g. ``xc[i]`` or ``mu``) is ``expression``."""
    name = value.base.label.name if isinstance(value, sp.Indexed) else value.name
    return Node(name, description, sp.Eq(value, expression, evaluate=False))


# --------------------------------------------------------------------------------------------
# The derivation
# --------------------------------------------------------------------------------------------


class _Graph:
    """The forward graph with the bookkeeping the derivation needs: who uses whom, and each
    quantity at its own and at its other indices."""

    def __init__(self, nodes: Sequence[Node], indices: Sequence[Index], wrt: Sequence[str]):
        self.indices = {ix.size: ix for ix in indices}
        self.index_names = {name for ix in indices for name in (*ix.names, ix.size)}
        self.symbols: dict[str, sp.Basic] = {}
        self.parents: dict[str, list[str]] = {}
        for node in nodes:
            self.symbols[node.name] = _quantities(node.value, self.index_names)[node.name]
            used = _quantities(node.expression, self.index_names)
            self.parents[node.name] = sorted(used)
            for name, symbol in used.items():
                self.symbols.setdefault(name, symbol)
        self.children = {
            name: [n.name for n in nodes if name in self.parents[n.name]] for name in self.symbols
        }
        self.nodes = {n.name: self._with_local_derivatives(n, wrt) for n in nodes}

    def _with_local_derivatives(self, node: Node, wrt: Sequence[str]) -> Node:
        """``node`` with its local derivatives, for the inputs a gradient flows back to."""
        parents = [p for p in self.parents[node.name] if any(self.reaches(w, p) for w in wrt)]
        derivatives = {p: self.local_derivative(node, p) for p in parents}
        return replace(node, local_derivative=MappingProxyType(derivatives))

    def kinds(self, name: str) -> tuple[Index, ...]:
        symbol = self.symbols[name]
        shape = symbol.shape if isinstance(symbol, sp.IndexedBase) else ()
        return tuple(self.indices[size] for size in shape)

    def at(self, name: str, indices: Sequence[sp.Symbol]) -> sp.Basic:
        """Quantity ``name`` at ``indices``."""
        symbol = self.symbols[name]
        return symbol[tuple(indices)] if isinstance(symbol, sp.IndexedBase) else symbol

    def gradient(self, name: str) -> sp.Basic:
        """The gradient ``d<name>`` at the own indices of ``name``, as a symbol."""
        symbol = self.symbols[name]
        if isinstance(symbol, sp.IndexedBase):
            base = sp.IndexedBase("d" + name, shape=symbol.shape, real=True)
            return base[self.own_indices(name)]
        return sp.Symbol("d" + name, real=True)

    def reaches(self, start: str, end: str) -> bool:
        return next(self.paths(start, end), None) is not None

    def own_indices(self, name: str) -> tuple[sp.Symbol, ...]:
        return tuple(ix.own for ix in self.kinds(name))

    def other_indices(self, name: str) -> dict[sp.Symbol, sp.Symbol]:
        return {ix.other: ix.size for ix in self.kinds(name)}

    def local_derivative(self, node: Node, parent: str) -> sp.Eq:
        """d node / d parent, the parent at its other indices, through the node's own value
        where that is shorter (d inv_std / d var = -inv_std**3 / 2)."""
        wrt = self.at(parent, list(self.other_indices(parent)))
        derivative = collapse(sp.diff(node.expression, wrt), self.other_indices(parent))
        derivative = sp.factor_terms(derivative.subs(node.expression, node.value))
        return sp.Eq(sp.Derivative(node.value, wrt), derivative, evaluate=False)

    def chain(self, child: str, parent: str, gradient: sp.Expr) -> sp.Expr:
        """The chain rule along one edge: the gradient that ``gradient`` (arriving at ``child``,
        at its own indices) sends to ``parent`` (at its own indices)."""
        node = self.nodes[child]
        term = fresh_dummies(gradient) * node.local_derivative[parent].rhs
        for ix in self.kinds(child):
            dummy = sp.Dummy(ix.own.name, integer=True)
            term = sp.Sum(term.xreplace({ix.own: dummy}), (dummy, 0, ix.size - 1))
        term = collapse(term, self.other_indices(parent))
        renamed = {ix.other: ix.own for ix in self.kinds(parent)}
        return sp.factor_terms(canonical_sums(term.xreplace(renamed), self.indices))

    def paths(self, start: str, end: str) -> Iterator[tuple[str, ...]]:
        """Every path from ``start`` to ``end`` along the graph's edges."""
        if start == end:
            yield (end,)
        for child in self.children[start]:
            for rest in self.paths(child, end):
                yield (start, *rest)

    def expand_definitions(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every node replaced by its definition, down to the layer's inputs."""
        while True:
            new = expr
            for node in self.nodes.values():
                symbol = self.symbols[node.name]
                if isinstance(symbol, sp.IndexedBase):
                    own = self.own_indices(node.name)
                    new = new.replace(
                        lambda e, s=symbol: isinstance(e, sp.Indexed) and e.base == s,
                        lambda e, n=node, own=own: at_indices(n.expression, own, e.indices),
                    )
                else:
                    new = new.xreplace({symbol: node.expression})
            if new == expr:
                return expr
            expr = new


def _quantities(expr: sp.Expr, index_names: set) -> dict[str, sp.Basic]:
    """The quantities ``expr`` uses, by name: IndexedBases and scalar Symbols."""
    bases = {e.base for e in expr.atoms(sp.Indexed)}
    found = {b.label.name: b for b in bases}
    labels = {b.label for b in bases}
    for s in expr.free_symbols:
        if isinstance(s, sp.Symbol) and s not in index_names and s not in labels:
            found[s.name] = s
    return dict(sorted(found.items()))  # in the same order in every run


def _path_description(path: tuple[str, ...], all_paths: list[tuple[str, ...]], nodes) -> str:
    """Name a path after the nodes where it leaves the nodes shared by every path:
    "the path through the mean", "the direct path"."""
    shared = set.intersection(*(set(p) for p in all_paths))
    entered = [
        nodes[b].description
        for a, b in itertools.pairwise(path)
        if b not in shared and (a in shared or a == path[0])
    ]
    return "the path through the " + " and the ".join(entered) if entered else "the direct path"


@dataclass(frozen=True)
class Vocabulary:
    """How closed forms are written.

    - rewrites: quantities replaced by others, each a proven identity at own indices, e.g.
      Eq(xc[i], xhat[i] / inv_std)
    - identities: sums known in closed form, proven from the definitions, e.g.
      Eq(Sum(xhat[j], (j, 0, N - 1)), 0)
    - finish: the last step of simplification (default: ``sympy.together``)
    """

    rewrites: tuple[sp.Eq, ...] = ()
    identities: tuple[sp.Eq, ...] = ()
    finish: Callable[[sp.Expr], sp.Expr] = sp.together


def derive(
    name: str,
    title: str,
    nodes: Sequence[Node],
    wrt: Sequence[str],
    indices: Sequence[Index],
    upstream: sp.Expr | None = None,
    vocabulary: Vocabulary | None = None,
) -> Derivation:
    """Derive the backward pass of the graph ``nodes`` (in forward order; the last one is the
    output) with respect to the inputs ``wrt``.

    ``upstream`` is the gradient arriving at the output, ``d<output>`` at its own indices when
    None (a layer), or a number (1 for a loss).
    """
    vocabulary = vocabulary or Vocabulary()
    graph = _Graph(nodes, indices, wrt)
    output = nodes[-1].name
    if upstream is None:
        upstream = graph.gradient(output)

    simplify = _simplifier(graph, vocabulary)
    staged, full = _reverse_mode(graph, output, upstream, wrt)
    closed_forms, terms = {}, {}
    for leaf in wrt:
        closed_forms["d" + leaf] = simplify(full[leaf])
        terms["d" + leaf] = _terms(graph, leaf, output, upstream, simplify)
        _check_terms_add_up(closed_forms["d" + leaf], terms["d" + leaf], leaf)

    symbols = dict(graph.symbols)
    for leaf in [output, *wrt]:
        gradient = graph.gradient(leaf)
        symbols["d" + leaf] = gradient.base if isinstance(gradient, sp.Indexed) else gradient
    return Derivation(
        name=name,
        title=title,
        nodes=tuple(graph.nodes.values()),
        staged=MappingProxyType({"d" + k: v for k, v in staged.items()}),
        closed_forms=MappingProxyType(closed_forms),
        terms=MappingProxyType(terms),
        identities=vocabulary.identities,
        upstream=upstream,
        inputs=_inputs(graph, closed_forms, upstream, wrt),
        symbols=MappingProxyType(symbols),
        indices=tuple(indices),
    )


def _reverse_mode(graph: _Graph, output: str, upstream: sp.Expr, wrt: Sequence[str]):
    """The staged gradients (each through the gradients of the nodes that use it) and their
    composition (each through the upstream gradient), for every node and every input."""
    staged: dict[str, sp.Expr] = {}
    full: dict[str, sp.Expr] = {output: upstream}
    on_a_path = [n for n in reversed(graph.nodes) if any(graph.reaches(w, n) for w in wrt)]
    for name in [*(n for n in on_a_path if n != output), *wrt]:
        children = [c for c in graph.children[name] if name in graph.nodes[c].local_derivative]
        chained = (graph.chain(c, name, graph.gradient(c)) for c in children)
        staged[name] = sum(chained, sp.S.Zero)
        full[name] = _substitute_gradients(graph, staged[name], full)
    return staged, full


def _substitute_gradients(graph: _Graph, expr: sp.Expr, full: Mapping[str, sp.Expr]) -> sp.Expr:
    for name, gradient in full.items():
        symbol = graph.gradient(name)
        if isinstance(symbol, sp.Indexed):
            own = graph.own_indices(name)
            expr = expr.replace(
                lambda e, b=symbol.base: isinstance(e, sp.Indexed) and e.base == b,
                lambda e, g=gradient, own=own: at_indices(g, own, e.indices),
            )
        else:
            expr = expr.xreplace({symbol: gradient})
    return expr


def _terms(graph: _Graph, leaf: str, output: str, upstream: sp.Expr, simplify) -> tuple[Term, ...]:
    paths = sorted(graph.paths(leaf, output), key=len)  # the direct path first
    terms = []
    for path in paths:
        gradient = upstream
        for parent, child in reversed(list(itertools.pairwise(path))):
            gradient = graph.chain(child, parent, gradient)
        description = _path_description(path, paths, graph.nodes)
        terms.append(Term(path, description, simplify(gradient)))
    return tuple(terms)


def _check_terms_add_up(closed_form: sp.Expr, terms: tuple[Term, ...], leaf: str) -> None:
    difference = sp.simplify(closed_form - sum(t.expression for t in terms))
    if difference != 0:
        raise ArithmeticError(f"the paths to {leaf} do not add up to its gradient: {difference}")


def _simplifier(graph: _Graph, vocabulary: Vocabulary) -> Callable[[sp.Expr], sp.Expr]:
    """The function that brings a composed gradient into closed form, after proving the
    vocabulary's rewrites and identities from the definitions."""
    for fact in (*vocabulary.rewrites, *vocabulary.identities):
        _prove(graph, fact)
    identities = {eq.lhs: eq.rhs for eq in vocabulary.identities}

    def rewrite(expr: sp.Expr) -> sp.Expr:
        for eq in vocabulary.rewrites:
            if isinstance(eq.lhs, sp.Indexed):
                expr = expr.replace(
                    lambda e, b=eq.lhs.base: isinstance(e, sp.Indexed) and e.base == b,
                    lambda e, eq=eq: at_indices(eq.rhs, eq.lhs.indices, e.indices),
                )
            else:
                expr = expr.xreplace({eq.lhs: eq.rhs})
        return expr

    def simplify(expr: sp.Expr) -> sp.Expr:
        expr = canonical_sums(expand_sums(rewrite(expr)), graph.indices)
        return vocabulary.finish(expr.xreplace(identities))

    return simplify


def _prove(graph: _Graph, fact: sp.Eq) -> None:
    """Prove ``fact`` by expanding both sides down to the layer's inputs."""
    difference = expand_sums(graph.expand_definitions(fact.lhs - fact.rhs))
    if sp.simplify(canonical_sums(difference, graph.indices)) != 0:
        raise ArithmeticError(f"cannot prove {fact} from the definitions")


def _inputs(graph: _Graph, closed_forms, upstream, wrt) -> tuple[str, ...]:
    """What the closed forms need, in the order: upstream gradient, the inputs the gradients
    are taken with respect to, then the others alphabetically."""
    needed = set()
    for expr in closed_forms.values():
        needed |= set(_quantities(graph.expand_definitions(expr), graph.index_names))
    upstream_names = list(_quantities(upstream, graph.index_names))
    ordered = upstream_names + [w for w in wrt if w in needed]
    return tuple(ordered + sorted(needed - set(ordered)))


# Derivation and the sum helpers are re-exported: derivations.terms imports them from here.
__all__ = [
    "Derivation",
    "Node",
    "Term",
    "Vocabulary",
    "at_indices",
    "canonical_sums",
    "define",
    "derive",
    "expand_sums",
]
