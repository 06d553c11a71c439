"""The CIFAR-10 edition of the book builds: every chapter executes on CIFAR-10 with ``-W``, so
the findings each chapter asserts hold there too (a chapter that finds different numbers on the
two datasets asserts them per dataset, and says so).

It needs CIFAR-10 on this machine, from either
- ``$NNDL_DATA`` holding ``cifar-10-batches-py/`` (what ``nndl data fetch cifar10`` writes), or
- ``../shared/data/cifar10-jpeg`` beside the project (this project's CI has it), whose
  ``make_batches.py`` writes the official format into a temporary folder (it needs Pillow, which
  the test extra installs).
Without either it skips, and says why in pytest's summary (``-ra``): a fresh machine has no
CIFAR-10 and nothing here downloads it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.instructor.book_build import toc_chapters

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_JPEG = ROOT.parent / "shared" / "data" / "cifar10-jpeg"
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

pytestmark = pytest.mark.slow


def has_cifar10(root: Path) -> bool:
    return all((root / "cifar-10-batches-py" / name).is_file() for name in BATCHES)


@pytest.fixture(scope="module")
def cifar10_root(tmp_path_factory) -> Path:
    """A data root with CIFAR-10 in the official format."""
    if os.environ.get("NNDL_DATA") and has_cifar10(Path(os.environ["NNDL_DATA"])):
        return Path(os.environ["NNDL_DATA"])
    if (SHARED_JPEG / "make_batches.py").is_file():
        root = tmp_path_factory.mktemp("cifar10")
        script = [sys.executable, str(SHARED_JPEG / "make_batches.py"), str(root)]
        result = subprocess.run(script, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"make_batches.py failed:\n{result.stderr}"
        assert has_cifar10(root), f"make_batches.py did not write CIFAR-10 into {root}"
        return root
    pytest.skip(
        "CIFAR-10 is not on this machine: set NNDL_DATA to a folder holding "
        f"cifar-10-batches-py/ (nndl data fetch cifar10), or put {SHARED_JPEG} beside the project"
    )


def test_the_cifar10_edition_builds_with_every_chapter_executed(cifar10_root, tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", "-W", "--keep-going", "--path-output", str(tmp_path)]
    env = {**os.environ, "NNDL_DATASET": "cifar10", "NNDL_DATA": str(cifar10_root)}
    start = time.perf_counter()
    result = subprocess.run(
        [*command, str(ROOT)], capture_output=True, text=True, env=env, timeout=1800
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    executed = re.findall(r"book/(\w+)\.ipynb: Executed notebook in ([\d.]+) seconds", log)
    print(f"CIFAR-10 edition built in {seconds:.0f} s; chapters executed:")
    for chapter, chapter_seconds in executed:
        print(f"  {chapter}: {float(chapter_seconds):.0f} s")
    assert result.returncode == 0, f"the CIFAR-10 edition does not build:\n{log[-6000:]}"
    chapters = toc_chapters()
    assert [f"book/{name}" for name, _ in executed] == chapters, "a chapter was not executed"
    html = tmp_path / "_build" / "html"
    assert all((html / f"{chapter}.html").is_file() for chapter in chapters)
