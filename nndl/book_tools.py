"""What the book's chapters compute and draw, kept here so that a chapter's code cells stay short
and the code behind them is tested.

- ``plot_computation_graph``: a generated figure of a computation graph (chapter 4).
- ``layer_statistics``: per-layer spread of a network's values at initialisation (chapter 8).
- ``train_network`` and ``sweep``: one training run as a picklable function, and many of them on
  an executor (chapters 7 and 8).
- ``plot_training_curves`` and ``plot_panels``: the training curves, and plots against the
  weight scale or the layer.
- ``rounded``: numbers as chapters print them.
- ``execute_chapters``: re-runs the chapter notebooks in place (``nndl book execute``).

matplotlib, nbformat and nbclient (the ``book`` extra) are imported where they are used, so that
the ``nndl`` command line works without them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------------
# The computation graph (chapter 4)
# --------------------------------------------------------------------------------------------


def graph_layout(parents: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, int]]:
    """Place the nodes of a directed acyclic graph in columns, left to right.

    A computed node sits one column right of its last parent; an input (a node without parents)
    sits one column left of its first consumer, so that ``gamma`` appears next to the node that
    uses it rather than beside ``x``. Nodes that share a column are stacked, computed nodes
    first, each kind in the order given.

    Inputs:
    - parents: maps every node name to the names of the nodes it is computed from, computed
      nodes after their computed parents; inputs map to an empty sequence

    Returns:
    - dict mapping each node to its (column, row)
    """
    unknown = {p for ps in parents.values() for p in ps} - set(parents)
    if unknown:
        raise ValueError(f"parents names nodes that are not in the graph: {sorted(unknown)}")
    column: dict[str, int] = {}
    for node, ps in parents.items():
        if any(p not in column for p in ps if parents[p]):
            raise ValueError(f"node {node!r} is listed before one of its parents {list(ps)}")
        if ps:
            column[node] = 1 + max(column.get(p, 0) for p in ps)
    for node, ps in parents.items():
        if not ps:
            consumers = [column[c] for c, cps in parents.items() if node in cps]
            column[node] = min(consumers, default=1) - 1
    # Computed nodes take the top rows, so that the main chain runs along one line.
    rows: dict[int, int] = {}
    layout = {}
    for node in sorted(parents, key=lambda n: not parents[n]):
        layout[node] = (column[node], rows.get(column[node], 0))
        rows[column[node]] = layout[node][1] + 1
    return layout


def plot_computation_graph(parents: Mapping[str, Sequence[str]], labels=None, ax=None):
    """Draw a computation graph: one box per node, one arrow per (parent, child) edge.

    Inputs:
    - parents: as for ``graph_layout``
    - labels: optional dict node -> a description under its name (e.g. "centred input"),
      wrapped to a narrow box
    - ax: matplotlib Axes to draw on; a new figure is made when None

    Returns:
    - the matplotlib Figure
    """
    from matplotlib.figure import Figure

    layout = graph_layout(parents)
    labels = labels or {}
    if ax is None:
        width = 1.4 * (1 + max(c for c, _ in layout.values()))
        height = 1.5 + max(r for _, r in layout.values())
        ax = Figure(figsize=(width, height)).subplots()
    position = {node: (c, -r) for node, (c, r) in layout.items()}
    boxes = {}
    for node, (x, y) in position.items():
        text = "\n".join([node, *textwrap.wrap(labels.get(node, ""), 10)])
        style = "round,pad=0.3" if parents[node] else "square,pad=0.3"
        boxes[node] = ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            family="monospace",
            fontsize=10,
            bbox={"boxstyle": style, "facecolor": "white" if parents[node] else "0.9"},
        )
    for node, ps in parents.items():
        for parent in ps:
            # An edge that skips a column runs over the boxes between, from top to top;
            # the others run from the parent's right side to the child's left side.
            skips = layout[node][0] - layout[parent][0] > 1 and layout[node][1] == layout[parent][1]
            ax.annotate(
                "",
                xy=(0.5, 1) if skips else (0, 0.5),
                xycoords=boxes[node],
                xytext=(0.5, 1) if skips else (1, 0.5),
                textcoords=boxes[parent],
                arrowprops={
                    "arrowstyle": "->",
                    "shrinkA": 5,
                    "shrinkB": 5,
                    "connectionstyle": "arc3,rad=-0.3" if skips else "arc3",
                },
            )
    xs, ys = zip(*position.values(), strict=True)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 1.5)
    ax.set_axis_off()
    return ax.figure


def derivation_graph(derivation) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The computation graph of a derivation from ``derivations``, ready to plot.

    A node's parents are the inputs it has a local derivative for (the ones a gradient flows
    through: ``eps`` has none); the layer's own inputs (``x``, ``gamma``, ``beta``) come first.

    Inputs:
    - derivation: a ``derivations`` Derivation (anything with ``nodes`` whose items have
      ``name``, ``description`` and ``local_derivative``)

    Returns:
    - parents: dict node name -> list of parent names, parents before children
    - labels: dict node name -> its description, e.g. "mu" -> "mean"
    """
    computed = {node.name: list(node.local_derivative) for node in derivation.nodes}
    inputs = [p for ps in computed.values() for p in ps if p not in computed]
    parents = {name: [] for name in dict.fromkeys(inputs)}
    parents.update(computed)
    labels = {node.name: node.description for node in derivation.nodes}
    return parents, labels


