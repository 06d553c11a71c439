"""A tiny model and problem for the Solver and checkpoint tests, and exact comparison of states."""

import numpy as np

from nndl import checkpoint
from nndl.solver import Solver


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


def tiny_solver(seed=0, model=None, data=None, **overrides):
    """A Solver with SETTINGS and seed, overridden by overrides, training model on data (by
    default TinyClassifier(seed=seed) on make_data())."""
    model = TinyClassifier(seed=seed) if model is None else model
    data = make_data() if data is None else data
    return Solver(model, data, **{**SETTINGS, "seed": seed, **overrides})


def resume_tiny(path, seed=0, **overrides):
    """Solver.resume of a tiny_solver's checkpoint at path, on a new TinyClassifier(seed=seed)
    and make_data()."""
    return Solver.resume(path, TinyClassifier(seed=seed), make_data(), **overrides)


def state(solver):
    """Everything that a run's future depends on, or that it reports."""
    model = solver.model
    return {
        **checkpoint.progress(solver),
        "best_params": solver.best_params,
        "params": model.params,
        "optim_configs": solver.optim_configs,
        "bn_params": model.bn_params,
        "dropout": {k: v for k, v in model.dropout_param.items() if k != "rng"},
        # A model with an integer seed has a fixed mask (dropout_param["seed"]) and no generator.
        "dropout_rng": getattr(model.dropout_param.get("rng"), "bit_generator", None)
        and model.dropout_param["rng"].bit_generator.state,
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
