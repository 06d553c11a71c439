"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 grey 28x28 images of clothes in ten
classes, in the four gzipped IDX files its authors publish, read safely and verified.

The files come from Debian's package when it is installed (``apt-get install
dataset-fashion-mnist`` puts them in /usr/share/datasets/fashion-mnist), else from the data root,
where ``nndl data fetch fashion-mnist`` downloads them. Every file is checked against the md5 its
authors published before a byte of it is parsed. Debian's copies hold the same compressed data
as the published files under another gzip header (the package build drops the file name and
resets the date), so a file whose own md5 differs is also accepted when the published header,
put back in front of its compressed data, gives the published md5.

IDX is a plain format: two zero bytes, a type code (0x08 for unsigned bytes), the number of
dimensions, each dimension as a big-endian 32-bit integer, then the values. The parser reads no
more than the file holds: a header's dimensions are checked against the file's length (for a
gzipped file, against its recorded length and the most that deflate can expand) before anything
is allocated for them.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndl.data.errors import DatasetError, _import_optional
from nndl.data.root import data_root
from nndl.data.splits import _make_splits, _split_sizes

# Where Debian's dataset-fashion-mnist package puts the four files.
SYSTEM_FOLDER = Path("/usr/share/datasets/fashion-mnist")
# The folder in the data root that ``nndl data fetch fashion-mnist`` fills.
FOLDER = "fashion-mnist"
# The authors' repository holds the published files (the same bytes as their S3 mirror's).
BASE_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"


@dataclass(frozen=True)
class IdxFile:
    """One published file: its name, how to verify it and what its IDX header must declare."""

    name: str
    md5: str  # of the gzipped file, as the authors publish it
    size: int  # bytes of the gzipped file
    shape: tuple[int, ...]  # the dimensions its header declares
    gzip_mtime: int  # the date in the published file's gzip header (a Unix time)

    @property
    def url(self) -> str:
        return BASE_URL + self.name

    @property
    def gzip_header(self) -> bytes:
        """The published file's gzip header, as GNU gzip -6 wrote it: deflate (8), a file
        name (flag 8), the date, no extra flags (0), Unix (3), then the name and a zero byte."""
        name = self.name.removesuffix(".gz").encode()
        return b"\x1f\x8b\x08\x08" + struct.pack("<I", self.gzip_mtime) + b"\x00\x03" + name + b"\0"


# The published md5s and sizes (the dataset's README); the gzip dates are those of the published
# files, found by putting candidate headers in front of Debian's compressed data.
FILES = {
    "train_images": IdxFile(
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        26_421_880,
        (60_000, 28, 28),
        1_504_176_606,  # 2017-08-31 10:50:06 UTC
    ),
    "train_labels": IdxFile(
        "train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
        29_515,
        (60_000,),
        1_504_176_606,  # 2017-08-31 10:50:06 UTC
    ),
    "test_images": IdxFile(
        "t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
        4_422_102,
        (10_000, 28, 28),
        1_504_176_627,  # 2017-08-31 10:50:27 UTC
    ),
    "test_labels": IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
        5_148,
        (10_000,),
        1_504_176_627,  # 2017-08-31 10:50:27 UTC
    ),
}
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# IDX type codes, for naming the one a file has; nndl reads unsigned bytes only.
IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32"}
IDX_TYPES |= {0x0D: "float32", 0x0E: "float64"}
# zlib's window bits for a gzip stream (header and CRC checked).
GZIP = 16 + zlib.MAX_WBITS
# Deflate's best ratio: a stream of n bytes never expands to more than about 1032 n bytes.
MAX_DEFLATE_RATIO = 1032


# ------------------------------------------------------------------------------------------------
# IDX files
# ------------------------------------------------------------------------------------------------


