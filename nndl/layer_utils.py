"""Sandwich layers: common sequences of layers, forward and backward, so that a network can be
written as a stack of them."""

from __future__ import annotations

from nndl.batchnorm import batchnorm_backward_alt, batchnorm_forward
from nndl.layernorm import layernorm_backward_alt, layernorm_forward
from nndl.layers import affine_backward, affine_forward, relu_backward, relu_forward


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


def affine_batchnorm_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batch normalization, then a ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer
    - gamma, beta: scale and shift (M,) of the batch norm
    - bn_param: the batch-norm parameter dict (see ``batchnorm_forward``)

    Returns a tuple of:
    - out: output of the ReLU, shape (N, M)
    - cache: (affine cache, batch-norm cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    an, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, bn_cache, relu_cache)


def affine_batchnorm_relu_backward(dout, cache):
    """Backward pass of ``affine_batchnorm_relu_forward``; returns (dx, dw, db, dgamma, dbeta)."""
    fc_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = batchnorm_backward_alt(dan, bn_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_layernorm_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine layer, layer normalization, then a ReLU.

    Inputs:
    - x: input of shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer
    - gamma, beta: scale and shift (M,) of the layer norm
    - ln_param: the layer-norm parameter dict (see ``layernorm_forward``)

    Returns a tuple of:
    - out: output of the ReLU, shape (N, M)
    - cache: (affine cache, layer-norm cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    an, ln_cache = layernorm_forward(a, gamma, beta, ln_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, ln_cache, relu_cache)


def affine_layernorm_relu_backward(dout, cache):
    """Backward pass of ``affine_layernorm_relu_forward``; returns (dx, dw, db, dgamma, dbeta)."""
    fc_cache, ln_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = layernorm_backward_alt(dan, ln_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta
