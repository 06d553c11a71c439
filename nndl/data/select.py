"""Choosing the dataset (argument, else ``$NNDL_DATASET``, else the digits) and cutting the
original experiments' small training problem from it."""

from __future__ import annotations

import os

from nndl.arguments import require_int
from nndl.data.cifar10 import get_CIFAR10_data
from nndl.data.digits import get_digits_data
from nndl.data.fashion_mnist import get_fashion_mnist_data

DATASETS = {
    "digits": get_digits_data,
    "cifar10": get_CIFAR10_data,
    "fashion-mnist": get_fashion_mnist_data,
}


def selected_dataset(name=None):
    """The name of the dataset in force: `name`, else $NNDL_DATASET, else "digits"."""
    chosen = name if name is not None else os.environ.get("NNDL_DATASET") or "digits"
    if chosen not in DATASETS:
        origin = "" if name is not None else " (from the NNDL_DATASET environment variable)"
        raise ValueError(
            f"unknown dataset {chosen!r}{origin}; choose one of: {', '.join(DATASETS)}"
        )
    return chosen


def load_dataset(name=None, **kwargs):
    """Load the dataset that `name` or $NNDL_DATASET selects ("digits" when neither is set).

    Inputs:
    - name: "digits", "cifar10" or "fashion-mnist", or None to use $NNDL_DATASET.
    - kwargs: passed to get_digits_data, get_CIFAR10_data or get_fashion_mnist_data (split
      sizes, subtract_mean, dtype).

    Returns the dict X_train, y_train, X_val, y_val, X_test, y_test of that dataset.
    """
    return DATASETS[selected_dataset(name)](**kwargs)


def training_subset(data, num_train):
    """The first `num_train` training images with the whole validation split: the small problem
    of the original experiments (1,000 images), ready for `Solver(model, subset)`.

    Unlike `load_dataset(num_training=...)`, the images keep the mean of the full training set
    subtracted, as in the original notebook. The arrays are views, not copies.
    """
    keys = ("X_train", "y_train", "X_val", "y_val")
    if not isinstance(data, dict) or any(key not in data for key in keys):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise TypeError(f"data must be a dict with keys {list(keys)}, got {got}")
    num_train = require_int("num_train", num_train)
    if not 0 < num_train <= len(data["y_train"]):
        raise ValueError(
            f"num_train must be in 1..{len(data['y_train'])} (the training images), got {num_train}"
        )
    return {
        "X_train": data["X_train"][:num_train],
        "y_train": data["y_train"][:num_train],
        "X_val": data["X_val"],
        "y_val": data["y_val"],
    }


def load_training_subset(num_train, name=None, **kwargs):
    """``training_subset(load_dataset(name, **kwargs), num_train)``, without converting (or, for
    CIFAR-10, reading) the images it would leave out: the same arrays, bit for bit, from a
    fraction of the memory and time (for CIFAR-10's 1,000-image subset, 2,000 images are
    converted instead of 50,000).
    """
    loader = DATASETS[selected_dataset(name)]
    num_train = require_int("num_train", num_train)
    return loader(**kwargs, keep_train=num_train)
