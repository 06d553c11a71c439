"""The layers: the original notebook's checks, a regression test for each original bug, and
properties over shapes and dtypes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl.gradient_check import numerical_gradients, rel_error
from nndl.lab.reference import batchnorm_reference
from nndl.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    svm_loss,
)
from tests.strategies import (
    batches,
    float_dtypes,
    gradient_check_batch,
    like,
    not_numbers,
    seeds,
)

# Each backward carries its own task's marker; both are graded on the reference forward's cache,
# so that a slip in batchnorm_forward (its own task) does not fail them.
BACKWARDS = [
    pytest.param(batchnorm_backward, marks=pytest.mark.batchnorm_backward, id="batchnorm_backward"),
    pytest.param(
        batchnorm_backward_alt,
        marks=pytest.mark.batchnorm_backward_alt,
        id="batchnorm_backward_alt",
    ),
]
# eps must be > 0; this one vanishes next to any variance here, so results are as with eps = 0.
TINY_EPS = float(np.finfo(np.float64).tiny)


# --------------------------------------------------------------------------------------------
# Affine and ReLU
# --------------------------------------------------------------------------------------------


@pytest.mark.affine
def test_affine_forward_flattens_each_example(rng):
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((120, 3))
    b = rng.standard_normal(3)
    out, _ = affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(2, -1) @ w + b, rtol=1e-12)


@pytest.mark.affine
def test_affine_backward_matches_numerical_gradient(rng):
    x, w, b = rng.standard_normal((10, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((10, 5))
    _, cache = affine_forward(x, w, b)
    expected = numerical_gradients(
        lambda x, w, b: affine_forward(x, w, b)[0], {"x": x, "w": w, "b": b}, dout
    )
    for name, got in zip(("dx", "dw", "db"), affine_backward(dout, cache)):
        assert got.shape == expected[name].shape, name
        assert rel_error(got, expected[name]) < 1e-9, name


@pytest.mark.affine
def test_affine_rejects_weights_that_do_not_match_the_input():
    x, w, b = np.ones((2, 3)), np.ones((4, 5)), np.ones(5)
    with pytest.raises(ValueError, match=r"w must have shape \(3, 5\)"):
        affine_forward(x, w, b)
    with pytest.raises(ValueError, match=r"b must have shape \(5,\)"):
        affine_forward(x, np.ones((3, 5)), np.ones(4))
    with pytest.raises(TypeError, match="floating dtype"):
        affine_forward(x.astype(int), np.ones((3, 5)), b)


@pytest.mark.relu
def test_relu_backward_matches_numerical_gradient(rng):
    x = rng.standard_normal((10, 10))
    dout = rng.standard_normal((10, 10))
    expected = numerical_gradients(lambda x: relu_forward(x)[0], {"x": x}, dout)
    _, cache = relu_forward(x)
    assert rel_error(relu_backward(dout, cache), expected["dx"]) < 1e-9


@pytest.mark.relu
def test_relu_gradient_is_zero_at_zero_and_below():
    x = np.array([[-1.0, 0.0, 2.0]])
    _, cache = relu_forward(x)
    np.testing.assert_array_equal(relu_backward(np.ones_like(x), cache), [[0.0, 0.0, 1.0]])


@pytest.mark.relu
def test_relu_backward_modifies_neither_dout_nor_the_cache(rng):
    x = rng.standard_normal((5, 5))
    dout = rng.standard_normal((5, 5))
    x_before, dout_before = x.copy(), dout.copy()
    _, cache = relu_forward(x)
    relu_backward(dout, cache)
    np.testing.assert_array_equal(cache, x_before)
    np.testing.assert_array_equal(dout, dout_before)


# --------------------------------------------------------------------------------------------
# Batch norm, forward: the original notebook's checks
# --------------------------------------------------------------------------------------------


def _original_batch(rng, N=200, D1=50, D2=60, D3=3):
    """The original notebook's input: 200 examples through a random two-layer ReLU network."""
    X = rng.standard_normal((N, D1))
    W1, W2 = rng.standard_normal((D1, D2)), rng.standard_normal((D2, D3))
    return np.maximum(0, X @ W1) @ W2


