"""nndl.why.common, nndl.why.landscape and nndl.why.regularization: the measurements of chapters
14 and 15, on small networks and synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nndl.why.common import full_loss, he_network, unit_data
from nndl.why.landscape import along_gradient, largest_trained, sgd_step
from nndl.why.regularization import (
    Adam,
    GapRun,
    affine_names,
    random_masks,
    train_frankle,
    train_gap,
)


def _problem(batchnorm=True, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((20, 6))
    y = rng.integers(0, 10, 20)
    return he_network(6, [8, 7], batchnorm, seed), X, y


def _flat(grads):
    return np.concatenate([g.ravel() for g in grads.values()])


@pytest.mark.parametrize("batchnorm", [False, True])
def test_along_gradient_puts_back_the_parameters_and_the_running_averages(batchnorm):
    model, X, y = _problem(batchnorm)
    model.loss(X, y)  # running averages that are not the initial ones
    params = {name: value.copy() for name, value in model.params.items()}
    running = [dict(p) for p in model.bn_params]
    along_gradient(model, X, y, [0.1, 1.0])
    along_gradient(model, X, y, [0.1, 1.0], unit=True)
    for name, value in params.items():
        np.testing.assert_array_equal(model.params[name], value)
    for before, after in zip(running, model.bn_params, strict=True):
        for key in ("running_mean", "running_var"):
            if key in before:
                np.testing.assert_array_equal(after[key], before[key])


def test_along_gradient_measures_the_loss_and_gradient_at_w_minus_eta_g():
    model, X, y = _problem()
    loss, grads = model.loss(X, y)
    eta = 0.3
    moved, _, _ = _problem()
    for name in moved.params:
        moved.params[name] = model.params[name] - eta * grads[name]
    moved_loss, moved_grads = moved.loss(X, y)
    probe = along_gradient(model, X, y, [eta])
    change = np.linalg.norm(_flat(moved_grads) - _flat(grads))
    assert probe.loss == pytest.approx(loss) and probe.losses[0] == pytest.approx(moved_loss)
    assert probe.gradient_change == pytest.approx(change)
    assert probe.beta == pytest.approx(change / (eta * np.linalg.norm(_flat(grads))))
    assert probe.loss_variation == pytest.approx(abs(moved_loss - loss))


def test_along_gradient_with_unit_moves_a_distance_s_whatever_the_gradients_size():
    model, X, y = _problem()
    _, grads = model.loss(X, y)
    norm = np.linalg.norm(_flat(grads))
    by_distance = along_gradient(model, X, y, [0.5], unit=True)
    by_multiple = along_gradient(model, X, y, [0.5 / norm])
    assert by_distance.losses[0] == pytest.approx(by_multiple.losses[0])
    assert by_distance.beta == pytest.approx(by_distance.gradient_change / 0.5)


def test_a_small_step_along_the_negative_gradient_lowers_the_loss_to_first_order():
    model, X, y = _problem()
    _, grads = model.loss(X, y)
    eta = 1e-5
    probe = along_gradient(model, X, y, [eta])
    expected = -eta * np.sum(_flat(grads) ** 2)
    assert probe.losses[0] - probe.loss == pytest.approx(expected, rel=1e-3)


def test_sgd_step_moves_every_parameter_by_minus_the_learning_rate_times_its_gradient():
    model, X, y = _problem()
    before = {name: value.copy() for name, value in model.params.items()}
    _, grads = model.loss(X, y)
    model.bn_params = [{"mode": "train"} for _ in model.bn_params]
    sgd_step(model, X, y, 0.1)
    for name, value in before.items():
        np.testing.assert_allclose(model.params[name], value - 0.1 * grads[name], rtol=1e-12)


def test_he_network_draws_each_weight_matrix_with_std_sqrt_2_over_fan_in():
    model = he_network(400, [300, 200], False, 0)
    for i, fan_in in enumerate([400, 300, 200], start=1):
        assert model.params[f"W{i}"].std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)


def test_largest_trained_is_the_largest_rate_below_the_threshold_or_none():
    assert largest_trained([0.1, 1.0, 10.0], [0.5, 0.2, math.inf], threshold=1.0) == 1.0
    assert largest_trained([0.1, 1.0], [3.0, math.inf], threshold=1.0) is None


def test_full_loss_is_infinite_when_the_scores_overflow():
    model, X, y = _problem(batchnorm=False)
    model.params["W3"] = model.params["W3"] * 1e308
    assert full_loss(model, X * 1e10, y) == math.inf


def test_unit_data_has_pixels_of_unit_variance_and_read_only_arrays():
    data = unit_data("digits", 100, 50)
    assert data["X_train"].shape == (100, 64) and data["X_val"].shape == (50, 64)
    assert data["X_train"].std() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="read-only"):
        data["X_train"][0, 0] = 1.0


def test_adam_over_a_subset_leaves_every_other_parameter_bit_identical():
    model, X, y = _problem()
    before = {name: value.copy() for name, value in model.params.items()}
    optimizer = Adam(model, affine_names(model), 1e-2)
    for _ in range(3):
        optimizer.step(X, y)
    for name, value in before.items():
        moved = not np.array_equal(model.params[name], value)
        assert moved == name.startswith(("gamma", "beta")), name


def test_adam_with_masks_moves_only_the_masked_entries():
    model, X, y = _problem()
    masks = random_masks(model, 10, np.random.default_rng(0))
    before = {name: value.copy() for name, value in model.params.items()}
    optimizer = Adam(model, list(masks), 1e-2, masks)
    optimizer.step(X, y)
    for name, mask in masks.items():
        changed = model.params[name] != before[name]
        assert not np.any(changed & ~mask), f"{name} moved outside its mask"
    assert sum(int((model.params[n] != before[n]).sum()) for n in masks) == 10


def test_random_masks_choose_exactly_count_weights_over_all_weight_matrices():
    model, _, _ = _problem()
    masks = random_masks(model, 25, np.random.default_rng(1))
    assert sorted(masks) == ["W1", "W2", "W3"]
    assert sum(int(m.sum()) for m in masks.values()) == 25
    for name, mask in masks.items():
        assert mask.shape == model.params[name].shape


def test_adam_rejects_a_name_that_is_not_a_parameter():
    model, _, _ = _problem()
    with pytest.raises(ValueError, match="gamma9"):
        Adam(model, ["gamma9"], 1e-3)


def test_gap_run_finds_the_first_epoch_at_the_target_loss_and_its_gap():
    run = GapRun("plain", [0.5, 0.04, 0.03], [0.9, 0.99, 1.0], [0.8, 0.95, 0.95], [1, 1, 1])
    assert run.first_epoch_below(0.05) == 2
    assert run.gap(2) == pytest.approx(0.04)
    assert run.first_epoch_below(0.01) is None


def test_train_gap_and_train_frankle_name_their_bad_choice():
    with pytest.raises(ValueError, match="train_gap: name must be one of"):
        train_gap("digits", "weight decay")
    with pytest.raises(ValueError, match="train_frankle: variant must be one of"):
        train_frankle("digits", "betas")


def test_train_gap_is_reproducible_and_stops_at_the_target_loss():
    first = train_gap("digits", "dropout", hidden_dims=(20,), num_epochs=3, stop_below=None)
    again = train_gap("digits", "dropout", hidden_dims=(20,), num_epochs=3, stop_below=None)
    assert first == again and len(first.train_loss) == 3
    stopped = train_gap("digits", "plain", hidden_dims=(20,), num_epochs=5, stop_below=10.0)
    assert len(stopped.train_loss) == 1


def test_train_frankle_with_gamma_and_beta_trains_as_many_numbers_as_it_has_units():
    run = train_frankle("digits", "gamma and beta", hidden_dims=(10, 10), num_steps=20)
    random = train_frankle("digits", "random weights", hidden_dims=(10, 10), num_steps=20)
    assert run.trained == random.trained == 2 * 20
