"""Spatial batch norm, ``spatial_batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)``
and ``spatial_batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)``, on the student's own
batch norm (``calls``): the channels moved last, (N·H·W, C) rows, and back. The cache is batch
norm's."""

import numpy as np

from tests.instructor.corpus import entries_of

# The layer functions the bodies call by name: the harness binds each body to the ones it
# grades with (the reference below, or a student's own in a copy).
from tests.instructor.corpus.reference import (  # noqa: I001
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
)

correct, wrong = entries_of("spatial_batchnorm")


@correct(
    "spatial_batchnorm_forward",
    idioms=("whole function", "rebinding x", "transpose", "calls batch norm"),
    follows=("Amapocho/CS231n-Spring-2021",),
    calls=("batchnorm_forward",),
)
def spatial_batchnorm_forward_rebinding_x(x, gamma, beta, bn_param):
    out, cache = None, None
    N, C, H, W = x.shape
    x = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    out = out.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return out, cache


@correct(
    "spatial_batchnorm_backward",
    idioms=("whole function", "rebinding x", "transpose", "calls batch norm"),
    follows=("Amapocho/CS231n-Spring-2021", "AKSoo/CS231n-2017"),
    calls=("batchnorm_backward_alt",),
    companions=("spatial_batchnorm_forward_rebinding_x",),
)
def spatial_batchnorm_backward_rebinding_dout(dout, cache):
    dx, dgamma, dbeta = None, None, None
    N, C, H, W = dout.shape
    dout = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx, dgamma, dbeta = batchnorm_backward_alt(dout, cache)
    dx = dx.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta


@correct(
    "spatial_batchnorm_forward",
    idioms=("whole function", "transpose", "calls batch norm"),
    follows=("0809zheng/CS231n-assignment2019", "1219521375/CS231n2020"),
    calls=("batchnorm_forward",),
)
def spatial_batchnorm_forward_np_transpose(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    temp_x = np.transpose(x, (0, 2, 3, 1)).reshape(-1, C)
    out, cache = batchnorm_forward(temp_x, gamma, beta, bn_param)
    out = np.transpose(out.reshape(N, H, W, C), (0, 3, 1, 2))
    return out, cache


@correct(
    "spatial_batchnorm_backward",
    idioms=("whole function", "transpose", "calls batch norm"),
    follows=("0809zheng/CS231n-assignment2019", "0suh/cs231n_2021"),
    calls=("batchnorm_backward",),
    companions=("spatial_batchnorm_forward_np_transpose",),
)
def spatial_batchnorm_backward_staged_batch_norm(dout, cache):
    N, C, H, W = dout.shape
    dout_reshaped = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)
    dx_tmp, dgamma, dbeta = batchnorm_backward(dout_reshaped, cache)
    dx = dx_tmp.reshape(N, H, W, C).transpose(0, 3, 1, 2)
    return dx, dgamma, dbeta


@correct(
    "spatial_batchnorm_forward",
    idioms=("whole function", "transpose", "reshape(N, -1)", "calls batch norm"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
    calls=("batchnorm_forward",),
    companions=("spatial_batchnorm_backward_staged_batch_norm",),
)
def spatial_batchnorm_forward_shape_by_index(x, gamma, beta, bn_param):
    x_ = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    out, cache = batchnorm_forward(x_, gamma, beta, bn_param)
    out = out.reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1]).transpose(0, 3, 1, 2)
    return out, cache


@wrong(
    "spatial_batchnorm_backward",
    diagnosis="spatial_batchnorm_backward: reshapes dout to (N·H·W, C) without moving the "
    "channels last",
    mistake="the forward moves the channels last; the backward reshapes dout straight to "
    "(N*H*W, C), so its rows do not match the cache's",
    idioms=("whole function", "calls batch norm"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
    calls=("batchnorm_backward",),
    companions=("spatial_batchnorm_forward_shape_by_index",),
)
def spatial_batchnorm_backward_reshaping_without_transposing(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.reshape(-1, C), cache)
    dx = dx.reshape(N, C, H, W)
    return dx, dgamma, dbeta
