"""The derivations themselves: the building blocks sympy computes, the closed forms it reaches
for a symbolic batch size N, and their exact verification by brute force for N = 1..6.

These tests need sympy, not nndl: they check the mathematics that nndl is then held to (by the
witnesses).
"""

import dataclasses

import numpy as np
import pytest
import sympy as sp

import derivations
from derivations import __main__ as cli
from derivations import batchnorm as bn
from derivations.check import term_scaled_error
from derivations.exact import is_zero, rationalise, symbol_array, verify_by_brute_force
from derivations.notation import BATCH, CLASSES, FEATURES, OUTPUTS
from derivations.sums import collapse, magnitude

N, i, j, k = BATCH.size, BATCH.own, BATCH.summed, BATCH.other


def local(derivation, node, parent):
    """The local derivative of ``node`` with respect to ``parent``, as an expression."""
    nodes = {n.name: n for n in derivation.nodes}
    return nodes[node].local_derivative[parent].rhs


def same(a, b) -> bool:
    return sp.simplify(a - b) == 0


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def test_summing_a_kronecker_delta_leaves_a_piecewise_that_holds_for_every_k_in_the_batch():
    mean = sp.Sum(bn.x[j], (j, 0, N - 1)) / N
    raw = sp.diff(mean, bn.x[k]).doit()
    assert raw.has(sp.Piecewise)  # 1/N if 0 <= k <= N - 1, else 0
    assert collapse(raw, {k: N}) == 1 / N


def test_local_derivatives_of_the_batchnorm_graph_are_the_textbook_building_blocks():
    d = derivations.batchnorm_train()
    assert local(d, "mu", "x") == 1 / N
    assert local(d, "xc", "x") == sp.KroneckerDelta(i, k)
    assert local(d, "xc", "mu") == -1
    assert local(d, "var", "xc") == 2 * bn.xc[k] / N
    assert local(d, "inv_std", "var") == -(bn.inv_std**3) / 2
    assert local(d, "xhat", "xc") == bn.inv_std * sp.KroneckerDelta(i, k)
    assert local(d, "xhat", "inv_std") == bn.xc[i]
    assert local(d, "out", "xhat") == bn.gamma * sp.KroneckerDelta(i, k)
    assert local(d, "out", "gamma") == bn.xhat[i]
    assert local(d, "out", "beta") == 1


def test_the_variance_changes_with_x_k_by_2_xk_minus_mean_over_n():
    mean = sp.Sum(bn.x[i], (i, 0, N - 1)) / N
    variance = sp.Sum((bn.x[j] - mean) ** 2, (j, 0, N - 1)) / N
    derivative = collapse(sp.diff(variance, bn.x[k]), {k: N})
    assert same(derivative, 2 * (bn.x[k] - sp.Sum(bn.x[j], (j, 0, N - 1)) / N) / N)


def test_each_node_has_the_name_nndl_and_the_book_use():
    assert [n.name for n in derivations.batchnorm_train().nodes] == [
        "mu",
        "xc",
        "var",
        "inv_std",
        "xhat",
        "out",
    ]
    assert [n.name for n in derivations.batchnorm_test().nodes] == ["xc", "inv_std", "xhat", "out"]


# --------------------------------------------------------------------------------------------
# Chain rule and closed forms
# --------------------------------------------------------------------------------------------


def test_staged_gradients_walk_the_graph_backwards_one_node_at_a_time():
    d = derivations.batchnorm_train()
    assert list(d.staged) == [
        "dxhat",
        "dinv_std",
        "dvar",
        "dxc",
        "dmu",
        "dx",
        "dgamma",
        "dbeta",
    ]
    dxhat, dxc = d.gradient("dxhat").base, d.gradient("dxc").base
    dvar, dinv_std, dmu = (d.gradient(name) for name in ("dvar", "dinv_std", "dmu"))
    assert d.staged["dxhat"] == bn.gamma * d.gradient("dout")
    assert d.staged["dinv_std"] == sp.Sum(dxhat[j] * bn.xc[j], (j, 0, N - 1))
    assert d.staged["dvar"] == -dinv_std * bn.inv_std**3 / 2
    assert same(d.staged["dxc"], dxhat[i] * bn.inv_std + 2 * dvar * bn.xc[i] / N)
    assert d.staged["dmu"] == -sp.Sum(dxc[j], (j, 0, N - 1))
    assert same(d.staged["dx"], dxc[i] + dmu / N)


def test_batchnorm_closed_form_is_gamma_inv_std_over_n_times_three_terms():
    d = derivations.batchnorm_train()
    dout = d.symbols["dout"]
    sum_dout = sp.Sum(dout[j], (j, 0, N - 1))
    sum_dout_xhat = sp.Sum(dout[j] * bn.xhat[j], (j, 0, N - 1))
    textbook = bn.gamma * bn.inv_std / N * (N * dout[i] - sum_dout - bn.xhat[i] * sum_dout_xhat)
    assert same(d.closed_forms["dx"], textbook)
    assert d.closed_forms["dgamma"] == sum_dout_xhat
    assert d.closed_forms["dbeta"] == sum_dout


