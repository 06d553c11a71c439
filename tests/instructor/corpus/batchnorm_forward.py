"""Batch norm's forward pass, ``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)``,
written whole: CS231n's scaffold lines (reading bn_param, storing the running averages back)
included. The cache is the student's choice; each backward entry names the forward it reads."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("batchnorm_forward")


@correct(
    "batchnorm_forward",
    idioms=("whole function", "np.mean/np.var", "1/np.sqrt", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions", "Amapocho/CS231n-Spring-2021"),
)
def batchnorm_forward_mean_var_six_tuple(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        x_norm = (x - mean) / (np.sqrt(var + eps))
        out = gamma * x_norm + beta
        cache = (x, x_norm, mean, var, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / (np.sqrt(running_var + eps)) + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@correct(
    "batchnorm_forward",
    idioms=("whole function", "kratzert graph", "explicit sums", "1/np.sqrt", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n", "xxayt/CS231n-2023-Assignments", "0suh/cs231n_2021"),
)
def batchnorm_forward_nine_steps(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        # step 1: mean of the batch
        mu = 1.0 / N * np.sum(x, axis=0)
        # step 2: subtract it from every example
        xmu = x - mu
        # step 3 and 4: the variance through the squares
        sq = xmu**2
        var = 1.0 / N * np.sum(sq, axis=0)
        # step 5 and 6: the square root and its inverse
        sqrtvar = np.sqrt(var + eps)
        ivar = 1.0 / sqrtvar
        # step 7: normalise
        xhat = xmu * ivar
        # step 8 and 9: scale and shift
        gammax = gamma * xhat
        out = gammax + beta
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * out + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@correct(
    "batchnorm_forward",
    idioms=("whole function", "np.mean/np.var", "dict cache", "rebinding x"),
    follows=("AKSoo/CS231n-2017", "0809zheng/CS231n-assignment2019"),
)
def batchnorm_forward_dict_cache(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    cache = {}
    if mode == "train":
        batch_mean = np.mean(x, axis=0)
        batch_var = np.var(x, axis=0)
        x_cent = x - batch_mean
        stde = np.sqrt(batch_var + eps)
        x_norm = x_cent / stde

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var = momentum * running_var + (1 - momentum) * batch_var

        cache["gamma"], cache["x_norm"] = gamma, x_norm
        cache["x_cent"], cache["stde"] = x_cent, stde
        out = gamma * x_norm + beta
    elif mode == "test":
        x = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@correct(
    "batchnorm_forward",
    idioms=("whole function", "explicit sums", "1/np.sqrt", "tuple cache", "float32"),
    follows=("zlotus/cs231n",),
)
def batchnorm_forward_centred_and_inverse_std(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        sample_mean = np.sum(x, axis=0) / N
        xcentered = x - sample_mean
        sample_var = np.sum(xcentered**2, axis=0) / N
        std = np.sqrt(sample_var + eps)
        stdinv = (1 / std).astype(x.dtype)
        xhat = xcentered * stdinv
        out = (gamma * xhat + beta).astype(x.dtype)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        cache = (gamma, xhat, stdinv, std, xcentered)
    elif mode == "test":
        x_hat = (x - running_mean) / (np.sqrt(running_var + eps))
        out = (gamma * x_hat + beta).astype(x.dtype)
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@correct(
    "batchnorm_forward",
    idioms=("whole function", "np.mean/np.var", "dict cache", "power"),
    follows=("0suh/cs231n_2021", "1219521375/CS231n2020"),
)
def batchnorm_forward_dict_of_statistics(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_hat = (x - sample_mean.T) * (sample_var.T + eps) ** -0.5
        out = x_hat * gamma + beta

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var

        cache = {}
        cache["sample_mean"] = sample_mean
        cache["sample_var"] = sample_var
        cache["x_hat"] = x_hat
        cache["x"] = x
        cache["gamma"] = gamma
        cache["beta"] = beta
        cache["eps"] = eps
    elif mode == "test":
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = x_hat * gamma + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@wrong(
    "batchnorm_forward",
    diagnosis="running_mean has shape (1, D)",
    mistake="np.mean(x, axis=0, keepdims=True) makes the running averages (1, D) arrays: the "
    "bn_param stores the wrong shape (the docstring asks for (D,))",
    idioms=("whole function", "keepdims", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
)
def batchnorm_forward_keepdims_running_averages(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        mean = np.mean(x, axis=0, keepdims=True)
        var = np.var(x, axis=0, keepdims=True)
        xnorm = (x - mean) / np.sqrt(var + eps)
        out = gamma * xnorm + beta
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
        cache = [x, gamma, mean, var, eps]
    elif mode == "test":
        x = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@wrong(
    "batchnorm_forward",
    diagnosis="train mode normalises with the running averages",
    mistake="updates the running averages first and then normalises the batch with them instead "
    "of the batch's own mean and variance",
    idioms=("whole function", "np.mean/np.var", "tuple cache"),
    follows=("Amapocho/CS231n-Spring-2021",),
)
def batchnorm_forward_normalising_with_the_running_averages(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
        cache = x, x_hat, mu, var, eps, gamma
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache
