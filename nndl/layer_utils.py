"""Sandwich layers: common sequences of layers, forward and backward, so that a network can be
written as a stack of them."""

from __future__ import annotations

from nndl.batchnorm import batchnorm_backward_alt, batchnorm_forward
from nndl.layernorm import layernorm_backward_alt, layernorm_forward
from nndl.layers import affine_backward, affine_forward, relu_backward, relu_forward

# Each normalization layer's forward and (closed-form) backward pass, by the name that
# ``FullyConnectedNet(normalization=...)`` takes.
NORMALIZATION_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward_alt),
    "layernorm": (layernorm_forward, layernorm_backward_alt),
}


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


def affine_norm_relu_forward(normalization, x, w, b, gamma, beta, norm_param):
    """Affine layer, a normalization, then a ReLU.

    Inputs:
    - normalization: 'batchnorm' or 'layernorm' (a key of ``NORMALIZATION_LAYERS``)
    - x: input of shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer
    - gamma, beta: scale and shift (M,) of the normalization
    - norm_param: the normalization's parameter dict (``bn_param`` of ``batchnorm_forward``,
      ``ln_param`` of ``layernorm_forward``)

    Returns a tuple of:
    - out: output of the ReLU, shape (N, M)
    - cache: (affine cache, normalization cache, relu cache)
    """
    forward = NORMALIZATION_LAYERS[normalization][0]
    a, fc_cache = affine_forward(x, w, b)
    an, norm_cache = forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, norm_cache, relu_cache)


def affine_norm_relu_backward(normalization, dout, cache):
    """Backward pass of ``affine_norm_relu_forward`` with the same ``normalization``; returns
    (dx, dw, db, dgamma, dbeta)."""
    backward = NORMALIZATION_LAYERS[normalization][1]
    fc_cache, norm_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = backward(dan, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db, dgamma, dbeta


def affine_batchnorm_relu_forward(x, w, b, gamma, beta, bn_param):
    """Affine layer, batch normalization, then a ReLU: ``affine_norm_relu_forward`` with
    'batchnorm'. Returns (out, cache), cache = (affine, batch-norm, relu caches)."""
    return affine_norm_relu_forward("batchnorm", x, w, b, gamma, beta, bn_param)


def affine_batchnorm_relu_backward(dout, cache):
    """Backward pass of ``affine_batchnorm_relu_forward``; returns (dx, dw, db, dgamma, dbeta)."""
    return affine_norm_relu_backward("batchnorm", dout, cache)


def affine_layernorm_relu_forward(x, w, b, gamma, beta, ln_param):
    """Affine layer, layer normalization, then a ReLU: ``affine_norm_relu_forward`` with
    'layernorm'. Returns (out, cache), cache = (affine, layer-norm, relu caches)."""
    return affine_norm_relu_forward("layernorm", x, w, b, gamma, beta, ln_param)


def affine_layernorm_relu_backward(dout, cache):
    """Backward pass of ``affine_layernorm_relu_forward``; returns (dx, dw, db, dgamma, dbeta)."""
    return affine_norm_relu_backward("layernorm", dout, cache)
