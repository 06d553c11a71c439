"""Three independent witnesses that nndl's backward passes are right, for every backward in
nndl.layers (both batch-norm backwards, in train and in test mode):

1. Numeric, to round-off: on float64 inputs of shapes (1, 3), (2, 1), (4, 5) and (200, 50),
   nndl's gradients equal the derived closed forms (``Derivation.numpy_fn``) to a term-scaled
   error of at most 1e-12 (``derivations.check.term_scaled_error``).
2. Exact: nndl's own forward and backward, run on object arrays of sympy symbols, equal the
   closed forms instantiated on the same symbols; the difference is proven to be 0.
   Softmax and SVM are not run on symbols: the softmax loss needs np.exp and a max over
   symbols, and the SVM loss compares each margin with 0, which a symbol cannot answer. Witnesses
   1 and 3 cover them, and their closed forms are proven by brute force in test_derivations.py.
3. Numerical gradient, the witness that does not use sympy: centred differences of nndl's
   forward pass agree with nndl's backward pass and with the derived closed form.

A backward pass that drops the path through the mean, or through the variance, fails witnesses
1 and 2 with a message that names the gradient and the path: see test_witnesses_wrong.py (kept
out of the student copy, since a backward with one path cut is the solution with one mistake).
"""

import functools
from typing import Any, NamedTuple

import numpy as np
import pytest
import sympy as sp

from derivations import cases
from derivations.check import compare_numeric, compare_symbolic
from derivations.exact import is_zero, symbol_array
from nndl import layers
from nndl.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

SHAPES = [(1, 3), (2, 1), (4, 5), (200, 50)]


class Scenario(NamedTuple):
    """A float case for witness 1, and what witness 3 needs to differentiate it numerically:
    the forward pass as a function of the arrays ``args`` (by gradient name) and the upstream
    gradient (None for a loss)."""

    case: cases.Case
    forward: Any
    args: dict[str, np.ndarray]
    dout: np.ndarray | None


def batchnorm_scenario(rng, shape, backward, mode="train") -> Scenario:
    n, d = shape
    x = rng.uniform(-5, 5, size=d) + rng.uniform(0.5, 5, size=d) * rng.standard_normal(shape)
    gamma, beta, dout = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(shape)
    bn_param = {"mode": mode, "eps": 1e-5}
    if mode == "test":
        bn_param |= {"running_mean": rng.standard_normal(d), "running_var": rng.uniform(0.5, 2, d)}
    case = cases.batchnorm(x, gamma, beta, dout, bn_param=dict(bn_param), backward=backward)

    def forward(x, gamma, beta):
        return layers.batchnorm_forward(x, gamma, beta, dict(bn_param))[0]

    return Scenario(case, forward, {"dx": x, "dgamma": gamma, "dbeta": beta}, dout)


def affine_scenario(rng, shape) -> Scenario:
    x, w, b = rng.standard_normal(shape), rng.standard_normal((shape[1], 7)), rng.normal(size=7)
    dout = rng.standard_normal((shape[0], 7))

    def forward(x, w, b):
        return layers.affine_forward(x, w, b)[0]

    return Scenario(cases.affine(x, w, b, dout), forward, {"dx": x, "dw": w, "db": b}, dout)


def relu_scenario(rng, shape) -> Scenario:
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)

    def forward(x):
        return layers.relu_forward(x)[0]

    return Scenario(cases.relu(x, dout), forward, {"dx": x}, dout)


def dropout_scenario(rng, shape) -> Scenario:
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    dropout_param = {"p": 0.3, "mode": "train", "seed": 231}

    def forward(x):
        return layers.dropout_forward(x, dict(dropout_param))[0]

    case = cases.dropout(x, dout, p=0.3, seed=231)
    return Scenario(case, forward, {"dx": x}, dout)


def loss_scenario(rng, shape, loss) -> Scenario:
    x, y = 3 * rng.standard_normal(shape), rng.integers(0, shape[1], size=shape[0])
    case = getattr(cases, loss.__name__)(x, y)

    def forward(x):
        return loss(x, y)[0]

    return Scenario(case, forward, {"dx": x}, None)


