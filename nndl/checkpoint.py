"""Checkpoints: a Solver's state written to one .npz file of plain arrays, verified and read back
exactly.

A checkpoint is one .npz archive (no pickle). Dicts of state (the model's parameters, the
optimiser configs, the batch-norm and dropout parameters) are split by ``pack``: arrays go into
the archive under a key ``"prefix/name"``, everything else (numbers, strings) into a JSON document
stored under the key ``"metadata"``, with ``{"array": key}`` standing for an array,
``{"scalar": key}`` for a numpy scalar (kept as an array so that its dtype, which decides the
dtype of the arithmetic it enters, survives the round trip) and ``{"generator": i}`` for a random
generator (its state is the i-th of the metadata's ``generators``; generators that drew from one
stream, as a Solver and a network without seeds both draw from numpy's global one, share it). The
metadata also holds the hyper-parameters, the model's architecture, the histories, the position in
training, and the SHA-256 of every array's bytes (its .npy header and data).

``save(solver, path)`` writes a Solver's state; ``load(Solver, path, model, data, overrides)``
(what ``Solver.resume`` calls) checks that the checkpoint fits the model, the data and itself,
builds a Solver from it and ``restore``s its state; every error names the checkpoint, the field
and both values.

``write_checkpoint`` and ``read_checkpoint`` are the file format alone. The file is written under
a temporary name (an unnamed file where the system has them) and renamed, so a crash never leaves
half a checkpoint; temporary files of writers that died are removed by the next write into the
folder. The archive's comment ends with the SHA-256 of every byte before it, so that a bit flip
anywhere in the file, its zip headers included, is detected; each array is checked against the
size its header claims before anything is allocated.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
import zipfile

import numpy as np

from nndl import optim
from nndl.optim import UPDATE_RULES
from nndl.paths import explained, open_regular

CHECKPOINT_FORMAT = "nndl.solver checkpoint"
CHECKPOINT_VERSION = 3
# Version 1 lacked best_bn_stats; such a checkpoint still resumes (test mode after training then
# uses the last iteration's running averages, as version 1's Solver did). Versions 1 and 2 lack
# the checksums, the architecture and the shared generators (a run without seeds resumed from
# them draws its minibatches and its dropout masks from two streams instead of one).
READABLE_VERSIONS = (1, 2, 3)
# The key of the JSON document inside a checkpoint's .npz file, and of its checksums there.
METADATA_KEY = "metadata"
CHECKSUMS_KEY = "checksums"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")
# The archive's comment: this prefix, then the hex SHA-256 of every byte of the file before the
# digest (the prefix included).
TRAILER_PREFIX = b"nndl-sha256:"
TRAILER_SIZE = len(TRAILER_PREFIX) + 64
# Every member has this time stamp: the same state gives the same file, byte for byte.
MEMBER_TIME = (1980, 1, 1, 0, 0, 0)
# Solver settings that a resumed run keeps: its saved optimiser state and position embody them.
FIXED_SETTINGS = ("update_rule", "optim_config", "batch_size")


class CheckpointError(ValueError):
    """A checkpoint is unreadable, damaged, not written by a Solver, or does not fit the model or
    data."""


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


def architecture(model):
    """What a checkpoint records of the model, so that a resume into another network is refused:
    FullyConnectedNet's public attributes (None where a model has no such attribute), and each
    parameter's shape and dtype. The one place that knows which attributes these are."""
    fields = {"class": type(model).__name__}
    for name in ("num_layers", "input_dim", "num_classes", "normalization", "reg"):
        value = getattr(model, name, None)
        if value is None or isinstance(value, (bool, int, float, str, np.generic)):
            fields[name] = value.item() if isinstance(value, np.generic) else value
    if getattr(model, "dtype", None) is not None:
        fields["dtype"] = np.dtype(model.dtype).name
    dropout_param = getattr(model, "dropout_param", None)
    if isinstance(dropout_param, dict) and "p" in dropout_param:
        fields["dropout_param['p']"] = float(dropout_param["p"])
    # the normalization's settings (FullyConnectedNet's norm_param: batch norm's eps, momentum),
    # the layer's defaults where the model set none
    layer, bn_params = getattr(model, "norm_layer", None), getattr(model, "bn_params", None)
    if layer is not None and isinstance(bn_params, list) and bn_params:
        for key, default in layer.defaults.items():
            fields[f"norm_param['{key}']"] = float(bn_params[0].get(key, default))
    fields["params"] = {name: f"{tuple(w.shape)} {w.dtype}" for name, w in model.params.items()}
    return fields


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
    arrays, generators = {}, []
    solver_rng = {"generator": _generator_index(solver.rng, generators)}
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "hyperparameters": hyperparameters(solver),
        "model": architecture(model),
        "data_shapes": {key: list(getattr(solver, key).shape) for key in DATA_KEYS},
        **progress(solver),
        "solver_rng": solver_rng,
        "params": pack(model.params, "params", arrays, generators),
        "best_params": pack(solver.best_params, "best_params", arrays, generators),
        "best_bn_stats": [
            pack(stats, f"best_bn_stats/{i}", arrays, generators)
            for i, stats in enumerate(solver.best_bn_stats)
        ],
        "optim_configs": {
            name: pack(config, f"optim_configs/{name}", arrays, generators)
            for name, config in solver.optim_configs.items()
        },
        "bn_params": [
            pack(bn_param, f"bn_params/{i}", arrays, generators)
            for i, bn_param in enumerate(getattr(model, "bn_params", []))
        ],
        "dropout_param": pack(getattr(model, "dropout_param", {}), "dropout", arrays, generators),
    }
    metadata["generators"] = [generator.state for generator in generators]
    write_checkpoint(path, arrays, metadata)


