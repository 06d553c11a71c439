"""What chapters 14 and 15 share: the data as the part feeds it (pixels of unit variance), deep
ReLU networks with He initialisation, the full loss of a network, and one BLAS thread."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from nndl.arguments import require_int
from nndl.fc_net import FullyConnectedNet
from nndl.layers import softmax_loss


def one_blas_thread(function):
    """Run ``function`` with numpy's BLAS on one thread: the matrices are small, and a second
    thread only waits (as ``nndl.experiments.train_model`` does)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=4)
def unit_data(dataset: str, num_train: int | None = None, num_val: int | None = None) -> dict:
    """The first ``num_train`` training images of ``dataset`` (all when None) and the first
    ``num_val`` validation images (all when None), flattened, in float64, with the mean
    training image subtracted (as ``nndl.data`` loads them) and divided by one number, the
    standard deviation of the training pixels, so that every dataset feeds the network pixels
    of unit variance (the digits' raw standard deviation is about 6, Fashion-MNIST's 75).
    Read-only arrays; cached per process.

    Returns a dict with X_train (N, D), y_train (N,), X_val, y_val.
    """
    from nndl.data import load_dataset, load_training_subset

    if num_train is None:
        data = load_dataset(dataset, dtype=np.float64)
    else:
        data = load_training_subset(require_int("num_train", num_train), dataset, dtype=np.float64)
    num_val = len(data["y_val"]) if num_val is None else require_int("num_val", num_val)
    X_val = data["X_val"][:num_val]
    X_train = data["X_train"].reshape(len(data["y_train"]), -1)
    scale = X_train.std()
    out = {
        "X_train": X_train / scale,
        "y_train": np.asarray(data["y_train"]),
        "X_val": X_val.reshape(len(X_val), -1) / scale,
        "y_val": np.asarray(data["y_val"][:num_val]),
    }
    for array in out.values():
        array.flags.writeable = False
    return out


def he_network(input_dim: int, hidden_dims: Sequence[int], batchnorm: bool, seed, **options):
    """A float64 ``FullyConnectedNet`` of ReLU layers with He initialisation: each weight matrix
    drawn with standard deviation sqrt(2 / fan_in), biases 0 (and gamma 1, beta 0).

    Inputs:
    - seed: an int (fixed dropout masks) or a numpy Generator (new masks at every call)
    - options: more ``FullyConnectedNet`` options (``dropout``, ``reg``)
    """
    model = FullyConnectedNet(
        list(hidden_dims),
        input_dim=input_dim,
        num_classes=10,
        normalization="batchnorm" if batchnorm else None,
        weight_scale="he",
        dtype=np.float64,
        seed=seed,
        **options,
    )
    return model


def full_loss(model, X, y) -> float:
    """The softmax loss of ``model`` on all of (X, y), in test mode (batch norm's running
    averages, no dropout, no L2 penalty); inf when the scores are not finite."""
    with np.errstate(all="ignore"):
        scores = model.loss(X)
        if not np.all(np.isfinite(scores)):
            return math.inf
        loss, _ = softmax_loss(scores, y)
    return float(loss)


def accuracy(model, X, y) -> float:
    """The fraction of (X, y) that ``model`` classifies right, in test mode."""
    return float(np.mean(np.argmax(model.loss(X), axis=1) == y))
