"""The README's build command follows the code: after a change to ``nndl/`` or ``derivations/``
it re-executes the chapters (``nndl.book.freshness``), where Sphinx alone would rebuild nothing
and leave the pages showing what the old code computed.

The build is the README's (``jupyter-book build -W --keep-going .``, executing the chapters), on
a copy of the project whose book is one small chapter, so that it takes seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.instructor.book_build import ROOT

JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
PROBE = "nndl/_probe.py"


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's code and book configuration, with one chapter that prints a value
    from a module of the copy's ``nndl``."""
    copy = tmp_path / "project"
    for package in ("nndl", "derivations"):
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (copy / PROBE).write_text("VALUE = 'first'\n")
    shutil.copy(ROOT / "_config.yml", copy / "_config.yml")
    (copy / "_toc.yml").write_text("format: jb-book\nroot: book/01_probe\n")
    cells = [
        nbformat.v4.new_markdown_cell("# 1. Probe"),
        nbformat.v4.new_code_cell("from nndl._probe import VALUE\nprint('the value is', VALUE)"),
    ]
    (copy / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", copy / "book" / "references.bib")
    nbformat.write(nbformat.v4.new_notebook(cells=cells), copy / "book" / "01_probe.ipynb")
    return copy


def build(project: Path) -> tuple[str, str]:
    """The README's build command in ``project``, importing the copy's packages; returns the
    chapter's page and the build's log."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", "-W", "--keep-going", "."],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    page = (project / "_build" / "html" / "book" / "01_probe.html").read_text()
    return page, log


def executed(log: str) -> bool:
    return re.search(r"01_probe\.ipynb: Executed notebook", log) is not None


@pytest.mark.slow
def test_a_change_to_the_code_re_executes_the_chapters_and_nothing_else_does(project):
    page, log = build(project)
    assert executed(log) and "the value is first" in page

    page, log = build(project)
    assert not executed(log), "an unchanged project re-executed its chapter"

    (project / PROBE).write_text("VALUE = 'second'\n")
    page, log = build(project)
    assert executed(log), "a change to nndl/ did not re-execute the chapter:\n" + log[-3000:]
    assert "the value is second" in page and "the value is first" not in page

    with open(project / "derivations" / "__init__.py", "a") as module:
        module.write("# a comment is a change too\n")
    page, log = build(project)
    assert executed(log), "a change to derivations/ did not re-execute the chapter"


def fingerprint_in(project: Path, **environment: str) -> str:
    """``nndl.book.freshness.fingerprint()`` in a Python that imports the copy's packages."""
    env = {**os.environ, "PYTHONPATH": str(project), **environment}
    code = "from nndl.book.freshness import fingerprint; print(fingerprint())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_fingerprint_follows_code_and_data_settings_not_byte_code(project):
    first = fingerprint_in(project)
    assert fingerprint_in(project) == first, "the fingerprint is not a function of the files"
    (project / "nndl" / "__pycache__").mkdir(exist_ok=True)
    (project / "nndl" / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"\0")
    assert fingerprint_in(project) == first, "byte code is not the code"
    assert fingerprint_in(project, NNDL_DATASET="cifar10") != first, "the dataset changes outputs"
    (project / "derivations" / "new_module.py").write_text("")
    assert fingerprint_in(project) != first, "a new file in derivations/ went unnoticed"
