"""Layer norm, spatial batch norm and group norm speed: staged vs closed-form backward, and
torch's CPU kernels beside them.

    python benchmarks/bench_normalization.py [--repeats 21] [--min-time 0.05]

On the same float32 arrays, for each layer at two shapes, times nndl's forward pass, its staged
backward and its closed-form (alt) backward with numpy's BLAS on one thread, and, when torch is
installed, torch's CPU forward (``F.layer_norm``, ``F.batch_norm(training=True)``,
``F.group_norm``) and its pure backward (``aten.native_layer_norm_backward``,
``native_batch_norm_backward``, ``native_group_norm_backward``) at one thread. Prints a table
and the ratios of the median times (the rounds are interleaved, so a burst of load from another
process slows every case alike): the closed form at least 2.5x faster than the staged backward
(the target), and the closed form against torch's backward and nndl's forward against torch's
(reported).

How the closed forms' fast kernels get their speed (``nndl.fast.grouped_backward_alt`` for layer
and group norm, ``nndl.fast.spatial_batchnorm_backward_alt``): every sum is a BLAS product with
ones or with gamma (group norm's over a channel's positions first, then over a group's channels
with a block-diagonal gamma), or an einsum that sums dout * xhat without making the product;
dx is built in four in-place passes (five for layer norm); the examples go through in blocks of
about 256 KiB (``nndl.fast.BLOCK_BYTES``) so that a block's passes stay in the cache
(spatial batch norm, whose sums run over the whole batch, goes through its blocks twice: the
sums, then dx). Spatial batch norm copies dout channels last once and works on rows of a whole
image (H·W·C values, each channel's factor repeated at every position) instead of rows of C.
numpy broadcasts a per-row factor more slowly than it multiplies two full arrays, which decides
a few of the steps (see the comments there). The staged backward makes about nine full-size
temporaries, so its time depends on the allocator: when those come back as fresh pages (the
faults/call column in the thousands) it is up to 1.5x slower than when they are reused (0).
Measured on the shared 2-core development machine at load 2.3-2.7, three runs in a row, staged
/ alt of the median times: layer norm 2.39-2.61 (small) and 2.29-2.73 (large), spatial batch
norm 2.68-2.92 and 3.29-4.15, group norm 2.28-2.50 and 2.39-3.14 (of the best times: 2.51-2.66,
2.23-2.75, 2.70-3.08, 3.61-4.24, 2.36-2.74, 2.94-3.73). torch fuses the passes into one loop:
alt / torch backward (medians) is 2.2-2.3 (layer norm, small), 3.6-4.2 (large), 3.0-3.3 and
1.1-2.0 (spatial batch norm), 2.4-2.5 and 2.8-3.7 (group norm).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from benchtools import (
    Case,
    Target,
    argument_parser,
    print_conditions,
    print_ratios,
    print_summary,
    time_cases,
    torch,
)

from nndl.table import LAYERS as TABLE
from nndl.table import Layer as TableLayer

FORWARD, STAGED, ALT = "nndl forward", "nndl backward staged", "nndl backward alt"
TORCH_FORWARD, TORCH_BACKWARD = "torch forward, 1 thread", "torch backward, 1 thread"
EPS = 1e-5
GROUPS = 8


@dataclass(frozen=True)
class Layer:
    """One normalization layer of the table (``nndl.table``), its shapes here and how to call
    torch. nndl's passes are those the table gives a network: the forward, the staged backward
    and the closed form's fast kernel (``nndl.fast``)."""

    name: str
    layer: TableLayer
    shapes: tuple[tuple[int, ...], ...]
    param_shape: Callable[[tuple[int, ...]], tuple[int, ...]]
    args: tuple  # the forward's arguments between the parameters and the parameter dict
    torch_cases: Callable  # (x, gamma, beta, dout) -> (forward, backward) closures

    def forward(self, x, gamma, beta):
        return self.layer.network_forward(x, gamma, beta, *self.args, {"eps": EPS})

    def staged(self, dout, cache):
        return self.layer.backward(dout, cache)

    def alt(self, dout, cache):
        return self.layer.network_backward(dout, cache)


def torch_layernorm(x, gamma, beta, dout):
    xt, gt, bt, dt = (torch.from_numpy(a) for a in (x, gamma, beta, dout))
    shape = [x.shape[1]]
    _, mean, rstd = torch.ops.aten.native_layer_norm(xt, shape, gt, bt, EPS)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.layer_norm(xt, shape, gt, bt, EPS)

    def backward():
        return torch.ops.aten.native_layer_norm_backward(
            dt, xt, shape, mean, rstd, gt, bt, [True, True, True]
        )

    return forward, backward


