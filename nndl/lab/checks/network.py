"""Check of the fc_net task (chapter 6): the parameters, the gradients against numerical ones
(with batch norm, with dropout), the L2 term and the scores in test mode."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, compare, describe_difference, matches


def _expected_shapes(dims, use_batchnorm):
    """Name -> shape of every parameter of a FullyConnectedNet with layer sizes ``dims``."""
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
        if use_batchnorm and i < len(dims) - 1:
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (fan_out,), (fan_out,)
    return shapes


def _initial_values(model, dims, use_batchnorm, weight_scale) -> list[str]:
    """Problems with the parameters of a fresh model: names, shapes, and starting values."""
    params = model.params
    shapes = _expected_shapes(dims, use_batchnorm)
    if set(params) != set(shapes):
        missing, extra = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
        return [f"params lacks {missing} and has extra {extra} (use_batchnorm={use_batchnorm})"]
    problems = [
        f"params[{name!r}] has shape {np.shape(params[name])}, expected {shape}"
        for name, shape in shapes.items()
        if np.shape(params[name]) != shape
    ]
    for name, value in params.items():
        start = {"b": 0.0, "gamma": 1.0, "beta": 0.0}.get(name.rstrip("0123456789"))
        if start is not None and not np.all(value == start):
            problems.append(f"params[{name!r}] should start at {start:g}")
        if name.startswith("W") and abs(np.std(value) / weight_scale - 1) > 0.1:
            problems.append(
                f"params[{name!r}] has standard deviation {np.std(value):.3g}, "
                f"expected weight_scale = {weight_scale:g}"
            )
    return problems


def _gradient_problems(model, X, y, label) -> list[str]:
    """Compare the model's gradients with numerical gradients of its own loss."""
    from nndl.gradient_check import numerical_param_gradients

    loss, grads = model.loss(X, y)
    if set(grads) != set(model.params):
        return [f"{label}: grads has keys {sorted(grads)}, expected those of params"]
    problems = []
    for name, numerical in numerical_param_gradients(model, X, y, names=model.params).items():
        # atol: a bias followed by batch norm has a gradient of exactly 0, numerically ~1e-10.
        if not matches(grads[name], numerical, rtol=1e-5, atol=1e-8):
            problems.append(
                f"{label}: grads[{name!r}] does not match the numerical gradient of the loss "
                f"({describe_difference(name, grads[name], numerical)})"
            )
    return problems


def check_fc_net(FullyConnectedNet) -> list[str]:
    """Grade the network: its parameters, its gradients (with batch norm, and with dropout) against
    numerical ones, the L2 penalty, and the scores in test mode."""
    rng = np.random.default_rng(SEED)
    dims = [300, 200, 10]
    problems = []
    for use_batchnorm in (True, False):
        model = FullyConnectedNet(
            dims[1:-1],
            input_dim=dims[0],
            num_classes=dims[-1],
            use_batchnorm=use_batchnorm,
            weight_scale=0.1,
            dtype=np.float64,
            seed=0,
        )
        problems += _initial_values(model, dims, use_batchnorm, 0.1)
    if problems:
        return problems

    N, D, C = 5, 4, 3
    X, y = rng.standard_normal((N, D)), rng.integers(C, size=N)
    kwargs = {"input_dim": D, "num_classes": C, "weight_scale": 0.5, "dtype": np.float64, "seed": 0}
    model = FullyConnectedNet([6, 5], use_batchnorm=True, **kwargs)
    scores = model.loss(X)
    if np.shape(scores) != (N, C):
        problems.append(
            f"loss(X) without y returns shape {np.shape(scores)}, expected scores {(N, C)}"
        )
    problems += _gradient_problems(model, X, y, "with batch norm")
    model = FullyConnectedNet([6, 5], dropout=0.3, **kwargs)
    model.dropout_param["seed"] = 0  # the same mask at every call, for the numerical gradient
    problems += _gradient_problems(model, X, y, "with dropout")
    if problems:
        return problems

    reg = 0.7
    model = FullyConnectedNet([6, 5], use_batchnorm=True, **kwargs)
    # Biases, gammas and betas away from their starting 0 and 1, so that an L2 term that
    # wrongly covers them shows.
    for name, value in model.params.items():
        if not name.startswith("W"):
            model.params[name] = value + rng.uniform(0.5, 1.5, value.shape)
    loss, grads = model.loss(X, y)
    model.reg = reg
    loss_reg, grads_reg = model.loss(X, y)
    added = {name: grads_reg[name] - grads[name] for name in model.params}
    return _l2_problems(model.params, reg, loss_reg - loss, added)


def _l2_effect(params, reg, loss_factor=0.5, grad_factor=1.0, penalised=None):
    """What an L2 term ``loss_factor * reg * sum(p**2)`` over the parameters named in
    ``penalised`` (default: the weights), with gradient ``grad_factor * reg * p``, adds to the
    loss and to each gradient: (number, dict name -> array)."""
    penalised = penalised or [name for name in params if name.startswith("W")]
    penalty = loss_factor * reg * sum(np.sum(params[name] ** 2) for name in penalised)
    added = {k: grad_factor * reg * v if k in penalised else 0 * v for k, v in params.items()}
    return penalty, added


def _flat(effect):
    penalty, added = effect
    return np.concatenate([[penalty], *(np.ravel(a) for a in added.values())])


def _l2_problems(params, reg, penalty, added) -> list[str]:
    """Grade the L2 term and its gradient together, so that one slip gets one diagnosis.

    Inputs:
    - params: the model's parameters
    - reg: the L2 strength
    - penalty, added: what turning on ``reg`` added to the loss, and to each gradient
    """
    want = _l2_effect(params, reg)
    hypotheses = {
        "the 0.5 factor of the L2 term is missing (loss reg * sum(W**2), gradient 2 * reg * W)": (
            _l2_effect(params, reg, 1.0, 2.0)
        ),
        "the 0.5 factor of the L2 term is missing from the loss (its gradient reg * W is right)": (
            _l2_effect(params, reg, 1.0)
        ),
        "the L2 gradient is 2 * reg * W: with the 0.5 factor in the loss it is reg * W": (
            _l2_effect(params, reg, grad_factor=2.0)
        ),
        "the L2 gradient reg * W is missing from grads": _l2_effect(params, reg, grad_factor=0),
        "the loss has no L2 term": _l2_effect(params, reg, loss_factor=0),
        "the L2 term also covers biases, gammas and betas: only the weights are penalised": (
            _l2_effect(params, reg, penalised=list(params))
        ),
    }
    flat = {diagnosis: _flat(effect) for diagnosis, effect in hypotheses.items()}
    explained = compare("the L2 term", _flat((penalty, added)), _flat(want), flat)
    if not explained or explained[0] in hypotheses:
        return explained
    # Not one of the known slips: say which parts are wrong.
    problems = compare("the L2 term added to the loss", penalty, want[0])
    for name, value in added.items():
        problems += compare(f"the L2 gradient added to grads[{name!r}]", value, want[1][name])
    return problems
