"""Numerical gradients by centred differences, to check analytic backward passes.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of the centred difference is O(h**2), so with h = 1e-5 a correct float64 backward agrees
to about 1e-8 relative error or better. float32 has too few digits for that: check in float64.

``numerical_gradients`` (a layer's inputs, by name) and ``numerical_param_gradients`` (a model's
parameters) are the two checks the tests, the lab and the chapters make; ``offset_and_scaled``
draws the batches they check on, whose features are far from mean 0 and variance 1.

Each function perturbs one entry of x at a time, in place, and puts the original value back before
moving on, even if f raises: the caller's x is unchanged afterwards, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nndl.arguments import make_rng, require_int, require_number


def _centred_differences(f, x, h, indices):
    """Evaluate f on either side of x, one entry at a time.

    Inputs:
    - f: Function of one array of x's shape.
    - x: Floating-point numpy array, perturbed in place and always restored.
    - h: Step size.
    - indices: Iterable of index tuples into x.

    Yields:
    - (ix, f_plus, f_minus): f at x with x[ix] increased by h, and decreased by h, as arrays.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        # An integer array would round x + h back to x and report a zero gradient.
        raise TypeError(
            f"x must be a floating-point numpy array, got {type(x).__name__} "
            f"of dtype {getattr(x, 'dtype', None)}"
        )
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place (and restored)")
    h = require_number("h", h, 0, low_open=True)
    for ix in indices:
        original = x[ix]
        try:
            x[ix] = original + h
            # Copy: f may return a view of x or reuse an output buffer between calls.
            f_plus = np.array(f(x), copy=True)
            x[ix] = original - h
            f_minus = np.array(f(x), copy=True)
        finally:
            x[ix] = original
        yield ix, f_plus, f_minus


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function f at x.

    Inputs:
    - f: Function taking an array of x's shape and returning a scalar (e.g. a loss).
    - x: Floating-point array of any shape: the point at which to evaluate the gradient.
    - verbose: If True, print each index and its gradient entry as it is computed.
    - h: Step size of the centred difference.

    Returns:
    - grad: Array of x's shape and dtype, grad[i] ~ df/dx[i].
    """
    grad = np.zeros_like(x)
    for ix, f_plus, f_minus in _centred_differences(f, x, h, np.ndindex(np.shape(x))):
        grad[ix] = (f_plus - f_minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of an array-valued function f, contracted with an upstream gradient.

    This is what a layer's backward computes: given df = dL/d(f(x)), it returns
    dL/dx[i] = sum over outputs of df * d f(x) / dx[i].

    Inputs:
    - f: Function taking an array of x's shape and returning an array of df's shape.
    - x: Floating-point array of any shape.
    - df: Upstream gradient, of f(x)'s shape.
    - h: Step size of the centred difference.

    Returns:
    - grad: Array of x's shape and dtype.
    """
    grad = np.zeros_like(x)
    for ix, f_plus, f_minus in _centred_differences(f, x, h, np.ndindex(np.shape(x))):
        if f_plus.shape != np.shape(df):
            raise ValueError(f"f(x) has shape {f_plus.shape} but df has shape {np.shape(df)}")
        grad[ix] = np.sum((f_plus - f_minus) * df) / (2 * h)
    return grad


