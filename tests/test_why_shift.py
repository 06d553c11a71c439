"""nndl.why.shift: Ioffe's percentiles, Santurkar's ICS and noisy batch norm (chapters 12, 13)."""

import math

import numpy as np
import pytest

from nndl.fc_net import FullyConnectedNet
from nndl.why import shift
from nndl.why.shift import ShiftRun


def tiny_images(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((130, 12)) * 5
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    return {
        "X_train": X[:80], "y_train": y[:80], "X_val": X[80:100], "y_val": y[80:100],
        "X_test": X[100:], "y_test": y[100:],
    }  # fmt: skip


def _model(normalization="batchnorm"):
    return FullyConnectedNet([10, 9, 8], input_dim=12, num_classes=4, weight_scale=0.3,
                             dtype=np.float64, seed=0, normalization=normalization,
                             activation="sigmoid")  # fmt: skip


def test_prepare_images_divides_every_split_by_the_training_pixels_std():
    data = shift.prepare_images(tiny_images(), num_train=50, num_test=10)
    assert data["X_train"].shape == (50, 12) and data["X_test"].shape == (10, 12)
    assert data["X_train"].std() == pytest.approx(1.0)
    raw = tiny_images()
    np.testing.assert_allclose(data["X_val"] * data["scale"], raw["X_val"])
    with pytest.raises(ValueError, match="lacks"):
        shift.prepare_images({"X_train": raw["X_train"]})


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_ics_is_the_change_of_each_layers_gradient_after_the_layers_below_step(normalization):
    data = tiny_images()
    X, y = data["X_train"][:20], data["y_train"][:20]
    model = _model(normalization)
    model.loss(X, y)  # running averages exist
    params = {k: v.copy() for k, v in model.params.items()}
    running = [dict(p) for p in model.bn_params]
    relative, cosine = shift.internal_covariate_shift(model, X, y, 0.5)
    assert relative[0] == 0 and cosine[0] == pytest.approx(1)
    # layer 3 by hand: step W1, b1, W2, b2 (and their gammas and betas), then the gradient of W3
    _, grads = model.batch_loss(X, y)
    moved = FullyConnectedNet.__new__(FullyConnectedNet)
    moved.__dict__.update(model.__dict__)
    moved.params = {k: v - 0.5 * grads[k] if k[-1] in "12" else v for k, v in params.items()}
    _, grads_moved = moved.batch_loss(X, y)
    G, G2 = grads["W3"], grads_moved["W3"]
    assert relative[2] == pytest.approx(np.linalg.norm(G - G2) / np.linalg.norm(G), rel=1e-12)
    assert 0 < relative[2] < 1
    for key, value in params.items():  # the model is left as it was
        np.testing.assert_array_equal(model.params[key], value)
    for before, after in zip(running, model.bn_params):
        for key in before:
            if key.startswith("running"):
                np.testing.assert_array_equal(after[key], before[key])


def test_noise_redraw_draws_a_new_noise_every_step_from_its_own_generator():
    model = _model()
    redraw = shift.NoiseRedraw(seed=3)
    redraw(model, 0)
    first = [a.copy() for a, _ in model.norm_noise]
    redraw(model, 1)
    assert not np.array_equal(first[0], model.norm_noise[0][0])
    again = _model()
    shift.NoiseRedraw(seed=3)(again, 0)
    np.testing.assert_array_equal(again.norm_noise[0][0], first[0])


def _short(variant, **kwargs):
    options = dict(num_iterations=20, every=10, ics_every=10, moments_every=5, seed=1)
    return shift.shift_run(tiny_images(), variant, **{**options, **kwargs})


def test_shift_run_records_accuracy_percentiles_ics_and_moments_when_asked():
    run = _short("batchnorm")
    assert run.steps.tolist() == [0, 10, 20]
    assert run.accuracy.shape == (3,) and np.all((0 <= run.accuracy) & (run.accuracy <= 1))
    assert run.percentiles.shape == (3, 3, 100)
    assert np.all(run.percentiles[:, 0] <= run.percentiles[:, 1])
    assert run.ics_steps.tolist() == [0, 10] and run.ics_relative.shape == (2, 3)
    assert run.means.shape == (4, 2, 100)  # pairs (0, 1), (5, 6), (10, 11), (15, 16)
    assert len(run.loss_history) == 20
    again = _short("batchnorm")  # reproducible
    for name in ("accuracy", "percentiles", "ics_relative", "means", "loss_history"):
        np.testing.assert_array_equal(getattr(again, name), getattr(run, name))


def test_noise_makes_the_batch_statistics_jump_and_batch_norm_fixes_them():
    standard, batchnorm, noisy = (_short(v) for v in shift.VARIANTS)
    # batch norm (gamma 1, beta 0 after a few steps) holds each unit's batch mean near 0 and
    # std near 1; the noise moves them by about its own size at every step
    assert shift.step_shift(batchnorm) < 0.05 < shift.step_shift(noisy)
    assert shift.step_shift(noisy) > 3 * shift.step_shift(standard)
    assert noisy.loss_history[0] != batchnorm.loss_history[0]


def test_shift_run_names_an_unknown_variant():
    with pytest.raises(ValueError, match="variant must be one of"):
        shift.shift_run(tiny_images(), "layernorm")


def _made_run(medians, spreads, accuracy=(0.1, 0.6, 0.9)):
    medians, spreads = np.asarray(medians, float), np.asarray(spreads, float)
    percentiles = np.stack([medians - spreads / 2, medians, medians + spreads / 2], axis=1)
    empty = np.zeros((0, 2, medians.shape[1]))
    return ShiftRun("standard", np.array([0, 100, 200]), np.array(accuracy), percentiles,
                    np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), empty, empty,
                    np.zeros(0))  # fmt: skip


def test_the_summaries_read_drift_spread_and_steps_as_defined():
    # three units; medians move by 1, 2 and 4; spreads grow 2x, 3x, 10x from record 1 on
    run = _made_run([[0, 0, 0], [1, 1, 1], [0, 2, 4]], [[1, 1, 1], [1, 1, 1], [2, 3, 10]])
    assert shift.median_drift(run) == 2
    assert shift.typical_unit(run) == 1
    assert shift.spread_growth(run) == 3
    assert shift.steps_to(run, 0.5) == 100 and shift.steps_to(run, 0.95) == math.inf
    with pytest.raises(ValueError, match="no moments"):
        shift.step_shift(run)
