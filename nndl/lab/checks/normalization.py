"""Checks of the normalization family's tasks: layer norm (chapter 10), spatial batch norm and
group norm (chapter 11), each graded as the student wrote it, forward then backward.

The backward passes are graded on the cache of the student's own forward pass (a round trip:
the cache's contents are the student's choice, only the gradients count), and only once that
forward's output is right. A wrong dx is explained by the paths of the layer's derivation
(``derivations.layernorm``, ``spatial_batchnorm``, ``spatial_groupnorm``) with the engine the
witnesses use (``derivations.check.explain``); the other slips are hypotheses about the axes.
"""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, _copies, compare, matches

EPS = 1e-2  # large enough that a misplaced eps shows
MOMENTUM = 0.75  # not 0.5, so that momentum and 1 - momentum differ
GAMMA_SLIP = "dx uses dout where it needs dxhat = dout * gamma"


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


def _images(rng, shape):
    """Images whose channels have different means and spreads, some small (so eps matters)."""
    channel = (1, shape[1], 1, 1)
    return rng.uniform(-3, 3, channel) + rng.uniform(0.05, 2, channel) * rng.standard_normal(shape)


def _explain_dx(dx, want, derivation, inputs, layout, expected=None, context="", hypotheses=None):
    """Diagnose a wrong dx with the paths of ``derivation`` (its inputs in its own layout,
    ``layout`` puts nndl's dx in it): first with the right gamma, then with the slip dxhat =
    dout (gamma taken as 1); then with ``hypotheses``; else the fallback."""
    from derivations.check import explain

    if np.shape(dx) == np.shape(want):
        terms = [term for term in derivation.terms["dx"] if term.expression != 0]
        got = layout(np.asarray(dx, dtype=np.float64))
        for gamma, slip in ((inputs["gamma"], []), (np.ones_like(inputs["gamma"]), [GAMMA_SLIP])):
            values = derivation.evaluate_terms("dx", {**inputs, "gamma": gamma}, terms)
            values = [values[term.description] for term in terms]
            explained = explain("dx", got, terms, values, expected, context)
            if explained is not None and (explained[0] or slip):
                return slip + explained[0]
    return compare("dx", dx, want, hypotheses)


def _grads(backward, dout, cache):
    """The gradients of one backward call, on a copy of dout."""
    dx, dgamma, dbeta = backward(dout.copy(), cache)
    return dx, dgamma, dbeta


def _named(function: str, problems) -> list[str]:
    return [f"{function}: {problem}" for problem in problems]


# --------------------------------------------------------------------------------------------
# Layer norm
# --------------------------------------------------------------------------------------------


