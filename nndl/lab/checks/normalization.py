"""Checks of the normalization family's tasks, as the student wrote them, forward then backward:
layer norm (chapter 10) here, with what the checks of spatial batch norm and group norm
(chapter 11, ``nndl.lab.checks.spatial``) share.

The backward passes are graded on the cache of the student's own forward pass (a round trip:
the cache's contents are the student's choice, only the gradients count), and only once that
forward's output is right. The right gradients are the closed forms that ``derivations/``
derives, computed here in NumPy (``normalization_gradients``; the instructor's tests hold it to
nndl's closed form, which the witnesses hold to the derivations), so that grading a right
solution needs no sympy. A wrong dx is explained by the paths of the layer's derivation
(``derivations.layernorm``, ``spatial_batchnorm``, ``spatial_groupnorm``) with the engine the
witnesses use (``derivations.check.explain``); the other slips are hypotheses about the axes.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nndl.gradient_check import offset_and_scaled
from nndl.lab.checks.compare import (
    SEED,
    _copies,
    backward_problems,
    compare,
    input_written,
    matches,
)

EPS = 1e-2  # large enough that a misplaced eps shows
GAMMA_SLIP = "dx uses dout where it needs dxhat = dout * gamma"


def _summed_to(a, shape):
    """``a`` summed over the axes along which an array of ``shape`` is broadcast to a's shape."""
    leading = a.ndim - len(shape)
    broadcast = [leading + axis for axis, size in enumerate(shape) if size == 1]
    return np.reshape(a.sum(axis=(*range(leading), *broadcast)), shape)


def normalization_gradients(dout, gamma, xhat, inv_std, axes):
    """The right gradients of a normalization over ``axes`` (the closed forms of
    ``derivations/``), and the scale of each: the size of the largest term it sums.

    Inputs:
    - dout, xhat: arrays of x's shape
    - gamma: the scale, of a shape that broadcasts against x
    - inv_std: the inverse standard deviation, of a shape that broadcasts against x
    - axes: the axes of x the statistics are taken over

    Returns:
    - (want, scales): dicts "dx", "dgamma", "dbeta" -> array
    """
    dxhat = dout * gamma
    mean = lambda a: a.mean(axis=axes, keepdims=True)  # noqa: E731 (one line per node below)
    dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    shape = np.shape(gamma)
    want = {
        "dx": dx,
        "dgamma": _summed_to(dout * xhat, shape),
        "dbeta": _summed_to(dout, shape),
    }
    scales = {
        "dx": np.abs(dxhat * inv_std) + np.abs(dx),  # the direct path; the others cancel it
        "dgamma": _summed_to(np.abs(dout * xhat), shape),
        "dbeta": _summed_to(np.abs(dout), shape),
    }
    return want, scales


def _normalised(x, axes, view=None, eps=EPS, ddof=0, eps_on_std=False):
    """x normalised over ``axes`` of ``view(x)`` (default: x itself), in x's shape."""
    v = x if view is None else view(x)
    mean, var = v.mean(axis=axes, keepdims=True), v.var(axis=axes, keepdims=True, ddof=ddof)
    scale = 1 / (np.sqrt(var) + eps) if eps_on_std else (var + eps) ** -0.5
    return ((v - mean) * scale).reshape(x.shape)


def _output_slips(layer, x, axes, view, gamma, beta) -> dict:
    """What the output would be after the slips every normalization can make."""
    return {
        f"{layer} uses the unbiased variance (ddof=1): it divides by the number of values "
        "averaged": gamma * _normalised(x, axes, view, ddof=1) + beta,
        "eps is added to the standard deviation: use (var + eps) ** -0.5": (
            gamma * _normalised(x, axes, view, eps_on_std=True) + beta
        ),
        f"{layer} normalises without eps": gamma * _normalised(x, axes, view, eps=0) + beta,
        "gamma and beta are swapped": beta * _normalised(x, axes, view) + gamma,
    }