@pytest.mark.batchnorm_forward
def test_batchnorm_train_forward_gives_mean_0_std_1_then_mean_beta_std_gamma(rng):
    a = _original_batch(rng)
    out, _ = batchnorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-6)

    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(a, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, rtol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-6)


@pytest.mark.batchnorm_forward
def test_batchnorm_test_mode_after_50_warmup_passes_gives_mean_near_0_std_near_1(rng):
    N, D1, D2, D3 = 200, 50, 60, 3
    W1, W2 = rng.standard_normal((D1, D2)), rng.standard_normal((D2, D3))
    gamma, beta = np.ones(D3), np.zeros(D3)
    bn_param = {"mode": "train"}

    def batch():
        return np.maximum(0, rng.standard_normal((N, D1)) @ W1) @ W2

    for _ in range(50):
        batchnorm_forward(batch(), gamma, beta, bn_param)
    bn_param["mode"] = "test"
    running = bn_param["running_mean"].copy(), bn_param["running_var"].copy()
    out, _ = batchnorm_forward(batch(), gamma, beta, bn_param)
    # Running averages of noisy batch statistics: close to, not exactly, 0 and 1.
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.2)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.2)
    np.testing.assert_array_equal(bn_param["running_mean"], running[0])
    np.testing.assert_array_equal(bn_param["running_var"], running[1])


@pytest.mark.batchnorm_forward
def test_batchnorm_running_averages_weight_the_old_value_by_momentum():
    x = np.array([[0.0, 2.0], [2.0, 6.0]])  # batch mean [1, 4], batch variance [1, 4]
    bn_param = {"mode": "train", "momentum": 0.75, "running_mean": np.array([5.0, 5.0])}
    batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], [0.75 * 5 + 0.25 * 1, 0.75 * 5 + 0.25 * 4])
    np.testing.assert_allclose(bn_param["running_var"], [0.75 * 1 + 0.25 * 1, 0.75 * 1 + 0.25 * 4])


@pytest.mark.batchnorm_forward
def test_batchnorm_test_mode_uses_the_running_averages_not_the_batch():
    x = np.array([[1.0], [3.0]])
    bn_param = {
        "mode": "test",
        "eps": TINY_EPS,
        "running_mean": np.array([1.0]),
        "running_var": np.array([4.0]),
    }
    out, _ = batchnorm_forward(x, np.array([2.0]), np.array([10.0]), bn_param)
    np.testing.assert_allclose(out, [[10.0], [12.0]])


@pytest.mark.batchnorm_forward
@pytest.mark.parametrize(
    ("x", "gamma", "beta", "bn_param", "error", "message"),
    [
        (np.ones((4, 3)), np.ones(4), np.zeros(3), {}, ValueError, r"gamma must have shape \(3,\)"),
        (np.ones((4, 3)), np.ones(3), np.zeros((1, 3)), {}, ValueError, r"beta must have shape"),
        (np.ones((4, 3, 2)), np.ones(3), np.zeros(3), {}, ValueError, r"2-D of shape \(N, D\)"),
        (np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}, ValueError, "'train' or"),
        (np.ones((4, 3), int), np.ones(3), np.zeros(3), {}, TypeError, "floating dtype"),
        (
            np.ones((4, 3)),
            np.ones(3),
            np.zeros(3),
            {"running_mean": np.zeros(2)},
            ValueError,
            r"running_mean'\] must have shape \(3,\)",
        ),
    ],
    ids=["gamma-shape", "beta-shape", "3-d-input", "unknown-mode", "int-dtype", "running-shape"],
)
def test_batchnorm_rejects_bad_input_with_a_clear_message(x, gamma, beta, bn_param, error, message):
    with pytest.raises(error, match=message):
        batchnorm_forward(x, gamma, beta, bn_param)


