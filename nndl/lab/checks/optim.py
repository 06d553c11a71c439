"""Check of the optim task (chapter 7): sgd_momentum, rmsprop and adam over four steps.

A rule may update w in place and return it (CS231n's own ``sgd`` does, and its module docstring
allows it): that is advice, not a mistake; what is graded is the path of the parameters."""

from __future__ import annotations

import numpy as np

from nndl.lab.checks.compare import SEED, Advice, compare

CONFIGS = {
    "sgd_momentum": {"learning_rate": 0.1, "momentum": 0.8},
    "rmsprop": {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-8},
    "adam": {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-8},
}


def _momentum_path(w, dws, learning_rate, momentum):
    v, path = np.zeros_like(w), []
    for dw in dws:
        v = momentum * v - learning_rate * dw
        w = w + v
        path.append(w)
    return path


def _rmsprop_path(w, dws, learning_rate, decay_rate, epsilon, root=np.sqrt):
    cache, path = np.zeros_like(w), []
    for dw in dws:
        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        w = w - learning_rate * dw / (root(cache) + epsilon)
        path.append(w)
    return path


def _adam_path(
    w,
    dws,
    learning_rate,
    beta1,
    beta2,
    epsilon,
    correct_m=True,
    correct_v=True,
    first_t=1,
    store_corrected=False,
):
    """Adam's path; the switches make the slips: a moment not bias-corrected, the first step's
    t (0: t incremented after its use; 2: CS231n 2017's t = 1 incremented before it), the
    bias-corrected moments stored as the next step's moments."""
    m, v, path = np.zeros_like(w), np.zeros_like(w), []
    with np.errstate(all="ignore"):  # t = 0 divides by 1 - beta**0 = 0
        for t, dw in enumerate(dws, start=first_t):
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw**2
            m_hat = m / (1 - beta1**t) if correct_m else m
            v_hat = v / (1 - beta2**t) if correct_v else v
            if store_corrected:
                m, v = m_hat, v_hat
            w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
            path.append(w)
    return path


def _forgetful(reference, w, dws, **config):
    """The path of a rule that starts from a fresh state at every step."""
    path = []
    for dw in dws:
        w = reference(w, [dw], **config)[0]
        path.append(w)
    return path


def _rule_problems(name, rule, reference, w, dws, hypotheses) -> list[str]:
    """Run ``rule`` for len(dws) steps from ``w``, passing its config back in, and compare the
    path of parameters with the reference's."""
    config, path, current = dict(CONFIGS[name]), [], w.copy()
    in_place = False
    for dw in dws:
        before = current.copy()
        next_w, config = rule(current, dw.copy(), config)
        in_place = in_place or not np.array_equal(current, before, equal_nan=True)
        path.append(np.array(next_w, dtype=np.float64))
        current = path[-1].copy()
    want = reference(w, dws, **CONFIGS[name])
    hypotheses = {
        f"{name} does not keep its state in config between calls": (
            _forgetful(reference, w, dws, **CONFIGS[name])
        ),
        **hypotheses,
    }
    problems = compare(
        f"w after each {name} step",
        np.stack(path) if len({p.shape for p in path}) == 1 else path,
        np.stack(want),
        {diagnosis: np.stack(value) for diagnosis, value in hypotheses.items()},
    )
    if in_place:
        problems.append(
            Advice(
                f"{name} updates w in place and returns it: allowed (CS231n's sgd does), but the "
                "caller's array changes; next_w = w - ... leaves it as it was"
            )
        )
    return problems


def check_optim(sgd_momentum, rmsprop, adam) -> list[str]:
    """Grade the update rules over four steps each, from the same w and gradients."""
    rng = np.random.default_rng(SEED)
    w = rng.standard_normal((3, 4))
    dws = [rng.standard_normal((3, 4)) for _ in range(4)]
    lr, mu = CONFIGS["sgd_momentum"]["learning_rate"], CONFIGS["sgd_momentum"]["momentum"]
    rms, adam_config = CONFIGS["rmsprop"], CONFIGS["adam"]
    problems = _rule_problems(
        "sgd_momentum",
        sgd_momentum,
        _momentum_path,
        w,
        dws,
        {
            "sgd_momentum steps up the gradient: v <- momentum * v - learning_rate * dw": (
                _momentum_path(w, dws, -lr, mu)
            ),
            "sgd_momentum does not decay the velocity by momentum": _momentum_path(w, dws, lr, 1.0),
        },
    )
    problems += _rule_problems(
        "rmsprop",
        rmsprop,
        _rmsprop_path,
        w,
        dws,
        {
            "rmsprop divides by the cache instead of its square root": (
                _rmsprop_path(w, dws, **rms, root=lambda c: c)
            ),
            "rmsprop swaps decay_rate and 1 - decay_rate": (
                _rmsprop_path(w, dws, rms["learning_rate"], 1 - rms["decay_rate"], rms["epsilon"])
            ),
        },
    )
    problems += _rule_problems(
        "adam",
        adam,
        _adam_path,
        w,
        dws,
        {
            "adam without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t": (
                _adam_path(w, dws, **adam_config, correct_m=False, correct_v=False)
            ),
            "adam does not bias-correct m: divide it by 1 - beta1**t, as v by 1 - beta2**t": (
                _adam_path(w, dws, **adam_config, correct_m=False)
            ),
            "adam does not bias-correct v: divide it by 1 - beta2**t, as m by 1 - beta1**t": (
                _adam_path(w, dws, **adam_config, correct_v=False)
            ),
            "adam uses t = 0 in the bias correction (1 - beta1**0 = 0 makes w NaN): increment "
            "config['t'] before using it": _adam_path(w, dws, **adam_config, first_t=0),
            "adam's first step uses t = 2 (CS231n 2017 started t at 1): start t at 0 and "
            "increment it before using it": _adam_path(w, dws, **adam_config, first_t=2),
            "adam stores the bias-corrected moments in config: keep the raw moving averages m "
            "and v there, and bias-correct local copies": (
                _adam_path(w, dws, **adam_config, store_corrected=True)
            ),
        },
    )
    return problems
