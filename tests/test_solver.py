"""The Solver: it trains, is reproducible, resumes exactly, and fails clearly."""

import json
import logging
import os

import numpy as np
import pytest

from nndl import solver as solver_module
from nndl.fc_net import FullyConnectedNet
from nndl.optim import sgd
from nndl.solver import CheckpointError, Solver, read_checkpoint, write_checkpoint


class TinyClassifier:
    """A linear softmax classifier with every kind of state a Solver must checkpoint: parameters,
    a dropout generator (on the inputs) and a running average in bn_params (the inputs are centred
    with the batch mean in training and with the running mean in test mode)."""

    def __init__(self, input_dim=6, num_classes=3, dropout=0.25, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W": 0.1 * rng.standard_normal((input_dim, num_classes)),
            "b": np.zeros(num_classes),
        }
        self.bn_params = [{"momentum": 0.9, "running_mean": np.zeros(input_dim)}]
        self.dropout_param = {"p": dropout, "rng": rng}

    def loss(self, X, y=None):
        W, b = self.params["W"], self.params["b"]
        bn_param = self.bn_params[0]
        if y is None:
            return (X - bn_param["running_mean"]) @ W + b
        momentum = bn_param["momentum"]
        mean = X.mean(axis=0)
        bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mean
        p = self.dropout_param["p"]
        X = (X - mean) * (self.dropout_param["rng"].random(X.shape) >= p) / (1 - p)
        scores = X @ W + b
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(y))
        dscores = np.exp(log_probs)
        dscores[rows, y] -= 1
        dscores /= len(y)
        return -log_probs[rows, y].mean(), {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def make_data(num_train=120, num_val=40, input_dim=6, num_classes=3, seed=0):
    """Random inputs labelled by a random linear map: learnable by TinyClassifier."""
    rng = np.random.default_rng(seed)
    W_true = rng.standard_normal((input_dim, num_classes))
    X = rng.standard_normal((num_train + num_val, input_dim))
    y = np.argmax(X @ W_true, axis=1)
    return {
        "X_train": X[:num_train],
        "y_train": y[:num_train],
        "X_val": X[num_train:],
        "y_val": y[num_train:],
    }


SETTINGS = dict(
    update_rule="adam",
    optim_config={"learning_rate": 5e-2},
    lr_decay=0.9,
    batch_size=20,
    num_epochs=4,
    num_train_samples=50,
    verbose=False,
)


def tiny_solver(seed=0, **overrides):
    return Solver(TinyClassifier(seed=seed), make_data(), **{**SETTINGS, "seed": seed, **overrides})


def state(solver):
    """Everything that a run's future depends on, or that it reports."""
    model = solver.model
    return {
        "epoch": solver.epoch,
        "iteration": solver.iteration,
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "best_val_acc": solver.best_val_acc,
        "best_params": solver.best_params,
        "params": model.params,
        "optim_configs": solver.optim_configs,
        "bn_params": model.bn_params,
        "dropout": {k: v for k, v in model.dropout_param.items() if k != "rng"},
        "dropout_rng": model.dropout_param["rng"].bit_generator.state,
        "solver_rng": solver.rng.bit_generator.state,
    }


def assert_identical(a, b, where="state"):
    """Equal values of equal types; arrays equal bit for bit, with equal dtypes."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{where}: arrays differ"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


# Training --------------------------------------------------------------------------------------


def test_solver_cannot_overfit_50_samples_with_a_fully_connected_net():
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
    assert solver.train_acc_history[-1] == 1.0


def test_training_does_not_reduce_the_loss_of_a_learnable_problem():
    settings = {**SETTINGS, "num_epochs": 10}
    solver = Solver(TinyClassifier(dropout=0.0), make_data(), **settings, seed=0)
    solver.train()
    # Mean loss of the last epoch against the first.
    assert np.mean(solver.loss_history[-6:]) < 0.5 * np.mean(solver.loss_history[:6])
    assert solver.best_val_acc >= 0.9


def test_same_seed_gives_different_histories():
    first, second = tiny_solver(), tiny_solver()
    first.train()
    second.train()
    assert_identical(state(first), state(second))


def test_seed_has_no_effect_on_the_minibatches():
    # The model's seed is the same; only the Solver's differs.
    first = Solver(TinyClassifier(seed=0), make_data(), **SETTINGS, seed=1)
    second = Solver(TinyClassifier(seed=0), make_data(), **SETTINGS, seed=2)
    first.train()
    second.train()
    assert first.loss_history != second.loss_history


def test_solver_draws_from_numpys_global_random_state():
    # The legacy global state is exactly what must stay untouched.
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    tiny_solver().train()
    assert_identical(np.random.get_state(legacy=False), before)  # noqa: NPY002


def test_generator_seed_is_not_used():
    first = Solver(TinyClassifier(), make_data(), **SETTINGS, seed=np.random.default_rng(7))
    second = Solver(TinyClassifier(), make_data(), **SETTINGS, seed=7)
    first.train()
    second.train()
    assert first.loss_history == second.loss_history


def test_histories_have_the_wrong_lengths():
    solver = tiny_solver(num_epochs=3)
    solver.train()
    iterations_per_epoch = 120 // 20
    assert solver.iteration == len(solver.loss_history) == 3 * iterations_per_epoch
    # One check after the first iteration, then one per epoch.
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 1 + 3


def test_learning_rate_is_not_decayed_once_per_epoch():
    solver = tiny_solver(num_epochs=3)
    solver.train()
    assert all(c["learning_rate"] == 5e-2 * 0.9 * 0.9 * 0.9 for c in solver.optim_configs.values())


def test_best_parameters_are_not_restored_at_the_end():
    solver = tiny_solver(num_epochs=5, num_val_samples=None)
    solver.train()
    assert_identical(solver.model.params, solver.best_params)
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert solver.check_accuracy(solver.X_val, solver.y_val) == solver.best_val_acc
    assert solver.model.params["W"] is not solver.best_params["W"]  # a copy, not shared


def test_custom_update_rule_function_is_not_used():
    calls = []

    def counting_sgd(w, dw, config):
        calls.append(1)
        return sgd(w, dw, config)

    solver = tiny_solver(update_rule=counting_sgd, optim_config={}, num_epochs=1)
    solver.train()
    assert len(calls) == 6 * len(solver.model.params)


class CountingModel:
    """Predicts class 0 for every sample and records the batch sizes it is asked to score."""

    def __init__(self):
        self.params = {"W": np.zeros(1)}
        self.batch_sizes = []

    def loss(self, X, y=None):
        self.batch_sizes.append(len(X))
        return np.tile([1.0, 0.0], (len(X), 1))


def test_check_accuracy_does_not_work_in_batches():
    solver = Solver(CountingModel(), make_data(), verbose=False)
    y = np.zeros(250, dtype=int)
    y[:50] = 1
    assert solver.check_accuracy(np.zeros((250, 6)), y, batch_size=100) == 0.8
    assert solver.model.batch_sizes == [100, 100, 50]


def test_check_accuracy_subsample_repeats_samples_or_ignores_the_seed():
    X, y = np.zeros((30, 6)), np.arange(30) % 2
    first = Solver(CountingModel(), make_data(), verbose=False, seed=4)
    second = Solver(CountingModel(), make_data(), verbose=False, seed=4)
    subsampled = first.check_accuracy(X, y, num_samples=20)
    assert subsampled == second.check_accuracy(X, y, num_samples=20)
    assert first.model.batch_sizes == [20]
    # Without replacement, 20 samples from 15 + 15 can't be more than 15 of class 0.
    assert 5 / 20 <= subsampled <= 15 / 20


def test_verbose_false_prints(capsys):
    tiny_solver(num_epochs=1).train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_does_not_print_one_line_per_epoch(capsys):
    tiny_solver(num_epochs=2, verbose=True).train()
    out = capsys.readouterr().out
    assert [line.split(")")[0] for line in out.splitlines()] == [
        "(Epoch 0 / 2",
        "(Epoch 1 / 2",
        "(Epoch 2 / 2",
    ]


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


def test_nan_loss_is_not_reported_with_iteration_epoch_and_hint(caplog):
    solver = Solver(NanAfter(bad_call=8), make_data(), **SETTINGS)
    with caplog.at_level(logging.WARNING, logger="nndl.solver"):
        solver.train()
    assert solver.status == "diverged"
    expected = "loss became nan at iteration 8 (epoch 2); try a smaller learning rate"
    assert solver.message.startswith(expected)
    assert expected in caplog.text
    assert solver.iteration == 7 and len(solver.loss_history) == 8
    assert np.isnan(solver.loss_history[-1])


def test_exploding_network_crashes_or_warns_instead_of_stopping(no_warnings):
    data = make_data(num_train=50, num_val=20, input_dim=20, num_classes=10)
    model = FullyConnectedNet([40, 40], input_dim=20, num_classes=10, weight_scale=10.0, seed=0)
    solver = Solver(
        model, data, optim_config={"learning_rate": 1e8}, batch_size=25, verbose=False, seed=0
    )
    solver.train()
    assert solver.status == "diverged"
    assert "try a smaller learning rate or weight scale" in solver.message
    # The parameters of the best check before the explosion are back in the model.
    assert all(np.all(np.isfinite(w)) for w in model.params.values())


def test_status_is_not_finished_after_a_full_run():
    solver = tiny_solver(num_epochs=1)
    assert solver.status == "ready"
    solver.train()
    assert solver.status == "finished" and solver.message == ""


# Bad arguments ---------------------------------------------------------------------------------


def test_unknown_keyword_argument_is_ignored():
    with pytest.raises(TypeError, match="learning_rate"):
        Solver(TinyClassifier(), make_data(), learning_rate=1e-3)


def test_unknown_update_rule_is_accepted():
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
def test_inconsistent_data_is_accepted(change, message):
    data = make_data()
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(TinyClassifier(), data)


@pytest.mark.parametrize(
    "argument", [{"batch_size": 0}, {"num_epochs": -1}, {"print_every": 2.5}, {"lr_decay": 0}]
)
def test_nonsensical_hyper_parameter_is_accepted(argument):
    with pytest.raises(ValueError, match=next(iter(argument))):
        Solver(TinyClassifier(), make_data(), **argument)


def test_object_without_params_and_loss_is_accepted_as_a_model():
    with pytest.raises(TypeError, match="params dict and a .loss"):
        Solver(object(), make_data())


# Checkpoints and resuming ----------------------------------------------------------------------


@pytest.mark.parametrize("epoch", [0, 2])
def test_resumed_run_differs_from_an_uninterrupted_one(tmp_path, epoch):
    uninterrupted = tiny_solver(checkpoint_name=tmp_path / "a" / "run")
    uninterrupted.train()

    checkpoint = tmp_path / "a" / f"run_epoch_{epoch}.npz"
    resumed = Solver.resume(
        checkpoint, TinyClassifier(seed=0), make_data(), checkpoint_name=tmp_path / "b" / "run"
    )
    assert resumed.epoch == epoch
    resumed.train()
    assert_identical(state(resumed), state(uninterrupted))
    # Even the checkpoints written after resuming are the same.
    a_arrays, a_metadata = read_checkpoint(tmp_path / "a" / "run_epoch_4.npz")
    b_arrays, b_metadata = read_checkpoint(tmp_path / "b" / "run_epoch_4.npz")
    for metadata in a_metadata, b_metadata:
        del metadata["hyperparameters"]["checkpoint_name"]
    assert_identical((a_arrays, a_metadata), (b_arrays, b_metadata))


def test_resumed_batchnorm_dropout_net_differs_from_an_uninterrupted_one(tmp_path):
    data = make_data(num_train=60, num_val=20, input_dim=8, num_classes=4)

    def net():
        return FullyConnectedNet(
            [10, 10], input_dim=8, num_classes=4, dropout=0.3, use_batchnorm=True, seed=3
        )

    settings = dict(
        update_rule="rmsprop",
        optim_config={"learning_rate": 1e-2},
        lr_decay=0.95,
        batch_size=15,
        num_epochs=3,
        num_train_samples=30,
        num_val_samples=10,
        verbose=False,
        seed=5,
    )
    uninterrupted = Solver(net(), data, checkpoint_name=tmp_path / "run", **settings)
    uninterrupted.train()

    resumed = Solver.resume(tmp_path / "run_epoch_1.npz", net(), data, checkpoint_name=None)
    resumed.train()
    assert resumed.model.params["W1"].dtype == np.float32
    assert_identical(state(resumed), state(uninterrupted))


def test_resume_cannot_train_for_more_epochs(tmp_path):
    short = tiny_solver(num_epochs=2, checkpoint_name=tmp_path / "run")
    short.train()
    longer = Solver.resume(
        tmp_path / "run_epoch_2.npz", TinyClassifier(), make_data(), num_epochs=4
    )
    longer.train()
    uninterrupted = tiny_solver(num_epochs=4)
    uninterrupted.train()
    assert_identical(state(longer), state(uninterrupted))


def test_checkpoint_files_need_pickle_or_hold_invalid_json(tmp_path):
    tiny_solver(num_epochs=2, checkpoint_name=tmp_path / "run").train()
    assert sorted(os.listdir(tmp_path)) == [f"run_epoch_{e}.npz" for e in range(3)]
    with np.load(tmp_path / "run_epoch_2.npz", allow_pickle=False) as archive:
        assert not any(archive[key].dtype.hasobject for key in archive.files)
        metadata = json.loads(str(archive["metadata"]))
    assert metadata["epoch"] == 2 and metadata["iteration"] == 12
    assert metadata["hyperparameters"]["update_rule"] == "adam"
    assert len(metadata["loss_history"]) == 12
    assert metadata["optim_configs"]["W"]["t"] == 12


def test_failed_checkpoint_write_leaves_a_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "run_epoch_1.npz"
    write_checkpoint(path, {"x": np.arange(3)}, {"format": "old"})
    before = path.read_bytes()

    def savez_then_crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(solver_module.np, "savez", savez_then_crash)
    with pytest.raises(OSError, match="disk full"):
        write_checkpoint(path, {"x": np.arange(5)}, {"format": "new"})
    assert os.listdir(tmp_path) == [path.name]
    assert path.read_bytes() == before


def test_checkpoint_accepts_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        write_checkpoint(tmp_path / "c.npz", {"x": np.array([None, 1])}, {})
    assert os.listdir(tmp_path) == []


@pytest.fixture
def checkpoint(tmp_path):
    tiny_solver(num_epochs=1, checkpoint_name=tmp_path / "run").train()
    return tmp_path / "run_epoch_1.npz"


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda path: path.write_bytes(path.read_bytes()[:200]),
        lambda path: path.write_bytes(b"not a zip file at all"),
        lambda path: np.save(path.open("wb"), np.array([{"evil": 1}], dtype=object)),
        lambda path: np.savez(path.open("wb"), x=np.array([{"evil": 1}], dtype=object)),
        lambda path: np.savez(path.open("wb"), metadata=np.array("{not json")),
        lambda path: np.savez(path.open("wb"), metadata=np.array('{"format": "other"}')),
    ],
    ids=["truncated", "garbage", "pickled npy", "pickled npz", "bad json", "foreign format"],
)
def test_corrupt_checkpoint_is_not_a_clear_error(checkpoint, corrupt):
    corrupt(checkpoint)
    with pytest.raises(CheckpointError, match=str(checkpoint.name)):
        Solver.resume(checkpoint, TinyClassifier(), make_data())


def test_checkpoint_for_another_model_is_not_a_clear_error(checkpoint):
    with pytest.raises(CheckpointError, match="parameter 'W': the model has \\(6, 4\\)"):
        Solver.resume(checkpoint, TinyClassifier(num_classes=4), make_data())


def test_checkpoint_for_other_data_is_not_a_clear_error(checkpoint):
    with pytest.raises(CheckpointError, match="X_train of shape \\(120, 6\\)"):
        Solver.resume(checkpoint, TinyClassifier(), make_data(num_train=100))


def test_checkpoint_of_a_custom_rule_resumes_without_it(tmp_path):
    def my_sgd(w, dw, config):
        return sgd(w, dw, config)

    run = tiny_solver(
        update_rule=my_sgd, optim_config={}, num_epochs=1, checkpoint_name=tmp_path / "r"
    )
    run.train()
    with pytest.raises(CheckpointError, match="custom update rule .*my_sgd"):
        Solver.resume(tmp_path / "r_epoch_1.npz", TinyClassifier(), make_data())
    solver = Solver.resume(
        tmp_path / "r_epoch_1.npz", TinyClassifier(), make_data(), update_rule=my_sgd
    )
    solver.train()
    assert solver.status == "finished"
