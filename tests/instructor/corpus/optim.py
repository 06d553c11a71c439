"""The update rules, ``rule(w, dw, config=None) -> (next_w, config)``, written whole: CS231n's
scaffold lines (the config defaults) included. CS231n's module docstring allows an update in
place ("update rules may perform in-place updates, mutating w and setting next_w equal to
w"): in-place entries are correct."""

import numpy as np

from tests.instructor.corpus import entries_of

correct, wrong = entries_of("optim")


@correct(
    "sgd_momentum",
    idioms=("whole function", "config locals"),
    follows=("BatyrM/CS231n-Spring-2020", "6217Steve99/CS231n-2020", "AKSoo/CS231n-2017"),
)
def sgd_momentum_velocity_local(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))

    next_w = None
    mu = config["momentum"]
    lr = config["learning_rate"]
    v = mu * v - lr * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


@correct(
    "sgd_momentum",
    idioms=("whole function", "in-place update", "config locals"),
    follows=("zlotus/cs231n",),
)
def sgd_momentum_updating_w_in_place(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))

    next_w = None
    momentum, learning_rate = config["momentum"], config["learning_rate"]
    v = momentum * v - learning_rate * dw
    w += v
    next_w = w
    config["velocity"] = v
    return next_w, config


@correct(
    "rmsprop",
    idioms=("whole function", "config locals"),
    follows=("BatyrM/CS231n-Spring-2020", "AKSoo/CS231n-2017"),
)
def rmsprop_cache_local(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))

    next_w = None
    cache, lr, dec_rate, eps = (
        config["cache"], config["learning_rate"], config["decay_rate"], config["epsilon"]
    )  # fmt: skip
    cache = dec_rate * cache + (1 - dec_rate) * dw**2
    next_w = w - lr * dw / (np.sqrt(cache) + eps)
    config["cache"] = cache
    return next_w, config


@correct(
    "rmsprop",
    idioms=("whole function", "in-place update", "config in place"),
    follows=("zlotus/cs231n", "6217Steve99/CS231n-2020"),
)
def rmsprop_updating_w_in_place(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))

    next_w = None
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * (dw**2)
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    next_w = w
    return next_w, config


@correct(
    "adam",
    idioms=("whole function", "adam t before", "config in place", "raw moments stored"),
    follows=("BatyrM/CS231n-Spring-2020", "6217Steve99/CS231n-2020"),
)
def adam_config_entries_in_place(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    next_w = None
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config


@correct(
    "adam",
    idioms=("whole function", "adam t before", "config locals", "raw moments stored",
            "in-place update"),
    follows=("zlotus/cs231n", "AKSoo/CS231n-2017"),
)  # fmt: skip
def adam_locals_and_w_in_place(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    next_w = None
    learning_rate, beta1, beta2, epsilon, m, v, t = (
        config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"],
        config["m"], config["v"], config["t"] + 1,
    )  # fmt: skip
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw**2)
    mb = m / (1 - beta1**t)
    vb = v / (1 - beta2**t)
    w += -learning_rate * mb / (np.sqrt(vb) + epsilon)
    next_w = w
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


@wrong(
    "adam",
    diagnosis="adam uses t = 0 in the bias correction",
    mistake="increments t after the update: the first step divides by 1 - beta1**0 = 0 and "
    "next_w is NaN (the 2019+ scaffold starts t at 0 and asks to increment it before use)",
    idioms=("whole function", "config locals"),
    follows=("AKSoo/CS231n-2017",),
)
def adam_incrementing_t_after_the_update(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    lr, eps = config["learning_rate"], config["epsilon"]
    beta1, beta2 = config["beta1"], config["beta2"]
    m, v, t = config["m"], config["v"], config["t"]
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_unbias = m / (1 - beta1**t)
    v_unbias = v / (1 - beta2**t)
    next_w = w - lr * m_unbias / (np.sqrt(v_unbias) + eps)
    t += 1
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


@wrong(
    "adam",
    diagnosis="adam stores the bias-corrected moments in config",
    mistake="rebinds m and v to their bias-corrected values and stores those: the next step's "
    "moving averages start from corrected moments, corrected again",
    idioms=("whole function", "adam t before", "config in place"),
    follows=("6217Steve99/CS231n-2020",),
)
def adam_storing_the_corrected_moments(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["m"] = config["m"] / (1 - config["beta1"] ** config["t"])
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
    config["v"] = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * config["m"] / (np.sqrt(config["v"]) + config["epsilon"])
    return next_w, config
