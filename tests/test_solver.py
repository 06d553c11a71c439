"""The Solver: it trains, is reproducible, and fails clearly."""

import logging

import numpy as np
import pytest

from nndl.fc_net import FullyConnectedNet
from nndl.optim import sgd
from nndl.solver import Solver
from tests.training_helpers import (
    SETTINGS,
    TinyClassifier,
    assert_identical,
    make_data,
    state,
    tiny_solver,
)

# Training --------------------------------------------------------------------------------------


def test_solver_overfits_50_samples_with_a_fully_connected_net():
    data = make_data(num_train=50, num_val=20, input_dim=20, num_classes=10, seed=1)
    model = FullyConnectedNet([40, 40], input_dim=20, num_classes=10, weight_scale=0.1, seed=0)
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        batch_size=25,
        num_epochs=20,
        verbose=False,
        seed=0,
    )
    solver.train()
    assert solver.status == "finished"
    assert solver.train_acc_history[-1] == 1.0, "the Solver cannot overfit 50 samples"


def test_training_reduces_the_loss_of_a_learnable_problem():
    settings = {**SETTINGS, "num_epochs": 10}
    solver = Solver(TinyClassifier(dropout=0.0), make_data(), **settings, seed=0)
    solver.train()
    # Mean loss of the last epoch against the first.
    last, first = np.mean(solver.loss_history[-6:]), np.mean(solver.loss_history[:6])
    assert last < 0.5 * first, "training does not reduce the loss"
    assert solver.best_val_acc >= 0.9, "training does not learn a learnable problem"


def test_same_seed_gives_identical_histories():
    first, second = tiny_solver(), tiny_solver()
    first.train()
    second.train()
    assert_identical(state(first), state(second))


def test_seed_decides_the_minibatches():
    # The model's seed is the same; only the Solver's differs.
    first = Solver(TinyClassifier(seed=0), make_data(), **SETTINGS, seed=1)
    second = Solver(TinyClassifier(seed=0), make_data(), **SETTINGS, seed=2)
    first.train()
    second.train()
    assert first.loss_history != second.loss_history, "the seed has no effect on the minibatches"


def test_solver_with_a_seed_leaves_numpys_global_random_state_alone():
    # The legacy global state is exactly what must stay untouched.
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    tiny_solver().train()
    assert_identical(np.random.get_state(legacy=False), before)  # noqa: NPY002


def test_generator_seed_is_used_like_an_integer_seed():
    first = Solver(TinyClassifier(), make_data(), **SETTINGS, seed=np.random.default_rng(7))
    second = Solver(TinyClassifier(), make_data(), **SETTINGS, seed=7)
    first.train()
    second.train()
    assert first.loss_history == second.loss_history, "a Generator seed is not used"


def test_histories_have_one_entry_per_iteration_and_per_check():
    solver = tiny_solver(num_epochs=3)
    solver.train()
    iterations_per_epoch = 120 // 20
    assert solver.iteration == len(solver.loss_history) == 3 * iterations_per_epoch, (
        "loss_history does not have one entry per iteration"
    )
    # One check after the first iteration, then one per epoch.
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 1 + 3, (
        "the accuracy histories do not have one entry per check"
    )


def test_learning_rate_is_decayed_once_per_epoch():
    solver = tiny_solver(num_epochs=3)
    solver.train()
    rates = [c["learning_rate"] for c in solver.optim_configs.values()]
    assert all(r == 5e-2 * 0.9 * 0.9 * 0.9 for r in rates), "not decayed once per epoch"


def test_best_parameters_are_restored_at_the_end():
    solver = tiny_solver(num_epochs=5, num_val_samples=None)
    solver.train()
    assert_identical(solver.model.params, solver.best_params)
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.check_accuracy(solver.X_val, solver.y_val) == solver.best_val_acc
    assert solver.model.params["W"] is not solver.best_params["W"]  # a copy, not shared


def test_custom_update_rule_function_is_used():
    calls = []

    def counting_sgd(w, dw, config):
        calls.append(1)
        return sgd(w, dw, config)

    solver = tiny_solver(update_rule=counting_sgd, optim_config={}, num_epochs=1)
    solver.train()
    assert len(calls) == 6 * len(solver.model.params), "the custom update rule is not used"


class CountingModel:
    """Predicts class 0 for every sample and records the batch sizes it is asked to score."""

    def __init__(self):
        self.params = {"W": np.zeros(1)}
        self.batch_sizes = []

    def loss(self, X, y=None):
        self.batch_sizes.append(len(X))
        return np.tile([1.0, 0.0], (len(X), 1))


def test_check_accuracy_works_in_batches():
    solver = Solver(CountingModel(), make_data(), verbose=False)
    y = np.zeros(250, dtype=int)
    y[:50] = 1
    assert solver.check_accuracy(np.zeros((250, 6)), y, batch_size=100) == 0.8
    assert solver.model.batch_sizes == [100, 100, 50], "check_accuracy does not work in batches"


