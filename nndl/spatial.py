"""Normalising images, batches of shape (N, C, H, W): spatial batch norm and group norm, each
with a staged and a closed-form backward pass.

Both are the normalization graph of batch norm with other axes averaged over (derived in
``derivations/spatial.py``):

- spatial batch norm: one mean and variance per channel, over the N examples and the H x W
  positions. That is batch norm (``nndl.batchnorm``) with every pixel of every image as an
  example, so the layer moves the channels last, flattens to (N·H·W, C) and calls it.
- group norm: the C channels split into G groups of K = C/G; one mean and variance per example
  and group, over the group's K channels and the H x W positions. That is the normalisation of
  layer norm (``nndl.layernorm.normalise``) with x seen as (N, G, K, H, W) and the statistics
  over the last three axes; gamma and beta scale and shift each channel.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from nndl.batchnorm import (
    BatchNormCache,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    check_bn_param,
)
from nndl.layernorm import (
    BLOCK_BYTES,
    check_norm_param,
    normalise,
    normalise_backward,
    normalise_backward_alt,
)
from nndl.validation import check_array, check_shape

GROUP_AXES = (2, 3, 4)  # of x seen as (N, G, K, H, W): a group's channels and positions


def _check_images(layer: str, x, gamma, beta, per_channel) -> None:
    """Check x, gamma and beta; ``per_channel(C)`` is the shape gamma and beta must have."""
    for name, a in (("x", x), ("gamma", gamma), ("beta", beta)):
        check_array(name, layer, a)
    if x.ndim != 4:
        raise ValueError(f"{layer}: x must be 4-D of shape (N, C, H, W), got shape {x.shape}")
    check_shape("gamma", layer, gamma, per_channel(x.shape[1]))
    check_shape("beta", layer, beta, per_channel(x.shape[1]))


def _check_dout(layer: str, dout, shape) -> None:
    check_array("dout", layer, dout)
    check_shape("dout", layer, dout, shape)


def _channels_last(x):
    """(N, C, H, W) -> (N·H·W, C): one row per pixel of every image."""
    ### BEGIN SOLUTION
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    ### END SOLUTION


def _channels_first(rows, shape):
    """The inverse of ``_channels_last`` for images of ``shape`` (N, C, H, W)."""
    ### BEGIN SOLUTION
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    ### END SOLUTION


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------


class SpatialBatchNormCache(NamedTuple):
    """What the spatial batch-norm backward passes need from the forward pass."""

    batchnorm: BatchNormCache  # batch norm's cache for x as (N·H·W, C)
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
    _check_images(layer, x, gamma, beta, lambda C: (C,))
    N, C, H, W = x.shape
    check_bn_param(layer, bn_param, x, N * H * W, C)  # errors name this layer, not batch norm's
    ### BEGIN SOLUTION
    out, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    out = _channels_first(out, x.shape)
    ### END SOLUTION
    return out, SpatialBatchNormCache(batchnorm=cache, shape=x.shape)


def _check_spatial_batchnorm_backward(layer: str, dout, cache) -> None:
    if not isinstance(cache, SpatialBatchNormCache):
        raise TypeError(
            f"{layer}: cache must be the SpatialBatchNormCache returned by "
            "spatial_batchnorm_forward"
        )
    _check_dout(layer, dout, cache.shape)


def _spatial_batchnorm_backward(backward, dout, cache):
    """``backward``, batch norm's, on the (N·H·W, C) layout."""
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = backward(_channels_last(dout), cache.batchnorm)
    dx = _channels_first(dx, cache.shape)
    ### END SOLUTION
    return dx, dgamma, dbeta


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of ``spatial_batchnorm_forward``, staged: batch norm's staged backward
    (``batchnorm_backward``) on the (N·H·W, C) layout.

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: the ``SpatialBatchNormCache`` from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (C,)
    - dbeta: gradient with respect to beta, shape (C,)
    """
    _check_spatial_batchnorm_backward("spatial_batchnorm_backward", dout, cache)
    return _spatial_batchnorm_backward(batchnorm_backward, dout, cache)


def spatial_batchnorm_backward_alt(dout, cache):
    """Backward pass of ``spatial_batchnorm_forward`` in closed form: batch norm's
    (``batchnorm_backward_alt``) on the (N·H·W, C) layout, each sum over the M = N·H·W values
    of a channel::

        dx = gamma * inv_std * (dout - (sum(dout) + xhat * sum(dout * xhat)) / M)

    Train mode runs on the rows of an image, (N, H·W·C) in the channels-last layout of the
    forward's cache, with each channel's factor repeated at every position: numpy then loops
    over rows of H·W·C values instead of C, and the sums are BLAS products with ones.

    Inputs and returns as ``spatial_batchnorm_backward``.
    """
    layer = "spatial_batchnorm_backward_alt"
    _check_spatial_batchnorm_backward(layer, dout, cache)
    ### BEGIN SOLUTION
    if cache.batchnorm.mode == "test":
        return _spatial_batchnorm_backward(batchnorm_backward_alt, dout, cache)
    N, C, H, W = cache.shape
    M = N * H * W
    gamma, inv_std = cache.batchnorm.gamma, cache.batchnorm.inv_std

    def per_position(per_channel):  # (C,) -> (H·W·C,): the factor of each value of an image
        return np.broadcast_to(per_channel, (H * W, C)).reshape(-1)

    def per_channel(per_value):  # (H·W·C,) -> (C,): summed over the positions
        return per_value.reshape(H * W, C).sum(axis=0)

    rows = np.empty((N, H, W, C), dout.dtype)  # dout channels last, turned into dx in place
    rows2d = rows.reshape(N, -1)
    xhat = cache.batchnorm.xhat.reshape(N, -1)
    # the images go through in blocks of about BLOCK_BYTES, so that a block's passes stay in
    # the cache: first the copy of dout and the sums, then, with dgamma and dbeta known, dx
    images = max(1, BLOCK_BYTES // rows2d[0].nbytes)
    blocks = [slice(start, start + images) for start in range(0, N, images)]
    ones, product = np.ones(images, dout.dtype), np.empty_like(rows2d[:images])
    out_sums, product_sums = np.zeros(H * W * C, dout.dtype), np.zeros(H * W * C, dout.dtype)
    for block in blocks:
        n = len(rows2d[block])
        np.copyto(rows[block], dout[block].transpose(0, 2, 3, 1))
        out_sums += ones[:n] @ rows2d[block]
        np.multiply(rows2d[block], xhat[block], out=product[:n])  # dout * xhat
        product_sums += ones[:n] @ product[:n]
    dbeta, dgamma = per_channel(out_sums), per_channel(product_sums)
    # dx = gamma * inv_std * dout - (xhat * dgamma + dbeta) * gamma * inv_std / M
    scale = gamma * inv_std
    factor, shift, scale = (per_position(a) for a in (dgamma * scale / M, dbeta * scale / M, scale))
    for block in blocks:
        n = len(rows2d[block])
        np.multiply(xhat[block], factor, out=product[:n])
        product[:n] += shift
        rows2d[block] *= scale
        rows2d[block] -= product[:n]
    return _channels_first(rows2d.reshape(M, C), cache.shape), dgamma, dbeta
    ### END SOLUTION


# --------------------------------------------------------------------------------------------
# Group norm
# --------------------------------------------------------------------------------------------


class GroupNormCache(NamedTuple):
    """What the group-norm backward passes need from the forward pass."""

    G: int  # number of groups
    xc: np.ndarray  # centred input, seen as (N, G, C/G, H, W)
    xhat: np.ndarray  # normalised input, (N, C, H, W)
    inv_std: np.ndarray  # inverse std of each example and group, (N, G, 1, 1, 1)
    gamma: np.ndarray  # scale, (1, C, 1, 1)


def _check_groups(layer: str, x, G) -> None:
    if not isinstance(G, numbers.Integral) or isinstance(G, bool):
        raise TypeError(f"{layer}: G must be an integer number of groups, got {type(G).__name__}")
    C = x.shape[1]
    if G < 1 or C % G != 0:
        raise ValueError(
            f"{layer}: G must be a positive divisor of the number of channels C = {C} "
            f"(each group gets C / G channels), got G = {G}"
        )


def _grouped(x, G):
    """(N, C, H, W) -> (N, G, C/G, H, W): the channels split into G groups."""
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    return x.reshape(N, G, C // G, H, W)
    ### END SOLUTION


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
    - cache: a ``GroupNormCache`` for the backward pass
    """
    layer = "spatial_groupnorm_forward"
    _check_images(layer, x, gamma, beta, lambda C: (1, C, 1, 1))
    _check_groups(layer, x, G)
    eps = check_norm_param(layer, "gn_param", gn_param, symbolic=x.dtype == object)
    ### BEGIN SOLUTION
    _, xc, _, inv_std, xhat = normalise(_grouped(x, G), eps, axes=GROUP_AXES)
    xhat = xhat.reshape(x.shape)
    out = xhat * gamma
    out += beta
    ### END SOLUTION
    return out, GroupNormCache(G=G, xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma)