def load(solver_class, path, model, data, overrides):
    """Solver.resume: a new Solver from the checkpoint's hyper-parameters (overridden by
    overrides), its model and itself restored to the checkpoint's state, once everything in the
    checkpoint has been checked against the model, the data and the checkpoint's other fields."""
    try:
        arrays, metadata = read_checkpoint(path)
    except FileNotFoundError as error:
        raise type(error)(error.errno, f"{error}{_checkpoints_beside(path)}", path) from None
    saved = metadata.get("hyperparameters")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: no hyper-parameters in its metadata")
    rule = saved.get("update_rule")
    if isinstance(rule, str) and rule not in UPDATE_RULES and "update_rule" not in overrides:
        raise CheckpointError(
            f"{path} was written with the custom update rule {rule!r}; pass it again: "
            "Solver.resume(path, model, data, update_rule=...)"
        )
    try:
        solver = solver_class(model, data, **{**saved, **overrides})
    except (TypeError, ValueError) as error:
        given = f" (with the overrides {', '.join(overrides)})" if overrides else ""
        raise CheckpointError(f"{path}: its hyper-parameters{given} are refused: {error}") from None
    try:
        _check_overrides(solver, saved)
        check_architecture(metadata.get("model"), model)
        restore(solver, arrays, metadata)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise CheckpointError(f"{path}: malformed checkpoint ({error!r})") from None
    return solver


def _checkpoints_beside(path):
    """'; its folder holds a.npz, b.npz' (the checkpoints there), or '' if there are none."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        found = sorted(name for name in os.listdir(folder) if name.endswith(".npz"))
    except OSError:
        return ""
    if not found:
        return ""
    shown = ", ".join(found[:6]) + (f" and {len(found) - 6} more" if len(found) > 6 else "")
    return f"; its folder holds {shown}"


def _check_overrides(solver, saved):
    """A resumed run keeps the settings that its optimiser state and position embody."""
    current = hyperparameters(solver)
    for name in FIXED_SETTINGS:
        if name in saved and _normalised(name, saved[name], solver) != current[name]:
            raise CheckpointError(
                f"{name} is {saved[name]!r} in the checkpoint but {current[name]!r} here; a "
                "resumed run continues with the optimiser state and the epochs it saved, so it "
                "keeps its update rule, optim_config and batch_size (start a new Solver to "
                "train with others)"
            )


def _normalised(name, value, solver):
    """A saved setting as the Solver's constructor would have stored it."""
    if name == "optim_config" and solver.update_rule_name in UPDATE_RULES:
        return optim.check_config(solver.update_rule_name, value)
    return value


