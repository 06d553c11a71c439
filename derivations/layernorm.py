"""Layer normalization, derived along its computation graph, and the graph every normalization
layer shares.

Batch norm's graph with the axis changed: each example (row i) is normalised over its D
features, so the mean and the variance carry the example's index, and gamma and beta the
feature's::

    mu_i      = 1/D sum_e x_ie              mean of example i
    xc_id     = x_id - mu_i                 centred input
    var_i     = 1/D sum_e xc_ie**2          variance (biased)
    inv_std_i = (var_i + eps) ** -1/2       inverse std
    xhat_id   = xc_id * inv_std_i           normalised input
    out_id    = gamma_d * xhat_id + beta_d  output

There are no running averages: the layer is the same in train and test mode.

``normalisation`` writes these six nodes for any choice of axes: the input's indices, the ones
averaged over and the ones gamma and beta carry. Layer norm here, spatial batch norm and group
norm (``derivations.spatial``) are three choices of it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import sympy as sp

from derivations.graph import Derivation, Node, Vocabulary, define, derive
from derivations.notation import BATCH, FEATURES, Index, scalars, tensor


def normalisation(
    axes: Sequence[Index], averaged: Sequence[Index], params: Sequence[Index]
) -> tuple[tuple[Node, ...], Vocabulary]:
    """The graph of a normalization layer and the vocabulary of its closed forms.

    - axes: the indices of the input x (and of xc, xhat, out), e.g. (BATCH, FEATURES)
    - averaged: those of ``axes`` the mean and the variance average over, e.g. (FEATURES,);
      the mean, the variance and the inverse std carry the others
    - params: the indices of gamma and beta, e.g. (FEATURES,)

    The closed forms are written in the normalised input and the inverse std (xc = xhat /
    inv_std), and use that xhat sums to 0 over the averaged indices.
    """
    kept = [ix for ix in axes if ix not in averaged]
    x, xc, xhat, out = (tensor(name, *axes) for name in ("x", "xc", "xhat", "out"))
    mu, var, inv_std = (tensor(name, *kept) for name in ("mu", "var", "inv_std"))
    gamma, beta = (tensor(name, *params) for name in ("gamma", "beta"))
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

    nodes = (
        define(mu[stat], average(x[summed]) / count, "mean"),
        define(xc[at], x[at] - mu[stat], "centred input"),
        define(var[stat], average(xc[summed] ** 2) / count, "variance"),
        define(inv_std[stat], (var[stat] + eps) ** sp.Rational(-1, 2), "inverse std"),
        define(xhat[at], xc[at] * inv_std[stat], "normalised input"),
        define(out[at], gamma[param] * xhat[at] + beta[param], "output"),
    )
    vocabulary = Vocabulary(
        rewrites=(sp.Eq(xc[at], xhat[at] / inv_std[stat]),),
        identities=(sp.Eq(average(xhat[summed]), 0),),
    )
    return nodes, vocabulary


def derive_normalisation(
    name: str,
    title: str,
    axes: Sequence[Index],
    averaged: Sequence[Index],
    params: Sequence[Index],
) -> Derivation:
    """The derivation of the gradients of x, gamma and beta through the graph
    ``normalisation(axes, averaged, params)``, closed forms in its vocabulary."""
    nodes, vocabulary = normalisation(axes, averaged, params)
    return derive(
        name, title, nodes, wrt=("x", "gamma", "beta"), indices=axes, vocabulary=vocabulary
    )


@functools.cache
def layernorm() -> Derivation:
    """Layer norm: the mean and the variance of each example depend on its features, so dx has
    batch norm's three paths, with sums over the features; dgamma and dbeta sum over the batch."""
    return derive_normalisation(
        "layernorm",
        "Layer normalization",
        (BATCH, FEATURES),
        averaged=(FEATURES,),
        params=(FEATURES,),
    )
