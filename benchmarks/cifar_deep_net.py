"""The original assignment's deep-net experiment on CIFAR-10, with and without batch norm.

    python benchmarks/cifar_deep_net.py [--root DIR] [--seeds 0 1 2]

A FullyConnectedNet with five hidden layers of 100 units (weight_scale 2e-2) is trained on the
first 1,000 training images for 10 epochs (Adam, learning rate 1e-3, batches of 50) and checked
on the 1,000 validation images, once with batch norm and once without, for each seed. The
original notebook reported final accuracies of train 0.82 (batch norm) vs 0.65 (without) and
val 0.34 vs 0.34. ``nndl demo --dataset cifar10`` runs the same comparison in one command.

DIR holds cifar-10-batches-py/ (default: $NNDL_DATA, else the user cache directory); see
bench_data.py for making one from the JPEG copy of CIFAR-10 without network.
"""

import argparse
import time

import numpy as np

from nndl.data import get_CIFAR10_data, training_subset
from nndl.experiments import train_network

ORIGINAL = {"batch norm": (0.82, 0.34), "baseline": (0.65, 0.34)}  # (final train, final val)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="data root holding cifar-10-batches-py/")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)

    data = get_CIFAR10_data(root=args.root)
    small_data = training_subset(data, 1000)
    print(f"{'model':10s} {'seed':>4s} {'train':>6s} {'val':>6s} {'best val':>8s} {'time':>6s}")
    finals = {name: [] for name in ORIGINAL}
    for seed in args.seeds:
        for name, use_batchnorm in (("batch norm", True), ("baseline", False)):
            start = time.perf_counter()
            run = train_network(small_data, [100] * 5, 2e-2, use_batchnorm, seed=seed)
            seconds = time.perf_counter() - start
            train_acc, val_acc = run.final_train_acc, run.val_acc_history[-1]
            finals[name].append((train_acc, val_acc))
            print(
                f"{name:10s} {seed:4d} {train_acc:6.3f} {val_acc:6.3f} "
                f"{run.best_val_acc:8.3f} {seconds:5.1f}s"
            )
    print("\nfinal accuracies, mean over seeds (original notebook in brackets)")
    for name, runs in finals.items():
        train_acc, val_acc = np.mean(runs, axis=0)
        original_train, original_val = ORIGINAL[name]
        print(
            f"{name:10s} train {train_acc:.3f} ({original_train:.2f})   "
            f"val {val_acc:.3f} ({original_val:.2f})"
        )


if __name__ == "__main__":
    main()
