"""Inverted dropout, ``dropout_forward(x, dropout_param) -> (out, cache)`` and
``dropout_backward(dout, cache) -> dx``, CS231n's cache ``(dropout_param, mask)``.

nndl's convention, the 2017 assignment's: ``dropout_param['p']`` is the probability of DROPPING
a unit. CS231n 2018+ passes the probability of keeping one; a body written for that convention
is a wrong entry here (its diagnosis names the convention). The masks come from NumPy's global
generator, seeded by CS231n's scaffold line when ``dropout_param`` has a 'seed'."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("dropout")


@correct(
    "dropout_forward",
    idioms=("whole function", "rand mask", "tuple cache"),
    follows=("AKSoo/CS231n-2017",),
    companions=("dropout_backward_multiplying_by_the_mask",),
    advice=("float64 output for float32 input before the scaffold's astype",),
)
def dropout_forward_keep_probability_from_p(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    pr = 1 - p

    if mode == "train":
        mask = (np.random.random(x.shape) < pr) / pr
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@correct(
    "dropout_forward",
    idioms=("whole function", "rand mask", "float32", "tuple cache"),
    follows=("Zeqiang-Lai/CS231n", "1219521375/CS231n2020", "xxayt/CS231n-2023-Assignments"),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_mask_in_the_inputs_dtype(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) >= p).astype(x.dtype) / x.dtype.type(1 - p)
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@correct(
    "dropout_forward",
    idioms=("whole function", "rand mask", "bool mask", "tuple cache"),
    follows=("Amapocho/CS231n-Spring-2021",),
    companions=("dropout_backward_rescaling_a_boolean_mask",),
)
def dropout_forward_boolean_mask(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = np.random.rand(*x.shape) > p
        out = x * mask / (1 - p)
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@correct(
    "dropout_forward",
    idioms=("whole function", "binomial mask", "tuple cache"),
    follows=("0suh/cs231n_2021",),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_binomial_mask(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = np.random.binomial(1, 1 - p, size=x.shape) / (1 - p)
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@correct(
    "dropout_backward",
    idioms=("whole function", "tuple cache"),
    follows=("AKSoo/CS231n-2017", "AnirudhM1/CS231n-2022-Solutions", "zlotus/cs231n"),
    companions=("dropout_forward_keep_probability_from_p",),
)
def dropout_backward_multiplying_by_the_mask(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]

    dx = None
    if mode == "train":
        dx = dout * mask
    elif mode == "test":
        dx = dout
    return dx


@correct(
    "dropout_backward",
    idioms=("whole function", "bool mask", "tuple cache"),
    follows=("Amapocho/CS231n-Spring-2021", "0809zheng/CS231n-assignment2019"),
    companions=("dropout_forward_boolean_mask",),
)
def dropout_backward_rescaling_a_boolean_mask(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]

    dx = None
    if mode == "train":
        dx = dout * mask / (1 - dropout_param["p"])
    elif mode == "test":
        dx = dout
    return dx


@wrong(
    "dropout_forward",
    diagnosis="CS231n 2019+ passes the keep probability; here p is the drop probability",
    mistake="keeps each unit with probability p and divides by p, as CS231n 2018+ defines p: "
    "nndl's dropout_param['p'] is the probability of dropping a unit",
    idioms=("whole function", "rand mask", "tuple cache"),
    follows=(
        "AnirudhM1/CS231n-2022-Solutions",
        "1219521375/CS231n2020",
        "Zeqiang-Lai/CS231n",
        "zlotus/cs231n",
    ),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_with_the_keep_probability(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@wrong(
    "dropout_forward",
    diagnosis="dropout drops units in test mode",
    mistake="applies the mask whatever the mode: test mode must return x unchanged",
    idioms=("whole function", "rand mask", "tuple cache"),
    follows=("0suh/cs231n_2021",),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_dropping_in_test_mode_too(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    out = x * mask

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@wrong(
    "dropout_forward",
    diagnosis="dropout is not inverted",
    mistake="vanilla dropout: the kept units are not rescaled in train mode and test mode "
    "scales x by 1 - p instead of returning it unchanged",
    idioms=("whole function", "binomial mask", "tuple cache"),
    follows=("0suh/cs231n_2021",),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_vanilla_scaling_at_test_time(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = np.random.binomial(1, 1 - p, size=x.shape)
        out = x * mask
    elif mode == "test":
        out = x * (1 - p)

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


@wrong(
    "dropout_forward",
    diagnosis="dropout draws one mask for the whole batch",
    mistake="a mask of shape (1, D) broadcast over the batch: every example drops the same units",
    idioms=("whole function", "rand mask", "tuple cache"),
    follows=("0809zheng/CS231n-assignment2019",),
    companions=("dropout_backward_multiplying_by_the_mask",),
)
def dropout_forward_one_mask_for_the_batch(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])

    mask = None
    out = None
    if mode == "train":
        mask = np.ones((1, x.shape[1]))
        prop = np.random.rand(1, x.shape[1])
        mask[prop < p] = 0
        mask = mask / (1 - p)
        out = x * mask
    elif mode == "test":
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache
