"""Checks of the losses task (chapter 6): softmax and SVM, their gradients and softmax's
stability for large scores."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, compare, matches


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
    from nndl.lab.terms import loss_dx_terms

    terms, values = loss_dx_terms(loss, x, onehot)
    hypotheses = {
        diagnosis: sum(value for term, value in zip(terms, values) if not dropped(term.path))
        for diagnosis, dropped in slips.items()
    }
    hypotheses[f"{loss} dx is not divided by N (the loss is a mean over the batch)"] = len(x) * want
    return compare(f"{loss} dx", dx, want, hypotheses)
