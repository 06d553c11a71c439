"""The network, ``FullyConnectedNet``: the parameter initialisation of ``__init__`` (what the
student writes after CS231n's scaffold has set ``self.normalization``, ``self.use_dropout``,
``self.reg``, ``self.num_layers``, ``self.dtype`` and ``self.params = {}``; the scaffold then
builds ``self.dropout_param`` and ``self.bn_params`` and casts the parameters to ``self.dtype``)
and the whole body of ``loss`` (CS231n 2019+: the scaffold's lines that set the modes and return
the scores in test mode included). The def lines are CS231n's 2021+ signatures.

The layer functions a body calls are the student's own in a copy (``calls``)."""

import numpy as np

from tests.instructor.corpus import entries_of

# The layer functions the bodies call by name: the harness binds each body to the ones it
# grades with (the reference below, or a student's own in a copy).
from tests.instructor.corpus.reference import (  # noqa: I001
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)

correct, wrong = entries_of("fc_net")

LAYERS = (
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "batchnorm_forward",
    "layernorm_forward",
    "dropout_forward",
    "dropout_backward",
    "softmax_loss",
)

# --------------------------------------------------------------------------------------------
# __init__: the parameters
# --------------------------------------------------------------------------------------------


@correct(
    "FullyConnectedNet.__init__",
    idioms=("randn init", "str names"),
    follows=("0809zheng/CS231n-assignment2019", "BatyrM/CS231n-Spring-2020"),
)
def fc_init_layer_by_layer_randn(
    self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
    normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None,
):  # fmt: skip
    self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dims[0])
    self.params["b1"] = np.zeros((hidden_dims[0],))
    if self.normalization:
        self.params["gamma1"] = np.ones((hidden_dims[0],))
        self.params["beta1"] = np.zeros((hidden_dims[0],))
    for i in range(self.num_layers - 2):
        self.params["W" + str(i + 2)] = weight_scale * np.random.randn(
            hidden_dims[i], hidden_dims[i + 1]
        )
        self.params["b" + str(i + 2)] = np.zeros((hidden_dims[i + 1],))
        if self.normalization:
            self.params["gamma" + str(i + 2)] = np.ones((hidden_dims[i + 1],))
            self.params["beta" + str(i + 2)] = np.zeros((hidden_dims[i + 1],))
    self.params["W" + str(self.num_layers)] = weight_scale * np.random.randn(
        hidden_dims[-1], num_classes
    )
    self.params["b" + str(self.num_layers)] = np.zeros((num_classes,))


@correct(
    "FullyConnectedNet.__init__",
    idioms=("randn init", "str names"),
    follows=("AKSoo/CS231n-2017",),
)
def fc_init_first_and_last_layers_first(
    self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
    normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None,
):  # fmt: skip
    if self.num_layers > 1:
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dims[0])
        self.params["b1"] = np.zeros(hidden_dims[0])
        self.params["W" + str(self.num_layers)] = weight_scale * np.random.randn(
            hidden_dims[-1], num_classes
        )
        self.params["b" + str(self.num_layers)] = np.zeros(num_classes)
    else:
        self.params["W1"] = weight_scale * np.random.randn(input_dim, num_classes)
        self.params["b1"] = np.zeros(num_classes)

    for i in range(2, self.num_layers):
        self.params["W" + str(i)] = weight_scale * np.random.randn(
            hidden_dims[i - 2], hidden_dims[i - 1]
        )
        self.params["b" + str(i)] = np.zeros(hidden_dims[i - 1])

    if self.normalization is not None:
        for i in range(1, self.num_layers):
            self.params["gamma" + str(i)] = np.ones(hidden_dims[i - 1])
            self.params["beta" + str(i)] = np.zeros(hidden_dims[i - 1])


@correct(
    "FullyConnectedNet.__init__",
    idioms=("randn init", "fstring names"),
    follows=("Amapocho/CS231n-Spring-2021",),
)
def fc_init_dims_list_and_normal(
    self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
    normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None,
):  # fmt: skip
    dims = [input_dim, *hidden_dims, num_classes]
    for i in range(1, self.num_layers + 1):
        self.params[f"W{i}"] = np.random.normal(0.0, weight_scale, (dims[i - 1], dims[i]))
        self.params[f"b{i}"] = np.zeros(dims[i])

    if self.normalization == "batchnorm" or self.normalization == "layernorm":
        for i in range(1, self.num_layers):
            self.params[f"gamma{i}"] = np.ones(dims[i])
            self.params[f"beta{i}"] = np.zeros(dims[i])