def check_architecture(saved, model):
    """Raise a CheckpointError naming the first field in which the model differs from the one
    the checkpoint was written from (a checkpoint before version 3 records none)."""
    if saved is None:
        return
    current = architecture(model)
    for field in saved.keys() & current.keys() - {"params"}:
        if saved[field] != current[field]:
            raise CheckpointError(
                f"the checkpoint's model has {field} = {saved[field]!r}, the model given to "
                f"resume has {current[field]!r}; build it as for the original run"
            )
    saved_params, params = saved.get("params", {}), current["params"]
    if saved_params.keys() != params.keys():
        raise CheckpointError(
            f"the checkpoint has parameters {sorted(saved_params)}, the model has {sorted(params)}"
        )
    for name in params:
        if saved_params[name] != params[name]:
            raise CheckpointError(
                f"parameter {name!r}: the checkpoint has {saved_params[name]}, the model has "
                f"{params[name]}"
            )


def restore(solver, arrays, metadata):
    """Load a checkpoint's state into solver and its model: save's inverse.

    Everything is checked before it is used: the data's shapes, the parameters' names, shapes,
    dtypes and finiteness, the optimiser state (valid hyper-parameters, state arrays shaped like
    their parameter), the running averages, and the position against the histories. Raises a
    CheckpointError naming the field otherwise.
    """
    model = solver.model
    for key in DATA_KEYS:
        shape = metadata["data_shapes"][key]
        if list(getattr(solver, key).shape) != shape:
            raise CheckpointError(
                f"the checkpoint was trained with {key} of shape {tuple(shape)}, "
                f"but data has {key} of shape {getattr(solver, key).shape}"
            )
    generators = _SavedGenerators(metadata)
    check_params_fit(model.params, metadata["params"], arrays, "params")
    check_params_fit(model.params, metadata["best_params"], arrays, "best_params", empty=True)
    params = unpack(metadata["params"], arrays, {}, generators)
    best_params = unpack(metadata["best_params"], arrays, {}, generators)
    for where, values in (("params", params), ("best_params", best_params)):
        for name, w in values.items():
            _require_finite(f"{where}[{name!r}]", w)
    bn_params = getattr(model, "bn_params", [])
    best_bn_stats = metadata.get("best_bn_stats", [])
    if len(best_bn_stats) not in (0, len(bn_params)):
        raise CheckpointError(
            f"the checkpoint has best running averages for {len(best_bn_stats)} batch-norm "
            f"layers, the model has {len(bn_params)}"
        )
    if len(bn_params) != len(metadata["bn_params"]):
        raise CheckpointError(
            f"the checkpoint has {len(metadata['bn_params'])} batch-norm layers, "
            f"the model has {len(bn_params)}"
        )
    saved_bn = [unpack(saved, arrays, {}, generators) for saved in metadata["bn_params"]]
    best_bn = [unpack(stats, arrays, {}, generators) for stats in best_bn_stats]
    for where, layers in (("bn_params", saved_bn), ("best_bn_stats", best_bn)):
        for i, values in enumerate(layers):
            _check_bn_param(f"{where}[{i}]", values, model.params.get(f"gamma{i + 1}"))
    if set(metadata["optim_configs"]) != set(model.params):
        raise CheckpointError(
            f"the checkpoint's optimiser state is for {sorted(metadata['optim_configs'])}, the "
            f"model's parameters are {sorted(model.params)}"
        )
    configs = {
        name: unpack(config, arrays, {}, generators)
        for name, config in metadata["optim_configs"].items()
    }
    position = _check_progress(metadata, solver.iterations_per_epoch)
    for name, config in configs.items():
        configs[name] = _check_optim_config(
            solver.update_rule_name, name, config, params[name], position["iteration"]
        )
    dropout = metadata["dropout_param"]
    if dropout and not isinstance(getattr(model, "dropout_param", None), dict):
        raise CheckpointError("the checkpoint has dropout state but the model has no dropout")
    _check_dropout(dropout, model)
    for i, state in enumerate(metadata.get("generators") or []):
        _bit_generator(state, f"generators[{i}]")

    # Everything fits: from here on, nothing can fail halfway.
    model.params.update(params)
    solver.best_params = best_params
    solver.best_bn_stats = best_bn
    solver.optim_configs = configs
    for values, bn_param in zip(saved_bn, bn_params, strict=True):
        bn_param.update(values)
    if dropout:
        unpack(dropout, arrays, model.dropout_param, generators)
    # The Solver's generator after the model's: the dropout's may be the same stream.
    solver.rng = generators.restore("the Solver's generator", metadata["solver_rng"], None)
    solver.epoch, solver.iteration = position["epoch"], position["iteration"]
    solver.loss_history = position["loss_history"]
    solver.train_acc_history = position["train_acc_history"]
    solver.val_acc_history = position["val_acc_history"]
    solver.best_val_acc = position["best_val_acc"]