def test_check_accuracy_subsamples_without_replacement_from_the_seed():
    X, y = np.zeros((30, 6)), np.arange(30) % 2
    first = Solver(CountingModel(), make_data(), verbose=False, seed=4)
    second = Solver(CountingModel(), make_data(), verbose=False, seed=4)
    subsampled = first.check_accuracy(X, y, num_samples=20)
    assert subsampled == second.check_accuracy(X, y, num_samples=20), "the seed is ignored"
    assert first.model.batch_sizes == [20]
    # Without replacement, 20 samples from 15 + 15 can't be more than 15 of class 0.
    assert 5 / 20 <= subsampled <= 15 / 20, "the subsample repeats samples"


def test_verbose_false_prints_nothing(capsys):
    tiny_solver(num_epochs=1).train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "verbose=False prints"


def test_verbose_prints_one_line_per_check(capsys):
    tiny_solver(num_epochs=2, verbose=True).train()
    out = capsys.readouterr().out
    assert [line.split(")")[0] for line in out.splitlines()] == [
        "(Epoch 0 / 2",
        "(Epoch 1 / 2",
        "(Epoch 2 / 2",
    ], "verbose does not print one line per check"


# Divergence ------------------------------------------------------------------------------------


class NanAfter:
    """TinyClassifier whose loss becomes nan at a given call."""

    def __init__(self, bad_call):
        self.inner = TinyClassifier()
        self.params = self.inner.params
        self.bad_call = bad_call
        self.calls = 0

    def loss(self, X, y=None):
        if y is None:
            return self.inner.loss(X)
        self.calls += 1
        loss, grads = self.inner.loss(X, y)
        return (np.nan if self.calls == self.bad_call else loss), grads


def test_nan_loss_is_reported_with_iteration_epoch_and_hint(caplog):
    solver = Solver(NanAfter(bad_call=8), make_data(), **SETTINGS)
    with caplog.at_level(logging.WARNING, logger="nndl.solver"):
        solver.train()
    assert solver.status == "diverged", "a nan loss does not stop the run"
    expected = "loss became nan at iteration 8 (epoch 2); try a smaller learning rate"
    assert solver.message.startswith(expected), "the message lacks iteration, epoch or hint"
    assert expected in caplog.text
    assert solver.iteration == 7 and len(solver.loss_history) == 8
    assert np.isnan(solver.loss_history[-1])


def test_exploding_network_stops_quietly_as_diverged(no_warnings):
    data = make_data(num_train=50, num_val=20, input_dim=20, num_classes=10)
    model = FullyConnectedNet([40, 40], input_dim=20, num_classes=10, weight_scale=10.0, seed=0)
    solver = Solver(
        model, data, optim_config={"learning_rate": 1e8}, batch_size=25, verbose=False, seed=0
    )
    solver.train()
    assert solver.status == "diverged", "an exploding network does not stop as diverged"
    assert "try a smaller learning rate or weight scale" in solver.message
    # The parameters of the best check before the explosion are back in the model.
    assert all(np.all(np.isfinite(w)) for w in model.params.values()), "non-finite parameters"


def test_status_is_finished_after_a_full_run():
    solver = tiny_solver(num_epochs=1)
    assert solver.status == "ready"
    solver.train()
    assert solver.status == "finished" and solver.message == "", "not finished after a full run"


# Bad arguments ---------------------------------------------------------------------------------


def test_unknown_keyword_argument_is_rejected():
    with pytest.raises(TypeError, match="learning_rate"):
        Solver(TinyClassifier(), make_data(), learning_rate=1e-3)


def test_unknown_update_rule_is_rejected():
    with pytest.raises(ValueError, match="'adagrad'.*'sgd', 'sgd_momentum', 'rmsprop', 'adam'"):
        Solver(TinyClassifier(), make_data(), update_rule="adagrad")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("y_val"), "missing \\['y_val'\\]"),
        (lambda d: d.update(y_train=d["y_train"][:-1]), "y_train must have shape \\(120,\\)"),
        (lambda d: d.update(y_val=d["y_val"].astype(float)), "y_val must be .* integer labels"),
        (lambda d: d.update(X_val=d["X_val"][:, :5]), "X_val samples have shape \\(5,\\)"),
        (lambda d: d.update(X_train=d["X_train"][:0]), "X_train must be a non-empty"),
        (lambda d: d["X_val"].__setitem__((3, 1), np.nan), "X_val has NaN .* in 1 of"),
        (lambda d: d["X_train"].__setitem__((0, 0), np.inf), "X_train has NaN .* in 1 of 120"),
    ],
    ids=["missing key", "label count", "float labels", "feature shape", "empty", "nan", "inf"],
)
def test_inconsistent_data_is_rejected(change, message):
    data = make_data()
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(TinyClassifier(), data)


@pytest.mark.parametrize(
    "argument", [{"batch_size": 0}, {"num_epochs": -1}, {"print_every": 2.5}, {"lr_decay": 0}]
)
def test_nonsensical_hyper_parameter_is_rejected(argument):
    with pytest.raises(ValueError, match=next(iter(argument))):
        Solver(TinyClassifier(), make_data(), **argument)


def test_object_without_params_and_loss_is_rejected_as_a_model():
    with pytest.raises(TypeError, match="params dict and a .loss"):
        Solver(object(), make_data())
