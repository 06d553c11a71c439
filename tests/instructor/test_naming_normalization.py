"""One name, three places, for layer norm and group norm: their staged backward passes assign
the gradients of ``derivations/``'s staged backward, by the same names and in the same order,
and their caches hold nodes of the same graph (``test_naming.py`` does it for batch norm).

Instructor-only (``nndl.lab.student.INSTRUCTOR_ONLY``): a student's correct staged backward may
name its intermediate gradients differently.
"""

import ast
import inspect
import textwrap

import pytest

import derivations
from nndl import layernorm, normalization, spatial


def assigned_names(function) -> list[str]:
    """The names a function assigns, in order; a call of the core's staged backward
    (``normalization_backward``) stands for the assignments of that function."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = []
    assignments = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)]
    for node in sorted(assignments, key=lambda node: node.lineno):  # in the order of the code
        if isinstance(node, ast.Assign):
            call = node.value
            core = isinstance(call, ast.Call) and getattr(call.func, "id", "") == (
                "normalization_backward"
            )
            if core:
                names += assigned_names(normalization.normalization_backward)
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [e.id for e in elements if isinstance(e, ast.Name)]
    return list(dict.fromkeys(names))  # a name reassigned (dx reshaped) counts once


@pytest.mark.parametrize(
    ("backward", "derivation"),
    [
        (layernorm.layernorm_backward, derivations.layernorm),
        (spatial.spatial_groupnorm_backward, derivations.spatial_groupnorm),
    ],
    ids=["layernorm", "spatial_groupnorm"],
)
def test_the_staged_backward_computes_the_derived_gradients_by_name_in_the_same_order(
    backward, derivation
):
    assert [name for name in assigned_names(backward) if name.startswith("d")] == list(
        derivation().staged
    )


@pytest.mark.parametrize(
    "derivation", [derivations.layernorm, derivations.spatial_groupnorm], ids=lambda d: d.__name__
)
def test_the_cache_fields_are_named_after_nodes_of_the_graph(derivation):
    names = set(derivation().symbols)
    assert set(normalization.NormalizationCache._fields) - {"mode", "axes"} <= names
