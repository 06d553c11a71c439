"""Checks of the batch-norm tasks: the forward pass (chapters 2-3), the staged and the
closed-form backward (chapters 4-5), each backward graded in train mode on the cache of the
student's own forward pass (a round trip: what the cache holds is the student's choice), once
that forward's output is right. The test-mode backward is not graded: the network never calls
it (CS231n's forward often returns no cache in test mode)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from nndl.gradient_check import offset_and_scaled
from nndl.lab.checks.compare import (
    SEED,
    _copies,
    compare,
    dout_written,
    gradient_problems,
    input_written,
    matches,
)
from nndl.lab.checks.normalization import normalization_gradients

EPS = 1e-2  # large enough that a misplaced eps shows
MOMENTUM = 0.75  # not 0.5, so that momentum and 1 - momentum differ


def _batch(rng, n=8, d=5):
    """A batch whose features have different means and spreads, some small (so eps matters)."""
    return offset_and_scaled(rng, (n, d), offset=(-3, 3), scale=(0.05, 2))


def _normalise(x, mean, var, gamma, beta, eps=EPS):
    """gamma * (x - mean) / sqrt(var + eps) + beta: the reference of both modes."""
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


class _Problem(NamedTuple):
    """The seeded batch the forward pass is graded on, and its statistics."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    unbiased: np.ndarray  # the variance divided by N - 1

    def bn_param(self, mode):
        return {
            "mode": mode,
            "eps": EPS,
            "momentum": MOMENTUM,
            "running_mean": self.running_mean.copy(),
            "running_var": self.running_var.copy(),
        }


UNBIASED = "train mode uses the unbiased variance (divides by N - 1); batch norm divides by N"


def _problem() -> _Problem:
    rng = np.random.default_rng(SEED)
    x = _batch(rng)
    d = x.shape[1]
    gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    running_mean, running_var = rng.standard_normal(d), rng.uniform(0.5, 2, d)
    return _Problem(
        x, gamma, beta, running_mean, running_var, x.mean(0), x.var(0), x.var(0, ddof=1)
    )


def _train_output_problems(out, p: _Problem) -> list[str]:
    x, gamma, beta, mean, var = p.x, p.gamma, p.beta, p.mean, p.var
    return compare(
        "train-mode out",
        out,
        _normalise(x, mean, var, gamma, beta),
        {
            UNBIASED: _normalise(x, mean, p.unbiased, gamma, beta),
            "eps is added to the standard deviation: use (var + eps) ** -0.5": (
                gamma * (x - mean) / (np.sqrt(var) + EPS) + beta
            ),
            "train mode normalises without eps": _normalise(x, mean, var, gamma, beta, eps=0),
            "gamma and beta are swapped": _normalise(x, mean, var, beta, gamma),
            "train mode normalises with the running averages instead of the batch statistics": (
                _normalise(x, p.running_mean, p.running_var, gamma, beta)
            ),
            "train mode normalises with the running averages (updated with this batch) "
            "instead of the batch statistics: normalise with the batch's mean and variance, "
            "update the running averages for test mode": _normalise(
                x,
                MOMENTUM * p.running_mean + (1 - MOMENTUM) * p.mean,
                MOMENTUM * p.running_var + (1 - MOMENTUM) * p.var,
                gamma,
                beta,
            ),
            "the statistics are taken over the features (axis 1), not the batch (axis 0)": (
                _normalise(
                    x, x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), gamma, beta
                )
            ),
        },
    )


