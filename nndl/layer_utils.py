"""Sandwich layers: common sequences of layers, forward and backward, so that a network can be
written as a stack of them (CS231n's ``layer_utils``).

``affine_relu_forward`` and ``affine_relu_backward`` are CS231n's. ``affine_norm_relu_forward``
and ``affine_norm_relu_backward`` put a normalization of the table of layers (``nndl.table``)
between the two, through the passes a network uses (``Layer.network_forward`` and
``network_backward``: the fast kernels of ``nndl.fast`` where the table names them).
"""

from __future__ import annotations

from nndl.layers import affine_backward, affine_forward, relu_backward, relu_forward
from nndl.table import Layer


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer

    Returns a tuple of:
    - out: output of the ReLU, shape (N, M)
    - cache: (affine cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of ``affine_relu_forward``; returns (dx, dw, db)."""
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)


def affine_norm_relu_forward(x, w, b, params, norm_param, layer: Layer):
    """Affine layer, a normalization, then a ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer
    - params: the normalization's learnable parameters, each of shape (M,): (gamma, beta)
    - norm_param: the normalization's parameter dict (``bn_param`` of batch norm, ``ln_param``
      of layer norm)
    - layer: the normalization's record in the table, e.g. ``nndl.table.LAYERS["batchnorm"]``

    Returns a tuple of:
    - out: output of the ReLU, shape (N, M)
    - cache: (affine cache, normalization cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    an, norm_cache = layer.network_forward(a, *params, norm_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, norm_cache, relu_cache)


def affine_norm_relu_backward(dout, cache, layer: Layer):
    """Backward pass of ``affine_norm_relu_forward`` with the same ``layer``; returns
    (dx, dw, db, then the gradient of each of the normalization's parameters: dgamma, dbeta)."""
    fc_cache, norm_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, *dparams = layer.network_backward(dan, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return (dx, dw, db, *dparams)
