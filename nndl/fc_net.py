"""Fully connected networks built from the layers in ``nndl.layers``.

A model follows the interface that ``nndl.solver.Solver`` expects: a ``params`` dict of arrays
and ``loss(X, y=None)``, which returns class scores when ``y`` is None (test mode) and
``(loss, grads)`` otherwise (train mode).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from nndl.activations import ACTIVATIONS, sigmoid_backward, sigmoid_forward
from nndl.arguments import seeded_or_global_rng
from nndl.layer_utils import affine_relu_backward, affine_relu_forward  # noqa: F401
from nndl.layers import (  # noqa: F401 (the layers a student's loss calls, as CS231n's imports *)
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_backward_alt,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    svm_loss,
)
from nndl.table import NORMALIZATIONS, Layer
from nndl.validation import (
    check_integer,
    check_labels,
    check_mode,
    check_number,
    check_param_dict,
    check_seed,
)

WHERE_FORWARD = "FullyConnectedNet.forward_layers"


class HiddenLayer(NamedTuple):
    """One hidden layer's values in a forward pass, and the caches its backward pass needs."""

    affine: np.ndarray  # the affine output x @ W + b, (N, H): the normalization's input
    relu: np.ndarray  # the activation's output (ReLU's, or the sigmoid's), (N, H): the next
    # layer's input (before dropout)
    affine_cache: Any
    bn_cache: Any  # the normalization's cache (its xhat is the normalised input), or None
    relu_cache: Any  # the activation's cache
    dropout_cache: Any  # None without dropout
    activation_input: Any = None  # the activation's input, (N, H): after normalization and noise
    noise_scale: Any = None  # the noise's scale a, (H,), when noise was applied; else None


