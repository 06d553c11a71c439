"""nndl's layers as cases for ``derivations.check``: run a forward and a backward pass, and hand
the derivation's inputs and the gradients to the comparisons.

Here, under tests/, and not in ``derivations/``: the derivations do not depend on nndl.

Each function runs nndl's layer by default; pass other functions (a student's, a deliberately
wrong one) to check those instead. The arrays may be floats (for ``compare_numeric``) or object
arrays of sympy symbols (for ``compare_symbolic``)::

    case = cases.batchnorm(x, gamma, beta, dout, backward=my_batchnorm_backward)
    check.compare_numeric(*case)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from derivations.affine import affine_layer
from derivations.batchnorm import batchnorm_test, batchnorm_train
from derivations.dropout import dropout_layer
from derivations.records import Derivation
from derivations.relu import relu_layer
from derivations.softmax import softmax_loss as softmax_loss_derivation
from derivations.svm import svm_loss as svm_loss_derivation


class Case(NamedTuple):
    """A derivation, the values of its inputs, and the gradients computed by the code."""

    derivation: Derivation
    inputs: dict[str, Any]
    actual: dict[str, Any]


def _layers():
    from nndl import layers  # imported when a case runs, so that a broken layer is one failure

    return layers


def batchnorm(
    x,
    gamma,
    beta,
    dout,
    *,
    eps=1e-5,
    mode="train",
    bn_param=None,
    forward: Callable | None = None,
    backward: Callable | None = None,
) -> Case:
    """Batch norm on x of shape (N, D); ``backward`` defaults to nndl's staged one
    (``batchnorm_backward_alt`` is the other). ``bn_param`` overrides eps and mode (test mode
    needs its running averages).

    The cache comes from ``forward``, by default the reference forward pass of ``nndl.lab``, so
    that only the backward is graded (the forward is a task of its own). Symbols need nndl's own
    forward (the reference takes ``np.sqrt``, which sympy's numbers lack): pass it."""
    layers = _layers()
    bn_param = bn_param if bn_param is not None else {"mode": mode, "eps": eps}
    if forward is None:
        from nndl.lab.reference import batchnorm_reference as forward
    out, cache = forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = (backward or layers.batchnorm_backward)(dout, cache)
    inputs = {"dout": dout, "x": x, "gamma": gamma, "eps": bn_param.get("eps", eps)}
    derivation = batchnorm_train()
    if bn_param.get("mode", "train") == "test":
        derivation = batchnorm_test()
        inputs |= {"running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"]}
    return Case(derivation, inputs, {"dx": dx, "dgamma": dgamma, "dbeta": dbeta})


def affine(x, w, b, dout, *, forward=None, backward=None) -> Case:
    """Affine layer; x of shape (N, d_1, ..., d_k) is checked as its (N, D) flattening."""
    layers = _layers()
    _, cache = (forward or layers.affine_forward)(x, w, b)
    dx, dw, db = (backward or layers.affine_backward)(dout, cache)
    flat = x.reshape(x.shape[0], -1)
    inputs = {"dout": dout, "x": flat, "w": w}
    return Case(affine_layer(), inputs, {"dx": np.reshape(dx, flat.shape), "dw": dw, "db": db})


def relu(x, dout, *, forward=None, backward=None) -> Case:
    """ReLU, elementwise: arrays of any shape are checked flattened."""
    layers = _layers()
    _, cache = (forward or layers.relu_forward)(x)
    dx = (backward or layers.relu_backward)(dout, cache)
    inputs = {"dout": dout.reshape(-1), "x": x.reshape(-1)}
    return Case(relu_layer(), inputs, {"dx": np.reshape(dx, -1)})


def dropout(x, dout, *, p, seed, forward=None, backward=None) -> Case:
    """Inverted dropout in train mode with a fixed ``seed``; the units kept are read from the
    mask the forward pass returns."""
    layers = _layers()
    _, cache = (forward or layers.dropout_forward)(x, {"p": p, "mode": "train", "seed": seed})
    dx = (backward or layers.dropout_backward)(dout, cache)
    _, mask = cache
    keep = (np.asarray(mask) != 0).astype(int).reshape(-1)
    inputs = {"dout": dout.reshape(-1), "keep": keep, "p": p}
    return Case(dropout_layer(), inputs, {"dx": np.reshape(dx, -1)})


def _one_hot(y, num_classes: int) -> np.ndarray:
    return (np.asarray(y)[:, None] == np.arange(num_classes)).astype(int)


def softmax_loss(x, y, *, loss=None) -> Case:
    """Softmax cross-entropy on scores x of shape (N, C) and integer labels y."""
    _, dx = (loss or _layers().softmax_loss)(x, y)
    return Case(softmax_loss_derivation(), {"x": x, "y": _one_hot(y, x.shape[1])}, {"dx": dx})


def svm_loss(x, y, *, loss=None) -> Case:
    """Multiclass SVM loss on scores x of shape (N, C) and integer labels y."""
    _, dx = (loss or _layers().svm_loss)(x, y)
    return Case(svm_loss_derivation(), {"x": x, "y": _one_hot(y, x.shape[1])}, {"dx": dx})
