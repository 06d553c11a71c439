"""Fully connected networks built from the layers in ``nndl.layers``.

A model follows the interface that ``nndl.solver.Solver`` expects: a ``params`` dict of arrays
and ``loss(X, y=None)``, which returns class scores when ``y`` is None (test mode) and
``(loss, grads)`` otherwise (train mode).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nndl.batchnorm import batchnorm_backward_alt, batchnorm_forward
from nndl.layers import (
    affine_backward,
    affine_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


class HiddenLayer(NamedTuple):
    """One hidden layer's values in a forward pass, and the caches its backward pass needs."""

    affine: np.ndarray  # the affine output x @ W + b, (N, H): batch norm's input
    relu: np.ndarray  # the ReLU output, (N, H): the next layer's input (before dropout)
    affine_cache: Any
    bn_cache: Any  # a BatchNormCache (its xhat is the normalised input), or None
    relu_cache: Any
    dropout_cache: Any  # None without dropout


class FullyConnectedNet:
    """A fully connected network with L - 1 hidden layers::

        {affine - [batch norm] - relu - [dropout]} x (L - 1) - affine - softmax

    Batch norm and dropout are optional. Parameters live in ``self.params``: weights ``W1..WL``,
    biases ``b1..bL`` and, with batch norm, scales ``gamma1..gamma{L-1}`` (initialised to 1) and
    shifts ``beta1..beta{L-1}`` (initialised to 0). The L2 penalty ``0.5 * reg * sum(W**2)``
    applies to the weights only.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout=0,
        use_batchnorm=False,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        """
        Inputs:
        - hidden_dims: list of the sizes of the hidden layers
        - input_dim: size of one (flattened) input example
        - num_classes: number of classes
        - dropout: probability of dropping a hidden unit; 0 means no dropout
        - use_batchnorm: whether to batch-normalise after each hidden affine layer
        - reg: strength of the L2 penalty
        - weight_scale: standard deviation of the normally distributed initial weights
        - dtype: floating dtype of the parameters and the computation (float64 for
          gradient checks)
        - seed: int or numpy Generator; seeds the initial weights and the dropout masks
        """
        hidden_dims = list(hidden_dims)
        if not all(isinstance(h, (int, np.integer)) and h > 0 for h in hidden_dims):
            raise ValueError(f"hidden_dims must be positive integers, got {hidden_dims}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout is the probability of dropping a unit, in [0, 1): {dropout}")
        if reg < 0 or weight_scale <= 0:
            raise ValueError(f"need reg >= 0 and weight_scale > 0, got {reg} and {weight_scale}")
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")

        self.use_batchnorm = use_batchnorm
        self.use_dropout = dropout > 0
        self.reg = reg
        self.num_layers = len(hidden_dims) + 1
        self.num_classes = num_classes
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.params = {}

        ### BEGIN SOLUTION
        dims = [input_dim, *hidden_dims, num_classes]
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = weight_scale * self.rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)
            if use_batchnorm and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)
        ### END SOLUTION
        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

        # One bn_param per batch-norm layer: it holds that layer's running statistics.
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        self.dropout_param = {"mode": "train", "p": dropout, "rng": self.rng}

    def forward_layers(self, X, mode="train", bn_params=None):
        """The forward pass, layer by layer.

        Inputs:
        - X: input data of shape (N, d_1, ..., d_k)
        - mode: "train" (batch norm uses the batch's statistics and updates the running ones;
          dropout drops units) or "test" (running statistics; no dropout)
        - bn_params: one dict per batch-norm layer to use instead of ``self.bn_params``; a fresh
          ``[{"mode": "train"}, ...]`` normalises with each batch's own statistics and leaves the
          model's running statistics untouched

        Returns a tuple of:
        - scores: class scores of shape (N, C)
        - layers: one ``HiddenLayer`` per hidden layer, then the last affine layer's cache
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        bn_params = self.bn_params if bn_params is None else bn_params
        for bn_param in bn_params:
            bn_param["mode"] = mode
        self.dropout_param["mode"] = mode

        layers = []
        out = X
        ### BEGIN SOLUTION
        for i in range(1, self.num_layers):
            affine, affine_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            bn_cache = dropout_cache = None
            relu_in = affine
            if self.use_batchnorm:
                gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
                relu_in, bn_cache = batchnorm_forward(affine, gamma, beta, bn_params[i - 1])
            relu, relu_cache = relu_forward(relu_in)
            out = relu
            if self.use_dropout:
                out, dropout_cache = dropout_forward(relu, self.dropout_param)
            layers.append(
                HiddenLayer(affine, relu, affine_cache, bn_cache, relu_cache, dropout_cache)
            )
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        ### END SOLUTION
        return scores, (*layers, last_cache)

    def loss(self, X, y=None):
        """Loss and gradients for a minibatch, or class scores.

        Inputs:
        - X: input data of shape (N, d_1, ..., d_k)
        - y: integer labels of shape (N,), or None

        Returns:
        - if y is None: scores of shape (N, C), computed in test mode (batch norm uses its
          running averages and leaves them unchanged; no dropout)
        - otherwise a tuple (loss, grads) in train mode; grads has the keys of self.params
        """
        scores, (*layers, last_cache) = self.forward_layers(X, "test" if y is None else "train")
        if y is None:
            return scores

        L = self.num_layers
        ### BEGIN SOLUTION
        loss, dscores = softmax_loss(scores, y)
        # Skipped for reg = 0: the penalty and its gradient would cost passes over every weight.
        if self.reg:
            weights = [self.params[f"W{i}"] for i in range(1, L + 1)]
            loss += 0.5 * self.reg * sum(np.sum(w * w) for w in weights)

        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            layer = layers[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, layer.dropout_cache)
            dout = relu_backward(dout, layer.relu_cache)
            if self.use_batchnorm:
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward_alt(
                    dout, layer.bn_cache
                )
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, layer.affine_cache)
        if self.reg:
            for i in range(1, L + 1):
                grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        ### END SOLUTION
        return loss, grads


class TwoLayerNet(FullyConnectedNet):
    """The two-layer network ``affine - relu - [dropout] - affine - softmax``, a
    ``FullyConnectedNet`` with one hidden layer of ``hidden_dim`` units, in float64.

    The original assignment's ``TwoLayerNet`` took ``hidden_dims`` but read ``hidden_dim``;
    here there is one name, ``hidden_dim``.
    """

    def __init__(
        self,
        input_dim=3 * 32 * 32,
        hidden_dim=100,
        num_classes=10,
        dropout=0,
        weight_scale=1e-3,
        reg=0.0,
        seed=None,
    ):
        super().__init__(
            [hidden_dim],
            input_dim=input_dim,
            num_classes=num_classes,
            dropout=dropout,
            reg=reg,
            weight_scale=weight_scale,
            dtype=np.float64,
            seed=seed,
        )