class FullyConnectedNet:
    """A fully connected network with L - 1 hidden layers::

        {affine - [normalization] - relu - [dropout]} x (L - 1) - affine - softmax

    Normalization and dropout are optional; the normalizations are those of the table of layers
    (``nndl.table.NORMALIZATIONS``: batch norm, layer norm...). Parameters live in
    ``self.params``: weights ``W1..WL``, biases ``b1..bL`` and, with a normalization, scales
    ``gamma1..gamma{L-1}`` (initialised to 1) and shifts ``beta1..beta{L-1}`` (initialised to 0).
    The L2 penalty ``0.5 * reg * sum(W**2)`` applies to the weights only.

    Both spellings of the options work: the original assignment's (2017) ``use_batchnorm=True``
    and ``dropout=p``, the probability of *dropping* a unit, and CS231n's current (2019+)
    ``normalization="batchnorm"`` or ``"layernorm"`` and ``dropout_keep_ratio=1 - p``, the
    probability of *keeping* one. ``dropout_param["p"]`` is always the drop probability.

    Two momentums: ``norm_param={"momentum": ...}`` (or ``bn_param=``) is batch norm's, the
    weight of the old running averages when a batch's mean and variance are averaged into them
    (``nndl.batchnorm``); the ``momentum`` of an update rule (``Solver(optim_config=...)``,
    ``nndl.optim.sgd_momentum``) is SGD's, the decay of the velocity. They are unrelated.

    Beyond CS231n's network (for the chapters on why batch norm helps): ``activation="sigmoid"``
    puts logistic sigmoids where the ReLUs are (Ioffe & Szegedy's 2015 Figure 1 network);
    ``weight_scale="he"`` draws each layer's weights with standard deviation sqrt(2 / fan_in)
    (He et al. 2015) instead of one scale for all; ``norm_noise`` multiplies and shifts every
    hidden unit after its normalization, ``y' = a * y + c`` (Santurkar et al. 2018's "noisy batch
    norm"), in train mode only. The attribute ``norm_noise`` holds the current draw: None, or one
    pair ``(a, c)`` of arrays of shape (H,) per hidden layer; whoever trains the network redraws
    it when it wants (``draw_norm_noise``; ``nndl.why.shift.NoiseRedraw`` before every step).

    Randomness, as in the CS231n notebooks: with ``seed=None`` the weights are drawn as CS231n
    draws them, ``weight_scale * np.random.randn(fan_in, fan_out)`` for W1, W2, ... in turn, and
    the dropout masks come from NumPy's global generator too, so ``np.random.seed(231)`` gives
    CS231n's weights and makes a run reproducible; an integer seed gives reproducible weights
    and the *same* dropout masks at every call (what a gradient check needs); a Generator gives
    reproducible weights and a new mask at every call (what a reproducible training with
    dropout needs).
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        dropout=None,
        use_batchnorm=None,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
        normalization=None,
        dropout_keep_ratio=None,
        norm_param=None,
        bn_param=None,
        activation="relu",
        norm_noise=None,
    ):
        """
        Inputs:
        - hidden_dims: list of the sizes of the hidden layers
        - input_dim: size of one (flattened) input example
        - num_classes: number of classes
        - dropout: probability of dropping a hidden unit, in [0, 1) (default 0: no dropout)
        - use_batchnorm: whether to batch-normalise after each hidden affine layer (False)
        - reg: strength of the L2 penalty
        - weight_scale: standard deviation of the normally distributed initial weights, or
          "he": sqrt(2 / fan_in) for each layer's weights (the weights are drawn as for
          weight_scale=1, then scaled)
        - dtype: floating dtype of the parameters and the computation (float64 for
          gradient checks)
        - seed: None (NumPy's global generator), an int (fixed dropout masks) or a numpy
          Generator; see the class docstring
        - normalization: None or the name of a normalization of the table of layers ("batchnorm",
          "layernorm", ...), after each hidden affine layer
        - dropout_keep_ratio: probability of keeping a hidden unit, in (0, 1]; 1 means no dropout
        - norm_param: settings of every normalization layer's parameter dict, e.g.
          ``{"momentum": 0.95, "eps": 1e-3}`` for batch norm (its defaults: momentum 0.9, the
          weight of the old running averages, and eps 1e-5); ``bn_param`` is another name for
          it
        - activation: the hidden layers' activation, "relu" (default) or "sigmoid"
        - norm_noise: None (default) or the noise after each hidden layer's normalization in
          train mode, one pair (a, c) of arrays of shape (H,) per hidden layer: y' = a * y + c;
          ``model.norm_noise`` can be replaced between steps (see ``draw_norm_noise``)
        """
        hidden_dims = _check_config(hidden_dims, input_dim, num_classes, reg, weight_scale, dtype)
        normalization = _normalization(use_batchnorm, normalization)
        dropout = _drop_probability(dropout, dropout_keep_ratio)
        self.normalization = normalization
        norm_param = _norm_param(self.norm_layer, norm_param, bn_param)
        self.use_batchnorm = normalization == "batchnorm"
        self.use_dropout = dropout > 0
        self.reg = float(reg)
        self.input_dim = int(input_dim)
        self.num_classes = int(num_classes)
        self.num_layers = len(hidden_dims) + 1
        self.dtype = np.dtype(dtype)
        self.rng = _generator(seed)
        self.seed = seed
        self.activation = _check_activation(activation)
        self.hidden_dims = hidden_dims
        self.norm_noise = norm_noise
        self.params = {}
        he = isinstance(weight_scale, str)  # "he", checked: drawn with scale 1, then scaled
        if he:
            weight_scale = 1.0

        ### BEGIN SOLUTION
        dims = [input_dim, *hidden_dims, num_classes]
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = weight_scale * self.randn(fan_in, fan_out)
            self.params[f"b{i}"] = np.zeros(fan_out)
            if self.norm_layer and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                if "beta" in self.norm_layer.params:
                    self.params[f"beta{i}"] = np.zeros(fan_out)
        ### END SOLUTION
        if he:
            for i, fan_in in enumerate([input_dim, *hidden_dims], start=1):
                self.params[f"W{i}"] = self.params[f"W{i}"] * math.sqrt(2 / fan_in)
        for name, value in self.params.items():
            self.params[name] = value.astype(self.dtype)

        # One parameter dict per normalization layer (bn_param or ln_param, as in CS231n): batch
        # norm keeps its running statistics there.
        self.bn_params = [{"mode": "train", **norm_param} for _ in range(self.num_layers - 1)]
        self.dropout_param = {"mode": "train", "p": dropout}
        if isinstance(seed, int | np.integer):
            self.dropout_param["seed"] = int(seed)  # the same masks at every call
        else:
            self.dropout_param["rng"] = self.rng

    @property
    def norm_layer(self) -> Layer | None:
        """The normalization's record in the table of layers (its passes, its parameters)."""
        return NORMALIZATIONS[self.normalization] if self.normalization else None

    def randn(self, *shape):
        """Standard normal numbers of ``shape``, as CS231n's ``np.random.randn(*shape)``: from
        NumPy's global generator when the network has no seed (``np.random.seed(231)`` then gives
        CS231n's weights), else from the network's own generator."""
        if self.seed is None:
            return np.random.randn(*shape)  # noqa: NPY002 (CS231n's, seeded by np.random.seed)
        return self.rng.standard_normal(shape)

    def forward_layers(self, X, mode="train", bn_params=None):
        """The forward pass, layer by layer, keeping each hidden layer's values.

        nndl's own code, not a lab solution: the book calls it for per-layer statistics on any
        network, a student's included. It reads only what CS231n's ``__init__`` leaves (the
        parameters W1, b1, gamma1, beta1, ..., ``bn_params`` and ``dropout_param``) and calls the
        layers (the passes of the table of layers, a student's own in a student copy), so it
        works with any student's parameters; ``loss`` may use it or do its own forward pass.

        Inputs:
        - X: input data of shape (N, d_1, ..., d_k)
        - mode: "train" (batch norm uses the batch's statistics and updates the running ones;
          dropout drops units) or "test" (running statistics; no dropout)
        - bn_params: one dict per normalization layer to use instead of ``self.bn_params``; a
          fresh ``[{"mode": "train"}, ...]`` normalises with each batch's own statistics and
          leaves the model's running statistics untouched

        With ``activation="sigmoid"`` the hidden layers apply sigmoids; with ``norm_noise`` set,
        train mode multiplies and shifts each unit after its normalization (``HiddenLayer``
        keeps the activation's input and the noise's scale).

        Returns a tuple of:
        - scores: class scores of shape (N, C)
        - layers: one ``HiddenLayer`` per hidden layer, then the last affine layer's cache
        """
        X = _check_X(X, self.dtype, self.input_dim)
        check_mode(WHERE_FORWARD, "mode", mode)
        noise = self._checked_noise() if mode == "train" else None
        if self.activation == "sigmoid":
            activation_forward = sigmoid_forward
        else:
            activation_forward = relu_forward
        bn_params = self.bn_params if bn_params is None else bn_params
        for bn_param in bn_params:
            bn_param["mode"] = mode
        self.dropout_param["mode"] = mode

        layers = []
        out = X
        for i in range(1, self.num_layers):
            affine, affine_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            bn_cache = dropout_cache = None
            relu_in = affine
            if self.norm_layer:
                params = [self.params[f"{name}{i}"] for name in self.norm_layer.params]
                forward = self.norm_layer.network_forward
                relu_in, bn_cache = forward(affine, *params, bn_params[i - 1])
            scale = None
            if noise is not None:
                scale, shift = noise[i - 1]
                relu_in = scale * relu_in + shift
            relu, relu_cache = activation_forward(relu_in)
            out = relu
            if self.use_dropout:
                out, dropout_cache = dropout_forward(relu, self.dropout_param)
            layers.append(
                HiddenLayer(
                    affine, relu, affine_cache, bn_cache, relu_cache, dropout_cache, relu_in, scale
                )
            )
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        return scores, (*layers, last_cache)

    def check_loss_inputs(self, X, y=None):
        """``loss``'s input checks, done once at the boundary: X as the network's dtype with
        ``input_dim`` values per example and, when y is given, at least one example and a label
        in [0, num_classes) for each. Returns (X, y)."""
        X = _check_X(X, self.dtype, self.input_dim)
        if y is not None:
            if X.shape[0] == 0:
                raise ValueError(
                    "FullyConnectedNet.loss: X must hold at least one example (the loss is a "
                    f"mean over the examples), got shape {X.shape}"
                )
            y = check_labels("FullyConnectedNet.loss", y, X.shape[0], self.num_classes)
        return X, y

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
        X, y = self.check_loss_inputs(X, y)  # checked once here; forward_layers sees it is done
        if self.activation != "relu" or self.norm_noise is not None:
            return self._general_loss(X, y)  # nndl's own passes (sigmoids, noise)
        ### BEGIN SOLUTION
        scores, (*layers, last_cache) = self.forward_layers(X, "test" if y is None else "train")
        if y is None:
            return scores

        L = self.num_layers
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
            if self.norm_layer:
                backward = self.norm_layer.network_backward
                dout, *dparams = backward(dout, layer.bn_cache)
                for name, dparam in zip(self.norm_layer.params, dparams):
                    grads[f"{name}{i}"] = dparam
            if i > 1:
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, layer.affine_cache)
        if L > 1:
            # The gradient on the input images would be the biggest product of the backward
            # pass, and nothing uses it: of the first layer, only W1's and b1's are computed.
            x, _ = layers[0].affine_cache
            grads["W1"] = x.reshape(x.shape[0], -1).T @ dout
            grads["b1"] = dout.sum(axis=0)
        if self.reg:
            for i in range(1, L + 1):
                grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        ### END SOLUTION
        return loss, grads

    def _general_loss(self, X, y):
        """``loss`` for what CS231n's network lacks (sigmoid units, noise after the
        normalization): ``forward_layers``, then the backward pass layer by layer."""
        scores, (*layers, last_cache) = self.forward_layers(X, "test" if y is None else "train")
        if y is None:
            return scores
        L = self.num_layers
        loss, dscores = softmax_loss(scores, y)
        if self.reg:
            weights = [self.params[f"W{i}"] for i in range(1, L + 1)]
            loss += 0.5 * self.reg * sum(np.sum(w * w) for w in weights)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            layer = layers[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, layer.dropout_cache)
            if self.activation == "sigmoid":
                dout = sigmoid_backward(dout, layer.relu_cache)
            else:
                dout = relu_backward(dout, layer.relu_cache)
            if layer.noise_scale is not None:
                dout = dout * layer.noise_scale  # y' = a * y + c: dy = a * dy'
            if self.norm_layer:
                backward = self.norm_layer.network_backward
                dout, *dparams = backward(dout, layer.bn_cache)
                for name, dparam in zip(self.norm_layer.params, dparams):
                    grads[f"{name}{i}"] = dparam
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, layer.affine_cache)
        if self.reg:
            for i in range(1, L + 1):
                grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        return loss, grads

    def batch_loss(self, X, y):
        """``loss(X, y)`` (train mode: loss and gradients) with every normalization layer using
        the batch's own statistics and the model's running averages left untouched: for probes
        that evaluate the loss several times per training step (Santurkar's internal covariate
        shift, the loss landscape) without changing the model. Dropout, if any, still draws its
        masks."""
        saved = self.bn_params
        self.bn_params = [
            {key: value for key, value in bn_param.items() if not key.startswith("running_")}
            for bn_param in saved
        ]
        try:
            return self.loss(X, y)
        finally:
            self.bn_params = saved

    def draw_norm_noise(self, rng, scale=2.0, shift=1.0):
        """Draw a new ``norm_noise``: for every hidden unit a scale a = exp(u) with u uniform in
        [-ln scale, ln scale] (between 1/scale and scale, geometric mean 1) and a shift c uniform
        in [-shift, shift], as Santurkar et al. (2018, section 2.1) add after batch norm. Sets
        ``self.norm_noise`` and returns it.

        Inputs:
        - rng: a numpy Generator (the noise's own, so that the minibatches stay those of the
          run without noise)
        - scale: >= 1; 1 means no scaling
        - shift: >= 0; 0 means no shift
        """
        where = "FullyConnectedNet.draw_norm_noise"
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{where}: rng must be a numpy Generator, got {type(rng).__name__}")
        log_scale = math.log(check_number("scale", where, scale, 1, np.inf, "[)"))
        shift = check_number("shift", where, shift, 0, np.inf, "[)")
        noise = []
        for h in self.hidden_dims:
            a = np.exp(rng.uniform(-log_scale, log_scale, h)).astype(self.dtype)
            c = rng.uniform(-shift, shift, h).astype(self.dtype)
            noise.append((a, c))
        self.norm_noise = noise
        return noise

    def _checked_noise(self):
        """``norm_noise`` after checking it: None, or one pair (a, c) of shape (H,) per layer."""
        noise = self.norm_noise
        if noise is None:
            return None
        where = "FullyConnectedNet: norm_noise"
        expected = f"None or {len(self.hidden_dims)} pairs (a, c), one per hidden layer"
        if not isinstance(noise, list | tuple) or len(noise) != len(self.hidden_dims):
            raise ValueError(f"{where} must be {expected}, got {noise!r:.80}")
        for i, (pair, h) in enumerate(zip(noise, self.hidden_dims), start=1):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{where}[{i - 1}] must be a pair (a, c), got {pair!r:.80}")
            for name, value in zip("ac", pair):
                if not isinstance(value, np.ndarray) or value.shape != (h,):
                    shape = getattr(value, "shape", type(value).__name__)
                    raise ValueError(
                        f"{where}[{i - 1}]: {name} must be an array of shape ({h},), the "
                        f"layer's width, got {shape}"
                    )
        return noise


