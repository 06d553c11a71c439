"""Checkpoints: plain-array files, written atomically, read back safely; a resumed run is exact."""

import errno
import hashlib
import io
import json
import os
import stat
import tracemalloc

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


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed temporary", "named temporary"])
def test_failed_checkpoint_write_leaves_the_old_file_intact(tmp_path, monkeypatch, unnamed):
    if not unnamed:  # as on a system without O_TMPFILE
        monkeypatch.delattr(checkpoint_module.os, "O_TMPFILE", raising=False)
    path = tmp_path / "run_epoch_1.npz"
    write_checkpoint(path, {"x": np.arange(3)}, {"format": "old"})
    before = path.read_bytes()

    def write_then_fill_the_disk(self, name, data, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint_module.zipfile.ZipFile, "writestr", write_then_fill_the_disk)
    with pytest.raises(OSError, match=f"cannot write the checkpoint {path}: the disk is full"):
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
    expected = "parameter 'W': the checkpoint has \\(6, 3\\) float64, the model has \\(6, 4\\)"
    with pytest.raises(CheckpointError, match=expected):
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
    assert metadata["version"] == checkpoint_module.CHECKPOINT_VERSION == 3
    assert len(metadata["best_bn_stats"]) == 1
    old = {key: array for key, array in arrays.items() if not key.startswith("best_bn_stats/")}
    del metadata["best_bn_stats"]
    # Version 1 wrote generator states in place and no architecture, with np.savez.
    generators = metadata.pop("generators")
    metadata["solver_rng"] = generators[metadata["solver_rng"]["generator"]]
    rng = metadata["dropout_param"]["rng"]
    metadata["dropout_param"]["rng"] = {"generator_state": generators[rng["generator"]]}
    del metadata["model"]
    metadata["version"] = 1
    np.savez(tmp_path / "v1.npz", **old, metadata=np.array(json.dumps(metadata)))

    resumed = Solver.resume(tmp_path / "v1.npz", TinyClassifier(seed=0), make_data())
    assert resumed.best_bn_stats == []
    resumed.train()  # the running averages are then the last iteration's, as version 1 left them
    assert resumed.iteration == solver.iteration


# Verified: checksums, sizes before allocation, no unpickling advice ------------------------------


def _member_offsets(path):
    """{array name: (start of its .npy header, end of its data)} within the file."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        offsets = {}
        for info in archive.infolist():
            with archive.open(info) as member:
                member.read(0)
            header = 30 + len(info.filename) + len(info.extra)
            start = info.header_offset + header
            offsets[info.filename[: -len(".npy")]] = (start, start + info.file_size)
    return offsets


def test_every_array_has_a_checksum_and_the_file_a_digest_of_its_bytes(checkpoint):
    raw = checkpoint.read_bytes()
    assert raw[-checkpoint_module.TRAILER_SIZE :].startswith(b"nndl-sha256:")
    assert raw[-64:].decode() == hashlib.sha256(raw[:-64]).hexdigest()
    import zipfile

    with zipfile.ZipFile(checkpoint) as archive:
        text = str(np.lib.format.read_array(io.BytesIO(archive.read("metadata.npy"))))
        checksums = json.loads(text)["checksums"]
        names = {info.filename[:-4] for info in archive.infolist()} - {"metadata"}
        assert set(checksums) == names
        for name in names:
            assert hashlib.sha256(archive.read(f"{name}.npy")).hexdigest() == checksums[name]
    assert "checksums" not in read_checkpoint(checkpoint)[1], "the manifest is the reader's"


def test_the_same_state_gives_the_same_file_byte_for_byte(tmp_path):
    for name in "ab":
        tiny_solver(num_epochs=1, checkpoint_name=tmp_path / name / "run").train()
    assert (tmp_path / "a" / "run_epoch_1.npz").read_bytes() != b""
    first = read_checkpoint(tmp_path / "a" / "run_epoch_1.npz")[1]
    second = read_checkpoint(tmp_path / "b" / "run_epoch_1.npz")[1]
    assert first["hyperparameters"].pop("checkpoint_name") != second["hyperparameters"].pop(
        "checkpoint_name"
    )
    arrays = read_checkpoint(tmp_path / "a" / "run_epoch_1.npz")[0]
    write_checkpoint(tmp_path / "c.npz", arrays, first)
    write_checkpoint(tmp_path / "d.npz", arrays, first)
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "d.npz").read_bytes()


def test_a_bit_flip_in_an_arrays_npy_header_is_detected_naming_the_array(tmp_path):
    # The case: (64, 64) read as (64, 60) passed the zip's CRC, which numpy never
    # checks when it reads less than the member holds.
    path = tmp_path / "c.npz"
    write_checkpoint(path, {"params/W1": np.zeros((64, 64))}, {"format": "x", "version": 3})
    raw = bytearray(path.read_bytes())
    start, _ = _member_offsets(path)["params/W1"]
    at = raw.index(b"(64, 64)", start) + 5
    raw[at] ^= ord("4") ^ ord("0")  # '4' -> '0': one bit
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"c\.npz is damaged: its array 'params/W1' cannot"):
        read_checkpoint(path)


def test_a_bit_flip_outside_the_arrays_is_detected(checkpoint):
    import zipfile

    with zipfile.ZipFile(checkpoint) as archive:
        first = archive.infolist()[0]
    raw = bytearray(checkpoint.read_bytes())
    raw[first.header_offset + 10] ^= 0x01  # the member's modification time: no CRC covers it
    checkpoint.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="is damaged outside its arrays"):
        read_checkpoint(checkpoint)


def _npz_with_member(path, name, npy_bytes):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}.npy", npy_bytes)
        metadata = io.BytesIO()
        np.lib.format.write_array(
            metadata, np.array(json.dumps({"format": "nndl.solver checkpoint", "version": 2}))
        )
        archive.writestr("metadata.npy", metadata.getvalue())


def test_an_array_claiming_10_to_the_12_elements_is_refused_before_allocating(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    _npz_with_member(tmp_path / "c.npz", "params/W1", header.getvalue() + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"claims shape \(1000000000000,\)"):
            read_checkpoint(tmp_path / "c.npz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"{peak:,} bytes allocated for a false claim"


DAMAGE = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "garbage": lambda raw: b"not a zip file at all",
    "header flip": lambda raw: raw[:60] + bytes([raw[60] ^ 0x10]) + raw[61:],
    "zeroed middle": lambda raw: raw[:200] + b"\0" * 64 + raw[264:],
    "empty": lambda raw: b"",
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_checkpoint_never_suggests_allow_pickle(checkpoint, damage):
    checkpoint.write_bytes(damage(checkpoint.read_bytes()))
    with pytest.raises(CheckpointError, match=str(checkpoint.name)) as error:
        resume_tiny(checkpoint)
    assert "pickle=" not in str(error.value) and "allow_pickle" not in str(error.value)


def test_an_object_array_is_refused_without_unpickling_or_advice(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    _npz_with_member(tmp_path / "c.npz", "x", buffer.getvalue())
    with pytest.raises(CheckpointError, match="holds Python objects.*refused") as error:
        read_checkpoint(tmp_path / "c.npz")
    assert "allow_pickle" not in str(error.value)


def test_a_missing_checkpoint_names_the_ones_its_folder_holds(checkpoint):
    with pytest.raises(FileNotFoundError, match=r"run_epoch_7\.npz: no such file or folder; its "
                       r"folder holds run_epoch_0\.npz, run_epoch_1\.npz"):  # fmt: skip
        resume_tiny(checkpoint.with_name("run_epoch_7.npz"))


def test_a_folder_or_a_fifo_in_place_of_a_checkpoint_is_named_without_blocking(tmp_path):
    (tmp_path / "folder.npz").mkdir()
    with pytest.raises(IsADirectoryError, match="folder.npz: it is a folder"):
        read_checkpoint(tmp_path / "folder.npz")
    os.mkfifo(tmp_path / "fifo.npz")
    with pytest.raises(OSError, match=r"fifo.npz: it is a named pipe \(FIFO\)"):
        read_checkpoint(tmp_path / "fifo.npz")


# Matched: the model, the hyper-parameters and the checkpoint's own fields ----------------------


def _net(**options):
    settings = dict(input_dim=6, num_classes=3, seed=np.random.default_rng(1))
    return FullyConnectedNet([5, 5], **{**settings, **options})


@pytest.fixture
def net_checkpoint(tmp_path):
    model = _net(normalization="batchnorm", dropout=0.5)
    tiny_solver(model=model, num_epochs=2, checkpoint_name=tmp_path / "net").train()
    return tmp_path / "net_epoch_1.npz"


@pytest.mark.parametrize(
    "options, field, saved, given",
    [
        (dict(normalization="layernorm", dropout=0.5), "normalization", "'batchnorm'",
         "'layernorm'"),
        (dict(normalization="batchnorm"), "dropout_param\\['p'\\]", "0.5", "0.0"),
        (dict(normalization="batchnorm", dropout=0.5, reg=0.1), "reg", "0.0", "0.1"),
        (dict(normalization="batchnorm", dropout=0.5, dtype=np.float64), "dtype", "'float32'",
         "'float64'"),
        (dict(normalization="batchnorm", dropout=0.5, norm_param={"momentum": 0.5}),
         "norm_param\\['momentum'\\]", "0.9", "0.5"),
    ],
    ids=["layer norm into batch norm", "no dropout into dropout 0.5", "reg", "dtype",
         "batch norm's momentum"],
)  # fmt: skip
def test_resuming_into_another_architecture_names_the_checkpoint_the_field_and_both_values(
    net_checkpoint, options, field, saved, given
):
    model = _net(**options)
    p = model.dropout_param["p"]
    expected = f"{net_checkpoint}: the checkpoint's model has {field} = {saved}, the model "
    with pytest.raises(CheckpointError, match=expected + f"given to resume has {given}"):
        Solver.resume(net_checkpoint, model, make_data())
    assert model.dropout_param["p"] == p, "the model's dropout was overwritten"


def _edit(path, change):
    """Rewrite the checkpoint at path with change(arrays, metadata) applied, as a hand edit with
    nndl's own writer would (the checksums then fit)."""
    arrays, metadata = read_checkpoint(path)
    change(arrays, metadata)
    write_checkpoint(path, arrays, metadata)


