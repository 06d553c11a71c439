"""Wrong batch-norm backward passes fail witnesses 1 and 2 with a message that names the gradient
and the path that is missing.

Instructor-only (in tests/instructor/, which the student copy leaves out): a staged backward with
one path cut is the solution with one mistake.
"""

import functools

import numpy as np
import pytest

from derivations.check import GradientMismatch, compare_numeric, compare_symbolic
from nndl import layers
from tests import cases
from tests.instructor.test_witnesses_symbolic import symbolic_batchnorm
from tests.test_witnesses import batchnorm_scenario


def staged_backward(dout, cache, mean_path=True, variance_path=True):
    """nndl's staged batch-norm backward with the path through the mean or the variance cut."""
    xc, xhat, inv_std, gamma = cache.xc, cache.xhat, cache.inv_std, cache.gamma
    n = dout.shape[0]
    dxhat = dout * gamma
    dvar = -(inv_std**3) * (dxhat * xc).sum(axis=0) / 2 if variance_path else 0 * inv_std
    dxc = dxhat * inv_std + 2 * xc * dvar / n
    dmu = -dxc.sum(axis=0) if mean_path else 0 * inv_std
    return dxc + dmu / n, (dout * xhat).sum(axis=0), dout.sum(axis=0)


WRONG = [
    pytest.param(functools.partial(staged_backward, mean_path=False), "mean", id="no mean path"),
    pytest.param(
        functools.partial(staged_backward, variance_path=False), "variance", id="no variance path"
    ),
]


@pytest.mark.parametrize(("backward", "path"), WRONG)
def test_dx_without_a_path_fails_witness_1_naming_the_missing_path(backward, path):
    scenario = batchnorm_scenario(np.random.default_rng(0), (4, 5), backward)
    pattern = rf"^dx differs from the derived closed form .* dx lacks the path through the {path} "
    with pytest.raises(GradientMismatch, match=pattern) as raised:
        compare_numeric(*scenario.case)
    assert raised.value.output == "dx" and raised.value.error > 1e-3
    assert raised.value.term.description == f"the path through the {path}"


@pytest.mark.parametrize(("backward", "path"), WRONG)
def test_dx_without_a_path_fails_witness_2_naming_the_missing_path(backward, path):
    arrays, bn_param = symbolic_batchnorm(3, 1)
    case = cases.batchnorm(
        arrays["x"], arrays["gamma"], arrays["beta"], arrays["dout"], bn_param=bn_param,
        forward=layers.batchnorm_forward, backward=backward,
    )  # fmt: skip
    pattern = rf"^dx differs from the derived closed form .* dx lacks the path through the {path} "
    with pytest.raises(GradientMismatch, match=pattern) as raised:
        compare_symbolic(*case)
    assert raised.value.difference != 0


def test_dgamma_summed_over_the_wrong_axis_is_reported_by_its_shape():
    scenario = batchnorm_scenario(np.random.default_rng(0), (4, 5), "batchnorm_backward")
    actual = scenario.case.actual | {"dgamma": np.ones(4)}
    with pytest.raises(GradientMismatch, match=r"^dgamma differs .* shape \(4,\), expected \(5,\)"):
        compare_numeric(scenario.case.derivation, scenario.case.inputs, actual)
