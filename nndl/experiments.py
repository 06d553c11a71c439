"""Experiments on a network, as the book runs them: one training run as a picklable function
(``train_network``, returning a ``TrainingRun``; ``train_model``, returning the model and its
``Solver``), many of them at once on any
``concurrent.futures`` executor (``sweep``), and the spread of each layer's values at
initialisation (``layer_statistics``). Used by chapters 1, 7 and 8, ``nndl demo`` and the
benchmarks.

A run is a pure function of its arguments: the same arguments give the same histories bit for
bit, whichever executor runs it and in whichever process. A sweep's tasks name their data with a
``DataSpec`` (a few bytes) or carry it; on the sweep's own processes the data travels to each
worker once, not with every task.
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
    from nndl.data import load_dataset, load_training_subset

    options = {} if spec.root is None else {"root": spec.root}
    if spec.num_train is None:
        data = load_dataset(spec.dataset, **options)
        subset = {key: data[key] for key in ("X_train", "y_train", "X_val", "y_val")}
    else:  # the images left out are never converted (for CIFAR-10: 2,000 of 50,000)
        subset = load_training_subset(spec.num_train, spec.dataset, **options)
    return _read_only(subset)


def _read_only(data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    for array in data.values():
        array.flags.writeable = False
    return dict(data)


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
    _, solver = train_model(
        data, hidden_dims, weight_scale, use_batchnorm, num_epochs=num_epochs,
        batch_size=batch_size, learning_rate=learning_rate, seed=seed, dtype=dtype,
        normalization=normalization,
    )  # fmt: skip
    return TrainingRun(
        loss_history=[float(v) for v in solver.loss_history],
        train_acc_history=[float(v) for v in solver.train_acc_history],
        val_acc_history=[float(v) for v in solver.val_acc_history],
        iterations_per_epoch=solver.iterations_per_epoch,
        status=solver.status,
    )


def train_model(
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
):
    """``train_network``'s training, returning the trained ``FullyConnectedNet`` and its
    ``Solver`` (the histories, and the model for what a chapter measures on it afterwards, as
    chapter 9 does). The same arguments as ``train_network``; numpy's BLAS on one thread.

    Returns:
    - (model, solver)
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
    return model, solver


def default_executor(max_workers: int = 2, initializer=None, initargs=()) -> Executor:
    """Processes on this machine. The "spawn" start method, because forking a process that runs
    threads (a Jupyter kernel does) can deadlock. ``initializer(*initargs)`` runs once in each
    worker as it starts."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=max_workers, mp_context=context, initializer=initializer, initargs=initargs
    )


# What a sweep on its own processes sends each worker once, keyed by id in the parent.
_SHARED: dict[int, dict[str, np.ndarray]] = {}

# Data this large travels to a worker once, when it starts, instead of with every task.
SHARE_BYTES = 1 << 20


@dataclass(frozen=True)
class _Shared:
    """Stands in a task's keyword arguments for data that the worker received when it started."""

    key: int


def _share_data(arguments: list[dict]) -> tuple[dict[int, dict], list[dict]]:
    """Split the tasks' data from their keywords: every ``DataSpec`` (loaded here, once) and
    every dict of arrays of at least ``SHARE_BYTES`` becomes a ``_Shared`` token, and the data
    is returned once per distinct object, for the workers' initializer."""
    shared, tasks = {}, []
    for kwargs in arguments:
        task = {}
        for name, value in kwargs.items():
            named = isinstance(value, DataSpec)
            if named:
                value = value.load()  # cached: the same dict for the same spec
            if named or _is_large_data(value):
                shared.setdefault(id(value), value)
                value = _Shared(id(value))
            task[name] = value
        tasks.append(task)
    return shared, tasks


def _is_large_data(value) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(a, np.ndarray) for a in value.values())
        and sum(a.nbytes for a in value.values()) >= SHARE_BYTES
    )


def _install_shared(shared: dict[int, dict]) -> None:
    """A worker's initializer: keep the sweep's data, read-only, for its tasks."""
    _SHARED.update({key: _read_only(data) for key, data in shared.items()})


def _call_with_shared(function: Callable, kwargs: dict):
    """Run one task in a worker, its ``_Shared`` tokens replaced by the data they stand for."""
    kwargs = {k: _SHARED[v.key] if isinstance(v, _Shared) else v for k, v in kwargs.items()}
    return function(**kwargs)


def sweep(function: Callable, arguments: Iterable[Mapping], executor: Executor | None = None):
    """Call ``function(**kwargs)`` for each kwargs in ``arguments``, in parallel.

    Inputs:
    - function: a picklable (module-level) function
    - arguments: iterable of keyword-argument dicts (picklable; pass large data by name, e.g.
      as a ``DataSpec``, so that each task carries a few bytes)
    - executor: any ``concurrent.futures.Executor``: local threads or processes, or a cluster's
      (``dask.distributed.Client.get_executor()``); by default two local processes, shut down
      afterwards. An executor passed in is left running for its owner.

    On the default processes, the tasks' data (a ``DataSpec``, loaded here once, or a dict of
    arrays of a megabyte or more) travels to each worker once, when it starts, and each task
    carries a token for it; on an executor passed in, every task carries its own arguments
    (a ``DataSpec`` is then loaded once per worker process).

    From a script, call it under ``if __name__ == "__main__":``: a default worker is a fresh
    Python that imports the script again (without running that block), and with it whatever the
    script imports at its top.

    Returns:
    - the list of results, in the order of ``arguments``
    """
    if not isinstance(executor, Executor | None):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None, got {type(executor).__name__}"
        )
    own = executor is None
    if own:
        shared, arguments = _share_data([dict(kwargs) for kwargs in arguments])
        executor = default_executor(initializer=_install_shared, initargs=(shared,))
        calls = [functools.partial(_call_with_shared, function, kwargs) for kwargs in arguments]
    else:
        # The keyword arguments travel inside a partial, so that none of them can collide with
        # an executor's own options (dask's submit takes key=, workers=, priority=, ...).
        calls = [functools.partial(function, **kwargs) for kwargs in arguments]
    try:
        futures = [executor.submit(call) for call in calls]
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
