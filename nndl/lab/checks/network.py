"""Check of the fc_net task (chapter 6): the parameters a network starts with, then networks
whose parameters the check sets itself (so that nothing depends on how the student draws random
numbers): their loss against the right one, their gradients against numerical ones, batch norm's
running averages and test mode, dropout, layer norm, and the L2 term.

The parameters are drawn so that no ReLU input comes near 0, whatever the dropout mask: small
weights, biases of at least 1 in size, and after a normalization |gamma * xhat| < 1 <= |beta|
(|xhat| <= sqrt(n - 1) over n values). A numerical gradient then never straddles the kink, and
the check passes a right network for every seed (the instructor's tests run it over many).
"""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, Advice, compare, describe_difference, matches

HIDDEN, INPUT, CLASSES, BATCH = (6, 5), 4, 3, 5
WEIGHTS = 0.03  # the weights lie in [-WEIGHTS, WEIGHTS]: |x @ W| stays below 0.6
DROP = 0.3  # the drop probability of the dropout network
MOMENTUM, EPS = 0.75, 1e-5  # the batch-norm network's bn_param


def _expected_shapes(dims, normalization):
    """Name -> shape of every parameter of a FullyConnectedNet with layer sizes ``dims``."""
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
        if normalization and i < len(dims) - 1:
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (fan_out,), (fan_out,)
    return shapes


