"""Tests for nndl.data: CIFAR-10's format, safe unpickling, fetching, the digits and the switch.

Every CIFAR-10 file here is a miniature written by the test in the official layout; nothing is
downloaded and nothing outside tmp_path is read or written.
"""

import codecs
import dataclasses
import io
import os
import pathlib
import pickle
import shutil
import struct
import tarfile
import tracemalloc

import numpy as np
import platformdirs
import pooch
import pytest
import requests

from nndl import data

# ------------------------------------------------------------------------------------------------
# Miniature CIFAR-10 in the official format
# ------------------------------------------------------------------------------------------------


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the official batches: every string is a byte string.

    Python 3 would write bytes at protocol 2 as calls of _codecs.encode; Python 2 wrote
    (SHORT_)BINSTRING opcodes, which Python 3 reads back as bytes with encoding="bytes".
    """

    def save_byte_string(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch = pickle._Pickler.dispatch.copy()
    dispatch[bytes] = save_byte_string
    dispatch[str] = save_byte_string


def dump_python2(obj, path):
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    # numpy 1 (the numpy of Python 2) named its array rebuilder numpy.core.multiarray.
    raw = buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    path.write_bytes(raw)


def dump_python3(obj, path):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_batch(path, images, labels, dump=dump_python2):
    """Write images (N, 3, 32, 32) uint8 as an official batch: rows of R, G, B planes."""
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": [int(label) for label in labels],
        b"data": images.reshape(len(images), 3 * 32 * 32),
        b"filenames": [b"image_%05d.png" % i for i in range(len(labels))],
    }
    dump(batch, path)


@dataclasses.dataclass
class MiniCifar:
    root: pathlib.Path  # data root holding cifar-10-batches-py/
    X_train: np.ndarray  # (N, 3, 32, 32) uint8, the five training batches in order
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def folder(self):
        return self.root / "cifar-10-batches-py"


def make_mini_cifar(root, per_batch=8, num_test=10, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    X_train = rng.integers(0, 256, size=(5 * per_batch, 3, 32, 32), dtype=np.uint8)
    y_train = rng.integers(0, 10, size=5 * per_batch)
    X_test = rng.integers(0, 256, size=(num_test, 3, 32, 32), dtype=np.uint8)
    y_test = rng.integers(0, 10, size=num_test)
    for b in range(5):
        part = slice(b * per_batch, (b + 1) * per_batch)
        write_batch(folder / f"data_batch_{b + 1}", X_train[part], y_train[part])
    write_batch(folder / "test_batch", X_test, y_test)
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_cases_per_batch": per_batch}
    dump_python2(meta, folder / "batches.meta")
    return MiniCifar(root, X_train, y_train, X_test, y_test)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No user setting leaks in, no default path leads outside tmp_path, no download happens."""
    monkeypatch.delenv("NNDL_DATASET", raising=False)
    monkeypatch.setenv("NNDL_DATA", str(tmp_path / "default-data-root"))

    def no_network(self, url, output_file, pooch, check_only=False):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", no_network)


@pytest.fixture
def cifar(tmp_path):
    return make_mini_cifar(tmp_path / "root")


def small_splits(cifar, **kwargs):
    return data.get_CIFAR10_data(
        num_training=30, num_validation=10, num_test=8, root=cifar.root, **kwargs
    )


# ------------------------------------------------------------------------------------------------
# Reading the official format
# ------------------------------------------------------------------------------------------------


def test_batch_rows_are_read_as_red_green_blue_planes(tmp_path):
    rng = np.random.default_rng(1)
    red, green, blue = (rng.integers(0, 256, size=(32, 32), dtype=np.uint8) for _ in range(3))
    row = np.concatenate([red.ravel(), green.ravel(), blue.ravel()])  # the official row layout
    dump_python2({b"data": row[None, :], b"labels": [7]}, tmp_path / "batch")

    X, y = data.load_CIFAR_batch(tmp_path / "batch")

    assert X.shape == (1, 3, 32, 32) and X.dtype == np.uint8
    np.testing.assert_array_equal(X[0, 0], red)
    np.testing.assert_array_equal(X[0, 1], green)
    np.testing.assert_array_equal(X[0, 2], blue)
    assert y.dtype == np.int64 and y.tolist() == [7]


