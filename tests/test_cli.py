"""The nndl command: every subcommand is registered, and the demo runs end to end."""

import pytest

from nndl.cli import build_parser, main


def test_every_subcommand_is_registered():
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert set(subcommands) == {"data", "lab", "book", "demo"}


def test_demo_trains_both_networks_and_prints_their_accuracies(capsys):
    assert main(["demo", "--dataset", "digits", "--num-train", "100", "--epochs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["train", "acc", "best", "val", "acc"]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[1:]}
    assert set(rows) == {"batchnorm", "baseline"}
    assert all(0 <= acc <= 1 for accs in rows.values() for acc in accs)


def test_an_unknown_subcommand_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
