"""Layer normalization: ``layernorm_forward`` and its two backward passes, staged (node by node)
and closed form.

Batch norm's graph with the axis changed: the normalization core (``nndl.normalization``) over
the feature axis, so that each example (row) of x, shape (N, D), is normalised over its D
features, then scaled and shifted feature by feature::

    mu      = mean(x, axis=1)          mean of each example, (N, 1)
    xc      = x - mu                   centred input
    var     = mean(xc ** 2, axis=1)    variance of each example (biased), (N, 1)
    inv_std = (var + eps) ** -1/2      inverse std, (N, 1)
    xhat    = xc * inv_std             normalised input
    out     = gamma * xhat + beta      output, gamma and beta of shape (D,)

There are no running averages: the layer computes the same thing in train and test mode.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (a student's solution region uses it)

from nndl.normalization import (
    NormalizationCache,
    normalization_backward,
    normalization_backward_alt,
    normalization_forward,
)
from nndl.validation import (
    check_array,
    check_cache,
    check_norm_param,
    check_scale_and_shift,
    check_shape,
)

FEATURE_AXIS = (1,)  # the axis of x (N, D) the statistics are taken over


def _check_layernorm_inputs(x, gamma, beta, ln_param) -> tuple:
    """Check the forward's inputs; return gamma and beta (integer ones converted to x's dtype)
    and eps."""
    layer = "layernorm_forward"
    check_array("x", layer, x)
    gamma, beta = check_scale_and_shift(layer, x, gamma, beta)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D) with D >= 1, got {x.shape}")
    D = x.shape[1]
    check_shape("gamma", layer, gamma, (D,))
    check_shape("beta", layer, beta, (D,))
    return gamma, beta, check_norm_param(layer, "ln_param", ln_param, symbolic=x.dtype == object)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization of a batch of shape (N, D), example by example: each row is
    normalised with its own mean and (biased) variance over its D features, then scaled and
    shifted feature by feature. The same in train and test mode; no running averages.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - ln_param: dict with keys
      - eps: constant for numeric stability (default 1e-5)
      - mode: 'train' or 'test' (optional, ignored: the layer is the same in both)

    Returns a tuple of:
    - out: array of shape (N, D)
    - cache: a ``NormalizationCache`` for the backward pass (statistics of shape (N, 1))
    """
    gamma, beta, eps = _check_layernorm_inputs(x, gamma, beta, ln_param)
    ### BEGIN SOLUTION
    out, cache = normalization_forward(x, gamma, beta, eps, FEATURE_AXIS)
    ### END SOLUTION
    return out, cache


def _check_layernorm_backward(layer: str, dout, cache) -> None:
    check_array("dout", layer, dout)
    check_cache(layer, cache, "layernorm_forward")
    if isinstance(cache, NormalizationCache):
        check_shape("dout", layer, dout, cache.xhat.shape)


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``, staged: one block per node of the computation
    graph, from the output back to the input (``nndl.normalization.normalization_backward``,
    the sums over the features).

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    _check_layernorm_backward("layernorm_backward", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward(dout, cache)
    ### END SOLUTION
    return dx, dgamma, dbeta


def layernorm_backward_alt(dout, cache):
    """Backward pass of ``layernorm_forward`` in closed form (derived in ``derivations/``)::

        dx = inv_std / D * (D * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),  dxhat = gamma dout

    with the sums over the features of each example: batch norm's formula with the sums along
    the other axis, gamma inside them.

    Inputs and returns as ``layernorm_backward``.
    """
    _check_layernorm_backward("layernorm_backward_alt", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward_alt(dout, cache)
    ### END SOLUTION
    return dx, dgamma, dbeta
