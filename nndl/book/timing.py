"""Timing a few functions as a chapter reports it (chapter 5): the best time of each over
interleaved rounds and the page faults it causes, with the allocator's default settings and
with freed memory kept (glibc's ``mallopt``), so that a reader sees what the arithmetic costs
and what fresh memory adds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource
import timeit
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

# From glibc's malloc.h: the size above which memory is mapped afresh, and the free memory at
# the top of the heap above which it is given back to the system.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@dataclass(frozen=True)
class Timing:
    """One function's time per call, best over the rounds, and its page faults per call, the
    median over the rounds."""

    ms: float
    faults: float


def _page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_calls(calls: Mapping[str, Callable[[], object]], rounds=7, number=10) -> dict:
    """Time each call (a function of no arguments): after one untimed call each, ``rounds``
    rounds in which every call runs ``number`` times in turn, so that a burst of load from
    another process slows all of them alike.

    Returns:
    - name -> ``Timing`` (best milliseconds per call, median page faults per call)
    """
    times = {name: [] for name in calls}
    faults = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            before = _page_faults()
            times[name].append(timeit.timeit(call, number=number))
            faults[name].append((_page_faults() - before) / number)
    return {
        name: Timing(1e3 * min(times[name]) / number, float(np.median(faults[name])))
        for name in calls
    }


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory (up to 1 GiB, and blocks up to 32 MiB on its
    heap) instead of giving it back to the system, for the rest of the process: a call then
    reuses pages instead of faulting fresh ones in. Returns False, changing nothing, where the C
    library has no ``mallopt`` (not glibc)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallopt"):
        return False
    libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
    libc.mallopt(M_TRIM_THRESHOLD, 2**30)
    return True


def timing_report(title: str, timings: Mapping[str, Timing], baseline: str) -> str:
    """The timings as text: one line per function (ms and page faults per call, and how many
    times faster than ``baseline`` it is)."""
    lines = [title]
    for name, timing in timings.items():
        speed_up = timings[baseline].ms / timing.ms
        lines.append(
            f"  {name:28}: {timing.ms:6.2f} ms, {timing.faults:6.0f} page faults per call, "
            f"{speed_up:4.1f}x"
        )
    return "\n".join(lines)
