"""Grading checks that say what is wrong, not only that something is.

Each check is a pure function of the implementations it grades (``affine(affine_forward,
affine_backward)``, ...) and returns the list of problems it found; an empty list means the task
passes. A check runs the implementation on a small seeded problem, computes the right answer,
and when the two differ, tests hypotheses about the mistake -- the right answer minus one path of
the chain rule (the terms come from ``derivations.terms``), a sum over the wrong axis, momentum and
1 - momentum swapped... -- and reports the one that matches to round-off. If none does, the
problem names the wrong output and its relative error.

The student's modules (``nndl.layers``...) are imported inside the checks, never here: a
``layers.py`` that does not import is then a problem in the report, not a broken ``nndl lab``.
"""

from __future__ import annotations

import importlib

import numpy as np

SEED = 231
RTOL = 1e-6  # "equal to round-off": far above float64 round-off, far below any real mistake


# --------------------------------------------------------------------------------------------
# Comparing an output with the right answer and with the hypotheses
# --------------------------------------------------------------------------------------------


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


def explain_by_terms(name: str, got, terms, expected, context: str = "") -> list[str] | None:
    """Explain a wrong gradient as a combination of the terms that make up the right one.

    The gradient is a sum of terms, one per path of the chain rule (``derivations.terms``).
    Least squares finds the coefficients c with ``got = sum of c * term``; if that holds to
    round-off, every coefficient that differs from the expected one is a named mistake: 0 means
    the path is missing, -1 that its sign is wrong, and so on.

    Inputs:
    - name: the gradient's name, e.g. "dx"
    - got: the implementation's gradient
    - terms: list of (``derivations.terms.PathTerm``, its value, an array of the gradient's
      shape)
    - expected: the right coefficient of each term (1, or 0 for a path that must be absent)
    - context: why a path must be absent, appended to that diagnosis

    Returns:
    - the list of diagnoses, or None if ``got`` is not a combination of the terms
    """
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != np.shape(terms[0][1]) or not np.all(np.isfinite(got)):
        return None
    columns = np.stack([np.ravel(value) for _, value in terms], axis=1)
    target = np.ravel(got)
    coefficients = np.linalg.lstsq(columns, target, rcond=None)[0]
    if not matches(columns @ coefficients, target):
        return None
    problems, extra = [], []
    for (term, _), c, e in zip(terms, coefficients, expected):
        if abs(c - e) <= RTOL * max(1.0, abs(e)):
            continue
        if e == 0:
            extra.append(term.label)
        elif abs(c) <= RTOL:
            problems.append(f"{name} lacks {term.label} ({term.formula})")
        elif abs(c + e) <= RTOL:
            problems.append(f"{name} has {term.label} with the wrong sign ({term.formula})")
        else:
            problems.append(f"{name} scales {term.label} ({term.formula}) by {c:.3g}, not {e:g}")
    if extra:
        problems.append(f"{name} must not include {' or '.join(extra)}{context}")
    return problems


def _copies(*arrays):
    """Fresh copies, so that an implementation that writes into its inputs cannot spoil the
    reference."""
    return [np.array(a, copy=True) for a in arrays]


