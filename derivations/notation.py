"""How the derivations are written: the symbols, their LaTeX, and the indices.

One name per quantity, the same in ``derivations/``, in ``nndl/`` and in the book: a node of the
batch-norm graph is ``mu``, ``xc``, ``var``, ``inv_std``, ``xhat`` or ``out`` everywhere. Only the
LaTeX differs, and it is defined here once, so that every formula the book prints uses the same
letters:

    x  mu  xc       var       inv_std            xhat     out  gamma   beta   eps
    x  μ   x̃        σ²        σ̂⁻¹ = (σ² + ε)^-½  x̂        y    γ       β      ε

The gradient of the loss L with respect to a quantity ``v`` is called ``dv`` (as in CS231n's code:
``dx``, ``dxhat``, ``dout``) and printed as d v, e.g. ``dout`` is d y.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

LATEX_NAMES = {
    "mu": r"\mu",
    "xc": r"\tilde{x}",
    "var": r"\sigma^{2}",
    "inv_std": r"\hat{\sigma}^{-1}",
    "xhat": r"\hat{x}",
    "out": "y",
    "gamma": r"\gamma",
    "beta": r"\beta",
    "eps": r"\epsilon",
    "running_mean": r"\mu_{\mathrm{run}}",
    "running_var": r"\sigma^{2}_{\mathrm{run}}",
    "keep": r"\mathrm{keep}",
    "lse": r"\ell",
    "loss": "L",
    "margin": r"\mathrm{margin}",
    "hinge": r"\mathrm{hinge}",
    "correct": r"s^{\mathrm{true}}",
}


def name_in_latex(names: dict[str, str]) -> None:
    """Add the LaTeX of quantities of a new derivation (a module of its own names them when it
    is imported). A name keeps one LaTeX: giving it another is an error."""
    for name, text in names.items():
        if LATEX_NAMES.setdefault(name, text) != text:
            raise ValueError(f"{name!r} is already written {LATEX_NAMES[name]!r}, not {text!r}")


def latex_name(name: str) -> str:
    """LaTeX of the quantity called ``name`` in the code; ``d<name>`` is its gradient."""
    if name in LATEX_NAMES:
        return LATEX_NAMES[name]
    if name.startswith("d") and (name[1:] in LATEX_NAMES or len(name) == 2):
        return r"\mathrm{d}" + latex_name(name[1:])
    return sp.latex(sp.Symbol(name))


def latex(expr: sp.Basic) -> str:
    """sympy's LaTeX for ``expr`` with the book's names for the symbols."""
    names = {s: latex_name(s.name) for s in expr.atoms(sp.Symbol)}
    return sp.latex(expr, symbol_names=names)


@dataclass(frozen=True)
class Index:
    """A kind of index (over the batch, the features, the classes...): it runs over
    0 .. size - 1 and goes by three names, so that a formula never needs to invent one.

    - own: a quantity's own index, as in xc_i = x_i - mu
    - summed: the index of a sum, as in mu = 1/N sum_j x_j
    - other: a second free index, as in the local derivative d xc_i / d x_k
    """

    size: sp.Symbol
    own: sp.Symbol
    summed: sp.Symbol
    other: sp.Symbol

    @property
    def names(self) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
        return self.own, self.summed, self.other


def index(size: str, names: str) -> Index:
    """An ``Index`` of size ``size`` (a positive integer symbol) named e.g. ``"i j k"``."""
    own, summed, other = sp.symbols(names, integer=True)
    return Index(sp.Symbol(size, integer=True, positive=True), own, summed, other)


def tensor(name: str, *indices: Index) -> sp.IndexedBase:
    """A real quantity with one value per index combination, e.g. ``tensor("x", BATCH)``.

    Its shape holds the sizes of its indices: that is how the derivation and the evaluator know
    which kind of index each position is.
    """
    return sp.IndexedBase(name, shape=tuple(ix.size for ix in indices), real=True)


def scalars(names: str, **assumptions) -> tuple[sp.Symbol, ...]:
    """Real symbols (one value per feature, or a constant), with extra assumptions if given."""
    return sp.symbols(names, real=True, seq=True, **assumptions)


# The kinds of index the layers use. Elementwise layers (ReLU, dropout) run over a flattened
# array with the batch index.
BATCH = index("N", "i j k")
FEATURES = index("D", "d e f")
OUTPUTS = index("M", "m n o")
CLASSES = index("C", "c a b")