# --------------------------------------------------------------------------------------------
# Batch norm, backward
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_matches_numerical_gradient_at_n4_d5(rng, backward):
    x, gamma, beta, dout = gradient_check_batch(rng, (4, 5))

    def forward(x, gamma, beta):
        return batchnorm_reference(x, gamma, beta, {"mode": "train"})[0]

    expected = numerical_gradients(forward, {"x": x, "gamma": gamma, "beta": beta}, dout)
    _, cache = batchnorm_reference(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    assert rel_error(dx, expected["dx"]) < 1e-7
    assert rel_error(dgamma, expected["dgamma"]) < 1e-9
    assert rel_error(dbeta, expected["dbeta"]) < 1e-9


@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_in_test_mode_treats_running_statistics_as_constants(rng, backward):
    x = rng.standard_normal((6, 3))
    gamma, beta, dout = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((6, 3))
    bn_param = {
        "mode": "test",
        "running_mean": rng.standard_normal(3),
        "running_var": rng.uniform(0.5, 2, 3),
    }
    expected = numerical_gradients(
        lambda x: batchnorm_reference(x, gamma, beta, bn_param)[0], {"x": x}, dout
    )
    _, cache = batchnorm_reference(x, gamma, beta, bn_param)
    assert rel_error(backward(dout, cache)[0], expected["dx"]) < 1e-8


@pytest.mark.batchnorm_backward_alt
@given(x=batches(dtype=np.float64), seed=seeds)
def test_alt_backward_equals_the_derived_closed_form_to_round_off(x, seed):
    from derivations import batchnorm_train

    gamma, beta = like(x, seed, x.shape[1:]), like(x, seed + 1, x.shape[1:])
    dout = like(x, seed + 2)
    _, cache = batchnorm_reference(x, gamma, beta, {"mode": "train"})
    # The derived closed forms, not the staged backward: that is another task.
    derivation = batchnorm_train()
    inputs = {"dout": dout, "gamma": gamma, "xhat": cache.xhat, "inv_std": cache.inv_std}
    derived = derivation.evaluate(derivation.closed_forms, inputs)
    staged = derived["dx"], derived["dgamma"], derived["dbeta"]
    alt = batchnorm_backward_alt(dout, cache)
    # Relative to the largest term of the closed form: dx itself can be ~0.
    scale = np.abs(gamma * cache.inv_std * dout).max()
    assert np.abs(staged[0] - alt[0]).max() <= 1e-12 * scale * x.shape[0]
    for name, s, a in zip(("dgamma", "dbeta"), staged[1:], alt[1:]):
        np.testing.assert_allclose(
            a, s, rtol=1e-12, atol=1e-12 * np.abs(dout).sum(0).max(), err_msg=name
        )


@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_rejects_a_dout_of_the_wrong_shape(backward):
    _, cache = batchnorm_reference(np.ones((4, 3)), np.ones(3), np.zeros(3), {})
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 3\)"):
        backward(np.ones((3, 4)), cache)
    with pytest.raises(TypeError, match="cache must be the cache that batchnorm_forward returned"):
        backward(np.ones((4, 3)), None)


# --------------------------------------------------------------------------------------------
# Batch norm: properties over shapes and dtypes
# --------------------------------------------------------------------------------------------


def _expected_std(x, gamma, eps=1e-5):
    """Per-feature std of the output: |gamma| * sqrt(var / (var + eps)), eps included."""
    var = x.astype(np.float64).var(axis=0)
    return np.abs(gamma) * np.sqrt(var / (var + eps))


@pytest.mark.batchnorm_forward
@given(x=batches(), seed=seeds)
def test_batchnorm_train_output_has_per_feature_mean_beta_and_std_gamma(x, seed):
    gamma, beta = like(x, seed, x.shape[1:]), like(x, seed + 1, x.shape[1:])
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert out.dtype == x.dtype
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    scale = 1 + np.abs(gamma) + np.abs(beta)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=tol * scale.max())
    np.testing.assert_allclose(out.std(axis=0), _expected_std(x, gamma), rtol=tol, atol=tol)


