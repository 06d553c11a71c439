"""Input checks for the layers: one place that decides what a valid array, shape or label
vector is, and words the error that names the argument.

The layers call these once, at the boundary where a value enters; the arithmetic after them
assumes valid input. Object arrays pass the dtype check so that the layers also run on arrays of
sympy symbols (``derivations/`` uses that to prove the backward passes exact).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_array(name: str, layer: str, a: Any) -> np.ndarray:
    """Return ``a`` if it is a float (or object, for symbolic runs) array, else raise."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{layer}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype.kind not in "fO":  # floating, or object for symbolic runs
        raise TypeError(
            f"{layer}: {name} must have a floating dtype (float32 or float64), got {a.dtype}"
        )
    return a


def check_shape(name: str, layer: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    """Raise unless ``a`` has exactly ``shape``."""
    if a.shape != shape:
        raise ValueError(f"{layer}: {name} must have shape {shape}, got {a.shape}")


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