@correct(
    "FullyConnectedNet.__init__",
    idioms=("randn init", "rebinding x", "str names"),
    follows=("Bachery/CS231n-2019spring",),
)
def fc_init_rebinding_input_dim(
    self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
    normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None,
):  # fmt: skip
    for i in range(len(hidden_dims)):
        layer = hidden_dims[i]
        self.params["W" + str(i + 1)] = np.random.normal(0, weight_scale, size=(input_dim, layer))
        self.params["b" + str(i + 1)] = np.zeros(layer)
        if self.normalization in ("batchnorm", "layernorm"):
            self.params["gamma" + str(i + 1)] = np.ones(layer)
            self.params["beta" + str(i + 1)] = np.zeros(layer)
        input_dim = layer

    self.params["W" + str(self.num_layers)] = np.random.normal(
        0, weight_scale, size=(input_dim, num_classes)
    )
    self.params["b" + str(self.num_layers)] = np.zeros(num_classes)


# --------------------------------------------------------------------------------------------
# loss: the forward pass, and in train mode the loss and the gradients
# --------------------------------------------------------------------------------------------


@correct(
    "FullyConnectedNet.loss",
    idioms=("whole function", "list cache", "str names"),
    follows=("0809zheng/CS231n-assignment2019",),
    calls=(*LAYERS, "batchnorm_backward_alt", "layernorm_backward"),
)
def fc_loss_list_of_caches_per_layer(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
    scores = None

    outs = {"out0": X}
    caches = {}
    for i in range(self.num_layers - 1):
        a, fc_cache = affine_forward(
            outs["out" + str(i)], self.params["W" + str(i + 1)], self.params["b" + str(i + 1)]
        )
        bn_cache = {}
        do_cache = {}
        if self.normalization == "batchnorm":
            a, bn_cache = batchnorm_forward(
                a, self.params["gamma" + str(i + 1)], self.params["beta" + str(i + 1)],
                self.bn_params[i],
            )  # fmt: skip
        elif self.normalization == "layernorm":
            a, bn_cache = layernorm_forward(
                a, self.params["gamma" + str(i + 1)], self.params["beta" + str(i + 1)],
                self.bn_params[i],
            )  # fmt: skip
        out, relu_cache = relu_forward(a)
        if self.use_dropout:
            out, do_cache = dropout_forward(out, self.dropout_param)
        outs["out" + str(i + 1)] = out
        caches["cache" + str(i + 1)] = [fc_cache, relu_cache, bn_cache, do_cache]

    L = self.num_layers
    scores, fc_cache = affine_forward(
        outs["out" + str(L - 1)], self.params["W" + str(L)], self.params["b" + str(L)]
    )
    caches["cache" + str(L)] = [fc_cache]

    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    loss, dx = softmax_loss(scores, y)
    for i in range(L):
        loss += 0.5 * self.reg * np.sum(np.square(self.params["W" + str(i + 1)]))

    douts = {}
    douts["dout" + str(L - 1)], grads["W" + str(L)], grads["b" + str(L)] = affine_backward(
        dx, caches["cache" + str(L)][0]
    )
    for i in range(L - 1, 0, -1):
        if self.use_dropout:
            dx1 = dropout_backward(douts["dout" + str(i)], caches["cache" + str(i)][3])
        else:
            dx1 = douts["dout" + str(i)]
        dx1 = relu_backward(dx1, caches["cache" + str(i)][1])
        if self.normalization == "batchnorm":
            dx1, grads["gamma" + str(i)], grads["beta" + str(i)] = batchnorm_backward_alt(
                dx1, caches["cache" + str(i)][2]
            )
        elif self.normalization == "layernorm":
            dx1, grads["gamma" + str(i)], grads["beta" + str(i)] = layernorm_backward(
                dx1, caches["cache" + str(i)][2]
            )
        douts["dout" + str(i - 1)], grads["W" + str(i)], grads["b" + str(i)] = affine_backward(
            dx1, caches["cache" + str(i)][0]
        )

    for i in range(L):
        grads["W" + str(i + 1)] += self.reg * self.params["W" + str(i + 1)]
    return loss, grads


@correct(
    "FullyConnectedNet.loss",
    idioms=("whole function", "dict cache", "fstring names"),
    follows=("Amapocho/CS231n-Spring-2021",),
    calls=(*LAYERS, "batchnorm_backward", "layernorm_backward"),
)
def fc_loss_dict_of_caches(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
    scores = None

    cache = {}
    out_i = X
    for i in range(1, self.num_layers):
        W, b = self.params[f"W{i}"], self.params[f"b{i}"]
        out_i, cache[f"ch{i}a"] = affine_forward(out_i, W, b)
        if self.normalization == "batchnorm":
            out_i, cache[f"ch{i}n"] = batchnorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
            )
        elif self.normalization == "layernorm":
            out_i, cache[f"ch{i}n"] = layernorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
            )
        out_i, cache[f"ch{i}r"] = relu_forward(out_i)
        if self.use_dropout:
            out_i, cache[f"ch{i}d"] = dropout_forward(out_i, self.dropout_param)

    L = self.num_layers
    scores, cache[f"ch{L}a"] = affine_forward(out_i, self.params[f"W{L}"], self.params[f"b{L}"])

    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    l_softmax, g_softmax = softmax_loss(scores, y)
    lx_dx, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(g_softmax, cache[f"ch{L}a"])
    grads[f"W{L}"] += self.reg * self.params[f"W{L}"]
    loss += np.sum(self.params[f"W{L}"] * self.params[f"W{L}"])

    for i in reversed(range(1, L)):
        if self.use_dropout:
            lx_dx = dropout_backward(lx_dx, cache[f"ch{i}d"])
        lx_dx = relu_backward(lx_dx, cache[f"ch{i}r"])
        if self.normalization == "batchnorm":
            lx_dx, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(
                lx_dx, cache[f"ch{i}n"]
            )
        elif self.normalization == "layernorm":
            lx_dx, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(
                lx_dx, cache[f"ch{i}n"]
            )
        lx_dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(lx_dx, cache[f"ch{i}a"])
        grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        loss += np.sum(self.params[f"W{i}"] * self.params[f"W{i}"])

    loss = 0.5 * self.reg * loss + l_softmax
    return loss, grads


