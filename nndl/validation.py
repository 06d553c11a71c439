"""Input checks for the layers and the networks: one place that decides what a valid array,
shape, label vector or parameter dict is, and words the error that names the argument, what it
expects and what it got (TypeError for a wrong type, ValueError for a wrong value). Numbers,
integers and seeds follow ``nndl.arguments``' rules (the training code's), with the layer's name
in front of the message.

The layers call these once, at the boundary where a value enters; the arithmetic after them
assumes valid input. The checks are cheap (no pass over an (N, D) array). Object arrays pass the
dtype check so that the layers also run on arrays of sympy symbols (``derivations/`` uses that to
prove the backward passes exact); in such a *symbolic* run a hyper-parameter may be a symbol too.

Values that are legitimate but unusual pass: a NaN or an infinity inside x gives NaN or infinity
in the output, as in NumPy. float16 does not pass: its 11 significant bits are too few for the
batch statistics and for the gradient checks, so a float16 array gets a TypeError that says so.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np

from nndl.arguments import make_rng, require_int, require_number
from nndl.table import NORM_DEFAULTS

# dtype.char of float32, float64, and object (symbolic runs).
_ARRAY_DTYPES = "fdO"


def check_array(name: str, layer: str, a: Any) -> np.ndarray:
    """Return ``a`` if it is a float32 or float64 (or object, for symbolic runs) array, else
    raise a TypeError."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{layer}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.char not in _ARRAY_DTYPES:
        hint = ""
        if a.dtype == np.float16:
            hint = " (float16 has too few digits for batch statistics and gradient checks)"
        raise TypeError(
            f"{layer}: {name} must have a floating dtype, float32 or float64, got {a.dtype}{hint}"
        )
    return a


def check_scale_and_shift(layer: str, x: np.ndarray, gamma: Any, beta: Any) -> tuple:
    """Return gamma and beta in x's dtype, after checking that they are arrays of numbers:
    integer ones (CS231n's notebooks pass ``np.asarray([3, 4, 5, 6])``) become floats, as numpy's
    arithmetic would make them for a float64 x, and float ones of the other precision take x's,
    so that a float32 layer computes and returns float32. Run after ``check_array`` has checked
    x; in a symbolic run (x an object array) they are left as they are."""
    params = []
    for name, a in (("gamma", gamma), ("beta", beta)):
        integer = isinstance(a, np.ndarray) and a.dtype.kind in "iub"
        if not integer:
            check_array(name, layer, a)
        if x.dtype != object and a.dtype != object and a.dtype != x.dtype:
            a = a.astype(x.dtype)
        params.append(a)
    return tuple(params)


def check_cache(layer: str, cache: Any, forward: str) -> None:
    """Raise unless there is a cache. Any type is accepted (a student's forward may return a tuple,
    a dict or a NamedTuple of its own); None means that the forward's cache never arrived."""
    if cache is None:
        raise TypeError(f"{layer}: cache must be the cache that {forward} returned, got NoneType")


def check_shape(
    name: str, layer: str, a: np.ndarray, shape: tuple[int, ...], why: str = "", match=None
) -> None:
    """Raise unless ``a`` has exactly ``shape``. The message adds ``why`` (e.g. "(the shape of
    the forward's x)") or, for ``match=("x", x)``, "to match x of shape (N, D)"; both are
    formatted only when the check fails."""
    if a.shape != shape:
        if match is not None:
            why = f"to match {match[0]} of shape {match[1].shape}"
        why = f" {why}" if why else ""
        raise ValueError(f"{layer}: {name} must have shape {shape}{why}, got {a.shape}")


def check_labels(layer: str, y: Any, num_samples: int, num_classes: int) -> np.ndarray:
    """Return ``y`` as an integer array of shape (num_samples,) with labels in [0, num_classes)."""
    y = np.asarray(y)
    if y.shape != (num_samples,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{layer}: y must be an integer array of shape ({num_samples},), "
            f"got {y.dtype} of shape {y.shape}"
        )
    if num_samples and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{layer}: labels must lie in [0, {num_classes}), got range [{y.min()}, {y.max()}]"
        )
    return y


def check_param_dict(layer: str, name: str, params: Any, known: Collection[str]) -> dict:
    """Return ``params`` if it is a dict whose keys are all in ``known``; a misspelt key (say
    ``"mometum"``) is an error rather than a setting silently ignored."""
    if not isinstance(params, dict):
        raise TypeError(
            f"{layer}: {name} must be a dict (keys {', '.join(sorted(known))}), "
            f"got {type(params).__name__}"
        )
    unknown = params.keys() - known
    if unknown:
        key = sorted(unknown, key=str)[0]
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{layer}: {name} has an unknown key {key!r}{hint}; its keys are "
            f"{', '.join(sorted(known))}"
        )
    return params


NORM_MODES = ("train", "test")
NORM_PARAM_KEYS = frozenset({"eps", "mode"})


def check_norm_param(layer: str, name: str, param: Any, symbolic: bool = False) -> Any:
    """Return ``eps`` from ``param`` (the ``ln_param`` / ``gn_param`` / ``rms_param`` dict of a
    normalization without running averages), after checking its keys as batch norm checks
    ``bn_param``: ``eps`` (a finite number > 0, default 1e-5) and ``mode`` ('train' or 'test';
    accepted so that a network can set the mode of every normalization layer alike, and ignored,
    since these layers are the same in both modes). Any other key is a mistake, e.g. a misspelt
    ``eps``. In a ``symbolic`` run (x an object array) eps may be a symbol."""
    check_param_dict(layer, name, param, NORM_PARAM_KEYS)
    check_mode(layer, f"{name}['mode']", param.get("mode", "train"), NORM_MODES)
    eps = param.get("eps", NORM_DEFAULTS["eps"])
    return check_number(f"{name}['eps']", layer, eps, 0, np.inf, "()", symbolic)


def check_mode(layer: str, name: str, mode: Any, modes=("train", "test")) -> str:
    """Return ``mode`` if it is one of ``modes``."""
    if mode not in modes:
        wrong = TypeError if not isinstance(mode, str) else ValueError
        raise wrong(f"{layer}: {name} must be 'train' or 'test', got {mode!r}")
    return mode


def check_number(
    name: str,
    layer: str,
    value: Any,
    low: float,
    high: float,
    brackets: str = "[]",
    symbolic: bool = False,
) -> Any:
    """Return ``value`` as a Python float if it is a finite real number between ``low`` and
    ``high``, each end included or not as ``brackets`` says ("[)" is low <= value < high). A
    NumPy scalar becomes a float, so that it cannot promote a float32 computation to float64. In
    a symbolic run any value but a string passes unchanged (a sympy symbol, say). The error is
    ``nndl.arguments.require_number``'s, with the layer's name in front."""
    if type(value) is float:  # the common case, decided without building a message
        above = low < value if brackets[0] == "(" else low <= value
        below = value < high if brackets[1] == ")" else value <= high
        if above and below and math.isfinite(value):
            return value
    elif symbolic and not isinstance(value, numbers.Real | str | bytes):
        return value
    return require_number(
        f"{layer}: {name}", value, low, high, brackets[0] == "(", brackets[1] == ")"
    )


def check_integer(name: str, where: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer >= minimum (``require_int``'s rule)."""
    return require_int(f"{where}: {name}", value, minimum)


def check_seed(name: str, where: str, seed: Any) -> Any:
    """Return ``seed`` if it is None, an integer >= 0 or a numpy Generator, else raise."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    make_rng(f"{where}: {name}", seed)  # raises for anything that is not a seed
    return seed
