"""nndl.experiments: training runs, sweeps and per-layer statistics."""

from __future__ import annotations

import _thread
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from nndl import experiments
from nndl.data import load_dataset, training_subset
from nndl.experiments import (
    DataSpec,
    TrainingRun,
    layer_statistics,
    load_data,
    sweep,
    train_network,
)
from nndl.fc_net import FullyConnectedNet

# --------------------------------------------------------------------------------------------
# Activation statistics
# --------------------------------------------------------------------------------------------


def _network(use_batchnorm, weight_scale=1e-2):
    return FullyConnectedNet(
        [6, 5],
        input_dim=4,
        num_classes=3,
        use_batchnorm=use_batchnorm,
        weight_scale=weight_scale,
        dtype=np.float64,
        seed=0,
    )


def test_layer_statistics_without_batchnorm_are_the_stds_of_each_layers_values():
    model = _network(use_batchnorm=False)
    X = np.random.default_rng(0).standard_normal((20, 2, 2))
    a1 = X.reshape(20, 4) @ model.params["W1"] + model.params["b1"]
    h1 = np.maximum(a1, 0)
    a2 = h1 @ model.params["W2"] + model.params["b2"]
    stats = layer_statistics(model, X)
    assert set(stats) == {"affine", "relu"}
    np.testing.assert_allclose(stats["affine"], [a1.std(), a2.std()], rtol=1e-12)
    np.testing.assert_allclose(stats["relu"], [h1.std(), np.maximum(a2, 0).std()], rtol=1e-12)


def test_layer_statistics_with_batchnorm_normalise_whatever_the_weight_scale():
    X = np.random.default_rng(0).standard_normal((50, 4))
    small, large = (layer_statistics(_network(True, s), X) for s in (1e-1, 1e1))
    np.testing.assert_allclose(small["xhat"], 1, atol=1e-3)
    np.testing.assert_allclose(small["xhat"], large["xhat"], atol=1e-3)
    assert large["affine"][0] > 50 * small["affine"][0], "the affine output does scale"


def test_layer_statistics_leave_the_model_unchanged():
    model = _network(use_batchnorm=True)
    params = {k: v.copy() for k, v in model.params.items()}
    layer_statistics(model, np.ones((3, 4)) + np.arange(3)[:, None])
    assert all(np.array_equal(params[k], model.params[k]) for k in params)
    assert all("running_mean" not in p for p in model.bn_params), "running averages moved"


# --------------------------------------------------------------------------------------------
# Training runs and sweeps
# --------------------------------------------------------------------------------------------


def test_training_run_summaries():
    run = TrainingRun(
        loss_history=[3.0, 2.0, 1.0, 0.5],
        train_acc_history=[0.1, 0.6, 0.9],
        val_acc_history=[0.1, 0.7, 0.6],
        iterations_per_epoch=2,
    )
    assert run.best_val_acc == 0.7
    assert run.final_train_acc == 0.9
    assert run.final_train_loss == 0.75, "the mean over the last epoch's minibatches"


def _tiny_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 1, 2, 2)).astype(np.float32)
    y = (X.reshape(60, 4).sum(axis=1) > 0).astype(np.int64)
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def test_train_network_records_a_reproducible_run():
    kwargs = dict(hidden_dims=[8], weight_scale=1e-1, num_epochs=3, batch_size=10, seed=0)
    first = train_network(_tiny_data(), use_batchnorm=True, **kwargs)
    second = train_network(_tiny_data(), use_batchnorm=True, **kwargs)
    assert first == second, "the same seed should give the same run"
    assert len(first.loss_history) == 3 * 4
    assert len(first.train_acc_history) == len(first.val_acc_history) == 1 + 3
    assert first.iterations_per_epoch == 4 and first.status == "finished"
    assert first.final_train_acc > 0.6, "a separable toy problem should be learnt"


def test_train_network_uses_the_number_of_classes_in_the_labels():
    data = _tiny_data()
    data["y_train"][0] = 4  # five classes
    run = train_network(data, [4], 1e-1, False, num_epochs=1, batch_size=20)
    assert run.status == "finished" and len(run.loss_history) == 2


def test_train_network_trains_the_normalization_it_is_given():
    kwargs = dict(hidden_dims=[8], weight_scale=1e-1, num_epochs=1, batch_size=10, seed=0)
    runs = {
        name: train_network(
            _tiny_data(), use_batchnorm=name == "batchnorm", normalization=name, **kwargs
        )
        for name in (None, "batchnorm", "layernorm")
    }
    losses = {name: run.loss_history for name, run in runs.items()}
    assert losses["layernorm"] != losses[None] and losses["layernorm"] != losses["batchnorm"]
    assert (
        losses["batchnorm"]
        == train_network(_tiny_data(), use_batchnorm=True, **kwargs).loss_history
    )
    with pytest.raises(ValueError, match="contradicts normalization='layernorm'"):
        train_network(_tiny_data(), use_batchnorm=True, normalization="layernorm", **kwargs)


