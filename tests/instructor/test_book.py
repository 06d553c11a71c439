"""The committed chapters follow the book's rules: every chapter in the table of contents, run
top to bottom in a fresh kernel, without warnings or errors, ending with exercises, and only
timing cells excused from nbval's comparison. (nbval itself, run by ``pytest``, checks that the
outputs are what the code computes today.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.instructor.book_build import toc_chapters

ROOT = Path(__file__).resolve().parent.parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
IGNORE_OUTPUT = "nbval-ignore-output"


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(path: Path):
    return [cell for cell in read(path).cells if cell.cell_type == "code"]


def test_the_table_of_contents_lists_every_chapter_in_order():
    listed = toc_chapters()
    assert listed == [str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS]
    assert len(CHAPTERS) >= 8


def test_the_build_executes_the_chapters_and_fails_on_an_error_or_a_warning():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] in ("force", "cache")
    assert config["execute"]["stderr_output"] == "error", "a printed warning must fail the build"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["only_build_toc_files"] is True
    assert "sphinx-mathjax-offline" in config["sphinx"]["extra_extensions"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_was_run_top_to_bottom_in_a_fresh_kernel(path):
    counts = [cell.execution_count for cell in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; re-run it with `nndl book execute {path}`"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_output_has_no_error_and_no_warning(path):
    for cell in code_cells(path):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: {output.ename}: {output.evalue}"
            assert output.get("name") != "stderr", f"{path.name} printed: {output.text}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_only_timing_cells_are_excused_from_comparison(path):
    for cell in code_cells(path):
        tags = cell.metadata.get("tags", [])
        timed = any(word in cell.source for word in ("timeit", "perf_counter", "time_calls("))
        assert (IGNORE_OUTPUT in tags) == timed, (
            f"{path.name}: a cell {'without' if timed else 'with'} the {IGNORE_OUTPUT} tag "
            f"{'measures time' if timed else 'measures no time'}:\n{cell.source}"
        )
        assert not any(t.startswith("nbval-") and t != IGNORE_OUTPUT for t in tags), tags
        assert "NBVAL_" not in cell.source, "markers in comments would excuse a cell quietly"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_numbered_like_its_file_and_ends_with_exercises(path):
    markdown = [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]
    number = int(path.name[:2])
    assert re.match(rf"# {number}\. \S", markdown[0]), f"{path.name} starts with {markdown[0]!r}"
    assert "## Exercises" in markdown[-1], f"{path.name} does not end with exercises"


# Chapters whose figures phase 2 of issue 20 moves into nndl.book.figures (strict: a fixed one
# fails until it is taken off).
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_drawn_by_nndl_book_figures(path):
    """So that its text has the sizes that nndl.book.figures tests (MIN_FONTSIZE) and the
    browser check measures at 400 px."""
    cells = code_cells(path)
    source = "\n".join(cell.source for cell in cells)
    imports = re.findall(r"from nndl\.book\.figures import (?:\(([^)]*)\)|([\w, ]+))", source)
    helpers = {name.strip() for found in imports for name in ",".join(found).split(",")} - {""}
    for cell in cells:
        if any("image/png" in output.get("data", {}) for output in cell.outputs):
            assert any(f"{name}(" in cell.source for name in helpers), (
                f"{path.name}: a figure not drawn by nndl.book.figures:\n{cell.source}"
            )
            assert "plt." not in cell.source and "set_fontsize" not in cell.source, cell.source
