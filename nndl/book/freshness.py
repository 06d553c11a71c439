"""The book's build follows the code: when the code the chapters run has changed since the last
build, every chapter is read, and so executed, again.

Sphinx rebuilds only the sources that changed since its last build (it keeps what it read in
``_build/.doctrees``), so after an edit of ``nndl/layers.py`` the build would re-execute no
chapter and the HTML would show what the old code computed. This extension fingerprints what the
chapters' output depends on besides the chapters themselves:

- every file of the ``nndl`` and ``derivations`` packages the build imports (the ones the
  chapters' kernels import, from the same environment);
- the name and version of every installed distribution (a new numpy changes last bits);
- the environment variables that select the data (``NNDL_DATASET``, ``NNDL_DATA``).

It keeps the fingerprint in Sphinx's environment; when it differs from the last build's, every
document is outdated and re-read, which, with ``execute_notebooks: force``, re-executes it.

A Sphinx extension, listed in ``sphinx.extra_extensions`` of ``_config.yml``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

PACKAGES = ("nndl", "derivations")
ENVIRONMENT = ("NNDL_DATASET", "NNDL_DATA")


def package_files(name: str) -> list[tuple[str, Path]]:
    """The files of the importable package ``name`` (its code and data, not its byte code), as
    (path inside the package, path), sorted; none when it is not importable."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    files = []
    for folder in map(Path, spec.submodule_search_locations):
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path.relative_to(folder).as_posix(), path))
    return sorted(files)


def fingerprint() -> str:
    """A hash of the code, the installed versions and the data settings the chapters run with."""
    digest = hashlib.sha256()
    for name in PACKAGES:
        for inside, path in package_files(name):
            digest.update(f"{name}/{inside}\0".encode())
            digest.update(path.read_bytes())
    versions = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    )
    digest.update("\n".join(versions).encode())
    for variable in ENVIRONMENT:
        digest.update(f"{variable}={os.environ.get(variable, '')}\0".encode())
    return digest.hexdigest()


def _outdated(app, env, added, changed, removed) -> list[str]:
    """Sphinx's env-get-outdated: every document, when the fingerprint changed."""
    current = fingerprint()
    previous = getattr(env, "nndl_fingerprint", None)
    env.nndl_fingerprint = current
    if previous == current:
        return []
    # A first build reads every document anyway; a build from before this extension, or after a
    # change, reads them all again.
    return sorted(env.found_docs - set(added) - set(changed))


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
