"""The book's figures: a computation graph drawn from a derivation (chapter 4), training curves
(chapter 7), panels of values against the weight scale, the layer or the epoch (chapters 8-10),
the parts of a block of feature maps that share one mean (chapter 11), percentile bands over
training (chapters 12 and 13) and curves each against its own values (chapter 15).

matplotlib (the ``book`` extra) is imported where it is used.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

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


# Points: with the figure at its natural size (as wide as a phone's text column, see below) the
# labels are as large as the page's own small print.
GRAPH_FONTSIZE = 13
# The smallest text of any figure here, in points (tick labels and legends): at the 6 inches of
# the panels' width it stays legible on a phone (the instructor's browser check measures it).
MIN_FONTSIZE = 12


def plot_computation_graph(parents: Mapping[str, Sequence[str]], labels=None, ax=None):
    """Draw a computation graph top to bottom: one box per node, one arrow per (parent, child)
    edge, each column of ``graph_layout`` a row of the figure.

    Drawn top to bottom, the graph is as wide as the largest number of nodes side by side (3
    for batch norm), not as its longest path (7), so a phone shows it at its natural size.

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
    # Each column of the layout becomes a row of the figure, top to bottom.
    position = {node: (r, -c) for node, (c, r) in layout.items()}
    xs, ys = zip(*position.values(), strict=True)
    if ax is None:
        # Boxes of 12-character lines at GRAPH_FONTSIZE, plus room on the left for the arcs.
        width = 1.6 * (1.5 + max(xs) - min(xs))
        height = 1.05 * (1 + max(ys) - min(ys))
        ax = Figure(figsize=(width, height)).add_axes((0, 0, 1, 1))
    boxes = {}
    for node, (x, y) in position.items():
        text = "\n".join([node, *textwrap.wrap(labels.get(node, ""), 12)])
        style = "round,pad=0.3" if parents[node] else "square,pad=0.3"
        boxes[node] = ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            family="monospace",
            fontsize=GRAPH_FONTSIZE,
            bbox={"boxstyle": style, "facecolor": "white" if parents[node] else "0.9"},
        )
    for node, ps in parents.items():
        for parent in ps:
            # An edge that skips a row runs round the boxes between, on their left, from left
            # side to left side; the others run from the parent's bottom to the child's top.
            skips = layout[node][0] - layout[parent][0] > 1 and layout[node][1] == layout[parent][1]
            ax.annotate(
                "",
                xy=(0, 0.5) if skips else (0.5, 1),
                xycoords=boxes[node],
                xytext=(0, 0.5) if skips else (0.5, 0),
                textcoords=boxes[parent],
                arrowprops={
                    "arrowstyle": "->",
                    "shrinkA": 3,
                    "shrinkB": 3,
                    "connectionstyle": "arc3,rad=0.5" if skips else "arc3",
                },
            )
    ax.set_xlim(min(xs) - 1.0, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
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


# --------------------------------------------------------------------------------------------
# Training curves and panels (chapters 7 and 8)
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

    fig = Figure(figsize=(6, 9), layout="tight")
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
        _legible(ax)
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

    fig = Figure(figsize=(6, 3 * len(panels)), layout="tight")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    yscales = yscale if isinstance(yscale, Mapping) else dict.fromkeys(panels, yscale)
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for label, values in lines.items():
            ax.plot(x, values, "-o", markersize=4, label=label)
        ax.set(title=title, xlabel=xlabel, xscale=xscale, yscale=yscales.get(title, "linear"))
        ax.legend()
        _legible(ax)
    return fig


# --------------------------------------------------------------------------------------------
# Shaded grids (chapter 11)
# --------------------------------------------------------------------------------------------


def plot_shaded_grids(grids, column_labels, row_labels):
    """Grids stacked one above the other, each a table of squares (e.g. images x channels of a
    block of feature maps), the squares marked in it shaded.

    Inputs:
    - grids: maps a grid's title to a boolean array of shape (R, C), True where shaded
    - column_labels: C labels under the columns (e.g. "c=0")
    - row_labels: R labels left of the rows (e.g. "image 0")

    Returns:
    - the matplotlib Figure
    """
    import numpy as np
    from matplotlib.figure import Figure

    rows, columns = len(row_labels), len(column_labels)
    fig = Figure(figsize=(6, 2.6 * len(grids)), layout="tight")
    axes = fig.subplots(len(grids), 1, squeeze=False)[:, 0]
    for ax, (title, shaded) in zip(axes, grids.items(), strict=True):
        shaded = np.asarray(shaded, dtype=bool)
        if shaded.shape != (rows, columns):
            raise ValueError(
                f"plot_shaded_grids: grid {title!r} has shape {shaded.shape}, expected "
                f"({rows}, {columns}) from the row and column labels"
            )
        ax.imshow(shaded, cmap="Blues", vmin=0, vmax=1.4)
        ax.set_xticks(range(columns), column_labels)
        ax.set_yticks(range(rows), row_labels)
        ax.set_xticks(np.arange(-0.5, columns), minor=True)
        ax.set_yticks(np.arange(-0.5, rows), minor=True)
        ax.grid(which="minor", color="black", linewidth=1)
        ax.tick_params(which="minor", length=0)
        ax.set_title(title)
        _legible(ax)
    return fig


def _legible(ax) -> None:
    """Text sizes that stay readable when a phone shows the figure 400 pixels wide."""
    ax.title.set_fontsize(MIN_FONTSIZE + 2)
    ax.xaxis.label.set_fontsize(MIN_FONTSIZE + 1)
    ax.yaxis.label.set_fontsize(MIN_FONTSIZE + 1)
    ax.tick_params(which="both", labelsize=MIN_FONTSIZE)
    legend = ax.get_legend()
    for text in legend.get_texts() if legend else ():
        text.set_fontsize(MIN_FONTSIZE)


# --------------------------------------------------------------------------------------------
# Why it helps (chapters 12-15)
# --------------------------------------------------------------------------------------------


def plot_percentile_bands(steps, accuracy, percentiles, ylabel="input of one unit"):
    """Ioffe & Szegedy's (2015) Figure 1 for any number of networks: the test accuracy of each
    against the training steps, then one panel per network with the 15th, 50th and 85th
    percentiles of one unit's input over the same steps.

    Inputs:
    - steps: the training steps of the records, shape (T,)
    - accuracy: maps a network's label to its T test accuracies
    - percentiles: maps a network's label to an array (T, 3): the 15th, 50th and 85th
      percentiles at each record
    - ylabel: the percentile panels' vertical label

    Returns:
    - the matplotlib Figure, 1 + len(percentiles) panels stacked, the percentile panels on one
      vertical scale
    """
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3 * (1 + len(percentiles))), layout="tight")
    axes = fig.subplots(1 + len(percentiles), 1, squeeze=False)[:, 0]
    for label, values in accuracy.items():
        axes[0].plot(steps, values, "-", label=label)
    axes[0].set(title="Test accuracy", xlabel="training step")
    axes[0].legend(loc="lower right")
    _legible(axes[0])
    for ax, (label, values) in zip(axes[1:], percentiles.items(), strict=True):
        values = np.asarray(values)
        ax.fill_between(steps, values[:, 0], values[:, 2], alpha=0.3, label="15th to 85th")
        ax.plot(steps, values[:, 1], "-", label="median")
        ax.set(title=label, xlabel="training step", ylabel=ylabel)
        ax.legend(loc="best")
        _legible(ax)
    # One vertical scale for the percentile panels, so that their spreads compare at a glance.
    low = min(ax.get_ylim()[0] for ax in axes[1:])
    high = max(ax.get_ylim()[1] for ax in axes[1:])
    for ax in axes[1:]:
        ax.set_ylim(low, high)
    return fig


def plot_curves(curves, xlabel, ylabel, title, xscale="linear", yscale="linear"):
    """One panel with one line per label, each against its own horizontal values (runs of
    different lengths, or a quantity plotted against another).

    Inputs:
    - curves: maps a line's label (e.g. "batch norm") to a pair (x, y) of equal lengths
    - xlabel, ylabel, title: the axes' labels and the panel's title
    - xscale, yscale: "linear" or "log"

    Returns:
    - the matplotlib Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    for label, (x, y) in curves.items():
        ax.plot(x, y, "-o", markersize=4, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xscale=xscale, yscale=yscale)
    ax.legend()
    _legible(ax)
    return fig
