"""Checkpoints: plain-array files, written atomically, read back safely; a resumed run is exact."""

import json
import os

import numpy as np
import pytest

from nndl import checkpoint as checkpoint_module
from nndl.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from nndl.fc_net import FullyConnectedNet
from nndl.optim import sgd
from nndl.solver import Solver
from tests.training_helpers import (
    TinyClassifier,
    assert_identical,
    make_data,
    resume_tiny,
    state,
    tiny_solver,
)

# Checkpoints and resuming ----------------------------------------------------------------------


@pytest.mark.parametrize("epoch", [0, 2])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, epoch):
    uninterrupted = tiny_solver(checkpoint_name=tmp_path / "a" / "run")
    uninterrupted.train()

    checkpoint = tmp_path / "a" / f"run_epoch_{epoch}.npz"
    resumed = resume_tiny(checkpoint, checkpoint_name=tmp_path / "b" / "run")
    assert resumed.epoch == epoch
    resumed.train()
    # assert_identical names the first entry where the resumed run differs.
    assert_identical(state(resumed), state(uninterrupted))
    # Even the checkpoints written after resuming are the same.
    a_arrays, a_metadata = read_checkpoint(tmp_path / "a" / "run_epoch_4.npz")
    b_arrays, b_metadata = read_checkpoint(tmp_path / "b" / "run_epoch_4.npz")
    for metadata in a_metadata, b_metadata:
        del metadata["hyperparameters"]["checkpoint_name"]
    assert_identical((a_arrays, a_metadata), (b_arrays, b_metadata))


def test_resumed_batchnorm_dropout_net_equals_an_uninterrupted_one(tmp_path):
    data = make_data(num_train=60, num_val=20, input_dim=8, num_classes=4)

    def net():
        return FullyConnectedNet(
            [10, 10], input_dim=8, num_classes=4, dropout=0.3, use_batchnorm=True, seed=3
        )

    uninterrupted = tiny_solver(
        seed=5,
        model=net(),
        data=data,
        update_rule="rmsprop",
        optim_config={"learning_rate": 1e-2},
        lr_decay=0.95,
        batch_size=15,
        num_epochs=3,
        num_train_samples=30,
        num_val_samples=10,
        checkpoint_name=tmp_path / "run",
    )
    uninterrupted.train()

    resumed = Solver.resume(tmp_path / "run_epoch_1.npz", net(), data, checkpoint_name=None)
    resumed.train()
    assert resumed.model.params["W1"].dtype == np.float32
    assert_identical(state(resumed), state(uninterrupted))


def test_resume_can_train_for_more_epochs(tmp_path):
    short = tiny_solver(num_epochs=2, checkpoint_name=tmp_path / "run")
    short.train()
    longer = resume_tiny(tmp_path / "run_epoch_2.npz", num_epochs=4)
    longer.train()
    uninterrupted = tiny_solver(num_epochs=4)
    uninterrupted.train()
    assert_identical(state(longer), state(uninterrupted))


def test_checkpoint_files_hold_plain_arrays_and_json(tmp_path):
    tiny_solver(num_epochs=2, checkpoint_name=tmp_path / "run").train()
    assert sorted(os.listdir(tmp_path)) == [f"run_epoch_{e}.npz" for e in range(3)]
    with np.load(tmp_path / "run_epoch_2.npz", allow_pickle=False) as archive:
        assert not any(archive[key].dtype.hasobject for key in archive.files), "needs pickle"
        metadata = json.loads(str(archive["metadata"]))
    assert metadata["epoch"] == 2 and metadata["iteration"] == 12
    assert metadata["hyperparameters"]["update_rule"] == "adam"
    assert len(metadata["loss_history"]) == 12
    assert metadata["optim_configs"]["W"]["t"] == 12


def test_failed_checkpoint_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "run_epoch_1.npz"
    write_checkpoint(path, {"x": np.arange(3)}, {"format": "old"})
    before = path.read_bytes()

    def savez_then_crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.np, "savez", savez_then_crash)
    with pytest.raises(OSError, match="disk full"):
        write_checkpoint(path, {"x": np.arange(5)}, {"format": "new"})
    assert os.listdir(tmp_path) == [path.name], "a failed write left a temporary file"
    assert path.read_bytes() == before, "a failed write damaged the old checkpoint"


def test_checkpoint_rejects_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        write_checkpoint(tmp_path / "c.npz", {"x": np.array([None, 1])}, {})
    assert os.listdir(tmp_path) == []


