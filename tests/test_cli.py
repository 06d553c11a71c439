"""The nndl command: every subcommand is registered, the demo runs end to end, and a mistake on
the command line is one line on stderr with exit status 2 (usage) or 1 (failure), never a
traceback unless --debug or NNDL_DEBUG=1 asks for one."""

import os
import subprocess
import sys

import pytest

from nndl import cli
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


# What a user can mistype ---------------------------------------------------------------------

USAGE = {  # argparse's: its usage line, then one line naming the argument
    "unknown dataset": (["demo", "--dataset", "bogus"], "argument --dataset: invalid choice"),
    "no training images": (["demo", "--num-train", "0"], "--num-train: expected a whole number"),
    "no epochs": (["demo", "--epochs", "0"], "argument --epochs: expected a whole number >= 1"),
    "a number in words": (["demo", "--epochs", "ten"], "expected a whole number >= 1, got 'ten'"),
}


@pytest.mark.parametrize("argv, message", USAGE.values(), ids=USAGE.keys())
def test_a_mistyped_argument_is_a_usage_error_naming_it(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and message in err and "Traceback" not in err


def _one_line(capsys, argv, status, message, env=None, monkeypatch=None):
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    assert main(argv) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1, f"not one line: {err!r}"
    assert message in err, err
    return err


def test_an_unknown_dataset_in_the_environment_is_a_usage_error(capsys, monkeypatch):
    _one_line(capsys, ["demo"], 2, "nndl demo: unknown dataset 'bogus' (from the NNDL_DATASET "
              "environment variable)", {"NNDL_DATASET": "bogus"}, monkeypatch)  # fmt: skip


def test_cifar10_without_its_data_says_how_to_fetch_it(capsys, monkeypatch, tmp_path):
    env = {"NNDL_DATASET": "cifar10", "NNDL_DATA": str(tmp_path)}
    _one_line(capsys, ["demo"], 1, "nndl demo: no CIFAR-10 folder at", env, monkeypatch)


def test_executing_a_missing_notebook_is_a_usage_error(capsys, tmp_path):
    missing = tmp_path / "01_missing.ipynb"
    _one_line(capsys, ["book", "execute", str(missing)], 2, f"no such notebook: {missing}")


def test_a_file_where_a_folder_should_be_is_one_line_naming_it(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    root = tmp_path / "file"
    _one_line(capsys, ["data", "fetch", "cifar10", "--root", str(root)], 1,
              f"nndl data fetch: cannot fetch CIFAR-10 into {root}: it is a file, where a "
              "folder should be")  # fmt: skip


def test_an_oserror_from_any_subcommand_is_one_line_with_its_path(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    # nndl.lab writes the copy itself; main() turns its OSError into the line.
    _one_line(capsys, ["lab", "student", str(tmp_path / "file" / "copy")], 1,
              f"nndl lab student: {tmp_path / 'file' / 'copy'}")  # fmt: skip


def test_an_unexpected_error_says_so_and_how_to_see_the_traceback(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr("nndl.demo.run_demo", broken)
    expected = (
        "nndl demo: IndexError: list index out of range (unexpected: run again with --debug or "
        "NNDL_DEBUG=1 for the traceback, and report it)"
    )
    _one_line(capsys, ["demo"], 1, expected)


@pytest.mark.parametrize("how", ["--debug first", "--debug last", "NNDL_DEBUG=1"])
def test_debug_shows_the_traceback(monkeypatch, how):
    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr("nndl.demo.run_demo", broken)
    argv = {"--debug first": ["--debug", "demo"], "--debug last": ["demo", "--debug"]}
    if how == "NNDL_DEBUG=1":
        monkeypatch.setenv("NNDL_DEBUG", "1")
    with pytest.raises(IndexError):
        main(argv.get(how, ["demo"]))


def test_ctrl_c_is_one_line_and_status_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nndl.demo.run_demo", interrupted)
    _one_line(capsys, ["demo"], 130, "nndl demo: interrupted")


def test_the_installed_command_prints_no_traceback(tmp_path):
    nndl = os.path.join(os.path.dirname(sys.executable), "nndl")
    env = {**os.environ, "NNDL_DATASET": "cifar10", "NNDL_DATA": str(tmp_path)}
    done = subprocess.run([nndl, "demo"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert (
        done.stderr.startswith("nndl demo: no CIFAR-10 folder") and "Traceback" not in done.stderr
    )
    assert done.stderr.count("\n") == 1


def test_describe_gives_an_oserror_its_path_and_what_to_do():
    error = OSError(28, "No space left on device", "/data/run.npz")
    assert cli.describe(error) == (
        "/data/run.npz: the disk is full (or your quota is used up); free space on it, or write "
        "elsewhere"
    )
