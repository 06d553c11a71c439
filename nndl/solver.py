"""The Solver: minibatch training of a classification model, with checkpoints that resume exactly.

A model is anything with
- ``model.params``: a dict from parameter names to numpy arrays;
- ``model.loss(X, y=None)``: scores of shape (N, C) when y is None (test mode), else
  ``(loss, grads)`` with ``grads`` a dict with the same keys as ``params`` (training mode).

Optionally ``model.bn_params`` (a list of dicts with the batch-norm running averages) and
``model.dropout_param`` (a dict, possibly with an ``rng`` Generator): the Solver checkpoints these
too, because a resumed run needs them to continue exactly.

Example::

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, seed=0)
    solver.train()
    solver.status            # "finished", or "diverged" (see solver.message)
    solver.best_val_acc      # model.params now holds the parameters that reached it

Checkpoints and resuming: with ``checkpoint_name="runs/net"`` the Solver writes
``runs/net_epoch_{epoch}.npz`` after the first iteration and after every epoch. Each is one .npz
file of plain arrays (no pickle) holding the model's parameters, the optimiser state, the best
parameters and, under the key ``"metadata"``, a JSON document with the hyper-parameters, the
histories, the position in training and the random-generator states. It is written to a temporary
file and renamed, so a crash never leaves half a checkpoint. ``Solver.resume(path, model, data)``
rebuilds the Solver from it; ``.train()`` then carries on and ends with the same histories and
parameters, bit for bit, as a run that was never stopped.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import tempfile
import zipfile

import numpy as np
from tqdm import tqdm

from nndl import optim

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "nndl.solver checkpoint"
CHECKPOINT_VERSION = 1
# The key of the JSON document inside a checkpoint's .npz file.
METADATA_KEY = "metadata"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class CheckpointError(ValueError):
    """A checkpoint is unreadable, not written by a Solver, or does not fit the model or data."""


class Solver:
    """Trains a model with minibatch stochastic gradient descent (or momentum, RMSProp, Adam).

    Each iteration draws a minibatch of batch_size training samples (with replacement) using the
    Solver's own random generator, so a run is reproducible from its seed (and the model's). After
    the first iteration and at the end of every epoch, the Solver records the accuracy on (a sample
    of) the training set and on the validation set, keeps the parameters with the best validation
    accuracy, and writes a checkpoint if asked to. At the end of train(), the model holds those
    best parameters.

    Attributes after train():
    - status: "ready" before train(), then "finished", or "diverged" if the loss became inf or nan.
    - message: A sentence explaining a "diverged" status ("" otherwise).
    - loss_history: Minibatch loss of every iteration (a diverged run ends with the failed step's).
    - train_acc_history, val_acc_history: Accuracies at each check.
    - best_val_acc, best_params: The best validation accuracy and the parameters that reached it.
    - epoch, iteration: Completed epochs and iterations.
    """

    def __init__(
        self,
        model,
        data,
        *,
        update_rule="sgd",
        optim_config=None,
        lr_decay=1.0,
        batch_size=100,
        num_epochs=10,
        num_train_samples=1000,
        num_val_samples=None,
        checkpoint_name=None,
        print_every=10,
        verbose=True,
        seed=None,
    ):
        """Set up a Solver; nothing is trained until train() is called.

        Inputs:
        - model: An object with .params and .loss, as described in the module docstring.
        - data: A dict with
          - X_train: Array of shape (N_train, d_1, ..., d_k) of training samples.
          - y_train: Integer array of shape (N_train,) of training labels.
          - X_val: Array of shape (N_val, d_1, ..., d_k) of validation samples.
          - y_val: Integer array of shape (N_val,) of validation labels.
        - update_rule: Name of a rule in nndl.optim ("sgd", "sgd_momentum", "rmsprop", "adam") or a
          function with the same interface.
        - optim_config: Dict of hyper-parameters for the update rule (e.g. learning_rate); each
          parameter gets its own copy, which also holds that parameter's optimiser state.
        - lr_decay: The learning rate is multiplied by this after every epoch.
        - batch_size: Number of samples per minibatch.
        - num_epochs: Number of epochs to train for; an epoch is N_train // batch_size iterations.
        - num_train_samples: Number of training samples to check accuracy on (None: all).
        - num_val_samples: Number of validation samples to check accuracy on (None: all).
        - checkpoint_name: If not None, write checkpoints to {checkpoint_name}_epoch_{epoch}.npz.
        - print_every: Refresh the loss shown on the progress bar every this many iterations.
        - verbose: Show a progress bar and one summary line per epoch; False is silent.
        - seed: Seed or numpy Generator for minibatch sampling and accuracy subsampling.
        """
        _check_model(model)
        _check_data(data)
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        self.update_rule, self.update_rule_name = _resolve_update_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        if not (isinstance(lr_decay, numbers.Real) and lr_decay > 0):
            raise ValueError(f"lr_decay must be a positive number, got {lr_decay!r}")
        self.lr_decay = lr_decay
        self.batch_size = _require_int("batch_size", batch_size, minimum=1)
        self.num_epochs = _require_int("num_epochs", num_epochs, minimum=0)
        self.num_train_samples = _require_int("num_train_samples", num_train_samples, 1, none=True)
        self.num_val_samples = _require_int("num_val_samples", num_val_samples, 1, none=True)
        self.checkpoint_name = None if checkpoint_name is None else os.fspath(checkpoint_name)
        self.print_every = _require_int("print_every", print_every, minimum=1)
        self.verbose = bool(verbose)
        self.rng = np.random.default_rng(seed)
        self.iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)

        self.status = "ready"
        self.message = ""
        self.epoch = 0
        self.iteration = 0
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.best_val_acc = 0.0
        self.best_params = {}
        self.optim_configs = {name: dict(self.optim_config) for name in model.params}

    def train(self):
        """Train until num_epochs epochs are complete or the run diverges.

        A Solver made by Solver.resume carries on from its checkpoint's iteration. At the end, the
        model's parameters are replaced by copies of best_params.
        """
        num_iterations = self.num_epochs * self.iterations_per_epoch
        self.status = "running"
        # A diverging run overflows inside some layer before its loss is inf or nan, and numpy
        # would warn (or raise, under np.seterr(all="raise")) from deep in there. We let values go
        # non-finite quietly instead: every step checks the loss and the new parameters, and the
        # run stops with one clear message.
        progress = tqdm(total=num_iterations, initial=self.iteration, disable=not self.verbose)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), progress:
            while self.iteration < num_iterations:
                loss, trouble = self._step()
                self.loss_history.append(loss)
                if trouble:
                    self.status = "diverged"
                    self.message = (
                        f"{trouble} at iteration {self.iteration + 1} (epoch {self.epoch + 1}); "
                        "try a smaller learning rate or weight scale"
                    )
                    break
                self.iteration += 1
                progress.update()
                if self.iteration % self.print_every == 0:
                    progress.set_postfix(loss=f"{loss:.4g}")
                self._end_of_iteration()
        if self.status == "diverged":
            # Logged only now, so that the message does not garble the progress bar.
            logger.warning("training stopped: %s", self.message)
        else:
            self.status = "finished"
        self.model.params.update({name: w.copy() for name, w in self.best_params.items()})

    def _step(self):
        """Update every parameter from one random minibatch.

        Returns:
        - loss: The minibatch loss, a float.
        - trouble: None, or what became inf or nan; the parameters are then left as they were, so
          that the model never holds non-finite values.
        """
        batch = self.rng.choice(self.X_train.shape[0], self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        loss = float(loss)
        if not np.isfinite(loss):
            return loss, f"loss became {loss}"
        missing = self.model.params.keys() - grads.keys()
        if missing:
            raise KeyError(f"model.loss returned no gradient for parameters {sorted(missing)}")
        updated = {}
        for name, w in self.model.params.items():
            updated[name], self.optim_configs[name] = self.update_rule(
                w, grads[name], self.optim_configs[name]
            )
        for name, w in updated.items():
            if not np.all(np.isfinite(w)):
                return loss, f"the update made {name} inf or nan"
        self.model.params.update(updated)
        return loss, None

    def _end_of_iteration(self):
        """Count epochs and decay the learning rate; check accuracy after the first iteration and
        at the end of each epoch."""
        epoch_end = self.iteration % self.iterations_per_epoch == 0
        if epoch_end:
            self.epoch += 1
            for config in self.optim_configs.values():
                if "learning_rate" in config:
                    config["learning_rate"] *= self.lr_decay
        if self.iteration == 1 or epoch_end:
            train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
            self.train_acc_history.append(train_acc)
            self.val_acc_history.append(val_acc)
            if not self.best_params or val_acc > self.best_val_acc:
                self.best_val_acc = val_acc
                self.best_params = {name: w.copy() for name, w in self.model.params.items()}
            if self.checkpoint_name is not None:
                self._save_checkpoint()
            if self.verbose:
                tqdm.write(
                    f"(Epoch {self.epoch} / {self.num_epochs}) loss: {self.loss_history[-1]:.4f}; "
                    f"train acc: {train_acc:.3f}; val acc: {val_acc:.3f}"
                )

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of samples the model classifies correctly.

        Inputs:
        - X: Array of shape (N, d_1, ..., d_k).
        - y: Integer array of shape (N,).
        - num_samples: If not None and less than N, check a random subset of this many samples
          (drawn without replacement with the Solver's generator).
        - batch_size: Predict this many samples at a time, to bound memory.

        Returns:
        - acc: A float in [0, 1].
        """
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            subset = self.rng.choice(N, num_samples, replace=False)
            X, y = X[subset], y[subset]
            N = num_samples
        y_pred = np.concatenate(
            [
                np.argmax(self.model.loss(X[start : start + batch_size]), axis=1)
                for start in range(0, N, batch_size)
            ]
        )
        return float(np.mean(y_pred == y))

    def _hyperparameters(self):
        """The constructor's arguments (but the seed: the generator's state is saved instead)."""
        return {
            "update_rule": self.update_rule_name,
            "optim_config": self.optim_config,
            "lr_decay": self.lr_decay,
            "batch_size": self.batch_size,
            "num_epochs": self.num_epochs,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "checkpoint_name": self.checkpoint_name,
            "print_every": self.print_every,
            "verbose": self.verbose,
        }

    def _save_checkpoint(self):
        """Write everything train() needs to continue exactly to {checkpoint_name}_epoch_{epoch}."""
        arrays = {}
        metadata = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "hyperparameters": self._hyperparameters(),
            "data_shapes": {key: list(getattr(self, key).shape) for key in DATA_KEYS},
            "epoch": self.epoch,
            "iteration": self.iteration,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "best_val_acc": self.best_val_acc,
            "solver_rng": self.rng.bit_generator.state,
            "params": _pack(self.model.params, "params", arrays),
            "best_params": _pack(self.best_params, "best_params", arrays),
            "optim_configs": {
                name: _pack(config, f"optim_configs/{name}", arrays)
                for name, config in self.optim_configs.items()
            },
            "bn_params": [
                _pack(bn_param, f"bn_params/{i}", arrays)
                for i, bn_param in enumerate(getattr(self.model, "bn_params", []))
            ],
            "dropout_param": _pack(getattr(self.model, "dropout_param", {}), "dropout", arrays),
        }
        write_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz", arrays, metadata)

    @classmethod
    def resume(cls, path, model, data, **overrides):
        """Rebuild a Solver from a checkpoint, ready to continue training where it stopped.

        A checkpoint holds numbers, not code, so the model and data come from the caller: build the
        model as for the original run (same class, sizes, dropout, batch norm). Its parameters,
        batch-norm running averages and dropout generator state are then overwritten with the
        checkpoint's, as are the Solver's optimiser state, histories and generator state.

        Inputs:
        - path: A .npz file written by a Solver with a checkpoint_name.
        - model, data: As for Solver().
        - overrides: Solver keyword arguments to use instead of the checkpoint's, e.g. num_epochs
          to train for longer, verbose, or checkpoint_name. A run with a custom update_rule
          function must pass it again (functions are not stored).

        Returns:
        - solver: A Solver whose train() continues the run.
        """
        arrays, metadata = read_checkpoint(path)
        try:
            hyperparameters = {**metadata["hyperparameters"], **overrides}
        except (KeyError, TypeError) as error:
            raise CheckpointError(f"{path}: no hyper-parameters in its metadata") from error
        rule = hyperparameters.get("update_rule")
        if isinstance(rule, str) and rule not in optim.UPDATE_RULES:
            raise CheckpointError(
                f"{path} was written with the custom update rule {rule!r}; pass it again: "
                "Solver.resume(path, model, data, update_rule=...)"
            )
        solver = cls(model, data, **hyperparameters)
        try:
            solver._restore(arrays, metadata)
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CheckpointError(f"{path}: malformed checkpoint ({error!r})") from error
        return solver

    def _restore(self, arrays, metadata):
        """Load a checkpoint's state into this Solver and its model: _save_checkpoint's inverse."""
        model = self.model
        for key in DATA_KEYS:
            shape = metadata["data_shapes"][key]
            if list(getattr(self, key).shape) != shape:
                raise CheckpointError(
                    f"the checkpoint was trained with {key} of shape {tuple(shape)}, "
                    f"but data has {key} of shape {getattr(self, key).shape}"
                )
        _check_params_fit(model.params, metadata["params"], arrays)
        _unpack(metadata["params"], arrays, model.params)
        self.best_params = _unpack(metadata["best_params"], arrays, {})
        if set(metadata["optim_configs"]) != set(model.params):
            raise CheckpointError("the checkpoint's optimiser state is not one per model parameter")
        self.optim_configs = {
            name: _unpack(config, arrays, {}) for name, config in metadata["optim_configs"].items()
        }
        bn_params = getattr(model, "bn_params", [])
        if len(bn_params) != len(metadata["bn_params"]):
            raise CheckpointError(
                f"the checkpoint has {len(metadata['bn_params'])} batch-norm layers, "
                f"the model has {len(bn_params)}"
            )
        for saved, bn_param in zip(metadata["bn_params"], bn_params, strict=True):
            _unpack(saved, arrays, bn_param)
        if metadata["dropout_param"] and not hasattr(model, "dropout_param"):
            raise CheckpointError("the checkpoint has dropout state but the model has no dropout")
        _unpack(metadata["dropout_param"], arrays, getattr(model, "dropout_param", {}))
        self.rng.bit_generator.state = metadata["solver_rng"]
        self.epoch = int(metadata["epoch"])
        self.iteration = int(metadata["iteration"])
        self.loss_history = [float(x) for x in metadata["loss_history"]]
        self.train_acc_history = [float(x) for x in metadata["train_acc_history"]]
        self.val_acc_history = [float(x) for x in metadata["val_acc_history"]]
        self.best_val_acc = float(metadata["best_val_acc"])