def _running_average_problems(bn_param, out, p: _Problem) -> list[str]:
    """The running averages after one train-mode call."""
    problems = []
    out_var = np.var(np.asarray(out, dtype=np.float64), axis=0) if np.ndim(out) == 2 else None
    for key, old, batch, slips in (
        ("running_mean", p.running_mean, p.mean, {}),
        (
            "running_var",
            p.running_var,
            p.var,
            {
                UNBIASED: MOMENTUM * p.running_var + (1 - MOMENTUM) * p.unbiased,
                "running_var is updated with the variance of the output, not of the input x": (
                    MOMENTUM * p.running_var + (1 - MOMENTUM) * out_var
                    if out_var is not None and out_var.shape == p.var.shape
                    else None
                ),
            },
        ),
    ):
        statistic = {"running_mean": "mean", "running_var": "variance"}[key]
        if np.shape(bn_param.get(key)) == (1, len(old)):
            problems.append(
                f"{key} has shape (1, D): bn_param[{key!r}] must keep shape (D,); take the "
                "batch's statistics without keepdims (x.mean(axis=0))"
            )
            continue
        hypotheses = {
            f"the running {statistic} is updated with momentum and 1-momentum swapped": (
                (1 - MOMENTUM) * old + MOMENTUM * batch
            ),
            f"the running {statistic} is not updated in train mode": old,
            f"the running {statistic} is replaced by the batch {statistic}, not averaged": batch,
            **{diagnosis: value for diagnosis, value in slips.items() if value is not None},
        }
        problems += compare(
            key, bn_param.get(key), MOMENTUM * old + (1 - MOMENTUM) * batch, hypotheses
        )
    return problems


def _test_mode_problems(batchnorm_forward, p: _Problem) -> list[str]:
    """Test mode: the running averages normalise, and stay as they are."""
    x, gamma, beta, rm, rv = p.x, p.gamma, p.beta, p.running_mean, p.running_var
    bn_param = p.bn_param("test")
    out, _ = batchnorm_forward(*_copies(x, gamma, beta), bn_param)
    problems = compare(
        "test-mode out",
        out,
        _normalise(x, rm, rv, gamma, beta),
        {
            "test mode uses the batch statistics instead of the running averages": (
                _normalise(x, p.mean, p.var, gamma, beta)
            ),
            "test mode normalises without eps": _normalise(x, rm, rv, gamma, beta, eps=0),
            "test mode divides by the running variance, not by its square root": (
                gamma * (x - rm) / (rv + EPS) + beta
            ),
            "test mode adds eps to the standard deviation: use (running_var + eps) ** -0.5": (
                gamma * (x - rm) / (np.sqrt(rv) + EPS) + beta
            ),
            "test mode centres with running_mean but scales with the batch variance: use "
            "running_var": _normalise(x, rm, p.var, gamma, beta),
            "test mode centres with the batch mean but scales with running_var: use "
            "running_mean": _normalise(x, p.mean, rv, gamma, beta),
        },
    )
    for key, old in (("running_mean", rm), ("running_var", rv)):
        if not matches(bn_param.get(key), old):
            problems.append(f"test mode changes bn_param[{key!r}]: only train mode updates it")
    return problems


def check_batchnorm_forward(batchnorm_forward) -> list[str]:
    """Grade the forward pass: train-mode output and running averages, then test mode. The
    cache is the student's: the backward passes read it, and their tasks grade it."""
    p = _problem()
    bn_param = p.bn_param("train")
    given = p.x.copy()
    out, _ = batchnorm_forward(given, *_copies(p.gamma, p.beta), bn_param)
    return [
        *_train_output_problems(out, p),
        *_running_average_problems(bn_param, out, p),
        *_test_mode_problems(batchnorm_forward, p),
        *input_written("batchnorm_forward", "x", p.x, given),
    ]


