"""Datasets: CIFAR-10 in its official Python format, and 8x8 handwritten digits that work offline.

Every loader returns the dict that ``Solver(model, data)`` expects::

    {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"}

with images of shape (N, C, H, W) in a floating dtype, the mean training image subtracted from
every split, and int64 labels. ``load_dataset()`` chooses the dataset for everything (chapters,
demos, command line): its argument, else the ``NNDL_DATASET`` environment variable, else
``"digits"``, which ships inside scikit-learn and needs no download.

CIFAR-10 is fetched once with ``nndl data fetch cifar10`` into the data root: ``--root``, else the
``NNDL_DATA`` environment variable, else the user cache directory. Its batches are pickles, and
loading a pickle can run any code it names, so they are read with an unpickler that can rebuild
numpy arrays and nothing else.
"""

from __future__ import annotations

import importlib
import os
import pickle
import posixpath
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.arguments import make_rng, require_int


class DatasetError(Exception):
    """A data file or archive is missing, corrupt, unsafe or could not be fetched.

    The message names the file, says what was wrong and, where it can, what to do about it.
    """


class UnsafePickleError(DatasetError):
    """A pickle asked for a function or class that a CIFAR-10 batch never needs."""


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


# ------------------------------------------------------------------------------------------------
# Safe unpickling
# ------------------------------------------------------------------------------------------------


def _latin1_bytes(text, encoding):
    """Rebuild a bytes object the way Python 3 pickles bytes at protocol 2.

    Protocol 2 has no opcode for bytes, so Python 3 writes ``_codecs.encode(text, "latin1")``.
    Only that exact call is honoured: any other codec is not part of the format.
    """
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError(
            f"refused _codecs.encode({type(text).__name__}, {encoding!r}): bytes are rebuilt "
            "from a str with the 'latin1' codec only"
        )
    return text.encode("latin1")


# The function numpy pickles its arrays with. Python 2 and numpy 1 files name it
# numpy.core.multiarray._reconstruct, numpy 2 files numpy._core.multiarray._reconstruct.
_reconstruct = np.empty(0).__reduce__()[0]

# Everything the official format needs (a dict of bytes, lists of ints and uint8 arrays); all
# containers and numbers have their own opcodes and never pass through find_class.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the names in ``_ALLOWED_GLOBALS``.

    A pickle runs code by naming a callable (``os.system``, ``builtins.eval``...) that
    ``find_class`` looks up; refusing every other name means its payload is never even imported.
    """

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to load {module}.{name}: a CIFAR-10 batch holds only numpy arrays, "
                "lists and bytes, and a pickle that calls anything else could run arbitrary code"
            ) from None


def _load_pickle(path):
    """Unpickle `path` with the restricted unpickler; errors name the file.

    The official batches were written by Python 2, whose byte strings must stay bytes
    (``encoding="bytes"``): the keys are b'data', b'labels', ...
    """
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: no such file; run `nndl data fetch cifar10` to download CIFAR-10"
        ) from None
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: {err}") from None
    except Exception as err:  # any failure to parse means the bytes are not a whole pickle
        raise DatasetError(
            f"{path}: not a complete pickle ({type(err).__name__}: {err}); the file is truncated "
            "or corrupt, fetch it again"
        ) from err


# ------------------------------------------------------------------------------------------------
# CIFAR-10
# ------------------------------------------------------------------------------------------------


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
    folder = Path(cifar10_dir)
    if not folder.is_dir():
        raise DatasetError(
            f"no CIFAR-10 folder at {folder}; run `nndl data fetch cifar10`, or point NNDL_DATA "
            f"at the directory that holds {CIFAR10.folder}/"
        )
    train = [load_CIFAR_batch(folder / name) for name in CIFAR10_TRAIN_BATCHES]
    X_train = np.concatenate([X for X, _ in train])
    y_train = np.concatenate([y for _, y in train])
    X_test, y_test = load_CIFAR_batch(folder / "test_batch")
    return X_train, y_train, X_test, y_test


def get_CIFAR10_data(
    num_training=49000,
    num_validation=1000,
    num_test=1000,
    subtract_mean=True,
    dtype=np.float32,
    root=None,
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

    Returns a dict with X_train (num_training, 3, 32, 32), y_train (num_training,), X_val, y_val,
    X_test and y_test shaped alike; images in `dtype`, labels int64 in 0..9.
    """
    sizes = _split_sizes(num_training, num_validation, num_test)
    X_train, y_train, X_test, y_test = load_CIFAR10(data_root(root) / CIFAR10.folder)
    return _make_splits((X_train, y_train), (X_test, y_test), sizes, subtract_mean, dtype)


# ------------------------------------------------------------------------------------------------
# 8x8 digits, embedded in scikit-learn
# ------------------------------------------------------------------------------------------------


def get_digits_data(
    num_training=1197,
    num_validation=300,
    num_test=300,
    subtract_mean=True,
    dtype=np.float32,
    seed=0,
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
    return _make_splits((images, labels), test, sizes, subtract_mean, dtype)


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


def _split_sizes(num_training, num_validation, num_test):
    """The three split sizes as ints, checked before any image is loaded."""
    return (
        require_int("num_training", num_training, minimum=1),
        require_int("num_validation", num_validation, minimum=0),
        require_int("num_test", num_test, minimum=0),
    )


def _make_splits(pool, test, sizes, subtract_mean, dtype):
    """Cut train and validation from the pool and test from the test images, as float copies.

    Inputs:
    - pool: (images, labels) that training and validation images are taken from, in order.
    - test: (images, labels) that test images are taken from, in order.
    - sizes: (num_training, num_validation, num_test).
    - subtract_mean, dtype: as in get_CIFAR10_data.

    Each split is converted to `dtype` once (from uint8 for CIFAR-10), and the mean training
    image subtracted in the same pass (in place, after the conversion, for float pools).
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(
            f"dtype must be a floating-point type such as np.float32, got {dtype!r}"
        ) from error
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype}")
    (X_pool, y_pool), (X_test, y_test) = pool, test
    num_training, num_validation, num_test = sizes
    if num_training + num_validation > len(X_pool):
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation}, but only "
            f"{len(X_pool)} training images are available"
        )
    if num_test > len(X_test):
        raise ValueError(f"num_test = {num_test}, but only {len(X_test)} test images are available")
    train, val = slice(0, num_training), slice(num_training, num_training + num_validation)
    images = {"train": X_pool[train], "val": X_pool[val], "test": X_test[:num_test]}
    labels = {"train": y_pool[train], "val": y_pool[val], "test": y_test[:num_test]}
    # Integer pixels (CIFAR-10's uint8) sum exactly in float64 in any order, so their mean is the
    # converted images' mean, and converting and subtracting it take one pass over each split.
    fused = subtract_mean and X_pool.dtype.kind in "iu"
    mean_image = _mean_image(images["train"], dtype) if fused else None
    data = {}
    for split in ("train", "val", "test"):
        data[f"X_{split}"] = _as_floats(images[split], dtype, mean_image)
        data[f"y_{split}"] = labels[split].astype(np.int64)
    if subtract_mean and not fused:
        mean_image = _mean_image(data["X_train"], dtype)
        for key in ("X_train", "X_val", "X_test"):
            data[key] -= mean_image
    return data


# ------------------------------------------------------------------------------------------------
# The switch
# ------------------------------------------------------------------------------------------------

DATASETS = {"digits": get_digits_data, "cifar10": get_CIFAR10_data}


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
    - name: "digits" or "cifar10", or None to use $NNDL_DATASET.
    - kwargs: passed to get_digits_data or get_CIFAR10_data (split sizes, subtract_mean, dtype).

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


# ------------------------------------------------------------------------------------------------
# Where data lives, and fetching CIFAR-10
# ------------------------------------------------------------------------------------------------


def data_root(root=None):
    """The directory that holds downloaded data: `root`, else $NNDL_DATA, else the user cache."""
    return _locate_root(root)[0]


def _locate_root(root):
    """(data root, where that choice came from), for data_root and `nndl data info`."""
    if root is not None:
        return Path(root).expanduser(), "--root"
    if os.environ.get("NNDL_DATA"):
        return Path(os.environ["NNDL_DATA"]).expanduser(), "NNDL_DATA"
    user_cache = _import_optional("platformdirs").user_cache_dir("nndl")
    return Path(user_cache), "user cache directory"


def fetch_cifar10(root=None, archive=None):
    """Put a verified copy of CIFAR-10 in ``<data root>/cifar-10-batches-py`` and return its path.

    Inputs:
    - root: data root (default: $NNDL_DATA, else the user cache directory).
    - archive: a cifar-10-python.tar.gz already at hand. Default: the one in the data root if
      present, else download it (and delete it once unpacked).

    The archive's size and md5 are checked before anything is unpacked, and it is unpacked into a
    temporary sibling folder that is renamed into place only once complete, so a corrupt archive
    or an interrupted fetch never leaves a folder that load_CIFAR10 would trust.

    Raises DatasetError if the archive is corrupt or cannot be downloaded; the message then says
    how to get it by hand and where to put it.
    """
    root = data_root(root)
    target = root / CIFAR10.folder
    if archive is None and _is_complete(target):
        return target
    at_hand = Path(archive) if archive is not None else root / CIFAR10.filename
    if at_hand.is_file():
        _verify_archive(at_hand)
        _unpack(at_hand, root)
    elif archive is not None:
        raise DatasetError(f"{at_hand}: no such file")
    else:
        downloaded = _download(root)
        _unpack(downloaded, root)
        downloaded.unlink()  # the unpacked folder is all the loader reads
    return target


def _is_complete(cifar10_dir):
    return all((cifar10_dir / name).is_file() for name in CIFAR10.members)


def _download(root):
    """Download the archive into `root` with pooch, which checks the md5 before keeping it."""
    pooch = _import_optional("pooch")
    try:
        path = pooch.retrieve(
            CIFAR10.url,
            known_hash=f"md5:{CIFAR10.md5}",
            fname=CIFAR10.filename,
            path=root,
            progressbar=True,
        )
    except (OSError, ValueError) as err:  # requests' network errors are OSErrors
        raise DatasetError(
            f"could not download {CIFAR10.url} ({type(err).__name__}: {err}).\n"
            f"Get {CIFAR10.filename} by hand ({CIFAR10.size:,} bytes, md5 {CIFAR10.md5}) "
            "from a machine with network access, then either\n"
            f"  copy it to {root / CIFAR10.filename} and run "
            f"`nndl data fetch cifar10 --root {root}` again, or\n"
            f"  run `nndl data fetch cifar10 --root {root} --archive PATH/TO/{CIFAR10.filename}`."
        ) from err
    return Path(path)


def _verify_archive(archive):
    """Check `archive` against the published size and md5 of the CIFAR-10 archive."""
    size = archive.stat().st_size
    if size != CIFAR10.size:
        raise DatasetError(
            f"{archive}: {size:,} bytes, expected {CIFAR10.size:,}: truncated or not the "
            f"CIFAR-10 archive. Nothing was unpacked; delete it and fetch again."
        )
    md5 = _import_optional("pooch").file_hash(str(archive), alg="md5")
    if md5 != CIFAR10.md5:
        raise DatasetError(
            f"{archive}: md5 {md5}, expected {CIFAR10.md5}: the file is corrupt. "
            "Nothing was unpacked; delete it and fetch again."
        )


def _unpack(archive, root):
    """Extract the loader's files into a temporary sibling folder, then rename it into place."""
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{CIFAR10.folder}-", dir=root))
    wanted = {f"{CIFAR10.folder}/{name}" for name in CIFAR10.members}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # Copy the wanted members by name, so no path inside the archive decides where a
            # file lands; one pass, since a gzip stream cannot seek back cheaply.
            for member in tar:
                name = posixpath.normpath(member.name)
                if member.isfile() and name in wanted:
                    with (
                        tar.extractfile(member) as src,
                        open(staging / Path(name).name, "wb") as dst,
                    ):
                        shutil.copyfileobj(src, dst)
                    wanted.remove(name)
        if wanted:
            raise DatasetError(
                f"{archive}: lacks {', '.join(sorted(wanted))}; nothing was unpacked"
            )
        target = root / CIFAR10.folder
        if target.exists():  # an older or hand-made copy; while it is gone, nothing is trusted
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # a no-op once renamed


def _import_optional(name):
    """Import a dependency of nndl's "data" extra, saying how to install it if it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"cannot import {name}: install nndl's data extra, pip install 'nndl[data]'"
        ) from None


# ------------------------------------------------------------------------------------------------
# Command line: `nndl data fetch cifar10`, `nndl data info`
# ------------------------------------------------------------------------------------------------


def register_cli(subparsers):
    """Add the ``data`` subcommand (``fetch`` and ``info``) to the ``nndl`` command line."""
    parser = subparsers.add_parser("data", help="fetch CIFAR-10; show which dataset is used")
    actions = parser.add_subparsers(dest="data_command", required=True)
    root_help = "data root (default: $NNDL_DATA, else the user cache directory)"

    fetch = actions.add_parser("fetch", help="download, verify and unpack a dataset")
    fetch.add_argument("dataset", choices=["cifar10"])
    fetch.add_argument("--root", type=Path, help=root_help)
    fetch.add_argument(
        "--archive",
        type=Path,
        help=f"a {CIFAR10.filename} already at hand, to verify and unpack instead of downloading",
    )
    fetch.set_defaults(func=_run_fetch)

    info = actions.add_parser("info", help="show the selected dataset and where data lives")
    info.add_argument("--root", type=Path, help=root_help)
    info.set_defaults(func=_run_info)


def _run_fetch(args):
    try:
        target = fetch_cifar10(args.root, args.archive)
    except DatasetError as err:
        print(f"nndl data fetch: {err}", file=sys.stderr)
        return 1
    print(f"CIFAR-10 is ready in {target}; select it with NNDL_DATASET=cifar10")
    return 0


def _run_info(args):
    try:
        name = selected_dataset()
    except ValueError as err:
        print(f"nndl data info: {err}", file=sys.stderr)
        return 1
    origin = "NNDL_DATASET" if os.environ.get("NNDL_DATASET") else "default"
    root, root_origin = _locate_root(args.root)
    cifar10_dir = root / CIFAR10.folder
    print(f"dataset:   {name} ({origin}; choose with NNDL_DATASET=digits|cifar10)")
    print(f"data root: {root} ({root_origin})")
    print("digits:    embedded in scikit-learn, always available")
    status = "present" if _is_complete(cifar10_dir) else "absent, run `nndl data fetch cifar10`"
    print(f"cifar10:   {cifar10_dir} ({status})")
    return 0