def _check_activation(activation) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"FullyConnectedNet: activation must be 'relu' or 'sigmoid', got {activation!r}"
        )
    return activation


def _check_X(X, dtype, input_dim) -> np.ndarray:
    """X as an array of the network's dtype, after checking that it holds examples of
    input_dim values (the shape (N, input_dim), or (N, d_1, ..., d_k) that flattens to it)."""
    if isinstance(X, np.ndarray) and X.dtype == dtype and X.ndim >= 2:
        if math.prod(X.shape[1:]) == input_dim:  # the common case, in a few reads
            return X
    X = np.asarray(X)
    if X.dtype.kind not in "iuf":
        raise TypeError(f"FullyConnectedNet: X must be an array of numbers, got dtype {X.dtype}")
    if X.ndim < 2 or math.prod(X.shape[1:]) != input_dim:
        raise ValueError(
            f"FullyConnectedNet: X must have shape (N, {input_dim}) or (N, d_1, ..., "
            f"d_k) with d_1 * ... * d_k = {input_dim}, the network's input_dim; "
            f"got shape {X.shape}"
        )
    return X.astype(dtype, copy=False)


def _check_config(hidden_dims, input_dim, num_classes, reg, weight_scale, dtype) -> list[int]:
    """Check the constructor's arguments; return hidden_dims as a list of ints."""
    where = "FullyConnectedNet"
    if not isinstance(hidden_dims, list | tuple):
        raise TypeError(
            f"{where}: hidden_dims must be a list of hidden-layer sizes (e.g. [100] for one "
            f"layer of 100 units), got {type(hidden_dims).__name__} {hidden_dims!r}"
        )
    if not all(isinstance(h, int | np.integer) and not isinstance(h, bool) for h in hidden_dims):
        raise TypeError(f"{where}: hidden_dims must be positive integers, got {hidden_dims!r}")
    if not all(h > 0 for h in hidden_dims):
        raise ValueError(f"{where}: hidden_dims must be positive integers, got {hidden_dims!r}")
    if isinstance(input_dim, tuple | list):
        raise TypeError(
            f"{where}: input_dim must be an integer, the number of values in one example, got "
            f"{input_dim!r}; for examples of shape {tuple(input_dim)} pass "
            f"{math.prod(input_dim)}"
        )
    check_integer("input_dim", where, input_dim, 1)
    check_integer("num_classes", where, num_classes, 2)
    check_number("reg", where, reg, 0, np.inf, "[)")
    if isinstance(weight_scale, str):
        if weight_scale != "he":
            raise ValueError(
                f"{where}: weight_scale must be a positive number or 'he', got {weight_scale!r}"
            )
    else:
        check_number("weight_scale", where, weight_scale, 0, np.inf, "()")
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = repr(dtype)
    if name not in ("float32", "float64"):
        hint = " (float16 has too few digits for gradient checks)" * (name == "float16")
        raise TypeError(
            f"{where}: dtype must be a floating dtype, float32 or float64, got {name}{hint}"
        )
    return [int(h) for h in hidden_dims]


