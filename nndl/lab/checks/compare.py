"""The comparisons every check shares: an output against the right answer, and against the
hypotheses about the mistake (what the output would be if that were the mistake); a
normalization's gradients (dx, dgamma, dbeta), for each of its backward passes; and advice, the
remarks on what the assignment does not ask for.

Outputs are judged at the precision of the dtype the problem is computed in, scaled by the
problem's conditioning: an output within ``TOLERANCE * eps(dtype) * scale`` of the right answer
is right, ``scale`` being the size of the largest term the output sums (for a sum whose terms
cancel, such as a normalization's dx, more than the result's own size). Correct code in any
order of summation is a few eps from the answer; a real mistake is off by far more.
"""

from __future__ import annotations

import numpy as np

SEED = 231
TOLERANCE = 1e3  # in units of eps(dtype) times the scale of the summed terms


class Advice(str):
    """A remark on a property the assignment does not ask for (an input left untouched, a
    float32 input kept in float32, a cache nndl can inspect...): a check returns it among its
    problems, and ``nndl lab check`` reports it under the task without failing it."""


def tolerance(dtype=np.float64) -> float:
    """The relative tolerance of a computation in ``dtype``: ``TOLERANCE * eps(dtype)``."""
    return TOLERANCE * float(np.finfo(dtype).eps)


def _scale(want, scale) -> float:
    size = np.abs(want) if scale is None else np.abs(np.asarray(scale, dtype=np.float64))
    return max(float(np.max(size, initial=0.0)), 1e-300)


def matches(got, want, scale=None, dtype=np.float64, rtol=None, atol=0.0) -> bool:
    """Whether ``got`` equals ``want`` to the precision of ``dtype``: same shape, no entry
    further from ``want`` than ``tolerance(dtype) * scale`` plus ``atol``, and finite where
    ``want`` is (NaN where a hypothesis has NaN: Adam divided by 1 - beta1**0).

    Inputs:
    - got, want: arrays (or numbers)
    - scale: the size of the largest term that ``want`` sums (an array or a number); default
      the largest entry of ``want``
    - dtype: the dtype the problem is computed in
    - rtol: another relative tolerance instead of the dtype's (a comparison with numerical
      gradients, whose own error is larger)
    - atol: an absolute tolerance added to it
    """
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    finite = np.isfinite(want)
    if not np.array_equal(np.isfinite(got), finite) or not same_values(got[~finite], want[~finite]):
        return False
    got, want = got[finite], want[finite]
    if scale is not None and np.shape(scale) == finite.shape:
        scale = np.asarray(scale)[finite]
    rtol = tolerance(dtype) if rtol is None else rtol
    return float(np.max(np.abs(got - want), initial=0.0)) <= rtol * _scale(want, scale) + atol


def same_values(got, want) -> bool:
    """Whether ``got`` holds exactly ``want``'s values, NaN where ``want`` has NaN (a state that
    a check compares before and after a call)."""
    try:
        return np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True)
    except (TypeError, ValueError):
        return False


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


def compare(name: str, got, want, hypotheses=None, scale=None) -> list[str]:
    """Problems with output ``name``: none if it matches ``want``, else the diagnosis of the first
    hypothesis it matches, else the fallback.

    Inputs:
    - name: the output's name as the report prints it, e.g. "dgamma"
    - got: the implementation's output
    - want: the right answer
    - hypotheses: dict diagnosis -> what the output would be if that were the mistake (None:
      not a hypothesis here)
    - scale: as for ``matches``

    Returns:
    - list of at most one diagnosis
    """
    if matches(got, want, scale):
        return []
    for diagnosis, value in (hypotheses or {}).items():
        if value is not None and matches(got, value, scale):
            return [diagnosis]
    return [describe_difference(name, got, want)]


def gradient_problems(grads, want, explain_dx, hypotheses, scales=None) -> list[str]:
    """Problems with one backward call's gradients: dx first, then dgamma and dbeta.

    Inputs:
    - grads: (dx, dgamma, dbeta) as the backward returned them
    - want: dict "dx", "dgamma", "dbeta" -> the right answer
    - explain_dx: function dx -> list of diagnoses, called only when dx is wrong
    - hypotheses: dict "dgamma", "dbeta" -> that gradient's hypotheses, as for ``compare``
    - scales: dict gradient name -> the scale of its summed terms (``matches``), if not its own

    Returns:
    - list of diagnoses, dx's first
    """
    scales = scales or {}
    try:
        dx, dgamma, dbeta = grads
    except (TypeError, ValueError):
        return [f"the backward pass returns {_count(grads)}: return dx, dgamma, dbeta"]
    problems = [] if matches(dx, want["dx"], scales.get("dx")) else list(explain_dx(dx))
    for name, got in (("dgamma", dgamma), ("dbeta", dbeta)):
        problems += compare(name, got, want[name], hypotheses[name], scales.get(name))
    return problems


def _count(value) -> str:
    return f"{len(value)} values" if isinstance(value, tuple | list) else type(value).__name__


def backward_problems(backwards, dout, cache, want, explain_dx, hypotheses, scales=None):
    """Problems with each backward pass of a layer (the staged one and the closed form), called
    on the same cache and graded by ``gradient_problems``, each prefixed with the function's
    name: "layernorm_backward_alt: dgamma is ...". A backward that writes into dout is a
    problem too (``dout_written``).

    Inputs:
    - backwards: dict function name -> backward(dout, cache) -> (dx, dgamma, dbeta)
    - dout, cache: the arguments of every call (each call gets its own copy of dout)
    - want, explain_dx, hypotheses, scales: as for ``gradient_problems``

    Returns:
    - list of diagnoses, the first function's first
    """
    problems = []
    for function, backward in backwards.items():
        given = dout.copy()
        found = gradient_problems(backward(given, cache), want, explain_dx, hypotheses, scales)
        problems += [f"{function}: {problem}" for problem in found]
        problems += dout_written(function, dout, given)
    return problems


def dout_written(function: str, dout, given) -> list[str]:
    """The problem of a backward pass that wrote into the upstream gradient it was given."""
    if same_values(given, dout):
        return []
    return [
        f"{function} modifies dout in place: the caller's upstream gradient is changed (CS231n's "
        "notebook compares two backward passes on one dout); compute dx in a new array, e.g. "
        "dx = dout * mask or dx = dout.copy() before writing into it"
    ]


def input_written(function: str, name: str, before, after) -> list[Advice]:
    """Advice for a forward pass that wrote into its input ``name``."""
    if same_values(after, before):
        return []
    return [Advice(f"{function} modifies its input {name} in place: the caller's array changes")]


def _copies(*arrays):
    """Fresh copies, so that an implementation that writes into its inputs cannot spoil the
    reference."""
    return [np.array(a, copy=True) for a in arrays]
