"""RMSNorm, the instructor's side: the exact witness (nndl's code on sympy symbols equals the
derived closed forms), one name in three places (the staged backward assigns the derivation's
gradients in its order; the cache holds nodes of the graph), the derivation against layer
norm's (the path through the mean is the one that disappears), and the lab's diagnoses of the
two typical mistakes."""

import ast
import inspect
import textwrap

import numpy as np
import pytest
import sympy as sp

from derivations.check import GradientMismatch, compare_numeric, compare_symbolic
from derivations.exact import symbol_array, verify_by_brute_force
from derivations.layernorm import layernorm
from derivations.rmsnorm import rmsnorm
from nndl import rmsnorm as layer
from nndl.lab import check_task
from tests.strategies import offset_and_scaled

EPS = sp.Symbol("eps", positive=True)


def case(x, gamma, dout, eps, backward):
    _, cache = layer.rmsnorm_forward(x, gamma, {"eps": eps})
    dx, dgamma = backward(dout, cache)
    inputs = {"dout": dout, "x": x, "gamma": gamma, "eps": eps}
    return rmsnorm(), inputs, {"dx": dx, "dgamma": dgamma}


@pytest.mark.parametrize("backward", [layer.rmsnorm_backward, layer.rmsnorm_backward_alt])
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (2, 3)], ids=str)
def test_rmsnorm_backward_on_symbols_is_exactly_the_closed_form(shape, backward):
    x, dout = symbol_array("x", shape, real=True), symbol_array("dout", shape, real=True)
    gamma = symbol_array("gamma", shape[1:], real=True)
    n, d = shape
    assert compare_symbolic(*case(x, gamma, dout, EPS, backward)) == {"dx": n * d, "dgamma": d}


def test_the_closed_forms_hold_for_concrete_sizes_by_brute_force():
    assert verify_by_brute_force(rmsnorm(), {"N": 2, "D": 2}) == 4 + 2


def test_layer_norms_path_through_the_mean_is_the_one_that_disappears():
    rms = [term.description for term in rmsnorm().terms["dx"]]
    ln = [term.description for term in layernorm().terms["dx"] if term.expression != 0]
    assert rms == ["the direct path", "the path through the mean square"]
    assert "the path through the mean" in ln and "the path through the mean" not in rms


def test_the_staged_backward_assigns_the_derived_gradients_by_name_in_order():
    tree = ast.parse(textwrap.dedent(inspect.getsource(layer.rmsnorm_backward)))
    assigned = [
        target.id
        for node in sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.Assign)), key=lambda n: n.lineno
        )
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.startswith("d")
    ]
    assert list(dict.fromkeys(assigned)) == list(rmsnorm().staged)
    assert set(layer.RMSNormCache._fields) <= set(rmsnorm().symbols)


def without_the_path_through_the_mean_square(dout, cache):
    """The root mean square treated as a constant."""
    return dout * cache.gamma * cache.inv_rms, (dout * cache.xhat).sum(axis=0)


def test_the_witness_names_the_missing_path_through_the_mean_square():
    rng = np.random.default_rng(2)
    x = offset_and_scaled(rng, (4, 5), axis=0)
    arrays = x, rng.standard_normal(5), rng.standard_normal((4, 5))
    with pytest.raises(GradientMismatch, match=r"dx lacks the path through the mean square"):
        compare_numeric(*case(*arrays, 1e-5, without_the_path_through_the_mean_square))


def subtracting_the_mean(x, gamma, rms_param):
    """Layer norm in the RMSNorm slot."""
    xc = x - x.mean(axis=1, keepdims=True)
    inv_rms = ((xc**2).mean(axis=1, keepdims=True) + rms_param.get("eps", 1e-5)) ** -0.5
    return gamma * xc * inv_rms, layer.RMSNormCache(x, inv_rms, xc * inv_rms, gamma)


@pytest.mark.parametrize(
    ("implementations", "diagnosis"),
    [
        ({"rmsnorm_forward": subtracting_the_mean}, "which makes it layer norm"),
        (
            {"rmsnorm_backward_alt": without_the_path_through_the_mean_square},
            "rmsnorm_backward_alt: dx lacks the path through the mean square",
        ),
    ],
    ids=["layer norm", "no mean-square path"],
)
def test_the_lab_names_the_two_typical_mistakes(implementations, diagnosis):
    result = check_task("rmsnorm", **implementations)
    assert not result.passed and diagnosis in result.line(), result.line()
