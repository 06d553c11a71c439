"""Checks of the image normalizations (chapter 11): spatial batch norm (its forward in train and
test mode, its backward in train mode: the network never runs a test-mode backward) and group
norm, each graded forward then backward on the forward's own cache, with the helpers of
``nndl.lab.checks.normalization``."""

from __future__ import annotations

from functools import partial

import numpy as np

from nndl.gradient_check import offset_and_scaled
from nndl.lab.checks.compare import (
    SEED,
    Advice,
    _copies,
    backward_problems,
    compare,
    input_written,
    matches,
)
from nndl.lab.checks.normalization import (
    EPS,
    _explain_dx,
    _normalised,
    _output_slips,
    normalization_gradients,
)

MOMENTUM = 0.75  # not 0.5, so that momentum and 1 - momentum differ


def _images(rng, shape):
    """Images whose channels have different means and spreads, some small (so eps matters)."""
    return offset_and_scaled(rng, shape, offset=(-3, 3), scale=(0.05, 2), axis=1)


# --------------------------------------------------------------------------------------------
# Spatial batch norm
# --------------------------------------------------------------------------------------------

PER_CHANNEL = (0, 2, 3)  # the axes of (N, C, H, W) that one channel's statistics are taken over
UNMOVED = (
    "spatial batch norm reshapes x to (N·H·W, C) without moving the channels last: transpose to "
    "(N, H, W, C) first"
)


UNMOVED_DOUT = (
    "reshapes dout to (N·H·W, C) without moving the channels last, so its rows are not those "
    "of the forward's cache: transpose dout to (N, H, W, C) first, as the forward does x"
)


def _channels_last(a):
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _spatial_batchnorm_forward_problems(forward, x, gamma, beta, rm, rv):
    """Train mode (output, running averages), then test mode; and the train-mode cache."""
    C = x.shape[1]
    rows = x.reshape(-1, C)  # the layout of the slip UNMOVED
    per_channel = (slice(None), None, None)
    bn_param = {"mode": "train", "eps": EPS, "momentum": MOMENTUM}
    bn_param.update(running_mean=rm.copy(), running_var=rv.copy())
    given = x.copy()
    out, cache = forward(given, *_copies(gamma, beta), bn_param)
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
            UNMOVED: (gamma * _normalised(rows, 0) + beta).reshape(x.shape),
            **_output_slips("spatial batch norm", x, PER_CHANNEL, None, g, b),
        },
    )
    mean, var = x.mean(axis=PER_CHANNEL), x.var(axis=PER_CHANNEL)
    for key, old, batch, unmoved in (
        ("running_mean", rm, mean, rows.mean(axis=0)),
        ("running_var", rv, var, rows.var(axis=0)),
    ):
        problems += compare(
            key,
            bn_param.get(key),
            MOMENTUM * old + (1 - MOMENTUM) * batch,
            {
                "the running averages are updated with momentum and 1-momentum swapped": (
                    (1 - MOMENTUM) * old + MOMENTUM * batch
                ),
                UNMOVED: MOMENTUM * old + (1 - MOMENTUM) * unmoved,
            },
        )
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
            ),
            UNMOVED: (gamma * (rows - rm) * (rv + EPS) ** -0.5 + beta).reshape(x.shape),
        },
    )
    return problems + input_written("spatial_batchnorm_forward", "x", x, given), cache


