"""Time and memory of loading the datasets: is the full CIFAR-10 set loaded without a float64 copy?

    python benchmarks/bench_data.py [--root DIR] [--dtype float32]

DIR holds cifar-10-batches-py/ (default: $NNDL_DATA, else the user cache directory). Without the
official download, make one from the JPEG copy of CIFAR-10 in shared/data (needs Pillow):

    python ../shared/data/cifar10-jpeg/make_batches.py /tmp/cifar
    python benchmarks/bench_data.py --root /tmp/cifar

Reports, for the full sets and for the experiments' 1,000-image CIFAR-10 subset
(``load_training_subset``), each split's shape, the load time, and the peak of memory allocated
during the load (tracemalloc, which sees numpy's buffers) against the bytes of the arrays
returned. The issue's bound is a peak of at most twice the returned arrays (for the full set);
the process's peak resident size (ru_maxrss, interpreter and libraries included) is printed
beside it.
"""

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np

from nndl import data


def timed_load(loader, **kwargs):
    """(dict, seconds) of one call of `loader`."""
    start = time.perf_counter()
    splits = loader(**kwargs)
    return splits, time.perf_counter() - start


def traced_peak(loader, **kwargs):
    """(peak bytes allocated during one call of `loader`, bytes of the arrays it returned)."""
    tracemalloc.start()
    try:
        splits = loader(**kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, sum(array.nbytes for array in splits.values())


def report(title, loader, **kwargs):
    # Time a run without tracemalloc, which slows allocation down, then trace a second run.
    splits, seconds = timed_load(loader, **kwargs)
    print(f"{title}:")
    for key, array in splits.items():
        print(f"  {key:8s} {str(array.shape):18s} {array.dtype}")
    del splits
    peak, returned = traced_peak(loader, **kwargs)
    print(f"  load time          {seconds:8.2f} s")
    print(f"  returned arrays    {returned / 2**20:8.1f} MiB")
    print(f"  peak allocated     {peak / 2**20:8.1f} MiB  ({peak / returned:.2f}x returned)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="data root holding cifar-10-batches-py/")
    parser.add_argument("--dtype", default="float32", help="image dtype (default float32)")
    args = parser.parse_args(argv)
    dtype = np.dtype(args.dtype)

    report("digits (embedded)", data.get_digits_data, dtype=dtype)
    report("cifar10 (full set)", data.get_CIFAR10_data, root=args.root, dtype=dtype)
    report(
        "cifar10 (the experiments' 1,000 images: load_training_subset)",
        data.load_training_subset,
        num_train=1000,
        name="cifar10",
        root=args.root,
        dtype=dtype,
    )
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    print(f"process peak resident size (ru_maxrss): {peak_rss / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
