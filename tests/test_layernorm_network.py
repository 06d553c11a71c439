"""The network with layer norm: its gradients and its batch independence.

These tests grade layer norm inside the network, so they carry the ``layernorm`` marker: they
run the network's code too (``fc_net``, chapter 6, done before layer norm's chapter 10), but
``pytest -m fc_net`` must not wait for layer norm, which the network uses only when asked.
"""

import numpy as np
import pytest

from nndl.fc_net import FullyConnectedNet
from tests.test_fc_net import SMALL, _numerical_check


@pytest.mark.layernorm
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_layernorm_network_gradients_match_numerical_gradients(reg):
    rng = np.random.default_rng(231)
    X, y = rng.standard_normal((2, 15)), rng.integers(10, size=2)
    model = FullyConnectedNet([20, 30], normalization="layernorm", reg=reg, seed=0, **SMALL)
    assert {"gamma1", "beta1", "gamma2", "beta2"} <= set(model.params)
    loss, errors = _numerical_check(model, X, y)
    assert np.isfinite(loss)
    assert max(errors.values()) < 1e-4, errors


@pytest.mark.layernorm
def test_layernorm_network_scores_do_not_depend_on_the_rest_of_the_batch():
    rng = np.random.default_rng(2)
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="layernorm", seed=0)
    X = rng.standard_normal((5, 4)).astype(np.float32)
    model.loss(X, rng.integers(3, size=5))  # train mode, as for batch norm: no state is kept
    one_by_one = np.concatenate([model.loss(X[i : i + 1]) for i in range(5)])
    # float32: a row's sums are taken in another order alone than among five (round-off of
    # about 1e-7 each); depending on the batch would move the scores by far more
    np.testing.assert_allclose(one_by_one, model.loss(X), rtol=1e-5)