def test_dx_splits_into_the_direct_path_the_mean_path_and_the_variance_path():
    d = derivations.batchnorm_train()
    terms = {t.description: t for t in d.terms["dx"]}
    assert set(terms) == {
        "the direct path",
        "the path through the mean",
        "the path through the variance",
        "the path through the mean and the variance",
    }
    # The mean's own change of the variance is 0: sum_j xc_j = 0.
    assert terms["the path through the mean and the variance"].expression == 0
    assert terms["the path through the mean"].path == ("x", "mu", "xc", "xhat", "out")
    total = sum(t.expression for t in terms.values())
    assert same(total, d.closed_forms["dx"])


def test_every_simplifying_fact_is_proven_and_the_batch_sum_of_xhat_is_zero():
    (fact,) = derivations.batchnorm_train().identities
    assert fact == sp.Eq(sp.Sum(bn.xhat[j], (j, 0, N - 1)), 0)


def test_test_mode_batchnorm_is_an_affine_map_of_x():
    d = derivations.batchnorm_test()
    dout = d.symbols["dout"]
    assert d.closed_forms["dx"] == bn.gamma * bn.inv_std * dout[i]
    assert [t.description for t in d.terms["dx"]] == ["the direct path"]


def test_affine_closed_forms_are_the_matrix_products():
    d = derivations.affine_layer()
    x, w, dout = (d.symbols[name] for name in ("x", "w", "dout"))
    f, m, n, M = FEATURES.own, OUTPUTS.own, OUTPUTS.summed, OUTPUTS.size
    assert d.closed_forms["dx"] == sp.Sum(dout[i, n] * w[f, n], (n, 0, M - 1))
    assert d.closed_forms["dw"] == sp.Sum(dout[j, m] * x[j, f], (j, 0, N - 1))
    assert d.closed_forms["db"] == sp.Sum(dout[j, m], (j, 0, N - 1))


def test_softmax_gradient_is_probabilities_minus_labels_over_n():
    d = derivations.softmax_loss()
    x, y, lse = (d.symbols[name] for name in ("x", "y", "lse"))
    c = CLASSES.own
    assert same(d.closed_forms["dx"], (sp.exp(x[i, c] - lse[i]) - y[i, c]) / N)


# --------------------------------------------------------------------------------------------
# Exact verification for concrete sizes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 7))
def test_batchnorm_closed_forms_equal_brute_force_differentiation_exactly(n):
    assert verify_by_brute_force(derivations.batchnorm_train(), {"N": n}) == n + 2


@pytest.mark.parametrize("n", [1, 3])
def test_test_mode_closed_forms_equal_brute_force_differentiation_exactly(n):
    assert verify_by_brute_force(derivations.batchnorm_test(), {"N": n}) == n + 2


@pytest.mark.parametrize(
    ("name", "sizes", "count"),
    [
        ("affine", {"N": 2, "D": 3, "M": 2}, 6 + 6 + 2),
        ("relu", {"N": 3}, 3),
        ("dropout", {"N": 3}, 3),
        ("softmax_loss", {"N": 2, "C": 3}, 6),
        ("svm_loss", {"N": 2, "C": 3}, 6),
    ],
)
def test_closed_forms_of_the_other_layers_equal_brute_force_differentiation(name, sizes, count):
    assert verify_by_brute_force(derivations.DERIVATIONS[name](), sizes) == count


def test_brute_force_catches_a_closed_form_that_misses_the_mean_path():
    d = derivations.batchnorm_train()
    mean_path = next(t for t in d.terms["dx"] if t.description == "the path through the mean")
    wrong = dict(d.closed_forms, dx=d.closed_forms["dx"] - mean_path.expression)
    with pytest.raises(AssertionError, match=r"dx\[0\] differs"):
        verify_by_brute_force(dataclasses.replace(d, closed_forms=wrong), {"N": 2})


def test_is_zero_proves_identities_with_square_roots_and_rejects_near_misses():
    a, b = sp.symbols("a b", real=True)
    eps = sp.Symbol("eps", positive=True)
    inv_std = (a**2 + b**2 + eps) ** sp.Rational(-1, 2)
    assert is_zero(inv_std**3 * (a**2 + b**2 + eps) - inv_std)
    assert is_zero(inv_std**2 - 1 / (a**2 + b**2 + eps))
    assert not is_zero(inv_std**3 * (a**2 + b**2) - inv_std)  # eps left out
    assert is_zero(sp.exp(a - sp.log(sp.exp(a) + sp.exp(b))) * (sp.exp(a) + sp.exp(b)) - sp.exp(a))


