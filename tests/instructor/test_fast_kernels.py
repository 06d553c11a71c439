"""The fast kernels (``nndl.fast``) held to the clear reference by the reference's witnesses:
the derived closed forms to round-off, numerical gradients, and the reference's own values and
dtypes (the code on sympy symbols: tests/instructor/test_witnesses_symbolic.py and
test_normalization_witnesses_symbolic.py run the kernels too).

Instructor-only: in a student copy ``nndl/fast.py`` is the student's own functions under the
kernels' names, which the student-facing tests test as such.
"""

import numpy as np
import pytest

from derivations.check import compare_numeric
from nndl.gradient_check import eval_numerical_gradient_array, rel_error
from nndl.table import LAYERS, fast_kernels
from tests import layer_cases
from tests.strategies import offset_and_scaled
from tests.test_normalization_witnesses import IDS, PROBLEMS, float_case
from tests.test_witnesses import SHAPES, batchnorm_scenario

FAST = {name: layer for name, layer in LAYERS.items() if layer.fast_backward}


def test_every_fast_kernel_of_the_table_stands_in_for_a_reference_function():
    kernels = fast_kernels()
    assert kernels and all(kernel.module == "nndl.fast" for kernel in kernels)
    for kernel, reference in kernels.items():
        assert kernel.name == reference.name, "the student copy aliases them by name"
        assert kernel.resolve() is not reference.resolve()


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norms_fast_closed_form_equals_the_derived_one_to_round_off(shape, mode):
    rng = np.random.default_rng(sum(shape) * 7919)
    scenario = batchnorm_scenario(rng, shape, LAYERS["batchnorm"].fast_backward, mode)
    assert max(compare_numeric(*scenario.case, tolerance=1e-12).values()) <= 1e-12


@pytest.mark.parametrize(
    ("name", "shape", "G"),
    [
        pytest.param(*problem, id=id)
        for problem, id in zip(PROBLEMS, IDS, strict=True)
        if problem[0] in FAST
    ],
)
def test_the_fast_closed_forms_equal_the_derived_ones_to_round_off(name, shape, G):
    rng = np.random.default_rng(sum(shape) * 7919)
    errors = compare_numeric(*float_case(rng, name, shape, "fast", G), tolerance=1e-12)
    assert max(errors.values()) <= 1e-12


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fast_batch_norm_forward_is_the_reference_forward(dtype, mode):
    rng = np.random.default_rng(7)
    x = offset_and_scaled(rng, (50, 6)).astype(dtype)
    gamma, beta = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    running = {"running_mean": rng.standard_normal(6), "running_var": rng.uniform(1, 2, 6)}
    running = {key: value.astype(dtype) for key, value in running.items()}
    batchnorm = LAYERS["batchnorm"]
    results = []
    for forward in (batchnorm.forward, batchnorm.fast_forward):
        bn_param = {"mode": mode, "momentum": 0.8, **{k: v.copy() for k, v in running.items()}}
        out, cache = forward(x, gamma, beta, bn_param)
        results.append((out, cache, bn_param))
    (out, cache, param), (fast_out, fast_cache, fast_param) = results
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert fast_out.dtype == out.dtype == dtype
    np.testing.assert_allclose(fast_out, out, rtol=tol, atol=tol)
    assert type(fast_cache) is type(cache) and fast_cache.mode == cache.mode
    for field in ("xc", "xhat", "inv_std", "gamma"):
        np.testing.assert_allclose(getattr(fast_cache, field), getattr(cache, field), rtol=tol)
    for key in ("running_mean", "running_var"):
        np.testing.assert_allclose(fast_param[key], param[key], rtol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(FAST))
def test_each_fast_backward_returns_the_references_gradients_in_its_dtype(name, dtype):
    layer = FAST[name]
    case = layer_cases.example(layer, np.random.default_rng(3), dtype)
    _, cache = layer_cases.forward(layer, case["x"], case["params"], case["args"])
    fast = layer.fast_backward(case["dout"], cache)
    reference = layer.backward_alt(case["dout"], cache)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for got, want in zip(fast, reference, strict=True):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("name", list(FAST))
def test_each_fast_backward_matches_the_numerical_gradient(name):
    layer = FAST[name]
    case = layer_cases.example(layer, np.random.default_rng(4), offset=10, scale=4)
    x, dout, extra = case["x"], case["dout"], (*case["args"], {})
    _, cache = layer.forward(x, *case["params"], *extra)
    args = [x, *case["params"]]
    for position, grad in enumerate(layer.fast_backward(dout, cache)):

        def moved(v, position=position):
            return layer.forward(*args[:position], v, *args[position + 1 :], *extra)[0]

        numerical = eval_numerical_gradient_array(moved, args[position].copy(), dout)
        assert rel_error(grad, numerical) < 1e-6, position