# --------------------------------------------------------------------------------------------
# Affine and ReLU (chapter 6)
# --------------------------------------------------------------------------------------------


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
    problems += compare(
        "dw",
        dw,
        x2.T @ dout,
        {"affine dw is transposed, shape (M, D): dw = x.T @ dout has w's shape (D, M)": transposed},
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


# --------------------------------------------------------------------------------------------
# Batch normalization (chapters 2 to 5)
# --------------------------------------------------------------------------------------------

EPS = 1e-2  # large enough that a misplaced eps shows
MOMENTUM = 0.75  # not 0.5, so that momentum and 1 - momentum differ


def _batch(rng, n=8, d=5):
    """A batch whose features have different means and spreads, some small (so eps matters)."""
    return rng.uniform(-3, 3, d) + rng.uniform(0.05, 2, d) * rng.standard_normal((n, d))


def _normalise(x, mean, var, gamma, beta, eps=EPS):
    """gamma * (x - mean) / sqrt(var + eps) + beta: the reference of both modes."""
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def check_batchnorm_forward(batchnorm_forward) -> list[str]:
    """Grade the forward pass: train-mode output and running averages, then test mode."""
    rng = np.random.default_rng(SEED)
    x = _batch(rng)
    n, d = x.shape
    gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
    running_mean, running_var = rng.standard_normal(d), rng.uniform(0.5, 2, d)
    mean, var = x.mean(axis=0), x.var(axis=0)
    unbiased = x.var(axis=0, ddof=1)

    unbiased_diagnosis = (
        "train mode uses the unbiased variance (divides by N - 1); batch norm divides by N"
    )
    bn_param = {"mode": "train", "eps": EPS, "momentum": MOMENTUM}
    bn_param.update(running_mean=running_mean.copy(), running_var=running_var.copy())
    out, cache = batchnorm_forward(*_copies(x, gamma, beta), bn_param)
    problems = compare(
        "train-mode out",
        out,
        _normalise(x, mean, var, gamma, beta),
        {
            unbiased_diagnosis: _normalise(x, mean, unbiased, gamma, beta),
            "eps is added to the standard deviation: use (var + eps) ** -0.5": (
                gamma * (x - mean) / (np.sqrt(var) + EPS) + beta
            ),
            "train mode normalises without eps": _normalise(x, mean, var, gamma, beta, eps=0),
            "gamma and beta are swapped": _normalise(x, mean, var, beta, gamma),
            "train mode uses the running averages instead of the batch statistics": (
                _normalise(x, running_mean, running_var, gamma, beta)
            ),
            "the statistics are taken over the features (axis 1), not the batch (axis 0)": (
                _normalise(
                    x, x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), gamma, beta
                )
            ),
        },
    )
    for key, old, batch, slips in (
        ("running_mean", running_mean, mean, {}),
        (
            "running_var",
            running_var,
            var,
            {unbiased_diagnosis: MOMENTUM * running_var + (1 - MOMENTUM) * unbiased},
        ),
    ):
        statistic = {"running_mean": "mean", "running_var": "variance"}[key]
        problems += compare(
            key,
            bn_param.get(key),
            MOMENTUM * old + (1 - MOMENTUM) * batch,
            {
                f"the running {statistic} is updated with momentum and 1-momentum swapped": (
                    (1 - MOMENTUM) * old + MOMENTUM * batch
                ),
                f"the running {statistic} is not updated in train mode": old,
                f"the running {statistic} is replaced by the batch {statistic}, not averaged": (
                    batch
                ),
                **slips,
            },
        )
    problems += compare(
        "cache.inv_std",
        getattr(cache, "inv_std", None),
        (var + EPS) ** -0.5,
        {unbiased_diagnosis: (unbiased + EPS) ** -0.5},
    )

    bn_param = {"mode": "test", "eps": EPS, "momentum": MOMENTUM}
    bn_param.update(running_mean=running_mean.copy(), running_var=running_var.copy())
    out, _ = batchnorm_forward(*_copies(x, gamma, beta), bn_param)
    problems += compare(
        "test-mode out",
        out,
        _normalise(x, running_mean, running_var, gamma, beta),
        {
            "test mode uses the batch statistics instead of the running averages": (
                _normalise(x, mean, var, gamma, beta)
            ),
            "test mode normalises without eps": (
                _normalise(x, running_mean, running_var, gamma, beta, eps=0)
            ),
            "test mode divides by the running variance, not by its square root": (
                gamma * (x - running_mean) / (running_var + EPS) + beta
            ),
        },
    )
    for key, old in (("running_mean", running_mean), ("running_var", running_var)):
        if not matches(bn_param.get(key), old):
            problems.append(f"test mode changes bn_param[{key!r}]: only train mode updates it")
    return problems