@pytest.mark.batchnorm_forward
@given(x=batches(), seed=seeds, a=st.floats(0.5, 4.0), c=st.floats(-10, 10))
def test_batchnorm_output_is_invariant_to_an_affine_change_of_the_input(x, seed, a, c):
    gamma, beta = like(x, seed, x.shape[1:]), like(x, seed + 1, x.shape[1:])
    bn_param = {"mode": "train", "eps": TINY_EPS}  # eps would make the invariance approximate
    out, _ = batchnorm_forward(x, gamma, beta, dict(bn_param))
    moved, _ = batchnorm_forward((a * x + c).astype(x.dtype), gamma, beta, dict(bn_param))
    tol = 2e-3 if x.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(moved, out, atol=tol * (1 + np.abs(gamma).max()))


@pytest.mark.parametrize("backward", BACKWARDS)
@given(x=batches(), seed=seeds)
def test_batchnorm_dx_sums_to_zero_over_the_batch_and_keeps_the_dtype(backward, x, seed):
    gamma, beta, dout = like(x, seed, x.shape[1:]), like(x, seed + 1, x.shape[1:]), like(x, seed)
    _, cache = batchnorm_reference(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == x.dtype
    scale = np.abs(gamma * cache.inv_std * dout).sum(axis=0)
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    # A closed form sums to -gamma * inv_std * sum(xhat) * dgamma / N: 0 only if the cache's xhat
    # sums to 0, which in float32 it does not for a nearly constant feature (x - mean rounds).
    residual = np.abs(gamma * cache.inv_std * cache.xhat.sum(axis=0) * dgamma) / x.shape[0]
    assert np.all(np.abs(dx.sum(axis=0)) <= tol * scale + 2 * residual)


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


@pytest.mark.dropout
@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_dropout_drops_a_fraction_p_of_units_not_keeps_it(p):
    # The original mask was `rand < p`: it *kept* units with probability p.
    x = np.ones((500, 2000))
    out, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 0})
    n = x.size
    sampling_error = np.sqrt(p * (1 - p) / n)
    assert abs((out == 0).mean() - p) < 5 * sampling_error
    # Inverted dropout: the kept units are scaled so that the mean is unchanged.
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p))
    assert abs(out.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)


@pytest.mark.dropout
def test_dropout_test_mode_returns_x_unchanged(rng):
    # The original left test-time dropout empty: `out` was never assigned.
    x = rng.standard_normal((10, 10))
    out, cache = dropout_forward(x, {"mode": "test", "p": 0.5})
    np.testing.assert_array_equal(out, x)
    dout = rng.standard_normal((10, 10))
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.dropout
def test_dropout_with_a_seed_is_deterministic_and_an_rng_advances(rng):
    x = rng.standard_normal((20, 30))
    a, _ = dropout_forward(x, {"p": 0.5, "seed": 7})
    b, _ = dropout_forward(x, {"p": 0.5, "seed": 7})
    np.testing.assert_array_equal(a, b)
    param = {"p": 0.5, "rng": np.random.default_rng(7)}
    c, _ = dropout_forward(x, param)
    d, _ = dropout_forward(x, param)
    assert not np.array_equal(c == 0, d == 0)


@pytest.mark.dropout
def test_dropout_backward_matches_numerical_gradient(rng):
    x, dout = rng.standard_normal((10, 10)) + 10, rng.standard_normal((10, 10))
    param = {"mode": "train", "p": 0.2, "seed": 123}
    expected = numerical_gradients(lambda x: dropout_forward(x, param)[0], {"x": x}, dout)
    _, cache = dropout_forward(x, param)
    assert rel_error(dropout_backward(dout, cache), expected["dx"]) < 1e-9


@pytest.mark.dropout
@given(dtype=float_dtypes, p=st.floats(0, 0.95), seed=seeds)
def test_dropout_output_keeps_the_input_dtype(dtype, p, seed):
    x = np.ones((8, 8), dtype=dtype)
    out, cache = dropout_forward(x, {"p": p, "seed": seed})
    assert out.dtype == dtype
    assert dropout_backward(x, cache).dtype == dtype


@pytest.mark.dropout
@pytest.mark.parametrize("param", [{"p": 1.0}, {"p": -0.1}, {}, {"p": 0.5, "mode": "eval"}])
def test_dropout_rejects_a_p_outside_0_1_and_unknown_modes(param):
    with pytest.raises(ValueError, match="dropout_param"):
        dropout_forward(np.ones((2, 2)), param)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------


@pytest.mark.losses
@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss], ids=lambda f: f.__name__)
def test_loss_gradient_matches_numerical_gradient(rng, loss_fn):
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.standard_normal((num_inputs, num_classes))
    y = rng.integers(num_classes, size=num_inputs)
    expected = numerical_gradients(lambda x, y: loss_fn(x, y)[0], {"x": x, "y": y}, None)
    loss, dx = loss_fn(x, y)
    assert rel_error(dx, expected["dx"]) < 1e-7


@pytest.mark.losses
def test_loss_values_at_uniform_scores(rng):
    x = np.zeros((50, 10))
    y = rng.integers(10, size=50)
    assert softmax_loss(x, y)[0] == pytest.approx(np.log(10))
    assert svm_loss(x, y)[0] == pytest.approx(9.0)


@pytest.mark.losses
@pytest.mark.usefixtures("no_warnings")
@pytest.mark.parametrize("magnitude", [1.0, 1e2, 1e4])
def test_softmax_loss_is_finite_without_warning_when_probabilities_underflow(magnitude):
    # The original took np.log of a probability that underflowed to 0: a warning and inf.
    x = np.array([[magnitude, -magnitude, 0.0], [0.0, 0.0, 0.0]])
    y = np.array([1, 2])
    x_before = x.copy()
    loss, dx = softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    tail = np.log1p(np.exp(-magnitude) + np.exp(-2 * magnitude))
    assert loss == pytest.approx((2 * magnitude + tail + np.log(3)) / 2)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.losses
@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss], ids=lambda f: f.__name__)
def test_loss_rejects_labels_out_of_range_or_of_the_wrong_shape(loss_fn):
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
        loss_fn(x, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\)"):
        loss_fn(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\)"):
        loss_fn(x, np.array([0, 1]))


# --------------------------------------------------------------------------------------------
# Bad input: an nndl error that names the argument (checked before any student code runs)
# --------------------------------------------------------------------------------------------

X, GAMMA, BETA = np.ones((4, 3)), np.ones(3), np.zeros(3)


def test_affine_forward_blames_x_for_a_1d_input():
    with pytest.raises(ValueError, match=r"affine_forward: x must have shape \(N, d_1") as error:
        affine_forward(np.ones(5), np.ones((1, 3)), np.ones(3))
    assert "w must" not in str(error.value)
    with pytest.raises(ValueError, match=r"w must have shape \(3, 5\) to match x of shape"):
        affine_forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(5))


def _caches():
    x = np.ones((4, 3))
    return {
        affine_backward: affine_forward(x, np.ones((3, 2)), np.ones(2))[1],
        relu_backward: relu_forward(x)[1],
        dropout_backward: dropout_forward(x, {"p": 0.5, "seed": 0})[1],
        batchnorm_backward: batchnorm_forward(x, GAMMA, BETA, {})[1],
        batchnorm_backward_alt: batchnorm_forward(x, GAMMA, BETA, {})[1],
    }


@pytest.mark.parametrize("backward", list(_caches()), ids=lambda f: f.__name__)
def test_backward_passes_name_a_dout_or_cache_of_the_wrong_type(backward):
    cache = _caches()[backward]
    dout = np.ones((4, 2)) if backward is affine_backward else np.ones((4, 3))
    with pytest.raises(TypeError, match=f"{backward.__name__}: dout must be a numpy array"):
        backward(dout.tolist(), cache)
    with pytest.raises(TypeError, match=f"{backward.__name__}: cache must be .*got NoneType"):
        backward(dout, None)


@pytest.mark.parametrize("bn_param", [None, [("mode", "train")], "train"])
def test_batchnorm_forward_needs_bn_param_as_a_dict(bn_param):
    with pytest.raises(TypeError, match="bn_param must be a dict"):
        batchnorm_forward(X, GAMMA, BETA, bn_param)


@pytest.mark.parametrize("key", ["running_mean", "running_var"])
def test_batchnorm_forward_needs_running_statistics_as_arrays(key):
    with pytest.raises(TypeError, match=rf"bn_param\['{key}'\] must be a numpy array, got list"):
        batchnorm_forward(X, GAMMA, BETA, {key: [1.0, 1.0, 1.0]})


@given(key=st.sampled_from(["eps", "momentum"]), value=not_numbers)
def test_batchnorm_hyperparameters_that_are_not_numbers_are_type_errors(key, value):
    with pytest.raises(TypeError, match=rf"bn_param\['{key}'\] must be a number"):
        batchnorm_forward(X, GAMMA, BETA, {key: value})


@given(eps=st.one_of(st.floats(max_value=0), st.just(np.inf), st.just(np.nan)))
def test_batchnorm_eps_must_be_positive_and_finite(eps):
    with pytest.raises(
        ValueError, match=r"bn_param\['eps'\] must be a finite number in \(0, inf\)"
    ):
        batchnorm_forward(X, GAMMA, BETA, {"eps": eps})


@given(momentum=st.one_of(st.floats(max_value=-1e-300), st.floats(min_value=1 + 1e-15)))
def test_batchnorm_momentum_outside_0_1_is_an_error(momentum):
    with pytest.raises(
        ValueError, match=r"bn_param\['momentum'\] must be a finite number in \[0, 1\]"
    ):
        batchnorm_forward(X, GAMMA, BETA, {"momentum": momentum})


@pytest.mark.parametrize("mode", ["train", "test"])
@given(bad=st.one_of(st.floats(max_value=-1e-300), st.just(np.nan)))
def test_batchnorm_running_var_below_0_or_nan_is_an_error_in_both_modes(mode, bad):
    running_var = np.array([1.0, bad, 1.0])
    with pytest.raises(ValueError, match=r"bn_param\['running_var'\] must be >= 0"):
        batchnorm_forward(X, GAMMA, BETA, {"mode": mode, "running_var": running_var})


@given(
    layer=st.sampled_from(["batchnorm", "dropout"]),
    key=st.text(min_size=1, max_size=12).filter(
        lambda k: (
            k not in {"mode", "eps", "momentum", "running_mean", "running_var", "p"}
            and k not in {"seed", "rng"}
        )
    ),
)
def test_unknown_keys_in_bn_param_and_dropout_param_are_errors(layer, key):
    param = {"batchnorm": "bn_param", "dropout": "dropout_param"}[layer]
    with pytest.raises(ValueError, match=f"{layer}_forward: {param} has an unknown key"):
        if layer == "batchnorm":
            batchnorm_forward(X, GAMMA, BETA, {key: 0.9})
        else:
            dropout_forward(X, {"p": 0.5, key: 0.9})


def test_a_misspelt_key_is_named_with_the_key_it_resembles():
    with pytest.raises(ValueError, match=r"'mometum' \(did you mean 'momentum'\?\)"):
        batchnorm_forward(X, GAMMA, BETA, {"mode": "train", "mometum": 0.9})
    with pytest.raises(ValueError, match=r"'sed' \(did you mean 'seed'\?\)"):
        dropout_forward(X, {"p": 0.5, "sed": 0})


@given(p=not_numbers)
def test_dropout_p_that_is_not_a_number_is_a_type_error(p):
    with pytest.raises(TypeError, match=r"dropout_param\['p'\] must be a number in \[0, 1\)"):
        dropout_forward(X, {"p": p})


