"""nndl.book.execute: re-executing the chapters in place (``nndl book execute``)."""

from __future__ import annotations

import argparse

import pytest

from nndl.book.execute import ChapterError, execute_chapters, merge_streams, register_cli
from nndl.cli import UsageError


def test_merge_streams_joins_consecutive_pieces_of_one_stream_only():
    def stream(name, text):
        return {"output_type": "stream", "name": name, "text": text}

    figure = {"output_type": "display_data", "data": {}}
    outputs = [stream("stdout", "a"), stream("stdout", "b"), stream("stderr", "c"), figure]
    outputs += [stream("stdout", "d")]
    merged = merge_streams(outputs)
    assert merged == [stream("stdout", "ab"), stream("stderr", "c"), figure, stream("stdout", "d")]


# --------------------------------------------------------------------------------------------
# Re-executing chapters
# --------------------------------------------------------------------------------------------


def test_execute_chapters_runs_a_notebook_in_place_with_counts_from_one(tmp_path):
    import nbformat

    cells = [nbformat.v4.new_code_cell(src) for src in ("x = 6 * 7", "print(x); print(x + 1)")]
    cells[0].execution_count = 12
    path = tmp_path / "01_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)

    [(done, seconds)] = execute_chapters([path], timeout=60)

    notebook = nbformat.read(path, as_version=4)
    assert done == path and seconds > 0
    assert [c.execution_count for c in notebook.cells] == [1, 2]
    assert notebook.cells[1].outputs == [
        {"output_type": "stream", "name": "stdout", "text": "42\n43\n"}
    ]
    assert "execution" not in notebook.cells[1].metadata, "no timing metadata in a chapter"


def test_book_execute_command_says_where_it_looked_when_there_are_no_chapters(tmp_path):
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["book", "execute", "--book", str(tmp_path)])
    with pytest.raises(UsageError, match="no chapters found in"):
        args.func(args)


def test_a_notebook_that_is_not_json_is_named_and_left_alone(tmp_path):
    path = tmp_path / "01_broken.ipynb"
    path.write_text('{"cells": [')
    with pytest.raises(ChapterError, match="01_broken.ipynb is not a readable notebook "
                       r"\(NotJSONError"):  # fmt: skip
        execute_chapters([path], timeout=60)
    assert path.read_text() == '{"cells": ['


def test_a_failing_cell_is_named_and_the_notebook_not_written_back(tmp_path):
    import nbformat

    cells = [nbformat.v4.new_code_cell(src) for src in ("x = 1", "1 / 0", "y = 2")]
    path = tmp_path / "01_fails.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    before = path.read_text()
    with pytest.raises(ChapterError, match="01_fails.ipynb: cell 2 raised ZeroDivisionError: "
                       "division by zero; the notebook was not written back"):  # fmt: skip
        execute_chapters([path], timeout=60)
    assert path.read_text() == before


# --------------------------------------------------------------------------------------------
# The kernels' connections
# --------------------------------------------------------------------------------------------

UNENCRYPTED = "without encryption"


@pytest.fixture
def unencrypted_default(monkeypatch):
    """jupyter_client's own default, whatever an earlier test of this process set."""
    from jupyter_client.manager import KernelManager

    trait = KernelManager.class_traits()["transport_encryption"]
    monkeypatch.setattr(trait, "default_value", "disabled")
    return trait


def test_execute_chapters_starts_kernels_without_the_unencrypted_tcp_warning(
    tmp_path, capfd, unencrypted_default
):
    import nbformat

    path = tmp_path / "01_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    execute_chapters([path], timeout=60)
    # The kernel writes its log to the stderr it inherits: this process's file descriptor 2.
    assert UNENCRYPTED not in capfd.readouterr().err
    assert unencrypted_default.default_value == "auto"


def test_the_book_build_loads_the_extension_that_encrypts_kernel_connections(unencrypted_default):
    from pathlib import Path

    import yaml

    from nndl.book import kernel

    config = yaml.safe_load((Path(__file__).parent.parent / "_config.yml").read_text())
    assert "nndl.book.kernel" in config["sphinx"]["extra_extensions"]
    kernel.setup(app=None)
    assert unencrypted_default.default_value == "auto"
