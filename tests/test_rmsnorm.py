"""RMSNorm (``nndl.rmsnorm``): what it computes, its two backward passes against each other and
against numerical gradients, in a network, and its input checks. The tests that run every
normalization of the table alike (tests/test_normalization.py, test_normalization_witnesses.py)
run it too."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl.fc_net import FullyConnectedNet
from nndl.gradient_check import numerical_param_gradients, rel_error
from nndl.layers import layernorm_forward, rmsnorm_backward, rmsnorm_backward_alt, rmsnorm_forward
from tests.strategies import offset_and_scaled, seeds


@pytest.mark.rmsnorm
def test_rmsnorm_divides_each_example_by_its_root_mean_square_then_scales_it(rng):
    x, gamma = offset_and_scaled(rng, (5, 7), axis=0), rng.uniform(0.5, 2, 7)
    out, _ = rmsnorm_forward(x, np.ones(7), {"eps": 1e-12})
    np.testing.assert_allclose(np.sqrt((out**2).mean(axis=1)), 1, rtol=1e-10)
    out, _ = rmsnorm_forward(x, gamma, {})
    expected = gamma * x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.rmsnorm
def test_rmsnorm_keeps_each_examples_mean_where_layer_norm_removes_it(rng):
    """On rows of mean 0 the two are the same layer; elsewhere RMSNorm keeps the mean."""
    x = rng.standard_normal((4, 6))
    centred = x - x.mean(axis=1, keepdims=True)
    ones, zeros = np.ones(6), np.zeros(6)
    rms, _ = rmsnorm_forward(centred, ones, {})
    ln, _ = layernorm_forward(centred, ones, zeros, {})
    np.testing.assert_allclose(rms, ln, rtol=1e-12, atol=1e-12)
    shifted, _ = rmsnorm_forward(centred + 3, ones, {})
    assert np.all(shifted.mean(axis=1) > 0.5)


@pytest.mark.rmsnorm
def test_rmsnorm_is_the_same_in_train_and_test_mode(rng):
    x, gamma = rng.standard_normal((3, 4)), rng.normal(size=4)
    train, _ = rmsnorm_forward(x, gamma, {"mode": "train"})
    test, _ = rmsnorm_forward(x, gamma, {"mode": "test"})
    np.testing.assert_array_equal(train, test)


@pytest.mark.rmsnorm
@given(n=st.integers(1, 20), d=st.integers(1, 40), seed=seeds)
def test_rmsnorm_staged_backward_equals_the_closed_form(n, d, seed):
    rng = np.random.default_rng(seed)
    x, gamma = offset_and_scaled(rng, (n, d), axis=0), rng.normal(size=d)
    dout = rng.standard_normal((n, d))
    _, cache = rmsnorm_forward(x, gamma, {})
    for staged, alt in zip(rmsnorm_backward(dout, cache), rmsnorm_backward_alt(dout, cache)):
        assert staged.shape == alt.shape
        assert np.abs(staged - alt).max() <= 1e-12 * (1 + np.abs(staged).max())


@pytest.mark.rmsnorm
@pytest.mark.parametrize("reg", [0.0, 1.5])
def test_a_network_with_rmsnorm_has_the_numerical_gradients(reg):
    rng = np.random.default_rng(13)
    X, y = rng.standard_normal((4, 6)), rng.integers(3, size=4)
    model = FullyConnectedNet(
        [7, 5], input_dim=6, num_classes=3, normalization="rmsnorm", reg=reg,
        weight_scale=0.3, dtype=np.float64, seed=0,
    )  # fmt: skip
    assert {"gamma1", "gamma2"} <= set(model.params) and "beta1" not in model.params
    # No example's hidden layer all 0: at the ReLU's kink the numerical gradient means nothing.
    _, (*hidden, _) = model.forward_layers(X, "train", [{} for _ in model.bn_params])
    assert all((layer.relu > 0).any(axis=1).all() for layer in hidden)
    _, grads = model.loss(X, y)
    for name, numerical in numerical_param_gradients(model, X, y).items():
        assert rel_error(grads[name], numerical) < 1e-6, name


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((np.zeros(3), np.ones(3), {}), ValueError, r"x must be 2-D of shape \(N, D\)"),
        ((np.zeros((2, 3)), np.ones(2), {}), ValueError, r"gamma must have shape \(3,\)"),
        ((np.zeros((2, 3)), np.ones(3), {"epsilon": 1}), ValueError, "did you mean 'eps'"),
        ((np.zeros((2, 3)), np.ones(3), None), TypeError, "rms_param must be a dict"),
    ],
)
def test_rmsnorm_names_a_bad_argument(args, error, message):
    # nndl's own boundary (the checks before the solution region): no task marker
    with pytest.raises(error, match=f"rmsnorm_forward: .*{message}"):
        rmsnorm_forward(*args)
    with pytest.raises(TypeError, match="rmsnorm_backward: cache must be the cache"):
        rmsnorm_backward(np.zeros((2, 3)), None)
