"""What went wrong with a path, in words: the operating system's errors (a missing file, a file
where a folder should be, no permission, a full disk...) re-raised with a message that names the
path and says what to do, and regular files opened without ever blocking.

``explained(error, path, "write the checkpoint")`` returns an error of the same class
(``FileNotFoundError``, ``PermissionError``, ...; also a ``PathError``) whose message reads
``cannot write the checkpoint runs/x.npz: the disk is full; free space on it or write
elsewhere``. ``nndl``'s command line prints that one line for any ``OSError``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class PathError(OSError):
    """An ``OSError`` whose message names the path and says what to do; it keeps the original's
    ``errno`` and ``filename``, and is an instance of the original's class too."""

    def __str__(self):
        return self.strerror


_EXPLAINED: dict[type, type] = {}


def explained(error: OSError, path=None, action: str = "use") -> PathError:
    """``error`` as a ``PathError`` (and an instance of ``type(error)``) whose message says
    ``cannot {action} {path}: {what went wrong}; {what to do}``."""
    if isinstance(error, PathError):
        return error
    path = error.filename if path is None else path
    return path_error(
        type(error), error.errno, f"cannot {action} {path}: {reason(error, path)}", path
    )


def path_error(cls: type, code: int, message: str, path) -> PathError:
    """A ``PathError`` that is also an instance of ``cls`` (``IsADirectoryError``, say)."""
    if cls not in _EXPLAINED:
        _EXPLAINED[cls] = type(cls.__name__, (PathError, cls), {})
    return _EXPLAINED[cls](code, message, str(path))


def reason(error: OSError, path=None) -> str:
    """What went wrong and what to do, for the usual errors of a path; the system's own words for
    the others."""
    path = Path(error.filename if path is None else path)
    code = error.errno
    if code == errno.ENOENT:
        return _missing(path)
    if code == errno.ENOTDIR:
        blocker = file_in_the_way(path)
        where = f"{blocker} is a file" if blocker else "a part of the path is a file"
        return f"{'it is a file' if blocker == path else where}, {_FILE_IN_THE_WAY}"
    if code == errno.EISDIR:
        return "it is a folder, where a file should be; name a file, or remove the folder"
    if code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied; check the permissions of it and of its folder (ls -ld), or "
            "choose a path you may use"
        )
    if code == errno.EROFS:
        return "the file system is read-only; choose a folder on a writable disk"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full (or your quota is used up); free space on it, or write elsewhere"
    if code == errno.ELOOP:
        return "a symbolic link on the path points back to itself; replace it with the real file"
    if code == errno.ENAMETOOLONG:
        return "the name is too long for the file system; choose a shorter one"
    if code == errno.EEXIST:
        if path.exists() and not path.is_dir():
            return f"it is a file, {_FILE_IN_THE_WAY}"
        return "something already exists there; remove it or choose another path"
    return error.strerror or str(error)


_FILE_IN_THE_WAY = "where a folder should be; remove or rename it, or choose another path"


def _missing(path: Path) -> str:
    if path.is_symlink():
        return f"it is a symbolic link to {os.readlink(path)}, which does not exist"
    parent = path.parent
    while parent != parent.parent and not parent.exists():
        parent = parent.parent
    if parent != path.parent:
        return f"no such file or folder (not even {path.parent} exists; {parent} does)"
    return "no such file or folder"


def file_in_the_way(path) -> Path | None:
    """The first folder on the way to path that exists but is not a folder (None if none)."""
    for part in reversed(Path(path).parents):
        if part.exists() and not part.is_dir():
            return part
    return None


def open_regular(path, action: str = "read"):
    """``path`` opened for reading in binary, if it is a regular file; never blocks (a FIFO or a
    device is refused, not read). Raises a ``PathError`` saying what the path is instead."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise explained(error, path, action) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                cls, code, kind = (
                    IsADirectoryError,
                    errno.EISDIR,
                    "a folder, where a file should be",
                )
            else:
                cls, code, kind = OSError, errno.EINVAL, f"{_kind(mode)}, not a regular file"
            raise path_error(cls, code, f"cannot {action} {path}: it is {kind}", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), which would block until something writes to it"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"
