"""``nndl.experiments.train_model``: the training of ``train_network``, handing back the model
and its Solver (chapter 9 measures the trained networks)."""

import numpy as np

from nndl.experiments import train_model, train_network
from nndl.fc_net import FullyConnectedNet
from nndl.solver import Solver


def tiny_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 6))
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0)
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def test_train_model_gives_the_trained_model_and_the_solver_of_train_network():
    kwargs = dict(hidden_dims=[8], weight_scale=1e-1, num_epochs=2, batch_size=10, seed=0)
    model, solver = train_model(tiny_data(), use_batchnorm=True, **kwargs)
    run = train_network(tiny_data(), use_batchnorm=True, **kwargs)
    assert isinstance(model, FullyConnectedNet) and isinstance(solver, Solver)
    assert solver.model is model and model.use_batchnorm
    assert [float(v) for v in solver.loss_history] == run.loss_history
    assert [float(v) for v in solver.val_acc_history] == run.val_acc_history


def test_train_model_keeps_the_dtype_it_is_given():
    kwargs = dict(hidden_dims=[4], weight_scale=1e-1, num_epochs=1, batch_size=20)
    model, _ = train_model(tiny_data(), use_batchnorm=False, dtype=np.float32, **kwargs)
    assert all(value.dtype == np.float32 for value in model.params.values())
