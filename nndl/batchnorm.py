"""Batch normalization for fully connected layers: ``batchnorm_forward`` in train and test mode
and its two backward passes, staged (node by node) and closed form.

Batch norm is the normalization core (``nndl.normalization``) over the batch axis, feature by
feature, plus bookkeeping: train mode normalises with the batch's mean and variance and averages
them into running statistics, which test mode normalises with instead. The core's six nodes
(mu, xc, var, inv_std, xhat, out) have one name, used there, in ``derivations/`` and in the book.

The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are what a student writes (see
``nndl.lab``); the fast versions that the network uses are in ``nndl.fast``.
"""

from __future__ import annotations

import numpy as np

from nndl.normalization import (
    NormalizationCache,
    normalization_backward,
    normalization_backward_alt,
    normalization_forward,
)
from nndl.table import BN_DEFAULTS
from nndl.validation import (
    check_array,
    check_cache,
    check_mode,
    check_number,
    check_param_dict,
    check_scale_and_shift,
    check_shape,
)

BN_MODES = ("train", "test")
# bn_param's defaults (CS231n's, from the table of layers), named so that the book can state
# the ones it ran with.
DEFAULT_EPS = BN_DEFAULTS["eps"]
DEFAULT_MOMENTUM = BN_DEFAULTS["momentum"]
BN_PARAM_KEYS = frozenset({"mode", "eps", "momentum", "running_mean", "running_var"})
BATCH_AXIS = (0,)  # the axis of x (N, D) the statistics are taken over
_VAR = "bn_param['running_var']"


def _check_batchnorm_inputs(x, gamma, beta, bn_param, layer="batchnorm_forward") -> tuple:
    """Check the forward's inputs; return gamma and beta (integer ones converted to x's dtype),
    the mode, eps and momentum (floats, or symbols in a symbolic run)."""
    check_array("x", layer, x)
    gamma, beta = check_scale_and_shift(layer, x, gamma, beta)
    if x.ndim != 2:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D), got shape {x.shape}")
    N, D = x.shape
    check_shape("gamma", layer, gamma, (D,), match=("x", x))
    check_shape("beta", layer, beta, (D,), match=("x", x))
    return (gamma, beta, *check_bn_param(layer, bn_param, x, N, D))


def check_bn_param(layer, bn_param, x, N, D) -> tuple[str, float, float]:
    """Check bn_param for an input x that holds N examples of D features (its keys, mode, eps,
    momentum, and running statistics of shape (D,)); return the mode, eps and momentum.
    ``layer`` is the function that the messages name: spatial batch norm checks its bn_param
    under its own name before handing it to batchnorm_forward."""
    symbolic = x.dtype == object
    check_param_dict(layer, "bn_param", bn_param, BN_PARAM_KEYS)
    mode = check_mode(layer, "bn_param['mode']", bn_param.get("mode", "train"), BN_MODES)
    if mode == "train" and N < 1:
        raise ValueError(f"{layer}: train mode needs at least one example, got N = {N}")
    eps = check_number(
        "bn_param['eps']", layer, bn_param.get("eps", DEFAULT_EPS), 0, np.inf, "()", symbolic
    )
    momentum = bn_param.get("momentum", DEFAULT_MOMENTUM)
    momentum = check_number("bn_param['momentum']", layer, momentum, 0, 1, "[]", symbolic)
    for key, name in (("running_mean", "bn_param['running_mean']"), ("running_var", _VAR)):
        if key in bn_param:
            check_array(name, layer, bn_param[key])
            check_shape(name, layer, bn_param[key], (D,), match=("x", x))
    running_var = bn_param.get("running_var")
    if running_var is not None and running_var.dtype != object and running_var.size:
        lowest = np.minimum.reduce(running_var)  # one pass over D values; NaN if any is NaN
        if not lowest >= 0:
            why = "; a NaN in x in train mode makes the running averages NaN"
            why = why if np.isnan(lowest) else ""
            raise ValueError(
                f"{layer}: {_VAR} must be >= 0 (a variance), got a minimum of {lowest}{why}"
            )
    return mode, eps, momentum


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
    - cache: a ``NormalizationCache`` for the backward pass (statistics of shape (1, D))
    """
    gamma, beta, mode, eps, momentum = _check_batchnorm_inputs(x, gamma, beta, bn_param)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    ### BEGIN SOLUTION
    if mode == "train":
        out, cache = normalization_forward(x, gamma, beta, eps, BATCH_AXIS)
        # the batch's mean and variance, of shape (1, D), averaged into the running ones
        running_mean = momentum * running_mean + (1 - momentum) * cache.mu[0]
        running_var = momentum * running_var + (1 - momentum) * cache.var[0]
    else:
        running = (running_mean, running_var)
        out, cache = normalization_forward(x, gamma, beta, eps, BATCH_AXIS, running)
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    ### END SOLUTION
    return out, cache


def _check_batchnorm_backward(layer: str, dout, cache) -> None:
    """The backward's argument checks: dout an array, of x's shape when the cache is nndl's own
    (a student's cache is the student's choice)."""
    check_array("dout", layer, dout)
    check_cache(layer, cache, "batchnorm_forward")
    if isinstance(cache, NormalizationCache):
        check_shape("dout", layer, dout, cache.xhat.shape, "(the shape of the forward's x)")


def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward``, staged: one block per node of the computation
    graph, from the output back to the input (``nndl.normalization.normalization_backward``).

    Inputs:
    - dout: upstream gradient of shape (N, D)
    - cache: the cache from the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, shape (N, D)
    - dgamma: gradient with respect to gamma, shape (D,)
    - dbeta: gradient with respect to beta, shape (D,)
    """
    _check_batchnorm_backward("batchnorm_backward", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward(dout, cache)
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of ``batchnorm_forward`` in closed form (derived in ``derivations/``)::

        dx = gamma * inv_std / N * (N * dout - sum(dout) - xhat * sum(dout * xhat))

    with the sums over the batch (``nndl.normalization.normalization_backward_alt``).

    Inputs and returns as ``batchnorm_backward``.
    """
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    ### BEGIN SOLUTION
    dx, dgamma, dbeta = normalization_backward_alt(dout, cache)
    ### END SOLUTION
    return dx, dgamma, dbeta
