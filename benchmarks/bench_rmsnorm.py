"""RMSNorm speed and agreement: nndl's forward, staged and closed-form backward beside torch's
``nn.RMSNorm``, the oracle (or its formula in NumPy, float64, when torch is not installed).

    python benchmarks/bench_rmsnorm.py [--repeats 21] [--min-time 0.05]

On the same float32 arrays, at (N, D) = (256, 3072) and (4096, 1024), times nndl's
``rmsnorm_forward``, ``rmsnorm_backward`` (staged) and ``rmsnorm_backward_alt`` (closed form)
with numpy's BLAS on one thread, and, with torch, ``nn.RMSNorm``'s forward and its backward
(autograd) at one thread. Prints the ratios of the median times (the closed form against the
staged backward: RMSNorm has no fast kernel, so it is the clear closed form, and four nodes leave
the staged backward less to spare than batch norm's six) and how far nndl's output, dx and
dgamma are from the oracle's.
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
    time_cases,
    torch,
)

from nndl.rmsnorm import rmsnorm_backward, rmsnorm_backward_alt, rmsnorm_forward

SHAPES = ((256, 3072), (4096, 1024))
FORWARD, STAGED, ALT = "nndl forward", "nndl backward staged", "nndl backward alt"
TORCH_FORWARD, TORCH_BACKWARD = "torch forward, 1 thread", "torch backward, 1 thread"
EPS = 1e-5


def make_arrays(shape, seed=0):
    """Seeded float32 input (rows with a mean of their own), scale and upstream gradient."""
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(shape) + 1).astype(np.float32)
    gamma = (1 + 0.1 * rng.standard_normal(shape[1])).astype(np.float32)
    return x, gamma, rng.standard_normal(shape).astype(np.float32)


def oracle(x, gamma, dout):
    """out, dx and dgamma from torch's nn.RMSNorm (autograd), or from RMSNorm's formula in
    float64 NumPy when torch is not installed: y = gamma * x / sqrt(mean(x**2) + eps)."""
    if torch is not None:
        layer = torch.nn.RMSNorm(x.shape[1], eps=EPS)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(gamma))
        xt = torch.from_numpy(x).requires_grad_(True)
        out = layer(xt)
        out.backward(torch.from_numpy(dout))
        return out.detach().numpy(), xt.grad.numpy(), layer.weight.grad.numpy()
    x64, g64, d64 = (a.astype(np.float64) for a in (x, gamma, dout))
    inv_rms = ((x64**2).mean(axis=1, keepdims=True) + EPS) ** -0.5
    xhat = x64 * inv_rms
    dxhat = d64 * g64
    dx = inv_rms * (dxhat - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    return g64 * xhat, dx, (d64 * xhat).sum(axis=0)


def torch_cases(x, gamma, dout):
    layer = torch.nn.RMSNorm(x.shape[1], eps=EPS)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
    xt, dt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(dout)
    out = layer(xt)

    def forward():
        with torch.no_grad():
            return layer(xt)

    def backward():
        return torch.autograd.grad(out, (xt, layer.weight), dt, retain_graph=True)

    return forward, backward


def relative(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def run(shape, repeats, min_time) -> list[Target]:
    x, gamma, dout = make_arrays(shape)
    param = {"eps": EPS}
    out, cache = rmsnorm_forward(x, gamma, param)
    cases = [
        Case(FORWARD, lambda: rmsnorm_forward(x, gamma, param)),
        Case(STAGED, lambda: rmsnorm_backward(dout, cache)),
        Case(ALT, lambda: rmsnorm_backward_alt(dout, cache)),
    ]
    if torch is not None:
        torch.set_num_threads(1)
        torch_forward, torch_backward = torch_cases(x, gamma, dout)
        cases += [Case(TORCH_FORWARD, torch_forward), Case(TORCH_BACKWARD, torch_backward)]
    group = "x".join(map(str, shape))
    print(f"## RMSNorm, {group}")
    median = time_cases(group, cases, repeats, min_time, statistic="median")
    dx, dgamma = rmsnorm_backward_alt(dout, cache)
    want = oracle(x, gamma, dout)
    name = "torch" if torch is not None else "the formula (float64)"
    targets: list[Target] = []
    notes = [
        (f"RMSNorm {group}: staged / alt", median[STAGED] / median[ALT]),
        (f"RMSNorm {group}: max |out - {name}| / max |out|", relative(out, want[0])),
        (f"RMSNorm {group}: max |dx - {name}| / max |dx|", relative(dx, want[1])),
        (f"RMSNorm {group}: max |dgamma - {name}| / max |dgamma|", relative(dgamma, want[2])),
    ]
    if torch is not None:
        notes += [
            (f"RMSNorm {group}: alt / torch backward", median[ALT] / median[TORCH_BACKWARD]),
            (f"RMSNorm {group}: forward / torch forward", median[FORWARD] / median[TORCH_FORWARD]),
        ]
    print_ratios(targets, notes)
    return targets


def main(argv=None):
    parser = argument_parser(__doc__.splitlines()[0], min_time=0.05)
    args = parser.parse_args(argv)
    print_conditions("RMSNorm; float32, 1 thread")
    targets = [t for shape in SHAPES for t in run(shape, args.repeats, args.min_time)]
    print_summary(targets)


if __name__ == "__main__":
    main()
