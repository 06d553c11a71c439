"""The three witnesses of a layer's backward passes as a chapter shows them on real data
(chapter 11): the staged backward against the closed form, nndl's gradients against the derived
closed forms (``derivations.check.compare_numeric``, term-scaled), and the closed form against a
numerical gradient on a corner of the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

# The values of a layer's input: x, the upstream gradient and the gradient of x; the others
# (gamma, beta and their gradients) are its parameters.
DATA = ("x", "dout", "dx")


def same_layout(name: str, a):
    """The derivation indexes the arrays as the layer lays them out."""
    return a


def grouped(G: int) -> Callable:
    """Group norm's derivation indexes x (N, C, H, W) as (N, G, C/G, H, W) and gamma and beta
    (1, C, 1, 1) as (G, C/G): the layout of ``G`` groups."""

    def layout(name: str, a):
        if name in DATA:
            N, C, H, W = a.shape
            return a.reshape(N, G, C // G, H, W)
        return np.reshape(a, (G, -1))

    return layout


def relative(a, b) -> float:
    """max |a - b| / max |b|."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def witness_errors(
    forward: Callable,
    staged: Callable,
    alt: Callable,
    derivation,
    x,
    dout,
    params: Mapping,
    eps: float,
    layout: Callable = same_layout,
    corner=(slice(0, 2), slice(None), slice(0, 6), slice(0, 6)),
) -> dict[str, float]:
    """The errors of a layer's backward passes.

    Inputs:
    - forward: x -> (out, cache), the layer's forward with its parameters bound
    - staged, alt: its staged and closed-form backward passes
    - derivation: its ``derivations`` Derivation
    - x, dout: the input and the upstream gradient
    - params: the parameters by name, e.g. {"gamma": gamma}, as the derivation's inputs
    - eps: the forward's eps
    - layout: (name, array) -> the array as the derivation indexes it
    - corner: the part of x (and dout) the numerical gradient is taken on

    Returns:
    - "staged vs closed form": relative difference of the two backward passes' dx
    - "nndl vs derived (term-scaled)": the staged gradients against the derived closed forms
    - "numerical gradient": the closed form's dx against centred differences, on the corner
    """
    from derivations.check import compare_numeric
    from nndl.gradient_check import numerical_gradients

    _, cache = forward(x)
    grads = staged(dout, cache)
    given = {"dout": dout, "x": x, "eps": eps, **params}
    inputs = {name: given[name] for name in derivation.inputs}
    inputs = {name: v if name == "eps" else layout(name, v) for name, v in inputs.items()}
    actual = {name: layout(name, g) for name, g in zip(derivation.outputs, grads, strict=True)}
    few, few_dout = x[corner].copy(), dout[corner]
    _, few_cache = forward(few)
    numerical = numerical_gradients(lambda x: forward(x)[0], {"x": few}, few_dout)["dx"]
    return {
        "staged vs closed form": relative(grads[0], alt(dout, cache)[0]),
        "nndl vs derived (term-scaled)": max(compare_numeric(derivation, inputs, actual).values()),
        "numerical gradient": relative(alt(few_dout, few_cache)[0], numerical),
    }
