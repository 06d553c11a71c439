"""Witness 2: nndl's own forward and backward, run on object arrays of sympy symbols, equal the
closed forms instantiated on the same symbols; the difference is proven to be 0.

Instructor-only: it holds the instructor's code to the derivations. A student's correct NumPy
need not run on symbols (``np.sqrt``, ``x.var`` and ``dout * (x > 0)`` do not), so the student's
tests are the numeric witnesses of ``tests/test_witnesses.py``.

Softmax and SVM are not run on symbols: the softmax loss needs np.exp and a max over symbols,
and the SVM loss compares each margin with 0, which a symbol cannot answer. Witnesses 1 and 3
cover them, and their closed forms are proven by brute force in test_derivations.py.
"""

import numpy as np
import pytest
import sympy as sp

from derivations.check import compare_symbolic
from derivations.exact import is_zero, symbol_array
from nndl import fast, layers
from tests import cases


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
    pytest.param(layers.batchnorm_backward, id="staged"),
    pytest.param(layers.batchnorm_backward_alt, id="alt"),
    pytest.param(fast.batchnorm_backward_alt, id="fast"),
]


@pytest.mark.parametrize(("n", "d"), [(2, 1), (2, 2), (3, 1), (3, 2)])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_on_symbols_is_exactly_the_closed_form(backward, n, d):
    arrays, bn_param = symbolic_batchnorm(n, d)
    case = cases.batchnorm(
        arrays["x"], arrays["gamma"], arrays["beta"], arrays["dout"], bn_param=bn_param,
        forward=layers.batchnorm_forward, backward=backward,
    )  # fmt: skip
    assert compare_symbolic(*case) == {"dx": n * d, "dgamma": d, "dbeta": d}


@pytest.mark.parametrize("backward", BACKWARDS)
def test_test_mode_batchnorm_backward_on_symbols_is_exactly_the_closed_form(backward):
    arrays, bn_param = symbolic_batchnorm(3, 2, mode="test")
    case = cases.batchnorm(
        arrays["x"], arrays["gamma"], arrays["beta"], arrays["dout"], bn_param=bn_param,
        forward=layers.batchnorm_forward, backward=backward,
    )  # fmt: skip
    assert case.derivation.name == "batchnorm_test"
    assert compare_symbolic(*case) == {"dx": 6, "dgamma": 2, "dbeta": 2}


@pytest.mark.parametrize(("n", "d"), [(1, 1), (3, 2)])
@pytest.mark.parametrize(
    "forward", [layers.batchnorm_forward, fast.batchnorm_forward], ids=["reference", "fast"]
)
def test_batchnorm_forward_on_symbols_is_the_graph_and_blends_the_running_averages(forward, n, d):
    arrays, bn_param = symbolic_batchnorm(n, d)
    running_mean, running_var = bn_param["running_mean"], bn_param["running_var"]
    out, _ = forward(arrays["x"], arrays["gamma"], arrays["beta"], bn_param)
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


def test_affine_backward_on_symbols_is_exactly_the_closed_form():
    x, w = symbol_array("x", (2, 3), real=True), symbol_array("w", (3, 2), real=True)
    b, dout = symbol_array("b", (2,), real=True), symbol_array("dout", (2, 2), real=True)
    assert compare_symbolic(*cases.affine(x, w, b, dout)) == {"dx": 6, "dw": 6, "db": 2}


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


def test_dropout_backward_on_symbols_is_exactly_the_closed_form():
    x, dout = symbol_array("x", (3, 4), real=True), symbol_array("dout", (3, 4), real=True)
    case = cases.dropout(x, dout, p=0.5, seed=0)
    assert 0 < case.inputs["keep"].sum() < 12  # both kept and dropped units
    assert compare_symbolic(*case) == {"dx": 12}
