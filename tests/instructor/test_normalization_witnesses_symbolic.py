"""Witness 2 for layer norm, spatial batch norm and group norm: nndl's own forward and backward,
run on object arrays of sympy symbols, equal the closed forms instantiated on the same symbols
(the difference is proven to be 0); and the witnesses reject a wrong backward, naming the path
it gets wrong.

Instructor-only, as tests/instructor/test_witnesses_symbolic.py is for batch norm: a student's
correct NumPy need not run on symbols (``np.sqrt``, ``x.var`` and ``np.einsum`` do not), and a
backward with one path cut is the solution with one mistake. The numeric witnesses, which every
correct solution passes, are in tests/test_normalization_witnesses.py.
"""

import numpy as np
import pytest
import sympy as sp

import derivations
from derivations.check import GradientMismatch, compare_numeric, compare_symbolic
from derivations.exact import is_zero, symbol_array
from nndl import layers
from tests.test_normalization_witnesses import (
    ALL,
    float_arrays,
    grouped,
    grouped_param,
    groupnorm_case,
    layernorm_case,
    spatial_batchnorm_case,
)

# --------------------------------------------------------------------------------------------
# Witness 2: exact, by symbolic execution of nndl's own code
# --------------------------------------------------------------------------------------------


def symbols(shape, param_shape):
    param_shape = tuple(np.atleast_1d(param_shape))
    x, dout = symbol_array("x", shape, real=True), symbol_array("dout", shape, real=True)
    gamma, beta = (symbol_array(name, param_shape, real=True) for name in ("gamma", "beta"))
    return x, gamma, beta, dout


EPS = sp.Symbol("eps", positive=True)


@pytest.mark.parametrize("which", ["staged", "alt", "fast"])
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (2, 3)], ids=str)
def test_layernorm_backward_on_symbols_is_exactly_the_closed_form(shape, which):
    backward = ALL["layernorm"][which]
    case = layernorm_case(*symbols(shape, shape[1]), EPS, backward)
    n, d = shape
    assert compare_symbolic(*case) == {"dx": n * d, "dgamma": d, "dbeta": d}


@pytest.mark.parametrize("which", ["staged", "alt", "fast"])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 2, 1, 2), (1, 1, 2, 2)], ids=str)
def test_spatial_batchnorm_backward_on_symbols_is_exactly_the_closed_form(shape, which):
    backward = ALL["spatial_batchnorm"][which]
    case = spatial_batchnorm_case(*symbols(shape, shape[1]), EPS, backward)
    C = shape[1]
    assert compare_symbolic(*case) == {"dx": int(np.prod(shape)), "dgamma": C, "dbeta": C}


@pytest.mark.parametrize("which", ["staged", "alt", "fast"])
@pytest.mark.parametrize(
    ("shape", "G"), [((1, 2, 1, 1), 2), ((1, 4, 1, 2), 2), ((2, 2, 2, 1), 1)], ids=str
)
def test_groupnorm_backward_on_symbols_is_exactly_the_closed_form(shape, G, which):
    backward = ALL["spatial_groupnorm"][which]
    case = groupnorm_case(*symbols(shape, (1, shape[1], 1, 1)), EPS, backward, G)
    C = shape[1]
    assert compare_symbolic(*case) == {"dx": int(np.prod(shape)), "dgamma": C, "dbeta": C}


def test_forward_passes_on_symbols_are_the_derived_graphs():
    x, gamma, beta, _ = symbols((2, 3), 3)
    out, _ = layers.layernorm_forward(x, gamma, beta, {"eps": EPS})
    expected = derivations.layernorm().evaluator({"x": x, "gamma": gamma, "beta": beta, "eps": EPS})
    pairs = [(out, expected.value("out"))]

    x, gamma, beta, _ = symbols((1, 2, 1, 2), 2)
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": EPS})
    expected = derivations.spatial_batchnorm().evaluator(
        {"x": x, "gamma": gamma, "beta": beta, "eps": EPS}
    )
    pairs.append((out, expected.value("out")))

    x, gamma, beta, _ = symbols((1, 4, 1, 1), (1, 4, 1, 1))
    out, _ = layers.spatial_groupnorm_forward(x, gamma, beta, 2, {"eps": EPS})
    inputs = {"x": grouped(x, 2), "eps": EPS}
    inputs |= {"gamma": grouped_param(gamma, 2), "beta": grouped_param(beta, 2)}
    pairs.append((grouped(out, 2), derivations.spatial_groupnorm().evaluator(inputs).value("out")))
    for got, derived in pairs:
        assert got.shape == derived.shape
        assert all(is_zero(a - b) for a, b in zip(got.ravel(), derived.ravel(), strict=True))


# --------------------------------------------------------------------------------------------
# The witnesses catch a wrong backward and name the path it gets wrong
# --------------------------------------------------------------------------------------------


def layernorm_backward_without_the_mean_path(dout, cache):
    """Layer norm's closed form with the path through the mean left out."""
    dxhat = dout * cache.gamma
    D = dout.shape[1]
    dx = cache.inv_std * (dxhat - cache.xhat * (dxhat * cache.xhat).sum(axis=1, keepdims=True) / D)
    return dx, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)


def layernorm_backward_over_the_batch_axis(dout, cache):
    """Batch norm's closed form on layer norm's cache: the sums over the batch, not the features."""
    dxhat = dout * cache.gamma
    N = dout.shape[0]
    mean = dxhat.sum(axis=0) / N
    dx = cache.inv_std * (dxhat - mean - cache.xhat * (dxhat * cache.xhat).sum(axis=0) / N)
    return dx, (dout * cache.xhat).sum(axis=0), dout.sum(axis=0)


def test_the_witnesses_name_the_missing_path_through_the_mean():
    rng = np.random.default_rng(3)
    numeric = layernorm_case(
        *float_arrays(rng, (4, 5), 5), 1e-5, layernorm_backward_without_the_mean_path
    )
    with pytest.raises(GradientMismatch, match=r"dx lacks the path through the mean .*\[x -> mu"):
        compare_numeric(*numeric)
    exact = layernorm_case(*symbols((2, 2), 2), EPS, layernorm_backward_without_the_mean_path)
    with pytest.raises(GradientMismatch, match=r"dx lacks the path through the mean"):
        compare_symbolic(*exact)


def test_the_witnesses_reject_sums_over_the_batch_axis_instead_of_the_features():
    rng = np.random.default_rng(4)
    numeric = layernorm_case(
        *float_arrays(rng, (4, 5), 5), 1e-5, layernorm_backward_over_the_batch_axis
    )
    with pytest.raises(
        GradientMismatch, match=r"dx differs from the derived closed form \(layernorm\)"
    ):
        compare_numeric(*numeric)
