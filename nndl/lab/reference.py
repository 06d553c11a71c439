"""The right batch-norm forward pass, for grading the backward passes on their own.

A backward pass is graded on the cache of the *right* forward pass, never on the student's: a
slip in ``batchnorm_forward`` (its own task, chapter 2) must not turn the backward's tests red.
``nndl lab check`` and the student-facing tests build their caches here, so that both give the
same verdict.
"""

from __future__ import annotations

import numpy as np

from nndl.normalization import NormalizationCache


def batchnorm_reference(x, gamma, beta, bn_param):
    """``batchnorm_forward``'s output and cache, computed from the definitions; unlike it, this
    leaves ``bn_param`` unchanged (a pure function, so that numerical gradients can call it).

    Inputs and returns as ``nndl.batchnorm.batchnorm_forward``; in test mode ``bn_param`` must
    hold ``running_mean`` and ``running_var``.
    """
    mode, eps = bn_param.get("mode", "train"), bn_param.get("eps", 1e-5)
    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    xc = x - mean
    inv_std = 1 / np.sqrt(var + eps)
    xhat = xc * inv_std
    cache = NormalizationCache(mode, (0,), mean, xc, var, inv_std, xhat, gamma)
    return gamma * xhat + beta, cache