def _check_batchnorm_backward(backward) -> list[str]:
    """Grade a batch-norm backward (staged or closed form) in train and test mode.

    The caches are built here from the right forward pass, so that only the backward is graded;
    the right gradients are the closed forms of ``derivations.batchnorm``.
    """
    from derivations.terms import BATCHNORM_DERIVATIONS
    from nndl.batchnorm import BatchNormCache

    rng = np.random.default_rng(SEED)
    x = _batch(rng, n=6, d=4)
    n, d = x.shape
    gamma, dout = rng.uniform(0.5, 2, d), rng.standard_normal((n, d))
    running_mean, running_var = rng.standard_normal(d), rng.uniform(0.5, 2, d)
    problems = []
    for mode, mean, var in (
        ("train", x.mean(axis=0), x.var(axis=0)),
        ("test", running_mean, running_var),
    ):
        inv_std = (var + EPS) ** -0.5
        xc = x - mean
        xhat = xc * inv_std
        dx, dgamma, dbeta = backward(
            dout.copy(),
            BatchNormCache(mode=mode, xc=xc, xhat=xhat, inv_std=inv_std, gamma=gamma),
        )
        derivation = BATCHNORM_DERIVATIONS[mode]()
        inputs = {"dout": dout, "gamma": gamma, "xhat": xhat, "inv_std": inv_std}
        want = derivation.evaluate(derivation.closed_forms, inputs)
        found = []
        if not matches(dx, want["dx"]):
            found += _explain_dx(dx, want["dx"], mode, dout, gamma, xhat, inv_std)
        found += compare(
            "dgamma",
            dgamma,
            want["dgamma"],
            {
                "dgamma is summed over the wrong axis (axis 1, the features)": (
                    np.sum(dout * xhat, axis=1)
                ),
                "dgamma is not summed over the batch": dout * xhat,
                "dgamma lacks the factor xhat (dgamma = sum of dout * xhat)": dout.sum(axis=0),
                "dgamma uses the centred input xc instead of the normalised input xhat": (
                    np.sum(dout * xc, axis=0)
                ),
            },
        )
        found += compare(
            "dbeta",
            dbeta,
            want["dbeta"],
            {
                "dbeta not summed over the batch": dout,
                "dbeta is summed over the wrong axis (axis 1, the features)": dout.sum(axis=1),
                "dbeta averages over the batch instead of summing": dout.mean(axis=0),
            },
        )
        # A slip already reported for train mode is not repeated for test mode.
        prefix = "" if mode == "train" else "in test mode, "
        problems += [prefix + p for p in found if p not in problems]
    return problems


def _explain_dx(dx, want, mode, dout, gamma, xhat, inv_std) -> list[str]:
    """Diagnose a wrong dx with the terms of the derivation (one per path of the chain rule),
    first with the right upstream gradient dxhat = dout * gamma, then with the slip dxhat = dout.

    All three train-mode paths are fitted; in test mode only the direct path exists, so the
    others must have a coefficient of 0.
    """
    from derivations.terms import batchnorm_dx_terms, batchnorm_terms

    present = {term.path for term in batchnorm_terms(mode)}
    context = "" if mode == "train" else ": the running averages are constants"
    for dxhat, slip in (
        (dout * gamma, []),
        (dout, ["dx uses dout where it needs dxhat = dout * gamma"]),
    ):
        dx_terms = batchnorm_dx_terms("train", dxhat, xhat, inv_std)
        expected = [1 if term.path in present else 0 for term, _ in dx_terms]
        problems = explain_by_terms("dx", dx, dx_terms, expected, context)
        if problems is not None:
            return slip + problems
    return [describe_difference("dx", dx, want)]


def check_batchnorm_backward(batchnorm_backward) -> list[str]:
    """Grade the staged backward (chapter 4)."""
    return _check_batchnorm_backward(batchnorm_backward)


def check_batchnorm_backward_alt(batchnorm_backward_alt) -> list[str]:
    """Grade the closed-form backward (chapter 5): the same checks as the staged one."""
    return _check_batchnorm_backward(batchnorm_backward_alt)


# --------------------------------------------------------------------------------------------
# Dropout (chapter 6)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Losses (chapter 6)
# --------------------------------------------------------------------------------------------


