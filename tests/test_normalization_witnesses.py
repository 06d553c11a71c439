"""The witnesses that the backward passes of layer norm, spatial batch norm and group norm are
right, as tests/test_witnesses.py has them for batch norm:

1. Numeric, to round-off: on float64 inputs of small and large shapes, nndl's gradients equal
   the derived closed forms (``Derivation.numpy_fn``) to a term-scaled error of at most 1e-12.
2. Exact, by symbolic execution: in the instructor's tests only (a student's correct NumPy
   need not run on sympy symbols), with the wrong backward passes the witnesses must reject.
3. Numerical gradient: centred differences of nndl's forward pass agree with the derived
   closed form (and, in test_normalization.py, with nndl's backward).

Group norm's derivation indexes x as (N, G, C/G, H, W) and gamma as (G, C/G): the cases below
reshape nndl's arrays into that layout. Spatial batch norm is also held to batch norm's own
derivation on the (N·H·W, C) layout, in train and in test mode.
"""

from typing import NamedTuple

import numpy as np
import pytest

import derivations
from derivations.check import compare_numeric
from nndl import layers
from nndl.gradient_check import eval_numerical_gradient_array, rel_error
from nndl.table import LAYERS
from tests import layer_cases
from tests.strategies import offset_and_scaled


class Case(NamedTuple):
    """A derivation, its inputs, and nndl's gradients, in the derivation's layout."""

    derivation: derivations.Derivation
    inputs: dict
    actual: dict


