"""Batch-norm speed: staged vs closed-form backward, train-mode forward, torch's CPU kernels.

    python benchmarks/bench_batchnorm.py [--repeats 21] [--min-time 0.05]

On the same float32 arrays, at (N, D) = (256, 3072) and (4096, 1024), times the fast kernels that
the network uses (``nndl.fast``: ``batchnorm_forward`` in train mode and
``batchnorm_backward_alt``, the closed form) and the staged ``batchnorm_backward`` with numpy's
BLAS on one thread, and, when torch is
installed, torch's CPU batch norm at 1 and 2 threads: the forward through
``torch.nn.functional.batch_norm(training=True)`` and the pure backward through
``torch.ops.aten.native_batch_norm_backward``. Prints a table and the ratios against the issue's
targets: alt at least 2.5x faster than staged, alt no slower than torch's 1-thread backward, and
the train forward within 2x of torch's 1-thread forward.
"""

from __future__ import annotations

import numpy as np
from benchtools import (
    Case,
    Target,
    argument_parser,
    print_conditions,
    print_ratios,
    print_summary,
    threads_text,
    time_cases,
    torch,
)

from nndl.fast import batchnorm_backward_alt, batchnorm_forward
from nndl.layers import batchnorm_backward

SHAPES = ((256, 3072), (4096, 1024))
FORWARD, STAGED, ALT = "nndl forward (train)", "nndl backward staged", "nndl backward alt"
EPS = 1e-5
MOMENTUM = 0.9  # nndl's convention; torch's momentum is the weight of the new batch, 1 - 0.9


def make_arrays(shape, seed=0):
    """Seeded float32 input, scale, shift and upstream gradient for one shape."""
    rng = np.random.default_rng(seed)
    N, D = shape
    x = (3 * rng.standard_normal((N, D)) + 1).astype(np.float32)
    gamma = (1 + 0.1 * rng.standard_normal(D)).astype(np.float32)
    beta = (0.1 * rng.standard_normal(D)).astype(np.float32)
    dout = rng.standard_normal((N, D)).astype(np.float32)
    return x, gamma, beta, dout


def nndl_cases(x, gamma, beta, dout):
    bn_param = {"mode": "train", "eps": EPS, "momentum": MOMENTUM}
    _, cache = batchnorm_forward(x, gamma, beta, bn_param)
    return [
        Case(FORWARD, lambda: batchnorm_forward(x, gamma, beta, bn_param)),
        Case(STAGED, lambda: batchnorm_backward(dout, cache)),
        Case(ALT, lambda: batchnorm_backward_alt(dout, cache)),
    ]


def torch_label(direction, threads):
    return f"torch {direction}, {threads_text(threads)}"


def torch_cases(x, gamma, beta, dout):
    """torch's forward and pure backward on tensors that share memory with the numpy arrays."""
    xt, gt, bt, dt = (torch.from_numpy(a) for a in (x, gamma, beta, dout))
    D = x.shape[1]
    running_mean, running_var = torch.zeros(D), torch.ones(D)
    _, save_mean, save_invstd = torch.ops.aten.native_batch_norm(
        xt, gt, bt, running_mean, running_var, True, 1 - MOMENTUM, EPS
    )

    def forward():
        with torch.no_grad():
            return torch.nn.functional.batch_norm(
                xt, running_mean, running_var, gt, bt, True, 1 - MOMENTUM, EPS
            )

    def backward():
        return torch.ops.aten.native_batch_norm_backward(
            dt, xt, gt, running_mean, running_var, save_mean, save_invstd, True, EPS,
            [True, True, True],
        )  # fmt: skip

    cases = []
    for threads in (1, 2):
        cases.append(Case(torch_label("forward", threads), forward, threads))
        cases.append(Case(torch_label("backward", threads), backward, threads))
    return cases, backward


def agreement(x, gamma, beta, dout, torch_backward):
    """Largest difference between nndl's and torch's dx, relative to the largest |dx|."""
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": EPS})
    dx, _, _ = batchnorm_backward_alt(dout, cache)
    dx_torch = torch_backward()[0].numpy()
    return float(np.abs(dx - dx_torch).max() / np.abs(dx).max())


def run_shape(shape, repeats, min_time):
    arrays = make_arrays(shape)
    cases = nndl_cases(*arrays)
    if torch is not None:
        more, torch_backward = torch_cases(*arrays)
        cases += more
    group = f"{shape[0]}x{shape[1]}"
    best = time_cases(group, cases, repeats, min_time)

    def ratio(numerator, denominator):
        return best[numerator] / best[denominator]

    targets = [Target(f"{group}: staged / alt (speed-up of alt)", ratio(STAGED, ALT), 2.5, True)]
    notes = []
    if torch is not None:
        fw1, bw1, fw2, bw2 = (torch_label(d, t) for t in (1, 2) for d in ("forward", "backward"))
        targets += [
            Target(f"{group}: alt / {bw1}", ratio(ALT, bw1), 1.0, False),
            Target(f"{group}: forward / {fw1}", ratio(FORWARD, fw1), 2.0, False),
        ]
        notes += [
            (f"{group}: alt / {bw2}", ratio(ALT, bw2)),
            (f"{group}: forward / {fw2}", ratio(FORWARD, fw2)),
            (f"{group}: max |dx - dx_torch| / max |dx|", agreement(*arrays, torch_backward)),
        ]
    print_ratios(targets, notes)
    return targets


def main(argv=None):
    args = argument_parser(__doc__.splitlines()[0], min_time=0.05).parse_args(argv)
    print_conditions("batch norm, float32, nndl on 1 BLAS thread")
    targets = [t for shape in SHAPES for t in run_shape(shape, args.repeats, args.min_time)]
    print_summary(targets, "" if torch is not None else " (the targets against torch need torch)")


if __name__ == "__main__":
    main()
