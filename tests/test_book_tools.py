"""nndl.book_tools: the helpers behind the book's chapters."""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from nndl import book_tools
from nndl.book_tools import (
    TrainingRun,
    derivation_graph,
    graph_layout,
    layer_statistics,
    merge_streams,
    node_table,
    plot_computation_graph,
    plot_panels,
    plot_training_curves,
    rounded,
    sweep,
    train_network,
)
from nndl.fc_net import FullyConnectedNet

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
# Activation statistics
# --------------------------------------------------------------------------------------------


def _network(use_batchnorm, weight_scale=1e-2):
    return FullyConnectedNet(
        [6, 5],
        input_dim=4,
        num_classes=3,
        use_batchnorm=use_batchnorm,
        weight_scale=weight_scale,
        dtype=np.float64,
        seed=0,
    )


def test_layer_statistics_without_batchnorm_are_the_stds_of_each_layers_values():
    model = _network(use_batchnorm=False)
    X = np.random.default_rng(0).standard_normal((20, 2, 2))
    a1 = X.reshape(20, 4) @ model.params["W1"] + model.params["b1"]
    h1 = np.maximum(a1, 0)
    a2 = h1 @ model.params["W2"] + model.params["b2"]
    stats = layer_statistics(model, X)
    assert set(stats) == {"affine", "relu"}
    np.testing.assert_allclose(stats["affine"], [a1.std(), a2.std()], rtol=1e-12)
    np.testing.assert_allclose(stats["relu"], [h1.std(), np.maximum(a2, 0).std()], rtol=1e-12)


def test_layer_statistics_with_batchnorm_normalise_whatever_the_weight_scale():
    X = np.random.default_rng(0).standard_normal((50, 4))
    small, large = (layer_statistics(_network(True, s), X) for s in (1e-1, 1e1))
    np.testing.assert_allclose(small["xhat"], 1, atol=1e-3)
    np.testing.assert_allclose(small["xhat"], large["xhat"], atol=1e-3)
    assert large["affine"][0] > 50 * small["affine"][0], "the affine output does scale"


def test_layer_statistics_leave_the_model_unchanged():
    model = _network(use_batchnorm=True)
    params = {k: v.copy() for k, v in model.params.items()}
    layer_statistics(model, np.ones((3, 4)) + np.arange(3)[:, None])
    assert all(np.array_equal(params[k], model.params[k]) for k in params)
    assert all("running_mean" not in p for p in model.bn_params), "running averages moved"


# --------------------------------------------------------------------------------------------
# Training runs and sweeps
# --------------------------------------------------------------------------------------------


def test_training_run_summaries():
    run = TrainingRun(
        loss_history=[3.0, 2.0, 1.0, 0.5],
        train_acc_history=[0.1, 0.6, 0.9],
        val_acc_history=[0.1, 0.7, 0.6],
        iterations_per_epoch=2,
    )
    assert run.best_val_acc == 0.7
    assert run.final_train_acc == 0.9
    assert run.final_train_loss == 0.75, "the mean over the last epoch's minibatches"


def _tiny_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 1, 2, 2)).astype(np.float32)
    y = (X.reshape(60, 4).sum(axis=1) > 0).astype(np.int64)
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def test_train_network_records_a_reproducible_run():
    kwargs = dict(hidden_dims=[8], weight_scale=1e-1, num_epochs=3, batch_size=10, seed=0)
    first = train_network(_tiny_data(), use_batchnorm=True, **kwargs)
    second = train_network(_tiny_data(), use_batchnorm=True, **kwargs)
    assert first == second, "the same seed should give the same run"
    assert len(first.loss_history) == 3 * 4
    assert len(first.train_acc_history) == len(first.val_acc_history) == 1 + 3
    assert first.iterations_per_epoch == 4 and first.status == "finished"
    assert first.final_train_acc > 0.6, "a separable toy problem should be learnt"


def test_train_network_uses_the_number_of_classes_in_the_labels():
    data = _tiny_data()
    data["y_train"][0] = 4  # five classes
    run = train_network(data, [4], 1e-1, False, num_epochs=1, batch_size=20)
    assert run.status == "finished" and len(run.loss_history) == 2


def _record_thread(value):
    return value, threading.get_ident()


def test_sweep_keeps_the_order_and_leaves_a_given_executor_running():
    with ThreadPoolExecutor(max_workers=3) as executor:
        results = sweep(_record_thread, [{"value": v} for v in range(6)], executor=executor)
        assert [value for value, _ in results] == list(range(6))
        assert executor.submit(int, "7").result() == 7, "sweep shut down the caller's executor"


def test_sweep_runs_in_two_processes_by_default(monkeypatch):
    created = []
    original = book_tools.default_executor

    def spy():
        created.append(original())
        return created[-1]

    monkeypatch.setattr(book_tools, "default_executor", spy)
    assert sweep(dict, [{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]
    assert created[0]._max_workers == 2
    with pytest.raises(RuntimeError):
        created[0].submit(int, "1")  # shut down once the sweep is done


# --------------------------------------------------------------------------------------------
# Plots and printing
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


def test_rounded_numbers_print_the_same_whatever_the_sign_of_a_tiny_value():
    assert str(rounded([-1e-17, 1e-17, -0.004])) == str(rounded([1e-17, -1e-17, 0.004]))
    assert str(rounded([-0.004])) == "[0.]"
    assert rounded(1.23456, 3) == 1.235


def test_merge_streams_joins_consecutive_pieces_of_one_stream_only():
    def stream(name, text):
        return {"output_type": "stream", "name": name, "text": text}

    figure = {"output_type": "display_data", "data": {}}
    outputs = [stream("stdout", "a"), stream("stdout", "b"), stream("stderr", "c"), figure]
    outputs += [stream("stdout", "d")]
    merged = merge_streams(outputs)
    assert merged == [stream("stdout", "ab"), stream("stderr", "c"), figure, stream("stdout", "d")]


# --------------------------------------------------------------------------------------------
# Re-executing chapters
# --------------------------------------------------------------------------------------------


def test_execute_chapters_runs_a_notebook_in_place_with_counts_from_one(tmp_path):
    import nbformat

    cells = [nbformat.v4.new_code_cell(src) for src in ("x = 6 * 7", "print(x); print(x + 1)")]
    cells[0].execution_count = 12
    path = tmp_path / "01_test.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)

    [(done, seconds)] = book_tools.execute_chapters([path], timeout=60)

    notebook = nbformat.read(path, as_version=4)
    assert done == path and seconds > 0
    assert [c.execution_count for c in notebook.cells] == [1, 2]
    assert notebook.cells[1].outputs == [
        {"output_type": "stream", "name": "stdout", "text": "42\n43\n"}
    ]
    assert "execution" not in notebook.cells[1].metadata, "no timing metadata in a chapter"


def test_book_execute_command_says_where_it_looked_when_there_are_no_chapters(tmp_path):
    parser = argparse.ArgumentParser()
    book_tools.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["book", "execute", "--book", str(tmp_path)])
    with pytest.raises(SystemExit, match="no chapters found in"):
        args.func(args)
