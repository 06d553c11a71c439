"""A catalogue of typical wrong implementations, each with the diagnosis ``nndl lab check`` must
give it (``tests/test_lab_diagnoses.py`` holds them to it).

Each one is a mistake students make: the solution with one thing forgotten, swapped or misplaced.
Instructor-only: the student copy leaves this file out, since every entry is one slip away from
the solution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nndl.batchnorm import batchnorm_forward
from nndl.fc_net import FullyConnectedNet
from nndl.layernorm import layernorm_backward
from nndl.layers import _dropout_rng, affine_backward, softmax_loss, svm_loss
from nndl.normalization import NormalizationCache, normalization_forward
from nndl.optim import _with_defaults, rmsprop, sgd_momentum
from nndl.spatial import (
    SpatialBatchNormCache,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_backward_alt,
    spatial_groupnorm_forward,
)
from tests.instructor.entries import entries


@dataclass(frozen=True)
class Substitute:
    """An implementation of one of a task's functions, to grade in place of the solution.

    - task: the lab task, e.g. "batchnorm_backward"
    - argument: the function (or class) it replaces: a parameter of the task's check and an
      attribute of the task's module
    - implementation: the function (or class)
    - companions: other functions of the task written with it, (argument, implementation)
      pairs: a forward pass whose cache holds what its own backward passes read
    """

    task: str
    argument: str
    implementation: Callable
    companions: tuple[tuple[str, Callable], ...] = field(default=(), kw_only=True)

    @property
    def name(self) -> str:
        return self.implementation.__name__

    @property
    def implementations(self) -> dict[str, Callable]:
        """Every function it replaces, by argument name."""
        return {self.argument: self.implementation, **dict(self.companions)}


@dataclass(frozen=True)
class WrongImplementation(Substitute):
    """A wrong implementation, and the text that the task's line of the report must contain."""

    diagnosis: str


# --------------------------------------------------------------------------------------------
# Batch-norm backward: the staged pass with one slip
# --------------------------------------------------------------------------------------------


def _staged(
    dout,
    cache,
    mean_path=True,
    variance_path=True,
    variance_sign=1.0,
    dxhat_gamma=True,
    dgamma_axis=0,
    sum_dbeta=True,
):
    """The staged backward with switches for the slips below (test mode handled correctly)."""
    mode, xc, xhat, inv_std, gamma = cache.mode, cache.xc, cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    dbeta = dout.sum(axis=0) if sum_dbeta else dout
    dgamma = (dout * xhat).sum(axis=dgamma_axis)
    dxhat = dout * gamma if dxhat_gamma else dout
    dxc = dxhat * inv_std
    if mode == "test":
        return dxc, dgamma, dbeta
    if variance_path:
        dvar = -0.5 * inv_std**3 * (dxhat * xc).sum(axis=0)
        dxc = dxc + variance_sign * (2 * xc / N) * dvar
    dx = dxc
    if mean_path:
        dx = dx - dxc.sum(axis=0) / N
    return dx, dgamma, dbeta


def backward_without_the_mean_path(dout, cache):
    return _staged(dout, cache, mean_path=False)


def backward_without_the_variance_path(dout, cache):
    return _staged(dout, cache, variance_path=False)


def backward_with_the_variance_path_negated(dout, cache):
    return _staged(dout, cache, variance_sign=-1.0)


def backward_with_dxhat_equal_to_dout(dout, cache):
    return _staged(dout, cache, dxhat_gamma=False)


def backward_summing_dgamma_over_the_features(dout, cache):
    return _staged(dout, cache, dgamma_axis=1)


def backward_without_summing_dbeta(dout, cache):
    return _staged(dout, cache, sum_dbeta=False)


def forward_with_momentum_swapped(x, gamma, beta, bn_param):
    """Right, except running_mean = (1 - momentum) * running_mean + momentum * mean."""
    old = bn_param.get("running_mean", np.zeros(x.shape[1]))
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    if bn_param.get("mode", "train") == "train":
        momentum = bn_param.get("momentum", 0.9)
        bn_param["running_mean"] = (1 - momentum) * old + momentum * x.mean(axis=0)
    return out, cache


