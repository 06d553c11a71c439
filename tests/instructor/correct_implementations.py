"""A catalogue of correct implementations written differently from the solution: other formulas
and other NumPy idioms, the way students write them. Each must pass ``nndl lab check`` and every
student-facing test of its task (``tests/instructor/test_catalogues.py`` holds them to it): a
check that rejects correct code is worse than no check.

Instructor-only: every entry is a solution.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nndl.batchnorm import _check_batchnorm_backward, batchnorm_forward
from nndl.fc_net import FullyConnectedNet
from nndl.layernorm import (
    _check_layernorm_backward,
    _check_layernorm_inputs,
    check_norm_param,
)
from nndl.layers import (
    _check_scores,
    _dropout_rng,
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    softmax_loss,
)
from nndl.normalization import NormalizationCache
from nndl.optim import _like, _with_defaults
from nndl.spatial import (
    GROUP_AXES,
    SpatialBatchNormCache,
    _check_dout,
    _check_groups,
    _check_images,
    spatial_batchnorm_forward,
)
from nndl.validation import check_array, check_shape
from tests.instructor.entries import entries
from tests.instructor.wrong_implementations import Substitute

# --------------------------------------------------------------------------------------------
# Batch-norm forward
# --------------------------------------------------------------------------------------------


def _core(x, gamma, beta, axes, running, mu, var, inv_std, xc):
    """The core's output and cache from its statistics, as each entry below computes them."""
    xhat = xc * inv_std
    mode = "train" if running is None else "test"
    return gamma * xhat + beta, NormalizationCache(mode, axes, mu, xc, var, inv_std, xhat, gamma)


def statistics_with_mean_var_and_sqrt(x, gamma, beta, eps, axes, running=None):
    mu, var = (x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True))
    if running is not None:
        mu, var = running
    return _core(x, gamma, beta, axes, running, mu, var, 1 / np.sqrt(var + eps), x - mu)


def statistics_with_keepdims_and_square(x, gamma, beta, eps, axes, running=None):
    mu = np.mean(x, axis=axes, keepdims=True) if running is None else running[0]
    xc = x - mu
    var = np.mean(np.square(xc), axis=axes, keepdims=True) if running is None else running[1]
    inv_std = np.reciprocal(np.sqrt(var + eps))
    return _core(x, gamma, beta, axes, running, mu, var, inv_std, xc)


def statistics_with_std_and_division(x, gamma, beta, eps, axes, running=None):
    mu = np.mean(x, axis=axes, keepdims=True) if running is None else running[0]
    var = x.std(axis=axes, keepdims=True) ** 2 if running is None else running[1]
    std = (var + eps) ** 0.5
    return _core(x, gamma, beta, axes, running, mu, var, 1.0 / std, x - mu)


def forward_dividing_by_the_std(x, gamma, beta, bn_param):
    """CS231n's usual forward: every mode divides x - mean by sqrt(var + eps)."""
    batchnorm_forward(x, gamma, beta, dict(bn_param))  # the input checks, outside the solution
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    if mode == "train":
        mean, var = np.mean(x, axis=0), np.var(x, axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    std = np.sqrt(var + eps)
    xc = x - mean
    xhat = xc / std
    cache = NormalizationCache(mode, (0,), mean, xc, var, 1 / std, xhat, gamma)
    return gamma * xhat + beta, cache


# --------------------------------------------------------------------------------------------
# Batch-norm backward
# --------------------------------------------------------------------------------------------


def staged_backward_as_in_the_cs231n_notes(dout, cache):
    """The staged pass with dmu's variance term written out (it is 0: xc sums to 0)."""
    _check_batchnorm_backward("batchnorm_backward", dout, cache)
    xc, xhat, inv_std, gamma = cache.xc, cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    dxhat = dout * gamma
    if cache.mode == "test":
        return dxhat * inv_std, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv_std**3
    dmu = np.sum(-dxhat * inv_std, axis=0) + dvar * np.mean(-2.0 * xc, axis=0)
    dx = dxhat * inv_std + dvar * 2.0 * xc / N + dmu / N
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


def closed_form_in_the_staged_slot(dout, cache):
    """A student may well write the closed form here: it is the same gradient."""
    _check_batchnorm_backward("batchnorm_backward", dout, cache)
    xhat, inv_std, gamma = cache.xhat, cache.inv_std, cache.gamma
    dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
    if cache.mode == "test":
        return gamma * inv_std * dout, dgamma, dbeta
    return gamma * inv_std * (dout - dout.mean(axis=0) - xhat * dgamma / len(dout)), dgamma, dbeta


def closed_form_with_the_centred_input(dout, cache):
    """dx through xc = x - mean instead of xhat: xhat = xc * inv_std."""
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    xc, inv_std, gamma = cache.xc, cache.inv_std, cache.gamma
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xc * inv_std, axis=0)
    if cache.mode == "test":
        return dout * gamma * inv_std, dgamma, dbeta
    dx = (gamma * inv_std / N) * (N * dout - dbeta - xc * inv_std**2 * np.sum(dout * xc, axis=0))
    return dx, dgamma, dbeta


