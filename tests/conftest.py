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


def pytest_configure(config):
    """One marker per lab task, from the task table (``nndl.lab.tasks``, built from the table of
    layers): ``pytest -m batchnorm_backward`` runs that task's tests."""
    from nndl.lab.tasks import TASKS

    for task in TASKS.values():
        files = ", ".join(path for path in task.paths)
        config.addinivalue_line(
            "markers", f"{task.name}: lab task - {files} (chapter {task.chapter})"
        )
