"""Layers as pairs of pure functions: ``forward(x, params...) -> (out, cache)`` and
``backward(dout, cache) -> grads``, with the CS231n signatures.

Every forward sits next to its backward. The functions only do arithmetic that NumPy object
arrays support too, so the same code runs on arrays of sympy symbols: ``derivations/`` uses that
to prove the backward passes exact.

The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are what a student writes; the
lab's student copy replaces them (see ``nndl.lab``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

BN_MODES = ("train", "test")


# --------------------------------------------------------------------------------------------
# Input checks shared by the layers
# --------------------------------------------------------------------------------------------


def _check_array(name: str, layer: str, a: Any) -> np.ndarray:
    """Return ``a`` if it is a float (or object, for symbolic runs) array, else raise."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{layer}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in "fO":  # floating, or object for symbolic runs
        raise TypeError(
            f"{layer}: {name} must have a floating dtype (float32 or float64), got {a.dtype}"
        )
    return a


def _check_shape(name: str, layer: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise ValueError(f"{layer}: {name} must have shape {shape}, got {a.shape}")


def _check_labels(layer: str, y: Any, num_samples: int, num_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (num_samples,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{layer}: y must be an integer array of shape ({num_samples},), "
            f"got {y.dtype} of shape {y.shape}"
        )
    if num_samples and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{layer}: labels must lie in [0, {num_classes}), got range [{y.min()}, {y.max()}]"
        )
    return y


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
        _check_array(name, layer, a)
    if x.ndim < 1 or w.ndim != 2:
        raise ValueError(f"{layer}: need x of shape (N, ...) and w of shape (D, M), got {w.shape}")
    D = math.prod(x.shape[1:])
    _check_shape("w", layer, w, (D, w.shape[1]))
    _check_shape("b", layer, b, (w.shape[1],))
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
    x, w = cache
    _check_shape("dout", "affine_backward", dout, (x.shape[0], w.shape[1]))
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
    _check_array("x", "relu_forward", x)
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
    _check_shape("dout", "relu_backward", dout, x.shape)
    ### BEGIN SOLUTION
    dx = np.where(x > 0, dout, 0)
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------------------------
# Batch normalization
#
# The forward pass is a small computation graph; each node has a name used in derivations/
# and in the book as well:
#
#     mu      = mean(x)                  mean
#     xc      = x - mu                   centred input
#     var     = mean(xc ** 2)            variance (biased)
#     inv_std = (var + eps) ** -1/2      inverse std
#     xhat    = xc * inv_std             normalised input
#     out     = gamma * xhat + beta      output (scale and shift)
# --------------------------------------------------------------------------------------------


class BatchNormCache(NamedTuple):
    """What the batch-norm backward passes need from the forward pass."""

    mode: str  # "train" (mean and variance depend on x) or "test" (they are constants)
    xc: np.ndarray  # centred input, (N, D)
    xhat: np.ndarray  # normalised input, (N, D)
    inv_std: np.ndarray  # inverse standard deviation, (D,)
    gamma: np.ndarray  # scale, (D,)


def _check_batchnorm_inputs(x, gamma, beta, bn_param) -> tuple[str, int]:
    layer = "batchnorm_forward"
    for name, a in (("x", x), ("gamma", gamma), ("beta", beta)):
        _check_array(name, layer, a)
    if x.ndim != 2:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D), got shape {x.shape}")
    N, D = x.shape
    _check_shape("gamma", layer, gamma, (D,))
    _check_shape("beta", layer, beta, (D,))
    mode = bn_param.get("mode", "train")
    if mode not in BN_MODES:
        raise ValueError(f"{layer}: bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    if mode == "train" and N < 1:
        raise ValueError(f"{layer}: train mode needs at least one example, got N = {N}")
    for key in ("running_mean", "running_var"):
        if key in bn_param:
            _check_shape(f"bn_param[{key!r}]", layer, np.asarray(bn_param[key]), (D,))
    return mode, D


def batch_statistics(x, eps):
    """The train-mode nodes of the graph: mean, centred input, variance, inverse std and
    normalised input of a batch ``x`` of shape (N, D)."""
    ### BEGIN SOLUTION
    N = x.shape[0]
    mu = x.sum(axis=0) / N  # x.mean would cost an extra Python call, noticeable at small N, D
    xc = x - mu
    var = np.einsum("nd,nd->d", xc, xc) / N  # mean(xc**2) without an (N, D) temporary
    inv_std = (var + eps) ** -0.5
    xhat = xc * inv_std
    ### END SOLUTION
    return mu, xc, var, inv_std, xhat


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of a batch of shape (N, D), feature by feature.

    Train mode normalises with the batch mean and (biased) variance and updates the running
    averages in ``bn_param``::

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * batch_var

    Test mode normalises with the running averages instead and leaves them unchanged.

    Inputs:
    - x: data of shape (N, D)
    - gamma: scale of shape (D,)
    - beta: shift of shape (D,)
    - bn_param: dict with keys
      - mode: 'train' or 'test' (default 'train')
      - eps: constant for numeric stability (default 1e-5)
      - momentum: constant for the running averages (default 0.9)
      - running_mean: array of shape (D,) (default zeros; written back in train mode)
      - running_var: array of shape (D,) (default ones, so that test mode before any
        training leaves the scale of x alone; written back in train mode)

    Returns a tuple of:
    - out: array of shape (N, D)
    - cache: a ``BatchNormCache`` for the backward pass
    """
    mode, D = _check_batchnorm_inputs(x, gamma, beta, bn_param)
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))

    if mode == "train":
        mu, xc, var, inv_std, xhat = batch_statistics(x, eps)
        ### BEGIN SOLUTION
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
        ### END SOLUTION
    else:
        ### BEGIN SOLUTION
        xc = x - running_mean
        inv_std = (running_var + eps) ** -0.5
        xhat = xc * inv_std
        ### END SOLUTION

    ### BEGIN SOLUTION
    out = xhat * gamma
    out += beta
    ### END SOLUTION
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, BatchNormCache(mode, xc, xhat, inv_std, gamma)


def _check_batchnorm_backward(name: str, dout, cache) -> None:
    if not isinstance(cache, BatchNormCache):
        raise TypeError(f"{name}: cache must be the BatchNormCache returned by batchnorm_forward")
    _check_shape("dout", name, dout, cache.xhat.shape)


def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward``, staged: one block per node of the computation
    graph, from the output back to the input, each applying that node's local derivative.

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: the ``BatchNormCache`` from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    _check_batchnorm_backward("batchnorm_backward", dout, cache)
    mode, xc, xhat, inv_std, gamma = cache
    N = dout.shape[0]
    ### BEGIN SOLUTION
    # out = gamma * xhat + beta: d out/d beta = 1, d out/d gamma = xhat, d out/d xhat = gamma
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma

    # xhat = xc * inv_std: d xhat/d xc = inv_std, d xhat/d inv_std = xc
    dxc = dxhat * inv_std
    if mode == "test":
        # The running statistics are constants: the graph ends here.
        return dxc, dgamma, dbeta
    dinv_std = (dxhat * xc).sum(axis=0)

    # inv_std = (var + eps) ** -1/2: d inv_std/d var = -1/2 (var + eps) ** -3/2 = -inv_std**3 / 2
    dvar = -0.5 * inv_std**3 * dinv_std

    # var = mean(xc ** 2): d var/d xc = 2 xc / N (a second path into xc)
    dxc = dxc + (2 * xc / N) * dvar

    # xc = x - mu: d xc/d x = 1, d xc/d mu = -1
    dmu = -dxc.sum(axis=0)
    dx = dxc

    # mu = mean(x): d mu/d x = 1 / N (every example gets an equal share)
    dx = dx + dmu / N
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of ``batchnorm_forward`` in closed form (derived in ``derivations/``)::

        dx = gamma * inv_std / N * (N * dout - sum(dout) - xhat * sum(dout * xhat))

    with the sums over the batch. It allocates one (N, D) array, the result.

    Inputs and returns as ``batchnorm_backward``.
    """
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    mode, _, xhat, inv_std, gamma = cache
    N = dout.shape[0]
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    if mode == "test":
        return dout * (gamma * inv_std), dgamma, dbeta
    # dx = gamma * inv_std * (dout - (dbeta + xhat * dgamma) / N), built in place.
    dx = xhat * (dgamma / N)
    dx += dbeta / N
    np.subtract(dout, dx, out=dx)
    dx *= gamma * inv_std
    ### END SOLUTION
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


def _dropout_rng(dropout_param) -> np.random.Generator:
    """A fixed ``seed`` gives the same mask at every call (what a gradient check needs); an
    ``rng`` Generator gives a new, reproducible mask at every call (what training needs)."""
    if dropout_param.get("seed") is not None:
        return np.random.default_rng(dropout_param["seed"])
    if dropout_param.get("rng") is not None:
        return dropout_param["rng"]
    return np.random.default_rng()


def dropout_forward(x, dropout_param):
    """Inverted dropout: in train mode each unit is dropped (set to 0) with probability p and
    the kept ones are scaled by 1 / (1 - p), so that the expected output equals x and test mode
    needs no rescaling.

    Inputs:
    - x: array of any shape
    - dropout_param: dict with keys
      - p: probability of dropping a unit, 0 <= p < 1
      - mode: 'train' or 'test' (default 'train'); test mode returns x unchanged
      - seed: optional int; the same seed gives the same mask at every call
      - rng: optional numpy Generator, used when there is no seed

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: (dropout_param, mask); mask is None in test mode
    """
    layer = "dropout_forward"
    _check_array("x", layer, x)
    p = dropout_param.get("p")
    mode = dropout_param.get("mode", "train")
    if p is None or not 0 <= p < 1:
        raise ValueError(f"{layer}: dropout_param['p'] must be a probability in [0, 1), got {p!r}")
    if mode not in ("train", "test"):
        raise ValueError(f"{layer}: dropout_param['mode'] must be 'train' or 'test', got {mode!r}")

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
    _, mask = cache
    if mask is None:  # test mode: the forward pass was the identity
        return dout
    _check_shape("dout", "dropout_backward", dout, mask.shape)
    ### BEGIN SOLUTION
    dx = dout * mask
    ### END SOLUTION
    return dx


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


def _check_scores(layer: str, x, y) -> np.ndarray:
    _check_array("x", layer, x)
    if x.ndim != 2:
        raise ValueError(f"{layer}: x must be 2-D scores of shape (N, C), got shape {x.shape}")
    return _check_labels(layer, y, *x.shape)


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