def _check_batchnorm_backward(name, batchnorm_forward, backward) -> list[str]:
    """Grade a batch-norm backward (staged or closed form) in train mode on the cache of the
    student's own forward pass; the right gradients are the closed forms of
    ``derivations.batchnorm`` (``normalization_gradients``, held to them by the instructor's
    tests), and a wrong dx is explained by the paths of the derivation."""
    rng = np.random.default_rng(SEED)
    x = _batch(rng, n=6, d=4)
    n, d = x.shape
    gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    dout = rng.standard_normal((n, d))
    bn_param = {"mode": "train", "eps": EPS, "momentum": MOMENTUM}
    bn_param.update(running_mean=np.zeros(d), running_var=np.ones(d))
    out, cache = batchnorm_forward(*_copies(x, gamma, beta), bn_param)
    inv_std = (x.var(axis=0) + EPS) ** -0.5
    xhat = (x - x.mean(axis=0)) * inv_std
    if not matches(out, gamma * xhat + beta):
        return [
            f"{name} is graded on the cache of batchnorm_forward, whose train-mode output is "
            "wrong: make batchnorm_forward pass first (nndl lab check batchnorm_forward)"
        ]
    want, scales = normalization_gradients(dout, gamma, xhat, inv_std, (0,))
    given = dout.copy()
    grads = backward(given, cache)
    inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
    explain_dx = partial(_explain_dx, want=want["dx"], inputs=inputs, scale=scales["dx"])
    xc = x - x.mean(axis=0)
    slips = {
        "dgamma": {
            "dgamma is summed over the wrong axis (axis 1, the features)": (
                np.sum(dout * xhat, axis=1)
            ),
            "dgamma is not summed over the batch": dout * xhat,
            "dgamma lacks the factor xhat (dgamma = sum of dout * xhat)": dout.sum(axis=0),
            "dgamma uses the centred input xc instead of the normalised input xhat": (
                np.sum(dout * xc, axis=0)
            ),
            "dgamma has shape (1, D): sum without keepdims, gamma has shape (D,)": (
                np.sum(dout * xhat, axis=0, keepdims=True)
            ),
        },
        "dbeta": {
            "dbeta not summed over the batch": dout,
            "dbeta is summed over the wrong axis (axis 1, the features)": dout.sum(axis=1),
            "dbeta averages over the batch instead of summing": dout.mean(axis=0),
            "dbeta has shape (1, D): sum without keepdims, beta has shape (D,)": (
                dout.sum(axis=0, keepdims=True)
            ),
        },
    }
    problems = gradient_problems(grads, want, explain_dx, slips, scales)
    return problems + dout_written(name, dout, given)


def _explain_dx(dx, want, inputs, scale) -> list[str]:
    """Diagnose a wrong dx with the terms of the derivation (one per path of the chain rule),
    first with the right upstream gradient dxhat = dout * gamma, then with the slip dxhat = dout.
    ``inputs`` holds the derivation's inputs: dout, gamma, xhat and inv_std."""
    from derivations.check import explain
    from nndl.lab.terms import batchnorm_dx_terms

    dout, gamma, xhat, inv_std = (inputs[name] for name in ("dout", "gamma", "xhat", "inv_std"))
    if np.shape(dx) == np.shape(want):
        for dxhat, slip in (
            (dout * gamma, []),
            (dout, ["dx uses dout where it needs dxhat = dout * gamma"]),
        ):
            terms, values = batchnorm_dx_terms("train", dxhat, xhat, inv_std)
            explained = explain("dx", np.asarray(dx, dtype=np.float64), terms, values)
            if explained is not None and (explained[0] or slip):
                return slip + explained[0]
    # The closed form's sum of dout taken over the features (axis 1) instead of the batch.
    n = len(dout)
    mean_path = -inv_std * (dout * gamma).sum(axis=0) / n
    over_features = -gamma * inv_std * dout.sum(axis=1, keepdims=True) / n
    hypotheses = {
        "dx's path through the mean sums dout over the features (axis 1, keepdims): the "
        "mean is over the batch (axis 0)": want - mean_path + over_features
    }
    return compare("dx", dx, want, hypotheses, scale)


def check_batchnorm_backward(batchnorm_forward, batchnorm_backward) -> list[str]:
    """Grade the staged backward (chapter 4) on the forward's own cache."""
    return _check_batchnorm_backward("batchnorm_backward", batchnorm_forward, batchnorm_backward)


def check_batchnorm_backward_alt(batchnorm_forward, batchnorm_backward_alt) -> list[str]:
    """Grade the closed-form backward (chapter 5): the same checks as the staged one."""
    return _check_batchnorm_backward(
        "batchnorm_backward_alt", batchnorm_forward, batchnorm_backward_alt
    )
