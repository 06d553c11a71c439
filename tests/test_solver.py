"""The Solver: it trains, is reproducible, and fails clearly."""

import copy
import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl import solver as solver_module
from nndl.data import load_training_subset
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


def test_check_accuracy_batches_hold_a_fixed_amount_of_input_by_default(monkeypatch):
    solver = Solver(CountingModel(), make_data(), verbose=False)
    y = np.zeros(250, dtype=int)
    assert solver.check_accuracy(np.zeros((250, 6)), y) == 1.0
    assert solver.model.batch_sizes == [250], "small samples are not predicted in one batch"
    solver.model.batch_sizes.clear()
    monkeypatch.setattr(solver_module, "EVAL_BATCH_BYTES", 120 * 6 * 8)  # 120 samples
    solver.check_accuracy(np.zeros((250, 6)), y)
    assert solver.model.batch_sizes == [120, 120, 10], "the batches are not sized by bytes"
    solver.model.batch_sizes.clear()
    monkeypatch.setattr(solver_module, "EVAL_BATCH_BYTES", 1)
    solver.check_accuracy(np.zeros((250, 6)), y)
    assert solver.model.batch_sizes == [100, 100, 50], "the batches are smaller than 100"


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
    expected = "the loss became nan at iteration 8 (epoch 2) with finite parameters"
    assert solver.message.startswith(expected), "the message lacks iteration or epoch"
    assert solver.message.endswith("try a smaller learning rate or weight scale")
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


def _net(**options):
    return FullyConnectedNet([10, 10], input_dim=8, num_classes=3, seed=0, **options)


DATA8 = make_data(num_train=100, num_val=20, input_dim=8, num_classes=3)


def test_infinite_running_variances_stop_the_run_naming_the_statistic(no_warnings):
    # The case: SGD at a huge learning rate; the loss stays finite (xhat is 0 where the
    # variance is inf), so only the running averages tell.
    model = _net(use_batchnorm=True)
    solver = Solver(model, DATA8, optim_config={"learning_rate": 1e30}, batch_size=20,
                    verbose=False, seed=0)  # fmt: skip
    solver.train()
    assert solver.status == "diverged"
    assert solver.message.startswith("bn_params[0]['running_var'] became non-finite")
    assert (
        "at iteration 2 (epoch 1)" in solver.message and "weights |w| = 2.88e+29" in solver.message
    )
    # The running averages of the best moment are back in the model.
    assert all(np.isfinite(bn["running_var"]).all() for bn in model.bn_params)


def test_features_that_overflow_float32_variances_stop_the_run_at_the_first_iteration():
    huge = {k: v.astype(np.float32) * 1e20 if k[0] == "X" else v for k, v in DATA8.items()}
    solver = Solver(_net(use_batchnorm=True), huge, batch_size=20, verbose=False, seed=0)
    solver.train()
    assert solver.status == "diverged" and solver.iteration == 0
    assert "overflowed float32 (the inputs reach |x| = 3.9e+20" in solver.message
    assert "scale the inputs" in solver.message


def test_a_nan_put_into_a_weight_is_named_not_blamed_on_the_learning_rate():
    model = _net()
    model.params["W2"][3, 4] = np.nan
    solver = Solver(model, DATA8, batch_size=20, verbose=False, seed=0)
    solver.train()
    assert solver.status == "diverged"
    assert solver.message.startswith("parameter 'W2' holds 1 NaN of 100 values at iteration 1")
    assert "learning rate" not in solver.message


class NanGradient(TinyClassifier):
    """TinyClassifier whose backward pass puts a NaN into the gradient of b at its 5th call."""

    calls = 0

    def loss(self, X, y=None):
        if y is None:
            return super().loss(X)
        self.calls += 1
        loss, grads = super().loss(X, y)
        if self.calls == 5:
            grads["b"] = grads["b"].copy()
            grads["b"][1] = np.nan
        return loss, grads


def test_a_nan_gradient_is_named_with_its_iteration():
    solver = Solver(NanGradient(), make_data(), **SETTINGS)
    solver.train()
    assert solver.status == "diverged" and solver.iteration == 4
    assert solver.message.startswith(
        "the gradient of 'b' holds 1 NaN of 3 values at iteration 5 (epoch 1), though the "
        "parameters and the loss"
    )
    assert "learning rate" not in solver.message


