"""The layers of a fully connected network as pairs of pure functions, ``forward(x, params...)
-> (out, cache)`` and ``backward(dout, cache) -> grads``, with the CS231n signatures: affine,
ReLU, dropout and the two losses here, the normalization layers in modules of their own
(``nndl.batchnorm``, ``nndl.layernorm``, ``nndl.spatial``), exported from here too, as CS231n's
``layers.py`` exports them.

Every forward sits next to its backward. The functions only do arithmetic that NumPy object
arrays support too, so the same code runs on arrays of sympy symbols: ``derivations/`` uses that
to prove the backward passes exact.

The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are what a student writes, the
whole body of each function after its argument checks; the lab's student copy replaces them
(see ``nndl.lab``). The cache a forward returns is the student's choice: a backward checks dout
against the cache only when the cache is nndl's own.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# The normalization layers live in modules of their own and are exported from here too, as in
# CS231n's layers.py (``from nndl.layers import *`` gives every layer of the table of layers,
# ``nndl.table``; a test holds ``__all__`` to the table).
from nndl.batchnorm import (
    BN_MODES,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
)
from nndl.layernorm import layernorm_backward, layernorm_backward_alt, layernorm_forward
from nndl.normalization import NormalizationCache
from nndl.rmsnorm import RMSNormCache, rmsnorm_backward, rmsnorm_backward_alt, rmsnorm_forward
from nndl.spatial import (
    SpatialBatchNormCache,
    spatial_batchnorm_backward,
    spatial_batchnorm_backward_alt,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_backward_alt,
    spatial_groupnorm_forward,
)
from nndl.validation import (
    check_array,
    check_cache,
    check_integer,
    check_labels,
    check_mode,
    check_number,
    check_param_dict,
    check_shape,
)

# What ``from nndl.layers import *`` gives: what CS231n's layers.py gives (its layers, and numpy
# as np) and every layer of the table of layers, its passes and the cache types it names
# (``nndl.table.exported_names``; a test of nndl's layers holds this list to the table).
__all__ = [
    "np",
    "AffineCache",
    "BN_MODES",
    "DropoutCache",
    "NormalizationCache",
    "RMSNormCache",
    "SpatialBatchNormCache",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_backward_alt",
    "layernorm_forward",
    "relu_backward",
    "relu_forward",
    "rmsnorm_backward",
    "rmsnorm_backward_alt",
    "rmsnorm_forward",
    "softmax_loss",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_backward_alt",
    "spatial_batchnorm_forward",
    "spatial_groupnorm_backward",
    "spatial_groupnorm_backward_alt",
    "spatial_groupnorm_forward",
    "svm_loss",
]


# --------------------------------------------------------------------------------------------
# Affine
# --------------------------------------------------------------------------------------------


class AffineCache(NamedTuple):
    """What the affine backward pass needs from the forward pass."""

    x: np.ndarray  # the input, (N, d_1, ..., d_k)
    w: np.ndarray  # the weights, (D, M)


def affine_forward(x, w, b):
    """Affine (fully connected) layer: ``out = x.reshape(N, D) @ w + b``.

    Inputs:
    - x: array of shape (N, d_1, ..., d_k); each example is flattened to D = d_1 * ... * d_k
    - w: weights of shape (D, M)
    - b: biases of shape (M,)

    Returns a tuple of:
    - out: array of shape (N, M)
    - cache: an ``AffineCache`` (x, w), for the backward pass
    """
    layer = "affine_forward"
    for name, a in (("x", x), ("w", w), ("b", b)):
        check_array(name, layer, a)
    if x.ndim < 2:
        raise ValueError(
            f"{layer}: x must have shape (N, d_1, ..., d_k), one row per example, got shape "
            f"{x.shape}; a single example of D values is x.reshape(1, D)"
        )
    if w.ndim != 2:
        raise ValueError(f"{layer}: w must be 2-D of shape (D, M), got shape {w.shape}")
    check_shape("w", layer, w, (math.prod(x.shape[1:]), w.shape[1]), match=("x", x))
    check_shape("b", layer, b, (w.shape[1],), match=("w", w))
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], w.shape[0]) @ w + b  # each example flattened to w's D inputs
    cache = AffineCache(x, w)
    ### END SOLUTION
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of ``affine_forward``.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k)
    - dw: gradient with respect to w, shape (D, M)
    - db: gradient with respect to b, shape (M,)
    """
    layer = "affine_backward"
    check_array("dout", layer, dout)
    check_cache(layer, cache, "affine_forward")
    if isinstance(cache, AffineCache):
        shape = (cache.x.shape[0], cache.w.shape[1])
        check_shape("dout", layer, dout, shape, "(N, M) of the forward's output")
    ### BEGIN SOLUTION
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], w.shape[0]).T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dw, db


# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------