@pytest.fixture
def checkpoint(tmp_path):
    tiny_solver(num_epochs=1, checkpoint_name=tmp_path / "run").train()
    return tmp_path / "run_epoch_1.npz"


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda path: path.write_bytes(path.read_bytes()[:200]),
        lambda path: path.write_bytes(b"not a zip file at all"),
        lambda path: np.save(path.open("wb"), np.array([{"evil": 1}], dtype=object)),
        lambda path: np.savez(path.open("wb"), x=np.array([{"evil": 1}], dtype=object)),
        lambda path: np.savez(path.open("wb"), metadata=np.array("{not json")),
        lambda path: np.savez(path.open("wb"), metadata=np.array('{"format": "other"}')),
    ],
    ids=["truncated", "garbage", "pickled npy", "pickled npz", "bad json", "foreign format"],
)
def test_corrupt_checkpoint_is_a_clear_error(checkpoint, corrupt):
    corrupt(checkpoint)
    with pytest.raises(CheckpointError, match=str(checkpoint.name)):
        resume_tiny(checkpoint)


def test_checkpoint_for_another_model_is_a_clear_error(checkpoint):
    with pytest.raises(CheckpointError, match="parameter 'W': the model has \\(6, 4\\)"):
        Solver.resume(checkpoint, TinyClassifier(num_classes=4), make_data())


def test_checkpoint_for_other_data_is_a_clear_error(checkpoint):
    with pytest.raises(CheckpointError, match="X_train of shape \\(120, 6\\)"):
        Solver.resume(checkpoint, TinyClassifier(), make_data(num_train=100))


def test_checkpoint_of_a_custom_rule_resumes_only_with_it(tmp_path):
    def my_sgd(w, dw, config):
        return sgd(w, dw, config)

    run = tiny_solver(
        update_rule=my_sgd, optim_config={}, num_epochs=1, checkpoint_name=tmp_path / "r"
    )
    run.train()
    with pytest.raises(CheckpointError, match="custom update rule .*my_sgd"):
        resume_tiny(tmp_path / "r_epoch_1.npz")
    solver = resume_tiny(tmp_path / "r_epoch_1.npz", update_rule=my_sgd)
    solver.train()
    assert solver.status == "finished"


def test_pack_and_unpack_round_trip_arrays_scalars_generators_and_plain_values():
    rng = np.random.default_rng(5)
    rng.random(3)
    values = {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": np.int64(7),
        "lr": 1e-3,
        "mode": "train",
        "none": None,
        "rng": rng,
    }
    arrays = {}
    packed = checkpoint_module.pack(values, "state", arrays)
    assert sorted(arrays) == ["state/t", "state/w"]
    json.dumps(packed)  # the rest is plain JSON
    target = {"rng": np.random.default_rng(0)}
    restored = checkpoint_module.unpack(packed, arrays, target)
    assert restored is target
    assert restored["t"].dtype == np.int64 and restored["t"] == 7
    assert_identical(
        {k: v for k, v in restored.items() if k != "rng"},
        {k: v for k, v in values.items() if k != "rng"},
    )
    assert restored["rng"].random() == rng.random()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("-inf")])
def test_non_finite_metadata_is_refused_naming_the_entry(tmp_path, bad):
    with pytest.raises(ValueError, match=r"metadata\['histories'\]\[1\] must be a finite number"):
        write_checkpoint(tmp_path / "c.npz", {}, {"histories": [0.5, bad]})
    assert os.listdir(tmp_path) == []


def test_nan_in_a_checkpoints_json_is_a_checkpoint_error(checkpoint):
    with np.load(checkpoint, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    text = str(arrays.pop("metadata")).replace('"best_val_acc": ', '"best_val_acc": NaN, "x": ')
    np.savez(checkpoint.open("wb"), metadata=np.array(text), **arrays)
    with pytest.raises(CheckpointError, match="NaN is not a JSON number"):
        read_checkpoint(checkpoint)


def test_solver_module_still_exports_the_checkpoint_names():
    from nndl import solver

    assert solver.CheckpointError is CheckpointError
    assert solver.read_checkpoint is read_checkpoint
    assert solver.write_checkpoint is write_checkpoint


def test_a_version_1_checkpoint_without_best_running_averages_still_resumes(tmp_path):
    solver = tiny_solver(num_epochs=2, checkpoint_name=tmp_path / "run")
    solver.train()
    arrays, metadata = read_checkpoint(tmp_path / "run_epoch_1.npz")
    assert metadata["version"] == checkpoint_module.CHECKPOINT_VERSION == 2
    assert len(metadata["best_bn_stats"]) == 1
    old = {key: array for key, array in arrays.items() if not key.startswith("best_bn_stats/")}
    del metadata["best_bn_stats"]
    write_checkpoint(tmp_path / "v1.npz", old, {**metadata, "version": 1})

    resumed = Solver.resume(tmp_path / "v1.npz", TinyClassifier(seed=0), make_data())
    assert resumed.best_bn_stats == []
    resumed.train()  # the running averages are then the last iteration's, as version 1 left them
    assert resumed.iteration == solver.iteration