def test_an_update_that_overflows_a_finite_gradient_blames_the_step_size():
    data = {k: v * 1e3 if k[0] == "X" else v for k, v in make_data().items()}  # |dW| ~ 100
    solver = tiny_solver(
        data=data, update_rule="sgd", optim_config={"learning_rate": 1e308}, num_epochs=1
    )
    solver.train()
    assert solver.status == "diverged"
    assert solver.message.startswith("the update rule made 'W' non-finite")
    assert solver.message.endswith(
        "the step was too large; try a smaller learning rate or weight scale"
    )


def test_batch_norm_with_batches_of_one_example_is_refused_saying_why():
    expected = (
        "batch_size must be at least 2 for a model with batch normalization, got 1: the "
        "variance of a batch of one example is 0"
    )
    with pytest.raises(ValueError, match=expected):
        Solver(_net(use_batchnorm=True), DATA8, batch_size=1)


def test_layer_norm_trains_with_batches_of_one_example():
    solver = Solver(_net(normalization="layernorm"), DATA8, batch_size=1, num_epochs=1,
                    verbose=False, seed=0)  # fmt: skip
    solver.train()
    assert solver.status == "finished" and solver.iteration == 100
    assert not np.array_equal(solver.model.params["W1"], _net().params["W1"]), "W1 never moved"


def test_a_checkpoint_that_cannot_be_written_fails_the_run_naming_the_path(tmp_path):
    (tmp_path / "runs").write_text("a file where the checkpoint folder should be")
    solver = tiny_solver(checkpoint_name=tmp_path / "runs" / "net")
    with pytest.raises(
        OSError, match=r"cannot create the checkpoint folder .*runs: it is a file, where a folder"
    ):
        solver.train()
    assert solver.status == "failed", "the status stayed 'running'"
    assert (
        "after iteration 1 (epoch 0)" in solver.message and "runs: it is a file" in solver.message
    )


def test_ctrl_c_during_training_leaves_the_status_interrupted():
    class Interrupting(TinyClassifier):
        def loss(self, X, y=None):
            if y is not None and solver.iteration == 3:
                raise KeyboardInterrupt
            return super().loss(X, y)

    solver = Solver(Interrupting(), make_data(), **SETTINGS)
    with pytest.raises(KeyboardInterrupt):
        solver.train()
    assert solver.status == "interrupted" and "after iteration 3" in solver.message


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


# Bad input, decided once in Solver.__init__ or at check_accuracy's door ------------------------


@given(
    name=st.sampled_from(["batch_size", "num_epochs", "print_every", "num_train_samples"]),
    value=st.one_of(
        st.integers(max_value=-1),
        st.floats(allow_nan=False).filter(lambda v: v != int(v) if np.isfinite(v) else True),
    ),
)
def test_integer_argument_that_is_negative_or_fractional_is_a_value_error(name, value):
    with pytest.raises(ValueError, match=f"{name} must be an integer >= "):
        Solver(TinyClassifier(), make_data(), **{name: value})


@pytest.mark.parametrize("value", ["10", None, [10], True])
def test_integer_argument_that_is_not_a_number_is_a_type_error(value):
    with pytest.raises(TypeError, match="batch_size must be an integer >= 1, got "):
        Solver(TinyClassifier(), make_data(), batch_size=value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5])
def test_lr_decay_must_be_a_finite_positive_number(value):
    with pytest.raises(ValueError, match=r"lr_decay must be a finite number in \(0, inf\)"):
        Solver(TinyClassifier(), make_data(), lr_decay=value)


@pytest.mark.parametrize(
    "optim_config, error, message",
    [
        ({"learning_rate": "1e-3"}, TypeError, r"adam: config\['learning_rate'\] must be a number"),
        ({"learning_rate": -1e-3}, ValueError, r"config\['learning_rate'\] must be in \[0, inf\)"),
        ({"beta1": 1}, ValueError, r"config\['beta1'\] must be in \[0, 1\)"),
        ({"lr": 1e-3}, ValueError, r"unknown config entries \['lr'\]"),
        (1e-3, TypeError, "adam: config must be a dict"),
    ],
)
def test_bad_optim_config_is_refused_when_the_solver_is_made(optim_config, error, message):
    with pytest.raises(error, match=message):
        Solver(TinyClassifier(), make_data(), update_rule="adam", optim_config=optim_config)


