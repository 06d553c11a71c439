"""nndl.book.values and its nbval plugin: an experiment's value is formatted once for every output
and the prose, and nbval accepts it when it moved within its stated tolerance, and only then."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from nndl.book import values
from nndl.book.values import Measured, difference, glue, measured, printed, reconcile, untag


@pytest.fixture
def shown(monkeypatch):
    """The outputs printed() and glue() display, as (data, metadata) pairs."""
    outputs = []
    monkeypatch.setattr(values, "_display", lambda data, metadata: outputs.append((data, metadata)))
    return outputs


def test_a_measured_value_is_formatted_once_with_its_own_spec():
    accuracy = measured(np.float64(0.976), ".2f", tolerance=0.02)
    assert accuracy == Measured(0.976, ".2f", 0.02, None)
    assert f"{accuracy}" == str(accuracy) == accuracy.text == format(0.976, ".2f")
    with pytest.raises(ValueError, match=r"formatted once.*'\.2f'.*'\.3f'"):
        f"{accuracy:.3f}"
    assert [f"{accuracy:>6}", f"{accuracy:<6}", f"{accuracy:^7}", f"{accuracy:2}"] == [
        "  0.98",
        "0.98  ",
        " 0.98  ",
        "0.98",
    ]


def test_an_aligned_value_is_recorded_without_its_padding(shown):
    with printed():
        print(f"|{measured(0.5, '.1f', tolerance=0.1):>5}|")
    [(data, metadata)] = shown
    assert data["text/plain"] == "|  0.5|\n" and metadata["nndl"]["template"] == "|  {}|\n"


@pytest.mark.parametrize(
    "value, options, message",
    [
        ("0.97", {}, "value must be a real number"),
        (True, {}, "value must be a real number"),
        (0.97, {"tolerance": -0.01}, "tolerance must be >= 0"),
        (0.97, {"tolerance": float("nan")}, "tolerance must be >= 0"),
        (0.97, {"factor": 1.0}, "factor must be > 1"),
    ],
)
def test_measured_refuses_what_it_cannot_compare(value, options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        measured(value, ".2f", **options)


def test_a_measured_exponent_is_written_as_number_writes_one_and_zero_as_0():
    assert measured(3.2e-5, ".0e").text == "3e-5"
    assert measured(2.0e5, ".1e").text == "2.0e5"
    assert measured(0.0, ".0e").text == measured(-0.0, ".2f").text == "0"


def test_measured_refuses_a_spec_that_formats_no_number():
    with pytest.raises(ValueError, match=r"spec '\.2s' does not format a number"):
        measured(0.5, ".2s")


def test_printed_shows_the_block_as_one_output_with_the_values_it_printed(shown, capsys):
    a, b = measured(0.9712, ".2f", tolerance=0.02), measured(3e-5, ".0e", factor=10)
    with printed():
        print(f"accuracy {a}, {{braces}} kept")
        print(f"error {b} and again {a}")
    assert capsys.readouterr().out == ""
    [(data, metadata)] = shown
    assert data == {"text/plain": "accuracy 0.97, {braces} kept\nerror 3e-5 and again 0.97\n"}
    record = metadata["nndl"]
    assert record["template"] == "accuracy {}, {{braces}} kept\nerror {} and again {}\n"
    assert record["template"].format("0.97", "3e-5", "0.97") == data["text/plain"]
    assert [v["shown"] for v in record["values"]] == ["0.97", "3e-5", "0.97"]
    assert record["values"][1] == {"value": 3e-5, "shown": "3e-5", "tolerance": 0.0, "factor": 10}
    json.dumps(metadata, allow_nan=False)  # nbformat stores it as JSON


def test_printed_passes_an_error_on_with_what_was_printed_before_it(shown, capsys):
    with pytest.raises(KeyError), printed():
        print(f"so far {measured(1.5, '.1f')}")
        raise KeyError("a cell's error")
    assert capsys.readouterr().out == "so far 1.5\n" and not shown
    with printed():  # the failed block left no capture behind
        pass
    assert not shown, "an empty block shows nothing"


def test_printed_blocks_do_not_nest(shown):
    with pytest.raises(RuntimeError, match="do not nest"), printed(), printed():
        pass


def test_a_glued_measured_value_is_its_text_with_its_record(shown):
    glue("final", measured(float("nan"), ".2f", tolerance=0.1))
    [(data, metadata)] = shown
    assert data == {"application/papermill.record/text/plain": "'nan'"}
    assert metadata["scrapbook"] == {
        "name": "final",
        "mime_prefix": "application/papermill.record/",
    }
    assert metadata["nndl"]["values"] == [
        {"value": "nan", "shown": "nan", "tolerance": 0.1, "factor": None}
    ]
    json.dumps(metadata, allow_nan=False)


def test_untag_without_values_is_the_text_itself():
    assert untag("no values {here}\n", []) == ("no values {here}\n", "no values {{here}}\n", [])


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------


def record(value, tolerance=0.0, factor=None, spec=".2f"):
    return measured(value, spec, tolerance=tolerance, factor=factor).record()


@pytest.mark.parametrize(
    "reference, computed, accepted",
    [
        (record(0.976, 0.02), record(0.96, 0.02), True),  # 0.98 and 0.96: within 0.02
        (record(0.976, 0.02), record(0.95, 0.02), False),
        (record(0.976, 0.02), record(0.96, 0.03), False),  # another stated tolerance
        (record(0.9712), record(0.9741), True),  # exact: the same text
        (record(0.9712), record(0.9761), False),
        (record(3e-5, factor=10, spec=".0e"), record(1e-4, factor=10, spec=".0e"), True),
        (record(3e-5, factor=10, spec=".0e"), record(4e-4, factor=10, spec=".0e"), False),
        (record(3e-5, factor=10, spec=".0e"), record(-3e-5, factor=10, spec=".0e"), False),
        (record(float("nan"), 0.1), record(0.5, 0.1), False),
        (record(float("inf"), 0.1), record(float("inf"), 0.1), True),
    ],
)
def test_a_value_passes_exactly_when_it_is_within_the_references_tolerance(
    reference, computed, accepted
):
    assert (difference(reference, computed) is None) == accepted


def output(text, *measured_values):
    """A display output as printed() makes it."""
    template = text
    for value in measured_values:
        text = text.replace("{}", value.text, 1)
    return nbformat.from_dict(
        {
            "output_type": "display_data",
            "data": {"text/plain": text},
            "metadata": {
                "nndl": {"template": template, "values": [v.record() for v in measured_values]}
            },
        }
    )


def test_reconcile_gives_a_tolerated_output_the_references_text_and_leaves_the_rest():
    stream = nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "epoch 3\n"})
    reference = [stream, output("accuracy {}", measured(0.976, ".2f", tolerance=0.02))]
    computed = [
        copy.deepcopy(stream),
        output("accuracy {}", measured(0.964, ".2f", tolerance=0.02)),
    ]
    assert reconcile(computed, reference) == []
    assert computed[1]["data"] == {"text/plain": "accuracy 0.98"}
    assert computed[1]["metadata"]["nndl"]["values"][0]["value"] == 0.964, "its record stays"

    too_far = [stream, output("accuracy {}", measured(0.9, ".2f", tolerance=0.02))]
    [note] = reconcile(too_far, reference)
    assert "value 0 (0.90 vs 0.98)" in note and too_far[1]["data"]["text/plain"] == "accuracy 0.90"

    reworded = [stream, output("accuracy now {}", measured(0.976, ".2f", tolerance=0.02))]
    assert "text around the measured values changed" in reconcile(reworded, reference)[0]
    assert "1 outputs with measured values, the reference has 0" in reconcile(
        [reference[1]], [stream]
    )


# --------------------------------------------------------------------------------------------
# nbval with the plugin, on a notebook
# --------------------------------------------------------------------------------------------

CELL = """\
from nndl.book.values import measured, printed
with printed():
    print(f"accuracy {measured(0.964, '.2f', tolerance=TOLERANCE)} after 3 epochs")
