"""The instructor's input boundary keeps a float32 layer in float32 when the hyper-parameters are
NumPy scalars (``np.float64(1e-5)``, an entry of ``np.logspace``). The conversion happens in the
checks before the solution block, so this holds of the instructor's code; a student's forward
that reads ``bn_param`` itself may promote, which is correct arithmetic, so the test is not one a
student sees."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nndl.batchnorm import batchnorm_forward

X, GAMMA, BETA = np.ones((4, 3)), np.ones(3), np.zeros(3)


@given(eps=st.floats(1e-8, 1e-2), momentum=st.floats(0, 1))
def test_numpy_scalar_hyperparameters_keep_a_float32_batch_in_float32(eps, momentum):
    bn_param = {"mode": "train", "eps": np.float64(eps), "momentum": np.float64(momentum)}
    out, _ = batchnorm_forward(X.astype(np.float32), GAMMA.astype(np.float32), BETA, bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == bn_param["running_var"].dtype == np.float32
    bn_param["mode"] = "test"
    out, _ = batchnorm_forward(X.astype(np.float32), GAMMA.astype(np.float32), BETA, bn_param)
    assert out.dtype == np.float32