def _generator(seed) -> np.random.Generator:
    """The network's generator: for seed=None one on the bit generator that np.random.seed
    seeds, so that weights and masks follow it as in the CS231n notebooks."""
    seed = check_seed("seed", "FullyConnectedNet", seed)
    return seeded_or_global_rng("FullyConnectedNet: seed", seed)


def _normalization(use_batchnorm, normalization):
    """The normalization from either spelling; both given and disagreeing is an error."""
    where = "FullyConnectedNet"
    names = list(NORMALIZATIONS)
    if normalization is not None and normalization not in names:
        wrong = ValueError if isinstance(normalization, str) else TypeError
        choices = ", ".join(repr(name) for name in names[:-1]) + f" or {names[-1]!r}"
        raise wrong(f"{where}: normalization must be None, {choices}, got {normalization!r}")
    if use_batchnorm is None:
        return normalization
    if not isinstance(use_batchnorm, bool | np.bool_):
        raise TypeError(
            f"{where}: use_batchnorm must be True or False, got {type(use_batchnorm).__name__} "
            f"{use_batchnorm!r}"
        )
    if normalization is not None and bool(use_batchnorm) != (normalization == "batchnorm"):
        raise ValueError(
            f"{where}: use_batchnorm={use_batchnorm} contradicts normalization="
            f"{normalization!r}; give one of the two (use_batchnorm=True is "
            "normalization='batchnorm')"
        )
    return "batchnorm" if use_batchnorm else normalization


