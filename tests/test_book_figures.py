"""nndl.book.figures and nndl.book.tables: what the chapters draw and print."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nndl.book.figures import (
    MIN_FONTSIZE,
    derivation_graph,
    graph_layout,
    plot_computation_graph,
    plot_curves,
    plot_panels,
    plot_percentile_bands,
    plot_shaded_grids,
    plot_training_curves,
)
from nndl.book.tables import (
    formula_lines,
    node_table,
    plain_exponent,
    rounded,
    significant,
    staged_table,
)
from nndl.experiments import TrainingRun

# The batch-norm graph, as derivation_graph makes it from derivations.batchnorm_train().
BATCHNORM_GRAPH = {
    "x": [],
    "beta": [],
    "gamma": [],
    "mu": ["x"],
    "xc": ["mu", "x"],
    "var": ["xc"],
    "inv_std": ["var"],
    "xhat": ["inv_std", "xc"],
    "out": ["beta", "gamma", "xhat"],
}


# --------------------------------------------------------------------------------------------
# The computation graph
# --------------------------------------------------------------------------------------------


def test_graph_layout_puts_each_node_right_of_its_parents_and_inputs_next_to_their_use():
    layout = graph_layout(BATCHNORM_GRAPH)
    columns = {node: column for node, (column, _) in layout.items()}
    chain = ("x", "mu", "xc", "var", "inv_std", "xhat", "out")
    assert [columns[n] for n in chain] == list(range(7))
    assert columns["gamma"] == columns["beta"] == 5, "inputs sit just before their consumer"
    assert all(row == 0 for node, (_, row) in layout.items() if BATCHNORM_GRAPH[node]), (
        "the computed nodes should run along the top row"
    )
    assert len(set(layout.values())) == len(layout), "two nodes share a place"


def test_graph_layout_rejects_an_edge_from_an_unknown_node():
    with pytest.raises(ValueError, match="not in the graph"):
        graph_layout({"x": [], "y": ["x", "z"]})


def test_graph_layout_rejects_a_child_listed_before_its_parent():
    with pytest.raises(ValueError, match="before one of its parents"):
        graph_layout({"x": [], "b": ["a"], "a": ["x"]})


def test_plot_computation_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    fig = plot_computation_graph(BATCHNORM_GRAPH, {"mu": "mean", "xc": "centred input"})
    ax = fig.axes[0]
    boxes = [t.get_text() for t in ax.texts if t.get_text()]
    assert sorted(b.split("\n")[0] for b in boxes) == sorted(BATCHNORM_GRAPH)
    assert "xc\ncentred\ninput" in boxes, "a label belongs under its node's name, wrapped"
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == sum(map(len, BATCHNORM_GRAPH.values()))


def _fake_derivation():
    node = SimpleNamespace
    return SimpleNamespace(
        nodes=(
            node(
                name="mu",
                description="mean",
                local_derivative={"x": None},
                latex=r"\mu = \bar{x}",
                local_derivative_latex={"x": r"\frac{\partial \mu}{\partial x_k} = |N|^{-1}"},
            ),
            node(
                name="out",
                description="output",
                local_derivative={"mu": None, "gamma": None},
                latex=r"y = \gamma \mu",
                local_derivative_latex={"mu": r"\gamma", "gamma": r"\mu"},
            ),
        )
    )


def test_derivation_graph_lists_inputs_first_and_the_nodes_parents_from_local_derivatives():
    parents, labels = derivation_graph(_fake_derivation())
    assert parents == {"x": [], "gamma": [], "mu": ["x"], "out": ["mu", "gamma"]}
    assert labels == {"mu": "mean", "out": "output"}


def test_derivation_graph_of_batch_norm_has_every_path_of_the_forward_pass():
    from derivations import batchnorm_train

    parents, labels = derivation_graph(batchnorm_train())
    assert {k: sorted(v) for k, v in parents.items()} == {
        k: sorted(v) for k, v in BATCHNORM_GRAPH.items()
    }
    assert labels["xhat"] == "normalised input"


def test_node_table_has_a_row_per_node_with_its_formulas_and_no_bar_that_splits_a_cell():
    table = node_table(_fake_derivation()).splitlines()
    assert len(table) == 2 + 2
    mu_row = table[2]
    assert mu_row.startswith("| `mu` | mean | $\\mu = \\bar{x}$ |")
    assert mu_row.count("|") == 5, "a bar inside a formula must not end the table cell"
    assert "$\\gamma$<br>$\\mu$" in table[3], "one line per local derivative"


def test_node_table_without_local_derivatives_has_three_columns():
    table = node_table(_fake_derivation(), local_derivatives=False).splitlines()
    assert table[0] == "| node | what it is | forward |"
    assert all(row.count("|") == 4 for row in table)
    assert "partial" not in "".join(table)


# --------------------------------------------------------------------------------------------
# Training curves, panels and printed numbers
# --------------------------------------------------------------------------------------------


def test_plot_training_curves_shows_loss_and_both_accuracies_for_every_run():
    run = TrainingRun([2.0, 1.0], [0.1, 0.5], [0.1, 0.4])
    fig = plot_training_curves({"baseline": run, "batch norm": run})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Training loss", "Training accuracy", "Validation accuracy"]
    for ax in fig.axes:
        assert [line.get_label() for line in ax.lines] == ["baseline", "batch norm"]
    np.testing.assert_array_equal(fig.axes[2].lines[0].get_ydata(), [0.1, 0.4])


def test_plot_panels_draws_each_panel_against_x_with_its_own_scale():
    fig = plot_panels(
        [1e-3, 1e-2, 1e-1],
        {"accuracy": {"a": [0.1, 0.5, 0.9]}, "loss": {"a": [2, 1, 1e-3], "b": [2, 2, 2]}},
        xlabel="scale",
        xscale="log",
        yscale={"loss": "log"},
    )
    accuracy, loss = fig.axes
    assert accuracy.get_yscale() == "linear" and loss.get_yscale() == "log"
    assert accuracy.get_xscale() == loss.get_xscale() == "log"
    assert len(loss.lines) == 2 and loss.get_xlabel() == "scale"


def test_plot_percentile_bands_draws_the_accuracies_then_one_band_per_network():
    steps = np.array([0, 100, 200])
    bands = {"baseline": [[-1, 0, 1], [-2, 0, 2], [-3, 1, 3]], "batch norm": np.zeros((3, 3))}
    fig = plot_percentile_bands(
        steps, {"baseline": [0.1, 0.5, 0.9], "batch norm": [0.2] * 3}, bands
    )
    accuracy, baseline, batchnorm = fig.axes
    assert [line.get_label() for line in accuracy.lines] == ["baseline", "batch norm"]
    assert baseline.get_title() == "baseline" and batchnorm.get_title() == "batch norm"
    np.testing.assert_array_equal(baseline.lines[0].get_ydata(), [0, 0, 1])  # the medians
    assert len(baseline.collections) == 1  # the 15-85 band
    assert baseline.get_ylim() == batchnorm.get_ylim()  # one scale for the bands


def test_rounded_numbers_print_the_same_whatever_the_sign_of_a_tiny_value():
    assert str(rounded([-1e-17, 1e-17, -0.004])) == str(rounded([1e-17, -1e-17, 0.004]))
    assert str(rounded([-0.004])) == "[0.]"
    assert rounded(1.23456, 3) == 1.235


def test_rounded_rounds_as_a_format_spec_does_so_print_and_prose_agree():
    # 0.975 is stored as 0.97499...: format gives 0.97, np.round (which scales first) 0.98.
    values = [0.975, 0.125, 2.675, -0.015, 97.5 / 100]
    assert list(rounded(values)) == [float(f"{v:.2f}") for v in values]
    assert rounded(0.975) == 0.97 and np.round(0.975, 2) == 0.98


def all_text(fig):
    """Every piece of text a figure draws (titles, labels, ticks, legends, annotations)."""
    from matplotlib.text import Text

    fig.canvas.draw()  # places the tick labels
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plot_training_curves({"a": TrainingRun([2.0, 1.0], [0.1, 0.5], [0.1, 0.4])}),
        lambda: plot_panels(
            [1e-4, 1e-2, 1.0], {"p": {"a": [1e-9, 1e-3, 1e5]}}, "scale", "log", "log"
        ),
        lambda: plot_panels([1, 2, 3], {"p": {"a": [0.12345, 0.5, 0.9]}}, "layer"),
        lambda: plot_computation_graph(BATCHNORM_GRAPH, {"xhat": "normalised input"}),
        lambda: plot_shaded_grids({"one\ntwo": np.eye(2, 3)}, ["a", "b", "c"], ["row", "row"]),
        lambda: plot_percentile_bands([0, 1], {"a": [0.1, 0.2]}, {"a": [[-1, 0, 1], [-2, 0, 2]]}),
        lambda: plot_curves({"a": ([1, 2], [0.5, 0.25])}, "x", "y", "title"),
    ],
    ids=[
        "training curves",
        "log panels",
        "linear panels",
        "graph",
        "shaded grids",
        "percentile bands",
        "curves",
    ],
)
def test_no_text_of_a_figure_is_smaller_than_the_smallest_legible_size(draw):
    texts = all_text(draw())
    assert texts, "the figure draws no text"
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < MIN_FONTSIZE]
    assert not small, f"text below {MIN_FONTSIZE} points: {small}"


def test_staged_table_lists_each_gradient_by_its_code_name_in_the_derivations_order():
    import sympy as sp

    from derivations import batchnorm_train, latex_name

    derivation = batchnorm_train()
    lines = staged_table(derivation).splitlines()
    assert lines[0] == "| gradient | staged, from the output back |"
    names = [line.split("`")[1] for line in lines[2:]]
    assert names == [n for n, e in derivation.staged.items() if e != derivation.upstream]
    for name, line in zip(names, lines[2:], strict=True):
        assert line.count("|") == 3, "a bar inside a formula must not end the table cell"
        assert latex_name(name) in line.split("=")[0], f"{name}: its symbol leads the formula"
    upstream_only = SimpleNamespace(
        staged={"dout": sp.Symbol("dout"), "dx": 2 * sp.Symbol("dout")},
        upstream=sp.Symbol("dout"),
        gradient=lambda name: sp.Symbol(name),
    )
    assert [line.split("`")[1] for line in staged_table(upstream_only).splitlines()[2:]] == ["dx"]


def test_number_writes_a_setting_as_a_sentence_does():
    from nndl.book.tables import number

    assert [number(v) for v in (1e-5, 1e-4, 1e-3, 2e-2, 0.25, 1.0, 3.14, 2.5e-7)] == [
        "1e-5", "1e-4", "1e-3", "0.02", "0.25", "1", "3.14", "2.5e-7"
    ]  # fmt: skip
    assert number(1000) == "1,000" and number(np.int64(7)) == "7"
    assert number(1e20) == "1e20"
    with pytest.raises(TypeError, match="value must be an int or a float"):
        number(True)


def test_settings_are_the_arguments_over_the_functions_defaults():
    from nndl.book.tables import settings

    def train(data, hidden_dims, *, num_epochs=10, learning_rate=1e-3):
        pass

    assert settings(train, {"hidden_dims": [5], "num_epochs": 2}) == {
        "hidden_dims": [5], "num_epochs": 2, "learning_rate": 1e-3
    }  # fmt: skip


def test_listing_joins_settings_with_commas_and_a_conjunction():
    from nndl.book.tables import listing

    assert listing((5, 10, 50)) == "5, 10 and 50"
    assert listing((5, 1000), "or") == "5 or 1,000"
    assert listing([0.5]) == "0.5"


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (0.5712, 2, "0.57"),
        (9.61, 1, "10"),
        (5.2e-3, 1, "5e-3"),
        (9.1e5, 1, "9e5"),
        (0.1438, 2, "0.14"),
        (2.0, 3, "2"),
        (-3.3e-5, 1, "-3e-5"),
        (float("nan"), 2, "nan"),
    ],
)
def test_significant_writes_a_computed_number_as_a_setting_is_written(value, digits, text):
    assert significant(value, digits) == text


def test_significant_refuses_fewer_than_one_digit():
    with pytest.raises(ValueError, match="digits must be >= 1"):
        significant(1.0, 0)


def test_plain_exponent_drops_plus_signs_and_padding_only():
    assert plain_exponent("3e-05 2.0e+05 1e+00 1e-10") == "3e-5 2.0e5 1e0 1e-10"
    assert plain_exponent("W1 b2 0.97 e-05") == "W1 b2 0.97 e-05"


def test_plot_shaded_grids_shades_the_marked_squares_of_each_grid():
    marked = np.zeros((4, 6), dtype=bool)
    marked[:, 2] = True
    fig = plot_shaded_grids({"a": marked, "b": ~marked}, [f"c={c}" for c in range(6)], list("wxyz"))
    images = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert np.array_equal(images[0], marked) and np.array_equal(images[1], ~marked)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [f"c={c}" for c in range(6)]


def test_plot_shaded_grids_names_a_grid_whose_shape_the_labels_do_not_give():
    with pytest.raises(ValueError, match="grid 'a' has shape \\(2, 2\\), expected \\(2, 3\\)"):
        plot_shaded_grids({"a": np.eye(2)}, ["p", "q", "r"], ["s", "t"])


def test_formula_lines_puts_each_term_of_the_sum_on_a_line_and_keeps_the_formula():
    import sympy as sp

    from derivations import latex, spatial_batchnorm

    derivation = spatial_batchnorm()
    text = formula_lines(derivation, "dx")
    lines = text.splitlines()
    assert lines[0] == "\\begin{aligned}" and lines[-1] == "\\end{aligned}"
    body = lines[1:-1]
    closed = derivation.closed_forms["dx"]
    (sum_,) = [f for f in sp.Mul.make_args(closed) if isinstance(f, sp.Add)]
    assert len(body) == len(sum_.args) == 3
    assert body[0].startswith(derivation.latex["dx"].split(" = ")[0] + " &= ")
    for line, term in zip(body, sum_.as_ordered_terms(), strict=True):  # a term per line
        assert latex(term) in line, (line, latex(term))


def test_formula_lines_leaves_a_gradient_without_a_factored_sum_on_one_line():
    from derivations import batchnorm_train

    derivation = batchnorm_train()
    assert formula_lines(derivation, "dgamma") == derivation.latex["dgamma"]


def test_plot_curves_draws_each_line_against_its_own_x():
    fig = plot_curves(
        {"a": ([1.0, 0.1], [0.2, 0.1]), "b": ([1.0, 0.5, 0.05], [0.3, 0.2, 0.1])},
        xlabel="loss",
        ylabel="gap",
        title="gap",
        xscale="log",
    )
    (ax,) = fig.axes
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 3]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "gap"
