"""``nndl demo``: the seed experiment in one command -- a deep network trained with and without
batch normalization on the selected dataset (the embedded digits unless NNDL_DATASET says
otherwise), printing the final accuracies. Chapter 7 of the book is the same experiment with its
curves."""

from __future__ import annotations

import argparse


def run_demo(dataset=None, num_train=1000, num_epochs=10, weight_scale=2e-2, seed=0):
    """Train ``FullyConnectedNet([100] * 5)`` with and without batch norm (Adam 1e-3, batch 50)
    on the first ``num_train`` training images.

    Returns:
    - {"batchnorm": run, "baseline": run}, each a ``nndl.experiments.TrainingRun``
    """
    from nndl.data import load_training_subset
    from nndl.experiments import train_network

    small = load_training_subset(num_train, dataset)
    return {
        name: train_network(
            small, [100] * 5, weight_scale, use_batchnorm, num_epochs=num_epochs, seed=seed
        )
        for name, use_batchnorm in (("batchnorm", True), ("baseline", False))
    }


def _main(args: argparse.Namespace) -> int:
    runs = run_demo(args.dataset, num_train=args.num_train, num_epochs=args.epochs)
    print(f"{'':10s} {'train acc':>9s} {'best val acc':>12s}")
    for name, run in runs.items():
        print(f"{name:10s} {run.final_train_acc:9.2f} {run.best_val_acc:12.2f}")
    return 0


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="train a deep net with and without batch norm")
    parser.add_argument("--dataset", default=None, help="digits or cifar10 (default: NNDL_DATASET)")
    parser.add_argument("--num-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.set_defaults(func=_main)
