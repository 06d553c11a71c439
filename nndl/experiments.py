"""Experiments on a network, as the book runs them: one training run as a picklable function
(``train_network``, returning a ``TrainingRun``), many of them at once on any
``concurrent.futures`` executor (``sweep``), and the spread of each layer's values at
initialisation (``layer_statistics``). Used by chapters 1, 7 and 8, ``nndl demo`` and the
benchmarks.

A run is a pure function of its arguments: the same arguments give the same histories bit for
bit, whichever executor runs it and in whichever process. A sweep's tasks name their data with a
``DataSpec`` (a few bytes), which each worker process loads once and keeps.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

# --------------------------------------------------------------------------------------------
# The data of a run, by name (so that a sweep sends its workers a name, not the arrays)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSpec:
    """The training problem of a run, named rather than carried: the first ``num_train``
    training images of a dataset (all of them when None) with its validation split, as
    ``nndl.data.training_subset`` cuts them.

    Build one with ``DataSpec.resolve``, which fixes the dataset that ``NNDL_DATASET`` selects
    and the folder that ``NNDL_DATA`` names at that moment, so that a worker started elsewhere
    (another process, a cluster's machine) loads the same data whatever its environment.
    """

    dataset: str
    num_train: int | None = None
    root: str | None = None  # where CIFAR-10 lives; the embedded digits need none

    @classmethod
    def resolve(cls, num_train: int | None = None, dataset: str | None = None, root=None):
        """The spec of the dataset in force (``dataset``, else ``NNDL_DATASET``, else digits)."""
        from nndl.data import data_root, selected_dataset

        name = selected_dataset(dataset)
        where = str(data_root(root)) if name == "cifar10" else None
        return cls(name, num_train, where)

    def load(self) -> dict[str, np.ndarray]:
        """The arrays, loaded once per process and shared, read-only, by the runs that follow."""
        return load_data(self)


@functools.lru_cache(maxsize=2)
def load_data(spec: DataSpec) -> dict[str, np.ndarray]:
    """``spec``'s arrays (X_train, y_train, X_val, y_val), cached per process; read-only, so
    that no run can change the data the next run in the same worker trains on."""
    from nndl.data import load_dataset, training_subset

    options = {} if spec.root is None else {"root": spec.root}
    data = load_dataset(spec.dataset, **options)
    num_train = len(data["y_train"]) if spec.num_train is None else spec.num_train
    # Copies, so that the rest of the dataset (600 MB of CIFAR-10 images) is freed.
    subset = {name: np.array(array) for name, array in training_subset(data, num_train).items()}
    for array in subset.values():
        array.flags.writeable = False
    return subset


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
    dtype=np.float64,
    normalization: str | None = None,
) -> TrainingRun:
    """Train a ``FullyConnectedNet`` with Adam and return its histories.

    A plain module-level function of picklable arguments, so that ``sweep`` can run it in
    another process. It runs numpy's BLAS on one thread: the matrices are small, and two
    trainings side by side on two cores are faster than either one spread over both.

    The network computes in float64 by default. A training run amplifies round-off: in float32
    the order in which the BLAS kernel that numpy picks for the CPU sums a product (it differs
    between processors, and with ``OPENBLAS_CORETYPE``) moves a run's accuracies in the second
    decimal; in float64 the printed histories are the same on every machine we tried.

    Inputs:
    - data: dict with X_train, y_train, X_val, y_val (images of shape (N, d_1, ..., d_k)), or a
      ``DataSpec`` naming them (loaded once per process)
    - hidden_dims: sizes of the hidden layers
    - weight_scale: std of the initial weights
    - use_batchnorm: whether the network batch-normalises each hidden layer
    - num_epochs, batch_size, learning_rate: the Solver's settings
    - seed: seeds the initial weights and the order of the minibatches
    - dtype: the network's floating dtype (``FullyConnectedNet``'s ``dtype``)
    - normalization: None, "batchnorm" or "layernorm" (``FullyConnectedNet``'s current
      spelling); "layernorm" with use_batchnorm False, and an error if the two disagree

    Returns:
    - a TrainingRun
    """
    from threadpoolctl import threadpool_limits

    from nndl.fc_net import FullyConnectedNet
    from nndl.solver import Solver

    if isinstance(data, DataSpec):
        data = data.load()
    elif not isinstance(data, Mapping):
        raise TypeError(f"data must be a dict of arrays or a DataSpec, got {type(data).__name__}")

    num_classes = int(max(data["y_train"].max(), data["y_val"].max())) + 1
    model = FullyConnectedNet(
        hidden_dims,
        input_dim=data["X_train"][0].size,
        num_classes=num_classes,
        use_batchnorm=use_batchnorm,
        normalization=normalization,
        weight_scale=weight_scale,
        dtype=dtype,
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
    - arguments: iterable of keyword-argument dicts (picklable; pass large data by name, e.g.
      as a ``DataSpec``, so that each task carries a few bytes)
    - executor: any ``concurrent.futures.Executor``: local threads or processes, or a cluster's
      (``dask.distributed.Client.get_executor()``); by default two local processes, shut down
      afterwards. An executor passed in is left running for its owner.

    Returns:
    - the list of results, in the order of ``arguments``
    """
    if not isinstance(executor, Executor | None):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}"
        )
    own = executor is None
    executor = default_executor() if own else executor
    try:
        # The keyword arguments travel inside a partial, so that none of them can collide with
        # an executor's own options (dask's submit takes key=, workers=, priority=, ...).
        futures = [executor.submit(functools.partial(function, **kwargs)) for kwargs in arguments]
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
