"""How far the chapters' printed and glued numbers move when numpy runs other kernels.

Executes the chapters under each configuration of numpy's OpenBLAS kernel (``OPENBLAS_CORETYPE``)
and of numpy's own SIMD dispatch (``NPY_DISABLE_CPU_FEATURES``), extracts every number each code
cell prints, displays or glues, and prints, per number that is not the same everywhere: the
chapter and cell, what it reads in the reference run, its minimum and maximum over the kernels,
the printed precision (or the tolerance the chapter states for it, see
``nndl.book.values``) and whether that covers the spread with margin.

A configuration the CPU cannot run (``SkylakeX`` without AVX-512 dies of an illegal instruction)
is reported as unavailable; configurations that select the same kernels as another (``Zen`` is
``Haswell`` in OpenBLAS, ``X86_V4`` is a no-op without AVX-512) are run once and listed together.

Usage, from the repository root (it takes a while: every chapter, once per distinct setting)::

    nice -n 10 .venv/bin/python benchmarks/spread.py                 # every chapter
    nice -n 10 .venv/bin/python benchmarks/spread.py book/06_network.ipynb --jobs 2
    .venv/bin/python benchmarks/spread.py --load spread.json --all    # print again, every value

``--save FILE`` keeps the raw outputs of every run (JSON) for ``--load``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The kernels of the issue, in OpenBLAS's names, and numpy's dispatch switched down.
CORETYPES = ("Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX")
DISPATCH = ("X86_V4", "X86_V4 X86_V3")
CI_SECOND = {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V4 X86_V3"}
IGNORED = "nbval-ignore-output"

PROBE = r"""
import json
import numpy as np
from numpy._core._multiarray_umath import __cpu_features__ as features
from threadpoolctl import threadpool_info

blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
rng = np.random.default_rng(0)
product = rng.standard_normal((200, 300)) @ rng.standard_normal((300, 100))
print(json.dumps({
    "blas": blas[0].get("architecture") if blas else "none",
    "simd": sorted(f for f, on in features.items() if on),
    "product": float(product.sum()).hex(),
}))
"""


@dataclass(frozen=True)
class Setting:
    label: str
    env: dict


def settings() -> list[Setting]:
    found = [Setting("default", {})]
    found += [Setting(f"OPENBLAS_CORETYPE={c}", {"OPENBLAS_CORETYPE": c}) for c in CORETYPES]
    found += [
        Setting(f'NPY_DISABLE_CPU_FEATURES="{d}"', {"NPY_DISABLE_CPU_FEATURES": d})
        for d in DISPATCH
    ]
    found.append(Setting("Nehalem, no X86_V3 (CI's second run)", CI_SECOND))
    return found


def environment(setting: Setting) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE",)}
    env.pop("NPY_DISABLE_CPU_FEATURES", None)
    return {**env, **setting.env}


def probe(setting: Setting) -> dict | None:
    """What the setting selects on this CPU: OpenBLAS's kernel and numpy's SIMD features; None
    when numpy cannot run under it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment(setting), capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Executing the chapters (in a child process per setting, so that the kernels inherit it)
# --------------------------------------------------------------------------------------------


def execute(paths: list[Path], out: Path) -> None:
    """Run each chapter in a fresh kernel; write {chapter: [outputs of each code cell]}."""
    import nbformat
    from nbclient import NotebookClient

    from nndl.book.execute import merge_streams
    from nndl.book.kernel import encrypt_kernel_connections

    encrypt_kernel_connections()
    results = {}
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            notebook,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        cells = [c for c in notebook.cells if c.cell_type == "code"]
        results[path.name] = {
            "seconds": time.perf_counter() - start,
            # A timing cell (nbval-ignore-output) measures the machine, not the kernel's sums.
            "cells": [
                [] if IGNORED in c.metadata.get("tags", []) else merge_streams(c.outputs)
                for c in cells
            ],
        }
    out.write_text(json.dumps(results))


