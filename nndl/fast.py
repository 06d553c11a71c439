"""The fast kernels: the normalization layers' forward and closed-form backward passes written
for speed (in place, over cache-sized blocks, sums as BLAS products), beside the clear reference
code that students write and the book prints (``nndl.normalization``, ``nndl.batchnorm``,
``nndl.layernorm``, ``nndl.spatial``).

Each kernel takes the arguments of the reference function of the same name, checks them the
same way and returns the same values (and the same cache) to round-off: the tests hold them to
the reference with the reference's witnesses (the derived closed forms to round-off, the code on
sympy symbols exactly, numerical gradients). The network (``FullyConnectedNet``, through the
table of layers, ``nndl.table``) and the benchmarks use them.

In a student copy (``nndl lab student``) this module is the student's own reference functions
under these names: the kernels would give the answers away.
"""

from __future__ import annotations

import numpy as np

from nndl.batchnorm import BATCH_AXIS, _check_batchnorm_backward, _check_batchnorm_inputs
from nndl.layernorm import _check_layernorm_backward
from nndl.normalization import NormalizationCache, normalization_forward
from nndl.spatial import _check_groupnorm_backward, _check_spatial_batchnorm_backward

BLOCK_BYTES = 1 << 18  # the blocked kernels run over blocks of about 256 KiB, cache-resident

