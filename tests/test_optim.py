"""Update rules: each expected value is worked out by hand from the rule's equations."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nndl.optim import (
    HYPERPARAMETERS,
    UPDATE_RULES,
    adam,
    rmsprop,
    sgd,
    sgd_momentum,
)
from nndl.parameter_update import ParameterUpdate
from tests.strategies import not_numbers

pytestmark = pytest.mark.optim

W = np.array([[1.0, -2.0], [0.5, 3.0]])
DW = np.array([[0.5, -4.0], [2.0, 0.25]])


def close(actual, expected):
    return np.allclose(actual, expected, rtol=1e-12, atol=1e-14)


def test_sgd_step_is_learning_rate_times_gradient():
    next_w, _ = sgd(W, DW, {"learning_rate": 0.1})
    assert close(next_w, [[0.95, -1.6], [0.3, 2.975]]), "sgd does not step by -learning_rate * dw"


def test_momentum_first_step_from_zero_velocity_is_plain_sgd():
    next_w, config = sgd_momentum(W, DW, {"learning_rate": 0.1})
    assert close(config["velocity"], -0.1 * DW), "the first velocity is not -learning_rate * dw"
    assert close(next_w, W - 0.1 * DW), "the first momentum step is not plain sgd"


def test_momentum_decays_the_old_velocity():
    v = np.array([[1.0, 0.0], [-1.0, 2.0]])
    next_w, config = sgd_momentum(W, DW, {"learning_rate": 0.1, "momentum": 0.5, "velocity": v})
    # v <- 0.5 v - 0.1 dw, element by element
    new_v = [[0.5 - 0.05, 0.0 + 0.4], [-0.5 - 0.2, 1.0 - 0.025]]
    assert close(config["velocity"], new_v), "the old velocity is not decayed by momentum"
    assert close(next_w, W + np.array(new_v)), "w does not move by the new velocity"


def test_momentum_velocity_is_carried_to_the_next_step():
    w1, config = sgd_momentum(W, DW, {"learning_rate": 0.1, "momentum": 0.5})
    w2, config = sgd_momentum(w1, DW, config)
    # Step 1 moves by -0.1 dw; step 2 by 0.5 * (-0.1 dw) - 0.1 dw = -0.15 dw.
    assert close(w2, W - 0.25 * DW), "the velocity is not carried to the next step"


def test_rmsprop_cache_is_a_decaying_average_of_squared_gradients():
    cache = np.full_like(W, 4.0)
    _, config = rmsprop(W, DW, {"decay_rate": 0.5, "cache": cache})
    assert close(config["cache"], [[2.125, 10.0], [4.0, 2.03125]]), (
        "the cache is not a decaying average of squared gradients"
    )


def test_rmsprop_divides_by_the_root_of_the_cache():
    # From a zero cache with decay_rate 0.75: cache = 0.25 dw**2, sqrt(cache) = |dw| / 2, so each
    # weight moves by lr * dw / (|dw| / 2) = 2 lr sign(dw) (epsilon 0 keeps it exact).
    config = {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 0.0}
    next_w, _ = rmsprop(W, DW, config)
    assert close(next_w, W - 0.2 * np.sign(DW)), "rmsprop does not divide by sqrt(cache)"


def test_rmsprop_adds_epsilon_outside_the_square_root():
    config = {"learning_rate": 1.0, "decay_rate": 0.75, "epsilon": 1.0}
    next_w, _ = rmsprop(W, DW, config)
    # epsilon is added to sqrt(cache) = |dw| / 2, not to the cache.
    assert close(next_w, W - DW / (np.abs(DW) / 2 + 1.0)), "epsilon is added inside the root"


def test_adam_first_step_is_bias_corrected():
    next_w, config = adam(W, DW, {"learning_rate": 0.1})
    # After one step m = 0.1 dw and v = 0.001 dw**2; bias correction divides them by 1 - 0.9 and
    # 1 - 0.999, giving back dw and dw**2: each weight moves by 0.1 dw / (|dw| + 1e-8).
    assert close(config["m"], 0.1 * DW), "the first moment is wrong after one step"
    assert close(config["v"], 0.001 * DW**2), "the second moment is wrong after one step"
    assert close(next_w, W - 0.1 * DW / (np.abs(DW) + 1e-8)), "adam without bias correction"


def test_adam_increments_t_before_using_it():
    # Used before the increment, the first step would divide by 1 - beta**0 = 0.
    next_w, config = adam(W, DW)
    assert config["t"] == 1, "t is not incremented once per step"
    assert np.all(np.isfinite(next_w)), "t is used before it is incremented (1 - beta**0 = 0)"


def test_adam_moments_and_bias_correction_at_step_two():
    config = {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75, "epsilon": 0.0}
    w1, config = adam(W, DW, config)
    w2, config = adam(w1, 2 * DW, config)
    # m = 0.5 * 0.5 dw + 0.5 * 2 dw = 1.25 dw
    # v = 0.75 * 0.25 dw**2 + 0.25 * 4 dw**2 = 1.1875 dw**2
    assert config["t"] == 2, "t is not incremented once per step"
    assert close(config["m"], 1.25 * DW), "the first moment is wrong at step two"
    assert close(config["v"], 1.1875 * DW**2), "the second moment is wrong at step two"
    # Corrected: m / (1 - 0.25) and v / (1 - 0.5625).
    m_hat, v_hat = 1.25 / 0.75 * DW, 1.1875 / 0.4375 * DW**2
    assert close(w2, w1 - 0.1 * m_hat / np.sqrt(v_hat)), "the bias correction is wrong at step two"


def test_adam_adds_epsilon_outside_the_square_root():
    next_w, _ = adam(W, DW, {"learning_rate": 1.0, "epsilon": 1.0})
    assert close(next_w, W - DW / (np.abs(DW) + 1.0)), "epsilon is added inside the root"


@pytest.mark.parametrize(
    "rule, defaults",
    [
        (sgd, {"learning_rate": 1e-2}),
        (sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9}),
        (rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        (adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1}),
    ],
)
def test_default_hyper_parameters_are_cs231ns(rule, defaults):
    _, config = rule(W, DW)
    assert {name: config[name] for name in defaults} == defaults, "defaults differ from CS231n's"


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_update_rule_leaves_w_and_dw_unmodified(rule):
    w, dw = W.copy(), DW.copy()
    rule(w, dw, None)
    assert np.array_equal(w, W), "the rule modified w in place"
    assert np.array_equal(dw, DW), "the rule modified dw in place"


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_update_rule_keeps_float32_parameters_float32(rule):
    w, dw = W.astype(np.float32), DW.astype(np.float32)
    next_w, config = rule(w, dw)
    next_w, config = rule(next_w, dw, config)
    assert next_w.dtype == np.float32, "float32 parameters were promoted to float64"
    states = [v for v in config.values() if isinstance(v, np.ndarray)]
    assert all(v.dtype == np.float32 for v in states), "the state was promoted to float64"


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_update_rule_rejects_a_misspelt_hyper_parameter(rule):
    with pytest.raises(ValueError, match="unknown config entries \\['lr'\\]"):
        rule(W, DW, {"lr": 0.1})


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_update_rule_rejects_a_gradient_of_the_wrong_shape(rule):
    with pytest.raises(ValueError, match="dw has shape \\(2,\\) but w has shape \\(2, 2\\)"):
        rule(W, DW[0])


def test_rule_stores_its_state_in_the_callers_config():
    # The Solver keeps one config per parameter and relies on the state being stored in it.
    config = {}
    _, returned = adam(W, DW, config)
    assert returned is config, "the rule returned a new config instead of the caller's"
    assert config["t"] == 1, "the rule did not store its state in the caller's config"


# Bad input: refused at the config's first use, naming the entry -------------------------------

HYPERPARAMETER_RANGES = {
    "learning_rate": (0.0, None),
    "momentum": (0.0, 1.0),
    "decay_rate": (0.0, 1.0),
    "beta1": (0.0, 1.0),
    "beta2": (0.0, 1.0),
    "epsilon": (0.0, None),
}
RULES_OF = {
    name: [rule for rule in UPDATE_RULES.values() if name in HYPERPARAMETERS[rule.__name__]]
    for name in HYPERPARAMETER_RANGES
}


def out_of_range(name):
    """Floats outside a hyper-parameter's range: below its lowest, at or above its highest
    (each range is half-open), and NaN or infinity."""
    low, high = HYPERPARAMETER_RANGES[name]
    below = st.floats(max_value=low, exclude_max=True, allow_nan=False, allow_infinity=False)
    bad = [below, st.just(float("nan")), st.just(float("inf"))]
    if high is not None:
        bad.append(st.floats(min_value=high, allow_nan=False, allow_infinity=False))
    return st.one_of(*bad)


@pytest.mark.parametrize("config", [1e-2, "adam", [("learning_rate", 1e-2)]])
@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_config_that_is_not_a_dict_is_a_type_error(rule, config):
    # optim.sgd(w, dw, 1e-2): the learning rate passed where the config goes.
    with pytest.raises(TypeError, match=f"{rule.__name__}: config must be a dict .* got "):
        rule(W, DW, config)


@given(name=st.sampled_from(list(HYPERPARAMETER_RANGES)), value=not_numbers, data=st.data())
def test_hyper_parameter_that_is_not_a_number_is_a_type_error(name, value, data):
    rule = data.draw(st.sampled_from(RULES_OF[name]))
    with pytest.raises(TypeError, match=rf"config\['{name}'\] must be a number, got"):
        rule(W, DW, {name: value})


@given(name=st.sampled_from(list(HYPERPARAMETER_RANGES)), data=st.data())
def test_hyper_parameter_out_of_its_range_is_a_value_error(name, data):
    # Negative learning rates, beta1 = 1, decay_rate = 1, momentum = 1.5, NaN, ...
    rule = data.draw(st.sampled_from(RULES_OF[name]))
    value = data.draw(out_of_range(name))
    with pytest.raises(ValueError, match=rf"config\['{name}'\] must be in \[0, "):
        rule(W, DW, {name: value})


@pytest.mark.parametrize(
    "t, error, message",
    [(-1, ValueError, "step count >= 0, got -1"), (1.5, TypeError, "integer step count")],
)
def test_adam_step_count_must_be_a_non_negative_integer(t, error, message):
    with pytest.raises(error, match=message):
        adam(W, DW, {"t": t})


@pytest.mark.parametrize(
    "rule, state", [(sgd_momentum, "velocity"), (rmsprop, "cache"), (adam, "m"), (adam, "v")]
)
def test_state_of_the_wrong_shape_is_refused_not_broadcast(rule, state):
    with pytest.raises(ValueError, match=rf"config\['{state}'\] must have w's shape \(2, 2\)"):
        rule(W, DW, {state: np.zeros(2)})


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_w_that_is_not_a_float_array_is_a_type_error(rule):
    with pytest.raises(TypeError, match=f"{rule.__name__}: w must be a floating-point"):
        rule(W.tolist(), DW)
    with pytest.raises(TypeError, match=r"w must be a floating-point numpy array .* got ndarray"):
        rule(W.astype(int), DW)
    # As everywhere in nndl: Adam's epsilon and a small learning rate underflow in float16.
    with pytest.raises(TypeError, match="got ndarray of dtype float16 .*too few digits"):
        rule(W.astype(np.float16), DW)


# dtype: the rules keep w's dtype, whatever the types of the learning rate and of dw ------------


@given(
    rule=st.sampled_from(list(UPDATE_RULES.values())),
    w_dtype=st.sampled_from([np.float32, np.float64]),
    dw_dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int64]),
    lr_type=st.sampled_from([float, np.float16, np.float32, np.float64, np.longdouble]),
)
def test_update_rule_keeps_ws_dtype_whatever_the_learning_rate_and_dw(
    rule, w_dtype, dw_dtype, lr_type
):
    w, dw = W.astype(w_dtype), DW.astype(dw_dtype)
    config = {"learning_rate": lr_type(1e-3)}
    for _ in range(2):
        w, config = rule(w, dw, config)
        assert w.dtype == w_dtype, f"{lr_type.__name__} learning rate or {dw_dtype} dw promoted w"
        states = [v for v in config.values() if isinstance(v, np.ndarray)]
        assert all(v.dtype == w_dtype for v in states), "the state took another dtype than w's"
    assert isinstance(config["learning_rate"], float), "the learning rate was not made a float"


def test_numpy_scalar_learning_rate_keeps_float32_the_reproducer():
    # The reproducer: a learning rate taken from np.logspace is a np.float64.
    w = np.ones((3, 2), dtype=np.float32)
    next_w, _ = adam(w, np.ones((3, 2)), {"learning_rate": np.logspace(-4, -2, 5)[2]})
    assert next_w.dtype == np.float32, "a np.float64 learning rate made float32 parameters float64"
    next_w, _ = sgd(w, np.ones((3, 2), dtype=np.float64), {"learning_rate": np.float64(1e-3)})
    assert next_w.dtype == np.float32, "a float64 dw made float32 parameters float64"


def test_config_is_checked_and_completed_without_a_mark_of_nndls_own():
    config = {"learning_rate": np.float64(0.1)}
    adam(W, DW, config)
    assert set(config) == {"learning_rate", "beta1", "beta2", "epsilon", "m", "v", "t"}, (
        "the rule wrote an entry of its own into the caller's config"
    )
    assert type(config["learning_rate"]) is float
    # A complete config is still checked: a value out of range set after the first call.
    config["beta1"] = 1.0
    with pytest.raises(ValueError, match=r"adam: config\['beta1'\] must be in \[0, 1\)"):
        adam(W, DW, config)


# ParameterUpdate: all of a model's parameters in one step, the small ones in one call ------------

SHAPES = {"W1": (80, 60), "b1": (60,), "gamma1": (60,), "W2": (60, 10), "b2": (10,), "c": ()}


def model_arrays(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return {name: np.array(rng.standard_normal(shape), dtype) for name, shape in SHAPES.items()}


def train_steps(step, rule, num_steps, grad_dtype=np.float32):
    """Parameters and configs after num_steps steps of step(params, grads, configs), with a new
    gradient at each step; a step returns (updated, bad)."""
    params, configs = model_arrays(0), {name: {"learning_rate": 1e-2} for name in SHAPES}
    for seed in range(1, num_steps + 1):
        updated, bad = step(params, model_arrays(seed, grad_dtype), configs)
        assert bad is None
        params.update(updated)
    return params, configs


def one_call_each(rule):
    def step(params, grads, configs):
        updated = {}
        for name, w in params.items():
            updated[name], configs[name] = rule(w, grads[name], configs[name])
        return updated, None

    return step


@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_parameter_update_gives_the_numbers_of_one_call_per_parameter(rule, grad_dtype):
    update = ParameterUpdate(rule)
    grouped, grouped_configs = train_steps(update, rule, 4, grad_dtype)
    assert update._group is not None and len(update._group[0]) == 5, "the small ones not grouped"
    each, each_configs = train_steps(one_call_each(rule), rule, 4, grad_dtype)
    for name in SHAPES:
        assert grouped[name].dtype == np.float32 and grouped[name].shape == SHAPES[name]
        assert np.array_equal(grouped[name], each[name]), f"{name} differs from one call each"
        assert grouped_configs[name].keys() == each_configs[name].keys()
        for key, value in each_configs[name].items():  # each parameter's own state, in place
            assert np.array_equal(grouped_configs[name][key], value), (name, key)


def test_parameter_update_regroups_when_a_config_is_replaced_as_a_resume_does():
    update, each = ParameterUpdate(adam), one_call_each(adam)
    (params_a, configs_a), (params_b, configs_b) = (train_steps(s, adam, 3) for s in (update, each))
    # A resumed Solver's configs are new dicts with new arrays, equal to the old ones.
    configs_a = {
        name: {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in config.items()}
        for name, config in configs_a.items()
    }
    for seed in (7, 8):
        grads = model_arrays(seed)
        for params, configs, step in ((params_a, configs_a, update), (params_b, configs_b, each)):
            params.update(step(params, grads, configs)[0])
    for name in SHAPES:
        assert np.array_equal(params_a[name], params_b[name]), name
        assert configs_a[name]["t"] == configs_b[name]["t"] == 5


def test_parameter_update_names_the_first_parameter_that_became_inf_or_nan():
    update = ParameterUpdate(sgd)
    params, configs = model_arrays(0), {name: {"learning_rate": 1.0} for name in SHAPES}
    params.update(update(params, model_arrays(1), configs)[0])
    grads = model_arrays(2)
    grads["gamma1"][3] = np.inf  # in the group
    grads["W2"][0, 0] = np.nan  # also in the group, but later
    updated, bad = update(params, grads, configs)
    assert bad == "gamma1"
    grads = model_arrays(2)
    grads["W1"][0, 0] = np.inf  # the one parameter updated on its own, and the first
    assert update(params, grads, configs)[1] == "W1"


def test_parameter_update_calls_a_custom_rule_once_per_parameter():
    calls = []

    def halve(w, dw, config):
        calls.append(w.shape)
        return w / 2, config

    params = model_arrays(0)
    updated, bad = ParameterUpdate(halve)(params, params, {name: {} for name in SHAPES})
    assert sorted(calls, key=str) == sorted(SHAPES.values(), key=str) and bad is None
    assert all(np.array_equal(updated[name], params[name] / 2) for name in SHAPES)


def test_parameter_update_keeps_configs_that_disagree_apart():
    update, results = ParameterUpdate(adam), []
    for step in (update, one_call_each(adam)):
        params, configs = model_arrays(0), {name: {"learning_rate": 1e-2} for name in SHAPES}
        configs["b1"]["learning_rate"] = 0.5  # its own learning rate: not in the group
        for seed in (1, 2, 3):
            params.update(step(params, model_arrays(seed), configs)[0])
        results.append(params)
    assert "b1" not in update._group[4] and "b2" in update._group[4]
    for name in SHAPES:
        assert np.array_equal(results[0][name], results[1][name]), name


@pytest.mark.parametrize("rule", UPDATE_RULES.values())
def test_update_rule_accepts_a_zero_dimensional_parameter(rule):
    w, config = np.array(1.0, np.float32), {"learning_rate": 0.1}
    for _ in range(2):  # the second step takes the first one's output and state
        w, config = rule(w, np.array(0.5, np.float32), config)
        assert type(w) is np.ndarray and w.shape == () and w.dtype == np.float32
    assert w < 1.0