@correct(
    "FullyConnectedNet.loss",
    idioms=("whole function", "helper layers", "dict cache", "str names"),
    follows=("AKSoo/CS231n-2017", "Bachery/CS231n-2019spring"),
    calls=(
        *LAYERS,
        "batchnorm_backward_alt",
        "layernorm_backward",
        "affine_relu_forward",
        "affine_relu_backward",
    ),
)
def fc_loss_sandwich_layers(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

    def affine_norm_relu_forward(x, w, b, gamma, beta, param):
        a, fc_cache = affine_forward(x, w, b)
        if self.normalization == "batchnorm":
            an, norm_cache = batchnorm_forward(a, gamma, beta, param)
        else:
            an, norm_cache = layernorm_forward(a, gamma, beta, param)
        out, relu_cache = relu_forward(an)
        return out, (fc_cache, norm_cache, relu_cache)

    def affine_norm_relu_backward(dout, cache):
        fc_cache, norm_cache, relu_cache = cache
        da = relu_backward(dout, relu_cache)
        if self.normalization == "batchnorm":
            da, dgamma, dbeta = batchnorm_backward_alt(da, norm_cache)
        else:
            da, dgamma, dbeta = layernorm_backward(da, norm_cache)
        dx, dw, db = affine_backward(da, fc_cache)
        return dx, dw, db, dgamma, dbeta

    cache = {}
    out = X
    for i in range(1, self.num_layers + 1):
        W, b = self.params["W" + str(i)], self.params["b" + str(i)]
        if i < self.num_layers:
            if self.normalization is not None:
                gamma = self.params["gamma" + str(i)]
                beta = self.params["beta" + str(i)]
                out, cache[i] = affine_norm_relu_forward(
                    out, W, b, gamma, beta, self.bn_params[i - 1]
                )
            else:
                out, cache[i] = affine_relu_forward(out, W, b)
            if self.use_dropout:
                out, cache[i + 0.5] = dropout_forward(out, self.dropout_param)
        else:
            scores, cache[i] = affine_forward(out, W, b)

    if mode == "test":
        return scores

    loss, dout = softmax_loss(scores, y)
    grads = {}
    for i in range(self.num_layers, 0, -1):
        if i < self.num_layers:
            if self.use_dropout:
                dout = dropout_backward(dout, cache[i + 0.5])
            if self.normalization is not None:
                dout, dW, db, dgamma, dbeta = affine_norm_relu_backward(dout, cache[i])
                grads["gamma" + str(i)], grads["beta" + str(i)] = dgamma, dbeta
            else:
                dout, dW, db = affine_relu_backward(dout, cache[i])
        else:
            dout, dW, db = affine_backward(dout, cache[i])

        W = self.params["W" + str(i)]
        loss += 0.5 * self.reg * np.sum(W * W)
        grads["W" + str(i)], grads["b" + str(i)] = dW + self.reg * W, db
    return loss, grads


@correct(
    "FullyConnectedNet.loss",
    idioms=("whole function", "rebinding x", "list cache", "str names"),
    follows=("BatyrM/CS231n-Spring-2020",),
    calls=(*LAYERS, "batchnorm_backward_alt", "layernorm_backward"),
)
def fc_loss_rebinding_X(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

    num_layers = self.num_layers
    aff_cache, norm_cache, rel_cache, drop_cache = [], [], [], []
    for i in range(1, num_layers):
        affine_i, cache_affine_i = affine_forward(
            X, self.params["W" + str(i)], self.params["b" + str(i)]
        )
        if self.normalization == "batchnorm":
            affine_i, cache_norm_i = batchnorm_forward(
                affine_i, self.params["gamma" + str(i)], self.params["beta" + str(i)],
                self.bn_params[i - 1],
            )  # fmt: skip
            norm_cache.append(cache_norm_i)
        elif self.normalization == "layernorm":
            affine_i, cache_norm_i = layernorm_forward(
                affine_i, self.params["gamma" + str(i)], self.params["beta" + str(i)],
                self.bn_params[i - 1],
            )  # fmt: skip
            norm_cache.append(cache_norm_i)
        relu_out_i, cache_relu_i = relu_forward(affine_i)
        aff_cache.append(cache_affine_i)
        rel_cache.append(cache_relu_i)
        if self.use_dropout:
            relu_out_i, cache_drop_i = dropout_forward(relu_out_i, self.dropout_param)
            drop_cache.append(cache_drop_i)
        X = relu_out_i
    scores, cache_affine_last = affine_forward(
        X, self.params["W" + str(num_layers)], self.params["b" + str(num_layers)]
    )

    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    reg = self.reg
    loss, dscores = softmax_loss(scores, y)
    for i in range(1, num_layers + 1):
        cur_W = self.params["W" + str(i)]
        loss += 0.5 * reg * np.sum(cur_W * cur_W)

    drelu_out, grads["W" + str(num_layers)], grads["b" + str(num_layers)] = affine_backward(
        dscores, cache_affine_last
    )
    grads["W" + str(num_layers)] += reg * self.params["W" + str(num_layers)]
    for i in range(num_layers - 1, 0, -1):
        if self.use_dropout:
            drelu_out = dropout_backward(drelu_out, drop_cache[i - 1])
        drelu = relu_backward(drelu_out, rel_cache[i - 1])
        if self.normalization == "batchnorm":
            drelu, grads["gamma" + str(i)], grads["beta" + str(i)] = batchnorm_backward_alt(
                drelu, norm_cache[i - 1]
            )
        elif self.normalization == "layernorm":
            drelu, grads["gamma" + str(i)], grads["beta" + str(i)] = layernorm_backward(
                drelu, norm_cache[i - 1]
            )
        drelu_out, grads["W" + str(i)], grads["b" + str(i)] = affine_backward(
            drelu, aff_cache[i - 1]
        )
        grads["W" + str(i)] += reg * self.params["W" + str(i)]
    return loss, grads


@wrong(
    "FullyConnectedNet.loss",
    diagnosis="does not keep batch norm's running averages between calls",
    mistake="builds a fresh bn_param = {'mode': mode} for every layer at every call instead of "
    "passing self.bn_params[i]: the running averages are never kept, and test mode normalises "
    "with running averages that were never trained",
    idioms=("whole function", "dict cache", "fstring names"),
    follows=("Amapocho/CS231n-Spring-2021",),
    calls=(*LAYERS, "batchnorm_backward", "layernorm_backward"),
)
def fc_loss_fresh_bn_param_at_every_call(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode

    cache = {}
    out_i = X
    for i in range(1, self.num_layers):
        out_i, cache[f"ch{i}a"] = affine_forward(out_i, self.params[f"W{i}"], self.params[f"b{i}"])
        if self.normalization == "batchnorm":
            bn_param = {"mode": mode}
            out_i, cache[f"ch{i}n"] = batchnorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], bn_param
            )
        elif self.normalization == "layernorm":
            out_i, cache[f"ch{i}n"] = layernorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], {}
            )
        out_i, cache[f"ch{i}r"] = relu_forward(out_i)
        if self.use_dropout:
            out_i, cache[f"ch{i}d"] = dropout_forward(out_i, self.dropout_param)

    L = self.num_layers
    scores, cache[f"ch{L}a"] = affine_forward(out_i, self.params[f"W{L}"], self.params[f"b{L}"])
    if mode == "test":
        return scores

    loss, dout = softmax_loss(scores, y)
    grads = {}
    dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, cache[f"ch{L}a"])
    for i in reversed(range(1, L)):
        if self.use_dropout:
            dout = dropout_backward(dout, cache[f"ch{i}d"])
        dout = relu_backward(dout, cache[f"ch{i}r"])
        if self.normalization == "batchnorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, cache[f"ch{i}n"])
        elif self.normalization == "layernorm":
            dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, cache[f"ch{i}n"])
        dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, cache[f"ch{i}a"])
    for i in range(1, L + 1):
        loss += 0.5 * self.reg * np.sum(self.params[f"W{i}"] ** 2)
        grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
    return loss, grads


