"""A catalogue of correct implementations written differently from the solution: other formulas
and other NumPy idioms, the way students write them. Each must pass ``nndl lab check`` and every
student-facing test of its task (``tests/instructor/test_catalogues.py`` holds them to it): a
check that rejects correct code is worse than no check.

Instructor-only: every entry is a solution.
"""

from __future__ import annotations

import numpy as np

from nndl.batchnorm import BatchNormCache, _check_batchnorm_backward, batchnorm_forward
from nndl.fc_net import FullyConnectedNet
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
from nndl.optim import _like, _with_defaults
from nndl.validation import check_array, check_shape
from tests.instructor.wrong_implementations import Substitute

# --------------------------------------------------------------------------------------------
# Batch-norm forward
# --------------------------------------------------------------------------------------------


def statistics_with_mean_var_and_sqrt(x, eps):
    mu = x.mean(axis=0)
    xc = x - mu
    var = x.var(axis=0)
    inv_std = 1 / np.sqrt(var + eps)
    return mu, xc, var, inv_std, xc * inv_std


def statistics_with_keepdims_and_square(x, eps):
    mu = np.mean(x, axis=0, keepdims=True)
    xc = x - mu
    var = np.mean(np.square(xc), axis=0, keepdims=True)
    inv_std = np.reciprocal(np.sqrt(var + eps))
    xhat = xc * inv_std
    return mu[0], xc, var[0], inv_std[0], xhat


def statistics_with_std_and_division(x, eps):
    mu = np.mean(x, axis=0)
    xc = x - mu
    var = x.std(axis=0) ** 2
    std = (var + eps) ** 0.5
    return mu, xc, var, 1.0 / std, xc / std


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
    cache = BatchNormCache(mode=mode, xc=xc, xhat=xhat, inv_std=1 / std, gamma=gamma)
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
    dgamma = np.sum(dout * xc, axis=0) * inv_std
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
# The catalogue
# --------------------------------------------------------------------------------------------

CATALOGUE = tuple(
    Substitute(task, argument, implementation)
    for task, argument, implementation in (
        ("batchnorm_forward", "batch_statistics", statistics_with_mean_var_and_sqrt),
        ("batchnorm_forward", "batch_statistics", statistics_with_keepdims_and_square),
        ("batchnorm_forward", "batch_statistics", statistics_with_std_and_division),
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
    )
)
