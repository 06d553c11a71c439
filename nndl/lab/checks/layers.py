"""Checks of the layer tasks of chapter 6: affine, ReLU, dropout."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import (
    SEED,
    Advice,
    _copies,
    compare,
    describe_difference,
    dout_written,
    input_written,
    matches,
)


def check_affine(affine_forward, affine_backward) -> list[str]:
    """Grade the affine layer on x of shape (4, 2, 3), so that D = 6 differs from M = 5."""
    rng = np.random.default_rng(SEED)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    x2 = x.reshape(4, 6)

    given = x.copy()
    out, cache = affine_forward(given, *_copies(w, b))
    problems = compare(
        "out",
        out,
        x2 @ w + b,
        {"affine_forward leaves out the bias b": x2 @ w},
        scale=np.abs(x2) @ np.abs(w) + np.abs(b),
    )
    problems += input_written("affine_forward", "x", x, given)
    given = dout.copy()
    dx, dw, db = affine_backward(given, cache)
    problems += compare(
        "dx",
        dx,
        (dout @ w.T).reshape(x.shape),
        {
            "dx has shape (N, D): reshape it to x's shape (N, d_1, ..., d_k), and cache x "
            "itself, not its flattened copy": dout @ w.T
        },
        scale=(np.abs(dout) @ np.abs(w.T)).reshape(x.shape),
    )
    transposed = dout.T @ x2
    if np.ndim(dw) == x.ndim and np.shape(dw)[:-1] == x.shape[:0:-1]:
        problems.append(
            f"dw has shape {np.shape(dw)}: x of shape {x.shape} must be flattened to (N, D) "
            "first, dw = x.reshape(x.shape[0], -1).T @ dout"
        )
    else:
        problems += compare(
            "dw",
            dw,
            x2.T @ dout,
            {
                "affine dw is transposed, shape (M, D): dw = x.T @ dout has w's shape (D, M)": (
                    transposed
                )
            },
            scale=np.abs(x2.T) @ np.abs(dout),
        )
    problems += compare(
        "db",
        db,
        dout.sum(axis=0),
        {
            "db is not summed over the batch": dout,
            "db averages over the batch instead of summing": dout.mean(axis=0),
        },
        scale=np.abs(dout).sum(axis=0),
    )
    return problems + dout_written("affine_backward", dout, given)


def check_relu(relu_forward, relu_backward) -> list[str]:
    """Grade the ReLU on inputs at least 0.1 away from 0: at 0 any gradient in [0, 1] is a
    subgradient, so the kink is never sampled."""
    rng = np.random.default_rng(SEED)
    x = rng.choice([-1.0, 1.0], (6, 7)) * rng.uniform(0.1, 2, (6, 7))
    dout = rng.standard_normal((6, 7))

    given = x.copy()
    out, cache = relu_forward(given)
    problems = compare(
        "out", out, np.maximum(x, 0), {"relu_forward computes min(x, 0)": np.minimum(x, 0)}
    )
    problems += input_written("relu_forward", "x", x, given)
    given = dout.copy()
    dx = relu_backward(given, cache)
    problems += compare(
        "dx",
        dx,
        np.where(x > 0, dout, 0),
        {
            "relu passes gradient where x <= 0": dout,
            "relu_backward masks with dout > 0 instead of x > 0": np.maximum(dout, 0),
        },
    )
    return problems + dout_written("relu_backward", dout, given)


KEEP_PROBABILITY = (
    "dropout keeps each unit with probability p: CS231n 2019+ passes the keep probability; here "
    "p is the drop probability (keep a unit with probability 1 - p, scale it by 1/(1-p))"
)
NOT_INVERTED = (
    "dropout is not inverted: scale the kept units by 1/(1-p) in train mode, so that test mode "
    "returns x unchanged"
)


def _train_mode_problems(out, x, p) -> tuple[list[str], np.ndarray]:
    """Problems of a train-mode output; and each unit's scale, out / x (0: dropped)."""
    if np.shape(out) != x.shape:
        return [describe_difference("out", out, x)], np.zeros_like(x)
    scale = np.asarray(out, dtype=np.float64) / x  # 0 for a dropped unit, 1/(1-p) for a kept one
    kept = scale != 0
    # The fraction kept is binomial, of standard deviation 0.005 for 10,000 units: 0.03 is 6 of
    # them, so a right mask never fails and a mask that keeps a fraction p never passes.
    if np.all(kept == kept[0]):
        return [
            "dropout draws one mask for the whole batch (every example drops the same units): "
            "draw a mask of x's shape"
        ], scale
    if abs(kept.mean() - p) < 0.03:
        return [KEEP_PROBABILITY], scale
    problems = []
    if abs(kept.mean() - (1 - p)) >= 0.03:
        problems.append(
            f"dropout keeps {kept.mean():.1%} of the units, expected 1 - p = {1 - p:.0%}"
        )
    if kept.any():
        scales = {"1/(1-p)": 1 / (1 - p), "1": 1.0, "1/p": 1 / p}
        found = [name for name, s in scales.items() if matches(scale[kept], np.full(kept.sum(), s))]
        if found == ["1"]:
            problems.append(NOT_INVERTED)
        elif found == ["1/p"]:
            problems.append("dropout rescales the kept units by 1/p instead of 1/(1-p)")
        elif not found:
            problems.append("the kept units are not all scaled by the same 1/(1-p)")
    return problems, scale