def torch_batchnorm(x, gamma, beta, dout):
    xt, gt, bt, dt = (torch.from_numpy(a) for a in (x, gamma, beta, dout))
    C = x.shape[1]
    running_mean, running_var = torch.zeros(C), torch.ones(C)
    _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(
        xt, gt, bt, running_mean, running_var, True, 0.1, EPS
    )

    def forward():
        with torch.no_grad():
            return torch.nn.functional.batch_norm(
                xt, running_mean, running_var, gt, bt, True, 0.1, EPS
            )

    def backward():
        return torch.ops.aten.native_batch_norm_backward(
            dt, xt, gt, running_mean, running_var, save_mean, save_invstd, True, EPS,
            [True, True, True],
        )  # fmt: skip

    return forward, backward


def torch_groupnorm(x, gamma, beta, dout):
    N, C, H, W = x.shape
    xt, dt = torch.from_numpy(x), torch.from_numpy(dout)
    gt, bt = torch.from_numpy(gamma.reshape(C)), torch.from_numpy(beta.reshape(C))
    _, mean, rstd = torch.ops.aten.native_group_norm(xt, gt, bt, N, C, H * W, GROUPS, EPS)

    def forward():
        with torch.no_grad():
            return torch.nn.functional.group_norm(xt, GROUPS, gt, bt, EPS)

    def backward():
        return torch.ops.aten.native_group_norm_backward(
            dt, xt, mean, rstd, gt, N, C, H * W, GROUPS, [True, True, True]
        )

    return forward, backward


IMAGES = ((32, 64, 16, 16), (128, 32, 32, 32))
LAYERS = (
    Layer(
        "layer norm", TABLE["layernorm"], ((256, 3072), (4096, 1024)), lambda shape: (shape[1],),
        (), torch_layernorm,
    ),
    Layer(
        "spatial batch norm", TABLE["spatial_batchnorm"], IMAGES, lambda shape: (shape[1],), (),
        torch_batchnorm,
    ),
    Layer(
        f"group norm, G={GROUPS}", TABLE["spatial_groupnorm"], IMAGES,
        lambda shape: (1, shape[1], 1, 1), (GROUPS,), torch_groupnorm,
    ),
)  # fmt: skip


def make_arrays(shape, param_shape, seed=0):
    """Seeded float32 input, scale, shift and upstream gradient."""
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape) + 1).astype(np.float32)
    gamma = (1 + 0.1 * rng.standard_normal(param_shape)).astype(np.float32)
    beta = (0.1 * rng.standard_normal(param_shape)).astype(np.float32)
    dout = rng.standard_normal(shape).astype(np.float32)
    return x, gamma, beta, dout


def run(layer: Layer, shape, repeats, min_time) -> list[Target]:
    x, gamma, beta, dout = make_arrays(shape, layer.param_shape(shape))
    _, cache = layer.forward(x, gamma, beta)
    cases = [
        Case(FORWARD, lambda: layer.forward(x, gamma, beta)),
        Case(STAGED, lambda: layer.staged(dout, cache)),
        Case(ALT, lambda: layer.alt(dout, cache)),
    ]
    if torch is not None:
        torch_forward, torch_backward = layer.torch_cases(x, gamma, beta, dout)
        cases += [Case(TORCH_FORWARD, torch_forward), Case(TORCH_BACKWARD, torch_backward)]
    group = "x".join(map(str, shape))
    print(f"## {layer.name}, {group}")
    median = time_cases(group, cases, repeats, min_time, statistic="median")
    targets = [
        Target(f"{layer.name} {group}: staged / alt", median[STAGED] / median[ALT], 2.5, True)
    ]
    notes = []
    if torch is not None:
        dx = layer.alt(dout, cache)[0]
        dx_torch = torch_backward()[0].numpy()
        notes = [
            (f"{layer.name} {group}: alt / torch backward", median[ALT] / median[TORCH_BACKWARD]),
            (
                f"{layer.name} {group}: forward / torch forward",
                median[FORWARD] / median[TORCH_FORWARD],
            ),
            (
                f"{layer.name} {group}: max |dx - dx_torch| / max |dx|",
                float(np.abs(dx - dx_torch).max() / np.abs(dx).max()),
            ),
        ]
    print_ratios(targets, notes)
    return targets


def main(argv=None):
    parser = argument_parser(__doc__.splitlines()[0], min_time=0.05)
    parser.add_argument(
        "--layer", choices=[layer.name.split(",")[0] for layer in LAYERS], action="append",
        help="time only this layer (repeatable; default all)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    print_conditions("layer norm, spatial batch norm, group norm; float32, 1 thread")
    chosen = [layer for layer in LAYERS if not args.layer or layer.name.split(",")[0] in args.layer]
    targets = [
        t
        for layer in chosen
        for shape in layer.shapes
        for t in run(layer, shape, args.repeats, args.min_time)
    ]
    print_summary(targets)


if __name__ == "__main__":
    main()