def node_table(derivation, local_derivatives: bool = True) -> str:
    """The nodes of a derivation as a Markdown table: name, what it is, its forward definition
    and its local derivatives, the formulas in LaTeX as ``derivations`` prints them.

    Inputs:
    - derivation: a ``derivations`` Derivation (nodes with ``name``, ``description``, ``latex``
      and ``local_derivative_latex``)
    - local_derivatives: whether to add the column of local derivatives

    Returns:
    - the table, for ``IPython.display.Markdown``
    """

    def cell(latex: str) -> str:
        return "$" + latex.replace("|", r"\vert ") + "$"  # a bar would end the table cell

    header = ["node", "what it is", "forward"] + ["local derivatives"] * local_derivatives
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for node in derivation.nodes:
        row = [f"`{node.name}`", node.description, cell(node.latex)]
        if local_derivatives:
            row.append("<br>".join(cell(d) for d in node.local_derivative_latex.values()))
        rows.append("| " + " | ".join(row) + " |")
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------
# Activation statistics at initialisation (chapter 8)
# --------------------------------------------------------------------------------------------


def layer_statistics(model, X) -> dict[str, np.ndarray]:
    """Standard deviation of every hidden layer's values in one train-mode forward pass.

    Runs the network's own ``forward_layers`` (affine, batch norm when the model has it, ReLU,
    dropout when it has it) and keeps each hidden layer's spread. The model's running statistics
    are left unchanged (batch norm uses each batch's own statistics).

    Inputs:
    - model: a ``FullyConnectedNet``
    - X: a batch of inputs of shape (N, d_1, ..., d_k)

    Returns a dict of arrays of shape (L - 1,), one entry per hidden layer:
    - "affine": std of the affine output ``x @ W + b`` (the batch norm's input)
    - "xhat": std of the normalised input (only for a model with batch norm)
    - "relu": std of the ReLU output, the next layer's input
    """
    # Fresh bn_params: each batch's own statistics, the model's running ones untouched.
    bn_params = [{"mode": "train"} for _ in model.bn_params]
    _, (*layers, _) = model.forward_layers(X, "train", bn_params=bn_params)
    stats = {"affine": [float(layer.affine.std()) for layer in layers]}
    if model.use_batchnorm:
        stats["xhat"] = [float(layer.bn_cache.xhat.std()) for layer in layers]
    stats["relu"] = [float(layer.relu.std()) for layer in layers]
    return {name: np.array(values) for name, values in stats.items()}