def _norm_param(layer: Layer | None, norm_param, bn_param) -> dict:
    """The settings every normalization layer's parameter dict starts with, from either name;
    only the entries the table gives defaults for (batch norm's momentum and eps...)."""
    where = "FullyConnectedNet"
    if norm_param is not None and bn_param is not None:
        raise ValueError(f"{where}: norm_param and bn_param are one setting: give one of the two")
    name = "bn_param" if bn_param is not None else "norm_param"
    given = bn_param if bn_param is not None else norm_param
    if given is None:
        return {}
    if layer is None:
        raise ValueError(f"{where}: {name} needs a normalization (normalization=...)")
    check_param_dict(where, name, given, layer.defaults)
    return dict(given)


def _drop_probability(dropout, dropout_keep_ratio) -> float:
    """The probability of dropping a unit from either spelling (dropout = 1 - keep ratio);
    both given and disagreeing is an error."""
    where = "FullyConnectedNet"
    if dropout is not None:
        dropout = check_number("dropout", where, dropout, 0, 1, "[)")
    if dropout_keep_ratio is None:
        return 0.0 if dropout is None else dropout
    keep = check_number("dropout_keep_ratio", where, dropout_keep_ratio, 0, 1, "(]")
    if dropout is not None and not math.isclose(dropout, 1 - keep, abs_tol=1e-12):
        raise ValueError(
            f"{where}: dropout={dropout!r} (the probability of dropping a unit) contradicts "
            f"dropout_keep_ratio={dropout_keep_ratio!r} (the probability of keeping one); "
            "give one of the two (dropout = 1 - dropout_keep_ratio)"
        )
    return 1 - keep


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
        dropout=None,
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