def _check_groupnorm_backward(layer: str, dout, cache) -> None:
    if not isinstance(cache, GroupNormCache):
        raise TypeError(
            f"{layer}: cache must be the GroupNormCache returned by spatial_groupnorm_forward"
        )
    _check_dout(layer, dout, cache.xhat.shape)


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of ``spatial_groupnorm_forward``, staged: one block per node of the
    computation graph, from the output back to the input.

    Inputs:
    - dout: upstream gradient of shape (N, C, H, W)
    - cache: the ``GroupNormCache`` from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, C, H, W)
    - dgamma: gradient with respect to gamma, shape (1, C, 1, 1)
    - dbeta: gradient with respect to beta, shape (1, C, 1, 1)
    """
    _check_groupnorm_backward("spatial_groupnorm_backward", dout, cache)
    ### BEGIN SOLUTION
    # out = gamma * xhat + beta: d out/d xhat = gamma
    dxhat = dout * cache.gamma
    # from xhat back to x, the statistics taken over each group's channels and positions
    dx = normalise_backward(_grouped(dxhat, cache.G), cache.xc, cache.inv_std, GROUP_AXES)
    dx = dx.reshape(dout.shape)
    # out = gamma * xhat + beta: d out/d gamma = xhat and d out/d beta = 1, summed over the
    # batch and the positions (gamma and beta belong to a channel)
    dgamma = (dout * cache.xhat).sum(axis=(0, 2, 3), keepdims=True)
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
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
    N, C, H, W = dout.shape
    G = cache.G
    grouped = (N, G, C // G, H * W)  # each group's channels, each with its H·W positions
    dx, dgamma, dbeta = normalise_backward_alt(
        dout.reshape(grouped), cache.gamma.reshape(G, C // G), cache.xhat.reshape(grouped),
        cache.inv_std.reshape(N, G, 1, 1),
    )  # fmt: skip
    per_channel = cache.gamma.shape
    return dx.reshape(dout.shape), dgamma.reshape(per_channel), dbeta.reshape(per_channel)
    ### END SOLUTION
