"""``nndl demo``: the seed experiment in one command -- a deep network trained with and without
batch normalization on the selected dataset (the embedded digits unless NNDL_DATASET says
otherwise), printing the final accuracies."""

from __future__ import annotations

import argparse

import numpy as np


def run_demo(dataset=None, num_train=1000, num_epochs=10, weight_scale=2e-2, seed=0):
    """Train ``FullyConnectedNet([100] * 5)`` with and without batch norm (Adam 1e-3, batch 50)
    on ``num_train`` training images; return {name: (final train acc, best val acc)}."""
    from nndl.data import load_dataset
    from nndl.fc_net import FullyConnectedNet
    from nndl.solver import Solver

    data = load_dataset(dataset)
    small = {
        "X_train": data["X_train"][:num_train],
        "y_train": data["y_train"][:num_train],
        "X_val": data["X_val"],
        "y_val": data["y_val"],
    }
    results = {}
    for name, use_batchnorm in (("batchnorm", True), ("baseline", False)):
        model = FullyConnectedNet(
            [100] * 5,
            input_dim=int(np.prod(data["X_train"].shape[1:])),
            num_classes=int(data["y_train"].max()) + 1,
            weight_scale=weight_scale,
            use_batchnorm=use_batchnorm,
            seed=seed,
        )
        solver = Solver(
            model,
            small,
            update_rule="adam",
            optim_config={"learning_rate": 1e-3},
            batch_size=50,
            num_epochs=num_epochs,
            verbose=False,
            seed=seed,
        )
        solver.train()
        results[name] = (solver.train_acc_history[-1], solver.best_val_acc)
    return results


def _main(args: argparse.Namespace) -> int:
    results = run_demo(args.dataset, num_train=args.num_train, num_epochs=args.epochs)
    print(f"{'':10s} {'train acc':>9s} {'best val acc':>12s}")
    for name, (train_acc, val_acc) in results.items():
        print(f"{name:10s} {train_acc:9.2f} {val_acc:12.2f}")
    return 0


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="train a deep net with and without batch norm")
    parser.add_argument("--dataset", default=None, help="digits or cifar10 (default: NNDL_DATASET)")
    parser.add_argument("--num-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.set_defaults(func=_main)
