"""Checkpoints: a Solver's state written to one .npz file of plain arrays, and read back exactly.

A checkpoint is one .npz archive (no pickle). Dicts of state (the model's parameters, the
optimiser configs, the batch-norm and dropout parameters) are split by ``pack``: arrays go into
the archive under a key ``"prefix/name"``, everything else (numbers, strings, generator states)
into a JSON document stored under the key ``"metadata"``, with ``{"array": key}`` standing for an
array and ``{"scalar": key}`` for a numpy scalar (kept as an array so that its dtype, which
decides the dtype of the arithmetic it enters, survives the round trip). The metadata also holds
the hyper-parameters, the histories, the position in training and the random-generator states.

``save(solver, path)`` writes a Solver's state; ``load(Solver, path, model, data, overrides)``
(what ``Solver.resume`` calls) builds a Solver from it and ``restore``s its state.
``write_checkpoint`` and ``read_checkpoint`` are the file format alone: the file is written to a
temporary name and renamed, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile

import numpy as np

from nndl.optim import UPDATE_RULES

CHECKPOINT_FORMAT = "nndl.solver checkpoint"
CHECKPOINT_VERSION = 2
# Version 1 lacked best_bn_stats; such a checkpoint still resumes (test mode after training then
# uses the last iteration's running averages, as version 1's Solver did).
READABLE_VERSIONS = (1, 2)
# The key of the JSON document inside a checkpoint's .npz file.
METADATA_KEY = "metadata"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class CheckpointError(ValueError):
    """A checkpoint is unreadable, not written by a Solver, or does not fit the model or data."""


# A Solver's state ---------------------------------------------------------------------------------


def hyperparameters(solver):
    """The Solver's constructor arguments (but the seed: the generator's state is saved instead)."""
    return {
        "update_rule": solver.update_rule_name,
        "optim_config": solver.optim_config,
        "lr_decay": solver.lr_decay,
        "batch_size": solver.batch_size,
        "num_epochs": solver.num_epochs,
        "num_train_samples": solver.num_train_samples,
        "num_val_samples": solver.num_val_samples,
        "checkpoint_name": solver.checkpoint_name,
        "print_every": solver.print_every,
        "verbose": solver.verbose,
    }


def progress(solver):
    """Where a run stands and what it has reported: epoch, iteration, histories, best accuracy."""
    return {
        "epoch": solver.epoch,
        "iteration": solver.iteration,
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "best_val_acc": solver.best_val_acc,
    }


def save(solver, path):
    """Write everything solver.train() needs to continue exactly to the .npz file path."""
    model = solver.model
    arrays = {}
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "hyperparameters": hyperparameters(solver),
        "data_shapes": {key: list(getattr(solver, key).shape) for key in DATA_KEYS},
        **progress(solver),
        "solver_rng": solver.rng.bit_generator.state,
        "params": pack(model.params, "params", arrays),
        "best_params": pack(solver.best_params, "best_params", arrays),
        "best_bn_stats": [
            pack(stats, f"best_bn_stats/{i}", arrays)
            for i, stats in enumerate(solver.best_bn_stats)
        ],
        "optim_configs": {
            name: pack(config, f"optim_configs/{name}", arrays)
            for name, config in solver.optim_configs.items()
        },
        "bn_params": [
            pack(bn_param, f"bn_params/{i}", arrays)
            for i, bn_param in enumerate(getattr(model, "bn_params", []))
        ],
        "dropout_param": pack(getattr(model, "dropout_param", {}), "dropout", arrays),
    }
    write_checkpoint(path, arrays, metadata)


def load(solver_class, path, model, data, overrides):
    """Solver.resume: a new Solver from the checkpoint's hyper-parameters (overridden by
    overrides), its model and itself restored to the checkpoint's state."""
    arrays, metadata = read_checkpoint(path)
    try:
        settings = {**metadata["hyperparameters"], **overrides}
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: no hyper-parameters in its metadata") from error
    rule = settings.get("update_rule")
    if isinstance(rule, str) and rule not in UPDATE_RULES:
        raise CheckpointError(
            f"{path} was written with the custom update rule {rule!r}; pass it again: "
            "Solver.resume(path, model, data, update_rule=...)"
        )
    solver = solver_class(model, data, **settings)
    try:
        restore(solver, arrays, metadata)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{path}: malformed checkpoint ({error!r})") from error
    return solver