def forward_with_batch_statistics_in_test_mode(x, gamma, beta, bn_param):
    """Right in train mode; in test mode normalises with the batch's own statistics."""
    if bn_param.get("mode", "train") == "test":
        return normalization_forward(x, gamma, beta, bn_param.get("eps", 1e-5), (0,))
    return batchnorm_forward(x, gamma, beta, bn_param)


def forward_with_the_unbiased_variance(x, gamma, beta, bn_param):
    """Uses np.var(ddof=1) for the batch variance (as torch does for its running average)."""
    mode, eps = bn_param.get("mode", "train"), bn_param.get("eps", 1e-5)
    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
        momentum = bn_param.get("momentum", 0.9)
        for key, batch in (("running_mean", mean), ("running_var", var)):
            bn_param[key] = momentum * bn_param[key] + (1 - momentum) * batch
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    inv_std = (var + eps) ** -0.5
    xhat = (x - mean) * inv_std
    cache = NormalizationCache(mode, (0,), mean, x - mean, var, inv_std, xhat, gamma)
    return gamma * xhat + beta, cache


# --------------------------------------------------------------------------------------------
# Dropout, losses, affine, ReLU
# --------------------------------------------------------------------------------------------


def dropout_without_rescaling(x, dropout_param):
    mask = (_dropout_rng(dropout_param).random(x.shape) >= dropout_param["p"]).astype(x.dtype)
    return x * mask, (dropout_param, mask)


def dropout_keeping_with_probability_p(x, dropout_param):
    """The original assignment's bug: p taken as the probability of keeping a unit."""
    p = dropout_param["p"]
    mask = (_dropout_rng(dropout_param).random(x.shape) < p).astype(x.dtype) / p
    return x * mask, (dropout_param, mask)