def read_idx(path, shape=None, raw=None):
    """Read an IDX file of unsigned bytes, gzipped or plain, into a uint8 array.

    Inputs:
    - path: the file (its name appears in every error).
    - shape: None, or the dimensions its header must declare (checked before reading the data).
    - raw: the file's bytes if already read (the loader reads them once to verify them).

    Returns a read-only uint8 array of the declared shape.

    Raises DatasetError naming the file if it is missing, is not IDX, holds another type than
    unsigned bytes, declares other dimensions than `shape`, or holds more or fewer values than
    its header declares (a truncated or padded file).
    """
    path = Path(path)
    if raw is None:
        raw = _read_bytes(path)
    if raw[:2] == b"\x1f\x8b":
        return _read_gzipped_idx(path, raw, shape)
    dims, offset = _idx_header(path, raw, shape)
    _check_length(path, len(raw) - offset, math.prod(dims))
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(dims)


def _read_gzipped_idx(path, raw, shape):
    """The IDX array inside a gzip stream: header first, then exactly the values it declares."""
    try:
        # An IDX header is at most 4 + 4 * 255 bytes; the first 64 KiB of a stream hold it.
        head = zlib.decompressobj(GZIP).decompress(memoryview(raw)[:65536], 4 + 4 * 255)
        if len(head) < 4:
            raise DatasetError(
                f"{path}: the gzip stream ends before the IDX header (it holds {len(head)} "
                "bytes): truncated or empty"
            )
        dims, offset = _idx_header(path, head, shape)
        count = math.prod(dims)
        # The gzip trailer records the content's length mod 2**32, and deflate expands at most
        # ~1032-fold: a header that declares more than the file holds is refused before the
        # values are decompressed.
        recorded = struct.unpack("<I", raw[-4:])[0]
        if recorded != (offset + count) % 2**32 or count > MAX_DEFLATE_RATIO * len(raw):
            raise DatasetError(
                f"{path}: its header declares {_shape_text(dims)} = {count:,} values, but the "
                f"gzip file ({len(raw):,} bytes) records {recorded:,} bytes of content: "
                "truncated, or a header that does not describe the data"
            )
        stream = zlib.decompressobj(GZIP)
        content = stream.decompress(memoryview(raw), offset + count + 1)
        if len(content) == offset + count and not stream.eof:  # one more byte would be too many
            content += stream.decompress(stream.unconsumed_tail, 1)
    except zlib.error as err:
        raise DatasetError(f"{path}: not a valid gzip file ({err}): corrupt or truncated") from None
    _check_length(path, len(content) - offset, count)
    if not stream.eof:
        raise DatasetError(f"{path}: the gzip stream ends early: truncated")
    if stream.unused_data:
        raise DatasetError(f"{path}: {len(stream.unused_data):,} bytes follow the gzip stream")
    return np.frombuffer(content, np.uint8, offset=offset).reshape(dims)


def _idx_header(path, raw, shape):
    """The dimensions an IDX header declares, and where its values start; checked against
    `shape`."""
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise DatasetError(
            f"{path}: starts with {raw[:4].hex(' ') or 'nothing'}, not an IDX header (two zero "
            "bytes, a type code, the number of dimensions)"
        )
    code, ndim = raw[2], raw[3]
    if code != 0x08:
        kind = IDX_TYPES.get(code, "an unknown type")
        raise DatasetError(
            f"{path}: IDX type code 0x{code:02x} ({kind}); nndl reads unsigned bytes (0x08) only"
        )
    offset = 4 + 4 * ndim
    if ndim == 0 or len(raw) < offset:
        raise DatasetError(
            f"{path}: the IDX header declares {ndim} dimensions but the file ends before them"
            if ndim
            else f"{path}: the IDX header declares no dimensions"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:offset])
    if shape is not None and dims != tuple(shape):
        raise DatasetError(
            f"{path}: the IDX header declares {_shape_text(dims)}, expected {_shape_text(shape)}"
        )
    return dims, offset