def restore(solver, arrays, metadata):
    """Load a checkpoint's state into solver and its model: save's inverse.

    Raises CheckpointError if the checkpoint does not fit the solver's data or model.
    """
    model = solver.model
    for key in DATA_KEYS:
        shape = metadata["data_shapes"][key]
        if list(getattr(solver, key).shape) != shape:
            raise CheckpointError(
                f"the checkpoint was trained with {key} of shape {tuple(shape)}, "
                f"but data has {key} of shape {getattr(solver, key).shape}"
            )
    check_params_fit(model.params, metadata["params"], arrays)
    unpack(metadata["params"], arrays, model.params)
    solver.best_params = unpack(metadata["best_params"], arrays, {})
    best_bn_stats = metadata.get("best_bn_stats", [])
    if len(best_bn_stats) not in (0, len(getattr(model, "bn_params", []))):
        raise CheckpointError(
            f"the checkpoint has best running averages for {len(best_bn_stats)} batch-norm "
            f"layers, the model has {len(getattr(model, 'bn_params', []))}"
        )
    solver.best_bn_stats = [unpack(stats, arrays, {}) for stats in best_bn_stats]
    if set(metadata["optim_configs"]) != set(model.params):
        raise CheckpointError("the checkpoint's optimiser state is not one per model parameter")
    solver.optim_configs = {
        name: unpack(config, arrays, {}) for name, config in metadata["optim_configs"].items()
    }
    bn_params = getattr(model, "bn_params", [])
    if len(bn_params) != len(metadata["bn_params"]):
        raise CheckpointError(
            f"the checkpoint has {len(metadata['bn_params'])} batch-norm layers, "
            f"the model has {len(bn_params)}"
        )
    for saved, bn_param in zip(metadata["bn_params"], bn_params, strict=True):
        unpack(saved, arrays, bn_param)
    if metadata["dropout_param"] and not hasattr(model, "dropout_param"):
        raise CheckpointError("the checkpoint has dropout state but the model has no dropout")
    unpack(metadata["dropout_param"], arrays, getattr(model, "dropout_param", {}))
    # A generator of its own, even if the run drew from numpy's global one: resuming must not
    # reset the global generator under the caller's feet.
    solver.rng = generator_from_state(metadata["solver_rng"])
    solver.epoch = int(metadata["epoch"])
    solver.iteration = int(metadata["iteration"])
    solver.loss_history = [float(x) for x in metadata["loss_history"]]
    solver.train_acc_history = [float(x) for x in metadata["train_acc_history"]]
    solver.val_acc_history = [float(x) for x in metadata["val_acc_history"]]
    solver.best_val_acc = float(metadata["best_val_acc"])


