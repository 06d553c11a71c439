"""Datasets: CIFAR-10 in its official Python format, Fashion-MNIST in its published IDX files, and
8x8 handwritten digits that work offline.

Every loader returns the dict that ``Solver(model, data)`` expects::

    {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}

with images of shape (N, C, H, W) in a floating dtype, the mean training image subtracted from
every split, and int64 labels. ``load_dataset()`` chooses the dataset for everything (chapters,
demos, command line): its argument, else the ``NNDL_DATASET`` environment variable, else
``"digits"``, which ships inside scikit-learn and needs no download.

CIFAR-10 is fetched once with ``nndl data fetch cifar10`` into the data root: ``--root``, else the
``NNDL_DATA`` environment variable, else the user cache directory. Its batches are pickles, and
loading a pickle can run any code it names, so they are read with an unpickler that can rebuild
numpy arrays and nothing else. Fashion-MNIST is read from Debian's package when installed
(``apt-get install dataset-fashion-mnist``), else fetched with ``nndl data fetch fashion-mnist``;
its IDX files are verified against the published md5s and parsed without trusting their headers.

One module per job: ``select`` (the switch), ``cifar10``, ``fashion_mnist`` and ``digits`` (the
loaders), ``splits`` (cutting and converting), ``safe_pickle``, ``root`` (where data lives) and
``fetch`` (download, verify, unpack, and the ``nndl data`` command line).
"""

from nndl.data.cifar10 import (
    CIFAR10,
    CIFAR10_TRAIN_BATCHES,
    Archive,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from nndl.data.digits import get_digits_data
from nndl.data.errors import DatasetError, UnsafePickleError
from nndl.data.fashion_mnist import fetch_fashion_mnist, get_fashion_mnist_data, read_idx
from nndl.data.fetch import fetch_cifar10, register_cli
from nndl.data.root import data_root
from nndl.data.select import (
    DATASETS,
    load_dataset,
    load_training_subset,
    selected_dataset,
    training_subset,
)

__all__ = [
    "CIFAR10",
    "CIFAR10_TRAIN_BATCHES",
    "DATASETS",
    "Archive",
    "DatasetError",
    "UnsafePickleError",
    "data_root",
    "fetch_cifar10",
    "fetch_fashion_mnist",
    "get_CIFAR10_data",
    "get_digits_data",
    "get_fashion_mnist_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
    "load_dataset",
    "load_training_subset",
    "read_idx",
    "register_cli",
    "selected_dataset",
    "training_subset",
]