def _record_thread(value):
    return value, threading.get_ident()


def test_sweep_keeps_the_order_and_leaves_a_given_executor_running():
    with ThreadPoolExecutor(max_workers=3) as executor:
        results = sweep(_record_thread, [{"value": v} for v in range(6)], executor=executor)
        assert [value for value, _ in results] == list(range(6))
        assert executor.submit(int, "7").result() == 7, "sweep shut down the caller's executor"


def test_sweep_runs_in_two_processes_by_default(monkeypatch):
    created = []
    original = experiments.default_executor

    def spy(**options):
        created.append(original(**options))
        return created[-1]

    monkeypatch.setattr(experiments, "default_executor", spy)
    assert sweep(dict, [{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]
    assert created[0]._max_workers == 2
    with pytest.raises(RuntimeError):
        created[0].submit(int, "1")  # shut down once the sweep is done


def test_train_network_rejects_data_that_is_neither_arrays_nor_a_spec():
    with pytest.raises(TypeError, match="data must be a dict of arrays or a DataSpec, got list"):
        train_network([1, 2], [4], 1e-1, False)


def test_sweep_rejects_an_executor_that_is_not_one():
    with pytest.raises(TypeError, match="executor must be a concurrent.futures.Executor"):
        sweep(dict, [{}], executor=2)


def test_sweep_passes_keywords_that_an_executor_would_take_for_its_own_options():
    with ThreadPoolExecutor(max_workers=1) as executor:
        assert sweep(dict, [{"key": 1, "fn": 2}], executor=executor) == [{"key": 1, "fn": 2}]


# --------------------------------------------------------------------------------------------
# Data by name, and the same runs on every executor
# --------------------------------------------------------------------------------------------

SMALL = DataSpec("digits", num_train=100)


def test_data_spec_resolves_the_dataset_and_the_folder_in_force_when_it_is_made(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("NNDL_DATASET", "cifar10")
    monkeypatch.setenv("NNDL_DATA", str(tmp_path))
    spec = DataSpec.resolve(num_train=1000)
    assert spec == DataSpec("cifar10", 1000, str(tmp_path))
    monkeypatch.delenv("NNDL_DATASET")
    assert DataSpec.resolve(num_train=1000) == DataSpec("digits", 1000, None)
    assert len(pickle.dumps(spec)) < 300, "a task should carry a name, not the arrays"


def test_data_spec_loads_the_training_subset_once_per_process_read_only():
    data = SMALL.load()
    expected = training_subset(load_dataset("digits"), 100)
    assert data.keys() == expected.keys()
    assert all(np.array_equal(data[k], expected[k]) for k in data)
    assert SMALL.load() is data, "a second load in the same process should reuse the first"
    assert not any(array.flags.writeable for array in data.values())


def _loads_in_this_process(spec):
    spec.load()
    return os.getpid(), load_data.cache_info().misses


def test_sweep_workers_load_a_data_spec_once_each_not_once_per_task():
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        results = sweep(_loads_in_this_process, [{"spec": SMALL}] * 6, executor=executor)
    assert all(misses == 1 for _, misses in results), results


def _data_in_this_worker(data, index):
    return os.getpid(), id(data), data["X_train"].flags.writeable, load_data.cache_info().misses


def test_sweep_sends_its_data_to_each_worker_once_not_with_every_task():
    big = {"X_train": np.zeros((300, 1000)), "y_train": np.zeros(300, dtype=np.int64)}
    assert sum(a.nbytes for a in big.values()) >= experiments.SHARE_BYTES

    results = sweep(_data_in_this_worker, [{"data": big, "index": i} for i in range(8)])

    objects_per_worker = {}
    for pid, data_id, _, _ in results:
        objects_per_worker.setdefault(pid, set()).add(data_id)
    assert all(len(ids) == 1 for ids in objects_per_worker.values()), objects_per_worker
    assert not any(writeable for _, _, writeable, _ in results), "a task could change the data"


def test_sweep_loads_a_data_spec_once_in_this_process_and_never_in_its_workers():
    load_data.cache_clear()
    results = sweep(_data_in_this_worker, [{"data": SMALL, "index": i} for i in range(4)])
    assert load_data.cache_info().misses == 1
    assert all(misses == 0 for *_, misses in results), results
    assert len({data_id for _, data_id, _, _ in results}) <= 2, "one copy per worker"


def _runs():
    return [
        dict(data=SMALL, hidden_dims=[20, 20], weight_scale=w, use_batchnorm=bn, num_epochs=2)
        for bn in (False, True)
        for w in (1e-2, 1e-1)
    ]


@pytest.fixture(scope="module")
def serial_runs():
    """The runs of ``_runs``, one after another in this process."""
    return [train_network(**kwargs) for kwargs in _runs()]


def test_a_sweep_on_local_processes_gives_the_serial_runs_bit_for_bit(serial_runs):
    assert sweep(train_network, _runs()) == serial_runs
    assert len({tuple(run.loss_history) for run in serial_runs}) == 4, "four different runs"


@pytest.fixture(scope="module")
def dask_executor():
    """A Dask LocalCluster of two one-thread worker processes, for the module's Dask tests."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        yield client.get_executor()


@pytest.mark.slow
def test_a_sweep_on_a_dask_cluster_gives_the_serial_runs_bit_for_bit(serial_runs, dask_executor):
    assert sweep(train_network, _runs(), executor=dask_executor) == serial_runs


# --------------------------------------------------------------------------------------------
# Nothing finished is lost: failures, dead workers, time limits, Ctrl-C
# --------------------------------------------------------------------------------------------


def _square(i, fail=(), kill=(), hang=(), seconds=0.05):
    """i * i after a pause; raises for i in fail, kills its own process for i in kill, hangs
    for i in hang."""
    if i in fail:
        raise ValueError(f"task {i} fails on purpose")
    if i in kill:
        os.kill(os.getpid(), signal.SIGKILL)
    if i in hang:
        time.sleep(600)
    time.sleep(seconds)
    return i * i


def _kill_first_time(i, marker):
    """Kills its worker process the first time any task runs (the marker file records it)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return i
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("own", [True, False], ids=["own processes", "threads"])
def test_a_failing_task_is_named_with_its_index_arguments_and_traceback_and_the_rest_kept(own):
    arguments = [{"i": i, "fail": (3,)} for i in range(8)]
    with ThreadPoolExecutor(2) as threads:
        with pytest.raises(experiments.SweepError) as raised:
            sweep(_square, arguments, executor=None if own else threads)
    error = raised.value
    assert error.results == [i * i if i != 3 else None for i in range(8)], "results were lost"
    [failure] = error.failures
    assert (failure.index, failure.kind, failure.arguments) == (3, "raised", arguments[3])
    assert failure.error == "ValueError: task 3 fails on purpose"
    assert 'raise ValueError(f"task {i} fails on purpose")' in failure.traceback
    message = str(error)
    assert message.startswith("1 of 8 tasks of the sweep of _square failed; the 7 others finished")
    assert "task 3 (i=3, fail=(3,)) raised: ValueError: task 3 fails on purpose" in message
    assert "The traceback of task 3:" in message and "_square" in message.split("traceback")[-1]


def test_a_failing_task_is_reported_at_once_not_after_the_others(caplog):
    with caplog.at_level(logging.WARNING, logger="nndl.experiments"):
        iterator = experiments.iter_sweep(
            _square, [{"i": 0, "fail": (0,)}] + [{"i": i, "seconds": 0.5} for i in range(1, 7)],
            executor=ThreadPoolExecutor(2),
        )  # fmt: skip
        next(iterator)  # the first result: by then the failure of task 0 is logged
        assert "task 0 (i=0, fail=(0,)) raised: ValueError" in caplog.text
        with pytest.raises(experiments.SweepError):
            list(iterator)


def test_a_killed_worker_is_reported_by_its_task_and_the_others_run_on(tmp_path):
    with pytest.raises(experiments.SweepError) as raised:
        sweep(_square, [{"i": i, "kill": (2,)} for i in range(6)])
    error = raised.value
    assert error.results == [0, 1, None, 9, 16, 25]
    [failure] = error.failures
    assert (failure.index, failure.kind) == (2, "worker died")
    assert failure.error.startswith("its worker process was killed by SIGKILL")


def test_a_task_whose_worker_died_once_is_retried_when_asked(tmp_path):
    arguments = [{"i": i, "marker": str(tmp_path / "killed")} for i in range(5)]
    assert sweep(_kill_first_time, arguments, retries=1) == list(range(5))
    with pytest.raises(experiments.SweepError) as raised:
        sweep(_kill_first_time, [{**a, "marker": str(tmp_path / "again")} for a in arguments])
    [failure] = raised.value.failures
    assert raised.value.retry() == list(range(5)), "retry() did not finish the sweep"
    assert failure.kind == "worker died"


def test_a_process_pool_passed_in_that_breaks_fails_the_rest_which_retry_elsewhere():
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        with pytest.raises(experiments.SweepError) as raised:
            sweep(_square, [{"i": i, "kill": (3,)} for i in range(8)], executor=pool)
    error = raised.value
    kinds = {failure.index: failure.kind for failure in error.failures}
    assert kinds[3] == "worker died" and set(kinds.values()) <= {"worker died", "not run"}
    assert all(error.results[i] == i * i for i in error.finished) and len(error.finished) >= 2
    assert "pass a new one to .retry(executor=...)" in str(error)
    # Run again on a new pool: task 3 kills it again; the earlier results are kept, and
    # the failures keep the tasks' own indices.
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        with pytest.raises(experiments.SweepError) as again:
            error.retry(executor=pool)
    retried = again.value
    assert 3 in {failure.index for failure in retried.failures}
    assert set(retried.finished) >= set(error.finished)
    assert all(retried.results[i] == i * i for i in retried.finished)


def test_a_task_past_its_time_limit_is_stopped_and_the_others_finish():
    start = time.perf_counter()
    with pytest.raises(experiments.SweepError) as raised:
        sweep(_square, [{"i": i, "hang": (1,)} for i in range(5)], timeout=2)
    assert time.perf_counter() - start < 30, "the hung task held the sweep"
    error = raised.value
    assert error.results == [0, None, 4, 9, 16]
    [failure] = error.failures
    assert (failure.index, failure.kind, failure.error) == (
        1,
        "timed out",
        "still running after 2 s",
    )


def test_ctrl_c_starts_no_further_task_and_returns_what_finished():
    started = []

    def record(i):
        started.append(i)
        if i == 3 and started.count(3) == 1:
            _thread.interrupt_main()  # Ctrl-C, as the main thread receives it
        else:
            time.sleep(0.2)
        return i

    with ThreadPoolExecutor(2) as threads:
        with pytest.raises(experiments.SweepInterrupted) as raised:
            sweep(record, [{"i": i} for i in range(12)], executor=threads)
    interrupted = raised.value
    assert isinstance(interrupted, KeyboardInterrupt)
    assert max(started) <= 5, f"tasks {started} started, more than the workers could hold"
    assert interrupted.finished and all(interrupted.results[i] == i for i in interrupted.finished)
    assert "interrupted after" in str(interrupted) and ".retry()" in str(interrupted)
    with ThreadPoolExecutor(2) as threads:
        assert interrupted.retry(executor=threads) == list(range(12))


def test_sweep_results_can_be_kept_as_each_task_finishes():
    seen = []
    for index, result in experiments.iter_sweep(
        _square, [{"i": i, "seconds": 0.3 * (3 - i)} for i in range(4)],
        executor=ThreadPoolExecutor(4),
    ):  # fmt: skip
        seen.append(index)
        assert result == index * index
    assert seen == [3, 2, 1, 0], "results come in the order they finish"


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(timeout=0), ValueError, "timeout must be a finite number in \\(0, inf\\)"),
        (dict(retries=-1), ValueError, "retries must be an integer >= 0, got -1"),
        (dict(arguments=[{"i": 1}, 2]), TypeError, "arguments\\[1\\] must be a dict"),
    ],
)
def test_sweep_refuses_bad_options_naming_them(options, error, message):
    options = {"arguments": [{"i": 1}], **options}
    with pytest.raises(error, match=message):
        sweep(_square, executor=ThreadPoolExecutor(1), **options)


