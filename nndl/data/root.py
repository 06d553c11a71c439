"""Where downloaded data lives: ``--root``, else ``$NNDL_DATA``, else the user cache directory."""

from __future__ import annotations

import os
from pathlib import Path

from nndl.data.errors import _import_optional


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