def check_dropout(dropout_forward, dropout_backward) -> list[str]:
    """Grade inverted dropout on 10,000 positive units with p = 0.3 (the probability of
    dropping a unit): the fraction dropped, the scale of the kept units, a new mask at every
    call but the same one for a fixed seed, test mode, and the backward pass on the forward's
    own cache. What is graded is read from the outputs, never from how the mask was drawn."""
    p, units = 0.3, (200, 50)
    rng = np.random.default_rng(SEED)
    x, dout = rng.uniform(1, 2, units), rng.standard_normal(units)

    given = x.copy()
    out, cache = dropout_forward(given, {"p": p, "mode": "train", "seed": 0})
    problems, scale = _train_mode_problems(out, x, p)
    if problems and np.shape(out) != x.shape:
        return problems
    problems += input_written("dropout_forward", "x", x, given)
    again, _ = dropout_forward(x.copy(), {"p": p, "mode": "train", "seed": 0})
    if not np.array_equal(again, out):
        problems.append(
            "the mask ignores dropout_param['seed']: with a seed, every call must drop the same "
            "units; draw the mask with _dropout_rng(dropout_param) (or, as CS231n, call "
            "np.random.seed(dropout_param['seed']) first)"
        )
    generator = {"p": p, "mode": "train", "rng": np.random.default_rng(SEED)}
    first, _ = dropout_forward(x.copy(), generator)
    second, _ = dropout_forward(x.copy(), generator)
    if np.array_equal(first, second):
        problems.append(
            "dropout reuses one mask across calls (two calls with dropout_param['rng'] drop the "
            "same units): draw a new mask at every call from _dropout_rng(dropout_param)"
        )
    test_out, _ = dropout_forward(x.copy(), {"p": p, "mode": "test"})
    if np.shape(test_out) == x.shape and np.any(np.asarray(test_out) == 0):
        problems.append(
            "dropout drops units in test mode: return x unchanged when dropout_param['mode'] "
            "is 'test'"
        )
    else:
        problems += compare("test-mode out", test_out, x, {NOT_INVERTED: (1 - p) * x})
    out32, _ = dropout_forward(x.astype(np.float32), {"p": p, "mode": "train", "seed": 0})
    if np.asarray(out32).dtype != np.float32:
        problems.append(
            Advice(
                f"dropout turns a float32 input into {np.asarray(out32).dtype}: build the mask "
                "in x's dtype, or return out.astype(x.dtype)"
            )
        )

    given = dout.copy()
    dx = dropout_backward(given, cache)
    problems += compare(
        "dx",
        dx,
        dout * scale,
        {
            "dropout_backward does not apply the mask": dout,
            "dropout_backward does not rescale by 1/(1-p)": dout * (scale != 0),
        },
    )
    return problems + dout_written("dropout_backward", dout, given)
