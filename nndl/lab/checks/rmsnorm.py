"""Check of the RMSNorm task (chapter 10): the output, then the staged and the closed-form
backward on the cache of the student's own forward (a round trip: the cache is the student's
choice), each wrong dx explained by the paths of ``derivations.rmsnorm`` (the direct path and
the path through the mean square).

The two typical mistakes it names: subtracting each example's mean, which is layer norm, not
RMSNorm; and a backward that treats the root mean square as a constant, which lacks the path
through the mean square."""

from __future__ import annotations

import numpy as np

from nndl.gradient_check import offset_and_scaled
from nndl.lab.checks.compare import (
    SEED,
    _copies,
    compare,
    dout_written,
    input_written,
    matches,
)

EPS = 1e-2  # large enough that a misplaced eps shows
LAYER_NORM = (
    "rmsnorm_forward subtracts the mean of each example, which makes it layer norm: RMSNorm "
    "divides x itself by its root mean square, sqrt(mean(x**2) + eps)"
)


def _rms_normalised(x, axis=1, eps=EPS, centred=False, eps_on_rms=False):
    """x over the root mean square of its values along ``axis`` (or, ``centred``, x minus its
    mean over its standard deviation: layer norm)."""
    v = x - x.mean(axis=axis, keepdims=True) if centred else x
    ms = (v**2).mean(axis=axis, keepdims=True)
    return v / (np.sqrt(ms) + eps) if eps_on_rms else v * (ms + eps) ** -0.5


def _dx_problems(dx, want, inputs, scale) -> list[str]:
    """A wrong dx diagnosed with the derivation's paths (``derivations.check.explain``)."""
    from derivations.check import explain
    from nndl.lab.terms import derivation

    if np.shape(dx) == np.shape(want):
        record = derivation("rmsnorm")
        terms = [term for term in record.terms["dx"] if term.expression != 0]
        values = record.evaluate_terms("dx", inputs, terms)
        got = np.asarray(dx, dtype=np.float64)
        explained = explain("dx", got, terms, [values[term.description] for term in terms])
        if explained is not None and explained[0]:
            return explained[0]
    return compare("dx", dx, want, scale=scale)


def rmsnorm_gradients(dout, x, gamma, eps=EPS):
    """The right gradients of RMSNorm over the features (the closed forms of
    ``derivations.rmsnorm``), and the scale of each: the size of the largest term it sums."""
    inv_rms = ((x**2).mean(axis=1, keepdims=True) + eps) ** -0.5
    xhat = x * inv_rms
    dxhat = dout * gamma
    dx = inv_rms * (dxhat - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    want = {"dx": dx, "dgamma": (dout * xhat).sum(axis=0)}
    scales = {"dx": np.abs(dxhat * inv_rms) + np.abs(dx), "dgamma": np.abs(dout * xhat).sum(0)}
    return want, scales


def check_rmsnorm(rmsnorm_forward, rmsnorm_backward, rmsnorm_backward_alt) -> list[str]:
    """Grade RMSNorm: the output (the same in train and test mode), then both backward passes
    on the forward's own cache."""
    rng = np.random.default_rng(SEED)
    n, d = 6, 5
    # Each example has its own offset, far from 0, and scale: the mean must not be subtracted.
    x = offset_and_scaled(rng, (n, d), offset=(-3, 3), scale=(0.05, 2), axis=0)
    gamma, dout = rng.uniform(0.5, 2, d), rng.standard_normal((n, d))
    given = x.copy()
    out, cache = rmsnorm_forward(given, gamma.copy(), {"eps": EPS, "mode": "train"})
    problems = compare(
        "out",
        out,
        gamma * _rms_normalised(x),
        {
            LAYER_NORM: gamma * _rms_normalised(x, centred=True),
            "rmsnorm normalises over the batch axis (axis 0) instead of the features (axis 1): "
            "each example is divided by its own root mean square": gamma * _rms_normalised(x, 0),
            "eps is added to the root mean square: use (mean(x**2) + eps) ** -0.5": (
                gamma * _rms_normalised(x, eps_on_rms=True)
            ),
            "rmsnorm normalises without eps": gamma * _rms_normalised(x, eps=0),
        },
    )
    if problems:
        return problems  # the backward passes are graded on a right forward's cache
    problems += input_written("rmsnorm_forward", "x", x, given)
    test_out, _ = rmsnorm_forward(*_copies(x, gamma), {"eps": EPS, "mode": "test"})
    if not matches(test_out, out):
        problems.append("rmsnorm differs in test mode: it has no running averages")
    inputs = {"dout": dout, "x": x, "gamma": gamma, "eps": EPS}
    want, scales = rmsnorm_gradients(dout, x, gamma)
    xhat = _rms_normalised(x)
    dgamma_slips = {
        "dgamma of rmsnorm is summed over the features (axis 1): gamma scales a feature, so sum "
        "over the batch (axis 0)": (dout * xhat).sum(axis=1),
        "dgamma lacks the factor xhat (dgamma = sum of dout * xhat)": dout.sum(axis=0),
    }
    for name, backward in (
        ("rmsnorm_backward", rmsnorm_backward),
        ("rmsnorm_backward_alt", rmsnorm_backward_alt),
    ):
        given = dout.copy()
        grads = backward(given, cache)
        if not (isinstance(grads, tuple | list) and len(grads) == 2):
            problems.append(f"{name}: the backward pass must return dx, dgamma")
            continue
        dx, dgamma = grads
        found = (
            []
            if matches(dx, want["dx"], scales["dx"])
            else _dx_problems(dx, want["dx"], inputs, scales["dx"])
        )
        found += compare("dgamma", dgamma, want["dgamma"], dgamma_slips, scales["dgamma"])
        problems += [f"{name}: {problem}" for problem in found]
        problems += dout_written(name, dout, given)
    return problems