def _require_finite(where, value):
    array = np.asarray(value)
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise CheckpointError(f"{where} holds {bad} NaN or infinite values of {array.size}")


def _check_bn_param(where, values, gamma):
    """Running averages: finite, the variance >= 0, each of its layer's width."""
    for key in ("running_mean", "running_var"):
        if key not in values:
            continue
        value = values[key]
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            raise CheckpointError(f"{where}['{key}'] must be a 1-d array, got {_describe(value)}")
        if gamma is not None and value.shape != gamma.shape:
            raise CheckpointError(
                f"{where}['{key}'] has shape {value.shape}, the layer's gamma {gamma.shape}"
            )
        _require_finite(f"{where}['{key}']", value)
    if "running_var" in values and (values["running_var"] < 0).any():
        raise CheckpointError(f"{where}['running_var'] has negative variances")
    for key, low, high in (("momentum", 0.0, 1.0), ("eps", 0.0, math.inf)):
        value = values.get(key)
        if value is not None and not (
            isinstance(value, (int, float, np.number)) and low <= value <= high and value < math.inf
        ):
            raise CheckpointError(
                f"{where}['{key}'] is {value!r}, expected a number in [{low}, {high}]"
            )


def _check_optim_config(rule, name, config, w, iteration):
    """A built-in rule's saved config: valid hyper-parameters (checked again), state arrays of
    w's shape and dtype, finite, and Adam's step count equal to the iterations done. A custom
    rule's is used as saved."""
    if rule not in UPDATE_RULES:
        return config
    where = f"optim_configs[{name!r}]"
    try:
        checked = optim.check_config(rule, config)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{where}: {error}") from None
    for key in optim.STATE[rule]:
        if key not in checked:
            continue
        state = checked[key]
        if not isinstance(state, np.ndarray) or state.shape != w.shape or state.dtype != w.dtype:
            raise CheckpointError(
                f"{where}[{key!r}] is {_describe(state)}, the parameter is {_describe(w)}"
            )
        _require_finite(f"{where}[{key!r}]", state)
    if "t" in checked and checked["t"] != iteration:
        raise CheckpointError(
            f"{where}['t'] is {checked['t']}, but the checkpoint is at iteration {iteration}"
        )
    return checked


