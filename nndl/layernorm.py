"""Layer normalization: ``layernorm_forward`` and its two backward passes, staged (node by node)
and closed form, plus the normalisation over any axes that group norm (``nndl.spatial``) reuses.

Batch norm's graph with the axis changed: each example (row) of x, shape (N, D), is normalised
over its D features. The nodes have batch norm's names, used here, in ``derivations/layernorm.py``
and in the book::

    mu      = mean(x, axis=1)          mean of each example, (N, 1)
    xc      = x - mu                   centred input
    var     = mean(xc ** 2, axis=1)    variance of each example (biased), (N, 1)
    inv_std = (var + eps) ** -1/2      inverse std, (N, 1)
    xhat    = xc * inv_std             normalised input
    out     = gamma * xhat + beta      output, gamma and beta of shape (D,)

There are no running averages: the layer computes the same thing in train and test mode.

The functions only do arithmetic that NumPy object arrays support too, so the same code runs on
arrays of sympy symbols.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from nndl.validation import check_array, check_mode, check_number, check_param_dict, check_shape

MODES = ("train", "test")


class LayerNormCache(NamedTuple):
    """What the layer-norm backward passes need from the forward pass."""

    xc: np.ndarray  # centred input, (N, D)
    xhat: np.ndarray  # normalised input, (N, D)
    inv_std: np.ndarray  # inverse standard deviation of each example, (N, 1)
    gamma: np.ndarray  # scale, (D,)


NORM_PARAM_KEYS = frozenset({"eps", "mode"})


def check_norm_param(layer: str, name: str, param, symbolic: bool = False):
    """Return ``eps`` from ``param`` (the ``ln_param`` / ``gn_param`` dict), after checking its
    keys with ``nndl.validation``'s rules, as batch norm checks ``bn_param``: ``eps`` (a finite
    number > 0, default 1e-5) and ``mode`` ('train' or 'test'; accepted so that a network can
    set the mode of every normalization layer alike, and ignored, since these layers are the
    same in both modes). Any other key is a mistake, e.g. a misspelt ``eps``. In a
    ``symbolic`` run (x an object array) eps may be a symbol."""
    check_param_dict(layer, name, param, NORM_PARAM_KEYS)
    check_mode(layer, f"{name}['mode']", param.get("mode", "train"), MODES)
    eps = param.get("eps", 1e-5)
    return check_number(f"{name}['eps']", layer, eps, 0, np.inf, "()", symbolic)


def normalise(x, eps, axes):
    """The nodes from the input to the normalised input -- mean, centred input, variance,
    inverse std and normalised input -- with the statistics taken over ``axes`` of ``x`` (kept
    as axes of size 1, so that they broadcast against x)."""
    ### BEGIN SOLUTION
    count = math.prod(x.shape[axis] for axis in axes)
    mu = x.sum(axis=axes, keepdims=True) / count
    xc = x - mu
    var = (xc * xc).sum(axis=axes, keepdims=True) / count
    inv_std = (var + eps) ** -0.5
    xhat = xc * inv_std
    ### END SOLUTION
    return mu, xc, var, inv_std, xhat


def normalise_backward(dxhat, xc, inv_std, axes):
    """The staged backward from the normalised input to the input of ``normalise``: one block
    per node, from xhat back to x, with the statistics taken over ``axes``. Returns dx."""
    ### BEGIN SOLUTION
    count = math.prod(xc.shape[axis] for axis in axes)
    # xhat = xc * inv_std: d xhat/d inv_std = xc, summed over the values that share inv_std
    dinv_std = (dxhat * xc).sum(axis=axes, keepdims=True)
    # inv_std = (var + eps) ** -1/2: d inv_std/d var = -1/2 (var + eps) ** -3/2
    dvar = -0.5 * inv_std**3 * dinv_std
    # xc reaches the output along two paths: through xhat (d xhat/d xc = inv_std) and through
    # var = mean(xc ** 2) (d var/d xc = 2 xc / count)
    dxc = dxhat * inv_std + (2 * xc / count) * dvar
    # xc = x - mu: d xc/d mu = -1
    dmu = -dxc.sum(axis=axes, keepdims=True)
    # x reaches xc directly (d xc/d x = 1) and through mu = mean(x) (d mu/d x = 1 / count)
    dx = dxc + dmu / count
    ### END SOLUTION
    return dx


BLOCK_BYTES = 1 << 18  # the closed form runs over blocks of about 256 KiB, cache-resident


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


def normalise_backward_alt(dout, gamma, xhat, inv_std):
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
    ### BEGIN SOLUTION
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
    ### END SOLUTION


def _check_layernorm_inputs(x, gamma, beta, ln_param) -> float:
    layer = "layernorm_forward"
    for name, a in (("x", x), ("gamma", gamma), ("beta", beta)):
        check_array(name, layer, a)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D) with D >= 1, got {x.shape}")
    D = x.shape[1]
    check_shape("gamma", layer, gamma, (D,))
    check_shape("beta", layer, beta, (D,))
    return check_norm_param(layer, "ln_param", ln_param, symbolic=x.dtype == object)


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
    - cache: a ``LayerNormCache`` for the backward pass
    """
    eps = _check_layernorm_inputs(x, gamma, beta, ln_param)
    ### BEGIN SOLUTION
    _, xc, _, inv_std, xhat = normalise(x, eps, axes=(1,))
    out = xhat * gamma
    out += beta
    ### END SOLUTION
    return out, LayerNormCache(xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma)


def _check_layernorm_backward(name: str, dout, cache) -> None:
    if not isinstance(cache, LayerNormCache):
        raise TypeError(f"{name}: cache must be the LayerNormCache returned by layernorm_forward")
    check_array("dout", name, dout)
    check_shape("dout", name, dout, cache.xhat.shape)


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``, staged: one block per node of the computation
    graph, from the output back to the input, each applying that node's local derivative.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: the ``LayerNormCache`` from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    _check_layernorm_backward("layernorm_backward", dout, cache)
    ### BEGIN SOLUTION
    # out = gamma * xhat + beta: d out/d xhat = gamma
    dxhat = dout * cache.gamma
    # from xhat back to x, the statistics taken over the features (axis 1)
    dx = normalise_backward(dxhat, cache.xc, cache.inv_std, axes=(1,))
    # out = gamma * xhat + beta: d out/d gamma = xhat and d out/d beta = 1, summed over the batch
    dgamma = (dout * cache.xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
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
    N, D = dout.shape
    dx, dgamma, dbeta = normalise_backward_alt(
        dout.reshape(N, 1, D, 1), cache.gamma.reshape(1, D), cache.xhat.reshape(N, 1, D, 1),
        cache.inv_std.reshape(N, 1, 1, 1),
    )  # fmt: skip
    return dx.reshape(N, D), dgamma.reshape(D), dbeta.reshape(D)
    ### END SOLUTION
