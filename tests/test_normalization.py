"""Layer norm, spatial batch norm and group norm: CS231n's checks of the forward passes, the
numerical gradient checks, the staged backward equal to the closed form, and the input checks.

The three witnesses against the derivations are in test_normalization_witnesses.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl import layer_utils, layers
from nndl.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from nndl.normalization import NormalizationCache
from nndl.spatial import SpatialBatchNormCache
from nndl.table import LAYERS
from tests import layer_cases
from tests.strategies import offset_and_scaled, seeds

# --------------------------------------------------------------------------------------------
# Forward passes: CS231n's checks
# --------------------------------------------------------------------------------------------


@pytest.mark.layernorm
def test_layer_norm_gives_each_example_mean_0_and_std_1_then_beta_and_gamma(rng):
    x = offset_and_scaled(rng, (4, 15), axis=1)
    D = x.shape[1]
    out, _ = layers.layernorm_forward(x, np.ones(D), np.zeros(D), {})
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-4)  # eps makes it a little under 1
    out, _ = layers.layernorm_forward(x, np.full(D, 3.0), np.full(D, 5.0), {"eps": 1e-5})
    np.testing.assert_allclose(out.mean(axis=1), 5, rtol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 3, rtol=1e-4)


@pytest.mark.layernorm
def test_layer_norm_normalises_each_example_alone_so_it_ignores_the_rest_of_the_batch(rng):
    x, gamma, beta = offset_and_scaled(rng, (6, 5), axis=1), rng.normal(size=5), rng.normal(size=5)
    whole, _ = layers.layernorm_forward(x, gamma, beta, {})
    one_by_one = [layers.layernorm_forward(row[None], gamma, beta, {})[0][0] for row in x]
    np.testing.assert_allclose(whole, np.array(one_by_one), rtol=1e-13, atol=1e-13)


@pytest.mark.layernorm
def test_layer_norm_is_the_same_in_train_and_test_mode(rng):
    x, gamma, beta = offset_and_scaled(rng, (3, 4), axis=1), rng.normal(size=4), rng.normal(size=4)
    train, _ = layers.layernorm_forward(x, gamma, beta, {"mode": "train"})
    test, _ = layers.layernorm_forward(x, gamma, beta, {"mode": "test"})
    np.testing.assert_array_equal(train, test)


@pytest.mark.spatial_batchnorm
def test_spatial_batch_norm_gives_each_channel_mean_beta_and_std_gamma_in_train_mode(rng):
    x = offset_and_scaled(rng, (2, 3, 4, 5), axis=1)
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, -1.0, 4.0])
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-4)


@pytest.mark.spatial_batchnorm
def test_spatial_batch_norm_keeps_running_averages_per_channel_and_uses_them_in_test_mode(rng):
    x, gamma, beta = (
        offset_and_scaled(rng, (3, 2, 4, 4), axis=1),
        rng.normal(size=2),
        rng.normal(size=2),
    )
    old_mean, old_var = rng.normal(size=2), rng.uniform(0.5, 2, size=2)
    bn_param = {"mode": "train", "momentum": 0.8, "running_mean": old_mean, "running_var": old_var}
    layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 * old_mean + 0.2 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.8 * old_var + 0.2 * var, rtol=1e-12)

    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    per_channel = (slice(None), None, None)
    rm, rv = bn_param["running_mean"][per_channel], bn_param["running_var"][per_channel]
    expected = gamma[per_channel] * (x - rm) / np.sqrt(rv + 1e-5) + beta[per_channel]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.spatial_batchnorm
def test_spatial_batch_norm_in_test_mode_after_training_gives_channels_mean_near_0(rng):
    """CS231n's check: after many train-mode passes on batches from one distribution, test
    mode gives each channel a mean near 0 and a std near 1 (noisier than in train mode)."""
    shape = (10, 4, 11, 12)
    loc, scale = rng.uniform(-5, 5, (1, 4, 1, 1)), rng.uniform(1, 5, (1, 4, 1, 1))
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(4), np.zeros(4)
    for _ in range(50):
        batch = offset_and_scaled(rng, shape, offset=loc, scale=scale)
        layers.spatial_batchnorm_forward(batch, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(
        offset_and_scaled(rng, shape, offset=loc, scale=scale), gamma, beta, bn_param
    )
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=0.1)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=0.1)


@pytest.mark.spatial_groupnorm
def test_group_norm_gives_each_group_of_each_example_mean_0_and_std_1(rng):
    x = offset_and_scaled(rng, (2, 6, 4, 5), axis=1)
    ones, zeros = np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1))
    out, _ = layers.spatial_groupnorm_forward(x, ones, zeros, 2, {})
    groups = out.reshape(2, 2, 3, 4, 5)
    np.testing.assert_allclose(groups.mean(axis=(2, 3, 4)), 0, atol=1e-12)
    np.testing.assert_allclose(groups.std(axis=(2, 3, 4)), 1, rtol=1e-4)
    gamma, beta = rng.uniform(1, 3, (1, 6, 1, 1)), rng.normal(size=(1, 6, 1, 1))
    scaled, _ = layers.spatial_groupnorm_forward(x, gamma, beta, 2, {})
    np.testing.assert_allclose(scaled, gamma * out + beta, rtol=1e-12, atol=1e-12)


@pytest.mark.layernorm
@pytest.mark.spatial_groupnorm
def test_group_norm_with_one_group_is_layer_norm_of_the_flattened_image(rng):
    x = offset_and_scaled(rng, (3, 2, 3, 3), axis=1)
    out, _ = layers.spatial_groupnorm_forward(
        x, np.ones((1, 2, 1, 1)), np.zeros((1, 2, 1, 1)), 1, {}
    )
    flat = x.reshape(3, -1)
    expected, _ = layers.layernorm_forward(flat, np.ones(18), np.zeros(18), {})
    np.testing.assert_allclose(out.reshape(3, -1), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.spatial_groupnorm
def test_group_norm_with_one_channel_per_group_normalises_each_channel_of_each_image(rng):
    x = offset_and_scaled(rng, (2, 3, 4, 4), axis=1)
    out, _ = layers.spatial_groupnorm_forward(
        x, np.ones((1, 3, 1, 1)), np.zeros((1, 3, 1, 1)), 3, {}
    )
    np.testing.assert_allclose(out.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(2, 3)), 1, rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name", [layer_cases.param(layer) for layer in layer_cases.FAMILY.values()]
)
def test_every_normalization_keeps_the_dtype_of_its_input(rng, name, dtype):
    layer = LAYERS[name]
    case = layer_cases.example(layer, rng, dtype)
    out, cache = layer_cases.forward(layer, case["x"], case["params"], case["args"])
    assert out.dtype == dtype, layer.forward
    for kind, backward in layer_cases.backwards(layer).items():
        grads = backward(np.ones_like(case["x"]), cache)
        assert all(g.dtype == dtype for g in grads), (kind, backward)


@pytest.mark.layernorm
@pytest.mark.spatial_groupnorm
def test_a_numpy_scalar_eps_keeps_a_float32_computation_in_float32(rng):
    x = offset_and_scaled(rng, (3, 4), axis=1).astype(np.float32)
    gamma = np.ones(4, np.float32)
    out, cache = layers.layernorm_forward(x, gamma, gamma * 0, {"eps": np.float64(1e-5)})
    assert out.dtype == np.float32 and cache.inv_std.dtype == np.float32
    images = offset_and_scaled(rng, (2, 4, 2, 2), axis=1).astype(np.float32)
    per_channel = np.ones((1, 4, 1, 1), np.float32)
    out, _ = layers.spatial_groupnorm_forward(
        images, per_channel, per_channel * 0, 2, {"eps": np.float64(1e-5)}
    )
    assert out.dtype == np.float32


# --------------------------------------------------------------------------------------------
# Numerical gradient checks (CS231n's: relative errors of dx, dgamma, dbeta ~1e-9; an element
# of dx near 0 can reach 1e-7 from the centred differences' round-off)
# --------------------------------------------------------------------------------------------


BACKWARDS = [
    layer_cases.param(layer, layer.name, kind, id=f"{layer.name}-{kind}")
    for layer in layer_cases.FAMILY.values()
    for kind in layer_cases.backwards(layer)
]


@pytest.mark.parametrize(("name", "which"), BACKWARDS)
def test_backward_matches_the_numerical_gradient_of_the_forward_pass(rng, name, which):
    layer = LAYERS[name]
    case = layer_cases.example(layer, rng, offset=10, scale=4)
    backward = layer_cases.backwards(layer)[which]
    x, dout, extra = case["x"], case["dout"], (*case["args"], {})
    _, cache = layer.forward(x, *case["params"], *extra)
    dx, *dparams = backward(dout, cache)

    def f(x, *params):
        return layer.forward(x, *params, *extra)[0]

    args = [x, *case["params"]]
    for position, grad in enumerate([dx, *dparams]):

        def moved(v, position=position):
            return f(*args[:position], v, *args[position + 1 :])

        numerical = eval_numerical_gradient_array(moved, args[position].copy(), dout)
        assert rel_error(grad, numerical) < 1e-6, (
            f"argument {position}: relative error {rel_error(grad, numerical):.1e}"
        )


@pytest.mark.parametrize(
    "name",
    [layer_cases.param(layer) for layer in layer_cases.FAMILY.values() if layer.normalization],
)
def test_affine_norm_relu_sandwich_matches_the_numerical_gradient(rng, name):
    layer = LAYERS[name]
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 6)), rng.normal(size=6)
    params = tuple(rng.uniform(0.5, 2, size=6) for _ in layer.params)
    dout = rng.standard_normal((3, 6))
    _, cache = layer_utils.affine_norm_relu_forward(x, w, b, params, {}, layer)
    grads = layer_utils.affine_norm_relu_backward(dout, cache, layer)
    args = [x, w, b, *params]
    for position, grad in enumerate(grads):

        def f(v, position=position):
            moved = [*args[:position], v, *args[position + 1 :]]
            return layer_utils.affine_norm_relu_forward(*moved[:3], moved[3:], {}, layer)[0]

        numerical = eval_numerical_gradient_array(f, args[position].copy(), dout)
        assert rel_error(grad, numerical) < 1e-6, position


def test_affine_relu_sandwich_is_its_two_layers_in_turn(rng):
    x, w, b = rng.standard_normal((5, 2, 2)), rng.standard_normal((4, 3)), rng.normal(size=3)
    dout = rng.normal(size=(5, 3))
    out, cache = layer_utils.affine_relu_forward(x, w, b)
    a, affine_cache = layers.affine_forward(x, w, b)
    expected, relu_cache = layers.relu_forward(a)
    np.testing.assert_array_equal(out, expected)
    expected_grads = layers.affine_backward(layers.relu_backward(dout, relu_cache), affine_cache)
    for got, want in zip(
        layer_utils.affine_relu_backward(dout, cache), expected_grads, strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_affine_batchnorm_relu_sandwich_is_its_three_layers_in_turn(rng):
    """The sandwich runs the passes the table gives a network: the fast kernels."""
    batchnorm = LAYERS["batchnorm"]
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.normal(size=3)
    gamma, beta, dout = rng.uniform(0.5, 2, size=3), rng.normal(size=3), rng.normal(size=(5, 3))
    out, cache = layer_utils.affine_norm_relu_forward(x, w, b, (gamma, beta), {}, batchnorm)
    a, affine_cache = layers.affine_forward(x, w, b)
    an, bn_cache = batchnorm.network_forward(a, gamma, beta, {})
    expected, relu_cache = layers.relu_forward(an)
    np.testing.assert_array_equal(out, expected)
    da, dgamma, dbeta = batchnorm.network_backward(layers.relu_backward(dout, relu_cache), bn_cache)
    expected_grads = (*layers.affine_backward(da, affine_cache), dgamma, dbeta)
    grads = layer_utils.affine_norm_relu_backward(dout, cache, batchnorm)
    for got, want in zip(grads, expected_grads, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.layernorm
def test_a_layer_norm_net_loss_has_the_numerical_gradient(rng):
    """A scalar loss through layer norm (CS231n's gradient check style, eval_numerical_gradient)."""
    x, gamma, beta = offset_and_scaled(rng, (5, 4), axis=1), rng.normal(size=4), rng.normal(size=4)
    y = rng.integers(0, 4, size=5)

    def loss(x):
        return layers.softmax_loss(layers.layernorm_forward(x, gamma, beta, {})[0], y)[0]

    out, cache = layers.layernorm_forward(x, gamma, beta, {})
    _, dscores = layers.softmax_loss(out, y)
    dx, _, _ = layers.layernorm_backward(dscores, cache)
    assert rel_error(dx, eval_numerical_gradient(loss, x.copy(), verbose=False)) < 1e-7


# --------------------------------------------------------------------------------------------
# Staged == closed form, in float64, over shapes
# --------------------------------------------------------------------------------------------


def assert_same_gradients(staged, alt):
    for a, b in zip(staged, alt, strict=True):
        assert a.shape == b.shape
        scale = 1 + np.abs(a).max(initial=0)
        assert np.abs(a - b).max(initial=0) <= 1e-12 * scale


@pytest.mark.layernorm
@given(n=st.integers(1, 20), d=st.integers(1, 40), seed=seeds)
def test_layer_norm_staged_backward_equals_the_closed_form(n, d, seed):
    rng = np.random.default_rng(seed)
    x, gamma, beta = offset_and_scaled(rng, (n, d), axis=1), rng.normal(size=d), rng.normal(size=d)
    dout = rng.standard_normal((n, d))
    _, cache = layers.layernorm_forward(x, gamma, beta, {})
    assert_same_gradients(
        layers.layernorm_backward(dout, cache), layers.layernorm_backward_alt(dout, cache)
    )


image_shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(1, 5))


@pytest.mark.spatial_batchnorm
@given(shape=image_shapes, seed=seeds)
def test_spatial_batch_norm_staged_backward_equals_the_closed_form(shape, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, gamma, beta = offset_and_scaled(rng, shape, axis=1), rng.normal(size=C), rng.normal(size=C)
    dout = rng.standard_normal(shape)
    for mode in ("train", "test"):
        _, cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": mode})
        assert_same_gradients(
            layers.spatial_batchnorm_backward(dout, cache),
            layers.spatial_batchnorm_backward_alt(dout, cache),
        )


@pytest.mark.spatial_groupnorm
@given(shape=image_shapes, groups=st.integers(1, 6), seed=seeds)
def test_group_norm_staged_backward_equals_the_closed_form(shape, groups, seed):
    rng = np.random.default_rng(seed)
    N, C, H, W = shape
    G = max(g for g in range(1, groups + 1) if C % g == 0)
    x = offset_and_scaled(rng, shape, axis=1)
    gamma, beta = rng.normal(size=(1, C, 1, 1)), rng.normal(size=(1, C, 1, 1))
    dout = rng.standard_normal(shape)
    _, cache = layers.spatial_groupnorm_forward(x, gamma, beta, G, {})
    assert_same_gradients(
        layers.spatial_groupnorm_backward(dout, cache),
        layers.spatial_groupnorm_backward_alt(dout, cache),
    )


@pytest.mark.spatial_groupnorm
def test_the_closed_form_backward_leaves_its_inputs_unchanged(rng):
    x, gamma, beta = (
        offset_and_scaled(rng, (2, 4, 3, 3), axis=1),
        rng.normal(size=(1, 4, 1, 1)),
        np.zeros((1, 4, 1, 1)),
    )
    dout = rng.standard_normal(x.shape)
    _, cache = layers.spatial_groupnorm_forward(x, gamma, beta, 2, {})
    kept = [a.copy() for a in (dout, cache.xhat, cache.xc, cache.inv_std, cache.gamma)]
    layers.spatial_groupnorm_backward_alt(dout, cache)
    layers.spatial_groupnorm_backward_alt(dout, cache)
    for before, after in zip(
        kept, (dout, cache.xhat, cache.xc, cache.inv_std, cache.gamma), strict=True
    ):
        np.testing.assert_array_equal(before, after)


@pytest.mark.spatial_batchnorm
@pytest.mark.parametrize("shape", [(2, 1, 3, 3), (3, 2, 1, 1)], ids=["C=1", "H=W=1"])
def test_the_spatial_batchnorm_closed_form_leaves_dout_unchanged(rng, shape):
    # with one channel, or one position, the channels-last layout of dout is dout's own memory
    x, gamma = offset_and_scaled(rng, shape, axis=1), rng.normal(size=shape[1])
    dout = rng.standard_normal(shape)
    _, cache = layers.spatial_batchnorm_forward(x, gamma, 0 * gamma, {"mode": "train"})
    kept = dout.copy()
    first = layers.spatial_batchnorm_backward_alt(dout, cache)
    np.testing.assert_array_equal(dout, kept)
    assert_same_gradients(first, layers.spatial_batchnorm_backward_alt(dout, cache))


# --------------------------------------------------------------------------------------------
# Bad input: a clear error naming the argument
# --------------------------------------------------------------------------------------------


def ln_inputs():
    return np.zeros((2, 3)), np.ones(3), np.zeros(3)


@pytest.mark.parametrize(
    ("ln_param", "error", "message"),
    [
        (
            {"epsilon": 1e-5},
            ValueError,
            r"ln_param has an unknown key 'epsilon' \(did you mean 'eps'\?\)",
        ),
        (
            {"eps": 0.0},
            ValueError,
            r"ln_param\['eps'\] must be a finite number in \(0, inf\), got 0.0",
        ),
        ({"eps": -1e-5}, ValueError, r"ln_param\['eps'\] must be a finite number in \(0, inf\)"),
        (
            {"eps": float("nan")},
            ValueError,
            r"ln_param\['eps'\] must be a finite number in \(0, inf\)",
        ),
        ({"eps": "1e-5"}, TypeError, r"ln_param\['eps'\] must be a number in \(0, inf\), got str"),
        ({"eps": True}, TypeError, r"ln_param\['eps'\] must be a number in \(0, inf\), got bool"),
        ({"mode": "eval"}, ValueError, r"ln_param\['mode'\] must be 'train' or 'test'"),
        (None, TypeError, r"ln_param must be a dict \(keys eps, mode\), got NoneType"),
    ],
)
def test_layer_norm_rejects_a_bad_ln_param_naming_it(ln_param, error, message):
    with pytest.raises(error, match=rf"layernorm_forward: {message}"):
        layers.layernorm_forward(*ln_inputs(), ln_param)


def test_layer_norm_rejects_bad_arrays_naming_them():
    x, gamma, beta = ln_inputs()
    with pytest.raises(ValueError, match=r"layernorm_forward: x must be 2-D of shape \(N, D\)"):
        layers.layernorm_forward(np.zeros(3), gamma, beta, {})
    with pytest.raises(
        ValueError, match=r"layernorm_forward: gamma must have shape \(3,\), got \(2,\)"
    ):
        layers.layernorm_forward(x, np.ones(2), beta, {})
    with pytest.raises(TypeError, match=r"layernorm_forward: beta must be a numpy array, got list"):
        layers.layernorm_forward(x, gamma, [0.0, 0.0, 0.0], {})
    with pytest.raises(TypeError, match=r"layernorm_forward: x must have a floating dtype"):
        layers.layernorm_forward(np.zeros((2, 3), dtype=int), gamma, beta, {})
    # the backward's checks, on a cache built here (they come before any of the task's code)
    cache = NormalizationCache("train", (1,), x, x, x, np.ones((2, 1)), x, gamma)
    with pytest.raises(ValueError, match=r"layernorm_backward: dout must have shape \(2, 3\)"):
        layers.layernorm_backward(np.zeros((3, 2)), cache)
    with pytest.raises(
        TypeError, match=r"layernorm_backward_alt: cache must be the cache that layernorm_forward"
    ):
        layers.layernorm_backward_alt(np.zeros((2, 3)), None)


def test_group_norm_rejects_a_number_of_groups_that_does_not_divide_the_channels():
    x, gamma = np.zeros((2, 6, 2, 2)), np.ones((1, 6, 1, 1))
    message = r"G must be a positive divisor of the number of channels C = 6 .* got G = 4"
    with pytest.raises(ValueError, match=rf"spatial_groupnorm_forward: {message}"):
        layers.spatial_groupnorm_forward(x, gamma, gamma * 0, 4, {})
    with pytest.raises(ValueError, match=r"got G = 0"):
        layers.spatial_groupnorm_forward(x, gamma, gamma * 0, 0, {})
    with pytest.raises(TypeError, match=r"G must be an integer number of groups, got float"):
        layers.spatial_groupnorm_forward(x, gamma, gamma * 0, 2.0, {})


def test_image_layers_reject_bad_shapes_and_params_naming_them():
    x = np.zeros((2, 4, 3, 3))
    with pytest.raises(
        ValueError,
        match=r"spatial_groupnorm_forward: gamma must have shape \(1, 4, 1, 1\), got \(4,\)",
    ):
        layers.spatial_groupnorm_forward(x, np.ones(4), np.zeros((1, 4, 1, 1)), 2, {})
    with pytest.raises(
        ValueError, match=r"spatial_groupnorm_forward: gn_param has an unknown key 'momentum'"
    ):
        layers.spatial_groupnorm_forward(
            x, np.ones((1, 4, 1, 1)), np.zeros((1, 4, 1, 1)), 2, {"momentum": 0.9}
        )
    with pytest.raises(
        ValueError,
        match=r"spatial_batchnorm_forward: x must be 4-D of shape \(N, C, H, W\), got shape \(2,",
    ):
        layers.spatial_batchnorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4), {})
    with pytest.raises(
        ValueError,
        match=r"spatial_batchnorm_forward: beta must have shape \(4,\), got \(1, 4, 1, 1\)",
    ):
        layers.spatial_batchnorm_forward(x, np.ones(4), np.zeros((1, 4, 1, 1)), {})
    # the backwards' checks, on a cache built here (they come before any of the tasks' code)
    rows = x.reshape(-1, 4)
    batchnorm = NormalizationCache("train", (0,), rows, rows, rows, np.ones(4), rows, np.ones(4))
    cache = SpatialBatchNormCache(batchnorm=batchnorm, shape=x.shape)
    with pytest.raises(
        ValueError, match=r"spatial_batchnorm_backward: dout must have shape \(2, 4, 3, 3\)"
    ):
        layers.spatial_batchnorm_backward(np.zeros((2, 3, 3, 4)), cache)
    with pytest.raises(
        TypeError,
        match=r"spatial_groupnorm_backward: cache must be the cache that spatial_groupnorm_forward",
    ):
        layers.spatial_groupnorm_backward(np.zeros(x.shape), None)


