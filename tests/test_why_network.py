"""The network and training options of the "Why it helps" chapters (12-15): sigmoid units, He
initialisation, noise after the normalization, batch_loss, and the Solver's / train_model's
num_iterations, trainable, probe, on_step and input_scale. Every new path is held to numerical
gradients; every default must train exactly as before."""

import math

import numpy as np
import pytest

from nndl.activations import sigmoid_backward, sigmoid_forward
from nndl.experiments import TRAINING_OPTIONS, train_model, train_network
from nndl.fc_net import FullyConnectedNet
from nndl.gradient_check import numerical_param_gradients, rel_error
from nndl.solver import Solver

pytestmark = pytest.mark.fc_net


def _errors(model, X, y):
    _, grads = model.loss(X, y)
    errors = {}
    for name, numeric in numerical_param_gradients(model, X, y).items():
        if max(np.abs(numeric).max(), np.abs(grads[name]).max()) < 1e-8:
            errors[name] = 0.0  # a bias before batch norm: both ~0
        else:
            errors[name] = rel_error(numeric, grads[name])
    return errors


def _net(**kwargs):
    options = dict(input_dim=7, num_classes=4, weight_scale=0.3, dtype=np.float64, seed=0)
    return FullyConnectedNet([9, 8], **{**options, **kwargs})


def _batch(n=6, d=7, c=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(c, size=n)


def test_sigmoid_is_the_logistic_function_and_saturates_without_warnings():
    x = np.linspace(-30, 30, 61)
    out, _ = sigmoid_forward(x)
    np.testing.assert_allclose(out, np.exp(x) / (np.exp(x) + 1), rtol=1e-15)
    with np.errstate(all="raise"):
        extreme, _ = sigmoid_forward(np.array([-1e4, 1e4]))
    assert extreme.tolist() == [0.0, 1.0]


def test_sigmoid_backward_matches_the_centred_difference():
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _, cache = sigmoid_forward(x)
    h = 1e-6
    numeric = (sigmoid_forward(x + h)[0] - sigmoid_forward(x - h)[0]) / (2 * h) * dout
    assert rel_error(numeric, sigmoid_backward(dout, cache)) < 1e-8


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_sigmoid_network_gradients_match_numerical_gradients(normalization, reg):
    X, y = _batch()
    model = _net(activation="sigmoid", normalization=normalization, reg=reg)
    errors = _errors(model, X, y)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_noisy_batchnorm_gradients_match_numerical_gradients(activation):
    X, y = _batch()
    model = _net(activation=activation, normalization="batchnorm")
    # (with draw 5, one ReLU input lies within the numerical step of its kink: beta1's error
    # is 1e-3 there, as in any ReLU network's check)
    model.draw_norm_noise(np.random.default_rng(0), scale=2.0, shift=1.0)
    errors = _errors(model, X, y)
    assert max(errors.values()) < 1e-6, errors


def test_the_general_backward_pass_agrees_with_the_lab_network_for_relu():
    # Noise a = 1, c = 0 changes nothing, but sends the loss through nndl's own backward pass.
    X, y = _batch()
    plain = _net(normalization="batchnorm", dropout=0.3)
    general = _net(normalization="batchnorm", dropout=0.3)
    general.norm_noise = [(np.ones(h), np.zeros(h)) for h in (9, 8)]
    loss, grads = plain.loss(X, y)
    general_loss, general_grads = general.loss(X, y)
    assert general_loss == pytest.approx(loss, rel=1e-13)
    for name in grads:
        np.testing.assert_allclose(general_grads[name], grads[name], rtol=1e-10, atol=1e-14)


def test_noise_moves_the_activation_inputs_in_train_mode_only():
    X, _ = _batch()
    model = _net(normalization="batchnorm")
    clean_scores = model.loss(X)
    _, (*clean, _) = model.forward_layers(X, "train", [{} for _ in range(2)])
    noise = model.draw_norm_noise(np.random.default_rng(0), scale=3.0, shift=2.0)
    _, (*noisy, _) = model.forward_layers(X, "train", [{} for _ in range(2)])
    a, c = noise[0]
    np.testing.assert_allclose(noisy[0].activation_input, a * clean[0].activation_input + c)
    assert noisy[0].noise_scale is a
    np.testing.assert_array_equal(model.loss(X), clean_scores)  # test mode: no noise


def test_draw_norm_noise_draws_scales_and_shifts_in_their_ranges():
    model = FullyConnectedNet([500, 300], input_dim=3, weight_scale=0.1, seed=0)
    noise = model.draw_norm_noise(np.random.default_rng(0), scale=2.0, shift=1.0)
    assert model.norm_noise is noise and [a.shape for a, _ in noise] == [(500,), (300,)]
    a, c = noise[0]
    assert 0.5 <= a.min() < 0.55 and 1.9 < a.max() <= 2.0
    assert -1 <= c.min() < -0.95 and 0.95 < c.max() <= 1
    assert abs(np.log(a).mean()) < 0.1  # geometric mean 1


@pytest.mark.parametrize(
    ("noise", "message"),
    [
        ([(np.ones(9), np.zeros(9))], "2 pairs"),
        (
            [(np.ones(9), np.zeros(9)), (np.ones(9), np.zeros(8))],
            r"a must be an array of shape \(8,\)",
        ),
        ([(np.ones(9),), (np.ones(8), np.zeros(8))], "must be a pair"),
    ],
)
def test_a_malformed_norm_noise_is_named(noise, message):
    model = _net(normalization="batchnorm", norm_noise=noise)
    with pytest.raises(ValueError, match=message):
        model.loss(*_batch())


def test_bad_activation_weight_scale_and_noise_settings_are_named():
    with pytest.raises(ValueError, match="activation must be 'relu' or 'sigmoid', got 'tanh'"):
        _net(activation="tanh")
    with pytest.raises(ValueError, match="weight_scale must be a positive number or 'he'"):
        _net(weight_scale="xavier")
    with pytest.raises(ValueError, match="scale"):
        _net().draw_norm_noise(np.random.default_rng(0), scale=0.5)
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        _net().draw_norm_noise(3)


def test_he_initialisation_scales_each_layer_by_sqrt_2_over_fan_in():
    model = FullyConnectedNet([400, 300], input_dim=800, weight_scale="he", seed=0)
    unit = FullyConnectedNet([400, 300], input_dim=800, weight_scale=1.0, seed=0)
    for i, fan_in in enumerate([800, 400, 300], start=1):
        expected = unit.params[f"W{i}"] * np.float32(math.sqrt(2 / fan_in))
        np.testing.assert_allclose(model.params[f"W{i}"], expected, rtol=1e-6)
        assert model.params[f"W{i}"].std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)


