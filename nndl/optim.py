"""First-order update rules for training neural networks.

Every rule has the interface ``next_w, config = rule(w, dw, config)``:

Inputs:
- w: A float32 or float64 numpy array of parameters, of any shape (float16, as everywhere in
  nndl, is refused).
- dw: A numpy array of the same shape as w: the gradient of the loss with respect to w (another
  dtype is converted to w's).
- config: A dict of hyper-parameters (learning rate, momentum, ...) and of the state the rule keeps
  between calls for this one parameter (velocity, caches, step count). It may be None or
  incomplete: missing entries get the defaults listed in each rule's docstring.

Returns:
- next_w: The updated parameters, an array of w's shape and dtype, whatever the types of dw and of
  the hyper-parameters: np.float64(1e-3) as a learning rate does not turn float32 parameters into
  float64. nndl's rules return a new array and leave w as it was; a rule may also update w in
  place and return it (CS231n's ``sgd`` does), since the caller replaces w by next_w.
- config: The same dict, with the rule's state advanced by one step; pass it back in next time.

One config dict per parameter array: the state (e.g. Adam's moments) has the parameter's shape.
A config is checked when it is used (a wrong type raises a TypeError, a value out of range such
as a negative learning rate or beta1 = 1 a ValueError, both naming the entry); the missing
defaults and the zero state are filled into it. A config that is already complete and valid --
every call's after the first -- is checked in a few comparisons, so that a step costs its
arithmetic. The rules write nothing into the caller's config but hyper-parameters and state.

The parts between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` are what a student writes.
"""

from __future__ import annotations

import math

import numpy as np

# The hyper-parameters each rule knows, with their defaults, and the state it keeps (arrays of w's
# shape and dtype, plus Adam's step count t).
HYPERPARAMETERS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v")}
# Allowed ranges: (lowest, highest, whether the highest is allowed).
_RANGES = {
    "learning_rate": (0.0, np.inf, False),
    "momentum": (0.0, 1.0, False),
    "decay_rate": (0.0, 1.0, False),
    "beta1": (0.0, 1.0, False),
    "beta2": (0.0, 1.0, False),
    "epsilon": (0.0, np.inf, False),
}


