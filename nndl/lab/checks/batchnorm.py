"""Checks of the batch-norm tasks: the forward pass (chapters 2-3), the staged and the
closed-form backward (chapters 4-5), each backward graded on the reference forward's cache."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from nndl.gradient_check import offset_and_scaled
from nndl.lab.checks.compare import (
    SEED,
    _copies,
    compare,
    describe_difference,
    gradient_problems,
    matches,
)

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
            "train mode uses the running averages instead of the batch statistics": (
                _normalise(x, p.running_mean, p.running_var, gamma, beta)
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


def _cache_problems(cache, p: _Problem) -> list[str]:
    """The cache's inverse standard deviation (the backward passes read it)."""
    inv_std = getattr(cache, "inv_std", None)
    return compare(
        "cache.inv_std",
        np.reshape(inv_std, -1) if isinstance(inv_std, np.ndarray) else inv_std,  # (D,) or (1, D)
        (p.var + EPS) ** -0.5,
        {UNBIASED: (p.unbiased + EPS) ** -0.5},
    )


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
    """Grade the forward pass: train-mode output, running averages and cache, then test mode."""
    p = _problem()
    bn_param = p.bn_param("train")
    out, cache = batchnorm_forward(*_copies(p.x, p.gamma, p.beta), bn_param)
    return [
        *_train_output_problems(out, p),
        *_running_average_problems(bn_param, out, p),
        *_cache_problems(cache, p),
        *_test_mode_problems(batchnorm_forward, p),
    ]


def _check_batchnorm_backward(backward) -> list[str]:
    """Grade a batch-norm backward (staged or closed form) in train and test mode.

    The caches come from the reference forward pass (``nndl.lab.reference``), so that only the
    backward is graded; the right gradients are the closed forms of ``derivations.batchnorm``.
    """
    from nndl.lab.reference import batchnorm_reference
    from nndl.lab.terms import batchnorm_derivation

    rng = np.random.default_rng(SEED)
    x = _batch(rng, n=6, d=4)
    n, d = x.shape
    gamma, dout = rng.uniform(0.5, 2, d), rng.standard_normal((n, d))
    running_mean, running_var = rng.standard_normal(d), rng.uniform(0.5, 2, d)
    problems = []
    for mode in ("train", "test"):
        bn_param = {"mode": mode, "eps": EPS}
        bn_param.update(running_mean=running_mean, running_var=running_var)
        _, cache = batchnorm_reference(x, gamma, np.zeros(d), bn_param)
        xc, xhat, inv_std = cache.xc, cache.xhat, cache.inv_std
        grads = backward(dout.copy(), cache)
        derivation = batchnorm_derivation(mode)
        inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
        want = derivation.evaluate(derivation.closed_forms, inputs)
        explain_dx = partial(_explain_dx, want=want["dx"], mode=mode, inputs=inputs)
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
            },
            "dbeta": {
                "dbeta not summed over the batch": dout,
                "dbeta is summed over the wrong axis (axis 1, the features)": dout.sum(axis=1),
                "dbeta averages over the batch instead of summing": dout.mean(axis=0),
            },
        }
        found = gradient_problems(grads, want, explain_dx, slips)
        # A slip already reported for train mode is not repeated for test mode.
        prefix = "" if mode == "train" else "in test mode, "
        problems += [prefix + p for p in found if p not in problems]
    return problems


def _explain_dx(dx, want, mode, inputs) -> list[str]:
    """Diagnose a wrong dx with the terms of the derivation (one per path of the chain rule),
    first with the right upstream gradient dxhat = dout * gamma, then with the slip dxhat = dout.
    ``inputs`` holds the derivation's inputs: dout, gamma, xhat and inv_std.

    All three train-mode paths are fitted; in test mode only the direct path exists, so the
    others must have a coefficient of 0.
    """
    from derivations.check import explain
    from nndl.lab.terms import batchnorm_dx_terms, batchnorm_terms

    dout, gamma, xhat, inv_std = (inputs[name] for name in ("dout", "gamma", "xhat", "inv_std"))
    present = {term.path for term in batchnorm_terms(mode)}
    context = "" if mode == "train" else ": the running averages are constants"
    for dxhat, slip in (
        (dout * gamma, []),
        (dout, ["dx uses dout where it needs dxhat = dout * gamma"]),
    ):
        terms, values = batchnorm_dx_terms("train", dxhat, xhat, inv_std)
        expected = [1 if term.path in present else 0 for term in terms]
        explained = explain("dx", dx, terms, values, expected, context)
        if explained is not None:
            return slip + explained[0]
    if mode == "train":
        # The closed form's sum of dout taken over the features (axis 1) instead of the batch.
        n = len(dout)
        mean_path = -inv_std * (dout * gamma).sum(axis=0) / n
        over_features = -gamma * inv_std * dout.sum(axis=1, keepdims=True) / n
        hypotheses = {
            "dx's path through the mean sums dout over the features (axis 1, keepdims): the "
            "mean is over the batch (axis 0)": want - mean_path + over_features
        }
        return compare("dx", dx, want, hypotheses)
    return [describe_difference("dx", dx, want)]


def check_batchnorm_backward(batchnorm_backward) -> list[str]:
    """Grade the staged backward (chapter 4)."""
    return _check_batchnorm_backward(batchnorm_backward)


def check_batchnorm_backward_alt(batchnorm_backward_alt) -> list[str]:
    """Grade the closed-form backward (chapter 5): the same checks as the staged one."""
    return _check_batchnorm_backward(batchnorm_backward_alt)
