"""The seed's weight-scale sweep, nndl vs a plain serial CS231n-style NumPy solution.

    python benchmarks/bench_sweep.py [--dataset auto|cifar10|digits] [--repeats 3] [--dtype float32]

The sweep is the original notebook's: the 7 x 50 network, with and without batch norm, at 20
weight scales in logspace(-4, 0) (40 trainings), each on 1,000 training images with Adam
(learning rate 1e-3), batches of 50, 10 epochs, accuracies after the first iteration and after
every epoch. nndl runs it with ``sweep(train_network, ...)`` (two processes, numpy's BLAS on one
thread each); the reference runs the same 40 trainings one after the other in this process with
the plain code below, written as a CS231n student would (a loop over layers with one matmul each,
batch norm, ReLU, softmax, Adam per parameter, the Solver's loop and check_accuracy), in the
same dtype as nndl's networks (``--dtype``, float32 by default as in the seed), BLAS on one
thread. The data is CIFAR-10 when ``load_training_subset(1000, "cifar10")`` finds it
(``NNDL_DATA``), the digits otherwise.

The issue's targets: the sweep at most 0.45x the serial plain run, and one training (the batch-norm
network, timed alone, best of ``--repeats``) at most 0.9x the plain one. Both are wall-clock
times; the CPU times (of this process and of the sweep's worker processes) are printed beside
them, because on a machine that other processes load, the wall clock measures the load.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from threadpoolctl import threadpool_limits

from nndl.data import DatasetError, load_training_subset
from nndl.experiments import sweep, train_network

HIDDEN_DIMS = [50] * 7
WEIGHT_SCALES = np.logspace(-4, 0, num=20)
NUM_TRAIN = 1000
SETTINGS = dict(num_epochs=10, batch_size=50, learning_rate=1e-3)
EPS, MOMENTUM = 1e-5, 0.9  # batch norm's defaults in CS231n


# The plain reference ----------------------------------------------------------------------------


def plain_init(dims, weight_scale, use_batchnorm, rng, dtype):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = (weight_scale * rng.standard_normal((fan_in, fan_out))).astype(dtype)
        params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
        if use_batchnorm and i < len(dims) - 1:
            params[f"gamma{i}"] = np.ones(fan_out, dtype=dtype)
            params[f"beta{i}"] = np.zeros(fan_out, dtype=dtype)
    return params


def plain_loss(params, bn_params, num_layers, use_batchnorm, X, y=None):
    """Scores (y is None, test mode) or (loss, grads): the CS231n FullyConnectedNet.loss."""
    h = X.reshape(X.shape[0], -1)
    caches = []
    for i in range(1, num_layers):
        a = h @ params[f"W{i}"] + params[f"b{i}"]
        xhat = std = None
        if use_batchnorm:
            bn = bn_params[i - 1]
            if y is None:
                a = (a - bn["running_mean"]) / np.sqrt(bn["running_var"] + EPS)
            else:
                mean, var = a.mean(axis=0), a.var(axis=0)
                std = np.sqrt(var + EPS)
                xhat = (a - mean) / std
                bn["running_mean"] = MOMENTUM * bn["running_mean"] + (1 - MOMENTUM) * mean
                bn["running_var"] = MOMENTUM * bn["running_var"] + (1 - MOMENTUM) * var
                a = xhat
            a = params[f"gamma{i}"] * a + params[f"beta{i}"]
        out = np.maximum(0, a)
        caches.append((h, xhat, std, out))
        h = out
    scores = h @ params[f"W{num_layers}"] + params[f"b{num_layers}"]
    if y is None:
        return scores

    N = X.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N

    grads = {}
    grads[f"W{num_layers}"] = h.T @ dscores
    grads[f"b{num_layers}"] = dscores.sum(axis=0)
    dh = dscores @ params[f"W{num_layers}"].T
    for i in range(num_layers - 1, 0, -1):
        h_in, xhat, std, out = caches[i - 1]
        da = dh * (out > 0)
        if use_batchnorm:
            grads[f"gamma{i}"] = (da * xhat).sum(axis=0)
            grads[f"beta{i}"] = da.sum(axis=0)
            dxhat = da * params[f"gamma{i}"]
            da = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
        grads[f"W{i}"] = h_in.T @ da
        grads[f"b{i}"] = da.sum(axis=0)
        dh = da @ params[f"W{i}"].T
    return loss, grads


def plain_adam(w, dw, config):
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    beta1, beta2, t = config["beta1"], config["beta2"], config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w, config


def plain_accuracy(predict, X, y, rng, num_samples=None, batch_size=100):
    N = X.shape[0]
    if num_samples is not None and N > num_samples:
        subset = rng.choice(N, num_samples, replace=False)
        X, y, N = X[subset], y[subset], num_samples
    y_pred = [np.argmax(predict(X[i : i + batch_size]), axis=1) for i in range(0, N, batch_size)]
    return float(np.mean(np.hstack(y_pred) == y))


def plain_train(data, hidden_dims, weight_scale, use_batchnorm, *, num_epochs, batch_size,
                learning_rate, seed=0, dtype=np.float32):  # fmt: skip
    """The CS231n Solver's loop around the plain network; returns (train_acc, val_acc) histories."""
    rng = np.random.default_rng(seed)
    X_train, y_train, X_val, y_val = (data[k] for k in ("X_train", "y_train", "X_val", "y_val"))
    num_classes = int(max(y_train.max(), y_val.max())) + 1
    dims = [X_train[0].size, *hidden_dims, num_classes]
    num_layers = len(dims) - 1
    params = plain_init(dims, weight_scale, use_batchnorm, rng, dtype)
    bn_params = [
        {"running_mean": np.zeros(d, dtype), "running_var": np.zeros(d, dtype)} for d in hidden_dims
    ]
    configs = {name: {"learning_rate": learning_rate} for name in params}

    def predict(X):
        return plain_loss(params, bn_params, num_layers, use_batchnorm, X)

    N = X_train.shape[0]
    iterations_per_epoch = max(N // batch_size, 1)
    train_acc, val_acc, best_val, best_params = [], [], -1.0, {}
    for it in range(num_epochs * iterations_per_epoch):
        batch = rng.choice(N, batch_size)
        _, grads = plain_loss(
            params, bn_params, num_layers, use_batchnorm, X_train[batch], y_train[batch]
        )
        for name in params:
            params[name], configs[name] = plain_adam(params[name], grads[name], configs[name])
        if it == 0 or (it + 1) % iterations_per_epoch == 0:
            train_acc.append(plain_accuracy(predict, X_train, y_train, rng, num_samples=1000))
            val_acc.append(plain_accuracy(predict, X_val, y_val, rng))
            if val_acc[-1] > best_val:
                best_val = val_acc[-1]
                best_params = {name: w.copy() for name, w in params.items()}
    params.update(best_params)
    return train_acc, val_acc


# Timing -------------------------------------------------------------------------------------------


def sweep_arguments(data, dtype):
    return [
        dict(
            data=data,
            hidden_dims=HIDDEN_DIMS,
            weight_scale=float(scale),
            use_batchnorm=use_batchnorm,
            dtype=dtype,
            **SETTINGS,
        )
        for use_batchnorm in (True, False)
        for scale in WEIGHT_SCALES
    ]


def seconds(function, *args, **kwargs):
    """(wall seconds, CPU seconds of this process and of its finished children, result)."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, _cpu_seconds() - cpu, result


def _cpu_seconds():
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load(dataset):
    """(name, the first NUM_TRAIN training images with the validation split) of the dataset."""
    if dataset in ("auto", "cifar10"):
        try:
            return "cifar10", load_training_subset(NUM_TRAIN, "cifar10")
        except DatasetError as error:
            if dataset == "cifar10":
                raise
            print(f"CIFAR-10 not available ({str(error).splitlines()[0]}): using the digits\n")
    return "digits", load_training_subset(NUM_TRAIN, "digits")


def main(argv=None):
    # Imported here, not at the top: the sweep's worker processes (started with "spawn") import
    # this module again, and benchtools would load torch into each of them, over a second of CPU
    # before its first task that the sweep's time would count against nndl.
    from benchtools import Target, print_conditions, print_ratios

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["auto", "cifar10", "digits"], default="auto")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings of one training, best taken (default 3)"
    )
    parser.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default="float32",
        help="the networks' dtype, both sides (default float32, the seed's network's)",
    )
    args = parser.parse_args(argv)
    dtype = np.dtype(args.dtype).type
    name, data = load(args.dataset)
    print_conditions(
        f"weight-scale sweep, 40 trainings of the 7 x 50 net on {NUM_TRAIN} {name} images, "
        f"Adam 1e-3, batch 50, 10 epochs, {args.dtype}"
    )

    one = dict(
        data=data, hidden_dims=HIDDEN_DIMS, weight_scale=1e-2, use_batchnorm=True, dtype=dtype
    )
    nndl_one, plain_one = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(args.repeats):  # interleaved, so that a burst of load hits both
            nndl_one.append(seconds(train_network, **one, **SETTINGS)[:2])
            plain_one.append(seconds(plain_train, **one, **SETTINGS)[:2])
    (nndl_wall, nndl_cpu), (plain_wall, plain_cpu) = (
        [min(times) for times in zip(*runs)] for runs in (nndl_one, plain_one)
    )
    print(f"one training, nndl : best {nndl_wall:6.2f} s wall, {nndl_cpu:6.2f} s CPU")
    print(f"one training, plain: best {plain_wall:6.2f} s wall, {plain_cpu:6.2f} s CPU")

    # Both have the arrays at hand: nndl's sweep sends them to each of its two workers once,
    # when it starts (that is timed); the plain run reads them here.
    nndl_time, nndl_sweep_cpu, runs = seconds(sweep, train_network, sweep_arguments(data, dtype))
    with threadpool_limits(limits=1, user_api="blas"):
        plain_time, plain_sweep_cpu, plain_runs = seconds(
            lambda: [plain_train(**a) for a in sweep_arguments(data, dtype)]
        )
    print(f"sweep, nndl (2 processes): {nndl_time:6.2f} s wall, {nndl_sweep_cpu:6.2f} s CPU")
    print(f"sweep, plain (serial)    : {plain_time:6.2f} s wall, {plain_sweep_cpu:6.2f} s CPU")
    # Not the same numbers (other generators, other arithmetic), but the same experiment.
    nndl_best = np.mean([run.best_val_acc for run in runs])
    plain_best = np.mean([max(val) for _, val in plain_runs])
    print(f"mean best validation accuracy: nndl {nndl_best:.3f}, plain {plain_best:.3f}")
    print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")

    print_ratios(
        [
            Target("sweep nndl (2 processes) / plain serial", nndl_time / plain_time, 0.45, False),
            Target("one training nndl / plain", nndl_wall / plain_wall, 0.9, False),
        ],
        [
            ("one training nndl / plain, CPU time", nndl_cpu / plain_cpu),
            ("sweep nndl / plain serial, CPU time", nndl_sweep_cpu / plain_sweep_cpu),
        ],
    )


if __name__ == "__main__":
    main()