print("and 10 epochs")
"""


def chapter(path, tolerance: float, committed_text: str, committed_value: float) -> str:
    """A one-cell notebook whose committed output is another machine's; returns its name."""
    source = CELL.replace("TOLERANCE", repr(tolerance))
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    committed = measured(committed_value, ".2f", tolerance=tolerance)
    cell.outputs = [
        output(f"accuracy {{}} {committed_text}\n", committed),
        nbformat.v4.new_output("stream", name="stdout", text="and 10 epochs\n"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path.name


@pytest.mark.slow
def test_nbval_passes_a_value_within_its_tolerance_and_fails_one_beyond_it(tmp_path):
    within = chapter(tmp_path / "within.ipynb", 0.02, "after 3 epochs", 0.976)
    beyond = chapter(tmp_path / "beyond.ipynb", 0.005, "after 3 epochs", 0.976)
    reworded = chapter(tmp_path / "reworded.ipynb", 0.02, "after 4 epochs", 0.976)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-rA"]
    command += ["--nbval", "--nbval-current-env", "-p", "nndl.book.nbval_plugin"]
    result = subprocess.run(
        [*command, within, beyond, reworded],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout
    assert f"PASSED {within}::Cell 0" in report, report
    assert f"FAILED {beyond}::Cell 0" in report and f"FAILED {reworded}::Cell 0" in report
    failures = report.split(f"_ {beyond}::Cell 0 _")[1].split(f"_ {reworded}::Cell 0 _")
    assert "measured values beyond their tolerance" in failures[0] and "0.96 vs 0.98" in failures[0]
    assert "text around the measured values changed" in failures[1]
