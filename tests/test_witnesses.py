"""Independent witnesses that nndl's backward passes are right, for every backward in
nndl.layers (both batch-norm backwards, in train and in test mode):

1. Numeric, to round-off: on float64 inputs of shapes (1, 3), (2, 1), (4, 5) and (200, 50),
   nndl's gradients equal the derived closed forms (``Derivation.numpy_fn``) to a term-scaled
   error of at most 1e-12 (``derivations.check.term_scaled_error``).
2. Exact, by symbolic execution: nndl's code run on object arrays of sympy symbols equals the
   closed forms on the same symbols. That witness holds the instructor's code to the
   derivations (among the instructor's tests, which a student copy leaves out); it is not a
   student's test, since correct NumPy (``np.sqrt``, ``x.var``, ``dout * (x > 0)``) need not
   run on symbols.
3. Numerical gradient, the witness that does not use sympy: centred differences of the forward
   pass agree with nndl's backward pass and with the derived closed form.

Each test grades one task (its marker): a backward is run on the cache of the reference forward
pass (``nndl.lab.reference``), never on the student's own forward, and the functions are looked
up when a test runs, so that a module that does not import fails its own tasks' tests only.

A backward pass that drops the path through the mean, or through the variance, fails witness 1
with a message that names the gradient and the path (the instructor's tests show it on backward
passes with one path cut).
"""

import functools
from typing import Any, NamedTuple

import numpy as np
import pytest

from derivations.check import compare_numeric
from nndl import layers
from nndl.gradient_check import numerical_gradients
from nndl.table import LAYERS as TABLE
from tests import cases, layer_cases
from tests.strategies import offset_and_scaled

SHAPES = [(1, 3), (2, 1), (4, 5), (200, 50)]


class Scenario(NamedTuple):
    """A float case for witness 1, and what witness 3 needs to differentiate it numerically:
    the forward pass as a function of the arrays ``args`` (by argument name, as
    ``numerical_gradients`` takes them) and the upstream gradient (None for a loss)."""

    case: cases.Case
    forward: Any
    args: dict[str, np.ndarray]
    dout: np.ndarray | None


def batchnorm_scenario(rng, shape, backward, mode="train") -> Scenario:
    """``backward``: a backward pass, or the name of one in ``nndl.layers``."""
    from nndl.lab.reference import batchnorm_reference

    d = shape[1]
    x = offset_and_scaled(rng, shape, offset=(-5, 5), scale=(0.5, 5))
    gamma, beta, dout = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(shape)
    bn_param = {"mode": mode, "eps": 1e-5}
    if mode == "test":
        bn_param |= {"running_mean": rng.standard_normal(d), "running_var": rng.uniform(0.5, 2, d)}
    backward = getattr(layers, backward) if isinstance(backward, str) else backward
    case = cases.batchnorm(x, gamma, beta, dout, bn_param=dict(bn_param), backward=backward)

    def forward(x, gamma, beta):
        return batchnorm_reference(x, gamma, beta, bn_param)[0]

    return Scenario(case, forward, {"x": x, "gamma": gamma, "beta": beta}, dout)


def affine_scenario(rng, shape) -> Scenario:
    x, w, b = rng.standard_normal(shape), rng.standard_normal((shape[1], 7)), rng.normal(size=7)
    dout = rng.standard_normal((shape[0], 7))

    def forward(x, w, b):
        return layers.affine_forward(x, w, b)[0]

    return Scenario(cases.affine(x, w, b, dout), forward, {"x": x, "w": w, "b": b}, dout)


def relu_scenario(rng, shape) -> Scenario:
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)

    def forward(x):
        return layers.relu_forward(x)[0]

    return Scenario(cases.relu(x, dout), forward, {"x": x}, dout)


def dropout_scenario(rng, shape) -> Scenario:
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    dropout_param = {"p": 0.3, "mode": "train", "seed": 231}

    def forward(x):
        return layers.dropout_forward(x, dict(dropout_param))[0]

    case = cases.dropout(x, dout, p=0.3, seed=231)
    return Scenario(case, forward, {"x": x}, dout)