def _check_model(model):
    if not isinstance(getattr(model, "params", None), dict) or not callable(
        getattr(model, "loss", None)
    ):
        raise TypeError(
            f"model must have a .params dict and a .loss(X, y=None) method; got {type(model)}"
        )


def _check_data(data):
    """Raise a ValueError saying what is wrong if data is not a consistent train/val split."""
    if not isinstance(data, dict) or any(key not in data for key in DATA_KEYS):
        missing = [key for key in DATA_KEYS if key not in data] if isinstance(data, dict) else []
        raise ValueError(f"data must be a dict with keys {list(DATA_KEYS)}; missing {missing}")
    for split in ("train", "val"):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        if not isinstance(X, np.ndarray) or X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"X_{split} must be a non-empty numpy array of shape (N, ...)")
        if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_{split} must be a numpy array of integer labels")
        if y.shape != X.shape[:1]:
            raise ValueError(
                f"y_{split} must have shape ({X.shape[0]},) to match X_{split} of shape "
                f"{X.shape}; got {y.shape}"
            )
        # Checked once here rather than in every layer call: a NaN in the data would otherwise
        # surface as a "diverged" run, blamed on the learning rate.
        if X.dtype.kind in "fc" and not np.isfinite(X).all():
            bad = int(np.count_nonzero(~np.isfinite(X).reshape(X.shape[0], -1).all(axis=1)))
            raise ValueError(
                f"X_{split} has NaN or infinite values in {bad} of {X.shape[0]} samples"
            )
    if data["X_val"].shape[1:] != data["X_train"].shape[1:]:
        raise ValueError(
            f"X_val samples have shape {data['X_val'].shape[1:]} "
            f"but X_train samples have shape {data['X_train'].shape[1:]}"
        )


