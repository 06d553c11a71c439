"""Batch norm's simplified backward pass, ``batchnorm_backward_alt(dout, cache) -> (dx, dgamma,
dbeta)``, graded in train mode on the cache of the forward entry it names."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("batchnorm_backward_alt")


@correct(
    "batchnorm_backward_alt",
    idioms=("whole function", "closed form", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n", "0suh/cs231n_2021"),
    companions=("batchnorm_forward_nine_steps",),
)
def batchnorm_backward_alt_with_ivar(dout, cache):
    N, D = dout.shape
    x_hat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    dxhat = dout * gamma
    dx = (
        (1.0 / N)
        * ivar
        * (N * dxhat - np.sum(dxhat, axis=0) - x_hat * np.sum(dxhat * x_hat, axis=0))
    )
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(x_hat * dout, axis=0)
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward_alt",
    idioms=("whole function", "closed form", "in-place update", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions", "Amapocho/CS231n-Spring-2021"),
    companions=("batchnorm_forward_mean_var_six_tuple",),
)
def batchnorm_backward_alt_dividing_in_place(dout, cache):
    x, x_norm, mean, var, gamma, eps = cache
    N, D = x.shape
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    sigma = np.sqrt(var + eps)
    dx = gamma * (N * dout - np.sum(dout, axis=0) - x_norm * np.sum(dout * x_norm, axis=0))
    dx /= N * sigma
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward_alt",
    idioms=("whole function", "closed form", "dict cache"),
    follows=("AKSoo/CS231n-2017",),
    companions=("batchnorm_forward_dict_cache",),
)
def batchnorm_backward_alt_dict_cache_centred(dout, cache):
    N, D = dout.shape
    gamma, x_norm = cache["gamma"], cache["x_norm"]
    x_cent, stde = cache["x_cent"], cache["stde"]

    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx = (
        (1.0 / N) * gamma / stde
        * (N * dout - np.sum(dout, axis=0) - x_norm / stde * np.sum(dout * x_cent, axis=0))
    )  # fmt: skip
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward_alt",
    idioms=("whole function", "closed form", "np.mean/np.var", "tuple cache"),
    follows=("zlotus/cs231n",),
    companions=("batchnorm_forward_centred_and_inverse_std",),
)
def batchnorm_backward_alt_with_means(dout, cache):
    gamma, xhat, stdinv, std, xcentered = cache
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(xhat * dout, axis=0)
    dx = gamma * stdinv * (dout - np.mean(dout, axis=0) - xhat * np.mean(dout * xhat, axis=0))
    return dx, dgamma, dbeta


@correct(
    "batchnorm_backward_alt",
    idioms=("whole function", "staged", "power", "dict cache"),
    follows=("1219521375/CS231n2020", "0809zheng/CS231n-assignment2019", "0suh/cs231n_2021"),
    companions=("batchnorm_forward_dict_of_statistics",),
)
def batchnorm_backward_alt_staged_again(dout, cache):
    mean = cache["sample_mean"]
    var = cache["sample_var"]
    x_hat = cache["x_hat"]
    x = cache["x"]
    gamma = cache["gamma"]
    eps = cache["eps"]

    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(x_hat * dout, axis=0)
    dx_norm = dout * gamma
    dv = ((x - mean) * -0.5 * (var + eps) ** -1.5 * dx_norm).sum(axis=0)
    dm = (dx_norm * -1 * (var + eps) ** -0.5).sum(axis=0) + (dv * (x - mean) * -2 / N).sum(axis=0)
    dx = dx_norm / (var + eps) ** 0.5 + dv * 2 * (x - mean) / N + dm / N
    return dx, dgamma, dbeta


@wrong(
    "batchnorm_backward_alt",
    diagnosis="dx uses dout where it needs dxhat = dout * gamma",
    mistake="the closed form written with dout in place of dxhat = gamma * dout",
    idioms=("whole function", "closed form", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n",),
    companions=("batchnorm_forward_nine_steps",),
)
def batchnorm_backward_alt_forgetting_gamma(dout, cache):
    N, D = dout.shape
    x_hat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    dx = (1.0 / N) * ivar * (N * dout - np.sum(dout, axis=0) - x_hat * np.sum(dout * x_hat, axis=0))
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(x_hat * dout, axis=0)
    return dx, dgamma, dbeta