def relu_forward(x):
    """Rectified linear unit, ``out = max(x, 0)`` elementwise.

    Input:
    - x: array of any shape

    Returns a tuple of:
    - out: array of the same shape as x
    - cache: x
    """
    check_array("x", "relu_forward", x)
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    cache = x
    ### END SOLUTION
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: the gradient flows where x > 0 and is 0 elsewhere
    (at x == 0 a subgradient: nndl, like CS231n, passes none). Neither ``dout`` nor the cache is
    modified.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: the cache from the forward pass (nndl's: x)

    Returns:
    - dx: gradient with respect to x
    """
    layer = "relu_backward"
    check_array("dout", layer, dout)
    check_cache(layer, cache, "relu_forward")
    if isinstance(cache, np.ndarray):  # nndl's cache, x
        check_shape("dout", layer, dout, cache.shape, "(the shape of the forward's x)")
    ### BEGIN SOLUTION
    x = cache
    dx = np.where(x > 0, dout, 0)
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


DROPOUT_PARAM_KEYS = frozenset({"p", "mode", "seed", "rng"})


def _dropout_rng(dropout_param):
    """A fixed ``seed`` gives the same mask at every call (what a gradient check needs); an
    ``rng`` Generator gives a new, reproducible mask at every call (what training needs);
    neither draws from NumPy's global generator, so that ``np.random.seed`` makes a run
    reproducible, as in the CS231n notebooks."""
    if dropout_param.get("seed") is not None:
        return np.random.default_rng(dropout_param["seed"])
    if dropout_param.get("rng") is not None:
        return dropout_param["rng"]
    return np.random  # its functions draw from the global generator that np.random.seed seeds


def _check_dropout_param(layer: str, dropout_param) -> tuple[float, str]:
    """Check ``dropout_param`` and return its probability p (a float) and its mode."""
    check_param_dict(layer, "dropout_param", dropout_param, DROPOUT_PARAM_KEYS)
    if "p" not in dropout_param:
        raise ValueError(f"{layer}: dropout_param needs 'p', the probability of dropping a unit")
    p = check_number("dropout_param['p']", layer, dropout_param["p"], 0, 1, "[)")
    mode = check_mode(layer, "dropout_param['mode']", dropout_param.get("mode", "train"))
    if dropout_param.get("seed") is not None:
        check_integer("dropout_param['seed']", layer, dropout_param["seed"], 0)
    rng = dropout_param.get("rng")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{layer}: dropout_param['rng'] must be a numpy Generator (np.random.default_rng(...)) "
            f"or None, got {type(rng).__name__} {rng!r}; for the same mask at every call, "
            "pass an integer as dropout_param['seed']"
        )
    return p, mode


class DropoutCache(NamedTuple):
    """What the dropout backward pass needs from the forward pass."""

    dropout_param: dict  # the forward's dropout_param
    mask: np.ndarray | None  # 0 for a dropped unit, 1 / (1 - p) for a kept one; None in test mode


def dropout_forward(x, dropout_param):
    """Inverted dropout: in train mode each unit is dropped (set to 0) with probability p and
    the kept ones are scaled by 1 / (1 - p), so that the expected output equals x and test mode
    needs no rescaling.

    Inputs:
    - x: array of any shape
    - dropout_param: dict with keys
      - p: probability of dropping a unit, 0 <= p < 1 (CS231n 2019+ passes the probability of
        keeping one instead)
      - mode: 'train' or 'test' (default 'train'); test mode returns x unchanged
      - seed: optional int >= 0; the same seed gives the same mask at every call
      - rng: optional numpy Generator, used when there is no seed; with neither, the mask comes
        from NumPy's global generator (``np.random.seed``)

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: a ``DropoutCache`` (dropout_param, mask); mask is None in test mode
    """
    layer = "dropout_forward"
    check_array("x", layer, x)
    p, mode = _check_dropout_param(layer, dropout_param)
    ### BEGIN SOLUTION
    if mode == "train":
        keep = _dropout_rng(dropout_param).random(x.shape) >= p
        mask = keep.astype(x.dtype) / (1 - p)
        out = x * mask
    else:
        mask = None
        out = x
    cache = DropoutCache(dropout_param, mask)
    ### END SOLUTION
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass of ``dropout_forward``.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: the cache from the forward pass

    Returns:
    - dx: gradient with respect to x
    """
    layer = "dropout_backward"
    check_array("dout", layer, dout)
    check_cache(layer, cache, "dropout_forward")
    if isinstance(cache, DropoutCache) and cache.mask is not None:
        check_shape("dout", layer, dout, cache.mask.shape, "(the shape of the forward's x)")
    ### BEGIN SOLUTION
    _, mask = cache
    dx = dout if mask is None else dout * mask  # test mode: the forward pass was the identity
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def _check_scores(layer: str, x, y) -> np.ndarray:
    check_array("x", layer, x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(
            f"{layer}: x must be 2-D scores of shape (N, C) with N >= 1 (the loss is a mean "
            f"over the examples), got shape {x.shape}"
        )
    return check_labels(layer, y, *x.shape)


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    Inputs:
    - x: scores of shape (N, C)
    - y: integer labels of shape (N,), 0 <= y[i] < C

    Returns a tuple of:
    - loss: scalar
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    y = _check_scores("svm_loss", x, y)
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] -= dx.sum(axis=1)
    dx /= N
    ### END SOLUTION
    return loss, dx


def softmax_loss(x, y):
    """Softmax cross-entropy loss, averaged over the batch, computed through log-sum-exp so
    that it stays finite for large scores and for probabilities that underflow to 0.

    Inputs:
    - x: scores of shape (N, C); not modified
    - y: integer labels of shape (N,), 0 <= y[i] < C

    Returns a tuple of:
    - loss: scalar
    - dx: gradient of the loss with respect to x, shape (N, C)
    """
    y = _check_scores("softmax_loss", x, y)
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    ### END SOLUTION
    return loss, dx