def _require_int(name, value, minimum, none=False):
    """Return value as an int, or raise a ValueError if it is not an integer >= minimum."""
    if none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        allowed = " or None" if none else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{allowed}, got {value!r}")
    return int(value)


def _resolve_update_rule(update_rule):
    """Return (function, name) for a rule given by name or as a function."""
    if callable(update_rule):
        builtin = optim.UPDATE_RULES.get(getattr(update_rule, "__name__", None))
        if builtin is update_rule:
            return update_rule, update_rule.__name__
        # Qualified, so that a custom rule is never mistaken for a built-in one on resume.
        name = f"{update_rule.__module__}.{getattr(update_rule, '__qualname__', update_rule)}"
        return update_rule, name
    if update_rule not in optim.UPDATE_RULES:
        raise ValueError(
            f"unknown update_rule {update_rule!r}; valid ones are {list(optim.UPDATE_RULES)} "
            "or a function (w, dw, config) -> (next_w, config)"
        )
    return optim.UPDATE_RULES[update_rule], update_rule


# Checkpoint files ---------------------------------------------------------------------------------
#
# A checkpoint is one .npz archive of plain arrays. Dicts of state (parameters, optimiser configs,
# batch-norm and dropout parameters) are split by _pack: arrays go into the archive under a key
# "prefix/name", everything else (numbers, strings, generator states) into the JSON metadata, with
# {"array": key} standing for an array and {"scalar": key} for a numpy scalar (kept as an array
# so that its dtype, which decides the dtype of the arithmetic it enters, survives the round trip).


def _pack(values, prefix, arrays):
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


def _unpack(packed, arrays, target):
    """Inverse of _pack: put the saved values into the dict target (in place) and return it.

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


def _check_params_fit(params, packed, arrays):
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


def _json_default(value):
    """Let json write numpy scalars (e.g. a learning rate given as np.float32) as numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to a checkpoint's JSON metadata")


def write_checkpoint(path, arrays, metadata):
    """Write arrays and JSON metadata to one .npz file, atomically.

    The file is written under a temporary name in the same directory, flushed to disk, then renamed
    over path (os.replace is atomic): readers see the old file or the new one, never a partial one.

    Inputs:
    - path: Destination file name; its directory is created if needed.
    - arrays: Dict from names to numpy arrays (no object arrays: those would need pickle).
    - metadata: JSON-serialisable dict, stored as a string under the key METADATA_KEY.
    """
    for key, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(f"cannot checkpoint {key}: an object array would need pickle")
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
        metadata = json.loads(str(text))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its metadata is not valid JSON ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an nndl Solver checkpoint")
    if metadata.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {metadata.get('version')!r}; "
            f"this nndl reads version {CHECKPOINT_VERSION}"
        )
    return arrays, metadata
