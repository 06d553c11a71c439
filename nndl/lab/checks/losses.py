"""Checks of the losses task (chapter 6): softmax and SVM, their gradients, softmax's loss for a
true class far less likely than the others, and (advice) softmax's stability for huge scores."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, Advice, compare, input_written, matches

CONFIDENT_MISTAKE = 40.0  # how far below the best score the true class of some rows lies
EPSILON_IN_THE_LOG = (
    "softmax_loss adds a constant inside the log (np.log(p + 1e-12)): for a true class "
    f"{CONFIDENT_MISTAKE:g} below the best score, of probability about e^-{CONFIDENT_MISTAKE:g}, "
    f"the loss is about {CONFIDENT_MISTAKE:g}, not 27.6; compute log-probabilities as shifted - "
    "log(sum(exp(shifted)))"
)


EPSILONS = (1e-15, 1e-12, 1e-10, 1e-8, 1e-7, 1e-6, 1e-5)  # the constants students add in the log


def _log_probabilities(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _softmax_problems(softmax_loss, x, y) -> list[str]:
    """The loss and dx of softmax_loss on scores ``x`` with labels ``y``."""
    n, c = x.shape
    rows, onehot = np.arange(n), np.eye(c)[y]
    log_probs = _log_probabilities(x)
    given = x.copy()
    loss, dx = softmax_loss(given, y.copy())
    problems = compare(
        "softmax loss",
        loss,
        -log_probs[rows, y].mean(),
        {"softmax loss is summed over the batch, not averaged": -log_probs[rows, y].sum()},
    )
    # log(p + eps) is off by about eps / p: far above round-off for the constants students add.
    with_eps = [-np.log(np.exp(log_probs[rows, y]) + eps).mean() for eps in EPSILONS]
    if problems and any(matches(loss, value) for value in with_eps):
        problems = [EPSILON_IN_THE_LOG]
    slip = {"softmax gradient misses the -1 at the true class": lambda path: "lse" not in path}
    problems += _loss_dx_problems("softmax", dx, (np.exp(log_probs) - onehot) / n, x, onehot, slip)
    return problems + input_written("softmax_loss", "x", x, given)


def _softmax_stability(softmax_loss, x, y) -> list[str]:
    """Advice for a softmax_loss whose loss is not finite for scores of about 1e3 (the
    probabilities of the wrong classes underflow to 0: a log of a probability is -inf)."""
    with np.errstate(all="ignore"):
        loss = softmax_loss(x.copy(), y.copy())[0]
    if np.isfinite(loss):
        return []
    return [
        Advice(
            "softmax_loss is not finite for scores of about 1e3 (a probability underflows to "
            "0 and its log is -inf): compute log-probabilities as shifted - "
            "log(sum(exp(shifted)))"
        )
    ]


def _svm_scores(rng, n, c):
    """Scores and labels whose margins x_j - x_y + 1 all lie at least 0.1 from 0, the kink."""
    x, y = rng.standard_normal((n, c)), rng.integers(c, size=n)
    rows = np.arange(n)
    margins = x - x[rows, y][:, None] + 1
    near = np.abs(margins) < 0.1
    near[rows, y] = False
    x[near] += np.where(margins[near] >= 0, 0.2, -0.2)
    return x, y


def check_losses(svm_loss, softmax_loss) -> list[str]:
    """Grade both losses on 7 examples of 5 classes; softmax also where two rows' true class
    lies 40 below their best score, and (advice) on scores of about 1e3."""
    rng = np.random.default_rng(SEED)
    n, c = 7, 5
    x, y = rng.standard_normal((n, c)), rng.integers(c, size=n)
    problems = _softmax_problems(softmax_loss, x, y)
    if not problems:
        confident = x.copy()
        confident[:2] = confident[:2].max(axis=1, keepdims=True)
        confident[[0, 1], y[:2]] -= CONFIDENT_MISTAKE
        found = _softmax_problems(softmax_loss, confident, y)
        problems += [EPSILON_IN_THE_LOG] if any(not isinstance(p, Advice) for p in found) else []
    problems += _softmax_stability(softmax_loss, 1e3 * x, y)

    x, y = _svm_scores(rng, n, c)
    rows, onehot = np.arange(n), np.eye(c)[y]
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    positive = (margins > 0).astype(float)
    given = x.copy()
    loss, dx = svm_loss(given, y.copy())
    problems += compare(
        "svm loss",
        loss,
        margins.sum() / n,
        {"svm loss counts the true class's own margin of 1": margins.sum() / n + 1},
        scale=(np.abs(x).sum() + margins.size) / n,
    )
    want = (positive - onehot * positive.sum(axis=1, keepdims=True)) / n
    slip = {
        "svm gradient misses the -(number of positive margins) at the true class": (
            lambda path: "correct" in path
        )
    }
    problems += _loss_dx_problems("svm", dx, want, x, onehot, slip)
    return problems + input_written("svm_loss", "x", x, given)


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
    from nndl.lab.terms import loss_dx_terms

    terms, values = loss_dx_terms(loss, x, onehot)
    hypotheses = {
        diagnosis: sum(value for term, value in zip(terms, values) if not dropped(term.path))
        for diagnosis, dropped in slips.items()
    }
    hypotheses[f"{loss} dx is not divided by N (the loss is a mean over the batch)"] = len(x) * want
    return compare(f"{loss} dx", dx, want, hypotheses)