def _check_length(path, available, count):
    if available != count:
        what = "truncated" if available < count else "longer than its header says"
        raise DatasetError(
            f"{path}: holds {available:,} values where its header declares {count:,}: {what}"
        )


def _shape_text(dims):
    return " x ".join(f"{d:,}" for d in dims)


def _read_bytes(path):
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err.strerror})") from None


# ------------------------------------------------------------------------------------------------
# Verifying the published files
# ------------------------------------------------------------------------------------------------


def verified_bytes(path, record):
    """The bytes of `path`, once they are known to be the published file `record`.

    A file passes if its md5 is the published one, or if it is the published compressed data
    under another gzip header (Debian's copies): the published header put back in its place
    then gives the published md5.

    Raises DatasetError naming the file, its md5 and the published one otherwise.
    """
    raw = _read_bytes(Path(path))
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    if md5 == record.md5:
        return raw
    start = _gzip_data_start(raw)
    if start is not None:
        restored = hashlib.md5(record.gzip_header, usedforsecurity=False)
        restored.update(memoryview(raw)[start:])
        if restored.hexdigest() == record.md5:
            return raw
    raise DatasetError(
        f"{path}: md5 {md5} ({len(raw):,} bytes), expected {record.md5} ({record.size:,} bytes, "
        f"as published for {record.name}), also with the published gzip header: corrupt, "
        "truncated or another file. `nndl data fetch fashion-mnist` downloads a verified copy "
        "into the data root, which is read first."
    )


def _gzip_data_start(raw):
    """Where a gzip file's compressed data starts (after its header), or None if it is not
    gzip. The header: 10 bytes, then the optional fields its flags announce (RFC 1952)."""
    if len(raw) < 18 or raw[:3] != b"\x1f\x8b\x08":
        return None
    flags, start = raw[3], 10
    if flags & 0x04:  # FEXTRA: a length, then that many bytes
        start += 2 + int.from_bytes(raw[start : start + 2], "little")
    for flag in (0x08, 0x10):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = raw.find(b"\0", start)
            if end < 0:
                return None
            start = end + 1
    if flags & 0x02:  # FHCRC: two bytes
        start += 2
    return start if start < len(raw) else None


# ------------------------------------------------------------------------------------------------
# Where the files are, loading, fetching
# ------------------------------------------------------------------------------------------------


def _is_complete(folder):
    return all((Path(folder) / record.name).is_file() for record in FILES.values())


def fashion_mnist_folder(root=None):
    """The folder to read Fashion-MNIST from: ``<data root>/fashion-mnist`` if it holds the four
    files, else Debian's /usr/share/datasets/fashion-mnist if it does.

    Raises DatasetError, saying how to get the files, if neither holds them.
    """
    fetched = data_root(root) / FOLDER
    for folder in (fetched, SYSTEM_FOLDER):
        if _is_complete(folder):
            return folder
    raise DatasetError(
        f"Fashion-MNIST is neither in {fetched} nor in {SYSTEM_FOLDER}: run `nndl data fetch "
        "fashion-mnist` (30 MB), or on Debian or Ubuntu `apt-get install dataset-fashion-mnist`"
    )


def load_fashion_mnist_file(folder, key):
    """One of the four files (``"train_images"``, ``"train_labels"``, ``"test_images"``,
    ``"test_labels"``) of `folder`, verified, as a uint8 array of its published shape."""
    record = FILES[key]
    path = Path(folder) / record.name
    return read_idx(path, record.shape, raw=verified_bytes(path, record))


def _load_pair(folder, split):
    """(images (N, 1, 28, 28) uint8, labels (N,) int64) of the "train" or "test" files."""
    images = load_fashion_mnist_file(folder, f"{split}_images")
    labels = load_fashion_mnist_file(folder, f"{split}_labels")
    if len(labels) != len(images) or labels.max(initial=0) >= len(CLASSES):
        raise DatasetError(
            f"{Path(folder) / FILES[f'{split}_labels'].name}: expected {len(images):,} labels in "
            f"0..{len(CLASSES) - 1}, one per image"
        )
    return images[:, None], labels.astype(np.int64)


