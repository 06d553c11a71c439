"""Does nbval still catch a real change, now that experiments' values may move within a tolerance?

Runs nbval (with the tolerance plugin, as ``pytest`` does) over chapters that train networks,
once per condition, and prints which cells fail:

- another kernel: OpenBLAS's Nehalem kernel, numpy without X86_V3/V4 (what CI's second run uses);
  nothing may fail;
- a learning rate 10 % higher, and one training step more (before the others): real changes of
  the experiment, which must fail at least one cell of every chapter that trains.

The real changes are made in every Python the chapter starts (its kernel and the sweep's
workers) by a ``sitecustomize`` module on ``PYTHONPATH`` that patches ``nndl.solver.Solver``.

Usage, from the repository root (a few minutes: each condition runs the chapters once)::

    nice -n 10 .venv/bin/python benchmarks/mutation.py
    nice -n 10 .venv/bin/python benchmarks/mutation.py book/07_training.ipynb
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["book/07_training.ipynb", "book/08_initialisation.ipynb"]

LEARNING_RATE = """
import nndl.solver

_init = nndl.solver.Solver.__init__


def __init__(self, model, data, **kwargs):
    config = dict(kwargs.get("optim_config") or {})
    config["learning_rate"] = 1.1 * config.get("learning_rate", 1e-2)
    _init(self, model, data, **{**kwargs, "optim_config": config})


nndl.solver.Solver.__init__ = __init__
"""

ONE_STEP_MORE = """
import nndl.solver

_train = nndl.solver.Solver.train


def train(self):
    self._step()  # one update more, before the others
    return _train(self)


nndl.solver.Solver.train = train
"""

OTHER_KERNEL = {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": "X86_V4 X86_V3"}
CONDITIONS = {
    "another BLAS kernel and SIMD path": (None, OTHER_KERNEL, False),
    "learning rate x 1.1": (LEARNING_RATE, {}, True),
    "one training step more": (ONE_STEP_MORE, {}, True),
}


def run_nbval(chapters: list[str], patch: str | None, env: dict) -> dict[str, list[str]]:
    """nbval over ``chapters`` with ``patch`` as sitecustomize; chapter -> its failed cells."""
    with tempfile.TemporaryDirectory() as folder:
        environment = {**os.environ, **env}
        if patch is not None:
            Path(folder, "sitecustomize.py").write_text(patch)
            paths = [folder, os.environ.get("PYTHONPATH", "")]
            environment["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chapters]
        result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (book/\S+\.ipynb)::(Cell \d+)", result.stdout, re.M)
    if result.returncode not in (0, 1) or (result.returncode == 1 and not failed):
        raise SystemExit(f"pytest did not run the chapters:\n{result.stdout[-3000:]}")
    return {chapter: [cell for path, cell in failed if path == chapter] for chapter in chapters}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", default=CHAPTERS, help="default: chapters 7, 8")
    args = parser.parse_args()
    wrong = 0
    print(f"{'condition':36} {'chapter':28} cells that fail nbval")
    for condition, (patch, env, must_fail) in CONDITIONS.items():
        for chapter, cells in run_nbval(args.chapters, patch, env).items():
            verdict = "caught" if cells else "passes"
            expected = bool(cells) == must_fail
            wrong += not expected
            mark = "" if expected else "   <-- WRONG: " + ("missed" if must_fail else "failed")
            print(f"{condition:36} {chapter:28} {', '.join(cells) or '-'} ({verdict}){mark}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
