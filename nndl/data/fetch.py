"""Fetching CIFAR-10: download (pooch), verify (size and md5), unpack into place; and the
``nndl data fetch`` / ``nndl data info`` command line."""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path

from nndl.cli import UsageError
from nndl.data.cifar10 import CIFAR10
from nndl.data.errors import DatasetError, _import_optional
from nndl.data.fashion_mnist import fashion_mnist_folder, fetch_fashion_mnist
from nndl.data.root import _locate_root, data_root
from nndl.data.select import DATASETS, selected_dataset
from nndl.paths import reason


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
    try:
        root.mkdir(parents=True, exist_ok=True)  # before a download: a local cause, said so
        if at_hand.is_file():
            _verify_archive(at_hand)
            _unpack(at_hand, root)
        elif archive is not None:
            what = "a folder, not the archive" if at_hand.is_dir() else "no such file"
            raise DatasetError(f"{at_hand}: {what}")
        else:
            downloaded = _download(root)
            _unpack(downloaded, root)
            downloaded.unlink()  # the unpacked folder is all the loader reads
    except OSError as error:  # the data root: a file, read-only, a full disk...
        path = error.filename or root
        where = "" if str(path) == str(root) else f"{path}: "
        raise DatasetError(f"cannot fetch CIFAR-10 into {root}: {where}{reason(error)}") from None
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


# ------------------------------------------------------------------------------------------------
# Command line: `nndl data fetch cifar10`, `nndl data info`
# ------------------------------------------------------------------------------------------------


def register_cli(subparsers):
    """Add the ``data`` subcommand (``fetch`` and ``info``) to the ``nndl`` command line."""
    parser = subparsers.add_parser("data", help="fetch a dataset; show which dataset is used")
    actions = parser.add_subparsers(dest="data_command", required=True)
    root_help = "data root (default: $NNDL_DATA, else the user cache directory)"

    fetch = actions.add_parser("fetch", help="download, verify and unpack a dataset")
    fetch.add_argument("dataset", choices=["cifar10", "fashion-mnist"])
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
    if args.dataset == "fashion-mnist" and args.archive is not None:
        raise UsageError(
            "--archive is for cifar10; for fashion-mnist, copy its four .gz files into "
            f"{data_root(args.root) / 'fashion-mnist'} and run the fetch again"
        )
    # nndl's main prints an error's one line
    if args.dataset == "fashion-mnist":
        target = fetch_fashion_mnist(args.root)
    else:
        target = fetch_cifar10(args.root, args.archive)
    name = {"cifar10": "CIFAR-10", "fashion-mnist": "Fashion-MNIST"}[args.dataset]
    print(f"{name} is ready in {target}; select it with NNDL_DATASET={args.dataset}")
    return 0


def _run_info(args):
    from nndl.cli import UsageError

    try:
        name = selected_dataset()
    except ValueError as err:
        raise UsageError(str(err)) from None
    origin = "NNDL_DATASET" if os.environ.get("NNDL_DATASET") else "default"
    root, root_origin = _locate_root(args.root)
    cifar10_dir = root / CIFAR10.folder
    print(f"dataset:   {name} ({origin}; choose with NNDL_DATASET={'|'.join(DATASETS)})")
    print(f"data root: {root} ({root_origin})")
    print("digits:    embedded in scikit-learn, always available")
    status = "present" if _is_complete(cifar10_dir) else "absent, run `nndl data fetch cifar10`"
    print(f"cifar10:   {cifar10_dir} ({status})")
    try:
        print(f"fashion-mnist: {fashion_mnist_folder(args.root)} (present)")
    except DatasetError:
        print("fashion-mnist: absent, run `nndl data fetch fashion-mnist`")
    return 0