@wrong(
    "FullyConnectedNet.loss",
    diagnosis="FullyConnectedNet ignores normalization='layernorm'",
    mistake="handles 'batchnorm' and leaves layer norm for later: with normalization='layernorm' "
    "the hidden layers are affine - relu, gamma and beta get no gradient",
    idioms=("whole function", "dict cache", "str names"),
    follows=("Bachery/CS231n-2019spring",),
    calls=(*LAYERS, "batchnorm_backward_alt"),
)
def fc_loss_leaving_layer_norm_for_later(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

    hidden = X
    cache, norm_cache, drop_cache = {}, {}, {}
    for i in range(self.num_layers - 1):
        hidden, fc_cache = affine_forward(
            hidden, self.params["W" + str(i + 1)], self.params["b" + str(i + 1)]
        )
        if self.normalization == "batchnorm":
            hidden, norm_cache[i] = batchnorm_forward(
                hidden, self.params["gamma" + str(i + 1)], self.params["beta" + str(i + 1)],
                self.bn_params[i],
            )  # fmt: skip
        hidden, relu_cache = relu_forward(hidden)
        cache[i] = (fc_cache, relu_cache)
        if self.use_dropout:
            hidden, drop_cache[i] = dropout_forward(hidden, self.dropout_param)

    L = self.num_layers
    scores, cache[L - 1] = affine_forward(
        hidden, self.params["W" + str(L)], self.params["b" + str(L)]
    )
    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    loss, dout = softmax_loss(scores, y)
    dhidden, dw, db = affine_backward(dout, cache[L - 1])
    loss += 0.5 * self.reg * np.sum(self.params["W" + str(L)] * self.params["W" + str(L)])
    grads["W" + str(L)] = dw + self.reg * self.params["W" + str(L)]
    grads["b" + str(L)] = db
    for i in range(L - 1, 0, -1):
        loss += 0.5 * self.reg * np.sum(self.params["W" + str(i)] * self.params["W" + str(i)])
        if self.use_dropout:
            dhidden = dropout_backward(dhidden, drop_cache[i - 1])
        fc_cache, relu_cache = cache[i - 1]
        dhidden = relu_backward(dhidden, relu_cache)
        if self.normalization == "batchnorm":
            dhidden, grads["gamma" + str(i)], grads["beta" + str(i)] = batchnorm_backward_alt(
                dhidden, norm_cache[i - 1]
            )
        elif self.normalization == "layernorm":
            grads["gamma" + str(i)] = np.zeros_like(self.params["gamma" + str(i)])
            grads["beta" + str(i)] = np.zeros_like(self.params["beta" + str(i)])
        dhidden, dw, db = affine_backward(dhidden, fc_cache)
        grads["W" + str(i)] = dw + self.reg * self.params["W" + str(i)]
        grads["b" + str(i)] = db
    return loss, grads


@wrong(
    "FullyConnectedNet.loss",
    diagnosis="FullyConnectedNet ignores normalization='batchnorm'",
    mistake="the forward pass is affine - relu whatever normalization and dropout say: gamma "
    "and beta get no gradient and the network never normalises",
    idioms=("whole function", "rebinding x", "list cache", "str names"),
    follows=("BatyrM/CS231n-Spring-2020",),
    calls=LAYERS,
)
def fc_loss_ignoring_the_options(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"

    num_layers = self.num_layers
    aff_cache, rel_cache = [], []
    for i in range(1, num_layers):
        affine_i, cache_affine_i = affine_forward(
            X, self.params["W" + str(i)], self.params["b" + str(i)]
        )
        relu_out_i, cache_relu_i = relu_forward(affine_i)
        aff_cache.append(cache_affine_i)
        rel_cache.append(cache_relu_i)
        X = relu_out_i
    scores, cache_affine_last = affine_forward(
        X, self.params["W" + str(num_layers)], self.params["b" + str(num_layers)]
    )
    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    loss, dscores = softmax_loss(scores, y)
    for i in range(1, num_layers + 1):
        loss += 0.5 * self.reg * np.sum(self.params["W" + str(i)] ** 2)
    drelu_out, grads["W" + str(num_layers)], grads["b" + str(num_layers)] = affine_backward(
        dscores, cache_affine_last
    )
    grads["W" + str(num_layers)] += self.reg * self.params["W" + str(num_layers)]
    for i in range(num_layers - 1, 0, -1):
        drelu = relu_backward(drelu_out, rel_cache[i - 1])
        drelu_out, grads["W" + str(i)], grads["b" + str(i)] = affine_backward(
            drelu, aff_cache[i - 1]
        )
        grads["W" + str(i)] += self.reg * self.params["W" + str(i)]
    for name in self.params:
        if name not in grads:
            grads[name] = np.zeros_like(self.params[name])
    return loss, grads


@wrong(
    "FullyConnectedNet.loss",
    diagnosis="the L2 term leaves out the last layer's weights",
    mistake="the L2 loop runs over the hidden layers only: W_L is neither in the penalty nor in "
    "its gradient (consistent, so a numerical gradient check passes)",
    idioms=("whole function", "dict cache", "fstring names"),
    follows=("Amapocho/CS231n-Spring-2021",),
    calls=(*LAYERS, "batchnorm_backward", "layernorm_backward"),
)
def fc_loss_l2_over_the_hidden_layers_only(self, X, y=None):
    X = X.astype(self.dtype)
    mode = "test" if y is None else "train"
    if self.use_dropout:
        self.dropout_param["mode"] = mode
    if self.normalization == "batchnorm":
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

    cache = {}
    out_i = X
    for i in range(1, self.num_layers):
        out_i, cache[f"ch{i}a"] = affine_forward(out_i, self.params[f"W{i}"], self.params[f"b{i}"])
        if self.normalization == "batchnorm":
            out_i, cache[f"ch{i}n"] = batchnorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
            )
        elif self.normalization == "layernorm":
            out_i, cache[f"ch{i}n"] = layernorm_forward(
                out_i, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
            )
        out_i, cache[f"ch{i}r"] = relu_forward(out_i)
        if self.use_dropout:
            out_i, cache[f"ch{i}d"] = dropout_forward(out_i, self.dropout_param)

    L = self.num_layers
    scores, cache[f"ch{L}a"] = affine_forward(out_i, self.params[f"W{L}"], self.params[f"b{L}"])
    if mode == "test":
        return scores

    loss, grads = 0.0, {}
    l_softmax, g_softmax = softmax_loss(scores, y)
    lx_dx, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(g_softmax, cache[f"ch{L}a"])
    for i in reversed(range(1, L)):
        if self.use_dropout:
            lx_dx = dropout_backward(lx_dx, cache[f"ch{i}d"])
        lx_dx = relu_backward(lx_dx, cache[f"ch{i}r"])
        if self.normalization == "batchnorm":
            lx_dx, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(
                lx_dx, cache[f"ch{i}n"]
            )
        elif self.normalization == "layernorm":
            lx_dx, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(
                lx_dx, cache[f"ch{i}n"]
            )
        lx_dx, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(lx_dx, cache[f"ch{i}a"])
        grads[f"W{i}"] += self.reg * self.params[f"W{i}"]
        loss += np.sum(self.params[f"W{i}"] * self.params[f"W{i}"])
    loss = 0.5 * self.reg * loss + l_softmax
    return loss, grads