def check_layernorm(layernorm_forward, layernorm_backward, layernorm_backward_alt) -> list[str]:
    """Grade layer norm: the output (the same in train and test mode), then the staged and the
    closed-form backward on the forward's own cache."""
    from derivations.layernorm import layernorm

    rng = np.random.default_rng(SEED)
    n, d = 6, 5
    x = rng.uniform(-3, 3, (n, 1)) + rng.uniform(0.05, 2, (n, 1)) * rng.standard_normal((n, d))
    gamma, beta, dout = rng.uniform(0.5, 2, d), rng.standard_normal(d), rng.standard_normal((n, d))
    xhat = _normalised(x, 1)
    out, cache = layernorm_forward(*_copies(x, gamma, beta), {"eps": EPS})
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
    test_out, _ = layernorm_forward(*_copies(x, gamma, beta), {"eps": EPS, "mode": "test"})
    if not matches(test_out, out):
        problems.append(
            "layer norm differs in test mode: it has no running averages, so both modes are alike"
        )
    inv_std = (x.var(axis=1) + EPS) ** -0.5
    inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
    derivation = layernorm()
    want = derivation.evaluate(derivation.closed_forms, inputs)
    dxhat = dout * gamma
    over_the_batch = inv_std[:, None] * (
        dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)
    )
    for label, backward in (
        ("layernorm_backward", layernorm_backward),
        ("layernorm_backward_alt", layernorm_backward_alt),
    ):
        dx, dgamma, dbeta = _grads(backward, dout, cache)
        found = []
        if not matches(dx, want["dx"]):
            hypotheses = {
                "dx sums over the batch axis (axis 0) instead of the features (axis 1), as "
                "batch norm's does": over_the_batch
            }
            found += _explain_dx(
                dx, want["dx"], derivation, inputs, lambda a: a, None, "", hypotheses
            )
        found += compare(
            "dgamma",
            dgamma,
            want["dgamma"],
            {
                "dgamma of layer norm is summed over the features (axis 1): gamma scales a "
                "feature, so sum over the batch (axis 0)": (dout * xhat).sum(axis=1),
                "dgamma is not summed over the batch": dout * xhat,
                "dgamma lacks the factor xhat (dgamma = sum of dout * xhat)": dout.sum(axis=0),
            },
        )
        found += compare(
            "dbeta",
            dbeta,
            want["dbeta"],
            {
                "dbeta of layer norm is summed over the features (axis 1): beta shifts a "
                "feature, so sum over the batch (axis 0)": dout.sum(axis=1),
                "dbeta is not summed over the batch": dout,
            },
        )
        problems += _named(label, found)
    return problems


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------

PER_CHANNEL = (0, 2, 3)  # the axes of (N, C, H, W) that one channel's statistics are taken over


def _channels_last(a):
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _spatial_batchnorm_forward_problems(forward, x, gamma, beta, rm, rv):
    """Train mode (output, running averages), then test mode; and the train-mode cache."""
    C = x.shape[1]
    per_channel = (slice(None), None, None)
    bn_param = {"mode": "train", "eps": EPS, "momentum": MOMENTUM}
    bn_param.update(running_mean=rm.copy(), running_var=rv.copy())
    out, cache = forward(*_copies(x, gamma, beta), bn_param)
    g, b = gamma[per_channel], beta[per_channel]
    problems = compare(
        "train-mode out",
        out,
        g * _normalised(x, PER_CHANNEL) + b,
        {
            "spatial batch norm averages over H and W only (each image's channel alone): "
            "average each channel over N, H and W": g * _normalised(x, (2, 3)) + b,
            "spatial batch norm averages over N only (each position alone): average each "
            "channel over N, H and W": g * _normalised(x, 0) + b,
            "spatial batch norm reshapes x to (N·H·W, C) without moving the channels last: "
            "transpose to (N, H, W, C) first": (
                gamma * _normalised(x.reshape(-1, C), 0) + beta
            ).reshape(x.shape),
            **_output_slips("spatial batch norm", x, PER_CHANNEL, None, g, b),
        },
    )
    mean, var = x.mean(axis=PER_CHANNEL), x.var(axis=PER_CHANNEL)
    for key, old, batch in (("running_mean", rm, mean), ("running_var", rv, var)):
        problems += compare(
            key,
            bn_param.get(key),
            MOMENTUM * old + (1 - MOMENTUM) * batch,
            {"the running averages are updated with momentum and 1-momentum swapped": (
                (1 - MOMENTUM) * old + MOMENTUM * batch
            )},
        )  # fmt: skip
    test_param = {"mode": "test", "eps": EPS, "running_mean": rm.copy(), "running_var": rv.copy()}
    test_out, _ = forward(*_copies(x, gamma, beta), test_param)
    running = (x - rm[per_channel]) * ((rv[per_channel] + EPS) ** -0.5)
    problems += compare(
        "test-mode out",
        test_out,
        g * running + b,
        {
            "test mode uses the batch statistics instead of the running averages": (
                g * _normalised(x, PER_CHANNEL) + b
            )
        },
    )
    return problems, cache


