"""scikit-learn's 8x8 handwritten digits, split like CIFAR-10: the dataset that works offline."""

from __future__ import annotations

import numpy as np

from nndl.arguments import make_rng
from nndl.data.errors import _import_optional
from nndl.data.splits import _make_splits, _split_sizes


def get_digits_data(
    num_training=1197,
    num_validation=300,
    num_test=300,
    subtract_mean=True,
    dtype=np.float32,
    seed=0,
    *,
    keep_train=None,
):
    """scikit-learn's 1,797 handwritten digits (real 8x8 scans, no download), split like CIFAR-10.

    The images are shuffled once with `seed`; training images are the first `num_training` of
    that order, validation the next `num_validation`, test the next `num_test`. Pixels are grey
    levels 0..16; the mean training image is subtracted from every split.

    Inputs:
    - num_training, num_validation, num_test: split sizes (at most 1,797 in all).
    - subtract_mean: subtract the mean training image from every split.
    - dtype: floating dtype of the images.
    - seed: seed of the shuffle; the same seed always gives the same split.
    - keep_train: as in get_CIFAR10_data (only the first `keep_train` training images and the
      validation split).

    Returns a dict with X_train (num_training, 1, 8, 8), y_train (num_training,), X_val, y_val,
    X_test and y_test shaped alike; images in `dtype`, labels int64 in 0..9.
    """
    num_training, num_validation, num_test = _split_sizes(num_training, num_validation, num_test)
    images, labels = _import_optional("sklearn.datasets").load_digits(return_X_y=True)
    rng = np.random.default_rng() if seed is None else make_rng("seed", seed)
    order = rng.permutation(len(labels))
    images, labels = images[order].reshape(-1, 1, 8, 8), labels[order]
    held_out = num_training + num_validation
    test = (images[held_out:], labels[held_out:])
    sizes = (num_training, num_validation, num_test)
    return _make_splits((images, labels), test, sizes, subtract_mean, dtype, keep_train)
