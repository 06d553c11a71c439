"""Batch normalization, derived along its computation graph: the normalization graph
(``derivations.normalization``) averaged over the batch.

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

from derivations.graph import Derivation
from derivations.normalization import derive_normalization
from derivations.notation import BATCH, scalars, tensor

# The quantities of the graph, by their names, for reading formulas (the derivation makes its
# own, equal to these).
x, xc, xhat, out = (tensor(name, BATCH) for name in ("x", "xc", "xhat", "out"))
mu, var, inv_std, gamma, beta, running_mean, running_var = scalars(
    "mu var inv_std gamma beta running_mean running_var"
)
(eps,) = scalars("eps", positive=True)

CHAPTER = 2  # the chapter that introduces it: ``derivations.DERIVATIONS`` follows the book


@functools.cache
def batchnorm_train() -> Derivation:
    """Batch norm in train mode: the mean and the variance depend on x, so dx has three
    non-zero paths (direct, through the mean, through the variance)."""
    return derive_normalization(
        "batchnorm_train", "Batch normalization, train mode", (BATCH,), (BATCH,), ()
    )


@functools.cache
def batchnorm_test() -> Derivation:
    """Batch norm in test mode: the running mean and variance are constants, so the layer is
    an affine map of x, feature by feature."""
    return derive_normalization(
        "batchnorm_test", "Batch normalization, test mode", (BATCH,), (BATCH,), (), running=True
    )


DERIVED = {"batchnorm_train": batchnorm_train, "batchnorm_test": batchnorm_test}
