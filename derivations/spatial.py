"""Normalising images: spatial batch norm and group norm, derived along their graphs.

An image batch x has shape (N, C, H, W). Both layers are the normalization graph of
``derivations.normalization`` with other axes averaged over:

- spatial batch norm: one mean and variance per channel c, over the N examples and the H x W
  positions -- N·H·W values, batch norm with every pixel of every image as an "example";
  gamma_c and beta_c per channel.
- group norm: the C channels split into G groups of K = C/G channels; one mean and variance
  per example i and group g, over the K channels of the group and the H x W positions --
  K·H·W values, layer norm with each (example, group) as a row. x is written with the group
  and the channel within it as two indices, x_{i g k h w} = x[i, g K + k, h, w] (NumPy:
  ``x.reshape(N, G, K, H, W)``), and so are gamma and beta: gamma_{g k} = gamma[g K + k].
"""

from __future__ import annotations

import functools

from derivations.graph import Derivation
from derivations.normalization import derive_normalization
from derivations.notation import BATCH, index

CHANNELS = index("C", "c a b")
HEIGHT = index("H", "h r s")
WIDTH = index("W", "w u v")
GROUPS = index("G", "g l m")
IN_GROUP = index("K", "q t z")  # the channels of one group: K = C/G
CHAPTER = 11


@functools.cache
def spatial_batchnorm() -> Derivation:
    """Spatial batch norm in train mode: batch norm's three paths for dx, each sum running over
    the batch and the positions of the image."""
    return derive_normalization(
        "spatial_batchnorm",
        "Spatial batch normalization, train mode",
        (BATCH, CHANNELS, HEIGHT, WIDTH),
        averaged=(BATCH, HEIGHT, WIDTH),
        params=(CHANNELS,),
    )


@functools.cache
def spatial_groupnorm() -> Derivation:
    """Group norm: layer norm's three paths for dx, each sum running over the channels of the
    group and the positions of the image."""
    return derive_normalization(
        "spatial_groupnorm",
        "Spatial group normalization",
        (BATCH, GROUPS, IN_GROUP, HEIGHT, WIDTH),
        averaged=(IN_GROUP, HEIGHT, WIDTH),
        params=(GROUPS, IN_GROUP),
    )


DERIVED = {"spatial_batchnorm": spatial_batchnorm, "spatial_groupnorm": spatial_groupnorm}
