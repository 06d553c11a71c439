"""Experiments on a network, as the book runs them: one training run as a picklable function
(``train_network``, returning a ``TrainingRun``), many of them at once on any
``concurrent.futures`` executor (``sweep``), and the spread of each layer's values at
initialisation (``layer_statistics``). Used by chapters 1, 7 and 8, ``nndl demo`` and the
benchmarks.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

# --------------------------------------------------------------------------------------------
# Training runs and sweeps (chapters 7 and 8)
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingRun:
    """The histories of one training run, as a ``Solver`` records them.

    ``loss_history`` has one entry per iteration; the accuracy histories one per epoch (plus the
    one before training).
    """

    loss_history: list[float] = field(default_factory=list)
    train_acc_history: list[float] = field(default_factory=list)
    val_acc_history: list[float] = field(default_factory=list)
    iterations_per_epoch: int = 1
    status: str = "finished"  # or "diverged": the loss stopped being finite

    @property
    def best_val_acc(self) -> float:
        return max(self.val_acc_history)

    @property
    def final_train_acc(self) -> float:
        return self.train_acc_history[-1]

    @property
    def final_train_loss(self) -> float:
        """Mean loss over the last epoch's minibatches (one minibatch's loss is noisy)."""
        return float(np.mean(self.loss_history[-self.iterations_per_epoch :]))


def train_network(
    data: Mapping[str, np.ndarray],
    hidden_dims: Sequence[int],
    weight_scale: float,
    use_batchnorm: bool,
    *,
    num_epochs: int = 10,
    batch_size: int = 50,
    learning_rate: float = 1e-3,
    seed: int = 0,
    normalization: str | None = None,
) -> TrainingRun:
    """Train a ``FullyConnectedNet`` with Adam and return its histories.

    A plain module-level function of picklable arguments, so that ``sweep`` can run it in
    another process. It runs numpy's BLAS on one thread: the matrices are small, and two
    trainings side by side on two cores are faster than either one spread over both.

    Inputs:
    - data: dict with X_train, y_train, X_val, y_val (images of shape (N, d_1, ..., d_k))
    - hidden_dims: sizes of the hidden layers
    - weight_scale: std of the initial weights
    - use_batchnorm: whether the network batch-normalises each hidden layer
    - num_epochs, batch_size, learning_rate: the Solver's settings
    - seed: seeds the initial weights and the order of the minibatches
    - normalization: None, "batchnorm" or "layernorm" (``FullyConnectedNet``'s current
      spelling); "layernorm" with use_batchnorm False, and an error if the two disagree

    Returns:
    - a TrainingRun
    """
    from threadpoolctl import threadpool_limits

    from nndl.fc_net import FullyConnectedNet
    from nndl.solver import Solver

    num_classes = int(max(data["y_train"].max(), data["y_val"].max())) + 1
    model = FullyConnectedNet(
        hidden_dims,
        input_dim=data["X_train"][0].size,
        num_classes=num_classes,
        use_batchnorm=use_batchnorm,
        normalization=normalization,
        weight_scale=weight_scale,
        seed=seed,
    )
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": learning_rate},
        num_epochs=num_epochs,
        batch_size=batch_size,
        verbose=False,
        seed=seed,
    )
    with threadpool_limits(limits=1, user_api="blas"):
        solver.train()
    return TrainingRun(
        loss_history=[float(v) for v in solver.loss_history],
        train_acc_history=[float(v) for v in solver.train_acc_history],
        val_acc_history=[float(v) for v in solver.val_acc_history],
        iterations_per_epoch=solver.iterations_per_epoch,
        status=solver.status,
    )


def default_executor(max_workers: int = 2) -> Executor:
    """Processes on this machine. The "spawn" start method, because forking a process that runs
    threads (a Jupyter kernel does) can deadlock."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=context)


def sweep(function: Callable, arguments: Iterable[Mapping], executor: Executor | None = None):
    """Call ``function(**kwargs)`` for each kwargs in ``arguments``, in parallel.

    Inputs:
    - function: a picklable (module-level) function
    - arguments: iterable of keyword-argument dicts
    - executor: any ``concurrent.futures.Executor`` (e.g. a cluster's); by default two local
      processes, shut down afterwards. An executor passed in is left running for its owner.

    Returns:
    - the list of results, in the order of ``arguments``
    """
    own = executor is None
    executor = default_executor() if own else executor
    try:
        futures = [executor.submit(function, **kwargs) for kwargs in arguments]
        return [future.result() for future in futures]
    finally:
        if own:
            executor.shutdown()


# --------------------------------------------------------------------------------------------
# Activation statistics at initialisation (chapter 8)
# --------------------------------------------------------------------------------------------


def layer_statistics(model, X) -> dict[str, np.ndarray]:
    """Standard deviation of every hidden layer's values in one train-mode forward pass.

    Runs the network's own ``forward_layers`` (affine, batch norm when the model has it, ReLU,
    dropout when it has it) and keeps each hidden layer's spread. The model's running statistics
    are left unchanged (batch norm uses each batch's own statistics).

    Inputs:
    - model: a ``FullyConnectedNet``
    - X: a batch of inputs of shape (N, d_1, ..., d_k)

    Returns a dict of arrays of shape (L - 1,), one entry per hidden layer:
    - "affine": std of the affine output ``x @ W + b`` (the batch norm's input)
    - "xhat": std of the normalised input (only for a model with batch norm)
    - "relu": std of the ReLU output, the next layer's input
    """
    # Fresh bn_params: each batch's own statistics, the model's running ones untouched.
    bn_params = [{"mode": "train"} for _ in model.bn_params]
    _, (*layers, _) = model.forward_layers(X, "train", bn_params=bn_params)
    stats = {"affine": [float(layer.affine.std()) for layer in layers]}
    if model.use_batchnorm:
        stats["xhat"] = [float(layer.bn_cache.xhat.std()) for layer in layers]
    stats["relu"] = [float(layer.relu.std()) for layer in layers]
    return {name: np.array(values) for name, values in stats.items()}