def loss_scenario(rng, shape, loss) -> Scenario:
    """``loss``: the name of the loss in ``nndl.layers`` (and of its case)."""
    x, y = 3 * rng.standard_normal(shape), rng.integers(0, shape[1], size=shape[0])
    case = getattr(cases, loss)(x, y)
    loss = getattr(layers, loss)

    def forward(x):
        return loss(x, y)[0]

    return Scenario(case, forward, {"x": x}, None)


# The scenario of each layer of the table with a derivation (the normalizations of one task
# each have theirs in test_normalization_witnesses.py): batch norm's two backward passes (the
# staged one and the closed form; its fast kernel's are the instructor's tests) in both modes,
# the others' one.
BUILDERS = {
    "affine": affine_scenario,
    "relu": relu_scenario,
    "dropout": dropout_scenario,
    "svm_loss": functools.partial(loss_scenario, loss="svm_loss"),
    "softmax_loss": functools.partial(loss_scenario, loss="softmax_loss"),
}
_BATCHNORM = TABLE["batchnorm"]
SCENARIOS = {
    f"{backward}{', test mode' * (mode == 'test')}": (
        functools.partial(batchnorm_scenario, backward=backward, mode=mode),
        layer_cases.marks_of(backward),
    )
    for backward in (_BATCHNORM.backward, _BATCHNORM.backward_alt)
    for mode in ("train", "test")
} | {
    name: (BUILDERS[name], layer_cases.marks_of(layer.backward or layer.forward))
    for name, layer in TABLE.items()
    if layer.derivation and name not in layer_cases.FAMILY and name != "batchnorm"
}
LAYERS = [pytest.param(name, marks=marks) for name, (_, marks) in SCENARIOS.items()]


def scenario(name, rng, shape) -> Scenario:
    return SCENARIOS[name][0](rng, shape)


# --------------------------------------------------------------------------------------------
# Witness 1: numeric, to round-off
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layer", LAYERS)
def test_backward_equals_the_derived_closed_form_to_round_off(layer, shape):
    rng = np.random.default_rng(sum(shape) * 7919)
    errors = compare_numeric(*scenario(layer, rng, shape).case, tolerance=1e-12)
    assert max(errors.values()) <= 1e-12


@pytest.mark.relu
def test_relu_backward_lets_no_gradient_through_at_exactly_zero():
    x, dout = np.array([[-1.0, 0.0, 2.0]]), np.array([[1.0, 1.0, 1.0]])
    case = cases.relu(x, dout)
    assert compare_numeric(*case) == {"dx": 0.0}
    np.testing.assert_array_equal(case.actual["dx"], [0.0, 0.0, 1.0])


@pytest.mark.batchnorm_forward
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batchnorm_forward_is_the_graph_and_blends_the_running_averages(shape):
    rng = np.random.default_rng(sum(shape) * 7919)
    x = offset_and_scaled(rng, shape, offset=(-5, 5), scale=5)
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    running = {
        "running_mean": rng.standard_normal(shape[1]),
        "running_var": rng.uniform(1, 2, shape[1]),
    }
    bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.75, **running}
    out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    graph = cases.batchnorm_train().evaluator({"x": x, "gamma": gamma, "beta": beta, "eps": 1e-5})
    for got, derived in [
        (out, graph.value("out")),
        (bn_param["running_mean"], 0.75 * running["running_mean"] + 0.25 * graph.value("mu")),
        (bn_param["running_var"], 0.75 * running["running_var"] + 0.25 * graph.value("var")),
    ]:
        np.testing.assert_allclose(got, derived, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------------------------
# Witness 3: the numerical gradient
# --------------------------------------------------------------------------------------------


def normwise_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|): centred differences have an absolute error (~1e-10 here),
    which an elementwise relative error would blow up at entries near 0 (tiny softmax
    probabilities)."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("layer", LAYERS)
def test_backward_and_closed_form_agree_with_the_numerical_gradient(layer):
    found = scenario(layer, np.random.default_rng(4), (4, 5))
    case = found.case
    derived = case.derivation.evaluate(case.derivation.closed_forms, case.inputs)
    numerical = numerical_gradients(found.forward, found.args, found.dout)
    for name, gradient in numerical.items():
        gradient = gradient.reshape(derived[name].shape)
        assert normwise_error(np.reshape(case.actual[name], gradient.shape), gradient) < 1e-8
        assert normwise_error(derived[name], gradient) < 1e-8, name
