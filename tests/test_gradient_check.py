"""Numerical gradients: correct, and the caller's x is left exactly as it was."""

import numpy as np
import pytest

from nndl.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    numerical_gradients,
    numerical_param_gradients,
    offset_and_scaled,
    rel_error,
)
from nndl.layers import batchnorm_backward, batchnorm_forward
from tests.strategies import gradient_check_batch

C = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])


def quadratic(x):
    """f(x) = sum(C * x**2), whose gradient is 2 C x."""
    return np.sum(C * x**2)


def test_numerical_gradient_of_a_quadratic_is_2cx(rng):
    x = rng.standard_normal(C.shape)
    grad = eval_numerical_gradient(quadratic, x, verbose=False)
    assert rel_error(grad, 2 * C * x) < 1e-8, "the numerical gradient of sum(C x**2) is not 2 C x"


def test_numerical_gradient_array_contracts_with_the_upstream_gradient(rng):
    A = rng.standard_normal((4, 3))
    x, df = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    # f(x) = A x, so dL/dx = A^T df.
    grad = eval_numerical_gradient_array(lambda a: A @ a, x, df)
    assert rel_error(grad, A.T @ df) < 1e-8, "not contracted with the upstream gradient df"


def test_numerical_gradient_array_is_right_when_f_returns_a_view_of_x(rng):
    x, df = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    # The identity returns x itself: without a copy, both sides would read the restored x.
    grad = eval_numerical_gradient_array(lambda a: a, x, df)
    assert rel_error(grad, df) < 1e-8, "fooled by f returning a view of x (no copy of f(x))"


def test_verbose_false_prints_nothing(rng, capsys):
    eval_numerical_gradient(quadratic, rng.standard_normal(C.shape), verbose=False)
    assert capsys.readouterr().out == "", "verbose=False still prints"


# Each check of a scalar function f at x, as check(f, x).
CHECKS = [
    pytest.param(
        lambda f, x: eval_numerical_gradient(f, x, verbose=False), id="eval_numerical_gradient"
    ),
    pytest.param(
        lambda f, x: eval_numerical_gradient_array(f, x, np.ones(())),
        id="eval_numerical_gradient_array",
    ),
    pytest.param(
        lambda f, x: grad_check_sparse(f, x, np.zeros_like(x), num_checks=5, seed=0),
        id="grad_check_sparse",
    ),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("check", CHECKS)
def test_gradient_check_leaves_x_unchanged(check, dtype, rng):
    # Restoring by arithmetic (x[i] -= h) instead of the saved value fails in float32.
    x = rng.standard_normal(C.shape).astype(dtype)
    original = x.copy()
    check(quadratic, x)
    assert x.dtype == dtype, "x changed dtype"
    assert np.array_equal(x, original), "x was restored by arithmetic, not to its saved value"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("check", CHECKS)
def test_gradient_check_restores_x_when_f_raises(check, dtype, rng):
    x = rng.standard_normal(C.shape).astype(dtype)
    original = x.copy()
    calls = []

    def fails_on_the_fourth_call(a):
        calls.append(1)
        if len(calls) == 4:  # the second evaluation of the second entry: x is perturbed now
            raise RuntimeError("boom")
        return quadratic(a)

    with pytest.raises(RuntimeError, match="boom"):
        check(fails_on_the_fourth_call, x)
    assert np.array_equal(x, original), "x was left perturbed when f raised"


def test_gradient_check_rejects_integer_x():
    # x + 1e-5 would round back to x in an integer array: a silent zero gradient.
    with pytest.raises(TypeError, match="floating-point"):
        eval_numerical_gradient(quadratic, np.ones(C.shape, dtype=int), verbose=False)


def test_grad_check_sparse_flags_a_wrong_gradient(rng, capsys):
    x = rng.standard_normal(C.shape)
    good = grad_check_sparse(quadratic, x, 2 * C * x, num_checks=6, seed=1)
    bad = grad_check_sparse(quadratic, x, C * x, num_checks=6, seed=1)
    assert good.shape == (6,) and good.max() < 1e-8, "a right gradient is flagged"
    # |2cx - cx| / (|2cx| + |cx|) = 1/3
    assert np.all(bad > 0.3), "a wrong gradient is missed"
    assert capsys.readouterr().out.count("relative error") == 12


def test_grad_check_sparse_is_reproducible_with_a_seed(rng, capsys):
    x = rng.standard_normal((50, 40))
    analytic = np.zeros_like(x)
    analytic[0, 0] = 1.0  # wrong only at one entry, so which entries are checked shows
    first = grad_check_sparse(lambda a: np.sum(a), x, analytic, seed=3)
    second = grad_check_sparse(lambda a: np.sum(a), x, analytic, seed=3)
    assert np.array_equal(first, second), "the checked entries do not follow the seed"
    assert capsys.readouterr().out.count("\n") == 20


def test_rel_error_is_max_abs_difference_over_sum_of_magnitudes():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == pytest.approx(1 / 3)
    assert rel_error(0.0, 0.0) == 0.0  # the 1e-8 floor, not 0 / 0
    assert rel_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(0.1)


def test_rel_error_rejects_arrays_of_different_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.ones((3, 1)), np.ones(3))


