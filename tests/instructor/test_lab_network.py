"""The fc_net task's check is not flaky: its gradient check with dropout passes nndl's correct
network for 40 problems, each with its own parameters, inputs and dropout mask (a mask that
drops every unit of one example once put pre-activations on ReLU's kink and failed 13 of 40
seeds). The parameters the check sets keep every ReLU input at least a bias away from 0.

Instructor-only: it runs nndl's own network.
"""

import numpy as np

from nndl.fc_net import FullyConnectedNet
from nndl.lab.checks.network import (
    BATCH,
    CLASSES,
    DROP,
    INPUT,
    _gradient_problems,
    _network,
    check_fc_net,
)


def test_the_dropout_networks_gradient_check_passes_a_correct_network_for_40_seeds():
    masks = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        X, y = rng.uniform(-2, 2, (BATCH, INPUT)), rng.integers(CLASSES, size=BATCH)
        model, _, _ = _network(FullyConnectedNet, rng, dropout=DROP)
        masks.add(model.dropout_param["seed"])
        assert _gradient_problems(model, X, y, "with dropout") == [], seed
    assert len(masks) == 40  # each problem its own mask


def test_the_whole_network_check_passes_a_correct_network_for_other_seeds():
    for seed in (1, 2, 3):
        assert check_fc_net(FullyConnectedNet, seed=seed) == [], seed
