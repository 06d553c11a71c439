"""Checks of the layer tasks of chapter 6: affine, ReLU, dropout."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import RTOL, SEED, _copies, compare, describe_difference


def check_affine(affine_forward, affine_backward) -> list[str]:
    """Grade the affine layer on x of shape (4, 2, 3), so that D = 6 differs from M = 5."""
    rng = np.random.default_rng(SEED)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    x2 = x.reshape(4, 6)

    out, cache = affine_forward(*_copies(x, w, b))
    problems = compare("out", out, x2 @ w + b, {"affine_forward leaves out the bias b": x2 @ w})
    dx, dw, db = affine_backward(dout.copy(), cache)
    problems += compare(
        "dx",
        dx,
        (dout @ w.T).reshape(x.shape),
        {"dx has shape (N, D): reshape it to x's shape (N, d_1, ..., d_k)": dout @ w.T},
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
        )
    problems += compare(
        "db",
        db,
        dout.sum(axis=0),
        {
            "db is not summed over the batch": dout,
            "db averages over the batch instead of summing": dout.mean(axis=0),
        },
    )
    return problems


def check_relu(relu_forward, relu_backward) -> list[str]:
    """Grade the ReLU on inputs that include exact zeros (where the gradient is 0)."""
    rng = np.random.default_rng(SEED)
    x, dout = rng.standard_normal((6, 7)), rng.standard_normal((6, 7))
    x[0, :4] = 0.0
    x_given = x.copy()

    out, cache = relu_forward(x_given)
    problems = compare(
        "out", out, np.maximum(x, 0), {"relu_forward computes min(x, 0)": np.minimum(x, 0)}
    )
    if not np.array_equal(x_given, x):
        problems.append("relu_forward modifies x in place: return a new array")
    dx = relu_backward(dout.copy(), cache)
    problems += compare(
        "dx",
        dx,
        np.where(x > 0, dout, 0),
        {
            "relu passes gradient where x <= 0": dout,
            "relu passes gradient where x == 0 (the gradient at 0 is 0)": np.where(x >= 0, dout, 0),
            "relu_backward masks with dout > 0 instead of x > 0": np.maximum(dout, 0),
        },
    )
    return problems


def check_dropout(dropout_forward, dropout_backward) -> list[str]:
    """Grade inverted dropout on 10,000 positive units with p = 0.3 (probability of dropping)."""
    p, units = 0.3, (200, 50)
    rng = np.random.default_rng(SEED)
    x, dout = rng.uniform(1, 2, units), rng.standard_normal(units)

    out, cache = dropout_forward(x.copy(), {"p": p, "mode": "train", "seed": 0})
    if np.shape(out) != x.shape:
        return [describe_difference("out", out, x)]
    problems = []
    scale = np.asarray(out) / x  # 0 for a dropped unit, 1 / (1 - p) for a kept one
    kept = scale != 0
    # The fraction kept is binomial, of standard deviation 0.005 for 10,000 units: 0.03 is 6 of
    # them, so a right mask never fails and a mask that keeps a fraction p never passes.
    if abs(kept.mean() - p) < 0.03:
        problems.append("dropout keeps units with probability p instead of dropping them")
    elif abs(kept.mean() - (1 - p)) >= 0.03:
        problems.append(
            f"dropout keeps {kept.mean():.1%} of the units, expected 1 - p = {1 - p:.0%}"
        )
    if kept.any():
        scales = {"1/(1-p)": 1 / (1 - p), "1": 1.0, "1/p": 1 / p}
        found = [name for name, s in scales.items() if np.allclose(scale[kept], s, rtol=RTOL)]
        if found == ["1"]:
            problems.append("dropout does not rescale by 1/(1-p)")
        elif found == ["1/p"]:
            problems.append("dropout rescales the kept units by 1/p instead of 1/(1-p)")
        elif not found:
            problems.append("the kept units are not all scaled by the same 1/(1-p)")
    again, _ = dropout_forward(x.copy(), {"p": p, "mode": "train", "seed": 0})
    if not np.array_equal(again, out):
        problems.append(
            "the mask ignores dropout_param['seed']: draw it with _dropout_rng(dropout_param)"
        )
    generator = {"p": p, "mode": "train", "rng": np.random.default_rng(SEED)}
    first, _ = dropout_forward(x.copy(), generator)
    second, _ = dropout_forward(x.copy(), generator)
    if np.array_equal(first, second):
        problems.append(
            "dropout reuses one mask across calls (two calls with dropout_param['rng'] drop the "
            "same units): draw a new mask at every call from _dropout_rng(dropout_param)"
        )
    out32, _ = dropout_forward(x.astype(np.float32), {"p": p, "mode": "train", "seed": 0})
    if np.asarray(out32).dtype != np.float32:
        problems.append(
            f"dropout turns a float32 input into {np.asarray(out32).dtype}: "
            "build the mask in x's dtype"
        )

    dx = dropout_backward(dout.copy(), cache)
    problems += compare(
        "dx",
        dx,
        dout * scale,
        {
            "dropout_backward does not apply the mask": dout,
            "dropout_backward does not rescale by 1/(1-p)": dout * kept,
        },
    )
    return problems
