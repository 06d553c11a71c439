"""Batch norm's dx split by path of the chain rule, written through dxhat, as the lab grades it.

The terms come from ``derivations.terms.split``; the lab fits a wrong dx with them
(``derivations.check.explain``) to say which path is missing or has the wrong sign.
"""

from __future__ import annotations

import functools


def batchnorm_derivation(mode: str):
    """``derivations.batchnorm_train()`` or ``batchnorm_test()``."""
    from derivations.batchnorm import batchnorm_test, batchnorm_train

    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return batchnorm_train() if mode == "train" else batchnorm_test()


@functools.cache
def batchnorm_terms(mode: str):
    """The terms (``derivations.records.Term``) of batch norm's dx in ``mode``, through dxhat."""
    from derivations.terms import split

    return split(batchnorm_derivation(mode), "dx", via="xhat")


def batchnorm_dx_terms(mode: str, dxhat, xhat, inv_std):
    """The terms of batch norm's dx, written through dxhat, and their values.

    Inputs:
    - mode: "train" (direct path, through the mean, through the variance) or "test" (the
      direct path only: the running averages are constants)
    - dxhat: gradient of the normalised input, shape (N, D) (dout * gamma)
    - xhat: normalised input, shape (N, D)
    - inv_std: inverse standard deviation, shape (D,)

    Returns:
    - (terms, values): the values, of shape (N, D), add up to dx
    """
    terms = batchnorm_terms(mode)
    inputs = {"dxhat": dxhat, "xhat": xhat, "inv_std": inv_std}
    values = batchnorm_derivation(mode).evaluate_terms("dx", inputs, terms)
    return terms, [values[term.description] for term in terms]


def loss_dx_terms(loss: str, x, onehot):
    """The terms of a loss's dx (``loss``: "softmax" or "svm") and their values on scores ``x``
    with one-hot labels ``onehot``."""
    import importlib

    derivation = getattr(importlib.import_module(f"derivations.{loss}"), f"{loss}_loss")()
    from derivations.terms import split

    terms = split(derivation, "dx")
    values = derivation.evaluate_terms("dx", {"x": x, "y": onehot}, terms)
    return terms, [values[term.description] for term in terms]