def test_floats_of_numpy_code_on_symbols_become_the_rationals_they_stand_for():
    a = sp.Symbol("a", positive=True)
    # What nndl's staged backward leaves: a float exponent and -0.5 * 2/3 rounded to a float.
    expr = a**-0.5 * sp.Float(-0.5) * sp.Rational(2, 3)
    assert rationalise(expr) == -(a ** sp.Rational(-1, 2)) / 3
    assert is_zero(expr + 1 / (3 * sp.sqrt(a)))


def test_symbol_arrays_name_each_element_by_its_index():
    assert [str(s) for s in symbol_array("x", (2, 1)).ravel()] == ["x_0_0", "x_1_0"]


# --------------------------------------------------------------------------------------------
# NumPy closed forms, magnitudes, LaTeX, caching, printing
# --------------------------------------------------------------------------------------------


def test_numpy_fn_takes_the_inputs_and_returns_the_gradients_in_the_documented_order(rng):
    d = derivations.batchnorm_train()
    assert d.inputs == ("dout", "x", "gamma", "eps")
    assert d.outputs == ("dx", "dgamma", "dbeta")
    x, dout, gamma = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), rng.normal(size=5)
    dx, dgamma, dbeta = d.numpy_fn(dout, x, gamma, 1e-5)
    assert dx.shape == (4, 5) and dgamma.shape == (5,)
    np.testing.assert_allclose(dbeta, dout.sum(axis=0), rtol=1e-14)


def test_numpy_fn_says_which_inputs_disagree_on_the_batch_size(rng):
    d = derivations.batchnorm_train()
    with pytest.raises(ValueError, match=r"x has N = 4 \(axis 0\), but dout has N = 3"):
        d.numpy_fn(rng.normal(size=(3, 5)), rng.normal(size=(4, 5)), np.ones(5), 1e-5)
    with pytest.raises(TypeError, match=r"expected arguments \('dout', 'x', 'gamma', 'eps'\)"):
        d.numpy_fn(rng.normal(size=(3, 5)))
    with pytest.raises(ValueError, match=r"trailing axes .* 'gamma': \(4,\)"):
        d.numpy_fn(rng.normal(size=(3, 5)), rng.normal(size=(3, 5)), np.ones(4), 1e-5)
    with pytest.raises(ValueError, match=r"unknown inputs \['mean'\]"):
        d.evaluate(d.closed_forms, {"mean": np.zeros(5)})


def test_magnitude_adds_up_the_absolute_values_of_every_term():
    a, b, c = sp.symbols("a b c", real=True)
    assert magnitude(a - b * c) == sp.Abs(a) + sp.Abs(b) * sp.Abs(c)
    xs = sp.IndexedBase("x")
    assert magnitude(sp.Sum(-xs[j], (j, 0, N - 1))) == sp.Sum(sp.Abs(xs[j]), (j, 0, N - 1))


def test_term_scaled_error_demands_exact_zeros_where_every_term_is_zero():
    assert term_scaled_error([1.0, 0.0], [1.0 + 1e-16, 0.0], [1.0, 0.0]) == pytest.approx(1e-16)
    assert term_scaled_error([0.0, 1e-300], [0.0, 0.0], [1.0, 0.0]) == np.inf
    assert term_scaled_error([np.nan], [0.0], [1.0]) == np.inf


def test_latex_uses_the_books_symbols():
    latex = derivations.batchnorm_train().latex["dx"]
    for symbol in (
        r"\hat{x}",
        r"\hat{\sigma}^{-1}",
        r"\gamma",
        r"\mathrm{d}y",
        r"\sum_{j=0}^{N - 1}",
    ):
        assert symbol in latex
    nodes = {n.name: n for n in derivations.batchnorm_train().nodes}
    assert nodes["var"].local_derivative_latex["xc"] == (
        r"\frac{\partial \sigma^{2}}{\partial {\tilde{x}}_{k}} = \frac{2 {\tilde{x}}_{k}}{N}"
    )


def test_each_derivation_is_computed_once_per_process():
    assert derivations.batchnorm_train() is derivations.batchnorm_train()
    assert set(derivations.all_derivations()) == set(derivations.DERIVATIONS)


def test_python_m_derivations_prints_every_derivation(capsys):
    assert cli.main([]) == 0
    text = capsys.readouterr().out
    for d in derivations.all_derivations().values():
        assert f"== {d.title} ({d.name}) ==" in text
    assert "numpy_fn(dout, x, gamma, eps) -> (dx, dgamma, dbeta)" in text
    assert "d var / d xc[k] = 2*xc[k]/N" in text


def test_python_m_derivations_prints_latex_on_request(capsys):
    assert cli.main(["--latex", "batchnorm_test"]) == 0
    text = capsys.readouterr().out
    assert r"\hat{x}" in text and "batchnorm_train" not in text


def test_python_m_derivations_names_the_derivations_when_given_an_unknown_one(capsys):
    with pytest.raises(SystemExit):
        cli.main(["batchnorm"])
    assert "unknown derivation batchnorm; choose from batchnorm_train" in capsys.readouterr().err