def _set_learning_rate(arrays, metadata):
    metadata["optim_configs"]["W1"]["learning_rate"] = -1.0


EDITS = {
    "iteration -40": (
        lambda arrays, metadata: metadata.update(iteration=-40),
        "iteration must be an integer >= 0, got -40",
    ),
    "learning rate -1": (
        _set_learning_rate,
        r"optim_configs\['W1'\]: adam: config\['learning_rate'\] must be in \[0, inf\), got -1",
    ),
    "NaN running mean": (
        lambda arrays, metadata: arrays["bn_params/0/running_mean"].__setitem__(2, np.nan),
        r"bn_params\[0\]\['running_mean'\] holds 1 NaN or infinite values of 5",
    ),
    "optimiser state of the wrong shape": (
        lambda arrays, metadata: arrays.update({"optim_configs/W2/m": np.zeros((5, 4), "f4")}),
        r"optim_configs\['W2'\]\['m'\] is an array of shape \(5, 4\) and dtype float32, the "
        r"parameter is an array of shape \(5, 5\)",
    ),
    "history shorter than the iterations": (
        lambda arrays, metadata: metadata["loss_history"].pop(),
        "loss_history has 5 entries, but the checkpoint is at iteration 6",
    ),
    "adam's step count": (
        lambda arrays, metadata: metadata["optim_configs"]["b2"].update(t=2),
        r"optim_configs\['b2'\]\['t'\] is 2, but the checkpoint is at iteration 6",
    ),
    "best accuracy": (
        lambda arrays, metadata: metadata.update(best_val_acc=0.99),
        "best_val_acc is 0.99, but the best of val_acc_history is",
    ),
}


@pytest.mark.parametrize("edit, message", EDITS.values(), ids=EDITS.keys())
def test_a_hand_edited_field_is_refused_naming_the_checkpoint_and_the_field(
    net_checkpoint, edit, message
):
    _edit(net_checkpoint, edit)
    model = _net(normalization="batchnorm", dropout=0.5)
    with pytest.raises(CheckpointError, match=f"{net_checkpoint}: {message}"):
        Solver.resume(net_checkpoint, model, make_data())