@pytest.mark.parametrize(
    "seed, error, message",
    [
        (-1, ValueError, "seed must be a non-negative integer, got -1"),
        ("231", TypeError, "seed must be None, a non-negative integer or a numpy Generator"),
        (1.5, TypeError, "got float 1.5"),
        (np.random.RandomState(0), TypeError, "got RandomState"),
    ],
)
def test_bad_seed_is_refused_naming_the_seed(seed, error, message):
    with pytest.raises(error, match=message):
        Solver(TinyClassifier(), make_data(), seed=seed)


@pytest.mark.parametrize(
    "split, labels, message",
    [
        ("y_train", lambda y: y.__setitem__(0, 3), "y_train must hold class labels 0..2 .* 0 to 3"),
        ("y_val", lambda y: y.__setitem__(5, -1), "y_val must hold class labels 0..2 .* -1 to 2"),
        ("y_val", lambda y: y.__setitem__(5, 7), "y_val must hold class labels 0..2 .* 0 to 7"),
    ],
)
def test_labels_out_of_the_models_range_are_refused_when_the_solver_is_made(split, labels, message):
    data = make_data()
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, seed=0)
    labels(data[split])
    with pytest.raises(ValueError, match=message):
        Solver(model, data)


@pytest.mark.parametrize("label, low, high", [(3, 0, 3), (-1, -1, 2)])
def test_check_accuracy_refuses_labels_out_of_the_models_range(label, low, high):
    # Counted as wrong predictions, they would give a low accuracy and no hint why.
    data = make_data()
    solver = Solver(FullyConnectedNet([5], input_dim=6, num_classes=3, seed=0), data)
    y = data["y_val"].copy()
    y[7] = label
    with pytest.raises(ValueError, match=f"y must hold class labels 0..2 .* from {low} to {high}"):
        solver.check_accuracy(data["X_val"], y)


def test_negative_labels_are_refused_for_a_model_without_num_classes():
    data = make_data()
    data["y_train"][3] = -2
    with pytest.raises(
        ValueError, match="y_train must hold class labels >= 0, got labels from -2 to 2"
    ):
        Solver(TinyClassifier(), data)


def test_data_that_is_not_a_dict_is_a_type_error():
    with pytest.raises(TypeError, match="data must be a dict with keys .* got tuple"):
        Solver(TinyClassifier(), tuple(make_data().values()))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (lambda X, y: (X, y[:1]), r"y must have shape \(30,\) to match X of shape \(30, 6\)"),
        (lambda X, y: (X[:0], y[:0]), "X must be a non-empty numpy array"),
        (lambda X, y: (X, y.astype(float)), "y must be a numpy array of integer labels"),
        (lambda X, y: (X, y, 0), "num_samples must be an integer >= 1 or None, got 0"),
        (lambda X, y: (X, y, None, 0), "batch_size must be an integer >= 1 or None, got 0"),
    ],
    ids=["one label for 30 samples", "empty X", "float labels", "num_samples=0", "batch_size=0"],
)
def test_check_accuracy_refuses_bad_arguments(arguments, message):
    solver = Solver(CountingModel(), make_data(), verbose=False)
    X, y = np.zeros((30, 6)), np.arange(30) % 2
    with pytest.raises(ValueError, match=message):
        solver.check_accuracy(*arguments(X, y))


# dtype: a float32 model stays float32 and resumes, whatever the learning rate's type ----------


