"""Batch normalization for fully connected layers: ``batchnorm_forward`` in train and test mode
and its two backward passes, staged (node by node) and closed form.

The forward pass is a small computation graph; each node has one name, used here, in
``derivations/batchnorm.py`` and in the book::

    mu      = mean(x)                  mean
    xc      = x - mu                   centred input
    var     = mean(xc ** 2)            variance (biased)
    inv_std = (var + eps) ** -1/2      inverse std
    xhat    = xc * inv_std             normalised input
    out     = gamma * xhat + beta      output (scale and shift)

The functions only do arithmetic that NumPy object arrays support too, so the same code runs on
arrays of sympy symbols. The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are
what a student writes (see ``nndl.lab``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nndl.validation import (
    check_array,
    check_mode,
    check_number,
    check_param_dict,
    check_shape,
)

BN_MODES = ("train", "test")


class BatchNormCache(NamedTuple):
    """What the batch-norm backward passes need from the forward pass."""

    mode: str  # "train" (mean and variance depend on x) or "test" (they are constants)
    xc: np.ndarray  # centred input, (N, D)
    xhat: np.ndarray  # normalised input, (N, D)
    inv_std: np.ndarray  # inverse standard deviation, (D,)
    gamma: np.ndarray  # scale, (D,)


# bn_param's defaults (CS231n's), named so that the book can state the ones it ran with.
DEFAULT_EPS = 1e-5
DEFAULT_MOMENTUM = 0.9
BN_PARAM_KEYS = frozenset({"mode", "eps", "momentum", "running_mean", "running_var"})
_VAR = "bn_param['running_var']"


def _check_batchnorm_inputs(x, gamma, beta, bn_param) -> tuple[str, float, float]:
    """Check the forward's inputs; return the mode, eps and momentum (floats, or symbols in a
    symbolic run)."""
    layer = "batchnorm_forward"
    for name, a in (("x", x), ("gamma", gamma), ("beta", beta)):
        check_array(name, layer, a)
    if x.ndim != 2:
        raise ValueError(f"{layer}: x must be 2-D of shape (N, D), got shape {x.shape}")
    N, D = x.shape
    check_shape("gamma", layer, gamma, (D,), match=("x", x))
    check_shape("beta", layer, beta, (D,), match=("x", x))
    return check_bn_param(layer, bn_param, x, N, D)


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
    mode, eps, momentum = _check_batchnorm_inputs(x, gamma, beta, bn_param)
    D = x.shape[1]
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
    return out, BatchNormCache(mode=mode, xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma)


def _check_batchnorm_backward(name: str, dout, cache) -> None:
    if not isinstance(cache, BatchNormCache):
        raise TypeError(
            f"{name}: cache must be the BatchNormCache returned by batchnorm_forward, "
            f"got {type(cache).__name__}"
        )
    check_array("dout", name, dout)
    check_shape("dout", name, dout, cache.xhat.shape, "(the shape of the forward's x)")


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
    xc, xhat, inv_std, gamma = cache.xc, cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    ### BEGIN SOLUTION
    # out = gamma * xhat + beta: d out/d xhat = gamma
    dxhat = dout * gamma
    if cache.mode == "train":
        # xhat = xc * inv_std: d xhat/d inv_std = xc, summed over the batch (inv_std is shared)
        dinv_std = (dxhat * xc).sum(axis=0)
        # inv_std = (var + eps) ** -1/2: d inv_std/d var = -1/2 (var + eps) ** -3/2
        dvar = -0.5 * inv_std**3 * dinv_std
        # xc reaches the output along two paths: through xhat (d xhat/d xc = inv_std) and
        # through var = mean(xc ** 2) (d var/d xc = 2 xc / N)
        dxc = dxhat * inv_std + (2 * xc / N) * dvar
        # xc = x - mu: d xc/d mu = -1
        dmu = -dxc.sum(axis=0)
        # x reaches xc directly (d xc/d x = 1) and through mu = mean(x) (d mu/d x = 1 / N)
        dx = dxc + dmu / N
    else:
        # Test mode: the running statistics are constants, so xc = x - running_mean is the
        # only node between x and xhat.
        dxc = dxhat * inv_std
        dx = dxc
    # out = gamma * xhat + beta: d out/d gamma = xhat and d out/d beta = 1, summed over the batch
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of ``batchnorm_forward`` in closed form (derived in ``derivations/``)::

        dx = gamma * inv_std / N * (N * dout - sum(dout) - xhat * sum(dout * xhat))

    with the sums over the batch. It allocates one (N, D) array, the result.

    Inputs and returns as ``batchnorm_backward``.
    """
    _check_batchnorm_backward("batchnorm_backward_alt", dout, cache)
    xhat, inv_std, gamma = cache.xhat, cache.inv_std, cache.gamma
    N = dout.shape[0]
    ### BEGIN SOLUTION
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    if cache.mode == "test":
        return dout * (gamma * inv_std), dgamma, dbeta
    # dx = gamma * inv_std * (dout - (dbeta + xhat * dgamma) / N), built in place.
    dx = xhat * (dgamma / N)
    dx += dbeta / N
    np.subtract(dout, dx, out=dx)
    dx *= gamma * inv_std
    ### END SOLUTION
    return dx, dgamma, dbeta
