"""Chapter 15's measurements over several seeds: the range of each gap and accuracy the chapter
prints, so that the chapter can say which findings hold on every seed and which do not.

Usage, from the repository root (about 40 s of CPU per seed on the digits; two processes)::

    nice -n 10 .venv/bin/python benchmarks/why_regularization.py --seeds 5
    nice -n 10 .venv/bin/python benchmarks/why_regularization.py --seeds 5 --dataset fashion-mnist
    nice -n 10 .venv/bin/python benchmarks/why_regularization.py --seeds 2 --full  # 2,000 steps
"""

from __future__ import annotations

from benchtools import seed_ranges

from nndl.why.regularization import FRANKLE, REGULARIZERS, train_frankle, train_gap

TARGET = 0.05


def one_seed(dataset: str, seed: int, frankle_steps: int) -> dict[str, float]:
    """The chapter's numbers for one seed."""
    row = {}
    for name in REGULARIZERS:
        run = train_gap(dataset, name, seed=seed, stop_below=TARGET)
        epoch = run.first_epoch_below(TARGET)
        row[f"epoch at loss {TARGET}, {name}"] = epoch or float("nan")
        row[f"gap, {name}"] = run.gap(epoch) if epoch else float("nan")
        row[f"val acc, {name}"] = run.val_acc[epoch - 1] if epoch else float("nan")
    row["gap, batch norm - plain"] = row["gap, batch norm"] - row["gap, plain"]
    for variant in FRANKLE:
        run = train_frankle(dataset, variant, seed=seed, num_steps=frankle_steps)
        row[f"Frankle val, {variant}"] = run.val_acc
        if variant == "gamma and beta":
            row["Frankle |gamma| < 0.1"] = run.disabled
    row["Frankle gamma and beta - random"] = (
        row["Frankle val, gamma and beta"] - row["Frankle val, random weights"]
    )
    return row


def main(argv=None) -> None:
    seed_ranges(
        one_seed,
        __doc__.split("\n\n")[0],
        steps_name="frankle_steps",
        steps=1000,
        full_steps=2000,
        what="Frankle's runs",
        argv=argv,
    )


if __name__ == "__main__":
    main()