def check_spatial_batchnorm(
    spatial_batchnorm_forward, spatial_batchnorm_backward, spatial_batchnorm_backward_alt
) -> list[str]:
    """Grade spatial batch norm: train and test mode, then both backward passes in both modes
    on the forward's own caches."""
    from derivations.spatial import spatial_batchnorm

    rng = np.random.default_rng(SEED)
    x = _images(rng, (3, 4, 2, 3))
    N, C, H, W = x.shape
    gamma, beta, dout = rng.uniform(0.5, 2, C), rng.standard_normal(C), rng.standard_normal(x.shape)
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    problems, _ = _spatial_batchnorm_forward_problems(
        spatial_batchnorm_forward, x, gamma, beta, rm, rv
    )
    if problems:
        return problems
    derivation = spatial_batchnorm()
    per_channel = (slice(None), None, None)
    reported = set()
    for mode in ("train", "test"):
        bn_param = {"mode": mode, "eps": EPS, "running_mean": rm.copy(), "running_var": rv.copy()}
        _, cache = spatial_batchnorm_forward(*_copies(x, gamma, beta), bn_param)
        if mode == "train":
            mean, var = x.mean(axis=PER_CHANNEL), x.var(axis=PER_CHANNEL)
        else:
            mean, var = rm, rv
        inv_std = (var + EPS) ** -0.5
        xhat = (x - mean[per_channel]) * inv_std[per_channel]
        inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
        want = derivation.evaluate(derivation.closed_forms, inputs)
        if mode == "test":  # the running averages are constants: the direct path only
            want["dx"] = dout * (gamma * inv_std)[per_channel]
        expected = None if mode == "train" else [1, 0, 0]
        context = "" if mode == "train" else ": the running averages are constants"
        for label, backward in (
            ("spatial_batchnorm_backward", spatial_batchnorm_backward),
            ("spatial_batchnorm_backward_alt", spatial_batchnorm_backward_alt),
        ):
            dx, dgamma, dbeta = _grads(backward, dout, cache)
            found = []
            if not matches(dx, want["dx"]):
                hypotheses = {
                    "dx is reshaped from (N·H·W, C) straight to (N, C, H, W): reshape to "
                    "(N, H, W, C), then move the channels back with transpose(0, 3, 1, 2)": (
                        _channels_last(want["dx"]).reshape(x.shape)
                    )
                }
                found += _explain_dx(
                    dx, want["dx"], derivation, inputs, lambda a: a, expected, context, hypotheses
                )
            for name, value in (("dgamma", dout * xhat), ("dbeta", dout)):
                found += compare(
                    name,
                    {"dgamma": dgamma, "dbeta": dbeta}[name],
                    want[name],
                    {
                        f"{name} of spatial batch norm is summed over N only (axis 0): sum over "
                        "N, H and W (axes 0, 2, 3)": value.sum(axis=0),
                        f"{name} of spatial batch norm is summed over H and W only: sum over "
                        "N, H and W (axes 0, 2, 3)": value.sum(axis=(2, 3)),
                    },
                )
            # A slip already reported for train mode is not repeated for test mode.
            found = [f for f in _named(label, found) if f not in reported]
            reported.update(found)
            problems += [f if mode == "train" else _in_test_mode(f) for f in found]
    return problems


def _in_test_mode(problem: str) -> str:
    """ "f: problem" -> "f: in test mode, problem"."""
    function, _, rest = problem.partition(": ")
    return f"{function}: in test mode, {rest}"


# --------------------------------------------------------------------------------------------
# Group norm
# --------------------------------------------------------------------------------------------

GROUPS = 2  # of C = 6 channels: 3 channels a group, so that the wrong grouping differs
GROUP_AXES = (2, 3, 4)  # of x seen as (N, G, C/G, H, W)


