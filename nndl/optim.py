"""First-order update rules for training neural networks.

Every rule has the interface ``next_w, config = rule(w, dw, config)``:

Inputs:
- w: A numpy array of parameters, of any shape.
- dw: A numpy array of the same shape as w: the gradient of the loss with respect to w.
- config: A dict of hyper-parameters (learning rate, momentum, ...) and of the state the rule keeps
  between calls for this one parameter (velocity, caches, step count). It may be None or
  incomplete: missing entries get the defaults listed in each rule's docstring.

Returns:
- next_w: The updated parameters, a new array of w's shape and dtype (w itself is not modified).
- config: The same dict, with the rule's state advanced by one step; pass it back in next time.

One config dict per parameter array: the state (e.g. Adam's moments) has the parameter's shape.
"""

from __future__ import annotations

import numpy as np


def _with_defaults(config, w, dw, zeros=(), **defaults):
    """Fill in a rule's defaults after checking its inputs.

    Inputs:
    - config: The caller's dict (filled in place), or None for a fresh one.
    - w, dw: Parameters and gradient; they must have the same shape.
    - zeros: Names of state arrays that start as zeros of w's shape and dtype.
    - defaults: Hyper-parameter and scalar-state defaults, as name=value.

    Returns:
    - config: The dict, with every default that was missing now set.
    """
    if np.shape(dw) != np.shape(w):
        raise ValueError(f"dw has shape {np.shape(dw)} but w has shape {np.shape(w)}")
    config = {} if config is None else config
    # A misspelt hyper-parameter ("lr", "beta_1") would otherwise be ignored silently.
    unknown = sorted(set(config) - set(defaults) - set(zeros))
    if unknown:
        known = ", ".join(sorted([*defaults, *zeros]))
        raise ValueError(f"unknown config entries {unknown}; this rule knows: {known}")
    for name, value in defaults.items():
        config.setdefault(name, value)
    for name in zeros:
        if name not in config:
            config[name] = np.zeros_like(w)
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    """
    config = _with_defaults(config, w, dw, learning_rate=1e-2)

    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    The velocity v is a running, decaying sum of past steps:
        v <- momentum * v - learning_rate * dw
        w <- w + v

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - momentum: Scalar in [0, 1) giving the momentum value; 0 gives plain sgd (default 0.9).
    - velocity: Array of w's shape holding the velocity (starts at zeros).
    """
    config = _with_defaults(config, w, dw, zeros=("velocity",), learning_rate=1e-2, momentum=0.9)

    ### BEGIN SOLUTION
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    ### END SOLUTION
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a running average of the squared gradient.

        cache <- decay_rate * cache + (1 - decay_rate) * dw**2
        w <- w - learning_rate * dw / (sqrt(cache) + epsilon)

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    - decay_rate: Scalar in [0, 1) weighting the old cache against the new squared gradient
      (default 0.99).
    - epsilon: Small scalar that keeps the division finite (default 1e-8).
    - cache: Array of w's shape, the moving average of dw**2 (starts at zeros).
    """
    config = _with_defaults(
        config, w, dw, zeros=("cache",), learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8
    )

    ### BEGIN SOLUTION
    decay_rate = config["decay_rate"]
    cache = decay_rate * config["cache"] + (1 - decay_rate) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    ### END SOLUTION
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient (first moment m) and RMSProp-style scaling by the squared
    gradient (second moment v), both bias-corrected for starting at zero.

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * dw
        v <- beta2 * v + (1 - beta2) * dw**2
        w <- w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config format:
    - learning_rate: Scalar learning rate (default 1e-3).
    - beta1: Decay rate of the first moment (default 0.9).
    - beta2: Decay rate of the second moment (default 0.999).
    - epsilon: Small scalar that keeps the division finite (default 1e-8).
    - m: Array of w's shape, moving average of the gradient (starts at zeros).
    - v: Array of w's shape, moving average of the squared gradient (starts at zeros).
    - t: Number of steps taken; incremented before use, so the first step has t = 1 (starts at 0).
    """
    config = _with_defaults(
        config,
        w,
        dw,
        zeros=("m", "v"),
        learning_rate=1e-3,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-8,
        t=0,
    )

    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    # Both moments start at zero, so early averages are biased towards zero; dividing by
    # 1 - beta**t undoes exactly that bias.
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    ### END SOLUTION
    return next_w, config


# The rules a Solver accepts by name.
UPDATE_RULES = {rule.__name__: rule for rule in (sgd, sgd_momentum, rmsprop, adam)}