def run_setting(setting: Setting, paths: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "outputs.json"
        command = [sys.executable, __file__, "--execute", str(out), *map(str, paths)]
        result = subprocess.run(command, env=environment(setting), capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{setting.label}: the chapters failed:\n{result.stderr[-3000:]}")
        return json.loads(out.read_text())


# --------------------------------------------------------------------------------------------
# The numbers of an output
# --------------------------------------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def texts(outputs: list[dict]) -> Iterator[tuple[str, str, dict | None]]:
    """(where, text, nndl metadata) of every text an output list shows or glues."""
    for i, output in enumerate(outputs):
        if output["output_type"] == "stream":
            yield f"{i}:{output['name']}", output["text"], None
            continue
        data, metadata = output.get("data", {}), output.get("metadata", {})
        glued = metadata.get("scrapbook", {}).get("name")
        for mime, text in data.items():
            if mime.startswith("image/") or not isinstance(text, str):
                continue
            if text.startswith("<") and text.endswith(">"):  # <Figure ...>, <... object>
                continue
            where = f"glue {glued}" if glued else f"{i}:{mime}"
            yield where, text, metadata.get("nndl")


def skeleton(text: str) -> str:
    """The text without its numbers and with runs of blanks as one (numpy pads its arrays'
    columns to the widest number, which moves with the numbers)."""
    return re.sub(r"[ \t]+", " ", NUMBER.sub("#", text))


def precision(token: str) -> float:
    """Half a unit of the last digit printed: how far round-off may move the value unseen."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


@dataclass
class Row:
    where: str
    shown: str
    values: dict  # setting label -> float
    resolution: float  # half a unit of the printed digit, or the stated tolerance
    stated: bool  # resolution is a tolerance the chapter states
    factor: float | None = None  # the stated factor, for a value that may move by one

    @property
    def low(self) -> float:
        return min(self.values.values())

    @property
    def high(self) -> float:
        return max(self.values.values())

    @property
    def moves(self) -> bool:
        return self.high != self.low

    def verdict(self) -> str:
        """Whether what the chapter allows covers the spread twice over (a factor: squared)."""
        if not self.stated:
            return "same" if not self.moves else "DIFFERS"
        if 2 * (self.high - self.low) <= self.resolution or not self.moves:
            return "covered"
        if self.factor and self.low * self.high > 0:
            ratio = max(abs(self.high / self.low), abs(self.low / self.high))
            return "covered" if ratio**2 <= self.factor else "NOT COVERED"
        return "NOT COVERED"

    def allowed(self) -> str:
        if self.factor:
            return f"x{self.factor:<8g}"
        return f"{'tol' if self.stated else '+-'}{self.resolution:<8.1g}"


def rows(runs: dict[str, dict], chapter: str) -> tuple[list[Row], list[str]]:
    """Every number of a chapter across the runs, and the outputs whose text (apart from the
    numbers) differs between runs."""
    labels = list(runs)
    reference = runs[labels[0]][chapter]["cells"]
    found, structural = [], []
    for cell in range(len(reference)):
        per_run = {label: list(texts(runs[label][chapter]["cells"][cell])) for label in labels}
        for k, (where, text, meta) in enumerate(per_run[labels[0]]):
            place = f"{chapter[:2]} cell {cell} {where}"
            if meta:  # a value shown with nndl.book.values: its raw numbers and tolerances
                for j, value in enumerate(meta["values"]):
                    raw = {
                        label: float(per_run[label][k][2]["values"][j]["value"])
                        for label in labels
                        if k < len(per_run[label]) and per_run[label][k][2]
                    }
                    line = meta["template"].split("{}")[j].rpartition("\n")[2][-30:].strip()
                    where = f"{place} #{j} [{line}]"
                    tolerance, factor = value["tolerance"], value.get("factor")
                    found.append(Row(where, value["shown"], raw, tolerance, True, factor))
                continue
            template = skeleton(text)
            others = {}
            for label in labels:
                if k >= len(per_run[label]) or skeleton(per_run[label][k][1]) != template:
                    structural.append(f"{place} ({label})")
                    break
                others[label] = NUMBER.findall(per_run[label][k][1])
            else:
                for j, token in enumerate(NUMBER.findall(text)):
                    values = {label: float(others[label][j]) for label in labels}
                    line = text[: text.find(token)].rpartition("\n")[2][-40:].strip()
                    where_j = f"{place} #{j} [{line}]"
                    found.append(Row(where_j, token, values, precision(token), False))
    return found, structural


def short(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def report(runs: dict[str, dict], groups: dict[str, list[str]], everything: bool) -> int:
    """Print the table; return the number of values the printed precision does not cover."""
    uncovered = 0
    chapters = list(next(iter(runs.values())))
    print("\nkernels (a column per distinct setting; the settings that select the same kernels):")
    for label, members in groups.items():
        print(f"  {label}: {', '.join(members)}")
    print(
        f"\n{'chapter, cell, output, value':58} {'shown':>9} {'min':>11} {'max':>11}"
        f" {'precision':>10}  verdict"
    )
    for chapter in chapters:
        found, structural = rows(runs, chapter)
        seconds = max(runs[label][chapter]["seconds"] for label in runs)
        moving = [r for r in found if r.moves or r.stated]
        print(
            f"-- {chapter}: {len(found)} values, {len(moving)} move or state a tolerance;"
            f" up to {seconds:.0f} s per run"
        )
        for row in found if everything else moving:
            verdict = row.verdict()
            uncovered += verdict in ("DIFFERS", "NOT COVERED")
            print(
                f"{row.where[:58]:58} {row.shown[:9]:>9} {short(row.low):>11} "
                f"{short(row.high):>11} {row.allowed()}  {verdict}"
            )
        for place in structural:
            uncovered += 1
            print(f"{place[:58]:58} text differs beyond its numbers (e.g. a line more or less)")
    print(f"\n{uncovered} values differ between kernels beyond what their chapter allows")
    return uncovered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="default: every chapter in book/")
    parser.add_argument("--jobs", type=int, default=1, help="settings executed at once")
    parser.add_argument("--save", type=Path, help="write the runs' outputs here (JSON)")
    parser.add_argument("--load", type=Path, help="print the table of saved runs, run nothing")
    parser.add_argument("--all", action="store_true", help="print every value, not only movers")
    parser.add_argument("--execute", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    chapters = args.chapters or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if args.execute:
        execute([p.resolve() for p in chapters], args.execute)
        return 0
    if args.load:
        saved = json.loads(args.load.read_text())
        return min(report(saved["runs"], saved["groups"], args.all), 1)

    groups: dict[str, list[str]] = {}
    distinct: dict[tuple, Setting] = {}
    print("settings on this CPU:")
    for setting in settings():
        found = probe(setting)
        if found is None:
            print(f"  {setting.label:40} unavailable (numpy dies under it on this CPU)")
            continue
        key = (found["blas"], tuple(found["simd"]))
        simd = [f for f in found["simd"] if f.startswith("X86_V") or f.startswith("AVX512")]
        print(
            f"  {setting.label:40} OpenBLAS {found['blas']:12} numpy SIMD up to"
            f" {simd[-1] if simd else 'baseline'}; 200x300 @ 300x100 sum {found['product']}"
        )
        if key in distinct:
            groups[distinct[key].label].append(setting.label)
        else:
            distinct[key] = setting
            groups[setting.label] = [setting.label]
    print(f"executing {len(chapters)} chapters under {len(distinct)} distinct settings ...")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {s.label: pool.submit(run_setting, s, chapters) for s in distinct.values()}
        runs = {label: future.result() for label, future in futures.items()}
    if args.save:
        args.save.write_text(json.dumps({"runs": runs, "groups": groups}))
    return min(report(runs, groups, args.all), 1)


if __name__ == "__main__":
    sys.exit(main())