# --------------------------------------------------------------------------------------------
# Batch norm
# --------------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, bn_param):
    """``nndl.batchnorm.batchnorm_forward``, with fewer passes over x and fewer temporaries in
    train mode: the mean as a sum (x.mean costs an extra Python call, noticeable at small N, D),
    the variance as an einsum (no (N, D) square), the output scaled and shifted in place."""
    gamma, beta, mode, eps, momentum = _check_batchnorm_inputs(x, gamma, beta, bn_param)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    if mode == "train":
        mu = x.sum(axis=0, keepdims=True) / N
        xc = x - mu
        var = np.einsum("nd,nd->d", xc, xc)[None] / N
        inv_std = (var + eps) ** -0.5
        xhat = xc * inv_std
        out = xhat * gamma
        out += beta
        cache = NormalizationCache("train", BATCH_AXIS, mu, xc, var, inv_std, xhat, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu[0]
        running_var = momentum * running_var + (1 - momentum) * var[0]
    else:
        running = (running_mean, running_var)
        out, cache = normalization_forward(x, gamma, beta, eps, BATCH_AXIS, running)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward_alt(dout, cache):
    """``nndl.batchnorm.batchnorm_backward_alt`` allocating one (N, D) array, the result::

        dx = gamma * inv_std * (dout - (dbeta + xhat * dgamma) / N)

    built in place, with dgamma = sum(dout * xhat) as an einsum (no product array)."""
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    xhat, inv_std, gamma = cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    if cache.mode == "test":
        return dout * (gamma * inv_std), dgamma, dbeta
    dx = xhat * (dgamma / N)
    dx += dbeta / N
    np.subtract(dout, dx, out=dx)
    dx *= gamma * inv_std
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Layer norm and group norm: one blocked closed form
# --------------------------------------------------------------------------------------------


def _channel_sums(a):
    """Sums of ``a`` (rows, G, C, S) over the S positions of each channel, as (rows, G·C): one
    BLAS product with a vector of ones (for S = 1, as in layer norm, ``a`` itself)."""
    rows, G, C, S = a.shape
    if S == 1:
        return a.reshape(rows, G * C)
    return (a.reshape(-1, S) @ np.ones(S, a.dtype)).reshape(rows, G * C)


def _channel_dots(a, b, work):
    """Sums of ``a * b`` (rows, G, C, S) over the S positions of each channel, as (rows, G·C):
    an einsum, which makes no product array (for S = 1, as in layer norm, the product itself,
    made in ``work``)."""
    rows, G, C, S = a.shape
    if S == 1:
        return np.multiply(a, b, out=work).reshape(rows, G * C)
    return np.einsum("ks,ks->k", a.reshape(-1, S), b.reshape(-1, S)).reshape(rows, G * C)


def _by_group(gamma):
    """(G, C) -> (G·C, G): gamma as a block-diagonal matrix, so that ``sums @ _by_group(gamma)``
    is the sum over each group's channels of ``gamma * sums``, one BLAS product."""
    G, C = gamma.shape
    blocks = np.zeros((G, C, G), gamma.dtype)
    blocks[np.arange(G), :, np.arange(G)] = gamma
    return blocks.reshape(G * C, G)


def grouped_backward_alt(dout, gamma, xhat, inv_std):
    """The closed-form backward of ``gamma * xhat + beta`` (derived in ``derivations/``), for
    arrays laid out as (N, G, C, S): each of the N·G rows -- an example's group of C channels
    with S positions each -- has its own mean and variance over its K = C·S values, and
    ``gamma``, of shape (G, C), scales channel c of group g at every position::

        dx     = inv_std * (dxhat - (sum(dxhat) + xhat * sum(dxhat * xhat)) / K)
        dxhat  = gamma * dout
        dgamma = sum over n and s of dout * xhat,   dbeta = sum over n and s of dout

    with the sums in dx over the K values of a row. Layer norm is G = 1, C = D, S = 1; group
    norm has C/G channels of H·W positions in each group. ``inv_std`` has shape (N, G, 1, 1).
    Returns dx (N, G, C, S) and dgamma, dbeta (G, C).

    The sums over a channel's S positions are a BLAS product with ones for dout
    (``_channel_sums``) and an einsum, which makes no product array, for dout * xhat
    (``_channel_dots``); those over the batch are BLAS products with ones, and those over a
    group's channels with gamma (``_by_group``). The examples go through in blocks of about
    ``BLOCK_BYTES``, so that a block's passes stay in the cache: the sums, then dx as
    ``inv_std * gamma * dout - xhat * (inv_std * sum(dxhat * xhat) / K) - inv_std *
    sum(dxhat) / K`` in four passes (five for layer norm, whose ``inv_std * gamma`` is as large
    as dx)."""
    N, G, C, S = dout.shape
    K = C * S
    rows = max(1, BLOCK_BYTES // (dout.itemsize * G * K))
    by_group, ones = _by_group(gamma), np.ones(rows, dout.dtype)
    dgamma, dbeta = np.zeros(G * C, dout.dtype), np.zeros(G * C, dout.dtype)
    # inv_std / K, and for S > 1 inv_std * gamma (one per channel of each example), taken once
    row_factor = inv_std.reshape(N, G) / K
    scale = inv_std * gamma[:, :, None] if S > 1 else None
    ones_row = np.ones((C, S), dout.dtype)  # one example's group
    dx, product = np.empty_like(dout), np.empty_like(dout[:rows])
    for start in range(0, N, rows):
        block = slice(start, min(N, start + rows))
        g_out, g_xhat, g_dx = dout[block], xhat[block], dx[block]
        g_ones, g_product = ones[: len(g_out)], product[: len(g_out)]
        out_sums, product_sums = _channel_sums(g_out), _channel_dots(g_out, g_xhat, g_product)
        dbeta += g_ones @ out_sums
        dgamma += g_ones @ product_sums
        # inv_std / K times sum(dxhat) and sum(dxhat * xhat), one per row: (rows, G, 1, 1)
        shift = ((out_sums @ by_group) * row_factor[block]).reshape(-1, G, 1, 1)
        factor = ((product_sums @ by_group) * row_factor[block]).reshape(-1, G, 1, 1)
        if S == 1:
            # layer norm: inv_std * gamma is built in dx; numpy spreads a factor over a row of
            # D values (an outer product) and multiplies two full arrays faster than it
            # broadcasts a column
            np.multiply(inv_std[block], gamma[:, :, None], out=g_dx)
            g_dx *= g_out
            np.multiply(factor, ones_row, out=g_product)
            g_product *= g_xhat
        else:
            # one factor per channel of each example over its S positions, one per row over
            # its K values: einsum is faster here than a broadcast product
            per_channel = g_out.reshape(-1, S), scale[block].reshape(-1)
            np.einsum("ks,k->ks", *per_channel, out=g_dx.reshape(-1, S))
            per_row = g_xhat.reshape(-1, K), factor.reshape(-1)
            np.einsum("rk,r->rk", *per_row, out=g_product.reshape(-1, K))
        g_dx -= g_product
        g_dx -= shift
    return dx, dgamma.reshape(G, C), dbeta.reshape(G, C)


def layernorm_backward_alt(dout, cache):
    """``nndl.layernorm.layernorm_backward_alt`` as ``grouped_backward_alt`` with one group of
    D channels of one position per example."""
    _check_layernorm_backward("layernorm_backward_alt", dout, cache)
    N, D = dout.shape
    dx, dgamma, dbeta = grouped_backward_alt(
        dout.reshape(N, 1, D, 1), cache.gamma.reshape(1, D), cache.xhat.reshape(N, 1, D, 1),
        cache.inv_std.reshape(N, 1, 1, 1),
    )  # fmt: skip
    return dx.reshape(N, D), dgamma.reshape(D), dbeta.reshape(D)


def spatial_groupnorm_backward_alt(dout, cache):
    """``nndl.spatial.spatial_groupnorm_backward_alt`` as ``grouped_backward_alt`` with the
    C/G channels of each group and their H·W positions."""
    _check_groupnorm_backward("spatial_groupnorm_backward_alt", dout, cache)
    N, G, K, H, W = cache.xhat.shape
    grouped = (N, G, K, H * W)  # each group's channels, each with its H·W positions
    dx, dgamma, dbeta = grouped_backward_alt(
        dout.reshape(grouped), cache.gamma.reshape(G, K), cache.xhat.reshape(grouped),
        cache.inv_std.reshape(N, G, 1, 1),
    )  # fmt: skip
    per_channel = (1, G * K, 1, 1)
    return dx.reshape(dout.shape), dgamma.reshape(per_channel), dbeta.reshape(per_channel)


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------


def spatial_batchnorm_backward_alt(dout, cache):
    """``nndl.spatial.spatial_batchnorm_backward_alt``: batch norm's closed form on the
    (N·H·W, C) layout, each sum over the M = N·H·W values of a channel::

        dx = gamma * inv_std * (dout - (sum(dout) + xhat * sum(dout * xhat)) / M)

    Train mode runs on the rows of an image, (N, H·W·C) in the channels-last layout of the
    forward's cache, with each channel's factor repeated at every position: numpy then loops
    over rows of H·W·C values instead of C, and the sums are BLAS products with ones. The images
    go through in blocks of about ``BLOCK_BYTES``, twice: the copy of dout and the sums, then dx.
    """
    _check_spatial_batchnorm_backward("spatial_batchnorm_backward_alt", dout, cache)
    N, C, H, W = cache.shape
    if cache.batchnorm.mode == "test":
        rows = dout.transpose(0, 2, 3, 1).reshape(-1, C)
        dx, dgamma, dbeta = batchnorm_backward_alt(rows, cache.batchnorm)
        return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
    M = N * H * W
    gamma, inv_std = cache.batchnorm.gamma, cache.batchnorm.inv_std.reshape(C)

    def per_position(per_channel):  # (C,) -> (H·W·C,): the factor of each value of an image
        return np.broadcast_to(per_channel, (H * W, C)).reshape(-1)

    def per_channel(per_value):  # (H·W·C,) -> (C,): summed over the positions
        return per_value.reshape(H * W, C).sum(axis=0)

    rows = np.empty((N, H, W, C), dout.dtype)  # dout channels last, turned into dx in place
    rows2d = rows.reshape(N, -1)
    xhat = cache.batchnorm.xhat.reshape(N, -1)
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
    dx = rows2d.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta
