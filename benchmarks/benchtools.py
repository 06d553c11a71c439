"""What the speed benchmarks share: the run's conditions, interleaved timing, and the report.

Timing is round-robin: each of ``repeats`` rounds times every case once (cases with more threads
after those with fewer), so that a burst of load from another process slows all cases alike
instead of one. A case's ``best`` (the minimum over the rounds) is the least disturbed estimate;
its ``median`` is the typical one, and shows how noisy the machine was. A benchmark's ratios use
one of the two for every case (``time_cases``'s ``statistic``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    sys.exit(
        "The benchmarks need threadpoolctl to pin numpy's BLAS threads: pip install -e '.[bench]'"
    )

try:
    import torch
except ImportError:
    torch = None

# Environment variables that change how fast numpy or the allocator runs.
CONDITION_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_MMAP_THRESHOLD_",
)
TORCH_MISSING = "torch is not installed: only nndl is timed (see benchmarks/README.md)"


@dataclass(frozen=True)
class Case:
    """One thing to time: ``fn()``, run with ``threads`` BLAS (numpy) and intra-op (torch)
    threads."""

    label: str
    fn: Callable[[], object]
    threads: int = 1


@dataclass(frozen=True)
class Timing:
    best: float  # seconds per call, minimum over the rounds
    median: float  # seconds per call, median over the rounds
    faults: float | None  # minor page faults per call (None where the OS does not count them)


def threads_text(threads: int) -> str:
    return f"{threads} thread{'s' * (threads > 1)}"


def set_threads(threads: int) -> threadpool_limits:
    """Give torch ``threads`` intra-op threads and return a context limiting numpy's BLAS to as
    many (threadpoolctl leaves torch's own pool alone with ``user_api='blas'``)."""
    if torch is not None:
        torch.set_num_threads(threads)
    return threadpool_limits(limits=threads, user_api="blas")


def _page_faults() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(cases: list[Case], repeats: int, min_time: float) -> dict[str, Timing]:
    """Time each case ``repeats`` times after a warm-up; each measurement runs the case often
    enough to last about ``min_time`` seconds. Cases with the same thread count are timed
    round-robin; the thread counts one after the other, fewest first, because idle OpenMP and
    BLAS workers keep spinning for a while after a parallel region and would slow a 1-thread
    case timed right after a 2-thread one. Page faults are counted over all the timed calls."""
    timings = {}
    for threads in sorted({case.threads for case in cases}):
        with set_threads(threads):
            group = [case for case in cases if case.threads == threads]
            timings.update(_round_robin(group, repeats, min_time))
    return timings


def _round_robin(cases: list[Case], repeats: int, min_time: float) -> dict[str, Timing]:
    timers = {case.label: timeit.Timer(case.fn) for case in cases}
    numbers = {}
    for label, timer in timers.items():
        timer.timeit(3)  # warm-up: caches, lazy initialisation, the allocator
        numbers[label] = max(1, round(min_time / max(timer.timeit(1), 1e-7)))
    samples = {label: [] for label in timers}
    faults = dict.fromkeys(timers, 0)
    for _ in range(repeats):
        for label, timer in timers.items():
            before = _page_faults()
            samples[label].append(timer.timeit(numbers[label]) / numbers[label])
            after = _page_faults()
            if before is not None:
                faults[label] += after - before
    calls = {label: numbers[label] * repeats for label in timers}
    counted = _page_faults() is not None
    return {
        label: Timing(
            min(times), statistics.median(times), faults[label] / calls[label] if counted else None
        )
        for label, times in samples.items()
    }


def print_conditions(title: str) -> None:
    """Print what the numbers depend on: machine, load, versions, BLAS kernel, environment."""
    print(f"# {title}")
    print(f"machine : {_cpu_model()}, {os.cpu_count()} logical CPUs, load {_load()}")
    versions = f"python {platform.python_version()}, numpy {np.__version__}"
    print(f"versions: {versions}, torch {torch.__version__ if torch else '(not installed)'}")
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            kernel = pool.get("architecture") or "?"
            print(
                f"blas    : {pool['internal_api']} {pool['version']}, kernel {kernel}, "
                f"default {pool['num_threads']} threads ({os.path.basename(pool['filepath'])})"
            )
    settings = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in CONDITION_VARIABLES)
    print(f"env     : {settings}")
    print(f"THP     : {_read_first_line('/sys/kernel/mm/transparent_hugepage/enabled')}")
    if any(os.environ.get(v) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        print("warning : OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set; numpy may run a slow kernel")
    if torch is None:
        print(TORCH_MISSING)
    print()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:  # not on Windows
        return "?"


def _read_first_line(path: str) -> str:
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return "?"


def print_timings(rows: list[tuple[str, str, Timing]]) -> None:
    """A table of (group, case label, timing) rows, times in milliseconds."""
    print(f"{'':14s} {'case':34s} {'best ms':>9s} {'median ms':>10s} {'faults/call':>12s}")
    for group, label, timing in rows:
        faults = "?" if timing.faults is None else f"{timing.faults:.0f}"
        print(
            f"{group:14s} {label:34s} {timing.best * 1e3:9.3f} {timing.median * 1e3:10.3f} "
            f"{faults:>12s}"
        )
    print()


@dataclass(frozen=True)
class Target:
    """A ratio the issue asks for: ``value`` must be at least or at most ``bound``."""

    name: str
    value: float
    bound: float
    at_least: bool

    @property
    def met(self) -> bool:
        return self.value >= self.bound if self.at_least else self.value <= self.bound

    def line(self) -> str:
        relation = ">=" if self.at_least else "<="
        verdict = "PASS" if self.met else "MISS"
        return f"{self.name:58s} {self.value:6.2f}   target {relation} {self.bound:<4}  {verdict}"


def print_ratios(targets: list[Target], notes: list[tuple[str, float]]) -> None:
    """The targets with PASS/MISS, then ratios reported without a target."""
    for target in targets:
        print(target.line())
    for name, value in notes:
        shown = f"{value:6.2f}" if value >= 0.01 else f"{value:.1e}"
        print(f"{name:58s} {shown:>6s}   (no target)")
    print()


def argument_parser(description: str, min_time: float) -> argparse.ArgumentParser:
    """A parser with the options every benchmark takes, ``--repeats`` and ``--min-time``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=21, help="rounds of timing (default 21)")
    parser.add_argument(
        "--min-time",
        type=float,
        default=min_time,
        help=f"seconds per measurement (default {min_time})",
    )
    return parser


def time_cases(
    group: str, cases: list[Case], repeats: int, min_time: float, statistic: str = "best"
) -> dict[str, float]:
    """Time ``cases`` (see ``measure``), print their table under ``group`` and return each case's
    time by label: its ``statistic`` over the rounds, "best" (the minimum) or "median"."""
    timings = measure(cases, repeats, min_time)
    print_timings([(group, case.label, timings[case.label]) for case in cases])
    return {label: getattr(timing, statistic) for label, timing in timings.items()}


def print_summary(targets: list[Target], unchecked: str = "") -> None:
    """The closing line: how many of the targets were met (``unchecked`` says which were not
    measured)."""
    print(f"{sum(t.met for t in targets)} of {len(targets)} targets met{unchecked}")


def seed_ranges(one_seed, description, *, steps_name, steps, full_steps, what, argv=None):
    """Run ``one_seed(dataset=, seed=, <steps_name>=)`` for seeds 0..N-1 in a sweep and print each
    key's range over the seeds: what the "Why it helps" chapters quote. ``--full`` runs
    ``full_steps`` instead of ``steps``; ``what`` names those steps in the help and header."""
    from nndl.data import selected_dataset
    from nndl.experiments import sweep

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--dataset", default=None, help="default: $NNDL_DATASET, else digits")
    parser.add_argument(
        "--full", action="store_true", help=f"{full_steps:,} steps in {what} (not {steps:,})"
    )
    args = parser.parse_args(argv)
    dataset = selected_dataset(args.dataset)
    count = full_steps if args.full else steps
    arguments = [{"dataset": dataset, "seed": s, steps_name: count} for s in range(args.seeds)]
    rows = sweep(one_seed, arguments)
    print(f"{dataset}, seeds 0..{args.seeds - 1}, {what} over {count} steps: min .. max")
    for key in rows[0]:
        values = [row[key] for row in rows]
        print(f"  {key:<40} {min(values):.3g} .. {max(values):.3g}")