def _initial_values(model, dims, normalization, weight_scale) -> list[str]:
    """Problems with the parameters of a fresh model: names, shapes, and starting values."""
    params = model.params
    shapes = _expected_shapes(dims, normalization)
    if set(params) != set(shapes):
        missing, extra = sorted(set(shapes) - set(params)), sorted(set(params) - set(shapes))
        return [f"params lacks {missing} and has extra {extra} (normalization={normalization!r})"]
    problems = [
        f"params[{name!r}] has shape {np.shape(params[name])}, expected {shape} "
        f"(normalization={normalization!r})"
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


def _parameters(rng, normalization) -> dict:
    """The parameters the check sets, bounded so that no ReLU input comes near 0."""
    dims = [INPUT, *HIDDEN, CLASSES]
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = rng.uniform(-WEIGHTS, WEIGHTS, (fan_in, fan_out))
        params[f"b{i}"] = rng.choice([-1.0, 1.0], fan_out) * rng.uniform(1, 2, fan_out)
        if normalization and i < len(dims) - 1:
            params[f"gamma{i}"] = rng.uniform(0.2, 0.4, fan_out)
            signs = rng.choice([-1.0, 1.0], fan_out)
            signs[rng.integers(fan_out)] = 1.0  # a unit that passes: the loss depends on gamma
            params[f"beta{i}"] = signs * rng.uniform(1, 1.5, fan_out)
    return params


def _reference(params, X, y, normalization=None, running=None, use_normalization=True):
    """The network's scores and softmax loss, and each hidden layer's batch mean and variance
    before batch norm. ``running``: the batch-norm layers' (mean, var) for test mode."""
    out, statistics = X, []
    L = len(HIDDEN) + 1
    for i in range(1, L):
        a = out @ params[f"W{i}"] + params[f"b{i}"]
        statistics.append((a.mean(axis=0), a.var(axis=0)))
        if normalization and use_normalization:
            axis = 0 if normalization == "batchnorm" else 1
            mean, var = a.mean(axis=axis, keepdims=True), a.var(axis=axis, keepdims=True)
            if running is not None:
                mean, var = running[i - 1]
            a = params[f"gamma{i}"] * (a - mean) / np.sqrt(var + EPS) + params[f"beta{i}"]
        out = np.maximum(a, 0)
    scores = out @ params[f"W{L}"] + params[f"b{L}"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return scores, -log_probs[np.arange(len(y)), y].mean(), statistics


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


def _layernorm_written() -> bool:
    """Whether the student's layer norm is written yet (chapter 10 comes after the network):
    a call that is not recorded as a call of its task's code, since it is only a probe."""
    from nndl.lab.runner import unrecorded

    with unrecorded():
        try:
            from nndl.layernorm import layernorm_forward

            layernorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
        except NotImplementedError:
            return False
        except Exception:  # written, if wrong: its own task says how
            return True
    return True


def _network(FullyConnectedNet, rng, normalization=None, dropout=0.0):
    """A network whose parameters (and batch norm's running averages) the check sets."""
    model = FullyConnectedNet(
        list(HIDDEN),
        input_dim=INPUT,
        num_classes=CLASSES,
        normalization=normalization,
        dropout=dropout or None,
        weight_scale=WEIGHTS,
        dtype=np.float64,
        seed=0,
    )
    params = _parameters(rng, normalization)
    model.params.update({name: value.copy() for name, value in params.items()})
    running = []
    if normalization == "batchnorm":
        for bn_param, size in zip(model.bn_params, HIDDEN):
            running.append((rng.standard_normal(size), rng.uniform(0.5, 2, size)))
            bn_param.update(
                momentum=MOMENTUM,
                eps=EPS,
                running_mean=running[-1][0].copy(),
                running_var=running[-1][1].copy(),
            )
    if dropout:
        # One mask at every call, for numerical gradients; another mask for another problem.
        model.dropout_param["seed"] = int(rng.integers(2**31))
    return model, params, running


def _ignores(model, X, y, normalization) -> bool:
    """Whether the network's loss ignores the normalization: it does not change when every
    gamma is doubled."""
    loss = model.loss(X, y)[0]
    gammas = {name: value for name, value in model.params.items() if name.startswith("gamma")}
    for name, value in gammas.items():
        model.params[name] = 2 * value
    try:
        doubled = model.loss(X, y)[0]
    finally:
        model.params.update(gammas)
    return bool(np.isclose(loss, doubled, rtol=1e-12, atol=0))


def _normalized_network_problems(FullyConnectedNet, rng, X, y, normalization) -> list[str]:
    """The network with ``normalization``: it must use it, give the right loss and gradients
    and, with batch norm, keep the running averages and predict in test mode."""
    label = f"with normalization={normalization!r}"
    model, params, running = _network(FullyConnectedNet, rng, normalization)
    if _ignores(model, X, y, normalization):
        return [
            f"FullyConnectedNet ignores normalization={normalization!r}: its loss does not "
            f"depend on gamma; normalise every hidden layer's affine output with "
            f"{normalization}_forward (and backward) before the ReLU"
        ]
    if normalization == "batchnorm":  # _ignores ran the network twice in train mode
        for bn_param, (mean, var) in zip(model.bn_params, running):
            bn_param.update(running_mean=mean.copy(), running_var=var.copy())
    loss, _ = model.loss(X, y)
    _, want, statistics = _reference(params, X, y, normalization)
    problems = compare(
        f"the loss {label}",
        loss,
        want,
        {
            f"FullyConnectedNet ignores normalization={normalization!r}": _reference(
                params, X, y, normalization, use_normalization=False
            )[1]
        },
    )
    if problems:
        return problems
    if normalization == "batchnorm":
        problems += _running_average_problems(model, running, statistics)
        if problems:
            return problems
        averaged = [
            (MOMENTUM * m + (1 - MOMENTUM) * bm, MOMENTUM * v + (1 - MOMENTUM) * bv)
            for (m, v), (bm, bv) in zip(running, statistics)
        ]
        scores = model.loss(X)
        problems += compare(
            "the scores of loss(X) (test mode)",
            scores,
            _reference(params, X, y, normalization, running=averaged)[0],
            {
                "loss(X) without y computes the scores in train mode: set every bn_param's "
                "(and dropout_param's) mode to 'test' when y is None": _reference(
                    params, X, y, normalization
                )[0]
            },
        )
    return problems + _gradient_problems(model, X, y, label)


def _running_average_problems(model, running, statistics) -> list[str]:
    """The batch-norm layers' running averages after one train-mode loss."""
    problems = []
    for i, (bn_param, (mean, var), (batch_mean, batch_var)) in enumerate(
        zip(model.bn_params, running, statistics), start=1
    ):
        if matches(bn_param.get("running_mean"), mean):
            return [
                "FullyConnectedNet does not keep batch norm's running averages between calls: "
                "self.bn_params is not updated by a train-mode loss; pass self.bn_params[i] to "
                "batchnorm_forward at every call (a new dict each call forgets them)"
            ]
        for key, old, batch in (
            ("running_mean", mean, batch_mean),
            ("running_var", var, batch_var),
        ):
            problems += compare(
                f"self.bn_params[{i - 1}][{key!r}] after a train-mode loss",
                bn_param.get(key),
                MOMENTUM * old + (1 - MOMENTUM) * batch,
            )
    return problems


def check_fc_net(FullyConnectedNet, seed: int = SEED) -> list[str]:
    """Grade the network: its starting parameters; then, on parameters the check sets, the
    networks with batch norm, with layer norm (once the student's layer norm is written) and
    with dropout: their losses, gradients, running averages and test mode; then the L2 term.
    ``seed`` draws the problem (the instructor's tests run many)."""
    problems = []
    normalizations = [None, "batchnorm"]
    if _layernorm_written():
        normalizations.append("layernorm")
    else:
        problems.append(
            Advice(
                "the network with normalization='layernorm' is graded once layernorm_forward "
                "is written (chapter 10)"
            )
        )
    dims = [300, 200, 10]
    for normalization in normalizations:
        model = FullyConnectedNet(
            dims[1:-1],
            input_dim=dims[0],
            num_classes=dims[-1],
            normalization=normalization,
            weight_scale=0.1,
            dtype=np.float64,
            seed=0,
        )
        problems += _initial_values(model, dims, normalization, 0.1)
    if [p for p in problems if not isinstance(p, Advice)]:
        return problems

    rng = np.random.default_rng(seed)
    X, y = rng.uniform(-2, 2, (BATCH, INPUT)), rng.integers(CLASSES, size=BATCH)
    model, _, _ = _network(FullyConnectedNet, rng)
    scores = model.loss(X)
    if np.shape(scores) != (BATCH, CLASSES):
        problems.append(
            f"loss(X) without y returns shape {np.shape(scores)}, expected scores "
            f"{(BATCH, CLASSES)}"
        )
    for normalization in normalizations[1:]:
        problems += _normalized_network_problems(FullyConnectedNet, rng, X, y, normalization)
    model, params, _ = _network(FullyConnectedNet, rng, dropout=DROP)
    loss, _ = model.loss(X, y)
    if matches(loss, _reference(params, X, y)[1]):
        problems.append(
            f"FullyConnectedNet ignores dropout={DROP}: its train-mode loss is that of the "
            "network without dropout; apply dropout_forward after every hidden ReLU"
        )
    else:
        problems += _gradient_problems(model, X, y, f"with dropout={DROP}")
    if [p for p in problems if not isinstance(p, Advice)]:
        return problems

    reg = 0.7
    model, _, _ = _network(FullyConnectedNet, rng, "batchnorm")
    loss, grads = model.loss(X, y)
    model.reg = reg
    loss_reg, grads_reg = model.loss(X, y)
    added = {name: grads_reg[name] - grads[name] for name in model.params}
    return problems + _l2_problems(model.params, reg, loss_reg - loss, added)


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
    weights = sorted((n for n in params if n.startswith("W")), key=lambda n: int(n[1:]))
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
        f"the L2 term leaves out the last layer's weights {weights[-1]}: penalise every "
        "weight matrix, W1 to WL": _l2_effect(params, reg, penalised=weights[:-1]),
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
