"""What a chapter prints of a function is the computation, still valid Python."""

import ast

import pytest

from nndl import layers, normalization
from nndl.book.source import printed_source


@pytest.mark.parametrize(
    "function",
    [
        layers.batchnorm_backward,
        layers.batchnorm_backward_alt,
        normalization.normalization_backward,
        normalization.normalization_backward_alt,
    ],
)
def test_printed_source_drops_solution_markers_and_input_checks(function):
    text = printed_source(function)
    assert "SOLUTION" not in text
    assert "_check_" not in text
    assert text.startswith(f"def {function.__name__}(")
    ast.parse(text)


def test_printed_source_keeps_every_other_line():
    # chapter 4 prints the core's staged backward, which batch norm's calls
    text = printed_source(normalization.normalization_backward)
    for line in ("dxhat = dout * gamma", "return dx, dgamma, dbeta"):
        assert line in text


def test_source_block_is_the_printed_source_fenced_as_python():
    from nndl.book.source import source_block

    block = source_block(layers.batchnorm_backward).data
    assert block == f"```python\n{printed_source(layers.batchnorm_backward)}\n```"
