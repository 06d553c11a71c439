"""RMS normalization (RMSNorm; Zhang and Sennrich, 2019), the normalization of today's large
language models: layer norm without the mean. Each example (row) of x, shape (N, D), is divided
by the root of its mean square, then scaled feature by feature; there is no shift::

    ms      = mean(x ** 2, axis=1)     mean square of each example, (N, 1)
    inv_rms = (ms + eps) ** -1/2       inverse root mean square, (N, 1)
    xhat    = x * inv_rms              normalised input
    out     = gamma * xhat             output, gamma of shape (D,)

Layer norm's graph without its mean: x is not centred, so the mean square takes the variance's
place, and the gradient of x has no path through a mean (derived in ``derivations/rmsnorm.py``,
compared in chapter 10). The same in train and test mode; ``rms_param`` takes ``eps`` (and
``mode``, ignored), as ``ln_param`` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np  # noqa: F401 (a student's solution region uses it)

from nndl.validation import (
    check_array,
    check_cache,
    check_norm_param,
    check_scale_and_shift,
    check_shape,
)


class RMSNormCache(NamedTuple):
    """What the RMSNorm backward passes need from the forward pass, by node name."""

    x: object  # the input, (N, D)
    inv_rms: object  # inverse root mean square of each example, (N, 1)
    xhat: object  # normalised input, (N, D)
    gamma: object  # scale, (D,)


def _check_rmsnorm_inputs(x, gamma, rms_param) -> tuple:
    """Check the forward's inputs; return gamma (an integer one as x's floats) and eps."""
    layer = "rmsnorm_forward"
    check_array("x", layer, x)
    gamma, _ = check_scale_and_shift(layer, x, gamma, gamma)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D) with D >= 1, got {x.shape}")
    check_shape("gamma", layer, gamma, (x.shape[1],))
    return gamma, check_norm_param(layer, "rms_param", rms_param, symbolic=x.dtype == object)


def rmsnorm_forward(x, gamma, rms_param):
    """RMS normalization of a batch of shape (N, D), example by example: each row divided by the
    root of its mean square over its D features (eps added), then scaled feature by feature.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - rms_param: dict with keys
      - eps: constant for numeric stability (default 1e-5)
      - mode: 'train' or 'test' (optional, ignored: the layer is the same in both)

    Returns a tuple of:
    - out: array of shape (N, D)
    - cache: an ``RMSNormCache`` for the backward pass
    """
    gamma, eps = _check_rmsnorm_inputs(x, gamma, rms_param)
    ### BEGIN SOLUTION
    ms = (x**2).mean(axis=1, keepdims=True)
    inv_rms = (ms + eps) ** -0.5
    xhat = x * inv_rms
    out = gamma * xhat
    cache = RMSNormCache(x, inv_rms, xhat, gamma)
    ### END SOLUTION
    return out, cache


def _check_rmsnorm_backward(layer: str, dout, cache) -> None:
    check_array("dout", layer, dout)
    check_cache(layer, cache, "rmsnorm_forward")
    if isinstance(cache, RMSNormCache):
        check_shape("dout", layer, dout, cache.xhat.shape, "(the shape of the forward's x)")


def rmsnorm_backward(dout, cache):
    """Backward pass of ``rmsnorm_forward``, staged: one block per node of the computation graph,
    from the output back to the input, each applying that node's local derivative.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    """
    _check_rmsnorm_backward("rmsnorm_backward", dout, cache)
    ### BEGIN SOLUTION
    x, inv_rms, xhat, gamma = cache
    D = x.shape[1]
    # out = gamma * xhat: d out/d xhat = gamma
    dxhat = dout * gamma
    # xhat = x * inv_rms: d xhat/d inv_rms = x, summed over the features that share inv_rms
    dinv_rms = (dxhat * x).sum(axis=1, keepdims=True)
    # inv_rms = (ms + eps) ** -1/2: d inv_rms/d ms = -1/2 (ms + eps) ** -3/2
    dms = -0.5 * inv_rms**3 * dinv_rms
    # x reaches the output along two paths: through xhat (d xhat/d x = inv_rms) and through
    # ms = mean(x ** 2) (d ms/d x = 2 x / D); no path through a mean, which RMSNorm has not
    dx = dxhat * inv_rms + (2 * x / D) * dms
    # out = gamma * xhat: d out/d gamma = xhat, summed over the batch
    dgamma = (dout * xhat).sum(axis=0)
    ### END SOLUTION
    return dx, dgamma


def rmsnorm_backward_alt(dout, cache):
    """Backward pass of ``rmsnorm_forward`` in closed form (derived in ``derivations/``)::

        dx = inv_rms * (dxhat - xhat * mean(dxhat * xhat)),   dxhat = gamma * dout

    with the mean over the features of each example: layer norm's formula without its term
    ``- mean(dxhat)``, the path through the mean.

    Inputs and returns as ``rmsnorm_backward``.
    """
    _check_rmsnorm_backward("rmsnorm_backward_alt", dout, cache)
    ### BEGIN SOLUTION
    dxhat = dout * cache.gamma
    dx = cache.inv_rms * (dxhat - cache.xhat * (dxhat * cache.xhat).mean(axis=1, keepdims=True))
    dgamma = (dout * cache.xhat).sum(axis=0)
    ### END SOLUTION
    return dx, dgamma
