"""CIFAR-10 in its official Python format (``cifar-10-batches-py``): the archive, its batches, and
the splits of the original assignment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.data.errors import DatasetError
from nndl.data.root import data_root
from nndl.data.safe_pickle import _load_pickle
from nndl.data.splits import _make_splits, _split_sizes


@dataclass(frozen=True)
class Archive:
    """A published archive: where to get it, how to verify it, and what a loader needs from it."""

    url: str
    md5: str
    size: int  # bytes
    folder: str  # the top-level folder it unpacks to
    members: tuple[str, ...]  # the files in `folder` that the loader reads

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10 = Archive(
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    size=170_498_071,
    folder="cifar-10-batches-py",
    members=(*CIFAR10_TRAIN_BATCHES, "test_batch", "batches.meta"),
)


def load_CIFAR_batch(filename):
    """Load one batch file of CIFAR-10's official Python format.

    A batch is a pickled dict with bytes keys: b'data' is a uint8 array of shape (N, 3072) whose
    rows hold one image's red, green and blue 32x32 planes one after the other, and b'labels' is a
    list of N class indices in 0..9 (N = 10,000 in the official files).

    Inputs:
    - filename: path of a batch (data_batch_1 ... data_batch_5 or test_batch).

    Returns a tuple of:
    - X: uint8 array of shape (N, 3, 32, 32); each row's three planes become the channel axis.
    - y: int64 array of shape (N,).

    Raises DatasetError naming the file if it is missing, truncated, unsafe or laid out otherwise.
    """
    batch = _load_pickle(filename)

    def wrong(what):
        return DatasetError(f"{filename}: {what}; this is not a CIFAR-10 batch")

    if not isinstance(batch, dict):
        raise wrong(f"holds a {type(batch).__name__}, expected a dict")
    missing = [key for key in (b"data", b"labels") if key not in batch]
    if missing:
        found = ", ".join(sorted(map(repr, batch)))
        raise wrong(f"lacks the key(s) {', '.join(map(repr, missing))} (its keys: {found})")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2):
        raise wrong(f"b'data' is {_describe(data)}, expected a uint8 array of shape (N, 3072)")
    if data.shape[1] != 3 * 32 * 32:
        raise wrong(f"b'data' has shape {data.shape}, expected (N, 3072): N images of 3x32x32")
    if labels.shape != (len(data),):
        raise wrong(f"b'labels' has shape {labels.shape} for {len(data)} images")
    if labels.dtype.kind not in "iu" or not np.all((labels >= 0) & (labels < 10)):
        raise wrong("b'labels' must hold class indices, integers in 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def load_CIFAR10(cifar10_dir):
    """Load all of CIFAR-10 from the official ``cifar-10-batches-py`` folder.

    Inputs:
    - cifar10_dir: the folder holding data_batch_1 ... data_batch_5 and test_batch.

    Returns a tuple of:
    - X_train: uint8 array of shape (50000, 3, 32, 32), the five training batches in order.
    - y_train: int64 array of shape (50000,).
    - X_test: uint8 array of shape (10000, 3, 32, 32).
    - y_test: int64 array of shape (10000,).
    """
    X_train, y_train = _load_batches(cifar10_dir, CIFAR10_TRAIN_BATCHES)
    X_test, y_test = _load_batches(cifar10_dir, ("test_batch",))
    return X_train, y_train, X_test, y_test


def _load_batches(cifar10_dir, names):
    """The images and labels of the batches `names` in the folder, one after the other."""
    folder = Path(cifar10_dir)
    if not folder.is_dir():
        raise DatasetError(
            f"no CIFAR-10 folder at {folder}; run `nndl data fetch cifar10`, or point NNDL_DATA "
            f"at the directory that holds {CIFAR10.folder}/"
        )
    batches = [load_CIFAR_batch(folder / name) for name in names]
    if len(batches) == 1:
        return batches[0]
    return np.concatenate([X for X, _ in batches]), np.concatenate([y for _, y in batches])


def get_CIFAR10_data(
    num_training=49000,
    num_validation=1000,
    num_test=1000,
    subtract_mean=True,
    dtype=np.float32,
    root=None,
    *,
    keep_train=None,
):
    """Load CIFAR-10 and cut it into the splits of the original assignment.

    Training images are the first `num_training` of the five training batches, validation images
    the next `num_validation` (49,000..49,999 by default), test images the first `num_test` of
    test_batch. The pixels (0..255) are converted to `dtype` once per split and the mean
    training image is subtracted in place, so the set never exists as a float64 copy.

    Inputs:
    - num_training, num_validation, num_test: split sizes.
    - subtract_mean: subtract the mean training image from every split.
    - dtype: floating dtype of the images.
    - root: data root holding cifar-10-batches-py/ (default: $NNDL_DATA, else the user cache).
    - keep_train: None, or return only the first `keep_train` training images with the validation
      split, as ``training_subset`` cuts them (the mean image still that of all `num_training`),
      without converting or even reading the rest: ``load_training_subset`` uses it.

    Returns a dict with X_train (num_training, 3, 32, 32), y_train (num_training,), X_val, y_val,
    X_test and y_test shaped alike; images in `dtype`, labels int64 in 0..9.
    """
    sizes = _split_sizes(num_training, num_validation, num_test)
    folder = data_root(root) / CIFAR10.folder
    X_train, y_train = _load_batches(folder, CIFAR10_TRAIN_BATCHES)
    if keep_train is None:
        test = _load_batches(folder, ("test_batch",))
    else:
        test = (X_train[:0], y_train[:0])  # not returned; nothing to read
        sizes = (*sizes[:2], 0)
    splits = _make_splits((X_train, y_train), test, sizes, subtract_mean, dtype, keep_train)
    return splits
