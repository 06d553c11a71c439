"""Normalising images, batches of shape (N, C, H, W): spatial batch norm and group norm, each
with a staged and a closed-form backward pass.

Both are the normalization graph with other axes averaged over (derived in
``derivations/spatial.py``):

- spatial batch norm: one mean and variance per channel, over the N examples and the H x W
  positions. That is batch norm (``nndl.batchnorm``) with every pixel of every image as an
  example, so the layer moves the channels last, flattens to (N·H·W, C) and calls it.
- group norm: the C channels split into G groups of K = C/G; one mean and variance per example
  and group, over the group's K channels and the H x W positions. That is the normalization
  core (``nndl.normalization``) with x seen as (N, G, K, H, W) and the statistics over the last
  three axes; gamma and beta, seen as (1, G, K, 1, 1), scale and shift each channel.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np  # noqa: F401 (a student's solution region uses it)

from nndl.batchnorm import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    check_bn_param,
)
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

GROUP_AXES = (2, 3, 4)  # of x seen as (N, G, K, H, W): a group's channels and positions


def _check_images(layer: str, x, gamma, beta, per_channel) -> tuple:
    """Check x, gamma and beta; ``per_channel(C)`` is the shape gamma and beta must have.
    Returns gamma and beta (integer ones converted to x's dtype)."""
    check_array("x", layer, x)
    gamma, beta = check_scale_and_shift(layer, x, gamma, beta)
    if x.ndim != 4:
        raise ValueError(f"{layer}: x must be 4-D of shape (N, C, H, W), got shape {x.shape}")
    check_shape("gamma", layer, gamma, per_channel(x.shape[1]))
    check_shape("beta", layer, beta, per_channel(x.shape[1]))
    return gamma, beta


def _check_dout(layer: str, dout, cache, forward: str, shape) -> None:
    """dout an array; of ``shape`` (the forward's x's) when the cache is nndl's own."""
    check_array("dout", layer, dout)
    check_cache(layer, cache, forward)
    if shape is not None:
        check_shape("dout", layer, dout, shape)


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------


class SpatialBatchNormCache(NamedTuple):
    """What the spatial batch-norm backward passes need from the forward pass."""

    batchnorm: NormalizationCache  # batch norm's cache for x as (N·H·W, C)
    shape: tuple[int, int, int, int]  # (N, C, H, W) of x


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Spatial batch normalization: batch norm with one mean and variance per channel, taken
    over the batch and every position of the image.

    Inputs:
    - x: data of shape (N, C, H, W)
    - gamma: scale of shape (C,)
    - beta: shift of shape (C,)
    - bn_param: batch norm's dict (see ``nndl.batchnorm.batchnorm_forward``): mode ('train'
      or 'test'), eps, momentum, and the running_mean and running_var of shape (C,)

    Returns a tuple of:
    - out: array of shape (N, C, H, W)
    - cache: a ``SpatialBatchNormCache`` for the backward pass
    """
    layer = "spatial_batchnorm_forward"
    gamma, beta = _check_images(layer, x, gamma, beta, lambda C: (C,))
    N, C, H, W = x.shape
    check_bn_param(layer, bn_param, x, N * H * W, C)  # errors name this layer, not batch norm's
    ### BEGIN SOLUTION
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, C)  # (N·H·W, C): one row per pixel
    rows, batchnorm_cache = batchnorm_forward(pixels, gamma, beta, bn_param)
    out = rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    cache = SpatialBatchNormCache(batchnorm_cache, x.shape)
    ### END SOLUTION
    return out, cache


def _check_spatial_batchnorm_backward(layer: str, dout, cache) -> None:
    shape = cache.shape if isinstance(cache, SpatialBatchNormCache) else None
    _check_dout(layer, dout, cache, "spatial_batchnorm_forward", shape)


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of ``spatial_batchnorm_forward``, staged: batch norm's staged backward
    (``batchnorm_backward``) on the (N·H·W, C) layout.

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (C,)
    - dbeta: gradient with respect to beta, shape (C,)
    """
    _check_spatial_batchnorm_backward("spatial_batchnorm_backward", dout, cache)
    ### BEGIN SOLUTION
    N, C, H, W = dout.shape
    pixels = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    drows, dgamma, dbeta = batchnorm_backward(pixels, cache.batchnorm)
    dx = drows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_batchnorm_backward_alt(dout, cache):
    """Backward pass of ``spatial_batchnorm_forward`` in closed form: batch norm's
    (``batchnorm_backward_alt``) on the (N·H·W, C) layout, each sum over the M = N·H·W values
    of a channel::

        dx = gamma * inv_std * (dout - (sum(dout) + xhat * sum(dout * xhat)) / M)

    Inputs and returns as ``spatial_batchnorm_backward``.
    """
    _check_spatial_batchnorm_backward("spatial_batchnorm_backward_alt", dout, cache)
    ### BEGIN SOLUTION
    N, C, H, W = dout.shape
    pixels = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    drows, dgamma, dbeta = batchnorm_backward_alt(pixels, cache.batchnorm)
    dx = drows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Group norm
