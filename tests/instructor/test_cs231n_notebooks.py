"""CS231n's BatchNormalization, Dropout and ConvolutionalNetworks notebooks (2019/2020 versions)
run against nndl: the same seeded inputs, the same quantities, compared with the values those
notebooks print (the facts, read from a published export of the notebooks with their outputs;
this is our own code, not theirs).

Every printed value that does not depend on a dropout mask is compared, to the digits printed.
Two differences of convention, named in docs/lab.md's mapping table and in the lab's diagnosis:
CS231n 2019+ passes dropout's *keep* probability where nndl's ``p`` is the drop probability; and
CS231n's scaffold starts ``running_var`` at zeros where nndl starts it at ones, so the test-mode
checks (BN-2, CN-2) pass ``running_var = zeros`` explicitly. nndl's ``FullyConnectedNet`` with
``seed=None`` draws ``weight_scale * np.random.randn(fan_in, fan_out)`` in CS231n's order, so
``np.random.seed(231)`` gives CS231n's weights (a ``seed`` also seeds nndl's weights, so DO-3
builds its network without one: with keep probability 1 the seed only ever chose masks).

Instructor-only: it checks nndl's own code.
"""

# ruff: noqa: NPY002 (CS231n's notebooks seed and draw from NumPy's global generator)

import numpy as np
import pytest

from nndl.fc_net import FullyConnectedNet
from nndl.layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_forward,
    layernorm_forward,
    spatial_batchnorm_forward,
    spatial_groupnorm_forward,
)