@pytest.mark.parametrize(
    ("param", "error", "message"),
    [
        ({"rng": 42}, TypeError, r"dropout_param\['rng'\] must be a numpy Generator"),
        ({"seed": -1}, ValueError, r"dropout_param\['seed'\] must be an integer >= 0"),
        ({"seed": 1.5}, ValueError, r"dropout_param\['seed'\] must be an integer >= 0"),
        ({"seed": "abc"}, TypeError, r"dropout_param\['seed'\] must be an integer >= 0"),
    ],
    ids=["rng-int", "seed-negative", "seed-float", "seed-str"],
)
def test_dropout_names_a_bad_seed_or_rng(param, error, message):
    with pytest.raises(error, match=message):
        dropout_forward(X, {"p": 0.5, **param})


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.complex128])
def test_arrays_other_than_float32_and_float64_are_type_errors(dtype):
    x = X.astype(dtype)
    message = r"x must have a floating dtype, float32 or float64, got " + np.dtype(dtype).name
    for call in (
        lambda: affine_forward(x, np.ones((3, 2)), np.ones(2)),
        lambda: relu_forward(x),
        lambda: batchnorm_forward(x, GAMMA, BETA, {}),
        lambda: dropout_forward(x, {"p": 0.5}),
        lambda: softmax_loss(x, np.zeros(4, dtype=int)),
    ):
        with pytest.raises(TypeError, match=message) as error:
            call()
        assert ("too few digits" in str(error.value)) == (dtype == np.float16)


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss], ids=lambda f: f.__name__)
def test_losses_need_at_least_one_example(loss_fn):
    with pytest.raises(ValueError, match=r"N >= 1 .*got shape \(0, 3\)"):
        loss_fn(np.ones((0, 3)), np.zeros(0, dtype=int))


# --------------------------------------------------------------------------------------------
# Legitimate but unusual input: documented behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.batchnorm_forward
def test_a_nan_in_x_gives_nan_in_its_feature_and_then_names_the_nan_running_var():
    x = np.arange(12.0).reshape(4, 3)
    x[1, 1] = np.nan
    bn_param = {"mode": "train"}
    out, _ = batchnorm_forward(x, GAMMA, BETA, bn_param)
    assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, [0, 2]]).all()
    assert np.isnan(affine_forward(x, np.ones((3, 2)), np.zeros(2))[0][1]).all()
    assert np.isnan(relu_forward(x)[0][1, 1])
    # The NaN is in the running variance now: the next call says where it came from.
    with pytest.raises(ValueError, match="a NaN in x in train mode makes the running averages"):
        batchnorm_forward(x, GAMMA, BETA, bn_param)


@pytest.mark.dropout
def test_dropout_without_seed_or_rng_draws_from_numpys_global_generator():
    x = np.ones((20, 30))
    np.random.seed(231)  # noqa: NPY002 (what the CS231n notebooks do)
    first, _ = dropout_forward(x, {"p": 0.5})
    np.random.seed(231)  # noqa: NPY002
    again, _ = dropout_forward(x, {"p": 0.5})
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, dropout_forward(x, {"p": 0.5})[0])


def test_nndl_layers_exports_what_cs231n_layers_does_and_every_layer_of_the_table():
    import nndl.layers
    from nndl.table import exported_names

    assert set(nndl.layers.__all__) == {"np", *exported_names()}
    namespace = {}
    exec("from nndl.layers import *", namespace)  # what CS231n's notebooks run
    for name in ("affine_forward", "batchnorm_backward_alt", "layernorm_forward", "svm_loss"):
        assert callable(namespace[name]), name
    assert namespace["np"] is np


@pytest.mark.batchnorm_forward
def test_batchnorm_takes_integer_gamma_and_beta_as_numpy_would():
    """CS231n's notebooks pass gamma = np.asarray([3, 4, 5, 6])."""
    x = np.random.default_rng(0).standard_normal((5, 4))
    ints = np.asarray([3, 4, 5, 6]), np.asarray([1, 2, 3, 4])
    out, _ = batchnorm_forward(x, *ints, {})
    expected, _ = batchnorm_forward(x, *(a.astype(np.float64) for a in ints), {})
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_nndls_batchnorm_keeps_float32_with_integer_gamma_and_beta():
    # nndl's boundary converts them to x's dtype (no task marker: a student's forward may promote)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out32, _ = batchnorm_forward(x, np.asarray([3, 4, 5, 6]), np.asarray([1, 2, 3, 4]), {})
    assert out32.dtype == np.float32
