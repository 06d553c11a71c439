"""Experiments on a network, as the book runs them: one training run as a picklable function
(``train_network``, returning a ``TrainingRun``; ``train_model``, returning the model and its
``Solver``), many of them at once on any
``concurrent.futures`` executor (``sweep``), and the spread of each layer's values at
initialisation (``layer_statistics``). Used by chapters 1, 7 and 8, ``nndl demo`` and the
benchmarks.

A run is a pure function of its arguments: the same arguments give the same histories bit for
bit, whichever executor runs it and in whichever process. A sweep's tasks name their data with a
``DataSpec`` (a few bytes) or carry it; on the sweep's own processes the data travels to each
worker once, not with every task. A sweep loses nothing it finished: a task that fails, hangs
past ``timeout`` or loses its worker is named (index, arguments, traceback) while the others run
on, and Ctrl-C stops it at once; ``SweepError`` and ``SweepInterrupted`` carry the results.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from nndl.arguments import require_int, require_number

logger = logging.getLogger(__name__)

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
    probes: list = field(default_factory=list)  # (iteration, result) of a probe, if one ran

    @property
    def best_val_acc(self) -> float:
        return max(self._accuracies(self.val_acc_history))

    @property
    def final_train_acc(self) -> float:
        return self._accuracies(self.train_acc_history)[-1]

    def _accuracies(self, history: list[float]) -> list[float]:
        if not history:
            raise ValueError("the run recorded no accuracy: it trained for 0 iterations")
        return history

    @property
    def final_train_loss(self) -> float:
        """Mean loss over the last epoch's minibatches (one minibatch's loss is noisy)."""
        return float(np.mean(self.loss_history[-self.iterations_per_epoch :]))


# train_network's and train_model's keyword options for experiments, with their defaults (the
# defaults train as chapters 7 and 8 do: Adam, epochs, ReLU, every parameter).
TRAINING_OPTIONS = {
    "update_rule": "adam",
    "num_iterations": None,
    "activation": "relu",
    "dropout": None,
    "reg": 0.0,
    "trainable": None,
    "probe": None,
    "probe_every": 1,
    "on_step": None,
    "input_scale": None,
    "num_train_samples": 1000,
    "num_val_samples": None,
}


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
    **options,
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
    - options: the experiments' options, all keyword-only (see ``TRAINING_OPTIONS``):
      - update_rule: the Solver's rule, "adam" (default), "sgd" (plain: w -= learning_rate *
        dw), "sgd_momentum" or "rmsprop"
      - num_iterations: train this many iterations instead of num_epochs epochs
      - activation: the hidden layers', "relu" (default) or "sigmoid"
      - dropout, reg: the network's drop probability and L2 strength (default 0)
      - trainable: the parameters to train (the Solver's ``trainable``; default all)
      - probe, probe_every: a function called every probe_every iterations with the model and
        the iteration's minibatch (the Solver's); its results go to ``TrainingRun.probes``
      - on_step: a function called before every iteration (the Solver's), e.g.
        ``nndl.why.shift.NoiseRedraw`` to redraw a noisy batch norm's noise
      - input_scale: a positive number the images (X_train, X_val) are multiplied by before
        training, e.g. one over the training pixels' standard deviation; a probe's own data
        is the caller's to scale
      - num_train_samples, num_val_samples: how many examples the Solver's accuracy checks
        use (default 1000 and all)

    Returns:
    - a TrainingRun
    """
    _, solver = train_model(
        data, hidden_dims, weight_scale, use_batchnorm, num_epochs=num_epochs,
        batch_size=batch_size, learning_rate=learning_rate, seed=seed, dtype=dtype,
        normalization=normalization, **options,
    )  # fmt: skip
    return TrainingRun(
        loss_history=[float(v) for v in solver.loss_history],
        train_acc_history=[float(v) for v in solver.train_acc_history],
        val_acc_history=[float(v) for v in solver.val_acc_history],
        iterations_per_epoch=solver.iterations_per_epoch,
        status=solver.status,
        probes=solver.probes,
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
    **options,
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
    if unknown := options.keys() - TRAINING_OPTIONS.keys():
        raise TypeError(
            f"train_model got unknown options {sorted(unknown)}; it takes "
            f"{', '.join(TRAINING_OPTIONS)}"
        )
    options = {**TRAINING_OPTIONS, **options}
    if options["input_scale"] is not None:
        scale = require_number("input_scale", options["input_scale"], 0, low_open=True)
        data = {**data, "X_train": data["X_train"] * scale, "X_val": data["X_val"] * scale}

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
        activation=options["activation"],
        dropout=options["dropout"],
        reg=options["reg"],
    )
    solver = Solver(
        model,
        data,
        update_rule=options["update_rule"],
        optim_config={"learning_rate": learning_rate},
        num_epochs=num_epochs,
        batch_size=batch_size,
        verbose=False,
        seed=seed,
        num_iterations=options["num_iterations"],
        trainable=options["trainable"],
        probe=options["probe"],
        probe_every=options["probe_every"],
        on_step=options["on_step"],
        num_train_samples=options["num_train_samples"],
        num_val_samples=options["num_val_samples"],
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


# --------------------------------------------------------------------------------------------
# What a sweep reports when tasks fail or it is interrupted
# --------------------------------------------------------------------------------------------


@dataclass
class TaskFailure:
    """A task of a sweep that gave no result.

    - index: its position in the sweep's arguments
    - arguments: its keyword arguments, as given
    - kind: "raised", "timed out", "worker died", or "not run" (an executor passed in broke)
    - error: one line: the exception (``ValueError: ...``), or what happened to the task
    - traceback: the task's traceback where it raised, else ""
    """

    index: int
    arguments: Mapping
    kind: str
    error: str
    traceback: str = ""

    def __str__(self) -> str:
        return f"task {self.index} ({describe_arguments(self.arguments)}) {self.kind}: {self.error}"


class _Unfinished:
    """What a sweep that stopped early carries: the finished results and a way to finish.

    - results: one entry per task, in the order of the arguments; None where a task gave none
    - failures: a ``TaskFailure`` per failed task (index, arguments, kind, error, traceback)
    - finished: the indices of the tasks that gave a result
    - retry(executor=None, **options): run the missing tasks; returns all the results
    """

    def __init__(self, function, arguments, results, failures, options, not_run=()):
        self.results, self.failures = results, failures
        self._function, self._arguments, self._options = function, arguments, options
        self._not_run = set(not_run)
        super().__init__(self._message())

    @property
    def finished(self) -> list[int]:
        missing = self._missing()
        return [i for i in range(len(self.results)) if i not in missing]

    def _missing(self) -> set[int]:
        return {f.index for f in self.failures} | self._not_run

    def retry(self, executor: Executor | None = None, **options) -> list:
        """Run the tasks that gave no result (with the sweep's options, overridden by
        ``options``) and return the results of all tasks; raises a ``SweepError`` (or
        ``SweepInterrupted``) again, with every result so far, if some fail again."""
        missing = sorted(self._missing())
        options = {**self._options, **options}
        results = list(self.results)
        try:
            for position, result in iter_sweep(
                self._function, [self._arguments[i] for i in missing], executor, **options
            ):
                results[missing[position]] = result
        except (SweepError, SweepInterrupted) as error:
            for position in error.finished:
                results[missing[position]] = error.results[position]
            failures = [dataclasses.replace(f, index=missing[f.index]) for f in error.failures]
            not_run = {missing[i] for i in error._not_run}
            raise type(error)(
                self._function, self._arguments, results, failures, options, not_run
            ) from None
        return results


class SweepError(_Unfinished, RuntimeError):
    """Tasks of a sweep failed; every other task finished, and its result is in ``.results``
    (see ``_Unfinished`` for what it carries)."""

    def _message(self):
        name = getattr(self._function, "__name__", self._function)
        lines = [
            f"{len(self.failures)} of {len(self.results)} tasks of the sweep of {name} failed; "
            f"the {len(self.finished)} others finished (their results are in this error's "
            ".results; .retry() runs the failed ones again):"
        ]
        lines += [f"  {failure}" for failure in self.failures]
        first = next((f for f in self.failures if f.traceback), None)
        if first is not None:
            lines.append(f"The traceback of task {first.index}:\n{first.traceback.rstrip()}")
        return "\n".join(lines)


class SweepInterrupted(_Unfinished, KeyboardInterrupt):
    """Ctrl-C stopped a sweep: no task started after it, the running ones were stopped, and the
    finished ones' results are in ``.results`` (see ``_Unfinished``)."""

    def _message(self):
        return (
            f"the sweep was interrupted after {len(self.finished)} of {len(self.results)} tasks "
            "finished; their results are in this exception's .results (None for the others), "
            "and .retry() runs the others"
        )


def describe_arguments(kwargs: Mapping, width: int = 60) -> str:
    """``name=value, ...`` for a task's keyword arguments, arrays and long values abridged."""
    parts = []
    for name, value in kwargs.items():
        if isinstance(value, np.ndarray):
            text = f"<array {value.shape} {value.dtype}>"
        elif _is_data(value):
            size = sum(a.nbytes for a in value.values())
            text = f"<dict of {len(value)} arrays, {size / 1e6:.3g} MB>"
        else:
            text = repr(value)
            if len(text) > width:
                text = text[: width - 3] + "..."
        parts.append(f"{name}={text}")
    return ", ".join(parts)


def _is_data(value) -> bool:
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(a, np.ndarray) for a in value.values())
    )


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------