SCENARIOS = {
    "batchnorm_backward": functools.partial(batchnorm_scenario, backward=layers.batchnorm_backward),
    "batchnorm_backward_alt": functools.partial(
        batchnorm_scenario, backward=layers.batchnorm_backward_alt
    ),
    "batchnorm_backward, test mode": functools.partial(
        batchnorm_scenario, backward=layers.batchnorm_backward, mode="test"
    ),
    "batchnorm_backward_alt, test mode": functools.partial(
        batchnorm_scenario, backward=layers.batchnorm_backward_alt, mode="test"
    ),
    "affine_backward": affine_scenario,
    "relu_backward": relu_scenario,
    "dropout_backward": dropout_scenario,
    "softmax_loss": functools.partial(loss_scenario, loss=layers.softmax_loss),
    "svm_loss": functools.partial(loss_scenario, loss=layers.svm_loss),
}
MARKS = {
    "batchnorm_backward": pytest.mark.batchnorm_backward,
    "batchnorm_backward_alt": pytest.mark.batchnorm_backward_alt,
    "affine_backward": pytest.mark.affine,
    "relu_backward": pytest.mark.relu,
    "dropout_backward": pytest.mark.dropout,
    "softmax_loss": pytest.mark.losses,
    "svm_loss": pytest.mark.losses,
}
LAYERS = [pytest.param(name, marks=MARKS[name.split(",")[0]]) for name in SCENARIOS]


# --------------------------------------------------------------------------------------------
# Witness 1: numeric, to round-off
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("layer", LAYERS)
def test_backward_equals_the_derived_closed_form_to_round_off(layer, shape):
    rng = np.random.default_rng(sum(shape) * 7919)
    errors = compare_numeric(*SCENARIOS[layer](rng, shape).case, tolerance=1e-12)
    assert max(errors.values()) <= 1e-12


@pytest.mark.relu
def test_relu_backward_lets_no_gradient_through_at_exactly_zero():
    x, dout = np.array([[-1.0, 0.0, 2.0]]), np.array([[1.0, 1.0, 1.0]])
    case = cases.relu(x, dout)
    assert compare_numeric(*case) == {"dx": 0.0}
    np.testing.assert_array_equal(case.actual["dx"], [0.0, 0.0, 1.0])


# --------------------------------------------------------------------------------------------
# Witness 2: exact, by symbolic execution of nndl's own code
# --------------------------------------------------------------------------------------------


def symbolic_batchnorm(n, d, mode="train"):
    """Symbols for a batch-norm case: x, gamma, beta, dout, and bn_param with eps, momentum and
    the running averages as symbols."""
    arrays = {name: symbol_array(name, (n, d), real=True) for name in ("x", "dout")}
    arrays |= {name: symbol_array(name, (d,), real=True) for name in ("gamma", "beta")}
    bn_param = {
        "mode": mode,
        "eps": sp.Symbol("eps", positive=True),
        "momentum": sp.Symbol("momentum", real=True),
        "running_mean": symbol_array("running_mean", (d,), real=True),
        "running_var": symbol_array("running_var", (d,), positive=True),
    }
    return arrays, bn_param


BACKWARDS = [
    pytest.param(layers.batchnorm_backward, marks=pytest.mark.batchnorm_backward, id="staged"),
    pytest.param(layers.batchnorm_backward_alt, marks=pytest.mark.batchnorm_backward_alt, id="alt"),
]


@pytest.mark.parametrize(("n", "d"), [(2, 1), (2, 2), (3, 1), (3, 2)])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_on_symbols_is_exactly_the_closed_form(backward, n, d):
    arrays, bn_param = symbolic_batchnorm(n, d)
    case = cases.batchnorm(
        arrays["x"], arrays["gamma"], arrays["beta"], arrays["dout"], bn_param=bn_param,
        backward=backward,
    )  # fmt: skip
    assert compare_symbolic(*case) == {"dx": n * d, "dgamma": d, "dbeta": d}


@pytest.mark.parametrize("backward", BACKWARDS)
def test_test_mode_batchnorm_backward_on_symbols_is_exactly_the_closed_form(backward):
    arrays, bn_param = symbolic_batchnorm(3, 2, mode="test")
    case = cases.batchnorm(
        arrays["x"], arrays["gamma"], arrays["beta"], arrays["dout"], bn_param=bn_param,
        backward=backward,
    )  # fmt: skip
    assert case.derivation.name == "batchnorm_test"
    assert compare_symbolic(*case) == {"dx": 6, "dgamma": 2, "dbeta": 2}