def softmax_without_the_true_class_term(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = x.shape[0]
    return -log_probs[np.arange(N), y].mean(), np.exp(log_probs) / N


def svm_without_the_true_class_term(x, y):
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    return margins.sum() / N, (margins > 0).astype(x.dtype) / N


def affine_backward_with_dw_transposed(dout, cache):
    x, w = cache
    x2 = x.reshape(x.shape[0], -1)
    return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.sum(axis=0)


def relu_backward_everywhere(dout, cache):
    return dout.copy()


# --------------------------------------------------------------------------------------------
# The network and the update rules
# --------------------------------------------------------------------------------------------


class NetWithoutTheHalfInL2(FullyConnectedNet):
    """L2 written as reg * sum(W**2), with its gradient 2 * reg * W: consistent, so the
    numerical gradient check passes, but not the loss the chapter defines."""

    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        weights = [name for name in self.params if name.startswith("W")]
        loss += 0.5 * self.reg * sum(np.sum(self.params[w] ** 2) for w in weights)
        for w in weights:
            grads[w] = grads[w] + self.reg * self.params[w]
        return loss, grads


def adam_without_bias_correction(w, dw, config=None):
    config, dw = _with_defaults("adam", config, w, dw)
    beta1, beta2, eps = config["beta1"], config["beta2"], config["epsilon"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * dw**2
    return w - config["learning_rate"] * config["m"] / (np.sqrt(config["v"]) + eps), config


def momentum_forgetting_the_velocity(w, dw, config=None):
    """Computes the step right but never stores the new velocity back in config."""
    config = config if config is not None else {}
    fresh = {k: v for k, v in config.items() if k != "velocity"}
    return sgd_momentum(w, dw, fresh)[0], config


# --------------------------------------------------------------------------------------------
# More slips, each graded on a problem where it shows
# --------------------------------------------------------------------------------------------

_MASKS: dict = {}


def dropout_with_a_mask_kept_between_calls(x, dropout_param):
    """Draws the mask once per shape and keeps it in a global: every later call drops the same
    units (the check calls it twice with one Generator)."""
    p = dropout_param["p"]
    if dropout_param.get("mode", "train") == "test":
        return x, (dropout_param, None)
    if x.shape not in _MASKS:
        _MASKS[x.shape] = (_dropout_rng(dropout_param).random(x.shape) >= p) / (1 - p)
    mask = _MASKS[x.shape].astype(x.dtype)
    return x * mask, (dropout_param, mask)


class NetPenalisingEveryParameter(FullyConnectedNet):
    """L2 over every parameter, biases, gammas and betas too (the check gives them non-zero
    values, so that it shows)."""

    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        for name, value in self.params.items():
            if not name.startswith("W"):
                loss += 0.5 * self.reg * np.sum(value**2)
                grads[name] = grads[name] + self.reg * value
        return loss, grads


def adam_without_the_bias_correction_of_m(w, dw, config=None):
    """Bias-corrects v but not m."""
    config, dw = _with_defaults("adam", config, w, dw)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * dw**2
    v_hat = config["v"] / (1 - beta2 ** config["t"])
    return w - config["learning_rate"] * config["m"] / (np.sqrt(v_hat) + config["epsilon"]), config


def _forward_replacing(x, gamma, beta, bn_param, train_var=None, test=None):
    """The right forward, with the running variance's update or test mode's output replaced."""
    old_var = bn_param.get("running_var", np.ones(x.shape[1]))
    mode, eps = bn_param.get("mode", "train"), bn_param.get("eps", 1e-5)
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    if mode == "train" and train_var is not None:
        momentum = bn_param.get("momentum", 0.9)
        bn_param["running_var"] = momentum * old_var + (1 - momentum) * train_var(out)
    if mode == "test" and test is not None:
        out = test(x, bn_param["running_mean"], bn_param["running_var"], eps) * gamma + beta
    return out, cache


def forward_adding_eps_to_the_std_in_test_mode(x, gamma, beta, bn_param):
    return _forward_replacing(
        x, gamma, beta, bn_param, test=lambda x, rm, rv, eps: (x - rm) / (np.sqrt(rv) + eps)
    )


def forward_updating_running_var_from_the_output(x, gamma, beta, bn_param):
    return _forward_replacing(x, gamma, beta, bn_param, train_var=lambda out: out.var(axis=0))


def forward_with_the_batch_variance_in_test_mode(x, gamma, beta, bn_param):
    """Test mode centres with the running mean but scales with the batch's own variance."""
    return _forward_replacing(
        x, gamma, beta, bn_param,
        test=lambda x, rm, rv, eps: (x - rm) / np.sqrt(x.var(axis=0) + eps),
    )  # fmt: skip


def alt_backward_summing_dout_over_the_features(dout, cache):
    """The closed form with dout.sum(axis=1, keepdims=True) where the batch sum belongs."""
    xhat, inv_std, gamma = cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
    if cache.mode == "test":
        return dout * gamma * inv_std, dgamma, dbeta
    dx = gamma * inv_std / N * (N * dout - dout.sum(axis=1, keepdims=True) - xhat * dgamma)
    return dx, dgamma, dbeta


def backward_with_dgamma_from_xc(dout, cache):
    dx, _, dbeta = _staged(dout, cache)
    return dx, (dout * cache.xc).sum(axis=0), dbeta


def affine_backward_without_flattening_x(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.T @ dout, dout.sum(axis=0)


def affine_backward_averaging_db(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw, db / dout.shape[0]


def relu_backward_masking_with_dout(dout, cache):
    return np.where(dout > 0, dout, 0)


def rmsprop_dividing_by_the_cache(w, dw, config=None):
    _, config = rmsprop(w, dw, config)
    return w - config["learning_rate"] * dw / (config["cache"] + config["epsilon"]), config


def softmax_summing_the_loss(x, y):
    loss, dx = softmax_loss(x, y)
    return loss * x.shape[0], dx


def svm_counting_the_true_class_margin(x, y):
    loss, dx = svm_loss(x, y)
    return loss + 1, dx


# --------------------------------------------------------------------------------------------
# Layer norm, spatial batch norm, group norm
# --------------------------------------------------------------------------------------------


def _normalised(x, axes, eps):
    """x normalised over ``axes``: (x - mean) / sqrt(var + eps), and its centred input and
    inverse std (keepdims)."""
    xc = x - x.mean(axis=axes, keepdims=True)
    inv_std = (np.mean(xc**2, axis=axes, keepdims=True) + eps) ** -0.5
    return xc, inv_std, xc * inv_std


def layernorm_over_the_batch_axis(x, gamma, beta, ln_param):
    """Batch norm's statistics in the layer-norm slot: each feature normalised over the batch."""
    xc, inv_std, xhat = _normalised(x, 0, ln_param.get("eps", 1e-5))
    cache = NormalizationCache("train", (0,), x - xc, xc, inv_std**-2, inv_std, xhat, gamma)
    return gamma * xhat + beta, cache


def layernorm_staged_backward_without_the_mean_path(dout, cache):
    """The staged pass with dmu left out: dx = dxc."""
    D = dout.shape[1]
    dxhat = dout * cache.gamma
    dvar = -0.5 * cache.inv_std**3 * (dxhat * cache.xc).sum(axis=1, keepdims=True)
    dx = dxhat * cache.inv_std + 2 * cache.xc * dvar / D
    return dx, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_closed_form_summing_over_the_batch(dout, cache):
    """Batch norm's closed form on layer norm's cache: the sums over axis 0, not the features."""
    N = dout.shape[0]
    dxhat = dout * cache.gamma
    dx = (
        cache.inv_std
        / N
        * (N * dxhat - dxhat.sum(axis=0) - cache.xhat * (dxhat * cache.xhat).sum(axis=0))
    )
    return dx, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_summing_dgamma_over_the_features(dout, cache):
    """The axis change carried over to dgamma: summed over each example's features."""
    dx, _, dbeta = layernorm_backward(dout, cache)
    return dx, (dout * cache.xhat).sum(axis=1), dbeta


def spatial_batchnorm_averaging_over_h_and_w_only(x, gamma, beta, bn_param):
    """Each image's channel normalised on its own (instance norm), in train mode."""
    out, cache = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    if bn_param.get("mode", "train") == "train":
        xhat = _normalised(x, (2, 3), bn_param.get("eps", 1e-5))[2]
        out = gamma[:, None, None] * xhat + beta[:, None, None]
    return out, cache


def spatial_batchnorm_reshaping_without_moving_the_channels(x, gamma, beta, bn_param):
    """x.reshape(-1, C) for the (N·H·W, C) layout: the columns are not the channels."""
    out, cache = batchnorm_forward(x.reshape(-1, x.shape[1]), gamma, beta, bn_param)
    return out.reshape(x.shape), SpatialBatchNormCache(batchnorm=cache, shape=x.shape)


def spatial_batchnorm_backward_summing_dgamma_over_n_only(dout, cache):
    dx, _, dbeta = spatial_batchnorm_backward(dout, cache)
    N, C, H, W = cache.shape
    xhat = cache.batchnorm.xhat.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, (dout * xhat).sum(axis=0), dbeta


def groupnorm_grouping_the_wrong_axis(x, gamma, beta, G, gn_param):
    """x.reshape(N, C // G, G, H, W): every G-th channel in one group."""
    _, cache = spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
    N, C, H, W = x.shape
    grouped = x.reshape(N, C // G, G, H, W)
    xhat = _normalised(grouped, (1, 3, 4), gn_param.get("eps", 1e-5))[2].reshape(x.shape)
    return gamma * xhat + beta, cache


def groupnorm_backward_summing_dgamma_over_the_batch_only(dout, cache):
    dx, _, dbeta = spatial_groupnorm_backward(dout, cache)
    return dx, (dout * cache.xhat.reshape(dout.shape)).sum(axis=0, keepdims=True), dbeta


def groupnorm_closed_form_without_the_variance_path(dout, cache):
    """The closed form with the xhat * sum(dxhat * xhat) term left out."""
    N, C, H, W = dout.shape
    _, dgamma, dbeta = spatial_groupnorm_backward_alt(dout, cache)
    G = cache.xhat.shape[1]  # nndl's cache: the core's, on x seen as (N, G, C/G, H, W)
    dxhat = (dout * cache.gamma.reshape(1, C, 1, 1)).reshape(N, G, -1)
    inv_std = cache.inv_std.reshape(N, G, 1)
    dx = inv_std * (dxhat - dxhat.mean(axis=2, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta


# --------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------

CATALOGUE = (
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_without_the_mean_path,
        "dx lacks the path through the mean (-inv_std*sum_j(dxhat[j])/N)",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_without_the_variance_path,
        "dx lacks the path through the variance",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_with_the_variance_path_negated,
        "dx has the path through the variance with the wrong sign",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_with_dxhat_equal_to_dout,
        "dx uses dout where it needs dxhat = dout * gamma",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_summing_dgamma_over_the_features,
        "dgamma is summed over the wrong axis",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_without_summing_dbeta,
        "dbeta not summed over the batch",
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_with_momentum_swapped,
        "the running mean is updated with momentum and 1-momentum swapped",
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_with_batch_statistics_in_test_mode,
        "test mode uses the batch statistics",
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_with_the_unbiased_variance,
        "train mode uses the unbiased variance",
    ),
    WrongImplementation(
        "dropout",
        "dropout_forward",
        dropout_without_rescaling,
        "dropout is not inverted",
    ),
    WrongImplementation(
        "dropout",
        "dropout_forward",
        dropout_keeping_with_probability_p,
        "CS231n 2019+ passes the keep probability; here p is the drop probability",
    ),
    WrongImplementation(
        "losses",
        "softmax_loss",
        softmax_without_the_true_class_term,
        "softmax gradient misses the -1 at the true class",
    ),
    WrongImplementation(
        "losses",
        "svm_loss",
        svm_without_the_true_class_term,
        "svm gradient misses the -(number of positive margins) at the true class",
    ),
    WrongImplementation(
        "affine",
        "affine_backward",
        affine_backward_with_dw_transposed,
        "affine dw is transposed",
    ),
    WrongImplementation(
        "relu", "relu_backward", relu_backward_everywhere, "relu passes gradient where x <= 0"
    ),
    WrongImplementation(
        "fc_net",
        "FullyConnectedNet",
        NetWithoutTheHalfInL2,
        "the 0.5 factor of the L2 term is missing",
    ),
    WrongImplementation(
        "optim", "adam", adam_without_bias_correction, "adam without bias correction"
    ),
    WrongImplementation(
        "optim",
        "sgd_momentum",
        momentum_forgetting_the_velocity,
        "sgd_momentum does not keep its state in config between calls",
    ),
    WrongImplementation(
        "dropout",
        "dropout_forward",
        dropout_with_a_mask_kept_between_calls,
        "dropout reuses one mask across calls",
    ),
    WrongImplementation(
        "fc_net",
        "FullyConnectedNet",
        NetPenalisingEveryParameter,
        "the L2 term also covers biases, gammas and betas: only the weights are penalised",
    ),
    WrongImplementation(
        "optim", "adam", adam_without_the_bias_correction_of_m, "adam does not bias-correct m"
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_adding_eps_to_the_std_in_test_mode,
        "test mode adds eps to the standard deviation",
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_updating_running_var_from_the_output,
        "running_var is updated with the variance of the output, not of the input x",
    ),
    WrongImplementation(
        "batchnorm_forward",
        "batchnorm_forward",
        forward_with_the_batch_variance_in_test_mode,
        "test mode centres with running_mean but scales with the batch variance",
    ),
    WrongImplementation(
        "batchnorm_backward_alt",
        "batchnorm_backward_alt",
        alt_backward_summing_dout_over_the_features,
        "dx's path through the mean sums dout over the features (axis 1, keepdims)",
    ),
    WrongImplementation(
        "batchnorm_backward",
        "batchnorm_backward",
        backward_with_dgamma_from_xc,
        "dgamma uses the centred input xc instead of the normalised input xhat",
    ),
    WrongImplementation(
        "affine",
        "affine_backward",
        affine_backward_without_flattening_x,
        "dw has shape (3, 2, 5): x of shape (4, 2, 3) must be flattened to (N, D) first",
    ),
    WrongImplementation(
        "affine", "affine_backward", affine_backward_averaging_db, "db averages over the batch"
    ),
    WrongImplementation(
        "relu",
        "relu_backward",
        relu_backward_masking_with_dout,
        "relu_backward masks with dout > 0 instead of x > 0",
    ),
    WrongImplementation(
        "optim",
        "rmsprop",
        rmsprop_dividing_by_the_cache,
        "rmsprop divides by the cache instead of its square root",
    ),
    WrongImplementation(
        "losses",
        "softmax_loss",
        softmax_summing_the_loss,
        "softmax loss is summed over the batch, not averaged",
    ),
    WrongImplementation(
        "losses",
        "svm_loss",
        svm_counting_the_true_class_margin,
        "svm loss counts the true class's own margin of 1",
    ),
    WrongImplementation(
        "layernorm",
        "layernorm_forward",
        layernorm_over_the_batch_axis,
        "layer norm normalises over the batch axis (axis 0) instead of the features",
    ),
    WrongImplementation(
        "layernorm",
        "layernorm_backward",
        layernorm_staged_backward_without_the_mean_path,
        "layernorm_backward: dx lacks the path through the mean",
    ),
    WrongImplementation(
        "layernorm",
        "layernorm_backward_alt",
        layernorm_closed_form_summing_over_the_batch,
        "layernorm_backward_alt: dx sums over the batch axis (axis 0) instead of the features",
    ),
    WrongImplementation(
        "layernorm",
        "layernorm_backward",
        layernorm_backward_summing_dgamma_over_the_features,
        "layernorm_backward: dgamma of layer norm is summed over the features (axis 1)",
    ),
    WrongImplementation(
        "spatial_batchnorm",
        "spatial_batchnorm_forward",
        spatial_batchnorm_averaging_over_h_and_w_only,
        "spatial batch norm averages over H and W only",
    ),
    WrongImplementation(
        "spatial_batchnorm",
        "spatial_batchnorm_forward",
        spatial_batchnorm_reshaping_without_moving_the_channels,
        "spatial batch norm reshapes x to (N·H·W, C) without moving the channels last",
    ),
    WrongImplementation(
        "spatial_batchnorm",
        "spatial_batchnorm_backward",
        spatial_batchnorm_backward_summing_dgamma_over_n_only,
        "spatial_batchnorm_backward: dgamma of spatial batch norm is summed over N only",
    ),
    WrongImplementation(
        "spatial_groupnorm",
        "spatial_groupnorm_forward",
        groupnorm_grouping_the_wrong_axis,
        "group norm groups the wrong axis",
    ),
    WrongImplementation(
        "spatial_groupnorm",
        "spatial_groupnorm_backward",
        groupnorm_backward_summing_dgamma_over_the_batch_only,
        "spatial_groupnorm_backward: dgamma of group norm summed over the batch only",
    ),
    WrongImplementation(
        "spatial_groupnorm",
        "spatial_groupnorm_backward_alt",
        groupnorm_closed_form_without_the_variance_path,
        "spatial_groupnorm_backward_alt: dx lacks the path through the variance",
    ),
)


# The entries of layers that keep theirs in files of their own (tests/instructor/entries.py).
CATALOGUE = (*CATALOGUE, *entries("WRONG"))
