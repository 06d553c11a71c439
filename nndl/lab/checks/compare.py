"""The comparisons every check shares: an output against the right answer, and against the
hypotheses about the mistake (what the output would be if that were the mistake); and a
normalization's gradients (dx, dgamma, dbeta), for each of its backward passes."""

from __future__ import annotations

import numpy as np

SEED = 231
RTOL = 1e-6  # "equal to round-off": far above float64 round-off, far below any real mistake


def matches(got, want, rtol: float = RTOL, atol: float = 0.0) -> bool:
    """Whether ``got`` equals ``want`` to round-off: same shape, finite, and no entry further from
    ``want`` than ``rtol`` times the largest entry of ``want``, plus ``atol``."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
    return float(np.max(np.abs(got - want), initial=0.0)) <= rtol * scale + atol


def describe_difference(name: str, got, want) -> str:
    """The fallback diagnosis: which output is wrong, and by how much."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} is a {type(got).__name__}, expected an array of shape {np.shape(want)}"
    if got.shape != np.shape(want):
        return f"{name} has shape {got.shape}, expected {np.shape(want)}"
    if not np.all(np.isfinite(got)):
        return f"{name} has non-finite entries (inf or nan)"
    error = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-12)
    return f"{name} is wrong (relative error {error:.2g} against the right answer)"


def compare(name: str, got, want, hypotheses=None) -> list[str]:
    """Problems with output ``name``: none if it matches ``want``, else the diagnosis of the first
    hypothesis it matches, else the fallback.

    Inputs:
    - name: the output's name as the report prints it, e.g. "dgamma"
    - got: the implementation's output
    - want: the right answer
    - hypotheses: dict diagnosis -> what the output would be if that were the mistake

    Returns:
    - list of at most one diagnosis
    """
    if matches(got, want):
        return []
    for diagnosis, value in (hypotheses or {}).items():
        if matches(got, value):
            return [diagnosis]
    return [describe_difference(name, got, want)]


def gradient_problems(grads, want, explain_dx, hypotheses) -> list[str]:
    """Problems with one backward call's gradients: dx first, then dgamma and dbeta.

    Inputs:
    - grads: (dx, dgamma, dbeta) as the backward returned them
    - want: dict "dx", "dgamma", "dbeta" -> the right answer
    - explain_dx: function dx -> list of diagnoses, called only when dx is wrong
    - hypotheses: dict "dgamma", "dbeta" -> that gradient's hypotheses, as for ``compare``

    Returns:
    - list of diagnoses, dx's first
    """
    dx, dgamma, dbeta = grads
    problems = [] if matches(dx, want["dx"]) else list(explain_dx(dx))
    for name, got in (("dgamma", dgamma), ("dbeta", dbeta)):
        problems += compare(name, got, want[name], hypotheses[name])
    return problems


def backward_problems(backwards, dout, cache, want, explain_dx, hypotheses) -> list[str]:
    """Problems with each backward pass of a layer (the staged one and the closed form), called
    on the same cache and graded by ``gradient_problems``, each prefixed with the function's
    name: "layernorm_backward_alt: dgamma is ...".

    Inputs:
    - backwards: dict function name -> backward(dout, cache) -> (dx, dgamma, dbeta)
    - dout, cache: the arguments of every call (each call gets its own copy of dout)
    - want, explain_dx, hypotheses: as for ``gradient_problems``

    Returns:
    - list of diagnoses, the first function's first
    """
    problems = []
    for function, backward in backwards.items():
        found = gradient_problems(backward(dout.copy(), cache), want, explain_dx, hypotheses)
        problems += [f"{function}: {problem}" for problem in found]
    return problems


def _copies(*arrays):
    """Fresh copies, so that an implementation that writes into its inputs cannot spoil the
    reference."""
    return [np.array(a, copy=True) for a in arrays]
