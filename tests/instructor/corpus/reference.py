"""The layers a corpus entry is graded with when it is not the student's own: plain NumPy, with
CS231n's cache layouts where CS231n's scaffold fixes them ((x, w, b) for affine, x for ReLU,
(dropout_param, mask) for dropout) and nndl's convention for dropout (p is the drop
probability). Independent of nndl: the verification harness must not trust the code it
checks."""

from __future__ import annotations

import numpy as np


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def normalised(x, axis, eps):
    """x normalised over ``axis`` (keepdims): (xhat, inv_std)."""
    xc = x - x.mean(axis=axis, keepdims=True)
    inv_std = 1 / np.sqrt((xc * xc).mean(axis=axis, keepdims=True) + eps)
    return xc * inv_std, inv_std


def normalised_backward(dxhat, xhat, inv_std, axis):
    """dx of xhat = normalised(x, axis) for the upstream gradient dxhat (the closed form)."""
    mean = dxhat.mean(axis=axis, keepdims=True)
    projection = (dxhat * xhat).mean(axis=axis, keepdims=True)
    return inv_std * (dxhat - mean - xhat * projection)


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        xhat, inv_std = normalised(x, 0, eps)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0)
    else:
        inv_std = 1 / np.sqrt(running_var + eps)
        xhat = (x - running_mean) * inv_std
    return gamma * xhat + beta, (mode, xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    mode, xhat, inv_std, gamma = cache
    dxhat = dout * gamma
    if mode == "train":
        dx = normalised_backward(dxhat, xhat, inv_std, 0)
    else:
        dx = dxhat * inv_std
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


batchnorm_backward_alt = batchnorm_backward


def layernorm_forward(x, gamma, beta, ln_param):
    xhat, inv_std = normalised(x, 1, ln_param.get("eps", 1e-5))
    return gamma * xhat + beta, (xhat, inv_std, gamma)


def layernorm_backward(dout, cache):
    xhat, inv_std, gamma = cache
    dx = normalised_backward(dout * gamma, xhat, inv_std, 1)
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "train":
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)
        return (x * mask).astype(x.dtype), (dropout_param, mask)
    return x, (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return -log_probs[np.arange(N), y].mean(), dx / N


def svm_loss(x, y):
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    positive = (margins > 0).astype(x.dtype)
    positive[np.arange(N), y] = -positive.sum(axis=1)
    return margins.sum() / N, positive / N


# What a body's ``calls`` may name, by name.
LAYERS = {
    function.__name__: function
    for function in (
        affine_forward,
        affine_backward,
        relu_forward,
        relu_backward,
        affine_relu_forward,
        affine_relu_backward,
        batchnorm_forward,
        batchnorm_backward,
        layernorm_forward,
        layernorm_backward,
        dropout_forward,
        dropout_backward,
        softmax_loss,
        svm_loss,
    )
}
LAYERS["batchnorm_backward_alt"] = batchnorm_backward_alt
