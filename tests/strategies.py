"""Hypothesis strategies shared by the tests: batch shapes, float dtypes, seeded arrays and values
that are not numbers; ``offset_and_scaled`` (``nndl.gradient_check``'s, the one generator of
batches whose features have an offset and a scale, re-exported here), and ``gradient_check_batch``,
the original notebook's batch-norm gradient check built on it.

Arrays are drawn from a seeded normal distribution rather than element by element, so that the
examples look like activations (no subnormals or 1e308s) and shrink to small shapes and seeds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from nndl.gradient_check import offset_and_scaled

__all__ = [
    "batch_shapes",
    "batches",
    "float_dtypes",
    "gradient_check_batch",
    "like",
    "not_numbers",
    "offset_and_scaled",
    "seeds",
]

float_dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(min_value=0, max_value=2**32 - 1)
# Values a hyper-parameter must refuse as "not a number": strings, None, lists, booleans, arrays.
not_numbers = st.one_of(
    st.text(max_size=5),
    st.none(),
    st.lists(st.floats(), max_size=2),
    st.booleans(),
    st.just(np.array([0.5])),
)


def gradient_check_batch(rng: np.random.Generator, shape=(4, 5)):
    """The original notebook's batch-norm gradient check: ``x = 12 + 5 * N(0, 1)`` of shape
    (N, D), then standard normal ``gamma``, ``beta`` (D,) and ``dout`` (N, D), drawn in that
    order. Returns (x, gamma, beta, dout)."""
    d = shape[-1]
    x = offset_and_scaled(rng, shape, offset=12, scale=5)
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    return x, gamma, beta, rng.standard_normal(shape)


@st.composite
def batch_shapes(draw, min_n: int = 2, max_n: int = 64, max_d: int = 16) -> tuple[int, int]:
    """Shapes (N, D) of a batch of N examples with D features."""
    return draw(st.integers(min_n, max_n)), draw(st.integers(1, max_d))


@st.composite
def batches(draw, min_n: int = 2, max_n: int = 64, max_d: int = 16, dtype=None):
    """A batch ``x`` of shape (N, D) with a per-feature offset and scale, and its dtype."""
    n, d = draw(batch_shapes(min_n=min_n, max_n=max_n, max_d=max_d))
    dtype = dtype or draw(float_dtypes)
    return offset_and_scaled(np.random.default_rng(draw(seeds)), (n, d)).astype(dtype)


def like(x: np.ndarray, seed: int, shape=None) -> np.ndarray:
    """Standard normal values of x's dtype (and shape, unless given)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x.shape if shape is None else shape).astype(x.dtype)