def test_batch_loss_is_the_train_mode_loss_and_leaves_the_running_averages():
    X, y = _batch()
    model = _net(normalization="batchnorm")
    model.loss(X, y)  # running averages now exist
    before = {k: v.copy() for k, v in model.bn_params[0].items() if k.startswith("running")}
    loss, grads = model.batch_loss(X + 1, y)
    after = model.bn_params[0]
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)
    fresh = _net(normalization="batchnorm")
    assert loss == fresh.loss(X + 1, y)[0]


# --- Solver and train_model ---------------------------------------------------------------


def tiny_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6))
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


TINY = dict(hidden_dims=[8], weight_scale=1e-1, num_epochs=2, batch_size=10, seed=0)


def test_the_default_options_train_exactly_as_without_them():
    plain = train_network(tiny_data(), use_batchnorm=True, **TINY)
    explicit = train_network(tiny_data(), use_batchnorm=True, **TINY, **TRAINING_OPTIONS)
    assert explicit == plain


def test_num_iterations_replaces_the_epochs():
    run = train_network(tiny_data(), use_batchnorm=False, num_iterations=7, **TINY)
    assert len(run.loss_history) == 7  # 2 epochs would be 8


def test_plain_sgd_moves_every_weight_by_learning_rate_times_its_gradient():
    data = tiny_data()
    model = _solver_model()
    start = {k: v.copy() for k, v in model.params.items()}
    seen = {}

    def probe(model, X, y, iteration):
        if X is not None:
            seen["grads"] = model.loss(X, y)[1]

    solver = Solver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 0.5},
        batch_size=10,
        num_iterations=1,
        probe=probe,
        verbose=False,
        seed=0,
    )
    solver.train()
    for name, w in start.items():
        np.testing.assert_allclose(model.params[name], w - 0.5 * seen["grads"][name])


def _solver_model(**kwargs):
    return FullyConnectedNet(
        [8], input_dim=6, num_classes=4, weight_scale=0.1, dtype=np.float64, seed=0, **kwargs
    )


