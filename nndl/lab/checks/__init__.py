"""Grading checks that say what is wrong, not only that something is: one module per group of
tasks, as in the task table (``nndl.lab.tasks``), and the comparisons they share.

Each check is a pure function of the implementations it grades (``check_affine(affine_forward,
affine_backward)``, ...) and returns the list of problems it found; an empty list means the task
passes. A check runs the implementation on a small seeded problem, computes the right answer,
and when the two differ, tests hypotheses about the mistake -- the right answer minus one path of
the chain rule (fitted with ``derivations.check.explain``, the engine the witnesses use too), a
sum over the wrong axis, momentum and 1 - momentum swapped... -- and reports the one that matches
to round-off. If none does, the problem names the wrong output and its relative error.

The student's modules (``nndl.layers``...) are imported inside the checks, never here: a
``layers.py`` that does not import is then a problem in the report, not a broken ``nndl lab``.
"""

from nndl.lab.checks.batchnorm import (
    check_batchnorm_backward,
    check_batchnorm_backward_alt,
    check_batchnorm_forward,
)
from nndl.lab.checks.layers import check_affine, check_dropout, check_relu
from nndl.lab.checks.losses import check_losses
from nndl.lab.checks.network import check_fc_net
from nndl.lab.checks.normalization import check_layernorm
from nndl.lab.checks.optim import check_optim
from nndl.lab.checks.spatial import check_spatial_batchnorm, check_spatial_groupnorm

__all__ = [
    "check_affine",
    "check_batchnorm_backward",
    "check_batchnorm_backward_alt",
    "check_batchnorm_forward",
    "check_dropout",
    "check_fc_net",
    "check_layernorm",
    "check_losses",
    "check_optim",
    "check_relu",
    "check_spatial_batchnorm",
    "check_spatial_groupnorm",
]