def _check_progress(metadata, iterations_per_epoch):
    """The position and histories, checked against each other."""
    iteration, epoch = metadata["iteration"], metadata["epoch"]
    for name, value in (("iteration", iteration), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CheckpointError(f"{name} must be an integer >= 0, got {value!r}")
    if epoch != iteration // iterations_per_epoch:
        raise CheckpointError(
            f"epoch is {epoch}, but iteration {iteration} at {iterations_per_epoch} iterations "
            f"per epoch is epoch {iteration // iterations_per_epoch}"
        )
    histories = {}
    for name in ("loss_history", "train_acc_history", "val_acc_history"):
        values = metadata[name]
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise CheckpointError(f"{name} must be a list of numbers")
        histories[name] = [float(v) for v in values]
    if len(histories["loss_history"]) != iteration:
        raise CheckpointError(
            f"loss_history has {len(histories['loss_history'])} entries, but the checkpoint is "
            f"at iteration {iteration}"
        )
    # Accuracy is checked after the first iteration and at the end of every epoch.
    checks = epoch + (1 if iteration >= 1 and iterations_per_epoch > 1 else 0)
    for name in ("train_acc_history", "val_acc_history"):
        values = histories[name]
        if len(values) != checks:
            raise CheckpointError(
                f"{name} has {len(values)} entries, but iteration {iteration} (epoch {epoch}) "
                f"comes after {checks} accuracy checks"
            )
        if not all(0 <= v <= 1 for v in values):
            raise CheckpointError(f"{name} holds accuracies outside [0, 1]")
    best = metadata["best_val_acc"]
    expected = max(histories["val_acc_history"], default=0.0)
    if best != expected:
        raise CheckpointError(
            f"best_val_acc is {best!r}, but the best of val_acc_history is {expected!r}"
        )
    return {"epoch": epoch, "iteration": iteration, "best_val_acc": float(best), **histories}


def _check_dropout(saved, model):
    for name, value in saved.items():
        if _is_generator_entry(value) and not isinstance(
            model.dropout_param.get(name), np.random.Generator
        ):
            raise CheckpointError(
                f"the checkpoint has a random generator dropout_param[{name!r}]; the model has "
                "none there (was it built with the same seed option: None or a Generator, not an "
                "integer?)"
            )
    mode = saved.get("mode", "train")
    if mode not in ("train", "test"):
        raise CheckpointError(f"dropout_param['mode'] is {mode!r}, expected 'train' or 'test'")
    seed = saved.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise CheckpointError(f"dropout_param['seed'] is {seed!r}, expected an integer >= 0")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


# Random generators --------------------------------------------------------------------------------


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


def _generator_index(generator, generators):
    """The index of generator's bit generator in the list generators (appended if new)."""
    bit_generator = generator.bit_generator
    for i, known in enumerate(generators):
        if known is bit_generator:
            return i
    generators.append(bit_generator)
    return len(generators) - 1


def generator_from_state(state):
    """A new numpy Generator whose bit generator (PCG64, MT19937, ...) has the saved state."""
    return np.random.Generator(_bit_generator(state, "the checkpoint's random generator"))


def _bit_generator(state, where):
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise CheckpointError(f"{where} is not one of {sorted(BIT_GENERATORS)}: got {name!r}")
    bit_generator = BIT_GENERATORS[name]()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise CheckpointError(f"{where} has an invalid {name} state ({error})") from None
    return bit_generator


class _SavedGenerators:
    """The generators of a checkpoint, restored so that those that shared a stream share one
    again. numpy's global generator is never touched: a generator that drew from it (seed=None)
    continues on a copy of its state."""

    def __init__(self, metadata):
        self.states = metadata.get("generators")
        self.restored = {}  # index -> bit generator

    def restore(self, where, saved, current):
        """The generator to put where ``saved`` (a packed entry) was: ``current`` with the
        saved state (whoever else holds it continues too), or a new one."""
        if "generator_state" in saved or self.states is None:  # versions 1 and 2
            index, state = None, saved.get("generator_state", saved)
        else:
            index = saved["generator"]
            if not isinstance(index, int) or not 0 <= index < len(self.states):
                raise CheckpointError(f"{where} refers to no saved generator ({index!r})")
            state = self.states[index]
            if index in self.restored:
                return np.random.Generator(self.restored[index])
        bit_generator = _bit_generator(state, where)
        global_stream = np.random.get_bit_generator()
        if (
            isinstance(current, np.random.Generator)
            and current.bit_generator is not global_stream
            and type(current.bit_generator) is type(bit_generator)
        ):
            current.bit_generator.state = bit_generator.state
            bit_generator, generator = current.bit_generator, current
        else:
            generator = np.random.Generator(bit_generator)
        if index is not None:
            self.restored[index] = bit_generator
        return generator


# Dicts of state -----------------------------------------------------------------------------------


def pack(values, prefix, arrays, generators=None):
    """Split a dict of state into arrays (added to `arrays`) and a JSON-ready dict (returned).
    A random generator is added to the list `generators` (once per bit generator) and stands
    as its index; without that list, its state is written in place."""
    packed = {}
    for name, value in values.items():
        key = f"{prefix}/{name}"
        if isinstance(value, np.random.Generator):
            if generators is None:
                packed[name] = {"generator_state": value.bit_generator.state}
            else:
                packed[name] = {"generator": _generator_index(value, generators)}
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


def unpack(packed, arrays, target, generators=None):
    """Inverse of pack: put the saved values into the dict target (in place) and return it.

    A saved generator state is loaded into the generator already in target, so that whoever
    holds that generator (e.g. the model's dropout) continues from the saved state; unless that
    generator is numpy's global one (left alone: the entry gets a new generator) or the saved one
    shared its stream with a generator restored before (the entry then shares it again).
    """
    generators = _SavedGenerators({}) if generators is None else generators
    for name, value in packed.items():
        if _is_generator_entry(value):
            current = target.get(name)
            if not isinstance(current, np.random.Generator):
                raise CheckpointError(
                    f"the checkpoint has a random generator {name!r}; the model "
                    "has none there (was it built with the same options?)"
                )
            target[name] = generators.restore(f"generator {name!r}", value, current)
        elif isinstance(value, dict):
            key = value.get("array", value.get("scalar"))
            if key not in arrays:
                raise CheckpointError(f"the checkpoint's archive has no array {key!r}")
            target[name] = arrays[key] if "array" in value else arrays[key][()]
        else:
            target[name] = value
    return target


def _is_generator_entry(value):
    return isinstance(value, dict) and ("generator_state" in value or "generator" in value)


def check_params_fit(params, packed, arrays, where="params", empty=False):
    """Raise a CheckpointError unless saved parameters match the model's names, shapes, dtypes
    (or, with empty=True, are none at all)."""
    if empty and not packed:
        return
    if set(packed) != set(params):
        raise CheckpointError(
            f"the checkpoint has {where} {sorted(packed)}, the model has {sorted(params)}"
        )
    for name, w in params.items():
        entry = packed[name]
        saved = arrays.get(entry.get("array")) if isinstance(entry, dict) else None
        if saved is None or saved.shape != w.shape or saved.dtype != w.dtype:
            found = "nothing" if saved is None else f"{saved.shape} {saved.dtype}"
            label = "parameter" if where == "params" else f"{where} entry"
            raise CheckpointError(
                f"{label} {name!r}: the model has {w.shape} {w.dtype}, the checkpoint {found}"
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


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_checkpoint(path, arrays, metadata):
    """Write arrays and JSON metadata to one .npz file, atomically.

    The file is written under a temporary name in the same directory (an unnamed file where the
    system supports them, which a killed process cannot leave behind), flushed to disk, then
    renamed over path (os.replace is atomic): readers see the old file or the new one, never a
    partial one. Its mode follows the umask, as a file that ``open`` creates. The SHA-256 of
    each array's bytes goes into the metadata, and that of the whole file into the archive's
    comment.

    Inputs:
    - path: Destination file name; its directory is created if needed.
    - arrays: Dict from names to numpy arrays (no object arrays: those would need pickle).
    - metadata: JSON-serialisable dict of finite numbers, strings, lists and dicts, stored as a
      string under the key METADATA_KEY.

    Raises an OSError (a ``nndl.paths.PathError``) naming the path and what to do if the file
    cannot be written (no permission, a full disk, a file where a folder should be).
    """
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    if CHECKSUMS_KEY in metadata:
        raise ValueError(f"metadata must not have the key {CHECKSUMS_KEY!r}: the checksums' own")
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"cannot checkpoint {key}: an object array would need pickle")
    _check_finite(metadata, "metadata")
    members = {key: _npy_bytes(array) for key, array in arrays.items()}
    checksums = {key: _sha256(data) for key, data in members.items()}
    text = json.dumps(
        {**metadata, CHECKSUMS_KEY: checksums}, allow_nan=False, default=_json_default
    )
    members[METADATA_KEY] = _npy_bytes(np.array(text))

    def write(file):
        with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
            for key, data in members.items():
                archive.writestr(zipfile.ZipInfo(f"{key}.npy", MEMBER_TIME), data)
            archive.comment = TRAILER_PREFIX + b"0" * 64
        # The digest at the end of the comment covers every byte before it.
        size = file.tell()
        file.seek(0)
        digest = _hash_stream(file, size - 64)
        file.seek(size - 64)
        file.write(digest.encode("ascii"))

    _write_atomically(os.fspath(path), write, "write the checkpoint")


def _hash_stream(file, size):
    """The hex SHA-256 of the next `size` bytes of file."""
    digest = hashlib.sha256()
    left = size
    while left > 0:
        chunk = file.read(min(left, 1 << 20))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


# Temporary files: ".checkpoint-HOST-PID-TOKEN.tmp", so that a later writer on the same machine
# can tell that the process that made one is gone.
_TEMPORARY = re.compile(r"\.checkpoint-(?P<host>[A-Za-z0-9.]*)-(?P<pid>\d+)-[0-9a-f]+\.tmp")


def _host():
    return re.sub(r"[^A-Za-z0-9.]", "", socket.gethostname())[:40]


def _write_atomically(path, write, action):
    """Call write(file) on a new file, then put it at path in one step: a link of the unnamed
    file to a name nothing has yet, else a rename over the old file."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise explained(error, directory, "create the checkpoint folder") from None
    _remove_stale_temporaries(directory)
    temporary = None
    try:
        fd, temporary = _new_file(directory)
        with os.fdopen(fd, "w+b") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
            if temporary is None:  # an unnamed file: its final name, or a temporary one
                temporary = _give_name(file, directory, os.path.basename(path))
        if temporary is not None:
            os.replace(temporary, path)
            temporary = None
    except OSError as error:
        raise explained(error, path, action) from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
    _sync_folder(directory)


def _new_file(directory):
    """(fd, name) of a new file in directory, mode 0666 less the umask: an unnamed one
    (name None) where the system supports it, else a temporary name."""
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o666), None
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
    name = _temporary_name(directory)
    return os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666), name


def _give_name(file, directory, final):
    """Name the unnamed file: its final name if nothing has it yet (one atomic link: a kill
    leaves nothing behind), else a temporary name to rename over it, returned. Where the system
    refuses such links, a flushed copy under a temporary name."""
    folder = os.open(directory, os.O_RDONLY)
    try:
        # With dst_dir_fd, os.link calls linkat(..., AT_SYMLINK_FOLLOW): the link is to the file
        # that /proc/self/fd/N stands for, not to that symbolic link.
        for name in (final, os.path.basename(_temporary_name(directory))):
            try:
                os.link(f"/proc/self/fd/{file.fileno()}", name, dst_dir_fd=folder)
                return None if name == final else os.path.join(directory, name)
            except FileExistsError:
                continue  # an older checkpoint of that name: replaced by a rename
            except OSError:
                break
    finally:
        os.close(folder)
    name = _temporary_name(directory)
    with open(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), "wb") as copy:
        file.seek(0)
        shutil.copyfileobj(file, copy)
        copy.flush()
        os.fsync(copy.fileno())
    return name


def _temporary_name(directory):
    return os.path.join(
        directory, f".checkpoint-{_host()}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    )


def _remove_stale_temporaries(directory):
    """Remove the temporary files that writers on this machine that have died left in
    directory (a SIGKILL leaves no chance to clean up)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    host = _host()
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is None or match["host"] != host or _alive(int(match["pid"])):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _sync_folder(directory):
    """Flush the rename to disk (where folders can be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def read_checkpoint(path):
    """Read a file written by write_checkpoint, without ever unpickling, and verify it.

    Every member's size is checked against the file's and every array's header against the
    member's size before anything is allocated; each array's bytes against the SHA-256 in the
    metadata, and the whole file against the one in the archive's comment (files of versions 1
    and 2 have neither).

    Returns:
    - arrays: Dict from names to numpy arrays.
    - metadata: The JSON metadata, a dict.

    Raises CheckpointError if the file is not a readable checkpoint of this format and version,
    or is damaged; an OSError (a ``nndl.paths.PathError``) naming the path if it cannot be read.
    """
    with open_regular(path, "read the checkpoint") as file:
        size = os.fstat(file.fileno()).st_size
        trailer = _read_trailer(file, size)
        file.seek(0)
        try:
            archive = zipfile.ZipFile(file)
        except Exception as error:  # BadZipFile, and whatever else zipfile makes of damage
            raise CheckpointError(
                f"{path} is not a checkpoint: not a readable .npz (zip) archive ({error})"
            ) from None
        with archive:
            members = _read_members(path, archive, size)
        intact = trailer is not None and _hash_stream(_rewound(file), size - 64) == trailer
    metadata = _parse_metadata(path, members.pop(METADATA_KEY, None))
    checksums = metadata.pop(CHECKSUMS_KEY, None)
    version = metadata["version"]
    if version >= 3 and not isinstance(checksums, dict):
        raise CheckpointError(f"{path} is damaged: its metadata lacks the arrays' checksums")
    if isinstance(checksums, dict):
        for key in members.keys() | checksums.keys():
            if key not in checksums:
                raise CheckpointError(
                    f"{path} is damaged: it holds an array {key!r} that its metadata does not list"
                )
            if key not in members:
                raise CheckpointError(f"{path} is damaged: its array {key!r} is missing")
            if _sha256(members[key]) != checksums[key]:
                raise CheckpointError(
                    f"{path} is damaged: the bytes of its array {key!r} are not those written "
                    "(SHA-256 mismatch); resume from another checkpoint"
                )
    if version >= 3 and not intact:
        raise CheckpointError(
            f"{path} is damaged outside its arrays (in the archive's headers or directory): its "
            "bytes are not those written (SHA-256 mismatch); resume from another checkpoint"
        )
    arrays = {key: _parse_npy(path, key, data) for key, data in members.items()}
    return arrays, metadata


def _rewound(file):
    file.seek(0)
    return file


def _read_trailer(file, size):
    """The hex digest in the archive's comment, or None if the file has no such comment."""
    if size < TRAILER_SIZE:
        return None
    file.seek(size - TRAILER_SIZE)
    tail = file.read(TRAILER_SIZE)
    if not tail.startswith(TRAILER_PREFIX):
        return None
    return tail[len(TRAILER_PREFIX) :].decode("ascii", errors="replace")


