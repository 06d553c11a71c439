"""RMSNorm's entries of the catalogues (``tests/instructor/entries.py``): correct solutions in
other idioms, and the two typical mistakes with their diagnoses."""

from __future__ import annotations

import numpy as np

from nndl.rmsnorm import RMSNormCache, _check_rmsnorm_inputs, rmsnorm_forward
from tests.instructor.wrong_implementations import Substitute, WrongImplementation


def rmsnorm_with_sqrt_and_a_tuple_cache(x, gamma, rms_param):
    """np.sqrt and a division, a cache of the student's own: a tuple."""
    gamma, eps = _check_rmsnorm_inputs(x, gamma, rms_param)
    rms = np.sqrt(np.mean(np.square(x), axis=1, keepdims=True) + eps)
    xhat = x / rms
    return gamma * xhat, (xhat, rms, gamma)


def rmsnorm_backward_on_a_tuple_cache(dout, cache):
    xhat, rms, gamma = cache
    dxhat = dout * gamma
    dx = (dxhat - xhat * np.mean(dxhat * xhat, axis=1, keepdims=True)) / rms
    return dx, np.sum(dout * xhat, axis=0)


def rmsnorm_closed_form_with_einsum(dout, cache):
    """On nndl's own cache: the mean of dxhat * xhat as an einsum."""
    dxhat = dout * cache.gamma
    D = dout.shape[1]
    dx = cache.inv_rms * (
        dxhat - cache.xhat * np.einsum("nd,nd->n", dxhat, cache.xhat)[:, None] / D
    )
    return dx, np.einsum("nd,nd->d", dout, cache.xhat)


def rmsnorm_subtracting_the_mean(x, gamma, rms_param):
    """Layer norm's centring carried over: x - mean(x) before dividing."""
    rmsnorm_forward(x, gamma, dict(rms_param))  # the input checks
    xc = x - x.mean(axis=1, keepdims=True)
    inv_rms = ((xc**2).mean(axis=1, keepdims=True) + rms_param.get("eps", 1e-5)) ** -0.5
    return gamma * xc * inv_rms, RMSNormCache(x, inv_rms, xc * inv_rms, gamma)


def rmsnorm_backward_with_a_constant_rms(dout, cache):
    """The root mean square taken as a constant: dx = gamma * inv_rms * dout."""
    return dout * cache.gamma * cache.inv_rms, (dout * cache.xhat).sum(axis=0)


CORRECT = (
    Substitute(
        "rmsnorm",
        "rmsnorm_forward",
        rmsnorm_with_sqrt_and_a_tuple_cache,
        companions=(
            ("rmsnorm_backward", rmsnorm_backward_on_a_tuple_cache),
            ("rmsnorm_backward_alt", rmsnorm_backward_on_a_tuple_cache),
        ),
    ),
    Substitute("rmsnorm", "rmsnorm_backward_alt", rmsnorm_closed_form_with_einsum),
)
WRONG = (
    WrongImplementation(
        "rmsnorm",
        "rmsnorm_forward",
        rmsnorm_subtracting_the_mean,
        diagnosis="rmsnorm_forward subtracts the mean of each example, which makes it layer norm",
    ),
    WrongImplementation(
        "rmsnorm",
        "rmsnorm_backward",
        rmsnorm_backward_with_a_constant_rms,
        diagnosis="rmsnorm_backward: dx lacks the path through the mean square",
    ),
)
