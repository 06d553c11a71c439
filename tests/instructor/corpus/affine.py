"""The affine layer: ``affine_forward(x, w, b) -> (out, cache)`` and ``affine_backward(dout,
cache) -> (dx, dw, db)``, CS231n's cache ``(x, w, b)``."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("affine")


@correct(
    "affine_forward",
    idioms=("whole function", "reshape(N, -1)", "dot", "tuple cache"),
    follows=("Aneureka/cs231n-assignments-2018", "0809zheng/CS231n-assignment2019"),
)
def affine_forward_reshape_dot(x, w, b):
    out = x.reshape((x.shape[0], -1)).dot(w) + b
    cache = (x, w, b)
    return out, cache


@correct(
    "affine_forward",
    idioms=("whole function", "np.prod", "dot", "tuple cache"),
    follows=("AKSoo/CS231n-2017", "zlotus/cs231n"),
)
def affine_forward_prod_of_the_shape(x, w, b):
    N = x.shape[0]
    D = np.prod(x.shape[1:])
    out = np.dot(x.reshape(N, D), w) + b
    cache = (x, w, b)
    return out, cache


@correct(
    "affine_forward",
    idioms=("whole function", "reshape(N, -1)", "dot", "tuple cache"),
    follows=("AnirudhM1/CS231n-2022-Solutions",),
)
def affine_forward_rebinding_out(x, w, b):
    out = x.reshape(x.shape[0], -1)
    out = out @ w + b
    cache = (x, w, b)
    return out, cache


@correct(
    "affine_backward",
    idioms=("whole function", "reshape(N, -1)", "dot", "tuple cache"),
    follows=("0809zheng/CS231n-assignment2019", "AnirudhM1/CS231n-2022-Solutions"),
    companions=("affine_forward_reshape_dot",),
)
def affine_backward_reshape_dot(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


@correct(
    "affine_backward",
    idioms=("whole function", "rebinding x", "dot", "tuple cache"),
    follows=("zlotus/cs231n", "Aneureka/cs231n-assignments-2018"),
    companions=("affine_forward_prod_of_the_shape",),
)
def affine_backward_ones_for_db(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    shape = x.shape
    x = x.reshape(N, -1)
    dx = np.dot(dout, w.T).reshape(shape)
    dw = np.dot(x.T, dout)
    db = np.dot(np.ones(N), dout)
    return dx, dw, db


@correct(
    "affine_backward",
    idioms=("whole function", "einsum", "float32", "tuple cache"),
    follows=("AKSoo/CS231n-2017",),
    companions=("affine_forward_rebinding_out",),
)
def affine_backward_einsum_in_the_inputs_dtype(dout, cache):
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape).astype(x.dtype)
    dw = np.einsum("nd,nm->dm", x_rows, dout).astype(w.dtype)
    db = dout.sum(axis=0).astype(b.dtype)
    return dx, dw, db


@wrong(
    "affine_forward",
    diagnosis="dx has shape (N, D)",
    mistake="rebinds x = x.reshape(N, -1) before the scaffold's cache = (x, w, b): the backward "
    "then returns dx of shape (N, D) instead of x's shape",
    idioms=("whole function", "rebinding x", "reshape(N, -1)"),
    follows=("AgainstEntropy/CS231n-assignment2021",),
    companions=("affine_backward_reshape_dot",),
)
def affine_forward_caching_the_flattened_x(x, w, b):
    N = x.shape[0]
    x = x.reshape(N, -1)
    out = np.dot(x, w) + b
    cache = (x, w, b)
    return out, cache
