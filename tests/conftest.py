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


# The files that take longest (pytest --durations): they start first, so that under pytest-xdist
# (the README's command, with --no-loadscope-reorder to keep this order) no long file starts
# last and runs alone at the end. Only the order changes; a file missing here just runs later.
LONGEST_FIRST = (
    "tests/instructor/test_catalogues.py",
    "tests/instructor/test_student_copy.py",
    "tests/instructor/test_task_markers.py",
    "tests/test_lab.py",
    "tests/instructor/test_book_html.py",
    "book/08_initialisation.ipynb",
    "book/10_layer_norm.ipynb",
    "book/11_images.ipynb",
    "book/09_batch_size.ipynb",
)


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