def numerical_gradients(f, inputs, dout, h=1e-5):
    """Numerical gradients of a layer's forward with respect to each of its named inputs.

    For a forward f(**inputs) and an upstream gradient dout, this is what the layer's backward
    computes: dL/d(name) for L = sum(f(**inputs) * dout).

    Inputs:
    - f: Function taking the entries of inputs as keyword arguments, returning an array of dout's
      shape (or a scalar, e.g. a loss, when dout is None).
    - inputs: Mapping from argument names to values. Every floating-point numpy array among them
      is differentiated (perturbed in place, one entry at a time, and restored); other values
      (integer labels, a bn_param dict, ...) are passed to f unchanged.
    - dout: Upstream gradient, of f's output shape; None when f returns a scalar.
    - h: Step size of the centred difference.

    Returns:
    - grads: Dict from "d" + name to the numerical gradient, an array of that input's shape and
      dtype, e.g. {"dx": ..., "dgamma": ..., "dbeta": ...} for inputs x, gamma, beta.
    """
    if not isinstance(inputs, Mapping):
        raise TypeError(
            f"inputs must be a mapping from names to arrays, got {type(inputs).__name__}"
        )
    grads = {}
    for name, value in inputs.items():
        if not (isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
            continue

        def f_of(v, name=name):
            return f(**{**inputs, name: v})

        if dout is None:
            grads[f"d{name}"] = eval_numerical_gradient(f_of, value, verbose=False, h=h)
        else:
            grads[f"d{name}"] = eval_numerical_gradient_array(f_of, value, dout, h=h)
    return grads


def numerical_param_gradients(model, X, y, names=None, h=1e-5):
    """Numerical gradients of a model's loss with respect to its parameters.

    Each parameter array in model.params is perturbed in place, one entry at a time, and
    restored, so the model is unchanged afterwards.

    Inputs:
    - model: An object with .params (dict of arrays) and .loss(X, y) -> (loss, grads).
    - X, y: The batch the loss is evaluated on.
    - names: The parameters to differentiate (default: all, in sorted order).
    - h: Step size of the centred difference.

    Returns:
    - grads: Dict from each parameter name to its numerical gradient, the keys of model.loss's
      grads.
    """
    names = sorted(model.params) if names is None else list(names)
    unknown = [name for name in names if name not in model.params]
    if unknown:
        raise ValueError(
            f"names must be keys of model.params {sorted(model.params)}, got {unknown}"
        )

    def loss(_):
        return model.loss(X, y)[0]

    return {
        name: eval_numerical_gradient(loss, model.params[name], verbose=False, h=h)
        for name in names
    }


def offset_and_scaled(rng, shape, offset=(-10, 10), scale=(0.5, 10), axis=-1):
    """A batch whose features have an offset and a scale: ``offset + scale * N(0, 1)``.

    A batch norm whose backward is only checked on standard normal input can be wrong (a missing
    path through the mean, say) and still pass; an offset and a scale make every path count.

    Inputs:
    - rng: numpy Generator, drawn from in this order: the offsets, the scales, the normal values.
    - shape: Shape of the batch, e.g. (N, D).
    - offset, scale: Numbers (the same for the whole batch), or (low, high) ranges from which
      each entry along ``axis`` draws its own, uniformly.
    - axis: The axis whose entries (the features) get their own offset and scale: -1 for the
      features of an (N, D) batch, 1 for the channels of (N, C, H, W) images, 0 for the
      examples of a layer norm.

    Returns:
    - x: Float64 array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    shape = tuple(shape)
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis must be an axis of shape {shape}, got {axis}")
    # One draw for each entry along axis, broadcast over the others.
    drawn = tuple(n if i == axis % len(shape) else 1 for i, n in enumerate(shape))
    if isinstance(offset, tuple):
        offset = rng.uniform(*offset, size=drawn)
    if isinstance(scale, tuple):
        scale = rng.uniform(*scale, size=drawn)
    return offset + scale * rng.standard_normal(shape)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare an analytic gradient with the numerical one at a few random entries of x.

    Checking every entry of a large weight matrix is slow; a handful of random ones catches most
    mistakes. Prints one line per check.

    Inputs:
    - f: Function taking an array of x's shape and returning a scalar.
    - x: Floating-point array of any shape.
    - analytic_grad: Array of x's shape: the gradient to check.
    - num_checks: Number of random entries to check.
    - h: Step size of the centred difference.
    - seed: Seed (or numpy Generator) choosing the entries.

    Returns:
    - errors: Array of shape (num_checks,), the relative error of each check.
    """
    if np.shape(analytic_grad) != np.shape(x):
        raise ValueError(
            f"analytic_grad has shape {np.shape(analytic_grad)} but x has shape {np.shape(x)}"
        )
    num_checks = require_int("num_checks", num_checks, minimum=1)
    rng = np.random.default_rng() if seed is None else make_rng("seed", seed)
    indices = [tuple(int(rng.integers(n)) for n in np.shape(x)) for _ in range(num_checks)]
    errors = []
    for ix, f_plus, f_minus in _centred_differences(f, x, h, indices):
        numerical = float((f_plus - f_minus) / (2 * h))
        analytic = float(analytic_grad[ix])
        errors.append(rel_error(numerical, analytic))
        print(f"numerical: {numerical:f} analytic: {analytic:f}, relative error: {errors[-1]:e}")
    return np.array(errors)


def rel_error(x, y):
    """Largest relative error between two arrays (or scalars) of the same shape.

    Returns:
    - max over entries of |x - y| / max(1e-8, |x| + |y|), as a float. The floor of 1e-8 keeps
      entries where both are (almost) zero from dividing by zero.
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        # Broadcasting would compare the wrong entries and still return a number.
        raise ValueError(f"shapes differ: {x.shape} and {y.shape}")
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
