"""The networks: the original notebook's gradient checks and the fix of its test-mode bug."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl.fc_net import FullyConnectedNet, TwoLayerNet
from nndl.gradient_check import numerical_param_gradients, rel_error
from nndl.table import NORMALIZATIONS
from tests.strategies import offset_and_scaled

pytestmark = pytest.mark.fc_net
# The normalizations of the table as the network's error message lists them: 'a', 'b' or 'c'.
_NAMES = [repr(name) for name in NORMALIZATIONS]
NORMALIZATION_NAMES = ", ".join(_NAMES[:-1]) + f" or {_NAMES[-1]}"


def _numerical_check(model, X, y):
    """Relative error of every analytic gradient against the numerical one."""
    loss, grads = model.loss(X, y)
    errors = {}
    for name, numeric in numerical_param_gradients(model, X, y).items():
        if max(np.abs(numeric).max(), np.abs(grads[name]).max()) < 1e-8:
            # A bias followed by batch norm has no effect on the loss: both gradients are ~0
            # and a relative error between two round-off values means nothing.
            errors[name] = 0.0
        else:
            errors[name] = rel_error(numeric, grads[name])
    return loss, errors


@pytest.mark.parametrize("reg", [0.0, 3.14])
@pytest.mark.parametrize("use_batchnorm", [True, False], ids=["batchnorm", "plain"])
def test_fc_net_gradients_match_numerical_gradients(reg, use_batchnorm):
    # The original notebook's check: N, D, H1, H2, C = 2, 15, 20, 30, 10.
    rng = np.random.default_rng(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    model = FullyConnectedNet(
        [H1, H2],
        input_dim=D,
        num_classes=C,
        reg=reg,
        weight_scale=5e-2,
        use_batchnorm=use_batchnorm,
        dtype=np.float64,
        seed=0,
    )
    loss, errors = _numerical_check(model, X, y)
    assert np.isfinite(loss)
    assert errors["W1"] < 1e-3, errors
    assert all(err < 1e-4 for name, err in errors.items() if name != "W1"), errors


def test_fc_net_with_dropout_gradients_match_numerical_gradients():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 12)), rng.integers(5, size=3)
    model = FullyConnectedNet(
        [15, 10],
        input_dim=12,
        num_classes=5,
        dropout=0.25,
        use_batchnorm=True,
        weight_scale=5e-2,
        dtype=np.float64,
        seed=1,
    )
    model.dropout_param["seed"] = 123  # the same mask at every call, as a gradient check needs
    _, errors = _numerical_check(model, X, y)
    assert max(errors.values()) < 1e-3, errors


def test_initial_loss_is_log_of_the_number_of_classes():
    rng = np.random.default_rng(0)
    model = FullyConnectedNet(
        [50, 50], input_dim=20, num_classes=10, weight_scale=1e-3, use_batchnorm=True, seed=0
    )
    loss, _ = model.loss(rng.standard_normal((100, 20)), rng.integers(10, size=100))
    assert loss == pytest.approx(np.log(10), rel=1e-2)


def test_l2_penalty_has_the_half_factor_and_covers_weights_only():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((4, 6)), rng.integers(3, size=4)
    kwargs = dict(input_dim=6, num_classes=3, use_batchnorm=True, dtype=np.float64, seed=3)
    plain, _ = FullyConnectedNet([5], reg=0.0, **kwargs).loss(X, y)
    model = FullyConnectedNet([5], reg=2.0, **kwargs)
    loss, grads = model.loss(X, y)
    weights = sum(np.sum(model.params[k] ** 2) for k in ("W1", "W2"))
    assert loss - plain == pytest.approx(0.5 * 2.0 * weights, rel=1e-12)
    _, plain_grads = FullyConnectedNet([5], reg=0.0, **kwargs).loss(X, y)
    np.testing.assert_allclose(grads["W1"] - plain_grads["W1"], 2.0 * model.params["W1"])
    # Biases, gammas and betas carry no penalty.
    for name in ("b1", "gamma1", "beta1", "b2"):
        np.testing.assert_array_equal(grads[name], plain_grads[name])


def test_batchnorm_parameters_start_at_gamma_1_and_beta_0():
    model = FullyConnectedNet([7, 8], input_dim=5, num_classes=3, use_batchnorm=True, seed=0)
    for i, h in ((1, 7), (2, 8)):
        np.testing.assert_array_equal(model.params[f"gamma{i}"], np.ones(h))
        np.testing.assert_array_equal(model.params[f"beta{i}"], np.zeros(h))
    assert "gamma3" not in model.params  # no batch norm after the last affine layer
    assert all(v.dtype == np.float32 for v in model.params.values())


def test_prediction_runs_in_test_mode_and_uses_the_running_statistics():
    # The original wrote `bn_param[mode] = mode`: the key was the *value* of mode, so batch norm
    # never left train mode and a prediction normalised with the batch's own statistics.
    rng = np.random.default_rng(0)
    model = FullyConnectedNet(
        [6], input_dim=4, num_classes=3, use_batchnorm=True, dtype=np.float64, seed=0
    )
    for _ in range(5):
        model.loss(offset_and_scaled(rng, (20, 4), offset=1, scale=3), rng.integers(3, size=20))
    bn_param = model.bn_params[0]
    running = bn_param["running_mean"].copy(), bn_param["running_var"].copy()

    X = rng.standard_normal((10, 4))
    scores = model.loss(X)
    assert scores.shape == (10, 3)
    assert set(bn_param) == {"mode", "running_mean", "running_var"}
    np.testing.assert_array_equal(bn_param["running_mean"], running[0])
    np.testing.assert_array_equal(bn_param["running_var"], running[1])
    # One example at a time gives the same scores: nothing depends on the rest of the batch.
    one_by_one = np.concatenate([model.loss(X[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(one_by_one, scores, rtol=1e-12)


def test_same_seed_gives_the_same_network():
    a = FullyConnectedNet([10, 10], input_dim=5, seed=42)
    b = FullyConnectedNet([10, 10], input_dim=5, seed=42)
    c = FullyConnectedNet([10, 10], input_dim=5, seed=43)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_two_layer_net_takes_hidden_dim():
    # The original's TwoLayerNet took `hidden_dims` but read `hidden_dim`.
    model = TwoLayerNet(input_dim=6, hidden_dim=7, num_classes=3, seed=0)
    assert model.params["W1"].shape == (6, 7)
    assert model.params["W2"].shape == (7, 3)
    with pytest.raises(TypeError):
        TwoLayerNet(input_dim=6, hidden_dims=7)  # type: ignore[call-arg]


def test_two_layer_net_gradients_match_numerical_gradients():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((3, 5)), rng.integers(4, size=3)
    model = TwoLayerNet(
        input_dim=5, hidden_dim=6, num_classes=4, weight_scale=1e-1, reg=0.7, seed=0
    )
    _, errors = _numerical_check(model, X, y)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_dims": [10, 0]}, "positive integers"),
        ({"hidden_dims": [10], "dropout": 1.0}, r"\[0, 1\)"),
        (
            {"hidden_dims": [10], "weight_scale": 0},
            r"weight_scale must be a finite number in \(0, inf\)",
        ),
        ({"hidden_dims": [10], "dtype": np.int32}, "floating dtype"),
    ],
)
def test_fc_net_rejects_bad_hyperparameters(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        FullyConnectedNet(input_dim=5, **kwargs)


def test_fc_net_names_X_and_input_dim_for_inputs_of_the_wrong_size():
    model = FullyConnectedNet([4], input_dim=5, num_classes=3, seed=0)
    # Named as the network's input, not as the first layer's weights.
    message = r"X must have shape \(N, 5\).*input_dim; got shape \(2, 6\)"
    with pytest.raises(ValueError, match=message):
        model.loss(np.ones((2, 6)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"hidden_dims": 100}, TypeError, r"hidden_dims must be a list .* got int 100"),
        ({"input_dim": -1}, ValueError, r"input_dim must be an integer >= 1, got -1"),
        ({"input_dim": 64.0}, ValueError, r"input_dim must be an integer >= 1, got 64.0"),
        (
            {"input_dim": (1, 8, 8)},
            TypeError,
            r"input_dim must be an integer, .* shape \(1, 8, 8\) pass 64",
        ),
        ({"num_classes": 0}, ValueError, r"num_classes must be an integer >= 2, got 0"),
        ({"use_batchnorm": "no"}, TypeError, r"use_batchnorm must be True or False, got str"),
        ({"dropout": "0.5"}, TypeError, r"dropout must be a number in \[0, 1\), got str"),
        ({"reg": np.nan}, ValueError, r"reg must be a finite number in \[0, inf\), got nan"),
        (
            {"dtype": np.float16},
            TypeError,
            r"dtype must be .*float32 or float64, got float16 \(float16",
        ),
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer, got -1"),
        (
            {"seed": "231"},
            TypeError,
            r"seed must be None, a non-negative integer or a numpy Generator",
        ),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_fc_net_constructor_names_a_bad_argument(kwargs, error, message):
    with pytest.raises(error, match=f"FullyConnectedNet: {message}"):
        FullyConnectedNet(**({"hidden_dims": [10], "input_dim": 5} | kwargs))


@given(shape=st.lists(st.integers(0, 7), min_size=1, max_size=3).map(tuple))
def test_fc_net_loss_accepts_X_only_if_its_examples_flatten_to_input_dim(shape):
    model = FullyConnectedNet([4], input_dim=6, num_classes=3, seed=0)
    X = np.ones((2, *shape))
    if len(shape) >= 1 and np.prod(shape) == 6:
        assert model.loss(X).shape == (2, 3)
    else:
        with pytest.raises(ValueError, match=r"X must have shape \(N, 6\)"):
            model.loss(X, np.array([0, 1]))


def test_fc_net_loss_needs_numbers_and_at_least_one_example_to_train_on():
    model = FullyConnectedNet([4], input_dim=5, num_classes=3, use_batchnorm=True, seed=0)
    with pytest.raises(TypeError, match="X must be an array of numbers, got dtype <U1"):
        model.loss(np.full((2, 5), "a"), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"X must hold at least one example .*\(0, 5\)"):
        model.loss(np.ones((0, 5)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"FullyConnectedNet.loss: labels must lie in \[0, 3\)"):
        model.loss(np.ones((2, 5)), np.array([0, 3]))
    # Scores for no examples are legitimate: an empty array of scores.
    assert model.loss(np.ones((0, 5))).shape == (0, 3)


# --------------------------------------------------------------------------------------------
# CS231n's current API beside the seed's, and the seed's reproducibility contracts
# --------------------------------------------------------------------------------------------

SMALL = dict(input_dim=15, num_classes=10, weight_scale=5e-2, dtype=np.float64)


@pytest.mark.parametrize("keep", [0.75, 0.5])
def test_cs231n_dropout_gradient_check_passes_with_a_seed(keep):
    # Dropout.ipynb: with seed=123 every call draws the same masks, so the numerical gradient
    # differentiates the same function the analytic one does.
    np.random.seed(231)  # noqa: NPY002 (the notebook's data)
    X, y = np.random.randn(2, 15), np.random.randint(10, size=(2,))  # noqa: NPY002
    model = FullyConnectedNet([20, 30], dropout_keep_ratio=keep, seed=123, **SMALL)
    assert model.dropout_param["p"] == pytest.approx(1 - keep)
    _, errors = _numerical_check(model, X, y)
    assert max(errors.values()) < 1e-5, errors


def test_an_integer_seed_fixes_the_masks_and_a_generator_draws_new_ones():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 15)), rng.integers(10, size=8)
    fixed = FullyConnectedNet([20, 30], dropout=0.5, seed=123, **SMALL)
    assert fixed.loss(X, y)[0] == fixed.loss(X, y)[0]
    fresh = FullyConnectedNet([20, 30], dropout=0.5, seed=np.random.default_rng(123), **SMALL)
    assert fresh.loss(X, y)[0] != fresh.loss(X, y)[0]
    # Either way the weights are those of the seed.
    again = FullyConnectedNet([20, 30], dropout=0.5, seed=np.random.default_rng(123), **SMALL)
    np.testing.assert_array_equal(fixed.params["W1"], again.params["W1"])


def test_np_random_seed_reproduces_weights_and_masks_without_a_seed():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 15)), rng.integers(10, size=8)

    def run():
        model = FullyConnectedNet([20, 30], dropout=0.5, **SMALL)
        return model.params["W1"], [model.loss(X, y)[0] for _ in range(3)]

    np.random.seed(231)  # noqa: NPY002 (what the CS231n notebooks do)
    first = run()
    np.random.seed(231)  # noqa: NPY002
    again = run()
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert len(set(first[1])) == 3, "the masks do not change from call to call"
    assert not np.array_equal(run()[0], first[0]), "weights ignore the global generator"


def test_a_training_run_is_reproduced_by_np_random_seed():
    from nndl.solver import Solver

    rng = np.random.default_rng(1)
    data = {
        "X_train": rng.standard_normal((60, 15)),
        "y_train": rng.integers(10, size=60),
        "X_val": rng.standard_normal((20, 15)),
        "y_val": rng.integers(10, size=20),
    }

    def train():
        model = FullyConnectedNet(
            [20, 30], input_dim=15, dropout_keep_ratio=0.75, normalization="batchnorm"
        )
        solver = Solver(model, data, num_epochs=2, batch_size=10, verbose=False)
        solver.train()
        return solver.loss_history, solver.val_acc_history

    np.random.seed(231)  # noqa: NPY002
    first = train()
    np.random.seed(231)  # noqa: NPY002
    assert train() == first


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"use_batchnorm": True}, {"normalization": "batchnorm"}),
        ({"use_batchnorm": False}, {"normalization": None}),
        ({"dropout": 0.25}, {"dropout_keep_ratio": 0.75}),
        ({"dropout": 0}, {"dropout_keep_ratio": 1}),
        (
            {"use_batchnorm": True, "dropout": 0.5},
            {
                "use_batchnorm": True,
                "normalization": "batchnorm",
                "dropout": 0.5,
                "dropout_keep_ratio": 0.5,
            },
        ),
    ],
)
def test_the_2017_and_2019_spellings_build_the_same_network(old, new):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((4, 15)), rng.integers(10, size=4)
    a, b = (FullyConnectedNet([20], seed=5, **SMALL, **kw) for kw in (old, new))
    assert a.dropout_param == b.dropout_param and a.use_batchnorm == b.use_batchnorm
    assert a.normalization == b.normalization
    assert a.loss(X, y)[0] == b.loss(X, y)[0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"use_batchnorm": True, "normalization": "layernorm"}, ValueError, "contradicts"),
        ({"use_batchnorm": False, "normalization": "batchnorm"}, ValueError, "contradicts"),
        ({"dropout": 0.25, "dropout_keep_ratio": 0.5}, ValueError, "dropout = 1 - dropout_keep"),
        ({"normalization": "groupnorm"}, ValueError, f"None, {NORMALIZATION_NAMES}"),
        ({"normalization": True}, TypeError, f"None, {NORMALIZATION_NAMES}"),
        (
            {"dropout_keep_ratio": 0},
            ValueError,
            r"dropout_keep_ratio must be a finite number in \(0, 1\]",
        ),
        ({"dropout_keep_ratio": "1"}, TypeError, "dropout_keep_ratio must be a number"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_inconsistent_or_unknown_spellings_are_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        FullyConnectedNet([10], input_dim=5, **kwargs)


@pytest.mark.parametrize("hidden_dims", [[], [5], [5, 4]], ids=["no hidden layer", "1", "2"])
def test_first_layer_gradients_match_numerical_ones_whatever_the_depth(hidden_dims):
    """The backward pass computes no gradient on the images; W1's and b1's must still be right,
    including when W1 is also the last layer."""
    from nndl.gradient_check import numerical_param_gradients

    rng = np.random.default_rng(3)
    model = FullyConnectedNet(
        hidden_dims, input_dim=6, num_classes=3, weight_scale=0.5, dtype=np.float64, seed=1
    )
    X, y = rng.standard_normal((4, 2, 3)), np.array([0, 1, 2, 1])

    _, grads = model.loss(X, y)
    numerical = numerical_param_gradients(model, X, y, names=["W1", "b1"])

    assert grads.keys() == model.params.keys()
    for name in ("W1", "b1"):
        np.testing.assert_allclose(grads[name], numerical[name], rtol=1e-6, atol=1e-9)


def test_without_a_seed_the_weights_are_cs231ns_weight_scale_times_randn_in_layer_order():
    """CS231n's FullyConnectedNet draws weight_scale * np.random.randn(fan_in, fan_out) for W1,
    W2, ... in turn (the biases, gammas and betas draw nothing), so np.random.seed(231) gives
    its weights; its BatchNormalization notebook prints the initial losses of this check."""
    np.random.seed(231)  # noqa: NPY002 (what the CS231n notebooks do)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X, y = np.random.randn(N, D), np.random.randint(C, size=(N,))  # noqa: NPY002
    state = np.random.get_state()  # noqa: NPY002
    losses = []
    for reg in (0, 3.14):
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
            dtype=np.float64, normalization="batchnorm",
        )  # fmt: skip
        losses.append(model.loss(X, y)[0])
    assert [round(loss, 4) for loss in losses] == [2.2612, 6.9965]  # the notebook's numbers
    np.random.set_state(state)  # noqa: NPY002
    model = FullyConnectedNet(
        [H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2, dtype=np.float64,
        normalization="batchnorm",
    )  # fmt: skip
    np.random.set_state(state)  # noqa: NPY002
    for name, (fan_in, fan_out) in (("W1", (D, H1)), ("W2", (H1, H2)), ("W3", (H2, C))):
        expected = 5e-2 * np.random.randn(fan_in, fan_out)  # noqa: NPY002
        np.testing.assert_array_equal(model.params[name], expected, err_msg=name)


@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_norm_param_sets_every_normalization_layers_defaults(normalization):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 5)), rng.integers(3, size=6)
    kwargs = dict(input_dim=5, num_classes=3, normalization=normalization, seed=0)
    settings = {"eps": 1e-3} | ({"momentum": 0.5} if normalization == "batchnorm" else {})
    model = FullyConnectedNet([4, 4], norm_param=settings, **kwargs)
    assert all(bn_param.items() >= settings.items() for bn_param in model.bn_params)
    model.loss(X, y)
    if normalization == "batchnorm":  # batch norm's momentum: the weight of the old average
        batch = X @ model.params["W1"] + model.params["b1"]
        expected = 0.5 * np.zeros(4) + 0.5 * batch.mean(axis=0)
        np.testing.assert_allclose(model.bn_params[0]["running_mean"], expected, rtol=1e-5)
    assert FullyConnectedNet([4, 4], bn_param=settings, **kwargs).bn_params[0] == {
        "mode": "train",
        **settings,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normalization": "layernorm", "norm_param": {"momentum": 0.9}}, "unknown key 'momentum'"),
        ({"normalization": "batchnorm", "bn_param": {"mometum": 0.9}}, "did you mean 'momentum'"),
        ({"norm_param": {"eps": 1e-3}}, "norm_param needs a normalization"),
        (
            {"normalization": "batchnorm", "norm_param": {}, "bn_param": {}},
            "norm_param and bn_param are one setting",
        ),
    ],
)
def test_norm_param_names_a_key_the_normalization_does_not_take(kwargs, message):
    with pytest.raises(ValueError, match=f"FullyConnectedNet: .*{message}"):
        FullyConnectedNet([4], input_dim=5, **kwargs)