def _explain_dx(
    dx,
    want,
    derivation,
    inputs,
    layout=None,
    expected=None,
    context="",
    hypotheses=None,
    scale=None,
):
    """Diagnose a wrong dx with the paths of ``derivation`` (a function of no arguments that
    returns it, called only now: deriving takes seconds): first with the right gamma, then with
    the slip dxhat = dout (gamma taken as 1); then with ``hypotheses``; else the fallback.

    ``inputs`` are in the derivation's layout, and ``layout`` puts nndl's dx in it (group norm's
    (N, G, C/G, H, W)); ``expected`` and ``context`` as in ``derivations.check.explain``;
    ``scale`` as in ``compare``."""
    from derivations.check import explain

    if np.shape(dx) == np.shape(want):
        derivation = derivation()
        terms = [term for term in derivation.terms["dx"] if term.expression != 0]
        got = np.asarray(dx, dtype=np.float64)
        got = got if layout is None else layout(got)
        for gamma, slip in ((inputs["gamma"], []), (np.ones_like(inputs["gamma"]), [GAMMA_SLIP])):
            values = derivation.evaluate_terms("dx", {**inputs, "gamma": gamma}, terms)
            values = [values[term.description] for term in terms]
            explained = explain("dx", got, terms, values, expected, context)
            if explained is not None and (explained[0] or slip):
                return slip + explained[0]
    return compare("dx", dx, want, hypotheses, scale)


# --------------------------------------------------------------------------------------------
# Layer norm
# --------------------------------------------------------------------------------------------


def check_layernorm(layernorm_forward, layernorm_backward, layernorm_backward_alt) -> list[str]:
    """Grade layer norm: the output (the same in train and test mode), then the staged and the
    closed-form backward on the forward's own cache."""
    from nndl.lab.terms import derivation

    rng = np.random.default_rng(SEED)
    n, d = 6, 5
    # Each example (row) has its own offset and scale: layer norm normalises over a row.
    x = offset_and_scaled(rng, (n, d), offset=(-3, 3), scale=(0.05, 2), axis=0)
    gamma, beta, dout = rng.uniform(0.5, 2, d), rng.standard_normal(d), rng.standard_normal((n, d))
    xhat = _normalised(x, 1)
    given = x.copy()
    out, cache = layernorm_forward(given, *_copies(gamma, beta), {"eps": EPS, "mode": "train"})
    problems = compare(
        "out",
        out,
        gamma * xhat + beta,
        {
            "layer norm normalises over the batch axis (axis 0) instead of the features (axis "
            "1): each example is normalised over its own D features": (
                gamma * _normalised(x, 0) + beta
            ),
            **_output_slips("layer norm", x, 1, None, gamma, beta),
        },
    )
    if problems:
        return problems  # the backward passes are graded on a right forward's cache
    problems += input_written("layernorm_forward", "x", x, given)
    test_out, _ = layernorm_forward(*_copies(x, gamma, beta), {"eps": EPS, "mode": "test"})
    if not matches(test_out, out):
        problems.append(
            "layer norm differs in test mode: it has no running averages, so both modes are alike"
        )
    inv_std = (x.var(axis=1, keepdims=True) + EPS) ** -0.5
    inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std[:, 0]}
    want, scales = normalization_gradients(dout, gamma, xhat, inv_std, (1,))
    dxhat = dout * gamma
    over_the_batch = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    dx_slips = {
        "dx sums over the batch axis (axis 0) instead of the features (axis 1), as batch "
        "norm's does": over_the_batch
    }
    backwards = {
        "layernorm_backward": layernorm_backward,
        "layernorm_backward_alt": layernorm_backward_alt,
    }
    explain_dx = partial(
        _explain_dx,
        want=want["dx"],
        derivation=partial(derivation, "layernorm"),
        inputs=inputs,
        hypotheses=dx_slips,
        scale=scales["dx"],
    )
    slips = {
        "dgamma": {
            "dgamma of layer norm is summed over the features (axis 1): gamma scales a "
            "feature, so sum over the batch (axis 0)": (dout * xhat).sum(axis=1),
            "dgamma is not summed over the batch": dout * xhat,
            "dgamma lacks the factor xhat (dgamma = sum of dout * xhat)": dout.sum(axis=0),
        },
        "dbeta": {
            "dbeta of layer norm is summed over the features (axis 1): beta shifts a "
            "feature, so sum over the batch (axis 0)": dout.sum(axis=1),
            "dbeta is not summed over the batch": dout,
        },
    }
    return problems + backward_problems(backwards, dout, cache, want, explain_dx, slips, scales)