# --------------------------------------------------------------------------------------------


def _check_groups(layer: str, x, G) -> None:
    if not isinstance(G, numbers.Integral) or isinstance(G, bool):
        raise TypeError(f"{layer}: G must be an integer number of groups, got {type(G).__name__}")
    C = x.shape[1]
    if G < 1 or C % G != 0:
        raise ValueError(
            f"{layer}: G must be a positive divisor of the number of channels C = {C} "
            f"(each group gets C / G channels), got G = {G}"
        )


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Spatial group normalization: the channels of each example split into G groups of C/G,
    each group normalised with its own mean and (biased) variance over its channels and
    positions, then each channel scaled and shifted. The same in train and test mode.

    Inputs:
    - x: data of shape (N, C, H, W)
    - gamma: scale of shape (1, C, 1, 1)
    - beta: shift of shape (1, C, 1, 1)
    - G: number of groups, a divisor of C
    - gn_param: dict with keys
      - eps: constant for numeric stability (default 1e-5)
      - mode: 'train' or 'test' (optional, ignored: the layer is the same in both)

    Returns a tuple of:
    - out: array of shape (N, C, H, W)
    - cache: a ``NormalizationCache`` of the core on x seen as (N, G, C/G, H, W)
    """
    layer = "spatial_groupnorm_forward"
    gamma, beta = _check_images(layer, x, gamma, beta, lambda C: (1, C, 1, 1))
    _check_groups(layer, x, G)
    eps = check_norm_param(layer, "gn_param", gn_param, symbolic=x.dtype == object)
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    per_group = (1, G, C // G, 1, 1)  # gamma and beta of each group's channels
    grouped = x.reshape(N, G, C // G, H, W)
    out, cache = normalization_forward(
        grouped, gamma.reshape(per_group), beta.reshape(per_group), eps, GROUP_AXES
    )
    out = out.reshape(x.shape)
    ### END SOLUTION
    return out, cache


def _check_groupnorm_backward(layer: str, dout, cache) -> None:
    shape = None
    if isinstance(cache, NormalizationCache):  # (N, G, C/G, H, W) -> (N, C, H, W)
        N, G, K, H, W = cache.xhat.shape
        shape = (N, G * K, H, W)
    _check_dout(layer, dout, cache, "spatial_groupnorm_forward", shape)


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of ``spatial_groupnorm_forward``, staged: one block per node of the
    computation graph, from the output back to the input (the core's, on the grouped layout).

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (1, C, 1, 1)
    - dbeta: gradient with respect to beta, shape (1, C, 1, 1)
    """
    _check_groupnorm_backward("spatial_groupnorm_backward", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward(dout.reshape(cache.xhat.shape), cache)
    per_channel = (1, dout.shape[1], 1, 1)
    dx, dgamma, dbeta = (
        dx.reshape(dout.shape),
        dgamma.reshape(per_channel),
        dbeta.reshape(per_channel),
    )
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_groupnorm_backward_alt(dout, cache):
    """Backward pass of ``spatial_groupnorm_forward`` in closed form (derived in
    ``derivations/``): layer norm's formula with each sum over the C/G·H·W values of a group::

        dx = inv_std * (dxhat - (sum(dxhat) + xhat * sum(dxhat * xhat)) / (C/G·H·W))

    with dxhat = gamma * dout. Inputs and returns as ``spatial_groupnorm_backward``.
    """
    _check_groupnorm_backward("spatial_groupnorm_backward_alt", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward_alt(dout.reshape(cache.xhat.shape), cache)
    per_channel = (1, dout.shape[1], 1, 1)
    dx, dgamma, dbeta = (
        dx.reshape(dout.shape),
        dgamma.reshape(per_channel),
        dbeta.reshape(per_channel),
    )
    ### END SOLUTION
    return dx, dgamma, dbeta