# --------------------------------------------------------------------------------------------
# Training runs and sweeps (chapters 7 and 8)
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingRun:
    """The histories of one training run, as a ``Solver`` records them.

    ``loss_history`` has one entry per iteration; the accuracy histories one per epoch (plus the
    one before training).
    """

    loss_history: list[float] = field(default_factory=list)
    train_acc_history: list[float] = field(default_factory=list)
    val_acc_history: list[float] = field(default_factory=list)
    iterations_per_epoch: int = 1
    status: str = "finished"  # or "diverged": the loss stopped being finite

    @property
    def best_val_acc(self) -> float:
        return max(self.val_acc_history)

    @property
    def final_train_acc(self) -> float:
        return self.train_acc_history[-1]

    @property
    def final_train_loss(self) -> float:
        """Mean loss over the last epoch's minibatches (one minibatch's loss is noisy)."""
        return float(np.mean(self.loss_history[-self.iterations_per_epoch :]))


def train_network(
    data: Mapping[str, np.ndarray],
    hidden_dims: Sequence[int],
    weight_scale: float,
    use_batchnorm: bool,
    *,
    num_epochs: int = 10,
    batch_size: int = 50,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> TrainingRun:
    """Train a ``FullyConnectedNet`` with Adam and return its histories.

    A plain module-level function of picklable arguments, so that ``sweep`` can run it in
    another process. It runs numpy's BLAS on one thread: the matrices are small, and two
    trainings side by side on two cores are faster than either one spread over both.

    Inputs:
    - data: dict with X_train, y_train, X_val, y_val (images of shape (N, d_1, ..., d_k))
    - hidden_dims: sizes of the hidden layers
    - weight_scale: std of the initial weights
    - use_batchnorm: whether the network batch-normalises each hidden layer
    - num_epochs, batch_size, learning_rate: the Solver's settings
    - seed: seeds the initial weights and the order of the minibatches

    Returns:
    - a TrainingRun
    """
    from threadpoolctl import threadpool_limits

    from nndl.fc_net import FullyConnectedNet
    from nndl.solver import Solver

    num_classes = int(max(data["y_train"].max(), data["y_val"].max())) + 1
    model = FullyConnectedNet(
        hidden_dims,
        input_dim=data["X_train"][0].size,
        num_classes=num_classes,
        use_batchnorm=use_batchnorm,
        weight_scale=weight_scale,
        seed=seed,
    )
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": learning_rate},
        num_epochs=num_epochs,
        batch_size=batch_size,
        verbose=False,
        seed=seed,
    )
    with threadpool_limits(limits=1, user_api="blas"):
        solver.train()
    return TrainingRun(
        loss_history=[float(v) for v in solver.loss_history],
        train_acc_history=[float(v) for v in solver.train_acc_history],
        val_acc_history=[float(v) for v in solver.val_acc_history],
        iterations_per_epoch=solver.iterations_per_epoch,
        status=solver.status,
    )


def default_executor(max_workers: int = 2) -> Executor:
    """Processes on this machine. The "spawn" start method, because forking a process that runs
    threads (a Jupyter kernel does) can deadlock."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=context)


def sweep(function: Callable, arguments: Iterable[Mapping], executor: Executor | None = None):
    """Call ``function(**kwargs)`` for each kwargs in ``arguments``, in parallel.

    Inputs:
    - function: a picklable (module-level) function
    - arguments: iterable of keyword-argument dicts
    - executor: any ``concurrent.futures.Executor`` (e.g. a cluster's); by default two local
      processes, shut down afterwards. An executor passed in is left running for its owner.

    Returns:
    - the list of results, in the order of ``arguments``
    """
    own = executor is None
    executor = default_executor() if own else executor
    try:
        futures = [executor.submit(function, **kwargs) for kwargs in arguments]
        return [future.result() for future in futures]
    finally:
        if own:
            executor.shutdown()


# --------------------------------------------------------------------------------------------
# Plots (chapters 7 and 8)
# --------------------------------------------------------------------------------------------


def plot_training_curves(runs: Mapping[str, object]):
    """The three training curves of each run: loss per iteration, training and validation
    accuracy per epoch.

    Inputs:
    - runs: maps a label (e.g. "baseline") to anything with ``loss_history``,
      ``train_acc_history`` and ``val_acc_history`` (a TrainingRun or a Solver)

    Returns:
    - the matplotlib Figure, three panels stacked
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 9), layout="tight")
    axes = fig.subplots(3, 1)
    panels = [
        ("loss_history", "Training loss", "iteration", "o"),
        ("train_acc_history", "Training accuracy", "epoch", "-o"),
        ("val_acc_history", "Validation accuracy", "epoch", "-o"),
    ]
    for ax, (attribute, title, xlabel, style) in zip(axes, panels, strict=True):
        for label, run in runs.items():
            ax.plot(getattr(run, attribute), style, markersize=3, label=label)
        ax.set(title=title, xlabel=xlabel)
        ax.legend(loc="lower right" if "acc" in attribute else "upper right")
    return fig