def test_trainable_updates_only_the_named_parameters_and_the_masked_entries():
    model = _solver_model(normalization="batchnorm")
    start = {k: v.copy() for k, v in model.params.items()}
    mask = np.zeros((6, 8), dtype=bool)
    mask[0, :3] = True
    trainable = {"gamma1": True, "beta1": True, "W1": mask}
    solver = Solver(
        model,
        tiny_data(),
        update_rule="sgd",
        optim_config={"learning_rate": 0.1},
        batch_size=10,
        num_iterations=5,
        trainable=trainable,
        verbose=False,
        seed=0,
    )
    solver.train()
    for name in ("W2", "b1", "b2"):
        np.testing.assert_array_equal(model.params[name], start[name])
    assert not np.array_equal(model.params["gamma1"], start["gamma1"])
    changed = model.params["W1"] != start["W1"]
    assert changed[mask].all() and not changed[~mask].any()


@pytest.mark.parametrize(
    ("trainable", "error", "message"),
    [
        (["gamma9"], ValueError, "'gamma9', which is not a parameter"),
        ({"W1": np.ones((2, 2), dtype=bool)}, ValueError, r"boolean mask of shape \(6, 8\)"),
        ("W1", TypeError, "collection of parameter names"),
        ([], ValueError, "nothing would be trained"),
    ],
)
def test_a_bad_trainable_is_named(trainable, error, message):
    with pytest.raises(error, match=message):
        Solver(_solver_model(), tiny_data(), trainable=trainable, verbose=False)


def test_the_probe_sees_every_kth_minibatch_before_its_update_and_the_end():
    calls = []

    def probe(model, X, y, iteration):
        calls.append((iteration, None if X is None else X.shape))
        return iteration * 10

    steps = []
    solver = Solver(
        _solver_model(),
        tiny_data(),
        batch_size=10,
        num_iterations=7,
        probe=probe,
        probe_every=3,
        on_step=lambda m, i: steps.append(i),
        verbose=False,
        seed=0,
    )
    solver.train()
    assert calls == [(0, (10, 6)), (3, (10, 6)), (6, (10, 6)), (7, None)]
    assert solver.probes == [(0, 0), (3, 30), (6, 60), (7, 70)]
    assert steps == list(range(7))


def test_a_probe_does_not_change_the_training():
    base = train_network(tiny_data(), use_batchnorm=True, **TINY)
    probed = train_network(tiny_data(), use_batchnorm=True, probe=_loss_probe, **TINY)
    assert probed.loss_history == base.loss_history
    assert [r for _, r in probed.probes[:-1]] == pytest.approx(base.loss_history, rel=1e-12)


def _loss_probe(model, X, y, iteration):
    return None if X is None else float(model.batch_loss(X, y)[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"probe": 3}, TypeError, "probe must be a function"),
        ({"on_step": "x"}, TypeError, "on_step must be a function"),
        ({"probe_every": 0}, ValueError, "probe_every must be an integer >= 1"),
        ({"num_iterations": -1}, ValueError, "num_iterations must be an integer >= 0"),
        ({"num_iterations": 3, "checkpoint_name": "x"}, ValueError, "cannot be combined with"),
    ],
)
def test_bad_experiment_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        Solver(_solver_model(), tiny_data(), verbose=False, **kwargs)


def test_input_scale_trains_as_on_scaled_images():
    data = tiny_data()
    scaled = {**data, "X_train": data["X_train"] * 0.25, "X_val": data["X_val"] * 0.25}
    run = train_network(data, use_batchnorm=False, input_scale=0.25, **TINY)
    assert run == train_network(scaled, use_batchnorm=False, **TINY)
    with pytest.raises(ValueError, match="input_scale must be a finite number"):
        train_network(data, use_batchnorm=False, input_scale=0, **TINY)


def test_train_model_names_an_unknown_option():
    with pytest.raises(TypeError, match=r"unknown options \['learning_rule'\]"):
        train_model(tiny_data(), use_batchnorm=False, learning_rule="sgd", **TINY)


def test_train_model_builds_the_sigmoid_network_it_is_asked_for():
    model, solver = train_model(
        tiny_data(), use_batchnorm=True, activation="sigmoid", update_rule="sgd", reg=0.1, **TINY
    )
    assert model.activation == "sigmoid" and model.reg == 0.1
    assert solver.update_rule_name == "sgd"
