"""Which lab tasks' code each test runs: a pytest plugin.

    NNDL_TASK_CALLS=calls.json python -m pytest -p tests.instructor.task_calls TESTS

writes, for every test it runs, the tasks whose functions (``nndl.lab.tasks.FUNCTION_TASKS``)
returned normally while the test ran, and the tasks of the markers the test carries (its own and
its parameter's). A function is recognised by its code object, however it was reached (a name
imported into a test, a table of layers, a lab check); a call that raised (an input check
refusing bad input, before the solution block) does not count.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import pytest

ENVIRONMENT = "NNDL_TASK_CALLS"


def task_codes() -> dict[object, str]:
    """The code object of every task function -> its task."""
    from nndl.lab import TASKS

    codes = {}
    for task in TASKS.values():
        for name, functions in task.parts:
            module = importlib.import_module(name)
            for qualified in functions:
                function = module
                for part in qualified.split("."):
                    function = getattr(function, part)
                codes[function.__code__] = task.name
    return codes


class Recorder:
    def __init__(self, path: str):
        self.path, self.codes, self.results, self.called = path, task_codes(), {}, None

    def profile(self, frame, event, arg):
        # a normal return passes the value; every task function returns something
        if event == "return" and arg is not None and frame.f_code in self.codes:
            self.called.add(self.codes[frame.f_code])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item):
        from nndl.lab import TASKS

        self.called = set()
        sys.setprofile(self.profile)
        try:
            yield
        finally:
            sys.setprofile(None)
        markers = {marker.name for marker in item.iter_markers()} & set(TASKS)
        self.results[item.nodeid] = {"called": sorted(self.called), "markers": sorted(markers)}

    def pytest_sessionfinish(self):
        with open(self.path, "w", encoding="utf-8") as file:
            json.dump(self.results, file, indent=1, sort_keys=True)


def pytest_configure(config):
    path = os.environ.get(ENVIRONMENT)
    if path:
        config.pluginmanager.register(Recorder(path), "nndl-task-calls")