def grouped(a, G):
    """(N, C, H, W) -> (N, G, C/G, H, W)."""
    N, C, H, W = a.shape
    return a.reshape(N, G, C // G, H, W)


def grouped_param(a, G):
    """gamma's or beta's (1, C, 1, 1) -> (G, C/G)."""
    return a.reshape(G, -1)


def channels_last(a):
    """(N, C, H, W) -> (N·H·W, C), batch norm's layout for the images' pixels."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def layernorm_case(x, gamma, beta, dout, eps, backward):
    _, cache = layers.layernorm_forward(x, gamma, beta, {"eps": eps})
    dx, dgamma, dbeta = backward(dout, cache)
    inputs = {"dout": dout, "x": x, "gamma": gamma, "eps": eps}
    return Case(derivations.layernorm(), inputs, {"dx": dx, "dgamma": dgamma, "dbeta": dbeta})


def spatial_batchnorm_case(x, gamma, beta, dout, eps, backward, bn_param=None, layout="images"):
    """Spatial batch norm against its own derivation ("images") or against batch norm's on
    the (N·H·W, C) layout ("pixels"; test mode needs this one)."""
    bn_param = bn_param or {"mode": "train"}
    bn_param = dict(bn_param, eps=eps)
    _, cache = layers.spatial_batchnorm_forward(x, gamma, beta, dict(bn_param))
    dx, dgamma, dbeta = backward(dout, cache)
    if layout == "images":
        inputs = {"dout": dout, "x": x, "gamma": gamma, "eps": eps}
        return Case(
            derivations.spatial_batchnorm(), inputs, {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
        )
    inputs = {"dout": channels_last(dout), "x": channels_last(x), "gamma": gamma, "eps": eps}
    derivation = derivations.batchnorm_train()
    if bn_param["mode"] == "test":
        derivation = derivations.batchnorm_test()
        inputs |= {"running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"]}
    actual = {"dx": channels_last(dx), "dgamma": dgamma, "dbeta": dbeta}
    return Case(derivation, inputs, actual)


def groupnorm_case(x, gamma, beta, dout, eps, backward, G):
    _, cache = layers.spatial_groupnorm_forward(x, gamma, beta, G, {"eps": eps})
    dx, dgamma, dbeta = backward(dout, cache)
    inputs = {
        "dout": grouped(dout, G),
        "x": grouped(x, G),
        "gamma": grouped_param(gamma, G),
        "eps": eps,
    }
    actual = {
        "dx": grouped(dx, G),
        "dgamma": grouped_param(dgamma, G),
        "dbeta": grouped_param(dbeta, G),
    }
    return Case(derivations.spatial_groupnorm(), inputs, actual)


# --------------------------------------------------------------------------------------------
# Float problems
# --------------------------------------------------------------------------------------------


def float_arrays(rng, shape, param_shape):
    x = offset_and_scaled(rng, shape, offset=(-5, 5), scale=(0.5, 5), axis=1)
    gamma, beta = rng.standard_normal(param_shape), rng.standard_normal(param_shape)
    return x, gamma, beta, rng.standard_normal(shape)


# Each layer's backward passes by kind: staged, alt (closed form); ALL adds its fast kernel,
# which the instructor's tests hold to the same witnesses (test_fast_kernels.py, instructor-only).
BACKWARDS = {name: layer_cases.backwards(layer) for name, layer in layer_cases.FAMILY.items()}
ALL = {name: layer_cases.backwards(layer, fast=True) for name, layer in layer_cases.FAMILY.items()}
KINDS = ("staged", "alt")


def same_layout_case(name, x, params, dout, eps, backward) -> Case:
    """A layer whose derivation indexes its arrays as the layer lays them out (layer norm...)."""
    layer = LAYERS[name]
    _, cache = layer.forward(x, *params, *layer.example.args, {"eps": eps})
    grads = backward(dout, cache)
    derivation = derivations.DERIVATIONS[layer.derivation]()
    given = {"dout": dout, "x": x, "eps": eps, **dict(zip(layer.params, params))}
    inputs = {name: given[name] for name in derivation.inputs}
    return Case(derivation, inputs, dict(zip(derivation.outputs, grads, strict=True)))


def float_case(rng, name, shape, which, G=None, mode="train", layout="images") -> Case:
    backward = ALL[name][which]
    if name == "layernorm":
        return layernorm_case(*float_arrays(rng, shape, shape[1]), 1e-5, backward)
    if name == "spatial_groupnorm":
        arrays = float_arrays(rng, shape, (1, shape[1], 1, 1))
        return groupnorm_case(*arrays, 1e-5, backward, G)
    if name == "spatial_batchnorm":
        C = shape[1]
        bn_param = {"mode": mode}
        if mode == "test":
            bn_param |= {
                "running_mean": rng.standard_normal(C),
                "running_var": rng.uniform(0.5, 2, C),
            }
        arrays = float_arrays(rng, shape, C)
        return spatial_batchnorm_case(*arrays, 1e-5, backward, bn_param, layout)
    x, gamma, beta, dout = float_arrays(rng, shape, shape[1])
    return same_layout_case(
        name, x, (gamma, beta)[: len(LAYERS[name].params)], dout, 1e-5, backward
    )


PROBLEMS = [
    *(("layernorm", shape, None) for shape in [(1, 3), (2, 1), (4, 5), (200, 50)]),
    *(
        ("spatial_batchnorm", shape, None)
        for shape in [(1, 1, 1, 1), (2, 3, 1, 2), (4, 3, 5, 5), (16, 8, 8, 8)]
    ),
    *(
        ("spatial_groupnorm", shape, G)
        for shape, G in [
            ((1, 2, 1, 1), 2),
            ((2, 4, 3, 2), 2),
            ((4, 6, 5, 5), 3),
            ((8, 16, 8, 8), 4),
        ]
    ),
]
PROBLEMS += [
    (name, shape, None)
    for name in layer_cases.FAMILY
    if name not in {problem[0] for problem in PROBLEMS}
    for shape in [(1, 3), (2, 1), (4, 5), (200, 50)]
]
IDS = [
    f"{name}-{'x'.join(map(str, shape))}" + (f"-G{G}" if G else "") for name, shape, G in PROBLEMS
]


# --------------------------------------------------------------------------------------------
# Witness 1: numeric, to round-off
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "G", "which"),
    [
        pytest.param(*problem, which, id=f"{id}-{which}", marks=getattr(pytest.mark, problem[0]))
        for problem, id in zip(PROBLEMS, IDS, strict=True)
        for which in BACKWARDS[problem[0]]
    ],
)
def test_backward_equals_the_derived_closed_form_to_round_off(name, shape, G, which):
    rng = np.random.default_rng(sum(shape) * 7919)
    errors = compare_numeric(*float_case(rng, name, shape, which, G), tolerance=1e-12)
    assert max(errors.values()) <= 1e-12


@pytest.mark.spatial_batchnorm
@pytest.mark.parametrize("which", KINDS)
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", [(1, 2, 1, 1), (3, 4, 5, 2)], ids=str)
def test_spatial_batch_norm_equals_batch_norms_closed_form_on_the_pixels(shape, mode, which):
    rng = np.random.default_rng(sum(shape))
    case = float_case(rng, "spatial_batchnorm", shape, which, mode=mode, layout="pixels")
    assert case.derivation.name == f"batchnorm_{mode}"
    assert max(compare_numeric(*case, tolerance=1e-12).values()) <= 1e-12


# --------------------------------------------------------------------------------------------
# Witness 3: the numerical gradient against the derived closed form
# --------------------------------------------------------------------------------------------


NUMERICAL = {"layernorm": ((4, 5), None), "spatial_batchnorm": ((2, 3, 2, 3), None)}
NUMERICAL |= {"spatial_groupnorm": ((2, 4, 2, 3), 2)}


@pytest.mark.parametrize(
    ("name", "shape", "G"),
    [
        layer_cases.param(layer, name, *NUMERICAL.get(name, ((4, 5), None)))
        for name, layer in layer_cases.FAMILY.items()
    ],
)
def test_the_numerical_gradient_of_nndls_forward_equals_the_derived_closed_form(name, shape, G):
    layer = LAYERS[name]
    rng = np.random.default_rng(5)
    param_shape = (1, shape[1], 1, 1) if name == "spatial_groupnorm" else shape[1]
    x, gamma, beta, dout = float_arrays(rng, shape, param_shape)
    params = (gamma, beta)[: len(layer.params)]
    extra = (G,) if G else ()

    def forward(x, *params):
        return layer.forward(x, *params, *extra, {})[0]

    case = float_case(np.random.default_rng(0), name, shape, "alt", G)  # for the derivation
    d = case.derivation
    args = [x, *params]
    if name == "spatial_groupnorm":
        inputs = [grouped(dout, G), grouped(x, G), grouped_param(gamma, G), 1e-5]
        derived = [g.reshape(a.shape) for g, a in zip(d.numpy_fn(*inputs), args, strict=True)]
    else:
        given = {"dout": dout, "x": x, "eps": 1e-5, **dict(zip(layer.params, params))}
        derived = d.numpy_fn(*(given[name] for name in d.inputs))
    for position, closed_form in enumerate(derived):

        def moved(v, position=position):
            return forward(*args[:position], v, *args[position + 1 :])

        numerical = eval_numerical_gradient_array(moved, args[position].copy(), dout)
        assert rel_error(closed_form, numerical) < 1e-6, position