def test_dgamma_check_passes_its_argument_to_the_forward(rng):
    """The original notebook checked dgamma with `lambda a: batchnorm_forward(x, gamma, ...)`:
    the function ignored a, so the numerical gradient was 0 whatever the backward computed."""
    x, gamma, beta, dout = gradient_check_batch(rng, (4, 5))
    bn_param = {"mode": "train"}
    _, cache = batchnorm_forward(x, gamma, beta, bn_param)
    _, dgamma, _ = batchnorm_backward(dout, cache)

    def original_lambda(a):
        return batchnorm_forward(x, gamma, beta, bn_param)[0]

    def fixed_lambda(a):
        return batchnorm_forward(x, a, beta, bn_param)[0]

    ignored = eval_numerical_gradient_array(original_lambda, gamma.copy(), dout)
    assert np.all(ignored == 0), "a lambda that ignores its argument has a zero gradient"
    passed = eval_numerical_gradient_array(fixed_lambda, gamma.copy(), dout)
    assert rel_error(passed, dgamma) < 1e-9, "the check's lambda ignores its argument"


def test_numerical_gradients_of_batchnorm_match_its_backward_and_restore_the_inputs(rng):
    x, gamma, beta, dout = gradient_check_batch(rng, (4, 5))
    inputs = {"x": x, "gamma": gamma, "beta": beta, "bn_param": {"mode": "train"}}
    originals = {name: inputs[name].copy() for name in ("x", "gamma", "beta")}
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)

    def forward(x, gamma, beta, bn_param):
        return batchnorm_forward(x, gamma, beta, bn_param)[0]

    grads = numerical_gradients(forward, inputs, dout)
    assert sorted(grads) == ["dbeta", "dgamma", "dx"], "the keys are not 'd' + each array's name"
    assert rel_error(grads["dx"], dx) < 1e-7, "dx is not the gradient of sum(f * dout)"
    assert rel_error(grads["dgamma"], dgamma) < 1e-7, "dgamma is not the gradient of sum(f * dout)"
    assert rel_error(grads["dbeta"], dbeta) < 1e-7, "dbeta is not the gradient of sum(f * dout)"
    for name, original in originals.items():
        assert np.array_equal(inputs[name], original), f"{name} was left perturbed"


def test_numerical_gradients_of_a_scalar_function_when_dout_is_none(rng):
    x = rng.standard_normal(C.shape)
    grads = numerical_gradients(lambda x, scale: scale * quadratic(x), {"x": x, "scale": 3}, None)
    assert list(grads) == ["dx"], "a non-array input was differentiated"
    assert rel_error(grads["dx"], 6 * C * x) < 1e-8, "the gradient of a scalar f is wrong"


class Quadratic:
    """loss = sum(C * W**2) + sum(b) * mean(X): gradients 2 C W and mean(X) (y is ignored)."""

    def __init__(self, rng):
        self.params = {"W": rng.standard_normal(C.shape), "b": rng.standard_normal(3)}

    def loss(self, X, y):
        W, b = self.params["W"], self.params["b"]
        grads = {"W": 2 * C * W, "b": np.full(3, X.mean())}
        return np.sum(C * W**2) + b.sum() * X.mean(), grads


