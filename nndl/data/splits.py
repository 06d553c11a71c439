"""Cutting a dataset into training, validation and test splits as floats, mean image subtracted."""

from __future__ import annotations

import numpy as np

from nndl.arguments import require_int


def _mean_image(images, dtype):
    """The mean image, accumulated in float64 so that no digit of a 49,000-image sum is lost."""
    return images.mean(axis=0, dtype=np.float64).astype(dtype)


def _as_floats(images, dtype, mean_image=None):
    """images converted to dtype, minus mean_image if given, in one pass."""
    if mean_image is None:
        return images.astype(dtype)
    out = np.empty(images.shape, dtype)
    np.subtract(images, mean_image, out=out)
    return out


def _float_dtype(dtype):
    """dtype as a numpy floating dtype, checked before any image is loaded."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(
            f"dtype must be a floating-point type such as np.float32, got {dtype!r}"
        ) from error
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype}")
    return dtype


def _split_sizes(num_training, num_validation, num_test):
    """The three split sizes as ints, checked before any image is loaded."""
    return (
        require_int("num_training", num_training, minimum=1),
        require_int("num_validation", num_validation, minimum=0),
        require_int("num_test", num_test, minimum=0),
    )


def _make_splits(pool, test, sizes, subtract_mean, dtype, keep_train=None):
    """Cut train and validation from the pool and test from the test images, as float copies.

    Inputs:
    - pool: (images, labels) that training and validation images are taken from, in order.
    - test: (images, labels) that test images are taken from, in order.
    - sizes: (num_training, num_validation, num_test).
    - subtract_mean, dtype: as in get_CIFAR10_data.
    - keep_train: None, or return only the first `keep_train` training images and the
      validation split (no test split), as ``training_subset`` cuts them; the mean image is
      still that of all `num_training` images, and the images left out are never converted.

    Each split is converted to `dtype` once (from uint8 for CIFAR-10), and the mean training
    image subtracted in the same pass (in place, after the conversion, for float pools).
    """
    dtype = _float_dtype(dtype)
    (X_pool, y_pool), (X_test, y_test) = pool, test
    num_training, num_validation, num_test = sizes
    if num_training + num_validation > len(X_pool):
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation}, but only "
            f"{len(X_pool)} training images are available"
        )
    if num_test > len(X_test):
        raise ValueError(f"num_test = {num_test}, but only {len(X_test)} test images are available")
    if keep_train is not None and not 0 < keep_train <= num_training:
        raise ValueError(
            f"num_train must be in 1..{num_training} (the training images), got {keep_train}"
        )
    train, val = slice(0, num_training), slice(num_training, num_training + num_validation)
    images = {"train": X_pool[train], "val": X_pool[val], "test": X_test[:num_test]}
    labels = {"train": y_pool[train], "val": y_pool[val], "test": y_test[:num_test]}
    # Integer pixels (CIFAR-10's uint8) sum exactly in float64 in any order, so their mean is the
    # converted images' mean, and converting and subtracting it take one pass over each split.
    fused = subtract_mean and X_pool.dtype.kind in "iu"
    mean_image = _mean_image(images["train"], dtype) if fused else None
    # A float pool's mean is taken after the conversion, over all num_training images.
    mean_after = subtract_mean and not fused
    splits = ("train", "val", "test") if keep_train is None else ("train", "val")
    if keep_train is not None and not mean_after:
        # Convert only what is kept: for a big set, fresh memory is most of what a load costs.
        images["train"], labels["train"] = (
            images["train"][:keep_train],
            labels["train"][:keep_train],
        )
    data = {}
    for split in splits:
        data[f"X_{split}"] = _as_floats(images[split], dtype, mean_image)
        data[f"y_{split}"] = labels[split].astype(np.int64)
    if mean_after:
        mean_image = _mean_image(data["X_train"], dtype)
        for split in splits:
            data[f"X_{split}"] -= mean_image
        if keep_train is not None:
            data["X_train"], data["y_train"] = (
                data[k][:keep_train].copy() for k in ("X_train", "y_train")
            )
    return data
