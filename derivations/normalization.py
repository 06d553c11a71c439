"""The graph every normalization layer shares, for any choice of axes: the six nodes of
``nndl.normalization``, written once.

A normalization layer's input x carries some indices (``axes``); the mean and the variance
average over some of them (``averaged``) and carry the others; gamma and beta carry theirs
(``params``). For batch norm, one feature at a time (x_i, the batch index i averaged over)::

    mu      = 1/N sum_j x_j                mean
    xc_i    = x_i - mu                     centred input
    var     = 1/N sum_j xc_j**2            variance (biased)
    inv_std = (var + eps) ** -1/2          inverse std
    xhat_i  = xc_i * inv_std               normalised input
    out_i   = gamma * xhat_i + beta        output

Layer norm averages over the features of an example instead, spatial batch norm over the batch
and the positions of an image, group norm over a group's channels and positions
(``derivations.batchnorm``, ``layernorm``, ``spatial``). With ``running=True`` (batch norm's
test mode) the mean and the variance are the running averages, constants of the graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sympy as sp

from derivations.graph import Derivation, Node, Vocabulary, define, derive
from derivations.notation import Index, scalars, tensor


def _quantity(name: str, indices: Sequence[Index]):
    """A real quantity with one value per index combination, or a scalar without indices."""
    return tensor(name, *indices) if indices else scalars(name)[0]


def _at(quantity, indices: tuple) -> sp.Basic:
    return quantity[indices] if indices else quantity


def normalization(
    axes: Sequence[Index],
    averaged: Sequence[Index],
    params: Sequence[Index],
    running: bool = False,
) -> tuple[tuple[Node, ...], Vocabulary]:
    """The graph of a normalization layer and the vocabulary of its closed forms.

    - axes: the indices of the input x (and of xc, xhat, out), e.g. (BATCH, FEATURES)
    - averaged: those of ``axes`` the mean and the variance average over, e.g. (FEATURES,);
      the mean, the variance and the inverse std carry the others
    - params: the indices of gamma and beta, e.g. (FEATURES,); () for one gamma and one beta
    - running: the mean and the variance are given (batch norm's running averages), not nodes

    The closed forms are written in the normalised input and the inverse std (xc = xhat /
    inv_std), and, when the statistics are x's, use that xhat sums to 0 over the averaged
    indices.
    """
    kept = [ix for ix in axes if ix not in averaged]
    x, xc, xhat, out = (tensor(name, *axes) for name in ("x", "xc", "xhat", "out"))
    names = ("running_mean", "running_var") if running else ("mu", "var")
    mu, var = (_quantity(name, kept) for name in names)
    inv_std = _quantity("inv_std", kept)
    gamma, beta = (_quantity(name, params) for name in ("gamma", "beta"))
    (eps,) = scalars("eps", positive=True)

    at = tuple(ix.own for ix in axes)  # x at its own indices: x[i, d]
    summed = tuple(ix.summed if ix in averaged else ix.own for ix in axes)  # x[i, e]
    stat = tuple(ix.own for ix in kept)  # mu[i]
    param = tuple(ix.own for ix in params)  # gamma[d]
    count = math.prod(ix.size for ix in averaged)

    def average(expr: sp.Expr) -> sp.Expr:
        for ix in averaged:
            expr = sp.Sum(expr, (ix.summed, 0, ix.size - 1))
        return expr

    statistics = (
        define(_at(mu, stat), average(x[summed]) / count, "mean"),
        define(xc[at], x[at] - _at(mu, stat), "centred input"),
        define(_at(var, stat), average(xc[summed] ** 2) / count, "variance"),
    )
    nodes = (
        *(statistics[1:2] if running else statistics),
        define(_at(inv_std, stat), (_at(var, stat) + eps) ** sp.Rational(-1, 2), "inverse std"),
        define(xhat[at], xc[at] * _at(inv_std, stat), "normalised input"),
        define(out[at], _at(gamma, param) * xhat[at] + _at(beta, param), "output"),
    )
    rewrites = (sp.Eq(xc[at], xhat[at] / _at(inv_std, stat)),)
    identities = () if running else (sp.Eq(average(xhat[summed]), 0),)
    return nodes, Vocabulary(rewrites=rewrites, identities=identities)


def derive_normalization(
    name: str,
    title: str,
    axes: Sequence[Index],
    averaged: Sequence[Index],
    params: Sequence[Index],
    running: bool = False,
) -> Derivation:
    """The derivation of the gradients of x, gamma and beta through the graph
    ``normalization(axes, averaged, params, running)``, closed forms in its vocabulary."""
    nodes, vocabulary = normalization(axes, averaged, params, running)
    return derive(
        name, title, nodes, wrt=("x", "gamma", "beta"), indices=axes, vocabulary=vocabulary
    )
