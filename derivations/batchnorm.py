"""Batch normalization, derived along its computation graph.

Train mode, for one feature (every feature is normalised on its own, so one is enough; the
NumPy version runs on all D columns at once)::

    mu      = 1/N sum_j x_j                mean
    xc_i    = x_i - mu                     centred input
    var     = 1/N sum_j xc_j**2            variance (biased)
    inv_std = (var + eps) ** -1/2          inverse std
    xhat_i  = xc_i * inv_std               normalised input
    out_i   = gamma * xhat_i + beta        output

In test mode the mean and the variance are the running averages, constants of the graph.
"""

from __future__ import annotations

import functools

import sympy as sp

from derivations.graph import Derivation, Vocabulary, define, derive
from derivations.notation import BATCH, scalars, tensor

N, (i, j) = BATCH.size, BATCH.names[:2]

x, xc, xhat, out = (tensor(name, BATCH) for name in ("x", "xc", "xhat", "out"))
mu, var, inv_std, gamma, beta, running_mean, running_var = scalars(
    "mu var inv_std gamma beta running_mean running_var"
)
(eps,) = scalars("eps", positive=True)


def _normalise_and_scale(mean: sp.Expr, variance: sp.Expr) -> tuple:
    """The nodes from the centred input to the output, given the mean and the variance."""
    return (
        define(xc[i], x[i] - mean, "centred input"),
        define(inv_std, (variance + eps) ** sp.Rational(-1, 2), "inverse std"),
        define(xhat[i], xc[i] * inv_std, "normalised input"),
        define(out[i], gamma * xhat[i] + beta, "output"),
    )


# Closed forms are written with the normalised input and the inverse std, as in the book.
VOCABULARY = Vocabulary(
    rewrites=(sp.Eq(xc[i], xhat[i] / inv_std),),
    identities=(sp.Eq(sp.Sum(xhat[j], (j, 0, N - 1)), 0),),
)


@functools.cache
def batchnorm_train() -> Derivation:
    """Batch norm in train mode: the mean and the variance depend on x, so dx has three
    non-zero paths (direct, through the mean, through the variance)."""
    centred, inverse_std, normalised, output = _normalise_and_scale(mu, var)
    nodes = (
        define(mu, sp.Sum(x[j], (j, 0, N - 1)) / N, "mean"),
        centred,
        define(var, sp.Sum(xc[j] ** 2, (j, 0, N - 1)) / N, "variance"),
        inverse_std,
        normalised,
        output,
    )
    return derive(
        "batchnorm_train",
        "Batch normalization, train mode",
        nodes,
        wrt=("x", "gamma", "beta"),
        indices=(BATCH,),
        vocabulary=VOCABULARY,
    )


@functools.cache
def batchnorm_test() -> Derivation:
    """Batch norm in test mode: the running mean and variance are constants, so the layer is
    an affine map of x, feature by feature."""
    nodes = _normalise_and_scale(running_mean, running_var)
    return derive(
        "batchnorm_test",
        "Batch normalization, test mode",
        nodes,
        wrt=("x", "gamma", "beta"),
        indices=(BATCH,),
        vocabulary=Vocabulary(rewrites=VOCABULARY.rewrites),
    )
