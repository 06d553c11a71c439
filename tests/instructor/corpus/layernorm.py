"""Layer norm, ``layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)`` and
``layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)``: batch norm's code with the other
axis, often through a transpose (CS231n's hint)."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("layernorm")


@correct(
    "layernorm_forward",
    idioms=("whole function", "keepdims", "np.mean/np.var", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
)
def layernorm_forward_keepdims_over_the_features(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    mean = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    xnorm = (x - mean) / std
    out = gamma * xnorm + beta
    cache = [x, mean, var, eps, gamma]
    return out, cache


@correct(
    "layernorm_backward",
    idioms=("whole function", "keepdims", "staged", "list cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("layernorm_forward_keepdims_over_the_features",),
)
def layernorm_backward_three_terms(dout, cache):
    x, mean, var, eps, gamma = cache
    std = np.sqrt(var + eps)
    xnorm = (x - mean) / std
    N, D = x.shape

    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(xnorm * dout, axis=0)
    dy = dout * gamma.reshape(1, -1)
    dx1 = dy / std
    dx2 = -np.sum(dy / (std * D), axis=1, keepdims=True)
    dx3 = -np.sum(dy * xnorm / std**2, axis=1, keepdims=True) * ((x - mean) / D)
    dx = dx1 + dx2 + dx3
    return dx, dgamma, dbeta


@correct(
    "layernorm_forward",
    idioms=("whole function", "transpose", "rebinding x", "np.mean/np.var", "tuple cache"),
    follows=("1219521375/CS231n2020", "0suh/cs231n_2021"),
)
def layernorm_forward_on_the_transpose(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    x = x.T  # (D, N): batch norm's code from here on
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    out = x_hat * gamma.reshape(-1, 1) + beta.reshape(-1, 1)
    out = out.T
    cache = (x.T, gamma, beta, x_hat, sample_mean, sample_var, eps)
    return out, cache


@correct(
    "layernorm_backward",
    idioms=("whole function", "transpose", "rebinding x", "staged", "power", "tuple cache"),
    follows=("1219521375/CS231n2020",),
    companions=("layernorm_forward_on_the_transpose",),
)
def layernorm_backward_on_the_transpose(dout, cache):
    x, gamma, beta, x_hat, sample_mean, sample_var, eps = cache
    x = x.T  # (D, N)
    dout = dout.T
    m = dout.shape[0]  # D
    dxhat = dout * gamma.reshape(-1, 1)
    dvar = (dxhat * (x - sample_mean) * (-0.5) * np.power(sample_var + eps, -1.5)).sum(axis=0)
    dmean = (
        np.sum(dxhat * (-1) * np.power(sample_var + eps, -0.5), axis=0)
        + dvar * np.sum(-2 * (x - sample_mean), axis=0) / m
    )
    dx = dxhat * np.power(sample_var + eps, -0.5) + dvar * 2 * (x - sample_mean) / m + dmean / m
    dx = dx.T
    dgamma = np.sum(dout * x_hat, axis=1)
    dbeta = np.sum(dout, axis=1)
    return dx, dgamma, dbeta


@correct(
    "layernorm_forward",
    idioms=("whole function", "np.mean/np.var", "tuple cache"),
    follows=("xxayt/CS231n-2023-Assignments",),
)
def layernorm_forward_statistics_as_columns(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    N, D = x.shape
    sample_mean = np.mean(x, axis=1).reshape(N, 1)
    sample_var = np.var(x, axis=1).reshape(N, 1)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    out = gamma * x_hat + beta
    cache = (x, gamma, beta, x_hat, sample_mean, sample_var, eps)
    return out, cache


@correct(
    "layernorm_backward",
    idioms=("whole function", "staged", "power", "tuple cache"),
    follows=("xxayt/CS231n-2023-Assignments", "Amapocho/CS231n-Spring-2021"),
    companions=("layernorm_forward_statistics_as_columns",),
)
def layernorm_backward_statistics_as_columns(dout, cache):
    x, gamma, beta, x_hat, mean, var, eps = cache
    N, D = dout.shape
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mean) * (-0.5) * np.power(var + eps, -1.5), axis=1).reshape(N, 1)
    dmean = (
        np.sum(dx_hat * (-1) / np.sqrt(var + eps), axis=1).reshape(N, 1)
        + dvar * np.sum(-2 * (x - mean), axis=1).reshape(N, 1) / D
    )
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mean) / D + dmean / D
    return dx, dgamma, dbeta


@correct(
    "layernorm_forward",
    idioms=("whole function", "transpose", "rebinding x", "np.mean/np.var", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
)
def layernorm_forward_column_gamma(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    gamma = np.expand_dims(gamma, -1)
    beta = np.expand_dims(beta, -1)
    mean = x.mean(axis=1)
    var = x.var(axis=1)
    x_norm = (x.T - mean) / (np.sqrt(var + eps))
    out = gamma * x_norm + beta
    out = out.T
    cache = (x, x_norm, var, gamma, eps)
    return out, cache


@correct(
    "layernorm_backward",
    idioms=("whole function", "transpose", "rebinding x", "closed form", "in-place update",
            "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions", "0suh/cs231n_2021"),
    companions=("layernorm_forward_column_gamma",),
)  # fmt: skip
def layernorm_backward_closed_form_on_the_transpose(dout, cache):
    dout = dout.T  # (D, N): batch norm's closed form, N standing for D
    x, x_norm, var, gamma, eps = cache
    N, D = dout.shape
    dbeta = dout.sum(axis=1)
    dgamma = np.sum(dout * x_norm, axis=1)
    sigma = np.sqrt(var + eps)
    dx = (
        N * dout * gamma
        - np.sum(dout * gamma, axis=0)
        - x_norm * np.sum(dout * gamma * x_norm, axis=0)
    )
    dx /= N * sigma
    dx = dx.T
    return dx, dgamma, dbeta


@wrong(
    "layernorm_forward",
    diagnosis="layer norm normalises over the batch axis (axis 0) instead of the features",
    mistake="batch norm's code copied without the transpose of CS231n's hint: each feature is "
    "normalised over the batch",
    idioms=("whole function", "keepdims", "np.mean/np.var", "list cache"),
    follows=("1219521375/CS231n2020", "0809zheng/CS231n-assignment2019"),
    companions=("layernorm_backward_three_terms",),
)
def layernorm_forward_forgetting_the_transpose(x, gamma, beta, ln_param):
    out, cache = None, None
    eps = ln_param.get("eps", 1e-5)
    mean = np.mean(x, axis=0, keepdims=True)
    var = np.var(x, axis=0, keepdims=True)
    xnorm = (x - mean) / np.sqrt(var + eps)
    out = gamma * xnorm + beta
    cache = [x, mean, var, eps, gamma]
    return out, cache
