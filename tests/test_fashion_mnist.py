"""Tests for Fashion-MNIST in nndl.data: the IDX parser, the checksums, the loader and the CLI.

Every file here is a miniature that the test writes in the published format (gzipped IDX with
GNU gzip's header); nothing is downloaded. Only the checksum test of the installed files reads
outside tmp_path: Debian's /usr/share/datasets/fashion-mnist, which CI installs.
"""

import dataclasses
import gzip
import hashlib
import os
import pathlib
import struct
import tracemalloc
import zlib

import numpy as np
import pooch
import pytest

from nndl import data
from nndl.cli import main
from nndl.data import fashion_mnist as fm
from nndl.data import splits as splits_module

# What Debian's package build writes instead of the published gzip header: no file name, the
# package's date, no extra flags, Unix.
DEBIAN_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<I", 1_591_347_949) + b"\x00\x03"


def idx_bytes(array, type_code=0x08, dims=None):
    """An IDX file of `array` (header with `dims`, default its shape, then its bytes)."""
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    return header + array.tobytes()


def gzip_bytes(content, header=DEBIAN_HEADER):
    """`content` gzipped as GNU gzip -6 compresses it, under `header`."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(content) + compressor.flush()
    return header + body + struct.pack("<II", zlib.crc32(content), len(content) % 2**32)


def published(name, array, mtime=1_503_000_000):
    """(record, bytes) of a published-style gzipped IDX file of `array`."""
    record = fm.IdxFile(name, "", 0, array.shape, mtime)
    raw = gzip_bytes(idx_bytes(array), record.gzip_header)
    return dataclasses.replace(record, md5=hashlib.md5(raw).hexdigest(), size=len(raw)), raw


@dataclasses.dataclass
class MiniFashion:
    folder: object  # the folder holding the four files
    records: dict  # what stands in for fm.FILES
    arrays: dict  # key -> the array in that file


def make_mini_fashion(folder, num_train=12, num_test=5, seed=0, debian=False):
    """The four files in `folder`, with fewer images: published headers, or Debian's."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(num_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=num_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(num_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=num_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    records = {}
    for key, array in arrays.items():
        records[key], raw = published(fm.FILES[key].name, array)
        if debian:
            raw = gzip_bytes(idx_bytes(array))
        (folder / records[key].name).write_bytes(raw)
    return MiniFashion(folder, records, arrays)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No user setting or installed copy leaks in, and no download happens."""
    monkeypatch.delenv("NNDL_DATASET", raising=False)
    monkeypatch.setenv("NNDL_DATA", str(tmp_path / "data-root"))
    monkeypatch.setattr(fm, "SYSTEM_FOLDER", tmp_path / "not-installed")

    def no_network(self, url, output_file, pooch, check_only=False):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", no_network)


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A miniature Fashion-MNIST in the data root, whose checksums the loader trusts."""
    mini = make_mini_fashion(tmp_path / "data-root" / "fashion-mnist")
    monkeypatch.setattr(fm, "FILES", mini.records)
    return mini


# ------------------------------------------------------------------------------------------------
# The IDX parser
# ------------------------------------------------------------------------------------------------

IMAGES = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
LABELS = np.array([9, 0, 3], dtype=np.uint8)


@pytest.mark.parametrize("array", [IMAGES, LABELS], ids=["images", "labels"])
@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_idx_file_is_read_gzipped_or_plain_into_its_declared_shape(tmp_path, array, gzipped):
    raw = idx_bytes(array)
    (tmp_path / "file").write_bytes(gzip_bytes(raw) if gzipped else raw)

    read = data.read_idx(tmp_path / "file", array.shape)

    assert read.dtype == np.uint8 and read.shape == array.shape
    np.testing.assert_array_equal(read, array)


def test_idx_file_written_by_python_gzip_reads_the_same(tmp_path):
    (tmp_path / "file.gz").write_bytes(gzip.compress(idx_bytes(IMAGES), mtime=0))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "file.gz"), IMAGES)


NOT_IDX = {
    "a PNG": b"\x89PNG\r\n\x1a\n" + bytes(100),
    "a pickle": b"\x80\x04\x95" + bytes(100),
    "an empty file": b"",
    "dimensions cut off": bytes([0, 0, 8, 3]) + struct.pack(">I", 3),
}


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("raw", NOT_IDX.values(), ids=NOT_IDX.keys())
def test_file_without_an_idx_header_is_refused_naming_the_file(tmp_path, raw, gzipped):
    path = tmp_path / "not-idx"
    path.write_bytes(gzip_bytes(raw) if gzipped else raw)

    with pytest.raises(data.DatasetError, match="not an IDX header|ends before") as bad:
        data.read_idx(path)
    assert str(path) in str(bad.value)