def test_numerical_param_gradients_match_the_models_and_restore_its_params(rng):
    model = Quadratic(rng)
    before = {name: w.copy() for name, w in model.params.items()}
    X = rng.standard_normal((4, 2))
    _, analytic = model.loss(X, None)
    grads = numerical_param_gradients(model, X, None)
    assert sorted(grads) == ["W", "b"], "not one gradient per parameter, under its name"
    for name in grads:
        assert rel_error(grads[name], analytic[name]) < 1e-8, f"{name}'s gradient is wrong"
    restored = [np.array_equal(model.params[n], before[n]) for n in before]
    assert all(restored), "a parameter was left perturbed"
    assert list(numerical_param_gradients(model, X, None, names=["b"])) == ["b"]


def test_numerical_param_gradients_rejects_an_unknown_name(rng):
    with pytest.raises(ValueError, match=r"names must be keys of model.params .* got \['V'\]"):
        numerical_param_gradients(Quadratic(rng), np.ones((1, 1)), None, names=["V"])


@pytest.mark.parametrize(
    "h, error",
    [(0.0, ValueError), (-1e-5, ValueError), (float("nan"), ValueError), ("1e-5", TypeError)],
)
def test_step_size_must_be_a_positive_number(h, error, rng):
    with pytest.raises(error, match=r"h must be a .*number in \(0, inf\)"):
        eval_numerical_gradient(quadratic, rng.standard_normal(C.shape), verbose=False, h=h)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"num_checks": 0}, ValueError, "num_checks must be an integer >= 1, got 0"),
        ({"num_checks": 2.5}, ValueError, "num_checks must be an integer >= 1, got 2.5"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer, got -1"),
        ({"seed": "abc"}, TypeError, "seed must be None, a non-negative integer or a numpy"),
    ],
)
def test_grad_check_sparse_refuses_bad_counts_and_seeds(kwargs, error, message, rng):
    x = rng.standard_normal(C.shape)
    with pytest.raises(error, match=message):
        grad_check_sparse(quadratic, x, 2 * C * x, **kwargs)


def test_numerical_gradients_needs_a_mapping_of_inputs(rng):
    with pytest.raises(TypeError, match="inputs must be a mapping from names to arrays, got list"):
        numerical_gradients(quadratic, [rng.standard_normal(C.shape)], None)


@pytest.mark.parametrize("shape, axis", [((6, 4), -1), ((6, 4), 0), ((3, 4, 2, 5), 1)])
def test_offset_and_scaled_gives_each_entry_along_axis_its_own_offset_and_scale(shape, axis, rng):
    # scale 0 leaves the offsets alone: one value per entry along axis, drawn from the range.
    offsets = offset_and_scaled(rng, shape, offset=(-3, 3), scale=0.0, axis=axis)
    assert offsets.shape == shape
    per_entry = np.moveaxis(offsets, axis, 0).reshape(shape[axis], -1)
    assert np.all(per_entry == per_entry[:, :1]), "an offset varies across the other axes"
    assert len(np.unique(per_entry[:, 0])) == shape[axis], "entries along axis share an offset"
    assert np.all((-3 <= per_entry) & (per_entry < 3)), "an offset lies outside its range"
    # A number is the same for the whole batch: offset + scale * N(0, 1) of the same draws.
    x = offset_and_scaled(np.random.default_rng(0), shape, offset=12, scale=5, axis=axis)
    assert np.array_equal(x, 12 + 5 * np.random.default_rng(0).standard_normal(shape))


def test_offset_and_scaled_refuses_an_axis_the_shape_lacks_and_a_seed_for_a_generator(rng):
    with pytest.raises(ValueError, match=r"axis must be an axis of shape \(6, 4\), got 2"):
        offset_and_scaled(rng, (6, 4), axis=2)
    with pytest.raises(TypeError, match="rng must be a numpy Generator, got int"):
        offset_and_scaled(0, (6, 4))
