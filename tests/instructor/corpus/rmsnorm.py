"""RMSNorm (new in nndl; no CS231n counterpart), written by analogy with layer norm's idioms:
``rmsnorm_forward(x, gamma, rms_param) -> (out, cache)`` with out = gamma * x / rms(x),
rms(x) = sqrt(mean(x**2 over the features) + eps), and ``rmsnorm_backward(dout, cache) ->
(dx, dgamma)``. There is no beta and no mean: the nodes are ms (mean of squares), rms, inv_rms,
xhat = x * inv_rms and out.

The signature is this corpus's assumption (x, gamma and a param dict with 'eps', default 1e-5,
CS231n's layer-norm shape); phase 2 renames the arguments if lane-core's layer differs."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("rmsnorm")


@correct(
    "rmsnorm_forward",
    idioms=("whole function", "keepdims", "np.mean/np.var", "tuple cache"),
    follows=("0809zheng/CS231n-assignment2019", "xxayt/CS231n-2023-Assignments"),
)
def rmsnorm_forward_mean_of_squares(x, gamma, rms_param):
    out, cache = None, None
    eps = rms_param.get("eps", 1e-5)
    ms = np.mean(x**2, axis=1, keepdims=True)
    rms = np.sqrt(ms + eps)
    x_hat = x / rms
    out = gamma * x_hat
    cache = (x, x_hat, rms, gamma)
    return out, cache


@correct(
    "rmsnorm_backward",
    idioms=("whole function", "closed form", "keepdims", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n", "0suh/cs231n_2021"),
    companions=("rmsnorm_forward_mean_of_squares",),
)
def rmsnorm_backward_closed_form(dout, cache):
    x, x_hat, rms, gamma = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dxhat = dout * gamma
    dx = (dxhat - x_hat * np.mean(dxhat * x_hat, axis=1, keepdims=True)) / rms
    return dx, dgamma


@correct(
    "rmsnorm_forward",
    idioms=("whole function", "transpose", "rebinding x", "1/np.sqrt", "dict cache"),
    follows=("1219521375/CS231n2020", "0suh/cs231n_2021"),
)
def rmsnorm_forward_on_the_transpose(x, gamma, rms_param):
    out, cache = None, None
    eps = rms_param.get("eps", 1e-5)
    x = x.T  # (D, N)
    D = x.shape[0]
    ms = np.sum(x * x, axis=0) / D
    inv_rms = 1.0 / np.sqrt(ms + eps)
    x_hat = x * inv_rms
    out = (gamma.reshape(-1, 1) * x_hat).T
    cache = {"x": x, "inv_rms": inv_rms, "x_hat": x_hat, "gamma": gamma}
    return out, cache


@correct(
    "rmsnorm_backward",
    idioms=("whole function", "transpose", "rebinding x", "staged", "dict cache"),
    follows=("1219521375/CS231n2020",),
    companions=("rmsnorm_forward_on_the_transpose",),
)
def rmsnorm_backward_staged_on_the_transpose(dout, cache):
    x, inv_rms, x_hat, gamma = cache["x"], cache["inv_rms"], cache["x_hat"], cache["gamma"]
    dout = dout.T  # (D, N)
    D = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=1)
    dx_hat = dout * gamma.reshape(-1, 1)
    # x_hat = x * inv_rms: two paths into x, directly and through inv_rms
    dinv_rms = np.sum(dx_hat * x, axis=0)
    # inv_rms = (ms + eps) ** -1/2
    dms = -0.5 * inv_rms**3 * dinv_rms
    # ms = sum(x * x) / D
    dx = dx_hat * inv_rms + 2 * x * dms / D
    return dx.T, dgamma


@correct(
    "rmsnorm_forward",
    idioms=("whole function", "explicit sums", "power", "float32", "tuple cache"),
    follows=("zlotus/cs231n",),
)
def rmsnorm_forward_in_the_inputs_dtype(x, gamma, rms_param):
    eps = rms_param.get("eps", 1e-5)
    N, D = x.shape
    ms = np.einsum("nd,nd->n", x, x)[:, None] / D
    inv_rms = ((ms + eps) ** -0.5).astype(x.dtype)
    x_hat = x * inv_rms
    out = (gamma * x_hat).astype(x.dtype)
    cache = (x_hat, inv_rms, gamma)
    return out, cache


@correct(
    "rmsnorm_backward",
    idioms=("whole function", "closed form", "einsum", "tuple cache"),
    follows=("zlotus/cs231n",),
    companions=("rmsnorm_forward_in_the_inputs_dtype",),
)
def rmsnorm_backward_einsum(dout, cache):
    x_hat, inv_rms, gamma = cache
    D = dout.shape[1]
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dxhat = dout * gamma
    dx = inv_rms * (dxhat - x_hat * np.einsum("nd,nd->n", dxhat, x_hat)[:, None] / D)
    return dx, dgamma


@wrong(
    "rmsnorm_forward",
    diagnosis="rmsnorm_forward subtracts the mean",
    mistake="layer norm's forward without beta: x is centred before the root mean square",
    idioms=("whole function", "keepdims", "np.mean/np.var", "tuple cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("rmsnorm_backward_closed_form",),
)
def rmsnorm_forward_centring_x(x, gamma, rms_param):
    eps = rms_param.get("eps", 1e-5)
    xc = x - np.mean(x, axis=1, keepdims=True)
    rms = np.sqrt(np.mean(xc**2, axis=1, keepdims=True) + eps)
    x_hat = xc / rms
    out = gamma * x_hat
    cache = (x, x_hat, rms, gamma)
    return out, cache


@wrong(
    "rmsnorm_backward",
    diagnosis="rmsnorm_backward: dx lacks the path through the mean square",
    mistake="dx = dxhat / rms: treats the root mean square as a constant",
    idioms=("whole function", "tuple cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("rmsnorm_forward_mean_of_squares",),
)
def rmsnorm_backward_without_the_rms_path(dout, cache):
    x, x_hat, rms, gamma = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = dout * gamma / rms
    return dx, dgamma
