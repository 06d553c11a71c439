"""RMS normalization, derived along its computation graph: layer norm's graph without the mean.

Each example (row i) is divided by the root of its mean square over its D features, then scaled
feature by feature; there is no shift::

    ms_i      = 1/D sum_e x_ie**2            mean square of example i
    inv_rms_i = (ms_i + eps) ** -1/2         inverse root mean square
    xhat_id   = x_id * inv_rms_i             normalised input
    out_id    = gamma_d * xhat_id            output

Beside layer norm's (``derivations.layernorm``): no mean and no centred input, so the mean
square stands where the variance stood and x reaches it directly. dx has two paths, the direct
one and the one through the mean square; layer norm's path through the mean has no node to run
through.
"""

from __future__ import annotations

import functools

import sympy as sp

from derivations.graph import Derivation, Vocabulary, define, derive
from derivations.notation import BATCH, FEATURES, name_in_latex, scalars, tensor

# The book's letters for the two new quantities: the mean square, and the inverse root mean
# square (the inverse std's counterpart).
name_in_latex({"ms": r"\overline{x^{2}}", "inv_rms": r"\hat{r}^{-1}"})

x, xhat, out = (tensor(name, BATCH, FEATURES) for name in ("x", "xhat", "out"))
ms, inv_rms = tensor("ms", BATCH), tensor("inv_rms", BATCH)
gamma = tensor("gamma", FEATURES)
(eps,) = scalars("eps", positive=True)

CHAPTER = 10


@functools.cache
def rmsnorm() -> Derivation:
    """RMSNorm: dx has two paths, the direct one and the one through the mean square; dgamma
    sums over the batch."""
    i, d, e, D = BATCH.own, FEATURES.own, FEATURES.summed, FEATURES.size
    nodes = (
        define(ms[i], sp.Sum(x[i, e] ** 2, (e, 0, D - 1)) / D, "mean square"),
        define(inv_rms[i], (ms[i] + eps) ** sp.Rational(-1, 2), "inverse RMS"),
        define(xhat[i, d], x[i, d] * inv_rms[i], "normalised input"),
        define(out[i, d], gamma[d] * xhat[i, d], "output"),
    )
    vocabulary = Vocabulary(rewrites=(sp.Eq(x[i, d], xhat[i, d] / inv_rms[i]),))
    return derive(
        "rmsnorm",
        "RMS normalization",
        nodes,
        wrt=("x", "gamma"),
        indices=(BATCH, FEATURES),
        vocabulary=vocabulary,
    )


DERIVED = {"rmsnorm": rmsnorm}
