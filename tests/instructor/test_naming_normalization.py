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
from nndl import layernorm, spatial


def assigned_names(function) -> list[str]:
    """The names a function assigns, in order; a call of ``normalise_backward`` stands for the
    assignments of that function."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.targets[0].__class__ is ast.Name:
            call = node.value
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "normalise_backward":
                names += assigned_names(layernorm.normalise_backward)
            else:
                names.append(node.targets[0].id)
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
    ("cache", "derivation"),
    [
        (layernorm.LayerNormCache, derivations.layernorm),
        (spatial.GroupNormCache, derivations.spatial_groupnorm),
    ],
    ids=["layernorm", "spatial_groupnorm"],
)
def test_the_cache_fields_are_named_after_nodes_of_the_graph(cache, derivation):
    names = set(derivation().symbols)
    assert set(cache._fields) - {"G"} <= names