def get_fashion_mnist_data(
    num_training=50_000,
    num_validation=10_000,
    num_test=10_000,
    subtract_mean=True,
    dtype=np.float32,
    root=None,
    *,
    keep_train=None,
):
    """Load Fashion-MNIST and cut it into training, validation and test splits.

    Training images are the first `num_training` of the published training file, validation
    images the next `num_validation` (by default its last 10,000, 50,000..59,999), test images
    the first `num_test` of the published test file. The training file is in random order
    (its last 10,000 hold 955 to 1,050 images of each class), so no shuffle is needed. Pixels
    (0..255) are converted to `dtype` once per split, the mean training image subtracted in the
    same pass.

    Inputs:
    - num_training, num_validation, num_test: split sizes (at most 60,000 for the first two
      together, 10,000 for the test split).
    - subtract_mean: subtract the mean training image from every split.
    - dtype: floating dtype of the images.
    - root: data root whose fashion-mnist/ folder is read before Debian's (default: $NNDL_DATA,
      else the user cache directory).
    - keep_train: as in get_CIFAR10_data: only the first `keep_train` training images and the
      validation split (the mean image still that of all `num_training`), without converting
      the rest or reading the test files; ``load_training_subset`` uses it.

    Returns a dict with X_train (num_training, 1, 28, 28), y_train (num_training,), X_val,
    y_val, X_test and y_test shaped alike; images in `dtype`, labels int64 in 0..9.
    """
    sizes = _split_sizes(num_training, num_validation, num_test)
    folder = fashion_mnist_folder(root)
    pool = _load_pair(folder, "train")
    if keep_train is None:
        test = _load_pair(folder, "test")
    else:
        test = (pool[0][:0], pool[1][:0])  # not returned; nothing to read
        sizes = (*sizes[:2], 0)
    return _make_splits(pool, test, sizes, subtract_mean, dtype, keep_train)


def fetch_fashion_mnist(root=None):
    """Make sure a verified copy of the four files is at hand, and return its folder.

    Debian's copy, when installed and verified, is used as it is (unless the data root holds
    all four files: the loader reads those first). Otherwise the files missing from
    ``<data root>/fashion-mnist``, or failing verification there, are downloaded with pooch,
    which keeps a file only once its md5 is the published one.

    Raises DatasetError if a file cannot be downloaded; the message says how to get the files
    by hand and where to put them.
    """
    target = data_root(root) / FOLDER
    if not _is_complete(target) and _is_complete(SYSTEM_FOLDER):
        if all(_verifies(SYSTEM_FOLDER / record.name, record) for record in FILES.values()):
            return SYSTEM_FOLDER
    for record in FILES.values():
        if not _verifies(target / record.name, record):
            _download(record, target)  # pooch replaces a file whose md5 is wrong
    return target


def _verifies(path, record):
    try:
        verified_bytes(path, record)
    except DatasetError:
        return False
    return True


def _download(record, target):
    pooch = _import_optional("pooch")
    try:
        pooch.retrieve(
            record.url,
            known_hash=f"md5:{record.md5}",
            fname=record.name,
            path=target,
            progressbar=True,
        )
    except (OSError, ValueError) as err:  # requests' network errors are OSErrors
        listing = "\n".join(f"  {r.name} ({r.size:,} bytes, md5 {r.md5})" for r in FILES.values())
        raise DatasetError(
            f"could not download {record.url} ({type(err).__name__}: {err}).\n"
            f"Get the four files from a machine with network access ({BASE_URL}):\n"
            f"{listing}\n"
            f"copy them to {target} and run `nndl data fetch fashion-mnist` again to verify "
            "them; or, on Debian or Ubuntu, `apt-get install dataset-fashion-mnist`."
        ) from err
