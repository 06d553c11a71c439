"""The part "Why it helps" (chapters 12-15) on Fashion-MNIST: every chapter executes with
``NNDL_DATASET=fashion-mnist``, so the findings each asserts in code (in its hidden cells) hold on
a second dataset, not only on the digits whose outputs the book commits and nbval compares.

It needs Fashion-MNIST on this machine (Debian's ``dataset-fashion-mnist`` package, or ``nndl data
fetch fashion-mnist`` into the data root). Without it the test skips, and says why in pytest's
summary (``-ra``): nothing here downloads it.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest

from nndl.book.execute import execute_chapters
from nndl.data import DatasetError
from nndl.data.fashion_mnist import fashion_mnist_folder

ROOT = Path(__file__).resolve().parent.parent.parent
CHAPTERS = sorted((ROOT / "book").glob("1[2-5]_*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fashion_mnist() -> Path:
    try:
        return fashion_mnist_folder()
    except (DatasetError, OSError) as error:
        pytest.skip(
            "Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist, or "
            f"nndl data fetch fashion-mnist): {error}"
        )


def test_the_part_why_it_helps_has_chapters():
    assert len(CHAPTERS) >= 2, "book/12_*.ipynb and book/13_*.ipynb at least"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_chapter_executes_and_its_findings_hold_on_fashion_mnist(
    chapter, fashion_mnist, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("NNDL_DATASET", "fashion-mnist")
    copy = tmp_path / chapter.name
    shutil.copy(chapter, copy)
    start = time.perf_counter()
    execute_chapters([copy], timeout=900)  # raises, naming the cell, if an assertion fails
    with capsys.disabled():
        print(f"\n{chapter.stem} on Fashion-MNIST: {time.perf_counter() - start:.0f} s")
    executed = nbformat.read(copy, as_version=4)
    errors = [
        output.get("text", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("name") == "stderr"
    ]
    assert not errors, f"{chapter.name} wrote to stderr on Fashion-MNIST: {errors}"