def plot_panels(x, panels, xlabel, xscale="linear", yscale="linear"):
    """Panels stacked one above the other, each with one line per label, all against ``x``.

    Inputs:
    - x: the shared horizontal values, shape (S,) (e.g. weight scales, or layer numbers)
    - panels: maps a panel title (e.g. "Best validation accuracy") to a dict that maps a line's
      label (e.g. "batch norm") to its S values
    - xlabel: the horizontal axis' label
    - xscale: "linear" or "log"
    - yscale: "linear" or "log" for every panel, or a dict from panel titles to scales (a panel
      left out is linear)

    Returns:
    - the matplotlib Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3 * len(panels)), layout="tight")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    yscales = yscale if isinstance(yscale, Mapping) else dict.fromkeys(panels, yscale)
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for label, values in lines.items():
            ax.plot(x, values, "-o", markersize=4, label=label)
        ax.set(title=title, xlabel=xlabel, xscale=xscale, yscale=yscales.get(title, "linear"))
        ax.legend()
    return fig


def rounded(values, decimals: int = 2) -> np.ndarray:
    """``values`` rounded for printing, without negative zeros.

    A chapter prints rounded numbers so that its output does not change with the order of a
    floating-point sum (which differs between machines); a tiny negative mean would still print
    as ``-0.`` on one machine and ``0.`` on another, so zeros lose their sign.
    """
    return np.round(np.asarray(values, dtype=float), decimals) + 0.0


# --------------------------------------------------------------------------------------------
# Re-executing the chapters (for authors)
# --------------------------------------------------------------------------------------------


def execute_chapters(paths: Iterable[Path | str], timeout: int = 600) -> list[tuple[Path, float]]:
    """Execute each notebook top to bottom in a fresh kernel and write it back with its outputs.

    Execution counts run 1..n in every notebook; no timing metadata is written, so that a
    re-execution that changes nothing leaves only the timing cells' outputs changed.

    Inputs:
    - paths: the notebooks, executed in the order given
    - timeout: seconds allowed for one cell

    Returns:
    - list of (path, seconds it took)
    """
    import nbformat
    from nbclient import NotebookClient

    timings = []
    for path in map(Path, paths):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        client.execute()
        timings.append((path, time.perf_counter() - start))
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = merge_streams(cell.outputs)
        nbformat.write(notebook, path)
    return timings


def merge_streams(outputs: list) -> list:
    """Join consecutive outputs of the same stream (stdout or stderr) into one.

    A kernel sends printed text in pieces as it is flushed; where the pieces fall depends on
    timing, so the stored notebook would change from run to run without this.
    """
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def _execute_command(args: argparse.Namespace) -> int:
    paths = args.notebooks or sorted(Path(args.book).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise SystemExit(f"no chapters found in {args.book!r}: run from the repository root")
    total = 0.0
    for path, seconds in execute_chapters(paths, timeout=args.timeout):
        print(f"{seconds:6.1f} s  {path}")
        total += seconds
    print(f"{total:6.1f} s  total")
    return 0


def register_cli(subparsers) -> None:
    """Add ``nndl book execute [NOTEBOOK ...]`` to the ``nndl`` command line."""
    book = subparsers.add_parser("book", help="work on the book's chapters")
    commands = book.add_subparsers(dest="book_command", required=True)
    execute = commands.add_parser(
        "execute",
        help="re-execute chapters in place, in fresh kernels (all of book/ by default)",
    )
    execute.add_argument("notebooks", nargs="*", type=Path, help="chapters to execute")
    execute.add_argument("--book", default="book", help="folder of the chapters (default: book)")
    execute.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    execute.set_defaults(func=_execute_command)