def test_batch_pickled_by_python3_reads_like_the_python2_original(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    write_batch(tmp_path / "py2", images, [0, 1, 2, 3], dump=dump_python2)
    write_batch(tmp_path / "py3", images, [0, 1, 2, 3], dump=dump_python3)

    X2, y2 = data.load_CIFAR_batch(tmp_path / "py2")
    X3, y3 = data.load_CIFAR_batch(tmp_path / "py3")

    np.testing.assert_array_equal(X2, images)
    np.testing.assert_array_equal(X3, images)
    np.testing.assert_array_equal(y2, y3)


def test_load_CIFAR10_joins_the_five_training_batches_in_order(cifar):
    X_train, y_train, X_test, y_test = data.load_CIFAR10(cifar.folder)

    np.testing.assert_array_equal(X_train, cifar.X_train)
    np.testing.assert_array_equal(y_train, cifar.y_train)
    np.testing.assert_array_equal(X_test, cifar.X_test)
    np.testing.assert_array_equal(y_test, cifar.y_test)


def test_validation_follows_training_and_test_comes_from_test_batch(cifar):
    splits = small_splits(cifar, subtract_mean=False)

    assert list(splits) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
    np.testing.assert_array_equal(splits["X_train"], cifar.X_train[:30])
    np.testing.assert_array_equal(splits["X_val"], cifar.X_train[30:40])
    np.testing.assert_array_equal(splits["X_test"], cifar.X_test[:8])
    np.testing.assert_array_equal(splits["y_train"], cifar.y_train[:30])
    np.testing.assert_array_equal(splits["y_val"], cifar.y_train[30:40])
    np.testing.assert_array_equal(splits["y_test"], cifar.y_test[:8])
    assert all(splits[key].dtype == np.int64 for key in ("y_train", "y_val", "y_test"))


def test_mean_training_image_is_subtracted_from_every_split(cifar):
    splits = small_splits(cifar)
    mean_image = cifar.X_train[:30].mean(axis=0)

    np.testing.assert_allclose(splits["X_train"].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(splits["X_val"], cifar.X_train[30:40] - mean_image, atol=1e-4)
    np.testing.assert_allclose(splits["X_test"], cifar.X_test[:8] - mean_image, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_images_come_back_in_the_requested_float_dtype(cifar, dtype):
    splits = small_splits(cifar, dtype=dtype)
    assert {splits[key].dtype for key in ("X_train", "X_val", "X_test")} == {np.dtype(dtype)}


def test_integer_dtype_is_refused(cifar):
    with pytest.raises(ValueError, match="floating-point"):
        small_splits(cifar, dtype=np.int32)


@pytest.mark.parametrize(
    "sizes, complaint",
    [((35, 10, 8), "only 40 training images"), ((30, 10, 11), "only 10 test images")],
    ids=["train+val beyond the training batches", "test beyond test_batch"],
)
def test_split_larger_than_the_data_is_refused(cifar, sizes, complaint):
    num_training, num_validation, num_test = sizes
    with pytest.raises(ValueError, match=complaint):
        data.get_CIFAR10_data(num_training, num_validation, num_test, root=cifar.root)


def test_loading_the_full_size_set_keeps_peak_memory_below_twice_the_result(tmp_path):
    cifar = make_mini_cifar(tmp_path / "root", per_batch=1000, num_test=1000)
    tracemalloc.start()
    try:
        splits = data.get_CIFAR10_data(4000, 1000, 1000, root=cifar.root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = sum(array.nbytes for array in splits.values())
    # A float64 copy of the training images alone would already push this past 2.
    assert peak <= 2 * returned, f"peak {peak:,} bytes for {returned:,} bytes returned"


# ------------------------------------------------------------------------------------------------
# No code runs from a pickle; bad files are named
# ------------------------------------------------------------------------------------------------


class RunsOnLoad:
    """Pickles as a call of `function(*arguments)`: plain pickle.load runs it."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return (self.function, self.arguments)


def malicious_batch(kind, sentinel):
    payloads = {
        "os.system": RunsOnLoad(os.system, f'echo pwned > "{sentinel}"'),
        "builtins.exec": RunsOnLoad(exec, f"open({str(sentinel)!r}, 'w').close()"),
    }
    return {b"data": payloads[kind], b"labels": [0]}


@pytest.mark.parametrize("kind", ["os.system", "builtins.exec"])
def test_crafted_pickle_really_runs_code_under_plain_pickle(tmp_path, kind):
    sentinel = tmp_path / "SENTINEL"
    dump_python3(malicious_batch(kind, sentinel), tmp_path / "data_batch_1")

    with open(tmp_path / "data_batch_1", "rb") as f:
        pickle.load(f, encoding="bytes")

    assert sentinel.exists(), "the crafted file must be dangerous for the next test to mean much"


@pytest.mark.parametrize("kind", ["os.system", "builtins.exec"])
def test_pickle_that_calls_code_is_refused_and_its_payload_never_runs(cifar, kind):
    # os.system pickles as posix.system (nt.system on Windows): the message names the function.
    function = kind.split(".")[1]
    sentinel = cifar.root / "SENTINEL"
    batch = cifar.folder / "data_batch_1"
    dump_python3(malicious_batch(kind, sentinel), batch)

    with pytest.raises(data.UnsafePickleError, match="refused to load") as refused:
        small_splits(cifar)

    assert not sentinel.exists(), "the pickle's payload ran"
    assert str(batch) in str(refused.value)
    assert f".{function}:" in str(refused.value)


def test_bytes_rebuilt_with_a_codec_other_than_latin1_are_refused(tmp_path):
    # The call Python 3 writes for bytes, but with a codec of the pickle's choosing.
    dump_python3({b"data": RunsOnLoad(codecs.encode, "text", "rot13")}, tmp_path / "batch")
    with pytest.raises(data.UnsafePickleError, match="'latin1' codec only"):
        data.load_CIFAR_batch(tmp_path / "batch")


def test_truncated_batch_is_reported_with_its_name(cifar):
    batch = cifar.folder / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[: batch.stat().st_size // 2])

    with pytest.raises(data.DatasetError, match="truncated") as bad:
        small_splits(cifar)
    assert str(batch) in str(bad.value)


WRONG_BATCHES = {
    "not a dict": ([1, 2, 3], "holds a list, expected a dict"),
    "CIFAR-100 keys": (
        {b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 1]},
        r"lacks the key\(s\) b'labels' \(its keys: b'data', b'fine_labels'\)",
    ),
    "images not flattened": (
        {b"data": np.zeros((2, 3, 32, 32), np.uint8), b"labels": [0, 1]},
        "expected a uint8 array of shape",
    ),
    "grey images": (
        {b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]},
        r"shape \(2, 1024\), expected \(N, 3072\)",
    ),
    "float pixels": (
        {b"data": np.zeros((2, 3072), np.float64), b"labels": [0, 1]},
        "dtype float64",
    ),
    "one label missing": (
        {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]},
        r"shape \(1,\) for 2 images",
    ),
    "label 10": ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "integers in 0..9"),
}


@pytest.mark.parametrize("contents, complaint", WRONG_BATCHES.values(), ids=WRONG_BATCHES.keys())
def test_wrong_batch_is_reported_with_its_name_and_what_is_wrong(tmp_path, contents, complaint):
    dump_python2(contents, tmp_path / "test_batch")

    with pytest.raises(data.DatasetError, match=complaint) as bad:
        data.load_CIFAR_batch(tmp_path / "test_batch")
    assert str(tmp_path / "test_batch") in str(bad.value)


def test_missing_cifar10_says_how_to_fetch_it(tmp_path):
    with pytest.raises(data.DatasetError, match="nndl data fetch cifar10"):
        data.get_CIFAR10_data(root=tmp_path)


# ------------------------------------------------------------------------------------------------
# Fetching: verify, unpack atomically, explain what to do offline
# ------------------------------------------------------------------------------------------------


def make_archive(cifar, path, leave_out=()):
    """tar.gz of cifar-10-batches-py/ as the official archive lays it out (plus its readme)."""
    (cifar.folder / "readme.html").write_text("<html></html>")
    with tarfile.open(path, "w:gz") as tar:
        for file in sorted(cifar.folder.iterdir()):
            if file.name not in leave_out:
                tar.add(file, arcname=f"cifar-10-batches-py/{file.name}")
    return path


def trust(monkeypatch, archive):
    """Make `archive` the one whose size and md5 fetch_cifar10 expects."""
    published = dataclasses.replace(
        data.CIFAR10, size=archive.stat().st_size, md5=pooch.file_hash(str(archive), alg="md5")
    )
    monkeypatch.setattr(data.fetch, "CIFAR10", published)  # where fetching reads it


@pytest.fixture
def archive(cifar, tmp_path, monkeypatch):
    path = make_archive(cifar, tmp_path / "cifar-10-python.tar.gz")
    trust(monkeypatch, path)
    return path


def run_cli(*argv):
    from nndl.cli import main

    return main(["data", *argv])


def test_archive_at_hand_is_verified_and_unpacked(cifar, archive, tmp_path, capsys):
    root = tmp_path / "fresh"

    assert run_cli("fetch", "cifar10", "--root", str(root), "--archive", str(archive)) == 0

    assert "ready" in capsys.readouterr().out
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]
    X_train, _, X_test, _ = data.load_CIFAR10(root / "cifar-10-batches-py")
    np.testing.assert_array_equal(X_train, cifar.X_train)
    np.testing.assert_array_equal(X_test, cifar.X_test)
    assert data.fetch_cifar10(root) == root / "cifar-10-batches-py", "fetched again, not reused"


def test_archive_copied_into_the_data_root_by_hand_is_used_without_download(archive, tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    shutil.copyfile(archive, root / "cifar-10-python.tar.gz")

    folder = data.fetch_cifar10(root)

    assert data.load_CIFAR10(folder)[0].shape == (40, 3, 32, 32)
    assert (root / "cifar-10-python.tar.gz").exists(), "a file the user put there was deleted"


def corrupt_by_truncation(path):
    path.write_bytes(path.read_bytes()[:-100])


def corrupt_by_flipping_a_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "corrupt, complaint",
    [(corrupt_by_truncation, "truncated"), (corrupt_by_flipping_a_byte, "md5 .* corrupt")],
    ids=["truncated", "one byte changed"],
)
def test_corrupt_archive_is_reported_and_nothing_is_unpacked(archive, tmp_path, corrupt, complaint):
    root = tmp_path / "fresh"
    root.mkdir()
    corrupt(archive)

    with pytest.raises(data.DatasetError, match=complaint) as bad:
        data.fetch_cifar10(root, archive)

    assert str(archive) in str(bad.value)
    assert list(root.iterdir()) == []


def test_archive_lacking_a_batch_leaves_no_folder_behind(cifar, tmp_path, monkeypatch):
    incomplete = make_archive(cifar, tmp_path / "incomplete.tar.gz", leave_out={"test_batch"})
    trust(monkeypatch, incomplete)  # verified, yet not what the loader needs
    root = tmp_path / "fresh"

    with pytest.raises(data.DatasetError, match="lacks cifar-10-batches-py/test_batch"):
        data.fetch_cifar10(root, incomplete)

    assert list(root.iterdir()) == [], "a half-unpacked folder was left behind"


def test_downloaded_archive_is_verified_unpacked_and_deleted(cifar, archive, tmp_path, monkeypatch):
    def serve_the_archive(self, url, output_file, pooch, check_only=False):
        shutil.copyfile(archive, output_file)

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", serve_the_archive)
    root = tmp_path / "fresh"

    folder = data.fetch_cifar10(root)

    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py"]
    X_train, _, _, _ = data.load_CIFAR10(folder)
    np.testing.assert_array_equal(X_train, cifar.X_train)


def test_offline_fetch_says_how_to_get_the_archive_by_hand(tmp_path, monkeypatch, capsys):
    def offline(self, url, output_file, pooch, check_only=False):
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", offline)
    root = tmp_path / "fresh"

    assert run_cli("fetch", "cifar10", "--root", str(root)) == 1

    message = capsys.readouterr().err
    assert message.startswith("nndl data fetch: could not download")
    assert "could not download" in message and "Name or service not known" in message
    assert data.CIFAR10.md5 in message and "170,498,071 bytes" in message
    assert str(root / "cifar-10-python.tar.gz") in message, "says where to put the archive"
    assert "--archive" in message
    assert not (root / "cifar-10-batches-py").exists()


# ------------------------------------------------------------------------------------------------
# The embedded digits and the switch
# ------------------------------------------------------------------------------------------------


def test_digits_come_as_1197_300_300_grey_8x8_images():
    digits = data.get_digits_data()

    shapes = {key: value.shape for key, value in digits.items()}
    assert shapes == {
        "X_train": (1197, 1, 8, 8),
        "y_train": (1197,),
        "X_val": (300, 1, 8, 8),
        "y_val": (300,),
        "X_test": (300, 1, 8, 8),
        "y_test": (300,),
    }
    assert digits["X_train"].dtype == np.float32 and digits["y_train"].dtype == np.int64
    assert set(np.unique(digits["y_train"])) == set(range(10))


def test_digits_split_is_the_same_on_every_call_and_changes_with_the_seed():
    first, second = data.get_digits_data(), data.get_digits_data()
    reseeded = data.get_digits_data(seed=1)

    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert not np.array_equal(first["y_train"], reseeded["y_train"])


def test_digits_splits_together_are_all_1797_images_once():
    from sklearn.datasets import load_digits

    digits = data.get_digits_data(subtract_mean=False, dtype=np.float64)
    together = np.concatenate(
        [digits[key].reshape(-1, 64) for key in ("X_train", "X_val", "X_test")]
    )
    original = load_digits().data

    np.testing.assert_array_equal(np.unique(together, axis=0), np.unique(original, axis=0))
    assert len(together) == len(original)


def test_digits_training_mean_is_subtracted():
    digits = data.get_digits_data()
    raw = data.get_digits_data(subtract_mean=False)
    mean_image = raw["X_train"].mean(axis=0)

    np.testing.assert_allclose(digits["X_train"].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(digits["X_test"], raw["X_test"] - mean_image, atol=1e-5)


def test_load_dataset_defaults_to_the_embedded_digits():
    assert data.load_dataset()["X_train"].shape[1:] == (1, 8, 8)


def test_NNDL_DATASET_switches_everything_to_cifar10(cifar, monkeypatch):
    monkeypatch.setenv("NNDL_DATASET", "cifar10")
    monkeypatch.setenv("NNDL_DATA", str(cifar.root))

    splits = data.load_dataset(num_training=30, num_validation=10, num_test=8)

    assert splits["X_train"].shape == (30, 3, 32, 32)
    assert data.load_dataset("digits")["X_train"].shape[1:] == (1, 8, 8), "argument wins"


@pytest.mark.parametrize("from_env", [False, True], ids=["argument", "NNDL_DATASET"])
def test_unknown_dataset_lists_the_valid_names(monkeypatch, from_env):
    if from_env:
        monkeypatch.setenv("NNDL_DATASET", "mnist")
    with pytest.raises(ValueError, match="'mnist'.*digits, cifar10") as unknown:
        data.load_dataset(None if from_env else "mnist")
    assert ("NNDL_DATASET" in str(unknown.value)) == from_env


def test_data_root_is_argument_then_NNDL_DATA_then_user_cache(tmp_path, monkeypatch):
    assert data.data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert data.data_root() == tmp_path / "default-data-root"
    monkeypatch.delenv("NNDL_DATA")
    assert str(data.data_root()) == platformdirs.user_cache_dir("nndl")


def test_info_shows_the_selected_dataset_and_where_cifar10_lives(cifar, monkeypatch, capsys):
    monkeypatch.setenv("NNDL_DATASET", "cifar10")

    assert run_cli("info", "--root", str(cifar.root)) == 0

    out = capsys.readouterr().out
    assert "dataset:   cifar10 (NNDL_DATASET" in out
    assert f"{cifar.folder} (present)" in out


def test_training_subset_takes_the_first_images_and_the_whole_validation_split():
    digits = data.get_digits_data()
    subset = data.training_subset(digits, 100)
    assert set(subset) == {"X_train", "y_train", "X_val", "y_val"}
    np.testing.assert_array_equal(subset["X_train"], digits["X_train"][:100])
    np.testing.assert_array_equal(subset["y_train"], digits["y_train"][:100])
    assert subset["X_val"] is digits["X_val"] and subset["y_val"] is digits["y_val"]
    with pytest.raises(ValueError, match=r"num_train must be in 1\.\.1197"):
        data.training_subset(digits, 2000)


# ------------------------------------------------------------------------------------------------
# Bad arguments: refused before any image is loaded, naming the argument
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, error, message",
    [
        ((100.5, 10, 8), ValueError, "num_training must be an integer >= 1, got 100.5"),
        ((30, -1, 8), ValueError, "num_validation must be an integer >= 0, got -1"),
        ((30, 10, "8"), TypeError, "num_test must be an integer >= 0, got str '8'"),
        ((0, 10, 8), ValueError, "num_training must be an integer >= 1, got 0"),
    ],
)
@pytest.mark.parametrize("loader", ["cifar10", "digits"])
def test_split_size_that_is_not_a_count_is_refused(cifar, loader, sizes, error, message):
    with pytest.raises(error, match=message):
        if loader == "cifar10":
            data.get_CIFAR10_data(*sizes, root=cifar.root)
        else:
            data.get_digits_data(*sizes)


@pytest.mark.parametrize("seed, error", [(-3, ValueError), ("0", TypeError), (2.5, TypeError)])
def test_digits_with_a_bad_seed_is_refused_naming_the_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        data.get_digits_data(seed=seed)


def test_dtype_that_is_not_a_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="dtype must be a floating-point type .* got 'float33'"):
        data.get_digits_data(dtype="float33")


@pytest.mark.parametrize(
    "num_train, error, message",
    [
        (True, TypeError, "num_train must be an integer, got bool True"),
        (10.5, ValueError, "num_train must be an integer, got 10.5"),
        ("10", TypeError, "num_train must be an integer, got str"),
    ],
)
def test_training_subset_refuses_a_num_train_that_is_not_a_count(num_train, error, message):
    splits = data.get_digits_data(num_training=20, num_validation=5, num_test=5)
    with pytest.raises(error, match=message):
        data.training_subset(splits, num_train)


def test_training_subset_of_something_else_than_splits_is_a_type_error():
    with pytest.raises(TypeError, match="data must be a dict with keys"):
        data.training_subset([1, 2, 3], 2)


# ------------------------------------------------------------------------------------------------
# The experiments' small problem, loaded without the rest
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("subtract_mean", [True, False])
@pytest.mark.parametrize("name", ["cifar10", "digits"])
def test_load_training_subset_equals_the_subset_of_the_full_load_bit_for_bit(
    cifar, name, subtract_mean, dtype
):
    options = dict(subtract_mean=subtract_mean, dtype=dtype)
    if name == "cifar10":
        options.update(num_training=30, num_validation=10, num_test=8, root=cifar.root)

    subset = data.load_training_subset(7, name, **options)
    expected = data.training_subset(data.load_dataset(name, **options), 7)

    assert subset.keys() == expected.keys()
    for key, array in expected.items():
        assert subset[key].dtype == array.dtype, key
        np.testing.assert_array_equal(subset[key], array, err_msg=key)


def test_load_training_subset_of_cifar10_reads_no_test_batch(cifar):
    (cifar.folder / "test_batch").unlink()  # a subset never needs it

    subset = data.load_training_subset(
        5, "cifar10", num_training=30, num_validation=10, root=cifar.root
    )

    assert subset["X_train"].shape == (5, 3, 32, 32)


@pytest.mark.parametrize("num_train", [0, 31])
def test_load_training_subset_rejects_a_subset_larger_than_the_training_split(cifar, num_train):
    with pytest.raises(ValueError, match=rf"num_train must be in 1\.\.30 .* got {num_train}"):
        data.load_training_subset(
            num_train, "cifar10", num_training=30, num_validation=10, root=cifar.root
        )


# ------------------------------------------------------------------------------------------------
# Faults: claims checked against the file, files that are not files, batches cut short
# ------------------------------------------------------------------------------------------------


class Call:
    """Pickles as `function(*arguments)`, the function named by module and name."""

    def __init__(self, module, name, *arguments):
        self.module, self.name, self.arguments = module, name, arguments

    def __reduce__(self):
        import importlib

        return (getattr(importlib.import_module(self.module), self.name), self.arguments)


class ClaimsShape:
    """Pickles as numpy pickles an array, but its state claims `shape` over `raw`."""

    def __init__(self, shape, raw):
        self.shape, self.raw = shape, raw

    def __reduce__(self):
        reconstruct = np.empty(0).__reduce__()[0]
        state = (1, self.shape, np.dtype(np.uint8), False, self.raw)
        return (reconstruct, (np.ndarray, (0,), b"b"), state)


MILLION_IMAGES = (1_000_000, 3072)
CLAIMS = {
    "ndarray called with a shape": (
        Call("numpy", "ndarray", MILLION_IMAGES, "u1"),
        data.UnsafePickleError,
        "refused to call numpy.ndarray",
    ),
    "_reconstruct of a shape": (
        Call("numpy._core.multiarray", "_reconstruct", np.ndarray, MILLION_IMAGES, b"B"),
        data.UnsafePickleError,
        r"refused _reconstruct\(ndarray, \(1000000, 3072\)",
    ),
    "state claiming more than the file": (
        ClaimsShape(MILLION_IMAGES, b"\0" * 6144),
        data.DatasetError,
        r"claims shape \(1000000, 3072\) of uint8 \(3,072,000,000 bytes\), more than the whole",
    ),
    "state claiming more than it holds": (
        ClaimsShape((1, 3072), b"\0" * 6144),
        data.DatasetError,
        r"claims shape \(1, 3072\) of uint8 \(3,072 bytes\) but holds 6144 bytes",
    ),
}


@pytest.mark.parametrize("array, error, message", CLAIMS.values(), ids=CLAIMS.keys())
def test_an_array_claiming_a_million_images_is_refused_before_allocating(
    tmp_path, array, error, message
):
    dump_python3({b"data": array, b"labels": [0] * 2}, tmp_path / "data_batch_1")
    tracemalloc.start()
    try:
        with pytest.raises(error, match=message) as refused:
            data.load_CIFAR_batch(tmp_path / "data_batch_1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(tmp_path / "data_batch_1") in str(refused.value)
    assert peak < 2**20, f"{peak:,} bytes allocated for the claim"


def test_a_batch_cut_short_but_whole_is_refused_before_it_shifts_the_validation_split(cifar):
    # 7 images instead of 8: a valid pickle, which would move every later image one place.
    batch = cifar.folder / "data_batch_2"
    write_batch(batch, cifar.X_train[8:15], cifar.y_train[8:15])
    for load in (
        lambda: small_splits(cifar),
        lambda: data.load_training_subset(5, "cifar10", num_training=30, num_validation=10,
                                          root=cifar.root),
    ):  # fmt: skip
        with pytest.raises(data.DatasetError, match="holds 7 images, but every training batch "
                           r"holds 8 \(batches.meta\)") as refused:  # fmt: skip
            load()
        assert str(batch) in str(refused.value)


def test_a_fifo_in_place_of_a_batch_is_refused_without_blocking(cifar):
    import threading

    batch = cifar.folder / "data_batch_1"
    batch.unlink()
    os.mkfifo(batch)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(small_splits, cifar)))
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock it before failing
        with open(batch, "wb"):
            pass
    assert not reader.is_alive(), "the loader blocked on the FIFO"
    assert isinstance(outcome[0], data.DatasetError)
    assert f"{batch}: it is a named pipe (FIFO)" in str(outcome[0])


def _error_of(function, *arguments):
    try:
        function(*arguments)
    except Exception as error:
        return error
    return None


def test_unreadable_folder_loop_and_truncated_files_get_their_own_messages(cifar, monkeypatch):
    folder = cifar.folder
    (folder / "data_batch_1").unlink()
    (folder / "data_batch_1").mkdir()
    (folder / "data_batch_2").unlink()
    (folder / "data_batch_2").symlink_to(folder / "data_batch_2")
    raw = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(raw[: len(raw) // 2])
    (folder / "data_batch_4").unlink()
    (folder / "data_batch_4").symlink_to(folder / "gone")
    messages = {
        name: str(_error_of(data.load_CIFAR_batch, folder / name))
        for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4")
    }
    assert messages["data_batch_1"].endswith("a folder, where a CIFAR-10 batch file should be")
    assert messages["data_batch_2"].endswith("a symbolic link that loops back on itself; "
                                             "replace it with the file")  # fmt: skip
    assert (
        f"ends early ({len(raw) // 2:,} bytes): the file is truncated" in messages["data_batch_3"]
    )
    assert f"a symbolic link to {folder / 'gone'}, which does not exist" in messages["data_batch_4"]

    from nndl.data import safe_pickle
    from nndl.paths import explained

    def denied(path, action="read"):
        raise explained(PermissionError(13, "Permission denied"), path, action)

    monkeypatch.setattr(safe_pickle, "open_regular", denied)
    assert str(_error_of(data.load_CIFAR_batch, folder / "test_batch")).endswith(
        "test_batch: cannot be read (permission denied); give yourself read permission "
        "(chmod u+r) or fetch CIFAR-10 again into a folder of yours"
    )
    assert len(set(messages.values())) == 4


def test_a_file_in_place_of_the_cifar10_folder_is_named(tmp_path):
    (tmp_path / "cifar-10-batches-py").write_text("not a folder")
    with pytest.raises(data.DatasetError, match="cifar-10-batches-py is a file, where the "):
        data.get_CIFAR10_data(root=tmp_path)


def test_load_training_subset_without_the_mean_reads_only_the_batches_it_keeps(cifar):
    for name in ("data_batch_2", "data_batch_3", "test_batch"):  # images 8..23: not kept
        (cifar.folder / name).unlink()
    subset = data.load_training_subset(
        5, "cifar10", num_training=30, num_validation=10, root=cifar.root, subtract_mean=False
    )
    np.testing.assert_array_equal(subset["X_train"], cifar.X_train[:5])
    np.testing.assert_array_equal(subset["X_val"], cifar.X_train[30:40])


def test_load_training_subset_holds_one_batch_at_a_time(tmp_path):
    cifar = make_mini_cifar(tmp_path / "root", per_batch=1000, num_test=10)
    options = dict(num_training=4000, num_validation=1000, num_test=0, root=cifar.root)
    tracemalloc.start()
    try:
        subset = data.load_training_subset(100, "cifar10", **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = sum(array.nbytes for array in subset.values())
    one_batch = 1000 * 3072
    # The five batches concatenated would be 15.4 MB, 12x the result (1.3 MB).
    assert peak <= 2 * one_batch + 2 * returned, f"peak {peak:,} bytes for {returned:,} returned"
    expected = data.training_subset(data.get_CIFAR10_data(**options), 100)
    for key, array in expected.items():
        np.testing.assert_array_equal(subset[key], array, err_msg=key)


def test_fetch_into_a_file_names_it_and_says_what_to_do(archive, tmp_path):
    (tmp_path / "dataroot").write_text("a file where the data root should be")
    expected = r"cannot fetch CIFAR-10 into .*dataroot: it is a file, where a folder should be"
    with pytest.raises(data.DatasetError, match=expected):
        data.fetch_cifar10(tmp_path / "dataroot", archive)


def test_fetch_onto_a_full_disk_names_the_path(archive, tmp_path, monkeypatch):
    import errno

    def full(src, dst, *args):
        raise OSError(errno.ENOSPC, "No space left on device", dst.name)

    monkeypatch.setattr(data.fetch.shutil, "copyfileobj", full)
    with pytest.raises(data.DatasetError, match="the disk is full"):
        data.fetch_cifar10(tmp_path / "dataroot", archive)
    assert not (tmp_path / "dataroot" / "cifar-10-batches-py").exists()
    assert [p.name for p in (tmp_path / "dataroot").iterdir()] == [], "a staging folder was left"