def test_a_progress_bar_counts_the_tasks_on_stderr(capsys):
    sweep(_square, [{"i": i} for i in range(3)], executor=ThreadPoolExecutor(1), progress=True)
    assert "3/3" in capsys.readouterr().err


@pytest.mark.slow
def test_a_failing_task_on_a_dask_cluster_is_named_and_the_others_kept(dask_executor):
    with pytest.raises(experiments.SweepError) as raised:
        sweep(_square, [{"i": i, "fail": (4,)} for i in range(6)], executor=dask_executor)
    error = raised.value
    assert error.results == [0, 1, 4, 9, None, 25]
    [failure] = error.failures
    assert (failure.index, failure.kind) == (4, "raised")
    assert failure.error == "ValueError: task 4 fails on purpose"
    assert "fails on purpose" in failure.traceback


@pytest.mark.slow
def test_a_hung_task_on_a_dask_cluster_times_out_and_the_others_finish(dask_executor):
    # The last of the module's Dask tests: the hung task keeps a worker thread for a while.
    with pytest.raises(experiments.SweepError) as raised:
        sweep(_square, [{"i": i, "hang": (1,)} for i in range(5)], executor=dask_executor,
              timeout=3)  # fmt: skip
    error = raised.value
    assert error.results == [0, None, 4, 9, 16]
    [failure] = error.failures
    assert (failure.index, failure.kind) == (1, "timed out")