@pytest.mark.batchnorm_forward
@pytest.mark.parametrize(("n", "d"), [(1, 1), (3, 2)])
def test_batchnorm_forward_on_symbols_is_the_graph_and_blends_the_running_averages(n, d):
    arrays, bn_param = symbolic_batchnorm(n, d)
    running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
    out, _ = layers.batchnorm_forward(arrays["x"], arrays["gamma"], arrays["beta"], bn_param)
    graph = cases.batchnorm_train().evaluator(
        {name: arrays[name] for name in ("x", "gamma", "beta")} | {"eps": bn_param["eps"]}
    )
    m = bn_param["momentum"]
    for got, derived in [
        (out, graph.value("out")),
        (bn_param["running_mean"], m * running_mean + (1 - m) * graph.value("mu")),
        (bn_param["running_var"], m * running_var + (1 - m) * graph.value("var")),
    ]:
        assert all(is_zero(a - b) for a, b in zip(got.ravel(), derived.ravel(), strict=True))


@pytest.mark.affine
def test_affine_backward_on_symbols_is_exactly_the_closed_form():
    x, w = symbol_array("x", (2, 3), real=True), symbol_array("w", (3, 2), real=True)
    b, dout = symbol_array("b", (2,), real=True), symbol_array("dout", (2, 2), real=True)
    assert compare_symbolic(*cases.affine(x, w, b, dout)) == {"dx": 6, "dw": 6, "db": 2}


@pytest.mark.relu
def test_relu_backward_on_signed_symbols_is_exactly_the_closed_form():
    """A symbol of unknown sign has no max(x, 0); symbols known to be positive or negative do,
    so the test covers both branches of the ReLU."""
    x = np.array(
        [[sp.Symbol("p0", positive=True), sp.Symbol("n0", negative=True)],
         [sp.Symbol("n1", negative=True), sp.Symbol("p1", positive=True)]],
        dtype=object,
    )  # fmt: skip
    dout = symbol_array("dout", (2, 2), real=True)
    assert compare_symbolic(*cases.relu(x, dout)) == {"dx": 4}


@pytest.mark.dropout
def test_dropout_backward_on_symbols_is_exactly_the_closed_form():
    x, dout = symbol_array("x", (3, 4), real=True), symbol_array("dout", (3, 4), real=True)
    case = cases.dropout(x, dout, p=0.5, seed=0)
    assert 0 < case.inputs["keep"].sum() < 12  # both kept and dropped units
    assert compare_symbolic(*case) == {"dx": 12}


# --------------------------------------------------------------------------------------------
# Witness 3: the numerical gradient
# --------------------------------------------------------------------------------------------


def numerical_gradients(scenario: Scenario) -> dict[str, np.ndarray]:
    """Centred differences of the forward pass with respect to each of its arguments."""
    grads = {}
    for name, array in scenario.args.items():

        def f(v, name=name):
            return scenario.forward(
                **{k[1:]: v if k == name else a for k, a in scenario.args.items()}
            )

        if scenario.dout is None:
            grads[name] = eval_numerical_gradient(f, array.copy(), verbose=False)
        else:
            grads[name] = eval_numerical_gradient_array(f, array.copy(), scenario.dout)
    return grads


def normwise_error(a, b) -> float:
    """max |a - b| / max(|a| + |b|): centred differences have an absolute error (~1e-10 here),
    which an elementwise relative error would blow up at entries near 0 (tiny softmax
    probabilities)."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b)))


@pytest.mark.parametrize("layer", LAYERS)
def test_backward_and_closed_form_agree_with_the_numerical_gradient(layer):
    scenario = SCENARIOS[layer](np.random.default_rng(4), (4, 5))
    case = scenario.case
    derived = case.derivation.evaluate(case.derivation.closed_forms, case.inputs)
    for name, numerical in numerical_gradients(scenario).items():
        numerical = numerical.reshape(derived[name].shape)
        assert normwise_error(np.reshape(case.actual[name], numerical.shape), numerical) < 1e-8
        assert normwise_error(derived[name], numerical) < 1e-8, name
