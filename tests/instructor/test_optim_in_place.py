"""The instructor's Adam updates its moments in place, into the config's arrays: a speed choice
of the solution (issue 13), not a requirement on a student's Adam, so it is tested here, out of
the student copy, and not under the optim task's marker."""

import numpy as np

from nndl.optim import adam


def test_the_solutions_adam_updates_its_moments_in_place():
    w, dw = np.ones((2, 3)), np.full((2, 3), 0.5)
    config = {"learning_rate": np.float64(0.1)}
    adam(w, dw, config)
    # A checked config is trusted: the per-step cost is the arithmetic alone.
    m = config["m"]
    adam(w, dw, config)
    assert config["m"] is m, "Adam's moments are not updated in place"