def check_spatial_batchnorm(
    spatial_batchnorm_forward, spatial_batchnorm_backward, spatial_batchnorm_backward_alt
) -> list[str]:
    """Grade spatial batch norm: train and test mode, then both backward passes in train mode
    on the forward's own cache."""
    from nndl.lab.terms import derivation

    rng = np.random.default_rng(SEED)
    x = _images(rng, (3, 4, 2, 3))
    C = x.shape[1]
    gamma, beta, dout = rng.uniform(0.5, 2, C), rng.standard_normal(C), rng.standard_normal(x.shape)
    rm, rv = rng.standard_normal(C), rng.uniform(0.5, 2, C)
    problems, cache = _spatial_batchnorm_forward_problems(
        spatial_batchnorm_forward, x, gamma, beta, rm, rv
    )
    if [p for p in problems if not isinstance(p, Advice)]:
        return problems  # the backward passes are graded on a right forward's cache
    per_channel = (slice(None), None, None)
    inv_std = (x.var(axis=PER_CHANNEL) + EPS) ** -0.5
    xhat = (x - x.mean(axis=PER_CHANNEL)[per_channel]) * inv_std[per_channel]
    inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
    want, scales = normalization_gradients(
        dout, gamma[per_channel], xhat, inv_std[per_channel], PER_CHANNEL
    )
    want = {name: value.reshape(-1) if name != "dx" else value for name, value in want.items()}
    scales = {name: v.reshape(-1) if name != "dx" else v for name, v in scales.items()}
    # The slip of a backward that reshapes dout to (N·H·W, C) without moving the channels
    # last: its rows are not the rows of the forward's cache.
    rows, xhat_rows = dout.reshape(-1, C), _channels_last(xhat)
    dxhat_rows = rows * gamma
    unmoved_dx = inv_std * (
        dxhat_rows - dxhat_rows.mean(axis=0) - xhat_rows * (dxhat_rows * xhat_rows).mean(axis=0)
    )
    unmoved = {
        "dx": unmoved_dx.reshape(x.shape),
        "dgamma": (rows * xhat_rows).sum(axis=0),
        "dbeta": rows.sum(axis=0),
    }
    dx_slips = {
        "dx is reshaped from (N·H·W, C) straight to (N, C, H, W): reshape to (N, H, W, C), "
        "then move the channels back with transpose(0, 3, 1, 2)": (
            _channels_last(want["dx"]).reshape(x.shape)
        ),
        UNMOVED_DOUT: unmoved["dx"],
    }
    explain_dx = partial(
        _explain_dx,
        want=want["dx"],
        derivation=partial(derivation, "spatial_batchnorm"),
        inputs=inputs,
        hypotheses=dx_slips,
        scale=scales["dx"],
    )
    slips = {
        name: {
            f"{name} of spatial batch norm is summed over N only (axis 0): sum over "
            "N, H and W (axes 0, 2, 3)": value.sum(axis=0),
            f"{name} of spatial batch norm is summed over H and W only: sum over "
            "N, H and W (axes 0, 2, 3)": value.sum(axis=(2, 3)),
            UNMOVED_DOUT: unmoved[name],
        }
        for name, value in (("dgamma", dout * xhat), ("dbeta", dout))
    }
    backwards = {
        "spatial_batchnorm_backward": spatial_batchnorm_backward,
        "spatial_batchnorm_backward_alt": spatial_batchnorm_backward_alt,
    }
    return problems + backward_problems(backwards, dout, cache, want, explain_dx, slips, scales)


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
    from nndl.lab.terms import derivation

    rng = np.random.default_rng(SEED)
    x = _images(rng, (2, 6, 2, 3))
    C = x.shape[1]
    gamma, beta = rng.uniform(0.5, 2, (1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    dout = rng.standard_normal(x.shape)
    xhat = _normalised(x, GROUP_AXES, _grouped)
    given = x.copy()
    out, cache = spatial_groupnorm_forward(
        given, *_copies(gamma, beta), GROUPS, {"eps": EPS, "mode": "train"}
    )
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
    problems += input_written("spatial_groupnorm_forward", "x", x, given)
    test_out, _ = spatial_groupnorm_forward(
        *_copies(x, gamma, beta), GROUPS, {"eps": EPS, "mode": "test"}
    )
    if not matches(test_out, out):
        problems.append(
            "group norm differs in test mode: it has no running averages, so both modes are alike"
        )
    inv_std = (_grouped(x).var(axis=GROUP_AXES, keepdims=True) + EPS) ** -0.5  # (N, G, 1, 1, 1)
    inputs = {
        "dout": _grouped(dout),
        "gamma": gamma.reshape(GROUPS, -1),
        "xhat": _grouped(xhat),
        "inv_std": inv_std.reshape(inv_std.shape[:2]),
    }
    grouped, scales = normalization_gradients(
        _grouped(dout), _grouped(gamma), _grouped(xhat), inv_std, GROUP_AXES
    )
    want = {
        name: value.reshape(x.shape if name == "dx" else gamma.shape)
        for name, value in grouped.items()
    }
    scales = {
        name: value.reshape(x.shape if name == "dx" else gamma.shape)
        for name, value in scales.items()
    }
    backwards = {
        "spatial_groupnorm_backward": spatial_groupnorm_backward,
        "spatial_groupnorm_backward_alt": spatial_groupnorm_backward_alt,
    }
    explain_dx = partial(
        _explain_dx,
        want=want["dx"],
        derivation=partial(derivation, "spatial_groupnorm"),
        inputs=inputs,
        layout=_grouped,
        scale=scales["dx"],
    )
    slips = {
        name: {
            f"{name} of group norm summed over the batch only (axis 0): its parameter "
            "belongs to a channel, so sum over the batch and the positions (axes 0, 2 "
            "and 3, keepdims=True)": value.sum(axis=0, keepdims=True),
            f"{name} of group norm summed over the positions only: sum over the batch "
            "too (axes 0, 2 and 3, keepdims=True)": value.sum(axis=(2, 3), keepdims=True),
            f"{name} has shape (C,): gamma and beta have shape (1, C, 1, 1), so keep the "
            "summed axes (keepdims=True)": value.sum(axis=PER_CHANNEL),
        }
        for name, value in (("dgamma", dout * xhat), ("dbeta", dout))
    }
    return problems + backward_problems(backwards, dout, cache, want, explain_dx, slips, scales)