def closed_form_with_means_and_einsum(dout, cache):
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    xhat, inv_std, gamma = cache.xhat, cache.inv_std, cache.gamma
    dbeta = np.einsum("nd->d", dout)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    if cache.mode == "test":
        return np.multiply(dout, gamma * inv_std), dgamma, dbeta
    mean_dout = np.mean(dout, axis=0, keepdims=True)
    mean_dout_xhat = np.mean(dout * xhat, axis=0, keepdims=True)
    return gamma * inv_std * (dout - mean_dout - xhat * mean_dout_xhat), dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Affine, ReLU, dropout
# --------------------------------------------------------------------------------------------


def affine_forward_with_dot(x, w, b):
    affine_forward(x, w, b)  # the input checks
    return np.dot(np.reshape(x, (len(x), -1)), w) + b, (x, w)


def affine_backward_with_einsum(dout, cache):
    x, w = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
    return dx, np.einsum("nd,nm->dm", x2, dout), np.einsum("nm->m", dout)


def relu_forward_by_multiplying_with_a_comparison(x):
    check_array("x", "relu_forward", x)
    return x * (x > 0), x


def relu_backward_by_multiplying_with_a_comparison(dout, cache):
    check_shape("dout", "relu_backward", dout, cache.shape)
    return dout * (cache > 0)


def relu_backward_by_masked_assignment(dout, cache):
    check_shape("dout", "relu_backward", dout, cache.shape)
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx


def dropout_forward_with_where(x, dropout_param):
    if dropout_param.get("mode", "train") != "train":
        return dropout_forward(x, dropout_param)  # test mode, or the error for another mode
    dropout_forward(x, {**dropout_param, "mode": "test"})  # the input checks
    p = dropout_param["p"]
    keep = _dropout_rng(dropout_param).random(x.shape) >= p
    mask = np.where(keep, 1 / (1 - p), 0).astype(x.dtype)
    return np.where(keep, x * mask, 0).astype(x.dtype), (dropout_param, mask)


def dropout_backward_with_multiply(dout, cache):
    _, mask = cache
    if mask is None:
        return dropout_backward(dout, cache)
    return np.multiply(dout, mask)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def softmax_with_one_hot_labels(x, y):
    y = _check_scores("softmax_loss", x, y)
    N, C = x.shape
    onehot = np.eye(C, dtype=x.dtype)[y]
    shifted = x - np.max(x, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = np.mean(np.sum(onehot * (lse - shifted), axis=1))
    return loss, (np.exp(shifted - lse) - onehot) / N


def svm_with_one_hot_labels(x, y):
    y = _check_scores("svm_loss", x, y)
    N, C = x.shape
    onehot = np.eye(C, dtype=bool)[y]
    correct = np.sum(np.where(onehot, x, 0), axis=1, keepdims=True)
    margins = np.where(onehot, 0, np.maximum(x - correct + 1, 0))
    positive = (margins > 0) * 1.0
    dx = (positive - onehot * positive.sum(axis=1, keepdims=True)) / N
    return np.sum(margins) / N, dx.astype(x.dtype)


# --------------------------------------------------------------------------------------------
# The network and the update rules
# --------------------------------------------------------------------------------------------


class NetWithTheL2TermByNorm(FullyConnectedNet):
    """The loss with the L2 term written as 0.5 * reg * ||W||^2 and added weight by weight."""

    def loss(self, X, y=None):
        X, y = self.check_loss_inputs(X, y)  # the input checks, outside the solution
        scores, (*layers, last) = self.forward_layers(X, "test" if y is None else "train")
        if y is None:
            return scores
        L = self.num_layers
        loss, dout = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last)
        for i, layer in reversed(list(enumerate(layers, start=1))):
            if self.use_dropout:
                dout = dropout_backward(dout, layer.dropout_cache)
            dout = relu_backward(dout, layer.relu_cache)
            if self.normalization == "batchnorm":
                from nndl.batchnorm import batchnorm_backward

                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(
                    dout, layer.bn_cache
                )
            elif self.normalization == "layernorm":
                from nndl.layernorm import layernorm_backward

                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(
                    dout, layer.bn_cache
                )
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, layer.affine_cache)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.linalg.norm(W) ** 2
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads


def momentum_with_get(w, dw, config=None):
    config, dw = _with_defaults("sgd_momentum", config, w, dw)
    config["velocity"] = config.get("momentum") * config["velocity"] - config["learning_rate"] * dw
    return _like(w + config["velocity"], w), config


def rmsprop_with_square_and_sqrt(w, dw, config=None):
    config, dw = _with_defaults("rmsprop", config, w, dw)
    rho = config["decay_rate"]
    config["cache"] = rho * config["cache"] + (1 - rho) * np.square(dw)
    step = config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return _like(w - step, w), config


def adam_with_new_moment_arrays_and_a_square_root_by_power(w, dw, config=None):
    config, dw = _with_defaults("adam", config, w, dw)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** config["t"])
    v_hat = config["v"] / (1 - b2 ** config["t"])
    next_w = w - config["learning_rate"] * m_hat / (v_hat**0.5 + config["epsilon"])
    return _like(next_w, w), config


# --------------------------------------------------------------------------------------------
# Layer norm
# --------------------------------------------------------------------------------------------


def layernorm_forward_on_the_transpose(x, gamma, beta, ln_param):
    """CS231n's trick: batch norm's statistics (over axis 0) of x.T are layer norm's."""
    gamma, beta, eps = _check_layernorm_inputs(x, gamma, beta, ln_param)
    xt = x.T
    mean = np.mean(xt, axis=0)
    xct = xt - mean
    var = np.mean(xct**2, axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (xct * inv_std).T
    column = (mean[:, None], xct.T, var[:, None], inv_std[:, None])
    cache = NormalizationCache("train", (1,), *column, xhat, gamma)
    return gamma * xhat + beta, cache


class FlatInvStd(NamedTuple):
    """A cache of the entry's own, with inv_std of shape (N,)."""

    xc: Any
    xhat: Any
    inv_std: Any
    gamma: Any


def layernorm_with_einsum_and_a_flat_inv_std(x, gamma, beta, ln_param):
    """The statistics as einsum sums; the cache holds inv_std of shape (N,), which the two
    backward passes below expect."""
    gamma, beta, eps = _check_layernorm_inputs(x, gamma, beta, ln_param)
    D = x.shape[1]
    xc = x - np.einsum("nd->n", x)[:, None] / D
    inv_std = (np.einsum("nd,nd->n", xc, xc) / D + eps) ** -0.5
    xhat = xc * inv_std[:, None]
    return xhat * gamma + beta, FlatInvStd(xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma)


def layernorm_staged_backward_with_a_flat_inv_std(dout, cache):
    _check_layernorm_backward("layernorm_backward", dout, cache)
    D = dout.shape[1]
    inv_std = cache.inv_std[:, None]
    dxhat = dout * cache.gamma
    dvar = -0.5 * inv_std**3 * np.sum(dxhat * cache.xc, axis=1, keepdims=True)
    dxc = dxhat * inv_std + 2 * cache.xc * dvar / D
    dx = dxc - np.sum(dxc, axis=1, keepdims=True) / D
    return dx, np.sum(dout * cache.xhat, axis=0), np.sum(dout, axis=0)


def layernorm_closed_form_with_einsum_and_a_flat_inv_std(dout, cache):
    _check_layernorm_backward("layernorm_backward_alt", dout, cache)
    D = dout.shape[1]
    dxhat = dout * cache.gamma
    sums = (
        np.einsum("nd->n", dxhat)[:, None]
        + cache.xhat * np.einsum("nd,nd->n", dxhat, cache.xhat)[:, None]
    )
    dx = cache.inv_std[:, None] / D * (D * dxhat - sums)
    return dx, np.einsum("nd,nd->d", dout, cache.xhat), np.einsum("nd->d", dout)


def layernorm_closed_form_as_batch_norms_on_the_transpose(dout, cache):
    """CS231n's trick again: batch norm's closed form on the transposed arrays."""
    _check_layernorm_backward("layernorm_backward_alt", dout, cache)
    dxhat, xhat = (dout * cache.gamma).T, cache.xhat.T  # (D, N)
    D = dxhat.shape[0]
    sums = dxhat.sum(axis=0) + xhat * (dxhat * xhat).sum(axis=0)
    dx = (np.reshape(cache.inv_std, (1, -1)) / D * (D * dxhat - sums)).T
    return dx, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------


def spatial_batchnorm_forward_with_moveaxis(x, gamma, beta, bn_param):
    _check_images("spatial_batchnorm_forward", x, gamma, beta, lambda C: (C,))
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(np.moveaxis(x, 1, -1).reshape(-1, C), gamma, beta, bn_param)
    out = np.moveaxis(out.reshape(N, H, W, C), -1, 1)
    return out, SpatialBatchNormCache(batchnorm=cache, shape=x.shape)


def spatial_batchnorm_on_channel_rows(x, gamma, beta, bn_param):
    """Each channel a row of (C, N·H·W), normalised along it; the cache's ``batchnorm`` is a
    ``ChannelRows`` cache in that layout (xc and xhat of shape (C, N·H·W), inv_std and gamma (C,)),
    read by the two backward passes below."""
    spatial_batchnorm_forward(x, gamma, beta, dict(bn_param))  # the input checks
    N, C, H, W = x.shape
    mode, eps = bn_param.get("mode", "train"), bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(C, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(C, dtype=x.dtype))
    rows = x.transpose(1, 0, 2, 3).reshape(C, -1)
    if mode == "train":
        mean, var = rows.mean(axis=1), rows.var(axis=1)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    inv_std = 1 / np.sqrt(var + eps)
    xc = rows - mean[:, None]
    xhat = xc * inv_std[:, None]
    out = (gamma[:, None] * xhat + beta[:, None]).reshape(C, N, H, W).transpose(1, 0, 2, 3)
    rows_cache = ChannelRows(mode=mode, xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma)
    return out, SpatialBatchNormCache(batchnorm=rows_cache, shape=x.shape)


class ChannelRows(NamedTuple):
    """The entry's own cache of the (C, N·H·W) rows."""

    mode: str
    xc: Any
    xhat: Any
    inv_std: Any
    gamma: Any


def _channel_rows(dout, cache):
    """dout as (C, N·H·W), and the rows' cache."""
    _check_dout("spatial_batchnorm_backward", dout, cache, "spatial_batchnorm_forward", cache.shape)
    C = cache.shape[1]
    return dout.transpose(1, 0, 2, 3).reshape(C, -1), cache.batchnorm


def _images_from_rows(rows, shape):
    N, C, H, W = shape
    return rows.reshape(C, N, H, W).transpose(1, 0, 2, 3)


def spatial_batchnorm_staged_on_channel_rows(dout, cache):
    d, rows = _channel_rows(dout, cache)
    xc, xhat, inv_std, gamma = rows.xc, rows.xhat, rows.inv_std, rows.gamma
    M = d.shape[1]
    dxhat = d * gamma[:, None]
    dx = dxhat * inv_std[:, None]
    if rows.mode == "train":
        dvar = -0.5 * inv_std**3 * np.sum(dxhat * xc, axis=1)
        dxc = dx + 2 * xc * dvar[:, None] / M
        dx = dxc - np.sum(dxc, axis=1, keepdims=True) / M
    return _images_from_rows(dx, cache.shape), np.sum(d * xhat, axis=1), np.sum(d, axis=1)


def spatial_batchnorm_closed_form_on_channel_rows(dout, cache):
    d, rows = _channel_rows(dout, cache)
    xhat = rows.xhat
    dgamma, dbeta = np.einsum("cm,cm->c", d, xhat), np.einsum("cm->c", d)
    scale = (rows.gamma * rows.inv_std)[:, None]
    if rows.mode == "train":
        dx = scale * (d - dbeta[:, None] / d.shape[1] - xhat * dgamma[:, None] / d.shape[1])
    else:
        dx = scale * d
    return _images_from_rows(dx, cache.shape), dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Group norm
# --------------------------------------------------------------------------------------------


def _check_groupnorm_inputs(x, gamma, beta, G, gn_param):
    layer = "spatial_groupnorm_forward"
    _check_images(layer, x, gamma, beta, lambda C: (1, C, 1, 1))
    _check_groups(layer, x, G)
    return check_norm_param(layer, "gn_param", gn_param)


def groupnorm_forward_with_a_loop_over_groups(x, gamma, beta, G, gn_param):
    eps = _check_groupnorm_inputs(x, gamma, beta, G, gn_param)
    N, C, H, W = x.shape
    K = C // G
    xc, xhat = np.empty_like(x), np.empty_like(x)
    inv_std = np.empty((N, G, 1, 1, 1), dtype=x.dtype)
    for g in range(G):
        channels = slice(g * K, (g + 1) * K)
        part = x[:, channels]
        xc[:, channels] = part - part.mean(axis=(1, 2, 3), keepdims=True)
        inv = 1 / np.sqrt(np.mean(xc[:, channels] ** 2, axis=(1, 2, 3), keepdims=True) + eps)
        xhat[:, channels] = xc[:, channels] * inv
        inv_std[:, g] = inv
    grouped = (N, G, K, H, W)
    per_group = gamma.reshape(1, G, K, 1, 1)
    core = (None, xc.reshape(grouped), None, inv_std, xhat.reshape(grouped), per_group)
    cache = NormalizationCache("train", GROUP_AXES, *core)  # the layout of nndl's own cache
    return gamma * xhat + beta, cache


def groupnorm_staged_backward_with_a_loop_over_groups(dout, cache):
    """On nndl's own cache: the core's, on x seen as (N, G, C/G, H, W)."""
    N, C, H, W = dout.shape
    G = cache.xhat.shape[1]
    K = C // G
    M = K * H * W
    dx = np.empty_like(dout)
    dxhat = dout * cache.gamma.reshape(1, C, 1, 1)
    for g in range(G):
        channels = slice(g * K, (g + 1) * K)
        xc, inv_std = cache.xc[:, g], cache.inv_std[:, g]  # (N, K, H, W), (N, 1, 1, 1)
        dvar = -0.5 * inv_std**3 * np.sum(dxhat[:, channels] * xc, axis=(1, 2, 3), keepdims=True)
        dxc = dxhat[:, channels] * inv_std + 2 * xc * dvar / M
        dx[:, channels] = dxc - np.sum(dxc, axis=(1, 2, 3), keepdims=True) / M
    dgamma = np.sum(dout * cache.xhat.reshape(dout.shape), axis=(0, 2, 3), keepdims=True)
    return dx, dgamma, np.sum(dout, axis=(0, 2, 3), keepdims=True)


class FlatGroups(NamedTuple):
    """The entry's own cache: each group a row of (N, G, C/G·H·W)."""

    G: int
    xc: Any
    xhat: Any
    inv_std: Any
    gamma: Any


def groupnorm_with_flat_groups(x, gamma, beta, G, gn_param):
    """Each group as one row of (N, G, C/G·H·W); the cache holds xc as (N, C, H, W) and
    inv_std as (N, G), which the two backward passes below expect."""
    eps = _check_groupnorm_inputs(x, gamma, beta, G, gn_param)
    N = x.shape[0]
    rows = x.reshape(N, G, -1)
    xc = rows - rows.mean(axis=2, keepdims=True)
    inv_std = (np.mean(xc * xc, axis=2) + eps) ** -0.5
    xhat = (xc * inv_std[:, :, None]).reshape(x.shape)
    cache = FlatGroups(G=G, xc=xc.reshape(x.shape), xhat=xhat, inv_std=inv_std, gamma=gamma)
    return xhat * gamma + beta, cache


def groupnorm_staged_backward_with_flat_groups(dout, cache):
    N, C, H, W = dout.shape
    dxhat = (dout * cache.gamma).reshape(N, cache.G, -1)
    xc, inv_std = cache.xc.reshape(N, cache.G, -1), cache.inv_std[:, :, None]
    M = xc.shape[2]
    dvar = -0.5 * inv_std**3 * np.sum(dxhat * xc, axis=2, keepdims=True)
    dxc = dxhat * inv_std + 2 * xc * dvar / M
    dx = (dxc - np.sum(dxc, axis=2, keepdims=True) / M).reshape(dout.shape)
    dgamma = np.sum(dout * cache.xhat, axis=(0, 2, 3), keepdims=True)
    return dx, dgamma, np.sum(dout, axis=(0, 2, 3), keepdims=True)


def groupnorm_closed_form_with_einsum_and_flat_groups(dout, cache):
    N, C, H, W = dout.shape
    dxhat = (dout * cache.gamma).reshape(N, cache.G, -1)
    xhat = cache.xhat.reshape(N, cache.G, -1)
    M = xhat.shape[2]
    sums = (
        np.einsum("ngm->ng", dxhat)[:, :, None]
        + xhat * np.einsum("ngm,ngm->ng", dxhat, xhat)[:, :, None]
    )
    dx = (cache.inv_std[:, :, None] * (dxhat - sums / M)).reshape(dout.shape)
    dgamma = np.einsum("nchw,nchw->c", dout, cache.xhat).reshape(1, C, 1, 1)
    return dx, dgamma, np.einsum("nchw->c", dout).reshape(1, C, 1, 1)


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------

_CATALOGUE = tuple(
    Substitute(task, argument, implementation)
    for task, argument, implementation in (
        ("batchnorm_forward", "normalization_forward", statistics_with_mean_var_and_sqrt),
        ("batchnorm_forward", "normalization_forward", statistics_with_keepdims_and_square),
        ("batchnorm_forward", "normalization_forward", statistics_with_std_and_division),
        ("batchnorm_forward", "batchnorm_forward", forward_dividing_by_the_std),
        ("batchnorm_backward", "batchnorm_backward", staged_backward_as_in_the_cs231n_notes),
        ("batchnorm_backward", "batchnorm_backward", closed_form_in_the_staged_slot),
        ("batchnorm_backward_alt", "batchnorm_backward_alt", closed_form_with_the_centred_input),
        ("batchnorm_backward_alt", "batchnorm_backward_alt", closed_form_with_means_and_einsum),
        ("affine", "affine_forward", affine_forward_with_dot),
        ("affine", "affine_backward", affine_backward_with_einsum),
        ("relu", "relu_forward", relu_forward_by_multiplying_with_a_comparison),
        ("relu", "relu_backward", relu_backward_by_multiplying_with_a_comparison),
        ("relu", "relu_backward", relu_backward_by_masked_assignment),
        ("dropout", "dropout_forward", dropout_forward_with_where),
        ("dropout", "dropout_backward", dropout_backward_with_multiply),
        ("losses", "softmax_loss", softmax_with_one_hot_labels),
        ("losses", "svm_loss", svm_with_one_hot_labels),
        ("fc_net", "FullyConnectedNet", NetWithTheL2TermByNorm),
        ("optim", "sgd_momentum", momentum_with_get),
        ("optim", "rmsprop", rmsprop_with_square_and_sqrt),
        ("optim", "adam", adam_with_new_moment_arrays_and_a_square_root_by_power),
        ("layernorm", "layernorm_forward", layernorm_forward_on_the_transpose),
        (
            "layernorm",
            "layernorm_backward_alt",
            layernorm_closed_form_as_batch_norms_on_the_transpose,
        ),
        ("spatial_batchnorm", "spatial_batchnorm_forward", spatial_batchnorm_forward_with_moveaxis),
        (
            "spatial_groupnorm",
            "spatial_groupnorm_forward",
            groupnorm_forward_with_a_loop_over_groups,
        ),
        (
            "spatial_groupnorm",
            "spatial_groupnorm_backward",
            groupnorm_staged_backward_with_a_loop_over_groups,
        ),
    )
)

# Forward passes whose caches hold what their own backward passes read, graded together.
CATALOGUE = (
    *_CATALOGUE,
    Substitute(
        "layernorm",
        "layernorm_forward",
        layernorm_with_einsum_and_a_flat_inv_std,
        companions=(
            ("layernorm_backward", layernorm_staged_backward_with_a_flat_inv_std),
            ("layernorm_backward_alt", layernorm_closed_form_with_einsum_and_a_flat_inv_std),
        ),
    ),
    Substitute(
        "spatial_batchnorm",
        "spatial_batchnorm_forward",
        spatial_batchnorm_on_channel_rows,
        companions=(
            ("spatial_batchnorm_backward", spatial_batchnorm_staged_on_channel_rows),
            ("spatial_batchnorm_backward_alt", spatial_batchnorm_closed_form_on_channel_rows),
        ),
    ),
    Substitute(
        "spatial_groupnorm",
        "spatial_groupnorm_forward",
        groupnorm_with_flat_groups,
        companions=(
            ("spatial_groupnorm_backward", groupnorm_staged_backward_with_flat_groups),
            ("spatial_groupnorm_backward_alt", groupnorm_closed_form_with_einsum_and_flat_groups),
        ),
    ),
)

# The entries of layers that keep theirs in files of their own (tests/instructor/entries.py).
CATALOGUE = (*CATALOGUE, *entries("CORRECT"))