def _softmax_stability(softmax_loss, x, y) -> list[str]:
    """Problems of softmax_loss with scores so large that exp overflows and the probabilities of
    the wrong classes underflow to 0: the loss must still be finite, without warnings."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        try:
            loss = softmax_loss(x.copy(), y.copy())[0]
        except FloatingPointError as error:
            if "log" in str(error):
                return [
                    "softmax_loss takes the log of a probability that underflows to 0 for scores "
                    "of about 1e3: compute log-probabilities as shifted - log(sum(exp(shifted)))"
                ]
            return [
                "softmax_loss overflows for scores of about 1e3: subtract each row's maximum first"
            ]
    return [] if np.isfinite(loss) else ["softmax_loss is not finite for scores of about 1e3"]


def check_losses(svm_loss, softmax_loss) -> list[str]:
    """Grade both losses on 7 examples of 5 classes, and softmax on very large scores."""
    rng = np.random.default_rng(SEED)
    n, c = 7, 5
    x, y = rng.standard_normal((n, c)), rng.integers(c, size=n)
    rows, onehot = np.arange(n), np.eye(c)[y]

    log_probs = x - x.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    loss, dx = softmax_loss(x.copy(), y.copy())
    problems = compare(
        "softmax loss",
        loss,
        -log_probs[rows, y].mean(),
        {"softmax loss is summed over the batch, not averaged": -log_probs[rows, y].sum()},
    )
    slip = {"softmax gradient misses the -1 at the true class": lambda path: "lse" not in path}
    problems += _loss_dx_problems("softmax", dx, (probs - onehot) / n, x, onehot, slip)
    problems += _softmax_stability(softmax_loss, 1e3 * x, y)

    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    positive = (margins > 0).astype(float)
    loss, dx = svm_loss(x.copy(), y.copy())
    problems += compare(
        "svm loss",
        loss,
        margins.sum() / n,
        {"svm loss counts the true class's own margin of 1": margins.sum() / n + 1},
    )
    want = (positive - onehot * positive.sum(axis=1, keepdims=True)) / n
    slip = {
        "svm gradient misses the -(number of positive margins) at the true class": (
            lambda path: "correct" in path
        )
    }
    problems += _loss_dx_problems("svm", dx, want, x, onehot, slip)
    return problems


def _loss_dx_problems(loss, dx, want, x, onehot, slips) -> list[str]:
    """Problems with the gradient of ``loss`` ("softmax" or "svm"); when it is wrong, the
    hypotheses are built from the derivation's terms: each slip drops the paths it selects.

    Inputs:
    - loss: the loss's name, also the module of ``derivations`` that derives it
    - dx: the implementation's gradient; want: the right one
    - x: the scores (N, C); onehot: the labels as one-hot rows (N, C)
    - slips: diagnosis -> function of a term's path (node names), true for the dropped paths
    """
    if matches(dx, want):
        return []
    from derivations.terms import evaluated

    derivation = getattr(importlib.import_module(f"derivations.{loss}"), f"{loss}_loss")()
    terms = evaluated(derivation, "dx", {"x": x, "y": onehot})
    hypotheses = {
        diagnosis: sum(value for term, value in terms if not dropped(term.path))
        for diagnosis, dropped in slips.items()
    }
    hypotheses[f"{loss} dx is not divided by N (the loss is a mean over the batch)"] = len(x) * want
    return compare(f"{loss} dx", dx, want, hypotheses)


# --------------------------------------------------------------------------------------------
# The network (chapter 6)
# --------------------------------------------------------------------------------------------


def _expected_shapes(dims, use_batchnorm):
    """Name -> shape of every parameter of a FullyConnectedNet with layer sizes ``dims``."""
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
        if use_batchnorm and i < len(dims) - 1:
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (fan_out,), (fan_out,)
    return shapes


def _initial_values(model, dims, use_batchnorm, weight_scale) -> list[str]:
    """Problems with the parameters of a fresh model: names, shapes, and starting values."""
    params = model.params
    shapes = _expected_shapes(dims, use_batchnorm)
    if set(params) != set(shapes):
        missing, extra = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
        return [f"params lacks {missing} and has extra {extra} (use_batchnorm={use_batchnorm})"]
    problems = [
        f"params[{name!r}] has shape {np.shape(params[name])}, expected {shape}"
        for name, shape in shapes.items()
        if np.shape(params[name]) != shape
    ]
    for name, value in params.items():
        start = {"b": 0.0, "gamma": 1.0, "beta": 0.0}.get(name.rstrip("0123456789"))
        if start is not None and not np.all(value == start):
            problems.append(f"params[{name!r}] should start at {start:g}")
        if name.startswith("W") and abs(np.std(value) / weight_scale - 1) > 0.1:
            problems.append(
                f"params[{name!r}] has standard deviation {np.std(value):.3g}, "
                f"expected weight_scale = {weight_scale:g}"
            )
    return problems


def _gradient_problems(model, X, y, label) -> list[str]:
    """Compare the model's gradients with numerical gradients of its own loss."""
    from nndl.gradient_check import eval_numerical_gradient

    loss, grads = model.loss(X, y)
    if set(grads) != set(model.params):
        return [f"{label}: grads has keys {sorted(grads)}, expected those of params"]
    problems = []
    for name, param in model.params.items():
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, verbose=False)
        # atol: a bias followed by batch norm has a gradient of exactly 0, numerically ~1e-10.
        if not matches(grads[name], numerical, rtol=1e-5, atol=1e-8):
            problems.append(
                f"{label}: grads[{name!r}] does not match the numerical gradient of the loss "
                f"({describe_difference(name, grads[name], numerical)})"
            )
    return problems


