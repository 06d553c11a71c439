"""One training step of the seed's deep batch-norm net, nndl vs torch on the CPU.

    python benchmarks/bench_train_step.py [--repeats 21] [--min-time 0.1] [--threads 1 2]

The net is the original notebook's 7 x 50 network, ``FullyConnectedNet([50] * 7,
use_batchnorm=True)`` in float32, on a batch of 50 CIFAR-sized examples (3072 inputs, 10
classes). One step is the forward pass, the backward pass and an Adam update of every parameter
(``nndl.optim.adam``, learning rate 1e-3). The torch twin is an ``nn.Sequential`` of
``Linear``/``BatchNorm1d``/``ReLU`` blocks with ``CrossEntropyLoss`` and ``torch.optim.Adam``
(defaults, learning rate 1e-3). Both run on the same input. The issue's target: nndl's step takes
at most 0.8x torch's, compared at 1 thread (numpy's BLAS and torch's intra-op pool); other thread
counts are reported beside it with ``--threads``.
"""

from __future__ import annotations

import numpy as np
from benchtools import (
    Case,
    Target,
    argument_parser,
    print_conditions,
    print_ratios,
    threads_text,
    time_cases,
    torch,
)

from nndl.fc_net import FullyConnectedNet
from nndl.optim import adam

HIDDEN_DIMS = [50] * 7
BATCH, INPUT_DIM, NUM_CLASSES = 50, 3 * 32 * 32, 10
LEARNING_RATE = 1e-3


def make_batch(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH, INPUT_DIM)).astype(np.float32)
    y = rng.integers(0, NUM_CLASSES, size=BATCH)
    return X, y


def nndl_step(X, y, seed=0):
    """A function that runs one training step of nndl's net (its state persists across calls)."""
    model = FullyConnectedNet(HIDDEN_DIMS, use_batchnorm=True, dtype=np.float32, seed=seed)
    configs = {name: {"learning_rate": LEARNING_RATE} for name in model.params}

    def step():
        _, grads = model.loss(X, y)
        for name, grad in grads.items():
            model.params[name], configs[name] = adam(model.params[name], grad, configs[name])

    return step


def torch_step(X, y, seed=0):
    """The same step in torch: affine - batch norm - relu blocks, cross-entropy, Adam."""
    torch.manual_seed(seed)
    dims = [INPUT_DIM, *HIDDEN_DIMS]
    blocks = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        blocks += [torch.nn.Linear(fan_in, fan_out), torch.nn.BatchNorm1d(fan_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*blocks, torch.nn.Linear(dims[-1], NUM_CLASSES))
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        optimizer.zero_grad(set_to_none=True)
        criterion(net(X_t), y_t).backward()
        optimizer.step()

    return step


def main(argv=None):
    parser = argument_parser(__doc__.splitlines()[0], min_time=0.1)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1], help="thread counts to time (default 1)"
    )
    args = parser.parse_args(argv)
    threads = sorted(set(args.threads) | {1})
    print_conditions("training step of the 7 x 50 batch-norm net, batch 50, Adam, float32")

    X, y = make_batch()
    libraries = ("nndl", "torch") if torch is not None else ("nndl",)
    make_step = {"nndl": nndl_step, "torch": torch_step}
    label = {(lib, t): f"{lib} step, {threads_text(t)}" for lib in libraries for t in threads}
    cases = [Case(label[lib, t], make_step[lib](X, y), t) for lib in libraries for t in threads]
    best = time_cases("7x50 net", cases, args.repeats, args.min_time)

    if torch is None:
        print("the target (nndl step / torch step <= 0.8) needs torch: not checked")
    else:
        ratio = {t: best[label["nndl", t]] / best[label["torch", t]] for t in threads}
        print_ratios(
            [Target("nndl step / torch step, 1 thread", ratio[1], 0.8, False)],
            [(f"nndl step / torch step, {threads_text(t)}", ratio[t]) for t in threads[1:]],
        )


if __name__ == "__main__":
    main()