def test_numpy_scalar_learning_rate_keeps_a_float32_model_float32_and_resumable(tmp_path):
    # The reproducer: a sweep's learning rate is np.logspace(...)[i], a np.float64.
    def model():
        return FullyConnectedNet([10], input_dim=6, num_classes=3, dtype=np.float32, seed=0)

    learning_rate = np.logspace(-4, -2, 5)[3]
    run = Solver(
        model(),
        make_data(),
        **{**SETTINGS, "optim_config": {"learning_rate": learning_rate}},
        checkpoint_name=tmp_path / "run",
        seed=0,
    )
    run.train()
    dtypes = {w.dtype for w in run.model.params.values()}
    assert dtypes == {np.dtype(np.float32)}, "a np.float64 learning rate made the model float64"
    resumed = Solver.resume(tmp_path / "run_epoch_2.npz", model(), make_data())
    resumed.train()
    assert resumed.status == "finished", "the float32 run did not resume"
    assert resumed.loss_history == run.loss_history


# Without a seed, numpy's global generator decides, as in the CS231n notebooks ------------------


def test_without_a_seed_np_random_seed_makes_the_run_reproducible():
    def run(global_seed):
        np.random.seed(global_seed)  # noqa: NPY002
        solver = Solver(TinyClassifier(seed=0), make_data(), **SETTINGS)
        solver.train()
        return solver.loss_history

    first, second, other = run(231), run(231), run(232)
    assert first == second, "np.random.seed(231) does not make a seed=None run reproducible"
    assert first != other, "a seed=None run does not draw from numpy's global generator"


def test_without_a_seed_the_run_advances_numpys_global_generator():
    np.random.seed(231)  # noqa: NPY002
    tiny_solver(seed=None).train()
    after_run = np.random.random()  # noqa: NPY002
    np.random.seed(231)  # noqa: NPY002
    assert np.random.random() != after_run, "the run did not draw from the global generator"  # noqa: NPY002


def test_resuming_a_run_without_a_seed_is_exact_and_leaves_the_global_generator_alone(tmp_path):
    np.random.seed(231)  # noqa: NPY002
    uninterrupted = tiny_solver(seed=None, checkpoint_name=tmp_path / "run")
    uninterrupted.train()
    # Copied now: the run's generator is the global one, which the next line reseeds.
    expected = copy.deepcopy(state(uninterrupted))
    np.random.seed(5)  # noqa: NPY002
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    resumed = Solver.resume(tmp_path / "run_epoch_2.npz", TinyClassifier(seed=0), make_data())
    assert_identical(np.random.get_state(legacy=False), before)  # noqa: NPY002
    resumed.train()
    assert_identical(state(resumed), expected)


def test_data_is_cast_once_to_the_models_dtype():
    data = make_data()
    data["X_train"] = data["X_train"].astype(np.float32)
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, dtype=np.float64, seed=0)
    solver = Solver(model, data, verbose=False, seed=0)
    assert solver.X_train.dtype == np.float64, "X_train is cast in every call instead of once"
    assert solver.X_val is data["X_val"], "data already in the model's dtype was copied"
    assert np.array_equal(solver.X_train, data["X_train"])


def test_a_large_split_is_left_for_the_model_to_cast(monkeypatch):
    monkeypatch.setattr(solver_module, "MAX_CAST_BYTES", 100)
    data = make_data()
    data["X_train"] = data["X_train"].astype(np.float32)
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, dtype=np.float64, seed=0)
    assert Solver(model, data, verbose=False).X_train is data["X_train"], "a large copy was made"


def test_batchnorm_running_averages_are_restored_with_the_best_parameters():
    """Test mode after train() is the network that scored best_val_acc: its parameters and the
    running averages recorded with them, not the last iteration's, which belong to later
    weights (the original Solver restored the parameters alone)."""
    data = load_training_subset(100, "digits")
    model = FullyConnectedNet(
        [20, 20], input_dim=64, num_classes=10, use_batchnorm=True, seed=2, dtype=np.float64
    )
    solver = Solver(
        model, data, update_rule="adam", optim_config={"learning_rate": 1e-2}, num_epochs=8,
        batch_size=10, num_val_samples=None, verbose=False, seed=2,
    )  # fmt: skip
    solver.train()

    assert np.argmax(solver.val_acc_history) < len(solver.val_acc_history) - 1, "best is last"
    assert solver.check_accuracy(solver.X_val, solver.y_val) == solver.best_val_acc
    for bn_param, stats in zip(model.bn_params, solver.best_bn_stats, strict=True):
        assert stats.keys() == {"running_mean", "running_var"}
        assert_identical({key: bn_param[key] for key in stats}, stats)
