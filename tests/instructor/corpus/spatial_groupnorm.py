"""Group norm, ``spatial_groupnorm_forward(x, gamma, beta, G, gn_param) -> (out, cache)`` and
``spatial_groupnorm_backward(dout, cache) -> (dx, dgamma, dbeta)``, gamma and beta of shape
(1, C, 1, 1) as in the 2019+ notebook: the channels split into G groups, each example's group
normalised over its channels and positions."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("spatial_groupnorm")


@correct(
    "spatial_groupnorm_forward",
    idioms=("whole function", "group reshape", "rebinding x", "keepdims", "np.mean/np.var",
            "tuple cache"),
    follows=("1219521375/CS231n2020",),
)  # fmt: skip
def groupnorm_forward_five_axes(x, gamma, beta, G, gn_param):
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    (N, C, H, W) = x.shape
    x = np.reshape(x, [N, G, C // G, H, W])
    mean = np.mean(x, (2, 3, 4), keepdims=True)
    var = np.var(x, (2, 3, 4), keepdims=True)
    out = (x - mean) / np.sqrt(var + eps)
    out = out.reshape([N, C, H, W])
    cache = x, G, gamma, beta, out.copy(), mean, var, eps
    out = out * gamma + beta
    return out, cache


@correct(
    "spatial_groupnorm_backward",
    idioms=("whole function", "group reshape", "staged", "power", "tuple cache"),
    follows=("1219521375/CS231n2020",),
    companions=("groupnorm_forward_five_axes",),
)
def groupnorm_backward_five_axes(dout, cache):
    N, C, H, W = dout.shape
    x, G, gamma, beta, x_hat, mean, var, eps = cache
    dbeta = dout.sum((0, 2, 3))[None, :, None, None]
    dgamma = (dout * x_hat).sum((0, 2, 3))[None, :, None, None]

    dx_hat = (dout * gamma).reshape(N, G, C // G, H, W)
    t = H * W * C // G
    dvar = -0.5 * np.sum(dx_hat * (x - mean), axis=(2, 3, 4)) * np.power(var.squeeze() + eps, -1.5)
    dmu = (
        -np.sum(dx_hat / np.sqrt(var + eps), axis=(2, 3, 4))
        - 2.0 * dvar * np.sum(x - mean, axis=(2, 3, 4)) / t
    )
    dx = (
        dx_hat / np.sqrt(var + eps)
        + dvar.reshape(N, G, 1, 1, 1) * 2.0 * (x - mean) / t
        + dmu.reshape(N, G, 1, 1, 1) / t
    )
    dx = dx.reshape(N, C, H, W)
    return dx, dgamma, dbeta


@correct(
    "spatial_groupnorm_forward",
    idioms=("whole function", "group loop", "keepdims", "np.mean/np.var", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
)
def groupnorm_forward_loop_over_groups(x, gamma, beta, G, gn_param):
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    stride = int(C / G)
    x_norm = np.zeros(x.shape, dtype=x.dtype)
    cache = []
    for i in range(G):
        x_temp = x[:, i * stride : (i + 1) * stride, :, :]
        mean = np.mean(x_temp, axis=(1, 2, 3), keepdims=True)
        var = np.var(x_temp, axis=(1, 2, 3), keepdims=True)
        std = np.sqrt(var + eps)
        x_norm[:, i * stride : (i + 1) * stride, :, :] = (x_temp - mean) / std
        cache.append([x_temp, mean, var, eps])
    out = gamma * x_norm + beta
    cache.append(gamma)
    cache.append(x_norm)
    return out, cache


@correct(
    "spatial_groupnorm_backward",
    idioms=("whole function", "group loop", "keepdims", "staged", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("groupnorm_forward_loop_over_groups",),
)
def groupnorm_backward_loop_over_groups(dout, cache):
    G = len(cache) - 2
    x_norm = cache[-1]
    gamma = cache[-2]
    N, C, H, W = dout.shape
    dx = np.zeros(dout.shape, dtype=dout.dtype)

    dgamma = np.sum(x_norm * dout, axis=(0, 2, 3), keepdims=True)
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dxnorm = dout * gamma
    stride = int(C / G)
    D = stride * H * W
    for i in range(G):
        x, mean, var, eps = cache[i]
        std = np.sqrt(var + eps)
        xnorm = (x - mean) / std
        dy = dxnorm[:, i * stride : (i + 1) * stride, :, :]
        dx1 = dy / std
        dx2 = -np.sum(dy / (std * D), axis=(1, 2, 3), keepdims=True)
        dx3 = -np.sum(dy * xnorm / std**2, axis=(1, 2, 3), keepdims=True) * ((x - mean) / D)
        dx[:, i * stride : (i + 1) * stride, :, :] = dx1 + dx2 + dx3
    return dx, dgamma, dbeta


@correct(
    "spatial_groupnorm_forward",
    idioms=("whole function", "transpose", "rebinding x", "kratzert graph", "tuple cache"),
    follows=("0suh/cs231n_2021",),
)
def groupnorm_forward_batch_norm_on_transposed_rows(x, gamma, beta, G, gn_param):
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    x = np.reshape(x, (N * G, C // G * H * W))
    x = x.T  # (C/G·H·W, N·G): each column one example's group, batch norm's layout
    mu = np.mean(x, axis=0)
    xmu = x - mu
    var = np.var(x, axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    xhat = np.reshape(xhat.T, (N, C, H, W))
    out = gamma * xhat + beta
    cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps, G)
    return out, cache


@correct(
    "spatial_groupnorm_backward",
    idioms=("whole function", "transpose", "rebinding x", "closed form", "keepdims",
            "tuple cache"),
    follows=("0suh/cs231n_2021",),
    companions=("groupnorm_forward_batch_norm_on_transposed_rows",),
)  # fmt: skip
def groupnorm_backward_batch_norm_on_transposed_rows(dout, cache):
    N, C, H, W = dout.shape
    xhat, gamma, xmu, ivar, sqrtvar, var, eps, G = cache
    dxhat = dout * gamma
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3), keepdims=True)
    dxhat = np.reshape(dxhat, (N * G, C // G * H * W)).T
    xhat = np.reshape(xhat, (N * G, C // G * H * W)).T
    Nprime, Dprime = dxhat.shape
    dx = (
        1.0 / Nprime * ivar
        * (Nprime * dxhat - np.sum(dxhat, axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
    )  # fmt: skip
    dx = np.reshape(dx.T, (N, C, H, W))
    return dx, dgamma, dbeta


@correct(
    "spatial_groupnorm_forward",
    idioms=("whole function", "rebinding x", "kratzert graph", "keepdims", "explicit sums",
            "dict cache"),
    follows=("Amapocho/CS231n-Spring-2021",),
)  # fmt: skip
def groupnorm_forward_dict_cache(x, gamma, beta, G, gn_param):
    out, cache = None, None
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    size = (N * G, C // G * H * W)
    x = x.reshape((N * G, -1))
    mean = x.mean(axis=1, keepdims=True)
    dev_from_mean = x - mean
    var = 1.0 / size[1] * np.sum(dev_from_mean**2, axis=1, keepdims=True)
    stddev = np.sqrt(var + eps)
    inverted_stddev = 1.0 / stddev
    x_norm = (dev_from_mean * inverted_stddev).reshape(N, C, H, W)
    out = gamma * x_norm + beta
    cache = {
        "stddev": stddev, "var": var, "gamma": gamma, "eps": eps, "x_norm": x_norm,
        "dev_from_mean": dev_from_mean, "inverted_stddev": inverted_stddev, "size": size,
    }  # fmt: skip
    return out, cache


@correct(
    "spatial_groupnorm_backward",
    idioms=("whole function", "kratzert graph", "keepdims", "in-place update", "dict cache"),
    follows=("Amapocho/CS231n-Spring-2021",),
    companions=("groupnorm_forward_dict_cache",),
)
def groupnorm_backward_dict_cache(dout, cache):
    gamma, x_norm, var, eps = cache["gamma"], cache["x_norm"], cache["var"], cache["eps"]
    stddev, dev_from_mean = cache["stddev"], cache["dev_from_mean"]
    inverted_stddev, size = cache["inverted_stddev"], cache["size"]
    N, C, H, W = dout.shape

    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    dgamma = np.sum(dout * x_norm, axis=(0, 2, 3), keepdims=True)
    dx_norm = (dout * gamma).reshape(size)
    dinverted_stddev = np.sum(dx_norm * dev_from_mean, axis=1, keepdims=True)
    ddev_from_mean = dx_norm * inverted_stddev
    dstddev = (-1 / (stddev**2)) * dinverted_stddev
    dvar = 0.5 * (1 / np.sqrt(var + eps)) * dstddev
    ddev_from_mean_sq = (1 / size[1]) * np.ones(size) * dvar
    ddev_from_mean += 2 * dev_from_mean * ddev_from_mean_sq
    dx = ddev_from_mean.copy()
    dmean = -1 * np.sum(ddev_from_mean, axis=1, keepdims=True)
    dx += (1 / size[1]) * np.ones(size) * dmean
    dx = dx.reshape(N, C, H, W)
    return dx, dgamma, dbeta


@wrong(
    "spatial_groupnorm_backward",
    diagnosis="dgamma has shape (C,)",
    mistake="sums dout * xhat over (0, 2, 3) without keepdims: dgamma and dbeta of shape (C,) "
    "where gamma and beta have shape (1, C, 1, 1)",
    idioms=("whole function", "group reshape", "rebinding x", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
    companions=("groupnorm_forward_five_axes",),
)
def groupnorm_backward_gradients_of_shape_c(dout, cache):
    N, C, H, W = dout.shape
    x, G, gamma, beta, x_hat, mean, var, eps = cache
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3))
    dxhat = (dout * gamma).reshape(N, G, -1)
    xhat = x_hat.reshape(N, G, -1)
    inv = 1 / np.sqrt(var.reshape(N, G, 1) + eps)
    dx = inv * (
        dxhat
        - dxhat.mean(axis=2, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=2, keepdims=True)
    )
    dx = dx.reshape(N, C, H, W)
    return dx, dgamma, dbeta
