"""Chapters 12 and 13 at the paper's size: Ioffe & Szegedy's network trained for their 50,000
steps (the chapters stop at 3,000 to fit the book's time budget), without, with and with noisy
batch normalization, on the dataset NNDL_DATASET selects (or --dataset).

Prints, per network, what the chapters print: test accuracy at a few steps, the steps to 50 %,
the drift of the typical unit's median input and the growth of its spread, Santurkar's ICS and
the step-to-step shift. The three networks train side by side (``nndl.experiments.sweep``);
each takes several minutes of CPU.

Usage, from the repository root::

    nice -n 10 .venv/bin/python benchmarks/why_shift_full.py
    nice -n 10 .venv/bin/python benchmarks/why_shift_full.py --dataset fashion-mnist --steps 50000
"""

from __future__ import annotations

import argparse

import numpy as np

from nndl.data import load_dataset, selected_dataset
from nndl.experiments import sweep
from nndl.why import shift


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=None, help="digits, fashion-mnist or cifar10")
    parser.add_argument("--steps", type=int, default=50_000, help="training steps (50,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    dataset = selected_dataset(args.dataset)
    sizes = {} if dataset == "digits" else dict(num_training=10_000, num_test=2_000)
    data = shift.prepare_images(load_dataset(dataset, dtype=np.float64, **sizes))
    every = max(args.steps // 30, 1)
    arguments = [
        dict(data=data, variant=variant, seed=args.seed, num_iterations=args.steps, every=every,
             ics_every=args.steps // 10, moments_every=10)
        for variant in shift.VARIANTS
    ]  # fmt: skip
    runs = sweep(shift.shift_run, arguments, progress=False)
    print(f"{dataset}, {args.steps:,} steps, seed {args.seed}, records every {every} steps")
    print(f"{'':10} {'acc 10%':>8} {'acc end':>8} {'to 50%':>7} {'drift':>6} {'growth':>7} "
          f"{'ICS':>5} {'shift':>6} {'CPU s':>6}")  # fmt: skip
    for run in runs:
        tenth = run.accuracy[len(run.accuracy) // 10]
        print(
            f"{run.variant:10} {tenth:8.3f} {run.accuracy[-1]:8.3f} "
            f"{shift.steps_to(run, 0.5):7.0f} {shift.median_drift(run):6.2f} "
            f"{shift.spread_growth(run):7.1f} {shift.mean_ics(run):5.2f} "
            f"{shift.step_shift(run):6.3f} {run.seconds:6.0f}"
        )


if __name__ == "__main__":
    main()
