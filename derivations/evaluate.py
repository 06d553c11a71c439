"""Evaluate a derivation's formulas on arrays.

The formulas are written for a symbolic size (``N`` examples, sums ``sum_j``); this module runs
them on concrete arrays, either

- float arrays: the NumPy implementation of a closed form (``Derivation.numpy_fn``), or
- object arrays of sympy symbols: the exact instance of the formula for a concrete size, which
  the tests compare with nndl run on the same symbols, and with brute-force differentiation.

An indexed quantity such as ``x_i`` is an array whose leading axes follow its indices (axis 0 runs
over i for ``x``); trailing axes beyond those are carried along untouched. That is how one
batch-norm formula, written for a single feature, runs on all D features at once: ``x`` of shape
(N, D) has index i on axis 0, and ``gamma`` of shape (D,) has no index at all.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from derivations.notation import Index

# NumPy versions of the sympy functions a formula may contain. A sympy Function subclass of our
# own (ramp, step) carries its NumPy version as the attribute ``numpy``.
NUMPY_FUNCTIONS: dict[Any, Callable] = {sp.exp: np.exp, sp.log: np.log, sp.Abs: np.abs}


class Labelled(NamedTuple):
    """An array together with the index symbol that each of its leading axes runs over."""

    array: Any
    labels: tuple[sp.Symbol, ...]


def _aligned(a: Labelled, labels: tuple[sp.Symbol, ...], rest_ndim: int) -> Any:
    """``a.array`` with its leading axes moved into the order of ``labels`` (size 1 where ``a``
    lacks a label) and its trailing axes padded to ``rest_ndim``, ready to broadcast."""
    array = np.asarray(a.array)
    n = len(a.labels)
    array = np.transpose(
        array, [a.labels.index(s) for s in labels if s in a.labels] + [*range(n, array.ndim)]
    )
    sizes = iter(array.shape)
    shape = [next(sizes) if s in a.labels else 1 for s in labels]
    rest = array.shape[n:]
    return array.reshape(shape + [1] * (rest_ndim - len(rest)) + list(rest))


def _combine(op: Callable, operands: list[Labelled]) -> Labelled:
    labels = tuple(dict.fromkeys(s for o in operands for s in o.labels))
    rest_ndim = max(np.ndim(o.array) - len(o.labels) for o in operands)
    arrays = [_aligned(o, labels, rest_ndim) for o in operands]
    return Labelled(functools.reduce(op, arrays), labels)


class Evaluator:
    """Evaluates expressions of one derivation on given input arrays.

    Inputs:
    - symbols: every quantity of the derivation by name (an IndexedBase or a Symbol)
    - definitions: forward expression of each node by name, at the node's own indices; a node
      is evaluated (once) the first time a formula needs it
    - indices: the kinds of index, to find each size symbol's value in the input shapes
    - inputs: arrays by name; float arrays, or object arrays of sympy expressions (exact mode)
    """

    def __init__(
        self,
        symbols: Mapping[str, sp.Basic],
        definitions: Mapping[str, tuple[sp.Basic, sp.Expr]],
        indices: tuple[Index, ...],
        inputs: Mapping[str, Any],
    ):
        unknown = set(inputs) - set(symbols)
        if unknown:
            raise ValueError(
                f"unknown inputs {sorted(unknown)}; the quantities are {list(symbols)}"
            )
        self.symbols = symbols
        self.definitions = definitions
        self.values = {name: np.asarray(a) for name, a in inputs.items()}
        self.exact = any(a.dtype == object for a in self.values.values())
        self.sizes, self.rest_shape = self._bind_shapes(indices)
        self.size_of = {name: ix.size for ix in indices for name in ix.names}

    def _bind_shapes(self, indices: tuple[Index, ...]) -> tuple[dict, tuple[int, ...]]:
        """The value of each size symbol (N, D...), read from the leading axes of the inputs,
        and the shape of the trailing axes that every formula is broadcast over (the D
        features of batch norm)."""
        sizes: dict[sp.Symbol, tuple[int, str, int]] = {}  # size -> (value, input, axis)
        rests = {}
        for name, array in self.values.items():
            shape = getattr(self.symbols[name], "shape", None) or ()
            if array.ndim < len(shape):
                raise ValueError(
                    f"{name} needs at least {len(shape)} axes, got shape {array.shape}"
                )
            for axis, (size, n) in enumerate(zip(shape, array.shape, strict=False)):
                value, first, first_axis = sizes.setdefault(size, (n, name, axis))
                if value != n:
                    raise ValueError(
                        f"{name} has {size} = {n} (axis {axis}), but {first} has {size} = "
                        f"{value} (axis {first_axis})"
                    )
            rests[name] = array.shape[len(shape) :]
        missing = [ix.size for ix in indices if ix.size not in sizes]
        if missing:
            raise ValueError(f"no input gives the size of {missing}")
        try:
            rest_shape = np.broadcast_shapes(*rests.values())
        except ValueError:
            raise ValueError(f"the trailing axes of the inputs do not broadcast: {rests}") from None
        return {size: value for size, (value, _, _) in sizes.items()}, rest_shape

    def value(self, name: str) -> np.ndarray:
        """The array of quantity ``name``, axes in the order of its own indices."""
        if name not in self.values:
            if name not in self.definitions:
                raise KeyError(f"input {name!r} is missing")
            own, expression = self.definitions[name]
            labels = own.indices if isinstance(own, sp.Indexed) else ()
            self.values[name] = self.array(expression, labels)
        return self.values[name]

    def array(self, expr: sp.Expr, labels: tuple[sp.Symbol, ...]) -> np.ndarray:
        """``expr`` evaluated, with its leading axes in the order of ``labels``."""
        result = self(sp.sympify(expr))
        extra = set(result.labels) - set(labels)
        if extra:
            raise ValueError(f"{expr} has free indices {extra} beyond {labels}")
        array = _aligned(result, tuple(labels), len(self.rest_shape))
        shape = tuple(self.sizes[self.size_of[s]] for s in labels) + self.rest_shape
        return np.broadcast_to(array, shape)

    def number(self, value: sp.Number) -> Any:
        return value if self.exact else float(value)

    def __call__(self, expr: sp.Expr) -> Labelled:
        if isinstance(expr, sp.Indexed):
            if len(set(expr.indices)) != len(expr.indices):
                raise ValueError(f"cannot evaluate {expr}: an index appears twice")
            return Labelled(self.value(expr.base.label.name), tuple(expr.indices))
        if isinstance(expr, sp.Number):
            return Labelled(self.number(expr), ())
        if isinstance(expr, sp.Symbol):
            if expr in self.sizes:
                return Labelled(self.number(sp.Integer(self.sizes[expr])), ())
            return Labelled(self.value(expr.name), ())
        if isinstance(expr, sp.Add):
            return _combine(operator.add, [self(a) for a in expr.args])
        if isinstance(expr, sp.Mul):
            return _combine(operator.mul, [self(a) for a in expr.args])
        if isinstance(expr, sp.Pow):
            return _combine(operator.pow, [self(expr.base), self(expr.exp)])
        if isinstance(expr, sp.Sum):
            return self._sum(expr)
        if isinstance(expr, sp.Function):
            return self._function(expr)
        raise NotImplementedError(f"cannot evaluate {type(expr).__name__}: {expr}")

    def _sum(self, expr: sp.Sum) -> Labelled:
        result = self(expr.function)
        for var, lo, hi in expr.limits:
            if lo != 0 or hi + 1 not in self.sizes:
                raise NotImplementedError(f"a sum must run over a whole index, got {expr}")
            if var in result.labels:
                axis = result.labels.index(var)
                labels = result.labels[:axis] + result.labels[axis + 1 :]
                result = Labelled(np.sum(result.array, axis=axis), labels)
            else:
                result = _combine(operator.mul, [result, self(hi + 1)])
        return result

    def _function(self, expr: sp.Function) -> Labelled:
        (arg,) = expr.args
        inner = self(arg)
        func = type(expr)
        if self.exact:
            return Labelled(np.frompyfunc(func, 1, 1)(inner.array), inner.labels)
        numeric = getattr(func, "numpy", None) or NUMPY_FUNCTIONS.get(func)
        if numeric is None:
            raise NotImplementedError(f"no NumPy version of {func.__name__}")
        return Labelled(numeric(inner.array), inner.labels)
