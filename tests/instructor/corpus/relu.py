"""The ReLU: ``relu_forward(x) -> (out, cache)`` and ``relu_backward(dout, cache) -> dx``, CS231n's
cache ``x``. The gradient at exactly 0 is a choice (any value in [0, 1] is a subgradient): the
corpus's checks never sample x == 0."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("relu")


@correct(
    "relu_forward",
    idioms=("whole function",),
    follows=("0809zheng/CS231n-assignment2019", "AKSoo/CS231n-2017", "zlotus/cs231n"),
)
def relu_forward_maximum(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


@correct(
    "relu_forward",
    idioms=("whole function", "relu x > 0"),
    follows=("1219521375/CS231n2020",),
)
def relu_forward_multiplying_by_the_mask(x):
    out = x * (x > 0)
    cache = x
    return out, cache


@correct(
    "relu_backward",
    idioms=("whole function", "relu x > 0"),
    follows=("AKSoo/CS231n-2017", "1219521375/CS231n2020", "zlotus/cs231n"),
    companions=("relu_forward_maximum",),
)
def relu_backward_times_comparison(dout, cache):
    x = cache
    dx = dout * (x > 0)
    return dx


@correct(
    "relu_backward",
    idioms=("whole function", "relu x > 0"),
    follows=("AnirudhM1/CS231n-2022-Solutions", "0suh/cs231n_2021"),
    companions=("relu_forward_maximum",),
)
def relu_backward_named_mask(dout, cache):
    dx, x = None, cache
    mask = x > 0
    dx = mask * dout
    return dx


@correct(
    "relu_backward",
    idioms=("whole function", "relu x >= 0", "in-place update"),
    follows=("AgainstEntropy/CS231n-assignment2021",),
    companions=("relu_forward_maximum",),
)
def relu_backward_passing_the_gradient_at_zero(dout, cache):
    x = cache
    dx = dout.copy()
    dx[x < 0] = 0
    return dx


@wrong(
    "relu_backward",
    diagnosis="relu_backward modifies dout in place",
    mistake="dx = dout; dx[x <= 0] = 0 zeroes the caller's upstream gradient: a caller that "
    "uses dout again (CS231n's notebook compares two backward passes on one dout) gets zeros",
    idioms=("whole function", "relu x > 0", "in-place update"),
    follows=("0809zheng/CS231n-assignment2019", "Aneureka/cs231n-assignments-2018"),
    companions=("relu_forward_maximum",),
)
def relu_backward_zeroing_dout_in_place(dout, cache):
    dx, x = None, cache
    dx = dout
    dx[x <= 0] = 0
    return dx