def check_config(rule, config):
    """Check a rule's hyper-parameters and return them as a new dict of Python floats.

    A numpy scalar (``np.float64(1e-3)``, ``np.logspace(...)[i]``) becomes a float, so that it
    cannot promote a float32 parameter to float64 in the arithmetic.

    Inputs:
    - rule: The rule's name, a key of HYPERPARAMETERS.
    - config: A dict, or None. Entries other than hyper-parameters (the rule's state) are kept.

    Returns:
    - config: A new dict; it raises a TypeError or ValueError naming the entry if one is wrong.
    """
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise TypeError(
            f"{rule}: config must be a dict of hyper-parameters or None, "
            f"got {type(config).__name__} {config!r}"
        )
    known = {*HYPERPARAMETERS[rule], *STATE[rule], *(("t",) if rule == "adam" else ())}
    # A misspelt hyper-parameter ("lr", "beta_1") would otherwise be ignored silently.
    unknown = sorted(set(config) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise ValueError(f"unknown config entries {unknown}; this rule knows: {names}")
    checked = dict(config)
    for name in HYPERPARAMETERS[rule]:
        if name in config:
            checked[name] = _hyperparameter(rule, name, config[name])
    if "t" in config:
        t = config["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"{rule}: config['t'] must be an integer step count, got {t!r}")
        if t < 0:
            raise ValueError(f"{rule}: config['t'] must be a step count >= 0, got {t}")
        checked["t"] = int(t)
    return checked


def _hyperparameter(rule, name, value):
    """value as a float, if it is a real number in the hyper-parameter's range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{rule}: config[{name!r}] must be a number, got {value!r}")
    low, high, high_allowed = _RANGES[name]
    value = float(value)
    if not (low <= value < high or (high_allowed and value == high)):
        interval = f"[{low:g}, {high:g}{']' if high_allowed else ')'}"
        raise ValueError(f"{rule}: config[{name!r}] must be in {interval}, got {value}")
    return value


def _with_defaults(rule, config, w, dw):
    """The config to use for one step of a rule, and dw in w's dtype.

    A config that is complete and valid (``_ready``: every call's after the first) is used as
    it is. Any other is checked, and the missing defaults and zero state are filled into the
    caller's dict, which keeps the rule's state between calls.

    Returns:
    - config: The caller's dict (a new one if it was None).
    - dw: The gradient, converted to w's dtype if it had another (a float64 gradient must not
      turn float32 parameters into float64).
    """
    ready = _ready(rule, config, w)
    if not (ready and type(dw) is np.ndarray and dw.shape == w.shape):
        _check_arrays(rule, w, dw)
    if dw.dtype != w.dtype:
        dw = dw.astype(w.dtype)
    if ready:
        return config, dw
    checked = check_config(rule, config)
    for name, value in HYPERPARAMETERS[rule].items():
        checked.setdefault(name, value)
    for name in STATE[rule]:
        if name not in checked:
            checked[name] = np.zeros_like(w)
        else:
            checked[name] = _state_array(rule, name, checked[name], w)
    if rule == "adam":
        checked.setdefault("t", 0)
    config = {} if config is None else config
    config.update(checked)
    return config, dw


def _ready(rule, config, w) -> bool:
    """Whether ``config`` is complete and valid for a step on ``w`` (a float32 or float64
    array): exactly the rule's entries, every hyper-parameter a float in its range, every state
    array of w's shape and dtype, Adam's t an int >= 0. A few comparisons, no new objects."""
    if type(config) is not dict or type(w) is not np.ndarray or w.dtype.char not in "fd":
        return False
    if len(config) != len(HYPERPARAMETERS[rule]) + len(STATE[rule]) + (rule == "adam"):
        return False
    for name in HYPERPARAMETERS[rule]:
        value = config.get(name)
        low, high, high_allowed = _RANGES[name]
        if type(value) is not float or not (
            low <= value < high or (high_allowed and value == high)
        ):
            return False
    for name in STATE[rule]:
        state = config.get(name)
        if type(state) is not np.ndarray or state.shape != w.shape or state.dtype != w.dtype:
            return False
    return rule != "adam" or (type(config.get("t")) is int and config["t"] >= 0)


def _check_arrays(rule, w, dw):
    if not isinstance(w, np.ndarray) or w.dtype not in (np.float32, np.float64):
        hint = ""
        if isinstance(w, np.ndarray) and w.dtype == np.float16:
            hint = " (float16 has too few digits for small steps: Adam's epsilon, 1e-8, is 0 in it)"
        raise TypeError(
            f"{rule}: w must be a floating-point numpy array (float32 or float64), got "
            f"{type(w).__name__}"
            + (f" of dtype {w.dtype}" if isinstance(w, np.ndarray) else "")
            + hint
        )
    if not isinstance(dw, np.ndarray) or dw.dtype.kind not in "fiu":
        raise TypeError(f"{rule}: dw must be a numeric numpy array, got {type(dw).__name__}")
    if dw.shape != w.shape:
        raise ValueError(f"{rule}: dw has shape {dw.shape} but w has shape {w.shape}")


def _state_array(rule, name, value, w):
    """A copy of a state array given by the caller, in w's dtype, if it has w's shape."""
    if np.shape(value) != w.shape:
        raise ValueError(
            f"{rule}: config[{name!r}] must have w's shape {w.shape}, got {np.shape(value)}"
        )
    return np.array(value, dtype=w.dtype)


def _like(next_w, w):
    """next_w as an array in w's dtype: the rules promise it, whatever a rule's arithmetic did
    (numpy's arithmetic on 0-d arrays returns scalars)."""
    if type(next_w) is np.ndarray and next_w.dtype == w.dtype:
        return next_w
    return np.asarray(next_w).astype(w.dtype)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw.

    config format:
    - learning_rate: Scalar learning rate (default 1e-2).
    """
    config, dw = _with_defaults("sgd", config, w, dw)

    next_w = _like(w - config["learning_rate"] * dw, w)
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
    config, dw = _with_defaults("sgd_momentum", config, w, dw)

    ### BEGIN SOLUTION
    v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
    next_w = _like(w + v, w)
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
    config, dw = _with_defaults("rmsprop", config, w, dw)

    ### BEGIN SOLUTION
    decay_rate = config["decay_rate"]
    cache = decay_rate * config["cache"] + (1 - decay_rate) * dw**2
    next_w = _like(w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), w)
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
    config, dw = _with_defaults("adam", config, w, dw)

    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    m, v = config["m"], config["v"]
    t = config["t"] + 1
    # In place, into the state arrays (one pass over the array per line):
    #   m <- beta1 * m + (1 - beta1) * dw,  written  m <- m + (1 - beta1) * (dw - m)
    scratch = np.subtract(dw, m, out=np.empty_like(m))  # an array, even for a 0-d parameter
    scratch *= 1 - beta1
    m += scratch
    #   v <- beta2 * v + (1 - beta2) * dw**2,  written  v <- v + (1 - beta2) * (dw**2 - v)
    np.multiply(dw, dw, out=scratch)
    scratch -= v
    scratch *= 1 - beta2
    v += scratch
    # Both moments start at zero, so early averages are biased towards zero; dividing by
    # 1 - beta**t undoes exactly that bias:
    #   next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)
    # with m_hat = m / c1 and v_hat = v / c2, that is, multiplied through by sqrt(c2),
    #   next_w = w - (learning_rate * sqrt(c2) / c1) * m / (sqrt(v) + epsilon * sqrt(c2))
    c1, root_c2 = 1 - beta1**t, math.sqrt(1 - beta2**t)
    np.sqrt(v, out=scratch)
    scratch += config["epsilon"] * root_c2
    np.divide(m, scratch, out=scratch)
    scratch *= -config["learning_rate"] * root_c2 / c1
    next_w = np.add(w, scratch, out=scratch)  # w - step, into the scratch array, now next_w
    config["t"] = t
    ### END SOLUTION
    return next_w, config


# The rules a Solver accepts by name.
UPDATE_RULES = {rule.__name__: rule for rule in (sgd, sgd_momentum, rmsprop, adam)}
