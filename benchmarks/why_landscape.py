"""Chapter 14's measurements over several seeds (and, with ``--full``, Santurkar et al.'s longer
training): the range of each ratio the chapter prints, so that the chapter can say which
findings hold on every seed and which do not.

Usage, from the repository root (about 20 s of CPU per seed on the digits, 40 s on
Fashion-MNIST; two processes)::

    nice -n 10 .venv/bin/python benchmarks/why_landscape.py --seeds 5
    nice -n 10 .venv/bin/python benchmarks/why_landscape.py --seeds 5 --dataset fashion-mnist
    nice -n 10 .venv/bin/python benchmarks/why_landscape.py --seeds 2 --full   # 3,000 steps
"""

from __future__ import annotations

import numpy as np
from benchtools import seed_ranges

from nndl.why.landscape import first_step_change, landscape, largest_trained, train_loss_after

LEARNING_RATES = np.logspace(-2, 1.5, 8)
ALPHAS = np.logspace(-3, 2, 11)
QUANTITIES = ("loss_variation", "gradient_change", "beta")


def one_seed(dataset: str, seed: int, num_steps: int) -> dict[str, float]:
    """Every ratio (baseline over batch norm) and threshold the chapter reports, for one seed."""
    runs = {
        bn: landscape(dataset, bn, seed=seed, num_steps=num_steps, probe_every=num_steps // 10)
        for bn in (False, True)
    }
    row = {
        f"{kind} {key} ratio": runs[False].mean(kind, key) / runs[True].mean(kind, key)
        for kind in ("multiple", "distance")
        for key in QUANTITIES
    }
    for bn, name in ((False, "baseline"), (True, "batch norm")):
        final = [train_loss_after(dataset, bn, lr, seed=seed) for lr in LEARNING_RATES]
        row[f"largest rate, {name}"] = largest_trained(LEARNING_RATES, final) or 0.0
        row[f"loss at rate 0.01, {name}"] = final[0]
        change = first_step_change(dataset, bn, ALPHAS, seed=seed)
        row[f"largest lowering step, {name}"] = ALPHAS[change < 0].max()
        row[f"first-step change at 1, {name}"] = change[np.argmin(np.abs(ALPHAS - 1))]
    return row


def main(argv=None) -> None:
    seed_ranges(
        one_seed,
        __doc__.split("\n\n")[0],
        steps_name="num_steps",
        steps=300,
        full_steps=3000,
        what="the landscape run",
        argv=argv,
    )


if __name__ == "__main__":
    main()