def _grouped(a, G=GROUPS):
    N, C, H, W = a.shape
    return a.reshape(N, G, C // G, H, W)


def _interleaved(a, G=GROUPS):
    """The slip x.reshape(N, C // G, G, H, W): channels c, c + G, c + 2G... in one group."""
    N, C, H, W = a.shape
    return a.reshape(N, C // G, G, H, W)


def check_spatial_groupnorm(
    spatial_groupnorm_forward, spatial_groupnorm_backward, spatial_groupnorm_backward_alt
) -> list[str]:
    """Grade group norm: the output (the same in train and test mode), then the staged and
    the closed-form backward on the forward's own cache."""
    from derivations.spatial import spatial_groupnorm

    rng = np.random.default_rng(SEED)
    x = _images(rng, (2, 6, 2, 3))
    N, C, H, W = x.shape
    gamma, beta = rng.uniform(0.5, 2, (1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    dout = rng.standard_normal(x.shape)
    xhat = _normalised(x, GROUP_AXES, _grouped)
    out, cache = spatial_groupnorm_forward(*_copies(x, gamma, beta), GROUPS, {"eps": EPS})
    problems = compare(
        "out",
        out,
        gamma * xhat + beta,
        {
            "group norm groups the wrong axis: x.reshape(N, C // G, G, H, W) puts channels c, "
            "c + G, c + 2G, ... in one group; split the channels into G groups of consecutive "
            "channels with x.reshape(N, G, C // G, H, W)": (
                gamma * _normalised(x, (1, 3, 4), _interleaved) + beta
            ),
            "group norm averages over the batch too: each example's groups are normalised on "
            "their own": gamma * _normalised(x, (0, 2, 3, 4), _grouped) + beta,
            "group norm normalises each channel alone (over H and W only): average over the "
            "C/G channels of the group too": gamma * _normalised(x, (2, 3)) + beta,
            "group norm normalises each example over all its channels (as if G = 1)": (
                gamma * _normalised(x, (1, 2, 3)) + beta
            ),
            **_output_slips("group norm", x, GROUP_AXES, _grouped, gamma, beta),
        },
    )
    if problems:
        return problems  # the backward passes are graded on a right forward's cache
    test_out, _ = spatial_groupnorm_forward(
        *_copies(x, gamma, beta), GROUPS, {"eps": EPS, "mode": "test"}
    )
    if not matches(test_out, out):
        problems.append(
            "group norm differs in test mode: it has no running averages, so both modes are alike"
        )
    derivation = spatial_groupnorm()
    inv_std = (_grouped(x).var(axis=GROUP_AXES) + EPS) ** -0.5  # (N, G)
    inputs = {
        "dout": _grouped(dout),
        "gamma": gamma.reshape(GROUPS, -1),
        "xhat": _grouped(xhat),
        "inv_std": inv_std,
    }
    want = {
        name: value.reshape(x.shape if name == "dx" else gamma.shape)
        for name, value in derivation.evaluate(derivation.closed_forms, inputs).items()
    }
    for label, backward in (
        ("spatial_groupnorm_backward", spatial_groupnorm_backward),
        ("spatial_groupnorm_backward_alt", spatial_groupnorm_backward_alt),
    ):
        dx, dgamma, dbeta = _grads(backward, dout, cache)
        found = []
        if not matches(dx, want["dx"]):
            found += _explain_dx(dx, want["dx"], derivation, inputs, _grouped)
        for name, got, value in (("dgamma", dgamma, dout * xhat), ("dbeta", dbeta, dout)):
            found += compare(
                name,
                got,
                want[name],
                {
                    f"{name} of group norm summed over the batch only (axis 0): its parameter "
                    "belongs to a channel, so sum over the batch and the positions (axes 0, 2 "
                    "and 3, keepdims=True)": value.sum(axis=0, keepdims=True),
                    f"{name} of group norm summed over the positions only: sum over the batch "
                    "too (axes 0, 2 and 3, keepdims=True)": value.sum(axis=(2, 3), keepdims=True),
                    f"{name} has shape (C,): gamma and beta have shape (1, C, 1, 1), so keep the "
                    "summed axes (keepdims=True)": value.sum(axis=PER_CHANNEL),
                },
            )
        problems += _named(label, found)
    return problems