# What a sweep on its own processes sends each worker once, keyed by id in the parent.
_SHARED: dict[int, dict[str, np.ndarray]] = {}
# In a worker of a sweep's own processes: for each task, the process that started it and when.
_STARTED: dict[str, object] = {}

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
    return _is_data(value) and sum(a.nbytes for a in value.values()) >= SHARE_BYTES


def _start_worker(shared: dict[int, dict], pids, start_times) -> None:
    """A worker's initializer: keep the sweep's data, read-only, for its tasks, and where to say
    which task it runs. Ctrl-C is the sweep's to handle: it stops the workers itself, at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SHARED.update({key: _read_only(data) for key, data in shared.items()})
    _STARTED.update(pids=pids, times=start_times)


def _call_with_shared(function: Callable, kwargs: dict, index: int):
    """Run one task in a worker, its ``_Shared`` tokens replaced by the data they stand for."""
    _STARTED["pids"][index] = os.getpid()
    _STARTED["times"][index] = time.time()
    kwargs = {k: _SHARED[v.key] if isinstance(v, _Shared) else v for k, v in kwargs.items()}
    return function(**kwargs)


def sweep(
    function: Callable,
    arguments: Iterable[Mapping],
    executor: Executor | None = None,
    *,
    timeout: float | None = None,
    retries: int = 0,
    progress: bool | None = None,
) -> list:
    """Call ``function(**kwargs)`` for each kwargs in ``arguments``, in parallel, and return the
    results in the order of ``arguments``. ``iter_sweep`` yields them as they finish instead.

    Inputs:
    - function: a picklable (module-level) function
    - arguments: iterable of keyword-argument dicts (picklable; pass large data by name, e.g.
      as a ``DataSpec``, so that each task carries a few bytes)
    - executor: any ``concurrent.futures.Executor``: local threads or processes, or a cluster's
      (``dask.distributed.Client.get_executor()``); by default two local processes, shut down
      afterwards. An executor passed in is left running for its owner.
    - timeout: seconds a task may run (None: no limit). A task past it is reported as timed
      out; on the default processes its worker is stopped (and replaced). On an executor passed
      in the sweep goes on without it, but the task runs on in its thread until it returns
      (no thread can be stopped; Dask drops its result), holding that worker: restart Dask's
      workers (``client.restart()``) if it hangs for good.
    - retries: how many times a task is run again when its worker process died (killed, out
      of memory) or it timed out; a task that raised is not (it would raise again)
    - progress: show a progress bar (tqdm) on stderr; None: when stderr is a terminal

    On the default processes, the tasks' data (a ``DataSpec``, loaded here once, or a dict of
    arrays of a megabyte or more) travels to each worker once, when it starts, and each task
    carries a token for it; on an executor passed in, every task carries its own arguments
    (a ``DataSpec`` is then loaded once per worker process).

    From a script, call it under ``if __name__ == "__main__":``: a default worker is a fresh
    Python that imports the script again (without running that block), and with it whatever the
    script imports at its top.

    Nothing finished is lost. A task that raises, times out or loses its worker is reported at
    once (a warning naming its index and arguments) and the others go on; at the end a
    ``SweepError`` lists the failures (index, arguments, error) with the first traceback, and
    carries every result in ``.results``. Ctrl-C starts no further task, stops the running
    ones, and raises ``SweepInterrupted`` (a ``KeyboardInterrupt``) with the finished results.
    Both have ``.retry()``, which runs the missing tasks and returns all the results.

    Returns:
    - the list of results, in the order of ``arguments``
    """
    run = _Sweep.start(function, arguments, executor, timeout, retries, progress)
    results = [None] * len(run.arguments)
    iterator = run.iterate()
    try:
        for index, result in iterator:
            results[index] = result
    except KeyboardInterrupt as interrupt:  # here, between two results: the same as in there
        if isinstance(interrupt, SweepInterrupted):
            raise
        iterator.close()
        raise run.interrupted() from None
    return results


def iter_sweep(
    function: Callable,
    arguments: Iterable[Mapping],
    executor: Executor | None = None,
    *,
    timeout: float | None = None,
    retries: int = 0,
    progress: bool | None = None,
):
    """``sweep``, yielding ``(index, result)`` as each task finishes, so that a caller can keep
    (save, plot) each result at once. Raises ``SweepError`` or ``SweepInterrupted`` at the end
    as ``sweep`` does."""
    return _Sweep.start(function, arguments, executor, timeout, retries, progress).iterate()


# Seconds that Ctrl-C waits for results already on their way from the workers.
GRACE = 0.1

# What a task that ran when a process of a pool passed in died is told (which task killed it,
# the pool does not say).
BROKEN_POOL = (
    "a process of the executor's pool died while it ran (killed by this task or by one running "
    "beside it, or by the out-of-memory killer); the pool cannot run tasks any more"
)


class _Sweep:
    """The bookkeeping of one sweep: which task runs where since when, what came back.

    At most ``slots`` tasks are with the executor at a time (its workers, and one queued for
    the sweep's own processes), so that Ctrl-C or a failure leaves no queue of tasks to run
    and a task's time limit counts from its start."""

    @classmethod
    def start(cls, function, arguments, executor, timeout, retries, progress):
        """A sweep of function over arguments, checked (its own processes start when it is
        first iterated)."""
        if not isinstance(executor, Executor | None):
            raise TypeError(
                "executor must be a concurrent.futures.Executor or None, got "
                f"{type(executor).__name__}"
            )
        arguments = list(arguments)
        for index, kwargs in enumerate(arguments):
            if not isinstance(kwargs, Mapping):
                raise TypeError(
                    f"arguments[{index}] must be a dict of keyword arguments, got "
                    f"{type(kwargs).__name__} {kwargs!r}"
                )
        if timeout is not None:
            timeout = require_number("timeout", timeout, 0, low_open=True)
        retries = require_int("retries", retries, minimum=0)
        if progress is None:
            progress = sys.stderr is not None and sys.stderr.isatty()
        return cls(function, arguments, executor, timeout, retries, bool(progress))

    def __init__(self, function, arguments, executor, timeout, retries, progress):
        self.function, self.progress = function, progress
        self.options = dict(timeout=timeout, retries=retries, progress=progress)
        self.timeout, self.retries = timeout, retries
        self.own = executor is None
        self.done = [None] * len(arguments)
        self.finished: set[int] = set()
        self.failures: list[TaskFailure] = []
        self.arguments = arguments
        self.attempts = [0] * len(arguments)
        self.pending = collections.deque(range(len(arguments)))
        self.running: dict = {}  # future -> (index, the time it was handed over)
        if self.own:
            shared, tasks = _share_data([dict(kwargs) for kwargs in arguments])
            context = multiprocessing.get_context("spawn")
            self.pids = context.RawArray("q", max(len(arguments), 1))
            self.start_times = context.RawArray("d", max(len(arguments), 1))
            self._initargs = (shared, self.pids, self.start_times)
            self.calls = [
                functools.partial(_call_with_shared, function, kwargs, index)
                for index, kwargs in enumerate(tasks)
            ]
            self.executor, self.slots = None, 0  # started by results(), stopped by close()
        else:
            # The keyword arguments travel inside a partial, so that none of them can collide
            # with an executor's own options (dask's submit takes key=, workers=, ...).
            self.calls = [functools.partial(function, **kwargs) for kwargs in arguments]
            self.executor = executor
            self.slots = _worker_count(executor)

    def _new_pool(self):
        return default_executor(initializer=_start_worker, initargs=self._initargs)

    def iterate(self):
        """Yield (index, result) as tasks finish, with a progress bar if asked for; raise a
        SweepError at the end if tasks failed, SweepInterrupted on Ctrl-C."""
        bar = tqdm(
            total=len(self.arguments),
            disable=not self.progress,
            desc=getattr(self.function, "__name__", None),
        )
        redirect = contextlib.nullcontext()
        if self.progress:
            # Imported only here: it imports tqdm.auto, which in a Jupyter kernel warns on
            # stderr (and a chapter must print nothing there).
            from tqdm.contrib.logging import logging_redirect_tqdm

            redirect = logging_redirect_tqdm()
        with bar, redirect:
            try:
                for index, result in self.results():
                    bar.update()
                    yield index, result
            except KeyboardInterrupt:
                self.stop()
                raise self.interrupted() from None
            finally:
                self.close()
        if self.failures:
            raise SweepError(self.function, self.arguments, self.done, self.failures, self.options)

    def interrupted(self):
        """The SweepInterrupted that Ctrl-C raises, with what finished."""
        return SweepInterrupted(
            self.function, self.arguments, self.done, self.failures, self.options,
            self.not_finished(),
        )  # fmt: skip

    def results(self):
        """Yield (index, result) as tasks finish, until every task has finished or failed."""
        if self.own:
            self.executor = self._new_pool()
            self.slots = self.executor._max_workers + 1
        while self.pending or self.running:
            while self.pending and len(self.running) < self.slots:
                index = self.pending.popleft()
                self.attempts[index] += 1
                if self.own:
                    self.pids[index], self.start_times[index] = 0, 0.0
                try:
                    future = self.executor.submit(self.calls[index])
                except BrokenProcessPool:  # a worker died since the last look
                    self.attempts[index] -= 1
                    self.pending.appendleft(index)
                    if not self.own:  # not ours to replace: the rest cannot run on it
                        self._abandon_pending()
                        break
                    self._replace_broken_pool([])
                    continue
                self.running[future] = (index, time.time())
            finished, _ = wait(
                self.running, timeout=self._next_deadline(), return_when=FIRST_COMPLETED
            )
            broken = []
            for future in finished:
                index, _ = self.running.pop(future)
                error = future.exception()
                if error is None:
                    self.done[index] = future.result()
                    self.finished.add(index)
                    yield index, self.done[index]
                elif isinstance(error, BrokenProcessPool) and self.own:
                    broken.append(index)
                elif isinstance(error, BrokenProcessPool):  # a pool passed in: its owner's
                    self._fail(index, "worker died", BROKEN_POOL)
                elif type(error).__name__ == "KilledWorker":  # Dask's, after its own retries
                    self._fail(index, "worker died", f"{type(error).__name__}: {error}")
                else:
                    self._fail(index, "raised", _one_line(error), _traceback_text(error))
            if broken:
                self._replace_broken_pool(broken)
            self._stop_overdue()

    def _abandon_pending(self):
        """The executor passed in is broken: the tasks not yet handed over fail, to be run
        again on another executor with .retry(executor=...)."""
        while self.pending:
            index = self.pending.popleft()
            failure = TaskFailure(
                index, self.arguments[index], "not run",
                "the executor passed in is broken (a worker process died); pass a new one "
                "to .retry(executor=...)",
            )  # fmt: skip
            self.failures.append(failure)

    def _fail(self, index, kind, error, traceback=""):
        """Report a task's failure now; run it again if it may be."""
        retry_here = self.own or not self._broken_pool()
        if (
            kind in ("worker died", "timed out")
            and self.attempts[index] <= self.retries
            and (retry_here)
        ):
            logger.warning("task %d %s (%s); running it again", index, kind, error)
            self.pending.append(index)
            return
        failure = TaskFailure(index, self.arguments[index], kind, error, traceback)
        logger.warning("%s", failure)
        self.failures.append(failure)

    def _broken_pool(self):
        return bool(getattr(self.executor, "_broken", False))  # concurrent.futures' own flag

    def _next_deadline(self):
        """Seconds until the first running task's time is up (None: no limit)."""
        if self.timeout is None or not self.running:
            return None
        now = time.time()
        starts = [self._start(future) for future in self.running]
        started = [start for start in starts if start is not None]
        if len(started) < len(starts):  # a task still waiting for its worker: look again soon
            return 0.5 if not started else min(0.5, min(started) + self.timeout - now)
        return max(min(started) + self.timeout - now, 0.0)

    def _start(self, future):
        """When the task of a running future started (None: not yet)."""
        index, handed_over = self.running[future]
        if not self.own:
            return handed_over
        return self.start_times[index] or None

    def _stop_overdue(self):
        if self.timeout is None:
            return
        now = time.time()
        overdue = [
            future
            for future in self.running
            if (start := self._start(future)) is not None and now - start >= self.timeout
        ]
        if not overdue:
            return
        for future in overdue:
            index, _ = self.running.pop(future)
            future.cancel()
            self._fail(index, "timed out", f"still running after {self.timeout:g} s")
        if self.own:  # its worker must stop: the others' tasks start again on new workers
            self._requeue_running()
            self._kill_workers()
            self.executor.shutdown(wait=True)
            self.executor = self._new_pool()

    def _replace_broken_pool(self, broken):
        """A worker process died: the tasks that ran in it failed; the others, which the pool
        took down with it, start again on a new pool."""
        exit_codes = {}
        for pid, process in _processes(self.executor).items():
            process.join(1)
            exit_codes[pid] = process.exitcode
        broken += [index for index, _ in self.running.values()]
        self.running.clear()
        self.executor.shutdown(wait=True)
        started = [i for i in broken if self.pids[i]]
        # The pool terminates the other workers with SIGTERM once one has died.
        culprits = [i for i in started if exit_codes.get(self.pids[i]) != -signal.SIGTERM]
        culprits = culprits or started
        for index in broken:
            if index in culprits:
                self._fail(index, "worker died", _death(exit_codes.get(self.pids[index])))
            else:
                self.attempts[index] -= 1  # not its fault: it did not count
                self.pending.appendleft(index)
        self.executor = self._new_pool()

    def _requeue_running(self):
        for index, _ in self.running.values():
            self.attempts[index] -= 1
            self.pending.appendleft(index)
        self.running.clear()

    def _kill_workers(self):
        for process in _processes(self.executor).values():
            process.kill()

    def not_finished(self) -> set[int]:
        """The tasks that neither finished nor failed."""
        failed = {failure.index for failure in self.failures}
        return set(range(len(self.done))) - self.finished - failed

    def stop(self):
        """Ctrl-C: hand over no further task, keep the results already on their way (a tenth
        of a second's grace), and stop the running tasks."""
        self.pending.clear()
        if self.running:
            finished, _ = wait(self.running, timeout=GRACE)
            for future in finished:
                index, _ = self.running.pop(future)
                if not future.cancelled() and future.exception() is None:
                    self.done[index] = future.result()
                    self.finished.add(index)
        for future in self.running:
            future.cancel()
        if self.own:
            self._kill_workers()
        self.running.clear()

    def close(self):
        """Shut down the sweep's own processes (at once, if tasks still run); an executor passed
        in is its owner's."""
        if self.own and self.executor is not None:
            if self.running:
                self._kill_workers()
                self.running.clear()
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


def _processes(executor) -> dict:
    """The worker processes of a ProcessPoolExecutor, by pid (concurrent.futures keeps them in
    a private attribute, the same from Python 3.8 to 3.13)."""
    return dict(getattr(executor, "_processes", None) or {})


def _worker_count(executor) -> int:
    """How many tasks an executor runs at once: a pool's workers, a Dask client's threads;
    else as many as it is given (each task is then handed over at once)."""
    workers = getattr(executor, "_max_workers", None)
    client = getattr(executor, "_client", None)  # dask.distributed's ClientExecutor
    if workers is None and client is not None and hasattr(client, "nthreads"):
        workers = sum(client.nthreads().values())
    return int(workers) if workers else sys.maxsize


def _death(exit_code) -> str:
    """How a worker process ended, in words."""
    if exit_code is None:
        return "its worker process died"
    if exit_code < 0:
        name = signal.Signals(-exit_code).name
        why = " (kill -9, or the system's out-of-memory killer)" if name == "SIGKILL" else ""
        return f"its worker process was killed by {name}{why}"
    return f"its worker process exited with status {exit_code} (os._exit, or a crash in C code)"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _traceback_text(error: BaseException) -> str:
    """The task's own traceback: from its worker process where it ran in one."""
    cause = error.__cause__
    remote = getattr(cause, "tb", None)  # concurrent.futures' _RemoteTraceback
    if isinstance(remote, str):
        return remote.strip().strip("'").strip()
    return "".join(traceback.format_exception(error))


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