@pytest.mark.parametrize(
    ("bn_param", "message"),
    [
        ({"mometum": 0.9}, r"bn_param has an unknown key 'mometum' \(did you mean 'momentum'\?\)"),
        ({"mode": "eval"}, r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"),
        ({"eps": 0.0}, r"bn_param\['eps'\] must be a finite number in \(0, inf\), got 0.0"),
        (
            {"mode": "test", "running_mean": np.zeros(4), "running_var": np.ones(3)},
            r"bn_param\['running_var'\] must have shape \(4,\) to match x of shape \(2, 4, 3, 3\)",
        ),
    ],
)
def test_spatial_batch_norm_names_itself_for_a_bad_bn_param(bn_param, message):
    # Not batchnorm_forward, which it hands the (N·H·W, C) rows to: the caller never called that.
    x, gamma = np.zeros((2, 4, 3, 3)), np.ones(4)
    with pytest.raises(ValueError, match=rf"^spatial_batchnorm_forward: {message}"):
        layers.spatial_batchnorm_forward(x, gamma, 0 * gamma, bn_param)


@pytest.mark.parametrize(
    "name", [layer_cases.param(layer) for layer in layer_cases.FAMILY.values()]
)
def test_integer_gamma_and_beta_are_used_as_numpy_would_use_them(rng, name):
    """CS231n's notebooks pass gamma = np.asarray([3, 4, 5, 6]): as floats of x's dtype."""
    layer = LAYERS[name]
    case = layer_cases.example(layer, rng)
    integers = tuple(np.arange(1, p.size + 1).reshape(p.shape) for p in case["params"])
    floats = tuple(p.astype(np.float64) for p in integers)
    out, _ = layer_cases.forward(layer, case["x"], integers, case["args"])
    expected, _ = layer_cases.forward(layer, case["x"], floats, case["args"])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)
