"""Layer normalization, derived along its computation graph: the normalization graph
(``derivations.normalization``) averaged over the features of an example.

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
"""

from __future__ import annotations

import functools

from derivations.graph import Derivation
from derivations.normalization import derive_normalization
from derivations.notation import BATCH, FEATURES

CHAPTER = 10


@functools.cache
def layernorm() -> Derivation:
    """Layer norm: the mean and the variance of each example depend on its features, so dx has
    batch norm's three paths, with sums over the features; dgamma and dbeta sum over the batch."""
    return derive_normalization(
        "layernorm",
        "Layer normalization",
        (BATCH, FEATURES),
        averaged=(FEATURES,),
        params=(FEATURES,),
    )


DERIVED = {"layernorm": layernorm}
