"""The derivations of layer norm, spatial batch norm and group norm: the same graph as batch
norm with other axes averaged over, their closed forms for symbolic sizes, and the proof of
those closed forms by brute-force differentiation for small sizes.

Like tests/test_derivations.py these need sympy, not nndl.
"""

import pytest
import sympy as sp

import derivations
from derivations import __main__ as cli
from derivations import spatial
from derivations.exact import verify_by_brute_force
from derivations.notation import BATCH, FEATURES

N, D = BATCH.size, FEATURES.size
i, j = BATCH.own, BATCH.summed
d, e = FEATURES.own, FEATURES.summed
C, H, W, G, K = (
    ix.size
    for ix in (spatial.CHANNELS, spatial.HEIGHT, spatial.WIDTH, spatial.GROUPS, spatial.IN_GROUP)
)
c, h, r, w, u = (
    spatial.CHANNELS.own,
    spatial.HEIGHT.own,
    spatial.HEIGHT.summed,
    spatial.WIDTH.own,
    spatial.WIDTH.summed,
)
g, q, t = spatial.GROUPS.own, spatial.IN_GROUP.own, spatial.IN_GROUP.summed

NEW = ("layernorm", "spatial_batchnorm", "spatial_groupnorm")


def same(a, b) -> bool:
    return sp.simplify(a - b) == 0


def symbols(derivation, names):
    return [derivation.symbols[name] for name in names.split()]


# --------------------------------------------------------------------------------------------
# One graph, other axes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_every_normalization_has_batch_norms_nodes_and_staged_gradients_in_the_same_order(name):
    bn, other = derivations.batchnorm_train(), derivations.DERIVATIONS[name]()
    assert [n.name for n in other.nodes] == [n.name for n in bn.nodes]
    assert [n.description for n in other.nodes] == [n.description for n in bn.nodes]
    assert list(other.staged) == list(bn.staged)
    assert other.inputs == bn.inputs and other.outputs == bn.outputs
    assert [t.description for t in other.terms["dx"]] == [t.description for t in bn.terms["dx"]]


def test_layer_norm_averages_each_example_over_its_features():
    ln = derivations.layernorm()
    nodes = {n.name: n for n in ln.nodes}
    x, mu = symbols(ln, "x mu")
    assert nodes["mu"].forward == sp.Eq(mu[i], sp.Sum(x[i, e], (e, 0, D - 1)) / D)
    (fact,) = ln.identities
    assert fact == sp.Eq(sp.Sum(ln.symbols["xhat"][i, e], (e, 0, D - 1)), 0)


def test_layer_norm_closed_form_is_batch_norms_with_the_sums_over_the_features():
    ln = derivations.layernorm()
    dout, xhat, gamma, inv_std = symbols(ln, "dout xhat gamma inv_std")
    dxhat = gamma[e] * dout[i, e]  # gamma varies along the summed axis: it stays inside the sums
    textbook = (
        inv_std[i]
        / D
        * (
            D * gamma[d] * dout[i, d]
            - sp.Sum(dxhat, (e, 0, D - 1))
            - xhat[i, d] * sp.Sum(dxhat * xhat[i, e], (e, 0, D - 1))
        )
    )
    assert same(ln.closed_forms["dx"], textbook)
    # gamma and beta belong to a feature: their gradients sum over the batch, as in batch norm.
    assert ln.closed_forms["dgamma"] == sp.Sum(dout[j, d] * xhat[j, d], (j, 0, N - 1))
    assert ln.closed_forms["dbeta"] == sp.Sum(dout[j, d], (j, 0, N - 1))


def moved(expr, limits, inside, outside):
    """``expr`` with each sum running over ``limits`` instead, ``inside`` replaced within the
    sums and ``outside`` elsewhere (a size outside a sum is a count, inside it a range)."""
    if isinstance(expr, sp.Sum):
        return sp.Sum(expr.function.xreplace(inside), *limits)
    if expr in outside:
        return outside[expr]
    if not expr.args:
        return expr
    return expr.func(*(moved(a, limits, inside, outside) for a in expr.args))


def test_spatial_batch_norm_is_batch_norm_over_n_h_w_examples():
    sbn, bn = derivations.spatial_batchnorm(), derivations.batchnorm_train()
    dout, xhat, gamma, inv_std = symbols(sbn, "dout xhat gamma inv_std")
    bdout, bxhat, bgamma, binv = symbols(bn, "dout xhat gamma inv_std")
    examples = ((j, 0, N - 1), (r, 0, H - 1), (u, 0, W - 1))
    at = (i, c, h, w)
    # Batch norm's closed form with N -> N H W examples, each sum over the batch -> over (j, r, u).
    expected = moved(
        bn.closed_forms["dx"],
        examples,
        inside={bdout[j]: dout[j, c, r, u], bxhat[j]: xhat[j, c, r, u]},
        outside={
            N: N * H * W,
            bdout[i]: dout[at],
            bxhat[i]: xhat[at],
            bgamma: gamma[c],
            binv: inv_std[c],
        },
    )
    assert same(sbn.closed_forms["dx"], expected)
    assert sbn.closed_forms["dgamma"] == sp.Sum(dout[j, c, r, u] * xhat[j, c, r, u], *examples)
    assert sbn.closed_forms["dbeta"] == sp.Sum(dout[j, c, r, u], *examples)


