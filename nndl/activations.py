"""Hidden-layer activations other than the ReLU (which is a lab task in ``nndl.layers``).

``FullyConnectedNet(activation="sigmoid")`` uses these: the network of Ioffe & Szegedy's (2015)
Figure 1 has sigmoid units. They are nndl's own code, not lab tasks.
"""

from __future__ import annotations

import numpy as np

from nndl.validation import check_array, check_cache, check_shape


def sigmoid_forward(x):
    """The logistic sigmoid, ``out = 1 / (1 + exp(-x))`` elementwise.

    For x < -709 (float64; -88 in float32) ``exp(-x)`` overflows to inf and the fraction is
    0, the correctly rounded value: the overflow (and an underflow of exp for x > 745) is
    expected and not reported. (The overflow-free
    ``0.5 * (1 + tanh(x / 2))`` costs three times as much: numpy's tanh is slow.)

    Input:
    - x: array of any shape

    Returns a tuple of:
    - out: array of the same shape as x, in (0, 1)
    - cache: out (the backward pass needs only the output)
    """
    check_array("x", "sigmoid_forward", x)
    with np.errstate(over="ignore", under="ignore"):
        out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of ``sigmoid_forward``: d sigma / dx = sigma (1 - sigma), so
    ``dx = dout * out * (1 - out)``. Neither ``dout`` nor the cache is modified.

    Inputs:
    - dout: upstream gradient, the shape of x
    - cache: the forward pass's cache (its output)

    Returns:
    - dx: gradient with respect to x
    """
    layer = "sigmoid_backward"
    check_array("dout", layer, dout)
    check_cache(layer, cache, "sigmoid_forward")
    check_shape("dout", layer, dout, cache.shape, "(the shape of the forward's x)")
    return dout * cache * (1 - cache)


# The hidden activations FullyConnectedNet(activation=...) takes. The ReLU's passes are the lab's
# (nndl.layers), so that a student copy's network runs the student's ReLU.
ACTIVATIONS = ("relu", "sigmoid")