def check_fc_net(FullyConnectedNet) -> list[str]:
    """Grade the network: its parameters, its gradients (with batch norm, and with dropout) against
    numerical ones, the L2 penalty, and the scores in test mode."""
    rng = np.random.default_rng(SEED)
    dims = [300, 200, 10]
    problems = []
    for use_batchnorm in (True, False):
        model = FullyConnectedNet(
            dims[1:-1],
            input_dim=dims[0],
            num_classes=dims[-1],
            use_batchnorm=use_batchnorm,
            weight_scale=0.1,
            dtype=np.float64,
            seed=0,
        )
        problems += _initial_values(model, dims, use_batchnorm, 0.1)
    if problems:
        return problems

    N, D, C = 5, 4, 3
    X, y = rng.standard_normal((N, D)), rng.integers(C, size=N)
    kwargs = {"input_dim": D, "num_classes": C, "weight_scale": 0.5, "dtype": np.float64, "seed": 0}
    model = FullyConnectedNet([6, 5], use_batchnorm=True, **kwargs)
    scores = model.loss(X)
    if np.shape(scores) != (N, C):
        problems.append(
            f"loss(X) without y returns shape {np.shape(scores)}, expected scores {(N, C)}"
        )
    problems += _gradient_problems(model, X, y, "with batch norm")
    model = FullyConnectedNet([6, 5], dropout=0.3, **kwargs)
    model.dropout_param["seed"] = 0  # the same mask at every call, for the numerical gradient
    problems += _gradient_problems(model, X, y, "with dropout")
    if problems:
        return problems

    reg = 0.7
    model = FullyConnectedNet([6, 5], use_batchnorm=True, **kwargs)
    loss, grads = model.loss(X, y)
    model.reg = reg
    loss_reg, grads_reg = model.loss(X, y)
    added = {name: grads_reg[name] - grads[name] for name in model.params}
    return _l2_problems(model.params, reg, loss_reg - loss, added)


def _l2_effect(params, reg, loss_factor=0.5, grad_factor=1.0, penalised=None):
    """What an L2 term ``loss_factor * reg * sum(p**2)`` over the parameters named in
    ``penalised`` (default: the weights), with gradient ``grad_factor * reg * p``, adds to the
    loss and to each gradient: (number, dict name -> array)."""
    penalised = penalised or [name for name in params if name.startswith("W")]
    penalty = loss_factor * reg * sum(np.sum(params[name] ** 2) for name in penalised)
    added = {k: grad_factor * reg * v if k in penalised else 0 * v for k, v in params.items()}
    return penalty, added


def _flat(effect):
    penalty, added = effect
    return np.concatenate([[penalty], *(np.ravel(a) for a in added.values())])


def _l2_problems(params, reg, penalty, added) -> list[str]:
    """Grade the L2 term and its gradient together, so that one slip gets one diagnosis.

    Inputs:
    - params: the model's parameters
    - reg: the L2 strength
    - penalty, added: what turning on ``reg`` added to the loss, and to each gradient
    """
    want = _l2_effect(params, reg)
    hypotheses = {
        "the 0.5 factor of the L2 term is missing (loss reg * sum(W**2), gradient 2 * reg * W)": (
            _l2_effect(params, reg, 1.0, 2.0)
        ),
        "the 0.5 factor of the L2 term is missing from the loss (its gradient reg * W is right)": (
            _l2_effect(params, reg, 1.0)
        ),
        "the L2 gradient is 2 * reg * W: with the 0.5 factor in the loss it is reg * W": (
            _l2_effect(params, reg, grad_factor=2.0)
        ),
        "the L2 gradient reg * W is missing from grads": _l2_effect(params, reg, grad_factor=0),
        "the loss has no L2 term": _l2_effect(params, reg, loss_factor=0),
        "the L2 term also covers biases, gammas and betas: only the weights are penalised": (
            _l2_effect(params, reg, penalised=list(params))
        ),
    }
    flat = {diagnosis: _flat(effect) for diagnosis, effect in hypotheses.items()}
    explained = compare("the L2 term", _flat((penalty, added)), _flat(want), flat)
    if not explained or explained[0] in hypotheses:
        return explained
    # Not one of the known slips: say which parts are wrong.
    problems = compare("the L2 term added to the loss", penalty, want[0])
    for name, value in added.items():
        problems += compare(f"the L2 gradient added to grads[{name!r}]", value, want[1][name])
    return problems


# --------------------------------------------------------------------------------------------
# Update rules (chapter 7)
# --------------------------------------------------------------------------------------------

CONFIGS = {
    "sgd_momentum": {"learning_rate": 0.1, "momentum": 0.8},
    "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-8},
}


def _momentum_path(w, dws, learning_rate, momentum):
    v, path = np.zeros_like(w), []
    for dw in dws:
        v = momentum * v - learning_rate * dw
        w = w + v
        path.append(w)
    return path


def _rmsprop_path(w, dws, learning_rate, decay_rate, epsilon, root=np.sqrt):
    cache, path = np.zeros_like(w), []
    for dw in dws:
        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        w = w - learning_rate * dw / (root(cache) + epsilon)
        path.append(w)
    return path


def _adam_path(w, dws, learning_rate, beta1, beta2, epsilon, bias_correction=True):
    m, v, path = np.zeros_like(w), np.zeros_like(w), []
    for t, dw in enumerate(dws, start=1):
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        if bias_correction:
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        else:
            m_hat, v_hat = m, v
        w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
        path.append(w)
    return path


def _forgetful(reference, w, dws, **config):
    """The path of a rule that starts from a fresh state at every step."""
    path = []
    for dw in dws:
        w = reference(w, [dw], **config)[0]
        path.append(w)
    return path


def _rule_problems(name, rule, reference, w, dws, hypotheses) -> list[str]:
    """Run ``rule`` for len(dws) steps from ``w``, passing its config back in, and compare the
    path of parameters with the reference's."""
    config, path, current = dict(CONFIGS[name]), [], w.copy()
    for dw in dws:
        before = current.copy()
        next_w, config = rule(current, dw.copy(), config)
        if not np.array_equal(current, before):
            return [f"{name} modifies w in place: return a new array"]
        path.append(next_w)
        current = np.array(next_w, dtype=np.float64)
    want = reference(w, dws, **CONFIGS[name])
    hypotheses = {
        f"{name} does not keep its state in config between calls": (
            _forgetful(reference, w, dws, **CONFIGS[name])
        ),
        **hypotheses,
    }
    return compare(
        f"the parameters after each {name} step",
        np.stack(path),
        np.stack(want),
        {diagnosis: np.stack(value) for diagnosis, value in hypotheses.items()},
    )


def check_optim(sgd_momentum, rmsprop, adam) -> list[str]:
    """Grade the update rules over four steps each, from the same w and gradients."""
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((3, 4))
    dws = [rng.standard_normal((3, 4)) for _ in range(4)]
    lr, mu = CONFIGS["sgd_momentum"]["learning_rate"], CONFIGS["sgd_momentum"]["momentum"]
    rms = CONFIGS["rmsprop"]
    problems = _rule_problems(
        "sgd_momentum",
        sgd_momentum,
        _momentum_path,
        w,
        dws,
        {
            "sgd_momentum steps up the gradient: v <- momentum * v - learning_rate * dw": (
                _momentum_path(w, dws, -lr, mu)
            ),
            "sgd_momentum does not decay the velocity by momentum": _momentum_path(w, dws, lr, 1.0),
        },
    )
    problems += _rule_problems(
        "rmsprop",
        rmsprop,
        _rmsprop_path,
        w,
        dws,
        {
            "rmsprop divides by the cache instead of its square root": (
                _rmsprop_path(w, dws, **rms, root=lambda c: c)
            ),
            "rmsprop swaps decay_rate and 1 - decay_rate": (
                _rmsprop_path(w, dws, rms["learning_rate"], 1 - rms["decay_rate"], rms["epsilon"])
            ),
        },
    )
    problems += _rule_problems(
        "adam",
        adam,
        _adam_path,
        w,
        dws,
        {
            "adam without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t": (
                _adam_path(w, dws, **CONFIGS["adam"], bias_correction=False)
            ),
        },
    )
    return problems
