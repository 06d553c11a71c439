"""The layers of a fully connected network as pairs of pure functions, ``forward(x, params...)
-> (out, cache)`` and ``backward(dout, cache) -> grads``, with the CS231n signatures: affine,
ReLU, dropout and the two losses here, batch normalization in ``nndl.batchnorm`` (importable
from here too, as in CS231n's ``layers.py``).

Every forward sits next to its backward. The functions only do arithmetic that NumPy object
arrays support too, so the same code runs on arrays of sympy symbols: ``derivations/`` uses that
to prove the backward passes exact.

The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are what a student writes; the
lab's student copy replaces them (see ``nndl.lab``).
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from nndl.validation import (
    check_array,
    check_integer,
    check_labels,
    check_mode,
    check_number,
    check_param_dict,
    check_shape,
)

# The normalization layers live in modules of their own and are importable from here, as in
# CS231n's layers.py. They are looked up on first use (PEP 562) rather than imported now, so that
# a student's broken batchnorm.py does not stop the affine or ReLU layers from importing.
_REEXPORTED = {
    name: "nndl.batchnorm"
    for name in (
        "BN_MODES",
        "BatchNormCache",
        "batch_statistics",
        "batchnorm_forward",
        "batchnorm_backward",
        "batchnorm_backward_alt",
    )
}
# Layer norm, spatial batch norm and group norm, likewise.
_REEXPORTED.update(
    dict.fromkeys(
        ("LayerNormCache", "layernorm_forward", "layernorm_backward", "layernorm_backward_alt"),
        "nndl.layernorm",
    )
)
_REEXPORTED.update(
    dict.fromkeys(
        (
            "SpatialBatchNormCache",
            "spatial_batchnorm_forward",
            "spatial_batchnorm_backward",
            "spatial_batchnorm_backward_alt",
            "GroupNormCache",
            "spatial_groupnorm_forward",
            "spatial_groupnorm_backward",
            "spatial_groupnorm_backward_alt",
        ),
        "nndl.spatial",
    )
)


def __getattr__(name: str):
    if name in _REEXPORTED:
        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_REEXPORTED])


def _check_cache(layer: str, cache, expected: str) -> None:
    if not (isinstance(cache, tuple) and len(cache) == 2):
        raise TypeError(f"{layer}: cache must be {expected}, got {type(cache).__name__}")


# --------------------------------------------------------------------------------------------
# Affine
# --------------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    """Affine (fully connected) layer: ``out = x.reshape(N, D) @ w + b``.

    Inputs:
    - x: array of shape (N, d_1, ..., d_k); each example is flattened to D = d_1 * ... * d_k
    - w: weights of shape (D, M)
    - b: biases of shape (M,)

    Returns a tuple of:
    - out: array of shape (N, M)
    - cache: (x, w), for the backward pass
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
    D = math.prod(x.shape[1:])
    check_shape("w", layer, w, (D, w.shape[1]), match=("x", x))
    check_shape("b", layer, b, (w.shape[1],), match=("w", w))
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], D) @ w + b
    ### END SOLUTION
    return out, (x, w)


def affine_backward(dout, cache):
    """Backward pass of ``affine_forward``.

    Inputs:
    - dout: upstream gradient of shape (N, M)
    - cache: (x, w) from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, d_1, ..., d_k)
    - dw: gradient with respect to w, shape (D, M)
    - db: gradient with respect to b, shape (M,)
    """
    layer = "affine_backward"
    _check_cache(layer, cache, "the (x, w) tuple returned by affine_forward")
    x, w = cache
    check_array("dout", layer, dout)
    check_shape("dout", layer, dout, (x.shape[0], w.shape[1]), "(N, M) of the forward's output")
    ### BEGIN SOLUTION
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
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
    ### END SOLUTION
    return out, x


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: the gradient flows where x > 0 and is 0 elsewhere
    (including x == 0). Neither ``dout`` nor the cache is modified.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: x from the forward pass

    Returns:
    - dx: gradient with respect to x
    """
    x = cache
    check_array("cache", "relu_backward", x)  # relu_forward's cache is its input x
    check_array("dout", "relu_backward", dout)
    check_shape("dout", "relu_backward", dout, x.shape, "(the shape of the forward's x)")
    ### BEGIN SOLUTION
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


def dropout_forward(x, dropout_param):
    """Inverted dropout: in train mode each unit is dropped (set to 0) with probability p and
    the kept ones are scaled by 1 / (1 - p), so that the expected output equals x and test mode
    needs no rescaling.

    Inputs:
    - x: array of any shape
    - dropout_param: dict with keys
      - p: probability of dropping a unit, 0 <= p < 1
      - mode: 'train' or 'test' (default 'train'); test mode returns x unchanged
      - seed: optional int >= 0; the same seed gives the same mask at every call
      - rng: optional numpy Generator, used when there is no seed; with neither, the mask comes
        from NumPy's global generator (``np.random.seed``)

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: (dropout_param, mask); mask is None in test mode
    """
    layer = "dropout_forward"
    check_array("x", layer, x)
    p, mode = _check_dropout_param(layer, dropout_param)

    mask = None
    if mode == "train":
        ### BEGIN SOLUTION
        keep = _dropout_rng(dropout_param).random(x.shape) >= p
        mask = keep.astype(x.dtype) / (1 - p)
        out = x * mask
        ### END SOLUTION
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of ``dropout_forward``.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: (dropout_param, mask) from the forward pass

    Returns:
    - dx: gradient with respect to x
    """
    layer = "dropout_backward"
    _check_cache(layer, cache, "the (dropout_param, mask) tuple returned by dropout_forward")
    _, mask = cache
    check_array("dout", layer, dout)
    if mask is None:  # test mode: the forward pass was the identity
        return dout
    check_shape("dout", layer, dout, mask.shape, "(the shape of the forward's x)")
    ### BEGIN SOLUTION
    dx = dout * mask
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
    N = x.shape[0]
    rows = np.arange(N)
    ### BEGIN SOLUTION
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
    N = x.shape[0]
    rows = np.arange(N)
    ### BEGIN SOLUTION
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    ### END SOLUTION
    return loss, dx
