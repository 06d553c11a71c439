"""Argument checks for training (Solver, update rules, data loaders, gradient checks): integers,
numbers and seeds, each refused with an error that names the argument, what was expected and what
was got.

A wrong type (a string, None, a list) raises a TypeError; a number of the right kind with a wrong
value (negative, NaN, 2.5 where an integer is needed) raises a ValueError. Each function returns
the value in the form the code after it relies on (a Python int or float, a Generator), so a value
is checked once, where it enters.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def require_int(name, value, minimum=None, maximum=None, none=False):
    """value as an int, if it is an integer in [minimum, maximum] (or None, when none=True)."""
    if none and value is None:
        return None
    expected = "an integer" + (f" >= {minimum}" if minimum is not None else "")
    expected += f" and <= {maximum}" if maximum is not None else ""
    expected += " or None" if none else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r}")
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def require_number(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """value as a float, if it is a finite real number in the interval from low to high."""
    closing = ")" if high_open or high == math.inf else "]"
    interval = f"{'(' if low_open or low == -math.inf else '['}{low:g}, {high:g}{closing}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a number in {interval}, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def seeded_or_global_rng(name, seed):
    """``make_rng(name, seed)``, or for seed=None a Generator on the bit generator that
    ``np.random.seed`` seeds, so that ``np.random.seed(231)`` at the top of a notebook makes a
    run reproducible, as every CS231n notebook assumes."""
    if seed is None:
        return np.random.Generator(np.random.get_bit_generator())
    return make_rng(name, seed)


def make_rng(name, seed):
    """A numpy Generator from a seed: a Generator (used as it is), a BitGenerator, a SeedSequence,
    a non-negative integer or a sequence of them. None is not handled here: each caller says what
    None means."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    entries = seed if isinstance(seed, (list, tuple, np.ndarray)) else [seed]
    for entry in entries:
        if isinstance(entry, bool) or not isinstance(entry, numbers.Integral):
            raise TypeError(
                f"{name} must be None, a non-negative integer or a numpy Generator, "
                f"got {type(seed).__name__} {seed!r}"
            )
        if entry < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    if len(entries) == 0:
        raise ValueError(f"{name} must not be an empty sequence, got {seed!r}")
    return np.random.default_rng(seed)