def generator_from_state(state):
    """A new numpy Generator whose bit generator (PCG64, MT19937, ...) has the saved state."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise CheckpointError(
            f"the checkpoint's random generator state is not one of {sorted(BIT_GENERATORS)}: "
            f"got {name!r}"
        )
    bit_generator = BIT_GENERATORS[name]()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (
        np.random.PCG64,
        np.random.PCG64DXSM,
        np.random.MT19937,
        np.random.Philox,
        np.random.SFC64,
    )
}


# Dicts of state -----------------------------------------------------------------------------------


def pack(values, prefix, arrays):
    """Split a dict of state into arrays (added to `arrays`) and a JSON-ready dict (returned)."""
    packed = {}
    for name, value in values.items():
        key = f"{prefix}/{name}"
        if isinstance(value, np.random.Generator):
            packed[name] = {"generator_state": value.bit_generator.state}
        elif isinstance(value, (np.ndarray, np.generic)):
            if value.dtype.hasobject:
                raise TypeError(f"cannot checkpoint {key}: an object array would need pickle")
            arrays[key] = np.asarray(value)
            packed[name] = {"scalar" if isinstance(value, np.generic) else "array": key}
        elif value is None or isinstance(value, (bool, int, float, str)):
            packed[name] = value
        else:
            raise TypeError(f"cannot checkpoint {key} of type {type(value).__name__}")
    return packed


def unpack(packed, arrays, target):
    """Inverse of pack: put the saved values into the dict target (in place) and return it.

    A saved generator state is loaded into the generator already in target, so that whoever
    holds that generator (e.g. the model's dropout) continues from the saved state.
    """
    for name, value in packed.items():
        if isinstance(value, dict) and "generator_state" in value:
            generator = target.get(name)
            if not isinstance(generator, np.random.Generator):
                raise CheckpointError(
                    f"the checkpoint has a random generator {name!r}; the model "
                    "has none there (was it built with the same options?)"
                )
            generator.bit_generator.state = value["generator_state"]
        elif isinstance(value, dict):
            key = value.get("array", value.get("scalar"))
            if key not in arrays:
                raise CheckpointError(f"the checkpoint's archive has no array {key!r}")
            target[name] = arrays[key] if "array" in value else arrays[key][()]
        else:
            target[name] = value
    return target


def check_params_fit(params, packed, arrays):
    """Raise a CheckpointError unless saved parameters match the model's names, shapes, dtypes."""
    if set(packed) != set(params):
        raise CheckpointError(
            f"the checkpoint has parameters {sorted(packed)}, the model has {sorted(params)}"
        )
    for name, w in params.items():
        saved = arrays.get(packed[name].get("array"))
        if saved is None or saved.shape != w.shape or saved.dtype != w.dtype:
            found = "nothing" if saved is None else f"{saved.shape} {saved.dtype}"
            raise CheckpointError(
                f"parameter {name!r}: the model has {w.shape} {w.dtype}, the checkpoint {found}"
            )


# The file format ----------------------------------------------------------------------------------


def _json_default(value):
    """Let json write numpy scalars (e.g. a learning rate given as np.float32) as numbers, and
    the integer key of an MT19937 generator's state (numpy's global generator) as a list."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to a checkpoint's JSON metadata")


def _check_finite(value, where):
    """Raise a ValueError naming the entry if metadata holds NaN or an infinity (JSON has none)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")
    elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise ValueError(
            f"{where} must be a finite number (a checkpoint's JSON has no NaN or infinity), "
            f"got {value!r}"
        )


def write_checkpoint(path, arrays, metadata):
    """Write arrays and JSON metadata to one .npz file, atomically.

    The file is written under a temporary name in the same directory, flushed to disk, then renamed
    over path (os.replace is atomic): readers see the old file or the new one, never a partial one.

    Inputs:
    - path: Destination file name; its directory is created if needed.
    - arrays: Dict from names to numpy arrays (no object arrays: those would need pickle).
    - metadata: JSON-serialisable dict of finite numbers, strings, lists and dicts, stored as a
      string under the key METADATA_KEY.
    """
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"cannot checkpoint {key}: an object array would need pickle")
    _check_finite(metadata, "metadata")
    text = json.dumps(metadata, allow_nan=False, default=_json_default)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays, **{METADATA_KEY: np.array(text)})
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def read_checkpoint(path):
    """Read a file written by write_checkpoint, without ever unpickling.

    Returns:
    - arrays: Dict from names to numpy arrays.
    - metadata: The JSON metadata, a dict.

    Raises CheckpointError if the file is not a readable checkpoint of this format and version.
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path} is not a readable .npz checkpoint ({error})") from error
    text = arrays.pop(METADATA_KEY, None)
    if text is None or text.dtype.kind != "U" or text.ndim != 0:
        raise CheckpointError(f"{path} has no JSON metadata: it was not written by a Solver")
    try:
        # NaN and Infinity are not JSON, though Python's json reads them by default.
        metadata = json.loads(str(text), parse_constant=_reject_constant)
    except ValueError as error:
        raise CheckpointError(f"{path}: its metadata is not valid JSON ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an nndl Solver checkpoint")
    if metadata.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has checkpoint version {metadata.get('version')!r}; "
            f"this nndl reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    return arrays, metadata
