import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Derandomized: the same commit runs the same examples, in CI and on a laptop.
settings.register_profile(
    "nndl",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("nndl")


@pytest.fixture
def rng():
    return np.random.default_rng(231)


@pytest.fixture
def no_warnings():
    """Turn every warning (numpy's 'divide by zero encountered in log' among them) into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


_PASSES: dict[str, bool] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A test of a task that calls other tasks' code (fc_net calls the layers) runs once those
    pass, as ``nndl lab check`` grades it: its verdict is about its own task's code."""
    from nndl.lab import TASKS, check_task
    from nndl.lab.tasks import missing_requirements

    def passed(name):
        if name not in _PASSES:
            _PASSES[name] = check_task(name).passed
        return _PASSES[name]

    for marker in item.iter_markers():
        if marker.name in TASKS:
            waiting = missing_requirements(TASKS[marker.name], passed)
            if waiting:
                pytest.fail(f"{marker.name}: {waiting}", pytrace=False)
