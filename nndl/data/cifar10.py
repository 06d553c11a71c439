"""CIFAR-10 in its official Python format (``cifar-10-batches-py``): the archive, its batches, and
the splits of the original assignment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.data.errors import DatasetError
from nndl.data.root import data_root
from nndl.data.safe_pickle import _load_pickle
from nndl.data.splits import _as_floats, _float_dtype, _make_splits, _split_sizes
from nndl.paths import file_in_the_way


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
    """The images and labels of the batches `names` in the folder, one after the other. The
    training batches must each hold the number of images batches.meta gives (10,000 in the
    official files): a batch cut short but still a valid pickle would shift every image after
    it, the validation split too."""
    folder = _cifar10_folder(cifar10_dir)
    per_batch = _images_per_batch(folder)
    batches = []
    for name in names:
        X, y = load_CIFAR_batch(folder / name)
        if name in CIFAR10_TRAIN_BATCHES:
            per_batch = _check_count(folder / name, len(X), per_batch)
        batches.append((X, y))
    if len(batches) == 1:
        return batches[0]
    return np.concatenate([X for X, _ in batches]), np.concatenate([y for _, y in batches])


def _cifar10_folder(cifar10_dir):
    folder = Path(cifar10_dir)
    if folder.exists() and not folder.is_dir():
        raise DatasetError(
            f"{folder} is a file, where the CIFAR-10 folder should be; remove it and run `nndl "
            "data fetch cifar10`, or point NNDL_DATA at another directory"
        )
    blocker = file_in_the_way(folder)
    if blocker is not None:
        raise DatasetError(
            f"{blocker} is a file, where a folder should be (on the way to the CIFAR-10 folder "
            f"{folder}); point NNDL_DATA (or --root) at a directory"
        )
    if not folder.is_dir():
        raise DatasetError(
            f"no CIFAR-10 folder at {folder}; run `nndl data fetch cifar10`, or point NNDL_DATA "
            f"at the directory that holds {CIFAR10.folder}/"
        )
    return folder


def _images_per_batch(folder):
    """The images in each training batch, as batches.meta says (None if it is absent)."""
    meta = folder / "batches.meta"
    if not meta.exists():
        return None
    count = _load_pickle(meta).get(b"num_cases_per_batch") if meta.is_file() else None
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise DatasetError(
            f"{meta}: b'num_cases_per_batch' is {count!r}, expected a positive count; this is "
            "not CIFAR-10's batches.meta, fetch CIFAR-10 again"
        )
    return count


def _check_count(path, count, per_batch):
    """per_batch (the first batch's count if batches.meta gave none), once count matches it."""
    if per_batch is not None and count != per_batch:
        raise DatasetError(
            f"{path}: holds {count:,} images, but every training batch holds {per_batch:,} "
            "(batches.meta): the file is truncated or not the official one, and the images "
            "after it would shift; fetch CIFAR-10 again (nndl data fetch cifar10)"
        )
    return count


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
      converting nothing else and holding one batch at a time; without subtract_mean, only the
      batches that hold those images are read. ``load_training_subset`` uses it.

    Returns a dict with X_train (num_training, 3, 32, 32), y_train (num_training,), X_val, y_val,
    X_test and y_test shaped alike; images in `dtype`, labels int64 in 0..9.
    """
    sizes = _split_sizes(num_training, num_validation, num_test)
    dtype = _float_dtype(dtype)
    folder = _cifar10_folder(data_root(root) / CIFAR10.folder)
    if keep_train is not None:
        return _training_subset(folder, sizes, subtract_mean, dtype, keep_train)
    X_train, y_train = _load_batches(folder, CIFAR10_TRAIN_BATCHES)
    test = _load_batches(folder, ("test_batch",))
    return _make_splits((X_train, y_train), test, sizes, subtract_mean, dtype)


def _training_subset(folder, sizes, subtract_mean, dtype, keep_train):
    """get_CIFAR10_data(keep_train=...), bit for bit, reading one batch at a time: the first
    keep_train training images and the validation split are kept, the mean of all num_training
    is summed (exactly: integer pixels) on the way; no batch is read that holds none of them."""
    num_training, num_validation, _ = sizes
    if not 0 < keep_train <= num_training:
        raise ValueError(
            f"num_train must be in 1..{num_training} (the training images), got {keep_train}"
        )
    needed = num_training + num_validation
    per_batch = _images_per_batch(folder)
    if per_batch is not None and needed > per_batch * len(CIFAR10_TRAIN_BATCHES):
        raise ValueError(
            f"num_training + num_validation = {needed}, but only "
            f"{per_batch * len(CIFAR10_TRAIN_BATCHES)} training images are available"
        )
    wanted = {"train": (0, keep_train), "val": (num_training, needed)}
    kept = {split: ([], []) for split in wanted}
    total = np.zeros((3, 32, 32), np.float64) if subtract_mean else None
    start = 0
    for name in CIFAR10_TRAIN_BATCHES:
        if start >= needed:
            break
        if (
            per_batch is not None
            and not subtract_mean
            and not any(
                start < stop and first < start + per_batch for first, stop in wanted.values()
            )
        ):
            start += per_batch  # holds none of the images kept: not read
            continue
        X, y = load_CIFAR_batch(folder / name)
        per_batch = _check_count(folder / name, len(X), per_batch)
        if subtract_mean and start < num_training:
            total += X[: num_training - start].sum(axis=0, dtype=np.float64)
        for split, (first, stop) in wanted.items():
            part = slice(max(first - start, 0), max(min(stop - start, len(X)), 0))
            kept[split][0].append(X[part].copy())  # copies: a view would keep the whole batch
            kept[split][1].append(y[part].copy())
        start += len(X)
        del X, y  # before the next batch is read
    if start < needed:
        raise ValueError(
            f"num_training + num_validation = {needed}, but only {start} training images are "
            "available"
        )
    # The same float64 sum, divided as np.mean divides it: the full load's mean, bit for bit.
    mean_image = (total / num_training).astype(dtype) if subtract_mean else None
    data = {}
    for split, (images, labels) in kept.items():
        data[f"X_{split}"] = _as_floats(np.concatenate(images), dtype, mean_image)
        data[f"y_{split}"] = np.concatenate(labels).astype(np.int64)
    return data
