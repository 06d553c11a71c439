"""Batch norm's staged backward pass, ``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)``,
graded in train mode on the cache of the forward entry it names (CS231n never calls it in test
mode; its test-mode cache is often None)."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("batchnorm_backward")


@correct(
    "batchnorm_backward",
    idioms=("whole function", "staged", "power", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions", "1219521375/CS231n2020"),
    companions=("batchnorm_forward_mean_var_six_tuple",),
)
def batchnorm_backward_dvar_dmean(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    N, D = x.shape

    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dxnorm = dout * gamma
    dvar = np.sum(dxnorm * (x - mean) * (-0.5) * (var + eps) ** (-1.5), axis=0)
    dmean = (
        np.sum(dxnorm * (-1) / np.sqrt(var + eps), axis=0)
        + dvar * np.sum(-2 * (x - mean), axis=0) / N
    )
    dx = dxnorm / np.sqrt(var + eps) + dvar * 2 * (x - mean) / N + dmean / N
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward",
    idioms=("whole function", "kratzert graph", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n", "xxayt/CS231n-2023-Assignments"),
    companions=("batchnorm_forward_nine_steps",),
)
def batchnorm_backward_nine_steps_in_reverse(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape
    # step 9: out = gammax + beta
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    # step 8: gammax = gamma * xhat
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    # step 7: xhat = xmu * ivar
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    # step 6: ivar = 1 / sqrtvar
    dsqrtvar = -1.0 / (sqrtvar**2) * divar
    # step 5: sqrtvar = sqrt(var + eps)
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    # step 4: var = mean(sq)
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    # step 3: sq = xmu ** 2
    dxmu2 = 2 * xmu * dsq
    # step 2: xmu = x - mu
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    # step 1: mu = mean(x)
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    dx = dx1 + dx2
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward",
    idioms=("whole function", "staged", "dict cache", "in-place update"),
    follows=("AKSoo/CS231n-2017",),
    companions=("batchnorm_forward_dict_cache",),
)
def batchnorm_backward_dict_cache_in_place(dout, cache):
    N, D = dout.shape
    gamma, x_norm = cache["gamma"], cache["x_norm"]
    x_cent, stde = cache["x_cent"], cache["stde"]

    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * gamma
    dbeta = np.sum(dout, axis=0)

    dx_cent = dx_norm / stde
    dvar = np.sum(dx_norm * x_cent, axis=0) * -0.5 / (stde**3)
    dx_cent += dvar * 2 * x_cent / N

    dx = dx_cent
    dmean = np.sum(dx_cent, axis=0) * -1
    dx += dmean / N
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward",
    idioms=("whole function", "staged", "tuple cache", "1/np.sqrt"),
    follows=("zlotus/cs231n",),
    companions=("batchnorm_forward_centred_and_inverse_std",),
)
def batchnorm_backward_through_the_inverse_std(dout, cache):
    N, D = dout.shape
    gamma, xhat, stdinv, std, xcentered = cache

    dgamma = np.sum(xhat * dout, axis=0)
    dbeta = np.sum(dout, axis=0)

    dout_dxhat = gamma * dout
    dout_dstdinv = np.sum(dout_dxhat * xcentered, axis=0)
    dout_dstd = -1 * dout_dstdinv / (std**2)
    dout_dvar = dout_dstd * 1 / (2 * std)
    dout_dxcentered_sq = dout_dvar * np.ones((N, D)) / N
    dout_dxcentered = dout_dxhat * stdinv + dout_dxcentered_sq * 2 * xcentered
    dout_dmean = -1 * np.sum(dout_dxcentered, axis=0)
    dx = 1 * dout_dxcentered + dout_dmean * np.ones((N, D)) / N
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward",
    idioms=("whole function", "staged", "dict cache", "power"),
    follows=("0suh/cs231n_2021",),
    companions=("batchnorm_forward_dict_of_statistics",),
)
def batchnorm_backward_reading_the_dict_everywhere(dout, cache):
    m = dout.shape[0]

    dx_hat = dout * cache["gamma"]
    dsample_var = np.sum(
        dx_hat * (cache["x"] - cache["sample_mean"]) * (-0.5)
        * (cache["sample_var"] + cache["eps"]) ** (-1.5),
        axis=0,
    )  # fmt: skip
    # the variance's term of dmean sums x - mean over everything: 0 up to round-off
    dsample_mean = np.sum(
        dx_hat * (-1 / np.sqrt(cache["sample_var"] + cache["eps"])), axis=0
    ) + dsample_var * (np.sum(-2 * (cache["x"] - cache["sample_mean"])) / m)

    dx = (
        dx_hat * (1 / np.sqrt(cache["sample_var"] + cache["eps"]))
        + dsample_var * (2 * (cache["x"] - cache["sample_mean"]) / m)
        + dsample_mean / m
    )

    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * cache["x_hat"], axis=0)
    return dx, dgamma, dbeta


@wrong(
    "batchnorm_backward",
    diagnosis="dgamma has shape (1, D)",
    mistake="np.sum(..., axis=0, keepdims=True) returns dgamma and dbeta of shape (1, D) (the "
    "docstring asks for (D,)); a solver step then turns gamma itself into a (1, D) array",
    idioms=("whole function", "keepdims", "staged", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("batchnorm_forward_mean_var_six_tuple",),
)
def batchnorm_backward_keepdims_gradients(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    std = np.sqrt(var + eps)
    N, D = x.shape

    dbeta = np.sum(dout, axis=0, keepdims=True)
    dgamma = np.sum(x_norm * dout, axis=0, keepdims=True)
    dy = dout * gamma.reshape(1, -1)
    dx1 = dy / std
    dx2 = -np.sum(dy / (std * N), axis=0, keepdims=True)
    dx3 = -np.sum(dy * x_norm / std**2, axis=0, keepdims=True) * ((x - mean) / N)
    dx = dx1 + dx2 + dx3
    return dx, dgamma, dbeta


@wrong(
    "batchnorm_backward",
    diagnosis="batchnorm_backward modifies dout in place",
    mistake="scales the caller's dout by gamma in place (dout *= gamma) after taking dbeta and "
    "dgamma from it: its own results are right, but the caller's upstream gradient is changed "
    "(CS231n's notebook then feeds the changed dout to batchnorm_backward_alt)",
    idioms=("whole function", "in-place update", "staged", "tuple cache"),
    follows=("AKSoo/CS231n-2017",),
    companions=("batchnorm_forward_mean_var_six_tuple",),
)
def batchnorm_backward_scaling_dout_in_place(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dout *= gamma
    inv = 1 / np.sqrt(var + eps)
    dvar = np.sum(dout * (x - mean), axis=0) * -0.5 * inv**3
    dxc = dout * inv + dvar * 2 * (x - mean) / N
    dx = dxc - np.sum(dxc, axis=0) / N
    return dx, dgamma, dbeta
