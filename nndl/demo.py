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
    from nndl.cli import UsageError
    from nndl.data import selected_dataset

    try:
        dataset = selected_dataset(args.dataset)  # NNDL_DATASET, when --dataset is not given
    except ValueError as error:
        raise UsageError(str(error)) from None
    runs = run_demo(dataset, num_train=args.num_train, num_epochs=args.epochs)
    print(f"{'':10s} {'train acc':>9s} {'best val acc':>12s}")
    for name, run in runs.items():
        print(f"{name:10s} {run.final_train_acc:9.2f} {run.best_val_acc:12.2f}")
    return 0


def _count(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def register_cli(subparsers) -> None:
    from nndl.data import DATASETS

    parser = subparsers.add_parser("demo", help="train a deep net with and without batch norm")
    parser.add_argument(
        "--dataset", choices=list(DATASETS), default=None, help="default: NNDL_DATASET, else digits"
    )
    parser.add_argument(
        "--num-train", type=_count, default=1000, help="training images (default 1000)"
    )
    parser.add_argument("--epochs", type=_count, default=10, help="epochs (default 10)")
    parser.set_defaults(func=_main)