def test_group_norm_is_layer_norm_over_the_k_h_w_values_of_a_group():
    gn, ln = derivations.spatial_groupnorm(), derivations.layernorm()
    dout, xhat, gamma, inv_std = symbols(gn, "dout xhat gamma inv_std")
    ldout, lxhat, lgamma, linv = symbols(ln, "dout xhat gamma inv_std")
    row = ((t, 0, K - 1), (r, 0, H - 1), (u, 0, W - 1))
    at = (i, g, q, h, w)
    # Layer norm's closed form with D -> K H W features, each sum over the features -> over
    # the group's channels and positions (t, r, u).
    expected = moved(
        ln.closed_forms["dx"],
        row,
        inside={
            ldout[i, e]: dout[i, g, t, r, u],
            lxhat[i, e]: xhat[i, g, t, r, u],
            lgamma[e]: gamma[g, t],
        },
        outside={
            D: K * H * W,
            ldout[i, d]: dout[at],
            lxhat[i, d]: xhat[at],
            lgamma[d]: gamma[g, q],
            linv[i]: inv_std[i, g],
        },
    )
    assert same(gn.closed_forms["dx"], expected)
    # gamma belongs to a channel: its gradient sums over the batch and the positions.
    examples = ((j, 0, N - 1), (r, 0, H - 1), (u, 0, W - 1))
    assert gn.closed_forms["dgamma"] == sp.Sum(dout[j, g, q, r, u] * xhat[j, g, q, r, u], *examples)


@pytest.mark.parametrize("name", NEW)
def test_the_path_through_the_mean_and_the_variance_is_zero_and_the_paths_add_up(name):
    dv = derivations.DERIVATIONS[name]()
    terms = {t.description: t.expression for t in dv.terms["dx"]}
    assert terms["the path through the mean and the variance"] == 0
    assert same(sum(terms.values()), dv.closed_forms["dx"])


# --------------------------------------------------------------------------------------------
# Exact verification for concrete sizes: the averaged count runs over 1..6
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("features", range(1, 7))
def test_layernorm_closed_forms_equal_brute_force_differentiation_exactly(features):
    sizes = {"N": 2, "D": features}
    assert verify_by_brute_force(derivations.layernorm(), sizes) == 2 * features + 2 * features


@pytest.mark.parametrize(
    "sizes",
    [
        {"N": 1, "C": 2, "H": 1, "W": 1},
        {"N": 2, "C": 2, "H": 1, "W": 1},
        {"N": 1, "C": 1, "H": 1, "W": 3},
        {"N": 2, "C": 2, "H": 2, "W": 1},
        {"N": 1, "C": 1, "H": 5, "W": 1},
        {"N": 3, "C": 1, "H": 1, "W": 2},
    ],
    ids=lambda s: "NHW={}".format(s["N"] * s["H"] * s["W"]),
)
def test_spatial_batchnorm_closed_forms_equal_brute_force_differentiation_exactly(sizes):
    count = sizes["N"] * sizes["C"] * sizes["H"] * sizes["W"] + 2 * sizes["C"]
    assert verify_by_brute_force(derivations.spatial_batchnorm(), sizes) == count


@pytest.mark.parametrize(
    "sizes",
    [
        {"N": 2, "G": 2, "K": 1, "H": 1, "W": 1},
        {"N": 1, "G": 2, "K": 2, "H": 1, "W": 1},
        {"N": 1, "G": 1, "K": 1, "H": 1, "W": 3},
        {"N": 2, "G": 2, "K": 2, "H": 1, "W": 2},
        {"N": 1, "G": 1, "K": 1, "H": 5, "W": 1},
        {"N": 1, "G": 1, "K": 3, "H": 2, "W": 1},
    ],
    ids=lambda s: "KHW={}".format(s["K"] * s["H"] * s["W"]),
)
def test_spatial_groupnorm_closed_forms_equal_brute_force_differentiation_exactly(sizes):
    channels = sizes["G"] * sizes["K"]
    count = sizes["N"] * channels * sizes["H"] * sizes["W"] + 2 * channels
    assert verify_by_brute_force(derivations.spatial_groupnorm(), sizes) == count


def test_python_m_derivations_prints_the_normalizations(capsys):
    assert cli.main(list(NEW)) == 0
    text = capsys.readouterr().out
    assert "== Layer normalization (layernorm) ==" in text
    assert "Sum(xhat[i, e], (e, 0, D - 1)) = 0" in text
    assert "mu[c] = Sum(x[j, c, r, u], (j, 0, N - 1), (r, 0, H - 1), (u, 0, W - 1))/(H*N*W)" in text
    assert "mu[i, g] = Sum(x[i, g, t, r, u], (t, 0, K - 1), (r, 0, H - 1), (u, 0, W - 1))" in text
