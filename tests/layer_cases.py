"""The layers of the table (``nndl.table``) as test parameters: the tests that run every
normalization layer alike read them from here, so that a layer added to the table is tested
with the others.

``FAMILY`` is the normalization layers that are one lab task each (layer norm, spatial batch
norm, group norm...): batch norm, three tasks, has tests of its own in test_layers.py. A test
parameter carries the marker of the layer's task (``pytest -m layernorm``).
"""

from __future__ import annotations

import numpy as np
import pytest

from nndl.table import LAYERS, Function, Layer, fast_kernels
from tests.strategies import offset_and_scaled

FAMILY: dict[str, Layer] = {
    name: layer for name, layer in LAYERS.items() if layer.example and len(layer.tasks) == 1
}


def marks(layer: Layer) -> list:
    """The markers of the layer's lab tasks."""
    return [getattr(pytest.mark, task.name) for task in layer.tasks]


def marks_of(function: Function) -> list:
    """The markers of the lab tasks that write ``function`` (for a fast kernel, the function it
    stands in for: in a student copy it is the student's)."""
    function = fast_kernels().get(function, function)
    tasks = [task for layer in LAYERS.values() for task in layer.tasks]
    return [getattr(pytest.mark, t.name) for t in tasks if function in (*t.functions, *t.graded)]


def param(layer: Layer, *values, id: str | None = None):
    """A ``pytest.param`` of ``values`` (default: the layer's name) with the layer's markers."""
    return pytest.param(*(values or (layer.name,)), marks=marks(layer), id=id or layer.name)


def backwards(layer: Layer, fast: bool = False) -> dict:
    """The layer's backward passes by kind: "staged", "alt" (the closed form) and, with
    ``fast``, "fast" (the fast kernel, when the table names one). The fast kernels are the
    instructor's (a student copy's are the student's own functions), so only the instructor's
    tests (test_fast_kernels.py, which the student copy leaves out) ask for them."""
    found = {"staged": layer.backward, "alt": layer.backward_alt}
    if fast:
        found["fast"] = layer.fast_backward
    return {kind: backward for kind, backward in found.items() if backward is not None}


def example(layer: Layer, rng, dtype=np.float64, offset=(-5, 5), scale=(0.5, 5), shape=None):
    """The layer's example problem (``Layer.example``), drawn from ``rng``: x with an offset and
    a scale per channel or feature (axis 1), the learnable parameters (gamma standard normal,
    beta standard normal), dout, and the forward's other arguments and parameter dict.

    Returns a dict with x, params (a tuple: gamma, beta), dout, args and param."""
    shape = shape or layer.example.x_shape
    x = offset_and_scaled(rng, shape, offset=offset, scale=scale, axis=1).astype(dtype)
    param_shape = layer.example.param_shape if shape == layer.example.x_shape else None
    if param_shape is None:  # another shape: the parameters follow the channels (axis 1)
        param_shape = tuple(shape[1] if size != 1 else 1 for size in layer.example.param_shape)
    params = tuple(rng.standard_normal(param_shape).astype(dtype) for _ in layer.params)
    dout = rng.standard_normal(shape).astype(dtype)
    return {"x": x, "params": params, "dout": dout, "args": layer.example.args, "param": {}}


def forward(layer: Layer, x, params, args=(), param=None, function=None):
    """``layer.forward(x, *params, *args, param)`` (or ``function``'s, the same arguments)."""
    return (function or layer.forward)(x, *params, *args, {} if param is None else param)