def test_idx_file_of_another_type_than_unsigned_bytes_is_refused(tmp_path):
    ints = np.arange(6, dtype=">i4")
    (tmp_path / "ints").write_bytes(idx_bytes(ints, type_code=0x0C))

    with pytest.raises(data.DatasetError, match=r"type code 0x0c \(int32\).*unsigned bytes"):
        data.read_idx(tmp_path / "ints")


def test_idx_file_declaring_other_dimensions_than_expected_is_refused(tmp_path):
    (tmp_path / "file").write_bytes(gzip_bytes(idx_bytes(IMAGES)))

    with pytest.raises(data.DatasetError, match="declares 3 x 28 x 28, expected 3 x 28 x 27"):
        data.read_idx(tmp_path / "file", (3, 28, 27))


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_truncated_idx_file_is_refused_naming_the_file(tmp_path, gzipped):
    raw = idx_bytes(IMAGES)
    raw = gzip_bytes(raw) if gzipped else raw
    path = tmp_path / "truncated"
    path.write_bytes(raw[: len(raw) * 2 // 3])

    with pytest.raises(data.DatasetError, match="truncated") as bad:
        data.read_idx(path)
    assert str(path) in str(bad.value)


def test_gzip_file_cut_before_the_idx_header_is_reported_truncated(tmp_path):
    (tmp_path / "cut.gz").write_bytes(gzip_bytes(idx_bytes(IMAGES))[:12])

    with pytest.raises(data.DatasetError, match="ends before the IDX header .*: truncated"):
        data.read_idx(tmp_path / "cut.gz")


def test_plain_idx_file_longer_than_its_header_says_is_refused(tmp_path):
    (tmp_path / "padded").write_bytes(idx_bytes(IMAGES) + bytes(10))

    with pytest.raises(data.DatasetError, match="holds 2,362 values .* declares 2,352: longer"):
        data.read_idx(tmp_path / "padded")


def test_gzipped_idx_file_holding_more_than_its_header_says_is_refused(tmp_path):
    (tmp_path / "padded").write_bytes(gzip_bytes(idx_bytes(IMAGES) + bytes(10)))

    with pytest.raises(data.DatasetError, match="a header that does not describe the data"):
        data.read_idx(tmp_path / "padded")


def test_gzipped_idx_file_holding_more_than_its_header_and_trailer_say_is_refused(tmp_path):
    raw = gzip_bytes(idx_bytes(IMAGES) + bytes(10))
    declared = len(idx_bytes(IMAGES))  # the trailer forged to agree with the header
    (tmp_path / "padded").write_bytes(raw[:-4] + struct.pack("<I", declared))

    with pytest.raises(data.DatasetError, match="holds 2,353 values .* declares 2,352: longer"):
        data.read_idx(tmp_path / "padded")


def test_bytes_after_the_gzip_stream_are_refused(tmp_path):
    raw = gzip_bytes(idx_bytes(LABELS))
    # Garbage that ends like the stream does, so that the recorded length still agrees.
    (tmp_path / "trailing").write_bytes(raw + b"junk" + raw[-4:])

    with pytest.raises(data.DatasetError, match="8 bytes follow the gzip stream"):
        data.read_idx(tmp_path / "trailing")


def test_gzip_stream_with_a_changed_byte_is_refused(tmp_path):
    raw = bytearray(gzip_bytes(idx_bytes(IMAGES)))
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "corrupt").write_bytes(bytes(raw))

    with pytest.raises(data.DatasetError, match="corrupt"):
        data.read_idx(tmp_path / "corrupt")


# A header that claims 2**32 - 1 images of 255 x 255: 2.4e14 bytes, were it allocated.
HUGE = (2**32 - 1, 255, 255)


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
def test_header_declaring_more_than_the_file_holds_is_refused_before_allocating(tmp_path, gzipped):
    raw = idx_bytes(IMAGES, dims=HUGE)
    path = tmp_path / "lies"
    path.write_bytes(gzip_bytes(raw) if gzipped else raw)

    tracemalloc.start()
    try:
        with pytest.raises(data.DatasetError, match="declares") as bad:
            data.read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(bad.value)
    assert peak < 1_000_000, f"{peak:,} bytes allocated for a file of {len(raw):,}"


def test_gzip_bomb_whose_recorded_length_agrees_with_a_lying_header_is_refused(tmp_path):
    dims = (1000, 1000, 1000)  # 1e9 values, in a file of a few kilobytes
    raw = gzip_bytes(idx_bytes(IMAGES, dims=dims))
    declared = (4 + 4 * 3 + 10**9) % 2**32
    (tmp_path / "bomb").write_bytes(raw[:-4] + struct.pack("<I", declared))

    tracemalloc.start()
    try:
        with pytest.raises(data.DatasetError, match="1,000,000,000 values"):
            data.read_idx(tmp_path / "bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_missing_idx_file_is_named(tmp_path):
    with pytest.raises(data.DatasetError, match="no such file") as bad:
        data.read_idx(tmp_path / "absent.gz")
    assert str(tmp_path / "absent.gz") in str(bad.value)


# ------------------------------------------------------------------------------------------------
# Checksums: the published md5s, and Debian's copies under another gzip header
# ------------------------------------------------------------------------------------------------

PUBLISHED_MD5 = {  # the dataset's README (zalandoresearch/fashion-mnist), "Get the Data"
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


def test_records_hold_the_published_md5_of_each_file():
    assert {record.name: record.md5 for record in fm.FILES.values()} == PUBLISHED_MD5


def test_installed_debian_files_are_the_published_files():
    """The checksum test of the real files: each of Debian's four, its gzip header replaced by
    the published one, has the published md5 and size. CI installs the package; elsewhere the
    test skips and says why (with CI set, it fails instead)."""
    installed = pathlib.Path("/usr/share/datasets/fashion-mnist")
    if not fm._is_complete(installed):
        message = f"Fashion-MNIST is not installed in {installed}: apt-get install " + (
            "dataset-fashion-mnist"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    for record in fm.FILES.values():
        raw = fm.verified_bytes(installed / record.name, record)
        restored = len(record.gzip_header) + len(raw) - fm._gzip_data_start(raw)
        assert restored == record.size, record.name
        assert data.read_idx(installed / record.name, record.shape, raw=raw).shape == record.shape


def test_file_with_the_published_md5_is_accepted(tmp_path):
    record, raw = published("labels.gz", LABELS)
    (tmp_path / "labels.gz").write_bytes(raw)

    assert fm.verified_bytes(tmp_path / "labels.gz", record) == raw


def test_published_data_under_debians_gzip_header_is_accepted(tmp_path):
    record, raw = published("labels.gz", LABELS)
    debian = gzip_bytes(idx_bytes(LABELS))
    assert hashlib.md5(debian).hexdigest() != record.md5, "the test needs another header"
    (tmp_path / "labels.gz").write_bytes(debian)

    assert fm.verified_bytes(tmp_path / "labels.gz", record) == debian


@pytest.mark.parametrize("debian", [False, True], ids=["published header", "Debian's header"])
def test_file_with_one_byte_changed_is_refused_naming_both_md5s(tmp_path, debian):
    record, raw = published("images.gz", IMAGES)
    changed = bytearray(gzip_bytes(idx_bytes(IMAGES)) if debian else raw)
    changed[-20] ^= 0x01
    path = tmp_path / "images.gz"
    path.write_bytes(bytes(changed))

    with pytest.raises(data.DatasetError, match="corrupt") as bad:
        fm.verified_bytes(path, record)
    message = str(bad.value)
    assert str(path) in message
    assert hashlib.md5(changed).hexdigest() in message and record.md5 in message


# ------------------------------------------------------------------------------------------------
# The loader and the switch
# ------------------------------------------------------------------------------------------------


def small_splits(**kwargs):
    return data.get_fashion_mnist_data(num_training=8, num_validation=4, num_test=5, **kwargs)


def test_validation_is_the_end_of_the_training_file_and_test_the_test_file(mini):
    splits = small_splits(subtract_mean=False)
    train, test = mini.arrays["train_images"], mini.arrays["test_images"]

    assert list(splits) == ["X_train", "y_train", "X_val", "y_val", "X_test", "y_test"]
    np.testing.assert_array_equal(splits["X_train"], train[:8, None])
    np.testing.assert_array_equal(splits["X_val"], train[8:12, None])
    np.testing.assert_array_equal(splits["X_test"], test[:, None])
    np.testing.assert_array_equal(splits["y_val"], mini.arrays["train_labels"][8:12])
    np.testing.assert_array_equal(splits["y_test"], mini.arrays["test_labels"])
    assert splits["X_train"].shape == (8, 1, 28, 28) and splits["X_train"].dtype == np.float32
    assert all(splits[f"y_{s}"].dtype == np.int64 for s in ("train", "val", "test"))


def test_mean_training_image_is_subtracted_from_every_split(mini):
    splits = small_splits()
    mean_image = mini.arrays["train_images"][:8].mean(axis=0)

    np.testing.assert_allclose(splits["X_train"].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(splits["X_test"][:, 0], mini.arrays["test_images"] - mean_image)


def test_debians_copies_are_read_when_the_data_root_has_none(tmp_path, monkeypatch):
    debian = make_mini_fashion(tmp_path / "system", seed=1, debian=True)
    monkeypatch.setattr(fm, "SYSTEM_FOLDER", debian.folder)
    monkeypatch.setattr(fm, "FILES", debian.records)

    splits = small_splits(subtract_mean=False)

    np.testing.assert_array_equal(splits["X_test"][:, 0], debian.arrays["test_images"])


def test_a_copy_in_the_data_root_is_read_before_debians(mini, tmp_path, monkeypatch):
    other = make_mini_fashion(tmp_path / "system", seed=1)
    monkeypatch.setattr(fm, "SYSTEM_FOLDER", other.folder)  # other files: their md5s fail

    splits = small_splits(subtract_mean=False)

    np.testing.assert_array_equal(splits["X_test"][:, 0], mini.arrays["test_images"])


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(data.DatasetError) as missing:
        data.get_fashion_mnist_data()
    message = str(missing.value)
    assert str(tmp_path / "data-root" / "fashion-mnist") in message
    assert "nndl data fetch fashion-mnist" in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_a_file_that_fails_its_checksum_is_never_parsed(mini, monkeypatch):
    path = mini.folder / mini.records["test_labels"].name
    path.write_bytes(gzip_bytes(idx_bytes(np.zeros(5, np.uint8))))  # valid IDX, other labels
    parsed, read_idx = [], fm.read_idx
    monkeypatch.setattr(fm, "read_idx", lambda p, *a, **k: parsed.append(p) or read_idx(p, *a, **k))

    with pytest.raises(data.DatasetError, match="md5") as bad:
        data.load_dataset("fashion-mnist", num_training=8, num_validation=4, num_test=5)
    assert str(path) in str(bad.value)
    assert len(parsed) == 3 and path not in parsed


def test_labels_outside_the_ten_classes_are_refused(tmp_path, monkeypatch):
    mini = make_mini_fashion(tmp_path / "data-root" / "fashion-mnist")
    record, raw = published(mini.records["train_labels"].name, np.full(12, 10, np.uint8))
    (mini.folder / record.name).write_bytes(raw)
    monkeypatch.setattr(fm, "FILES", {**mini.records, "train_labels": record})

    with pytest.raises(data.DatasetError, match=r"expected 12 labels in 0\.\.9, one per image"):
        small_splits()


def test_NNDL_DATASET_selects_fashion_mnist(mini, monkeypatch):
    monkeypatch.setenv("NNDL_DATASET", "fashion-mnist")

    splits = data.load_dataset(num_training=8, num_validation=4, num_test=5)

    assert splits["X_train"].shape == (8, 1, 28, 28)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("subtract_mean", [True, False])
def test_load_training_subset_equals_the_subset_of_the_full_load_bit_for_bit(
    mini, subtract_mean, dtype
):
    options = dict(num_training=8, num_validation=4, num_test=5)
    options |= dict(subtract_mean=subtract_mean, dtype=dtype)

    subset = data.load_training_subset(3, "fashion-mnist", **options)
    expected = data.training_subset(data.load_dataset("fashion-mnist", **options), 3)

    assert subset.keys() == expected.keys()
    for key, array in expected.items():
        assert subset[key].dtype == array.dtype, key
        np.testing.assert_array_equal(subset[key], array, err_msg=key)


def test_load_training_subset_reads_no_test_file(mini):
    for key in ("test_images", "test_labels"):
        (mini.folder / mini.records[key].name).write_bytes(b"")  # there, but never read

    subset = data.load_training_subset(5, "fashion-mnist", num_training=8, num_validation=4)

    assert subset["X_train"].shape == (5, 1, 28, 28)


def test_load_training_subset_converts_only_what_it_keeps(mini, monkeypatch):
    converted, as_floats = [], splits_module._as_floats
    monkeypatch.setattr(
        splits_module, "_as_floats", lambda x, *a: converted.append(len(x)) or as_floats(x, *a)
    )

    subset = data.load_training_subset(3, "fashion-mnist", num_training=8, num_validation=4)

    assert subset["X_train"].shape == (3, 1, 28, 28)
    assert converted == [3, 4], "the training images left out were converted"


# ------------------------------------------------------------------------------------------------
# nndl data fetch fashion-mnist / nndl data info
# ------------------------------------------------------------------------------------------------


def run_cli(*argv):
    """``nndl data ARGV``, as the command line runs it (errors printed as one line)."""
    return main(["data", *argv])


def serve(monkeypatch, files):
    """Make pooch's downloads return `files` (name -> bytes); returns the names requested."""
    requested = []

    def download(self, url, output_file, pooch, check_only=False):
        name = url.rsplit("/", 1)[-1]
        requested.append(name)
        with open(output_file, "wb") as out:
            out.write(files[name])

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", download)
    return requested


def test_fetch_downloads_the_four_files_verified_into_the_data_root(tmp_path, monkeypatch, capsys):
    source = make_mini_fashion(tmp_path / "published")
    monkeypatch.setattr(fm, "FILES", source.records)
    files = {r.name: (source.folder / r.name).read_bytes() for r in source.records.values()}
    requested = serve(monkeypatch, files)
    root = tmp_path / "fresh"

    assert run_cli("fetch", "fashion-mnist", "--root", str(root)) == 0

    assert "Fashion-MNIST is ready in" in capsys.readouterr().out
    assert sorted(requested) == sorted(files)
    assert sorted(p.name for p in (root / "fashion-mnist").iterdir()) == sorted(files)
    splits = data.get_fashion_mnist_data(8, 4, 5, subtract_mean=False, root=root)
    np.testing.assert_array_equal(splits["X_test"][:, 0], source.arrays["test_images"])


def test_fetch_downloads_again_only_a_file_that_fails_its_checksum(mini, monkeypatch):
    labels = mini.records["train_labels"].name
    good = (mini.folder / labels).read_bytes()
    (mini.folder / labels).write_bytes(good[:-10])
    requested = serve(monkeypatch, {labels: good})

    data.fetch_fashion_mnist()

    assert requested == [labels]
    assert (mini.folder / labels).read_bytes() == good


def test_fetch_refuses_a_download_whose_md5_is_not_the_published_one(mini, monkeypatch):
    labels = mini.records["train_labels"].name
    (mini.folder / labels).unlink()
    serve(monkeypatch, {labels: b"an error page"})

    with pytest.raises(data.DatasetError, match="could not download"):
        data.fetch_fashion_mnist()
    assert not (mini.folder / labels).exists()


def test_fetch_uses_debians_verified_copy_without_downloading(tmp_path, monkeypatch, capsys):
    debian = make_mini_fashion(tmp_path / "system", debian=True)
    monkeypatch.setattr(fm, "SYSTEM_FOLDER", debian.folder)
    monkeypatch.setattr(fm, "FILES", debian.records)

    assert run_cli("fetch", "fashion-mnist") == 0  # the autouse fixture forbids downloads

    assert f"ready in {debian.folder}" in capsys.readouterr().out


def test_offline_fetch_lists_the_files_with_their_md5s_and_where_to_put_them(
    tmp_path, monkeypatch, capsys
):
    def offline(self, url, output_file, pooch, check_only=False):
        raise OSError("Name or service not known")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", offline)

    assert run_cli("fetch", "fashion-mnist") == 1

    message = capsys.readouterr().err
    assert "could not download" in message and "Name or service not known" in message
    for record in fm.FILES.values():
        assert f"{record.name} ({record.size:,} bytes, md5 {record.md5})" in message
    assert str(tmp_path / "data-root" / "fashion-mnist") in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_fetch_of_fashion_mnist_refuses_an_archive(tmp_path, capsys):
    assert run_cli("fetch", "fashion-mnist", "--archive", str(tmp_path / "x.tar.gz")) == 2
    assert "--archive is for cifar10" in capsys.readouterr().err


def test_info_says_where_fashion_mnist_is_read_from(mini, capsys):
    assert run_cli("info") == 0
    out = capsys.readouterr().out
    assert "NNDL_DATASET=digits|cifar10|fashion-mnist" in out
    assert f"fashion-mnist: {mini.folder} (present)" in out


def test_info_says_how_to_get_fashion_mnist_when_absent(capsys):
    assert run_cli("info") == 0
    assert "fashion-mnist: absent, run `nndl data fetch fashion-mnist`" in capsys.readouterr().out
