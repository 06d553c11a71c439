"""One name, three places: the staged backward of the normalization core, which batch norm's
(``nndl/batchnorm.py``) is, in ``nndl/normalization.py`` assigns the gradients of
``derivations/``'s staged backward, by the same names and in the same order, and
``NormalizationCache`` holds nodes of the same graph.

The book's side (its node tables and staged list print these names) is tested with the chapters.
Instructor-only (``nndl.lab.student.INSTRUCTOR_ONLY``): a student's correct staged backward may
name its intermediate gradients differently.
"""

from __future__ import annotations

import ast
import inspect

import pytest

import derivations
from nndl import batchnorm, normalization


def _function(module, name: str) -> ast.FunctionDef:
    tree = ast.parse(inspect.getsource(module))
    (function,) = (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return function


def _mode_of_branch(test: ast.expr) -> str:
    """'train' or 'test' for an ``if cache.mode == "<mode>":`` test; fails on any other branch,
    which this test would not know how to follow."""
    if (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Attribute)
        and test.left.attr == "mode"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq | ast.NotEq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value in batchnorm.BN_MODES
    ):
        mode = test.comparators[0].value
        if isinstance(test.ops[0], ast.NotEq):
            (mode,) = set(batchnorm.BN_MODES) - {mode}
        return mode
    raise AssertionError(f"the staged backward branches on {ast.unparse(test)!r}, not on the mode")


def _assigned_names(target: ast.expr):
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _assigned_names(element)


def assigned_gradients(statements: list[ast.stmt], mode: str) -> list[str]:
    """The gradient names (``d...``) the statements assign in ``mode``, in the order of their
    first assignment, following the ``if cache.mode == ...`` branches."""
    names: list[str] = []
    for statement in statements:
        if isinstance(statement, ast.If):
            taken = statement.body if _mode_of_branch(statement.test) == mode else statement.orelse
            found = assigned_gradients(taken, mode)
        elif isinstance(statement, ast.Assign):
            found = [n for t in statement.targets for n in _assigned_names(t)]
        elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
            found = list(_assigned_names(statement.target))
        else:
            continue
        names += [n for n in found if n.startswith("d") and n not in names]
    return names


@pytest.mark.parametrize(
    ("mode", "derivation"),
    [("train", derivations.batchnorm_train), ("test", derivations.batchnorm_test)],
)
def test_staged_backward_assigns_the_derivations_gradients_in_its_order(mode, derivation):
    staged = assigned_gradients(_function(normalization, "normalization_backward").body, mode)
    assert staged == list(derivation().staged), (
        f"nndl's staged backward in {mode} mode assigns {staged}; derivations/ stages "
        f"{list(derivation().staged)}: a node was renamed or reordered in one of the two"
    )


def test_batchnorm_cache_holds_nodes_of_the_graph_by_their_names():
    nodes = {node.name for node in derivations.batchnorm_train().nodes}
    # the branch taken, the axes averaged over and a parameter, not nodes
    bookkeeping = {"mode", "axes", "gamma"}
    fields = set(normalization.NormalizationCache._fields)
    assert fields - bookkeeping <= nodes, (
        f"NormalizationCache fields {sorted(fields - bookkeeping - nodes)} are not node names of "
        f"derivations.batchnorm_train(): {sorted(nodes)}"
    )
    assert bookkeeping <= fields


def test_the_staged_gradients_are_the_gradients_of_the_graphs_nodes():
    # The derivation's own bookkeeping: each staged gradient is "d" + a node or an input, so
    # the two tests above tie the code's names to the graph's nodes.
    for derivation in (derivations.batchnorm_train(), derivations.batchnorm_test()):
        names = {node.name for node in derivation.nodes} | {"x", "gamma", "beta"}
        assert {g.removeprefix("d") for g in derivation.staged} <= names
