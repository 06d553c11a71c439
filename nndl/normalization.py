"""The normalization core: the six nodes of batch norm's graph over any axes, forward, staged
backward and closed form, written once.

Batch norm is this core over the batch axis plus running averages (``nndl.batchnorm``), layer
norm the core over the feature axis (``nndl.layernorm``), group norm the core over a group's
channels and positions (``nndl.spatial``), spatial batch norm batch norm on the pixels. Each node
has one name, used here, in ``derivations/normalization.py`` and in the book::

    mu      = mean(x)                  mean, over ``axes``
    xc      = x - mu                   centred input
    var     = mean(xc ** 2)            variance (biased), over ``axes``
    inv_std = (var + eps) ** -1/2      inverse std
    xhat    = xc * inv_std             normalised input
    out     = gamma * xhat + beta      output (scale and shift)

The statistics (mu, var, inv_std) keep the averaged axes with size 1, so that they broadcast
against x; gamma and beta have any shape that broadcasts against x, and their gradients are
summed over the axes along which they are broadcast. In batch norm's test mode the mean and the
variance are given (the running averages): constants of the graph, so that x reaches the output
along the direct path only.

The code is the clearest correct code, one expression per node, and only does arithmetic that
NumPy object arrays support too, so the same code runs on arrays of sympy symbols. The fast
versions (in place, blocked, BLAS) are in ``nndl.fast``. The parts between ``### BEGIN
SOLUTION`` and ``### END SOLUTION`` are what a student writes (see ``nndl.lab``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class NormalizationCache(NamedTuple):
    """The nodes of one forward pass of the core, by their names, and what the backward passes
    need to know about them."""

    mode: str  # "train": mu and var are x's statistics; "test": given constants (running averages)
    axes: tuple[int, ...]  # the axes of x the statistics are taken over
    mu: np.ndarray  # mean, x's shape with the averaged axes of size 1
    xc: np.ndarray  # centred input, x's shape
    var: np.ndarray  # variance, as mu
    inv_std: np.ndarray  # inverse standard deviation, as mu
    xhat: np.ndarray  # normalised input, x's shape
    gamma: np.ndarray  # scale, broadcast against x


def summed_to(a, shape):
    """``a`` summed over the axes along which an array of ``shape`` is broadcast to a's shape:
    the gradient of a parameter of that shape that every value of ``a`` used."""
    leading = a.ndim - len(shape)
    broadcast = [leading + axis for axis, size in enumerate(shape) if size == 1]
    return np.reshape(a.sum(axis=(*range(leading), *broadcast)), shape)


def normalization_forward(x, gamma, beta, eps, axes, running=None):
    """The six nodes, from x to the output.

    Inputs:
    - x: data of any shape
    - gamma, beta: scale and shift, of shapes that broadcast against x
    - eps: constant added to the variance for numeric stability
    - axes: tuple of the axes of x that the mean and the variance are taken over
    - running: None (the statistics are x's) or the pair (running_mean, running_var) that
      batch norm's test mode normalises with, of shapes that broadcast against x

    Returns a tuple of:
    - out: array of x's shape
    - cache: a ``NormalizationCache``
    """
    ### BEGIN SOLUTION
    mode = "train" if running is None else "test"
    mu = x.mean(axis=axes, keepdims=True) if running is None else running[0]
    xc = x - mu
    var = (xc**2).mean(axis=axes, keepdims=True) if running is None else running[1]
    inv_std = (var + eps) ** -0.5
    xhat = xc * inv_std
    out = gamma * xhat + beta
    cache = NormalizationCache(mode, axes, mu, xc, var, inv_std, xhat, gamma)
    ### END SOLUTION
    return out, cache


def normalization_backward(dout, cache):
    """The staged backward: one block per node of the graph, from the output back to the input,
    each applying that node's local derivative.

    Inputs:
    - dout: upstream gradient, of the forward's x's shape
    - cache: the ``NormalizationCache`` of the forward pass

    Returns a tuple of:
    - dx: gradient with respect to x, x's shape
    - dgamma, dbeta: gradients with respect to gamma and beta, of gamma's shape
    """
    ### BEGIN SOLUTION
    xc, inv_std, xhat, gamma = cache.xc, cache.inv_std, cache.xhat, cache.gamma
    count = math.prod(xc.shape[axis] for axis in cache.axes)  # values per statistic
    # out = gamma * xhat + beta: d out/d xhat = gamma
    dxhat = dout * gamma
    if cache.mode == "train":
        # xhat = xc * inv_std: d xhat/d inv_std = xc, summed over the values that share inv_std
        dinv_std = (dxhat * xc).sum(axis=cache.axes, keepdims=True)
        # inv_std = (var + eps) ** -1/2: d inv_std/d var = -1/2 (var + eps) ** -3/2
        dvar = -0.5 * inv_std**3 * dinv_std
        # xc reaches the output along two paths: through xhat (d xhat/d xc = inv_std) and
        # through var = mean(xc ** 2) (d var/d xc = 2 xc / count)
        dxc = dxhat * inv_std + (2 * xc / count) * dvar
        # xc = x - mu: d xc/d mu = -1, summed over the values that share mu
        dmu = -dxc.sum(axis=cache.axes, keepdims=True)
        # x reaches xc directly (d xc/d x = 1) and through mu = mean(x) (d mu/d x = 1 / count)
        dx = dxc + dmu / count
    else:
        # The running averages are constants: xc = x - running_mean is the only node between
        # x and xhat.
        dxc = dxhat * inv_std
        dx = dxc
    # out = gamma * xhat + beta: d out/d gamma = xhat and d out/d beta = 1, summed over the
    # values that gamma and beta scale and shift
    dgamma = summed_to(dout * xhat, np.shape(gamma))
    dbeta = summed_to(dout, np.shape(gamma))
    ### END SOLUTION
    return dx, dgamma, dbeta


def normalization_backward_alt(dout, cache):
    """The closed-form backward (derived in ``derivations/``): with dxhat = gamma * dout and the
    means taken over the values that share a statistic::

        dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))

    (in test mode, where the statistics are constants, dx = inv_std * dxhat).

    Inputs and returns as ``normalization_backward``.
    """
    ### BEGIN SOLUTION
    xhat, inv_std, gamma, axes = cache.xhat, cache.inv_std, cache.gamma, cache.axes
    dxhat = dout * gamma
    if cache.mode == "train":
        dx = inv_std * (
            dxhat
            - dxhat.mean(axis=axes, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
        )
    else:
        dx = inv_std * dxhat
    dgamma = summed_to(dout * xhat, np.shape(gamma))
    dbeta = summed_to(dout, np.shape(gamma))
    ### END SOLUTION
    return dx, dgamma, dbeta