@pytest.mark.parametrize(
    "override, message",
    [
        (dict(batch_size=10), "batch_size is 20 in the checkpoint but 10 here"),
        (dict(optim_config={"learning_rate": 1e-4}), "optim_config is .* in the checkpoint"),
        (dict(update_rule="sgd"), "update_rule is 'adam' in the checkpoint but 'sgd' here"),
        (dict(batch_size=-5), "its hyper-parameters \\(with the overrides batch_size\\) are "
         "refused: batch_size must be an integer >= 1, got -5"),
    ],
)  # fmt: skip
def test_an_override_that_contradicts_the_saved_state_is_refused(checkpoint, override, message):
    with pytest.raises(CheckpointError, match=message):
        resume_tiny(checkpoint, **override)


def test_settings_that_do_not_touch_the_saved_state_can_be_overridden(checkpoint):
    solver = resume_tiny(checkpoint, num_epochs=3, verbose=False, lr_decay=0.5, print_every=1)
    solver.train()
    assert solver.status == "finished" and solver.epoch == 3


# Files: temporary ones never stay, the mode follows the umask ---------------------------------


def test_temporary_files_of_a_writer_that_died_are_removed_by_the_next_write(tmp_path):
    pid = 2**22 + 1  # above the default pid_max of 4,194,304: never a live process
    host = checkpoint_module._host()
    stale = tmp_path / f".checkpoint-{host}-{pid}-0badf00d.tmp"
    stale.write_bytes(b"PK half a checkpoint")
    other_host = tmp_path / f".checkpoint-otherhost-{pid}-0badf00d.tmp"
    other_host.write_bytes(b"PK a live writer elsewhere on a shared disk")
    alive = tmp_path / f".checkpoint-{host}-{os.getpid()}-0badf00d.tmp"
    alive.write_bytes(b"PK this process's own write in progress")
    write_checkpoint(tmp_path / "c.npz", {}, {"format": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["c.npz", other_host.name, alive.name]
    )


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_files_mode_follows_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_checkpoint(tmp_path / "c.npz", {}, {"format": "x"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "c.npz").stat().st_mode) == 0o666 & ~umask


def test_an_unwritable_folder_is_named_with_what_to_do(tmp_path, monkeypatch):
    def refuse(directory):  # as os.open does in a folder without write permission
        raise PermissionError(errno.EACCES, "Permission denied", directory)

    monkeypatch.setattr(checkpoint_module, "_new_file", refuse)
    with pytest.raises(PermissionError, match=f"cannot write the checkpoint {tmp_path}/c.npz: "
                       "permission denied; check the permissions"):  # fmt: skip
        write_checkpoint(tmp_path / "c.npz", {}, {"format": "x"})


# Generators: a run without seeds resumes on one stream, as it ran -----------------------------


def test_a_run_without_seeds_with_dropout_resumes_bit_for_bit(tmp_path):
    # The reproducer: np.random.seed(231), FullyConnectedNet and Solver without seeds:
    # the minibatches and the dropout masks come from one stream, numpy's global generator.
    data = make_data(num_train=60, num_val=20, input_dim=6, num_classes=3)

    def net():
        return FullyConnectedNet([8], input_dim=6, num_classes=3, dropout=0.5, dtype=np.float64)

    np.random.seed(231)  # noqa: NPY002
    uninterrupted = Solver(net(), data, num_epochs=3, batch_size=20, verbose=False,
                           checkpoint_name=tmp_path / "run")  # fmt: skip
    uninterrupted.train()
    np.random.seed(231)  # noqa: NPY002
    model = net()  # the same initial weights, which the checkpoint overwrites anyway
    before = np.random.get_state(legacy=False)  # noqa: NPY002
    resumed = Solver.resume(tmp_path / "run_epoch_1.npz", model, data)
    assert resumed.rng.bit_generator is model.dropout_param["rng"].bit_generator, "two streams"
    resumed.train()
    assert resumed.loss_history == uninterrupted.loss_history
    assert_identical(resumed.model.params, uninterrupted.model.params)
    assert_identical(np.random.get_state(legacy=False), before)  # noqa: NPY002