def _read_members(path, archive, size):
    """Each member's bytes by array name; the zip's CRC of each is checked on the way."""
    members = {}
    for info in archive.infolist():
        name, key = info.filename, info.filename.removesuffix(".npy")
        if not name.endswith(".npy") or info.is_dir():
            raise CheckpointError(f"{path} is not a checkpoint: it holds {name!r}, not an array")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"{path} is not a checkpoint written by nndl: its member {name!r} is compressed"
            )
        if info.file_size > size:
            raise CheckpointError(
                f"{path} is damaged: its member {name!r} claims {info.file_size:,} bytes, the "
                f"file has {size:,}"
            )
        try:
            data = archive.read(info)
        # A bad CRC; or a damaged header claiming encryption (RuntimeError), a compression or
        # zip version zipfile does not know (NotImplementedError)...
        except Exception as error:
            raise CheckpointError(
                f"{path} is damaged: its array {key!r} cannot be read ({error})"
            ) from None
        members[key] = data
    return members


def _parse_metadata(path, data):
    if data is None:
        raise CheckpointError(f"{path} has no JSON metadata: it was not written by a Solver")
    text = _parse_npy(path, METADATA_KEY, data)
    if text.dtype.kind != "U" or text.ndim != 0:
        raise CheckpointError(f"{path} has no JSON metadata: it was not written by a Solver")
    try:
        # NaN and Infinity are not JSON, though Python's json reads them by default.
        metadata = json.loads(str(text), parse_constant=_reject_constant)
    except ValueError as error:
        raise CheckpointError(f"{path}: its metadata is not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an nndl Solver checkpoint")
    if metadata.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has checkpoint version {metadata.get('version')!r}; "
            f"this nndl reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    return metadata


def _parse_npy(path, key, data):
    """The array in the .npy bytes `data`, once its header's claim (shape times item size) has
    been found equal to the bytes that follow it: nothing is allocated for a false claim."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[version]
        shape, fortran_order, dtype = read_header(stream)
    except (ValueError, KeyError, EOFError, SyntaxError, TypeError):
        raise CheckpointError(
            f"{path} is damaged: the .npy header of its array {key!r} cannot be read"
        ) from None
    if dtype.hasobject:
        raise CheckpointError(
            f"{path} is not a checkpoint written by nndl: its array {key!r} holds Python "
            "objects, which only unpickling could rebuild; refused"
        )
    count = math.prod(shape)
    claimed, held = count * dtype.itemsize, len(data) - stream.tell()
    if claimed != held:
        raise CheckpointError(
            f"{path} is damaged: its array {key!r} claims shape {shape} of {dtype} "
            f"({claimed:,} bytes), but {held:,} bytes follow its header"
        )
    if count == 0:
        return np.empty(shape, dtype, order="F" if fortran_order else "C")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    return array.reshape(shape, order="F" if fortran_order else "C").copy()