def rel_error(x, y):
    """The notebooks' relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def assert_printed(value, shown):
    """``value`` as NumPy prints it (8 decimals, its default precision) is ``shown``."""
    np.testing.assert_allclose(np.round(value, 8), shown, rtol=0, atol=1e-12)


def relu_net(N, D1, D2, D3, x=None):
    """BN-1's and BN-6's two-layer input: X, W1, W2 drawn in that order (X given: W1, W2 only)."""
    X = np.random.randn(N, D1) if x is None else x
    W1, W2 = np.random.randn(D1, D2), np.random.randn(D2, D3)
    return np.maximum(0, X.dot(W1)).dot(W2), W1, W2


def test_bn1_train_mode_batchnorm_gives_the_printed_statistics():
    np.random.seed(231)
    a, _, _ = relu_net(200, 50, 60, 3)
    np.testing.assert_allclose(a.mean(axis=0), [-2.3814598, -13.18038246, 1.91780462], rtol=1e-8)
    np.testing.assert_allclose(a.std(axis=0), [27.18502186, 34.21455511, 37.68611762], rtol=1e-9)
    out, _ = batchnorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    assert np.all(np.abs(out.mean(axis=0)) < 1e-15)
    assert_printed(out.std(axis=0), [0.99999999, 1.0, 1.0])
    gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(a, gamma, beta, {"mode": "train"})
    assert_printed(out.mean(axis=0), [11.0, 12.0, 13.0])
    assert_printed(out.std(axis=0), [0.99999999, 1.99999999, 2.99999999])


def test_bn2_test_mode_after_50_train_calls_from_cs231ns_zero_running_var():
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    W1, W2 = np.random.randn(D1, D2), np.random.randn(D2, D3)
    # CS231n's scaffold starts running_var at zeros; nndl's default is ones.
    bn_param = {"mode": "train", "running_var": np.zeros(D3)}
    for _ in range(50):
        a = np.maximum(0, np.random.randn(N, D1).dot(W1)).dot(W2)
        batchnorm_forward(a, np.ones(D3), np.zeros(D3), bn_param)
    bn_param["mode"] = "test"
    a = np.maximum(0, np.random.randn(N, D1).dot(W1)).dot(W2)
    out, _ = batchnorm_forward(a, np.ones(D3), np.zeros(D3), bn_param)
    np.testing.assert_allclose(out.mean(axis=0), [-0.03927354, -0.04349152, -0.10452688], 1e-6)
    np.testing.assert_allclose(out.std(axis=0), [1.01531428, 1.01238373, 0.97819988], rtol=1e-8)


def test_bn4_the_staged_and_closed_form_backward_agree_as_printed():
    np.random.seed(231)
    N, D = 100, 500
    x = 5 * np.random.randn(N, D) + 12
    gamma, beta, dout = np.random.randn(D), np.random.randn(D), np.random.randn(N, D)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx1, dgamma1, dbeta1 = batchnorm_backward(dout, cache)
    dx2, dgamma2, dbeta2 = batchnorm_backward_alt(dout, cache)
    # Printed: dx difference 1.3e-12, dgamma and dbeta differences 0.0.
    assert rel_error(dx1, dx2) < 1e-11
    assert rel_error(dgamma1, dgamma2) < 1e-15 and rel_error(dbeta1, dbeta2) == 0.0


def test_bn5_the_batchnorm_networks_initial_losses_are_the_printed_ones():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X, y = np.random.randn(N, D), np.random.randint(C, size=(N,))
    losses = []
    for reg in (0, 3.14):  # the second model draws its weights after the first's, no reseed
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
            dtype=np.float64, normalization="batchnorm",
        )  # fmt: skip
        losses.append(model.loss(X, y)[0])
    np.testing.assert_allclose(losses, [2.2611955101340957, 6.996533220108303], rtol=1e-12)


def test_bn6_layernorm_gives_the_printed_statistics():
    np.random.seed(231)
    a, _, _ = relu_net(4, 50, 60, 3)
    means = [-59.06673243, -47.60782686, -43.31137368, -26.40991744]
    np.testing.assert_allclose(a.mean(axis=1), means, rtol=1e-8)
    stds = [10.07429373, 28.39478981, 35.28360729, 4.01831507]
    np.testing.assert_allclose(a.std(axis=1), stds, rtol=1e-8)
    out, _ = layernorm_forward(a, np.ones(3), np.zeros(3), {"mode": "train"})
    assert np.all(np.abs(out.mean(axis=1)) < 1e-15)
    stds = [0.99999995, 0.99999999, 1.0, 0.99999969]
    assert_printed(out.std(axis=1), stds)
    out, _ = layernorm_forward(a, np.full(3, 3.0), np.full(3, 5.0), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=1), 5.0, rtol=1e-15)
    stds = [2.99999985, 2.99999998, 2.99999999, 2.99999907]
    assert_printed(out.std(axis=1), stds)


def test_do1_dropout_in_test_mode_returns_the_input_whatever_p():
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    assert x.mean() == pytest.approx(10.000207878477502, rel=1e-15)
    for keep in (0.25, 0.4, 0.7):  # CS231n's p is the keep probability: nndl's p = 1 - keep
        out, _ = dropout_forward(x, {"mode": "train", "p": 1 - keep})
        assert abs((out == 0).mean() - (1 - keep)) < 0.01  # mask-dependent: the fraction only
        out_test, _ = dropout_forward(x, {"mode": "test", "p": 1 - keep})
        assert out_test.mean() == pytest.approx(10.000207878477502, rel=1e-15)
        assert (out_test == 0).mean() == 0.0


def test_do3_the_network_without_dropout_has_the_printed_initial_loss():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X, y = np.random.randn(N, D), np.random.randint(C, size=(N,))
    # CS231n's seed=123 chose only dropout masks; nndl's seed would draw the weights too.
    model = FullyConnectedNet(
        [H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2, dtype=np.float64,
        dropout_keep_ratio=1,
    )  # fmt: skip
    assert model.loss(X, y)[0] == pytest.approx(2.3004790897684924, rel=1e-12)


def test_cn1_spatial_batchnorm_gives_the_printed_statistics_with_integer_gamma_and_beta():
    np.random.seed(231)
    N, C, H, W = 2, 3, 4, 5
    x = 4 * np.random.randn(N, C, H, W) + 10
    axes = (0, 2, 3)
    np.testing.assert_allclose(x.mean(axis=axes), [9.33463814, 8.90909116, 9.11056338], 1e-8)
    np.testing.assert_allclose(x.std(axis=axes), [3.61447857, 3.19347686, 3.5168142], 1e-8)
    bn_param = {"mode": "train"}
    out, _ = spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), bn_param)
    assert np.all(np.abs(out.mean(axis=axes)) < 1e-15)
    stds = [0.99999962, 0.99999951, 0.9999996]
    assert_printed(out.std(axis=axes), stds)
    gamma, beta = np.asarray([3, 4, 5]), np.asarray([6, 7, 8])  # int64, as the notebook's
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=axes), [6.0, 7.0, 8.0], rtol=1e-15)
    stds = [2.99999885, 3.99999804, 4.99999798]
    assert_printed(out.std(axis=axes), stds)


def test_cn2_spatial_batchnorm_in_test_mode_after_50_train_calls():
    np.random.seed(231)
    N, C, H, W = 10, 4, 11, 12
    bn_param = {"mode": "train", "running_var": np.zeros(C)}  # CS231n's zeros, nndl's ones
    for _ in range(50):
        x = 2.3 * np.random.randn(N, C, H, W) + 13
        spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), bn_param)
    bn_param["mode"] = "test"
    x = 2.3 * np.random.randn(N, C, H, W) + 13
    out, _ = spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), bn_param)
    means = [-0.08034406, 0.07562881, 0.05716371, 0.04378383]
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), means, rtol=1e-6)
    stds = [0.96718744, 1.0299714, 1.02887624, 1.00585577]
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), stds, rtol=1e-8)


def test_cn4_groupnorm_gives_the_printed_statistics():
    np.random.seed(231)
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 4 * np.random.randn(N, C, H, W) + 10
    x_g = x.reshape((N * G, -1))
    means = [9.72505327, 8.51114185, 8.9147544, 9.43448077]
    np.testing.assert_allclose(x_g.mean(axis=1), means, rtol=1e-8)
    stds = [3.67070958, 3.09892597, 4.27043622, 3.97521327]
    np.testing.assert_allclose(x_g.std(axis=1), stds, rtol=1e-8)
    gamma, beta = np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, G, {"mode": "train"})
    out_g = out.reshape((N * G, -1))
    assert np.all(np.abs(out_g.mean(axis=1)) < 1e-15)
    # The export prints stds [0.99999834 0.99999782 0.99999873 0.99999691]: its author's group
    # norm, not the formula (1 - std falls short by about eps / std there, a misplaced eps).
    # With eps = 1e-5 inside the square root, std(out) = sqrt(var / (var + eps)), which nndl
    # gives: [0.99999963 0.99999948 0.99999973 0.99999968].
    var = x_g.var(axis=1)
    np.testing.assert_allclose(out_g.std(axis=1), np.sqrt(var / (var + 1e-5)), rtol=1e-12)
    assert_printed(out_g.std(axis=1), [0.99999963, 0.99999948, 0.99999973, 0.99999968])
