"""One name, three places: the book's side. The committed chapters print every node and every
staged gradient of ``derivations`` under the name the code gives it, beside its LaTeX symbol, in
the derivation's order; and the staged backward that chapter 4 prints assigns the gradients in
that same order (the chapter says "the same list, in the same order").

These read the committed outputs (what a reader of the book sees), so a node renamed in the book,
or a chapter not re-executed after a rename in ``derivations``, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from derivations import batchnorm_test, batchnorm_train, latex_name

BOOK = Path(__file__).resolve().parent.parent.parent / "book"


def markdown_tables(chapter: str, header: str) -> list[list[str]]:
    """The rows (lists of cells) of each Markdown table that ``chapter`` prints under ``header``."""
    tables = []
    for cell in nbformat.read(BOOK / chapter, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown", "")
            if text.startswith(header):
                lines = text.splitlines()[2:]
                tables.append([[c.strip() for c in line.strip("|").split(" | ")] for line in lines])
    return tables


def code_name(cell: str) -> str:
    match = re.fullmatch(r"`(\w+)`", cell)
    assert match, f"expected a code name in backticks, got {cell!r}"
    return match.group(1)


def staged_names(derivation) -> list[str]:
    return [n for n, e in derivation.staged.items() if e != derivation.upstream]


@pytest.mark.parametrize(
    "chapter, derivation",
    [
        ("02_forward_train.ipynb", batchnorm_train()),
        ("03_test_mode.ipynb", batchnorm_test()),
        ("04_backward_graph.ipynb", batchnorm_train()),
    ],
)
def test_node_tables_print_each_node_by_its_code_name_beside_its_symbol_in_order(
    chapter, derivation
):
    tables = markdown_tables(chapter, "| node |")
    assert tables, f"{chapter} prints no node table"
    for rows in tables:
        assert [code_name(row[0]) for row in rows] == [node.name for node in derivation.nodes]
        for row in rows:
            forward = row[2].split("=")[0]
            assert latex_name(code_name(row[0])) in forward, f"{chapter}: {row[0]} is not {forward}"


def test_chapter_4_lists_the_staged_gradients_by_code_name_beside_their_symbols_in_order():
    derivation = batchnorm_train()
    [rows] = markdown_tables("04_backward_graph.ipynb", "| gradient |")
    assert [code_name(row[0]) for row in rows] == staged_names(derivation)
    for row in rows:
        assert latex_name(code_name(row[0])) in row[1].split("=")[0], row


def test_the_backward_chapter_4_prints_assigns_the_gradients_in_the_staged_order():
    # the staged backward of the normalization core, which batch norm's runs over the batch
    cells = nbformat.read(BOOK / "04_backward_graph.ipynb", as_version=4).cells
    # shown by nndl.book.source.source_block: a code block in the cell's Markdown output
    [source] = [
        output["data"]["text/markdown"]
        for cell in cells
        for output in cell.get("outputs", [])
        if "def normalization_backward(" in output.get("data", {}).get("text/markdown", "")
    ]
    names = staged_names(batchnorm_train())
    assigned = re.findall(r"^\s*(d\w+) = ", source, flags=re.MULTILINE)
    first_assignments = [name for name in dict.fromkeys(assigned) if name in names]
    assert first_assignments == names
