"""The Solver: minibatch training of a classification model (CS231n's interface), resumable.

A model is anything with
- ``model.params``: a dict from parameter names to numpy arrays;
- ``model.loss(X, y=None)``: scores of shape (N, C) when y is None (test mode), else
  ``(loss, grads)`` with ``grads`` a dict with the same keys as ``params`` (training mode).

Optionally ``model.bn_params`` (a list of dicts with the batch-norm running averages) and
``model.dropout_param`` (a dict, possibly with an ``rng`` Generator): the Solver checkpoints these
too, because a resumed run needs them to continue exactly. With ``model.num_classes`` the labels
are checked against it when the Solver is made; with ``model.dtype`` the splits are cast to it
once.

Example::

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, seed=0)
    solver.train()
    solver.status            # "finished", or "diverged", "failed" (see solver.message)
    solver.best_val_acc      # model.params (and bn_params' running averages) now hold the
                             # parameters that reached it

Checkpoints and resuming: with ``checkpoint_name="runs/net"`` the Solver writes
``runs/net_epoch_{epoch}.npz`` after the first iteration and after every epoch (``nndl.checkpoint``
says what the file holds). ``Solver.resume(path, model, data)`` rebuilds the Solver from it;
``.train()`` then carries on and ends with the same histories and parameters, bit for bit, as a
run that was never stopped.
"""

from __future__ import annotations

import logging
import math
import os

import numpy as np
from tqdm import tqdm

from nndl import checkpoint, optim
from nndl.arguments import require_int, require_number, seeded_or_global_rng
from nndl.checkpoint import DATA_KEYS, CheckpointError, read_checkpoint, write_checkpoint
from nndl.parameter_update import ParameterUpdate

__all__ = ["CheckpointError", "Solver", "read_checkpoint", "write_checkpoint"]

logger = logging.getLogger(__name__)

# The input that check_accuracy predicts at once, unless told a batch size.
EVAL_BATCH_BYTES = 4 * 2**20
# The largest copy of a split that the Solver makes to give it the model's dtype.
MAX_CAST_BYTES = 256 * 2**20
# What a diverged run's message suggests.
ADVICE = "try a smaller learning rate or weight scale"


class Solver:
    """Trains a model with minibatch stochastic gradient descent (or momentum, RMSProp, Adam).

    Each iteration draws a minibatch of batch_size training samples (with replacement) using the
    Solver's random generator, so a run is reproducible from its seed (and the model's); without
    a seed, from numpy's global generator, which np.random.seed sets. After
    the first iteration and at the end of every epoch, the Solver records the accuracy on (a sample
    of) the training set and on the validation set, keeps the parameters with the best validation
    accuracy, and writes a checkpoint if asked to. At the end of train(), the model holds those
    best parameters.

    Attributes after train():
    - status: "ready" before train(), "running" during it, then "finished"; "diverged" if a loss,
      running average, gradient or update became inf or nan; "failed" if train() raised (a
      checkpoint could not be written, say); "interrupted" after Ctrl-C.
    - message: A sentence explaining any status but "finished" ("" then): the first non-finite
      value and the iteration, or the error.
    - loss_history: Minibatch loss of every iteration (a diverged run ends with the failed step's).
    - train_acc_history, val_acc_history: Accuracies at each check.
    - best_val_acc, best_params: The best validation accuracy and the parameters that reached it.
    - best_bn_stats: The batch-norm running averages at that moment (one dict per bn_param).
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
        num_iterations=None,
        trainable=None,
        probe=None,
        probe_every=1,
        on_step=None,
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
        - batch_size: Number of samples per minibatch (at least 2 for a model with batch norm).
        - num_epochs: Number of epochs to train for; an epoch is N_train // batch_size iterations.
        - num_train_samples: Number of training samples to check accuracy on (None: all).
        - num_val_samples: Number of validation samples to check accuracy on (None: all).
        - checkpoint_name: If not None, write checkpoints to {checkpoint_name}_epoch_{epoch}.npz.
        - print_every: Refresh the loss shown on the progress bar every this many iterations.
        - verbose: Show a progress bar and one summary line per epoch; False is silent.
        - seed: Seed or numpy Generator for minibatch sampling and accuracy subsampling; None
          draws from numpy's global generator (np.random.seed sets it).

        Options for experiments (none of them is checkpointed: a Solver with any of them takes
        no checkpoint_name):
        - num_iterations: Train for this many iterations instead of num_epochs epochs (the
          epochs are still counted, and the accuracies checked at their ends).
        - trainable: Update only some parameters: a collection of parameter names, or a dict
          from names to True (the whole array) or to a boolean mask of the parameter's shape
          (only the True entries change). The others stay at their initial values.
        - probe: A function ``probe(model, X_batch, y_batch, iteration)`` called every
          probe_every iterations with that iteration's minibatch, before its update (iteration
          0 is the initial model), and once after the last iteration with X_batch and y_batch
          None; ``solver.probes`` collects ``(iteration, result)``. A probe that evaluates the
          loss should leave the model unchanged (``FullyConnectedNet.batch_loss``).
        - probe_every: The probe's period in iterations (an integer >= 1).
        - on_step: A function ``on_step(model, iteration)`` called before every iteration's loss
          (and before its probe), e.g. to redraw a network's noise (``nndl.why.shift``).
        """
        _check_model(model)
        _check_data(data, getattr(model, "num_classes", None))
        self.model = model
        # Cast once to the model's dtype (if it has one), not in every call of model.loss.
        dtype = getattr(model, "dtype", None)
        self.X_train, self.y_train = _as_dtype(data["X_train"], dtype), data["y_train"]
        self.X_val, self.y_val = _as_dtype(data["X_val"], dtype), data["y_val"]

        self.update_rule, self.update_rule_name = _resolve_update_rule(update_rule)
        self.optim_config = _check_optim_config(self.update_rule_name, optim_config)
        self.lr_decay = require_number("lr_decay", lr_decay, 0, low_open=True)
        self.batch_size = _check_batch_size(model, batch_size)
        self.num_epochs = require_int("num_epochs", num_epochs, minimum=0)
        self.num_train_samples = require_int("num_train_samples", num_train_samples, 1, none=True)
        self.num_val_samples = require_int("num_val_samples", num_val_samples, 1, none=True)
        self.checkpoint_name = _check_path("checkpoint_name", checkpoint_name)
        self.print_every = require_int("print_every", print_every, minimum=1)
        self.verbose = bool(verbose)
        self.rng = seeded_or_global_rng("seed", seed)  # None: np.random.seed's generator
        self.iterations_per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        self.num_iterations = require_int("num_iterations", num_iterations, 0, none=True)
        self.trainable = _check_trainable(trainable, model.params)
        self.probe = _check_callable("probe", probe)
        self.probe_every = require_int("probe_every", probe_every, minimum=1)
        self.on_step = _check_callable("on_step", on_step)
        self.probes = []  # (iteration, what probe returned)
        experimental = {
            "num_iterations": num_iterations,
            "trainable": trainable,
            "probe": probe,
            "on_step": on_step,
        }
        if self.checkpoint_name is not None and any(v is not None for v in experimental.values()):
            given = [name for name, value in experimental.items() if value is not None]
            raise ValueError(
                f"checkpoint_name cannot be combined with {', '.join(given)}: a checkpoint does "
                "not record them, so a resumed run would not continue the same training"
            )

        self.status, self.message = "ready", ""
        self.epoch = self.iteration = 0
        self.loss_history, self.train_acc_history, self.val_acc_history = [], [], []
        self.best_val_acc, self.best_params = 0.0, {}
        self.best_bn_stats = []  # the batch-norm running averages that go with best_params
        self.optim_configs = {name: dict(self.optim_config) for name in model.params}
        self._update = ParameterUpdate(self.update_rule)  # the small parameters in one call

    def train(self):
        """Train until num_epochs epochs are complete or the run diverges.

        A Solver made by Solver.resume carries on from its checkpoint's iteration. At the end, the
        model's parameters are replaced by copies of best_params, and its batch-norm running
        averages by those of the same moment (best_bn_stats).
        """
        num_iterations = self.num_epochs * self.iterations_per_epoch
        if self.num_iterations is not None:
            num_iterations = self.num_iterations
        self.status, self.message = "running", ""
        # A diverging run overflows in some layer before its loss is inf or nan: rather than numpy's
        # warnings from in there, each step checks the loss, the running averages and the new
        # parameters (one clear message).
        progress = tqdm(total=num_iterations, initial=self.iteration, disable=not self.verbose)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"), progress:
                while self.iteration < num_iterations:
                    loss, trouble = self._step()
                    self.loss_history.append(loss)
                    if trouble:
                        where = f"at iteration {self.iteration + 1} (epoch {self.epoch + 1})"
                        self.status, self.message = "diverged", trouble.replace("{where}", where)
                        break
                    self.iteration += 1
                    progress.update()
                    if self.iteration % self.print_every == 0:
                        progress.set_postfix(loss=f"{loss:.4g}")
                    self._end_of_iteration()
                if self.probe is not None and self.status != "diverged":
                    result = self.probe(self.model, None, None, self.iteration)
                    self.probes.append((self.iteration, result))
        except BaseException as error:
            # A failed checkpoint write (a full disk), an error in the model, Ctrl-C: the status
            # says so, and the model keeps the parameters of the last complete iteration.
            self.status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            where = f"after iteration {self.iteration} (epoch {self.epoch})"
            said = f": {error}" if str(error) else ""
            self.message = f"{type(error).__name__} {where}{said}"
            raise
        if self.status == "diverged":
            # Logged only now, so that the message does not garble the progress bar.
            logger.warning("training stopped: %s", self.message)
        else:
            self.status = "finished"
        self.model.params.update({name: w.copy() for name, w in self.best_params.items()})
        # With the running averages of the same moment: those of the last iteration belong to
        # other weights, and test mode would normalise with them.
        for bn_param, stats in zip(getattr(self.model, "bn_params", []), self.best_bn_stats):
            bn_param.update({key: value.copy() for key, value in stats.items()})

    def _step(self):
        """Update every parameter from one random minibatch.

        Returns:
        - loss: The minibatch loss, a float.
        - trouble: None, or a message (with a ``{where}`` to fill in) naming the first value that
          became inf or nan and why; the parameters are then left as they were, so that the
          Solver never writes a non-finite value into the model.
        """
        if self.on_step is not None:
            self.on_step(self.model, self.iteration)
        batch = self.rng.choice(self.X_train.shape[0], self.batch_size)
        X_batch, y_batch = self.X_train[batch], self.y_train[batch]
        if self.probe is not None and self.iteration % self.probe_every == 0:
            result = self.probe(self.model, X_batch, y_batch, self.iteration)
            self.probes.append((self.iteration, result))
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss) or not _finite_statistics(self.model):
            return loss, diagnose(self.model, loss, grads, self.X_train)
        if missing := self.model.params.keys() - grads.keys():
            raise KeyError(f"model.loss returned no gradient for parameters {sorted(missing)}")
        if self.trainable is None:
            updated, bad = self._update(self.model.params, grads, self.optim_configs)
        else:
            updated, bad = self._update_trainable(grads)
        if bad is not None:
            return loss, diagnose(self.model, loss, grads, update=(bad, updated[bad]))
        self.model.params.update(updated)
        return loss, None

    def _update_trainable(self, grads):
        """The update of the trainable parameters only (the others keep their values; a masked
        parameter changes only where its mask is True). Returns (updated, bad) as
        ParameterUpdate does."""
        params = self.model.params
        names = list(self.trainable)
        configs = {name: self.optim_configs[name] for name in names}
        updated, bad = self._update(
            {name: params[name] for name in names}, {name: grads[name] for name in names}, configs
        )
        self.optim_configs.update(configs)
        for name, mask in self.trainable.items():
            if mask is not None:
                updated[name] = np.where(mask, updated[name], params[name])
        return updated, bad

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
            train_acc = accuracy(
                self.model, self.X_train, self.y_train, self.num_train_samples, self.rng
            )
            val_acc = accuracy(self.model, self.X_val, self.y_val, self.num_val_samples, self.rng)
            self.train_acc_history.append(train_acc)
            self.val_acc_history.append(val_acc)
            if not self.best_params or val_acc > self.best_val_acc:
                self.best_val_acc = val_acc
                self.best_params = {name: w.copy() for name, w in self.model.params.items()}
                self.best_bn_stats = running_statistics(self.model)
            if self.checkpoint_name is not None:  # all that train() needs to continue exactly
                checkpoint.save(self, f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
            if self.verbose:
                tqdm.write(
                    f"(Epoch {self.epoch} / {self.num_epochs}) loss: {self.loss_history[-1]:.4f}; "
                    f"train acc: {train_acc:.3f}; val acc: {val_acc:.3f}"
                )

    def check_accuracy(self, X, y, num_samples=None, batch_size=None):
        """Fraction of samples the model classifies correctly.

        Inputs:
        - X: Array of shape (N, d_1, ..., d_k).
        - y: Integer array of shape (N,).
        - num_samples: If not None and less than N, check a random subset of this many samples
          (drawn without replacement with the Solver's generator).
        - batch_size: Predict this many samples at a time, to bound memory (None: see predict).

        Returns:
        - acc: A float in [0, 1].
        """
        X, y = _check_split("X", "y", X, y)
        _check_label_range("y", y, getattr(self.model, "num_classes", None))
        num_samples = require_int("num_samples", num_samples, minimum=1, none=True)
        batch_size = require_int("batch_size", batch_size, minimum=1, none=True)
        return accuracy(self.model, X, y, num_samples, self.rng, batch_size)

    @classmethod
    def resume(cls, path, model, data, **overrides):
        """A Solver rebuilt from the checkpoint file ``path``, whose train() continues the run.

        A checkpoint holds numbers, not code: build ``model`` as for the original run (same class
        and sizes) and pass the same ``data``; the checkpoint's parameters, running averages,
        generator states, optimiser state and histories then overwrite theirs. ``overrides`` are
        Solver keyword arguments to use instead of the checkpoint's (e.g. a larger num_epochs); a
        custom update_rule function must be passed again. See nndl.checkpoint.load.
        """
        return checkpoint.load(cls, path, model, data, overrides)


def predict(model, X, batch_size=None):
    """The model's predicted classes for X, computed batch_size samples at a time. None: as
    many as make about 4 MB of input, and at least 100 (with CS231n's fixed 100, the many small
    matrix products make the checks of a small CIFAR-10 training about 1.5x slower)."""
    if batch_size is None:
        batch_size = max(100, EVAL_BATCH_BYTES // max(X[:1].nbytes, 1))
    batches = range(0, X.shape[0], batch_size)
    return np.concatenate([np.argmax(model.loss(X[i : i + batch_size]), axis=1) for i in batches])


def accuracy(model, X, y, num_samples=None, rng=None, batch_size=None):
    """Fraction of the N samples of X (valid, as checked by the Solver) that the model classifies
    as y says; on num_samples of them drawn without replacement with rng if N is larger."""
    if num_samples is not None and X.shape[0] > num_samples:
        subset = rng.choice(X.shape[0], num_samples, replace=False)
        X, y = X[subset], y[subset]
    return float(np.mean(predict(model, X, batch_size) == y))


def _finite_statistics(model):
    """Whether every running variance (or mean, where a layer keeps no variance) of
    model.bn_params is finite. A mean that overflows makes its variance inf or nan too, and one
    sum in float64 (which no float32 value overflows) costs less than a check per array."""
    stats = [
        bn_param.get("running_var", bn_param.get("running_mean"))
        for bn_param in getattr(model, "bn_params", ())
    ]
    stats = [value for value in stats if value is not None]
    if not stats:
        return True
    if math.isfinite(np.concatenate([np.ravel(v) for v in stats], dtype=np.float64).sum()):
        return True
    # A float64 variance near its largest value can overflow the sum: look at each value.
    return all(np.isfinite(value).all() for value in stats)


def diagnose(model, loss, grads=None, X=None, update=None):
    """Why a training step failed, as a message with a ``{where}`` for the iteration: the first
    non-finite value in the order the step makes them (the parameters it starts from, the
    running averages of its forward pass, the gradients of its backward pass, the update's new
    values). The learning rate is blamed only where everything before was finite.

    Inputs:
    - model: the model after the failed step's forward and backward passes
    - loss: the step's loss
    - grads: the step's gradients (None if there are none)
    - X: the training inputs, to say how large they are when a statistic overflows
    - update: (name, new values) of the first parameter the update made non-finite, or None
    """
    where = "{where}"
    for name, w in model.params.items():
        if not np.isfinite(w).all():
            return (
                f"parameter {name!r} holds {_non_finite(w)} {where} (the loss became {loss}); "
                "the Solver never writes a non-finite value, so it was there before train() or "
                "was put there from outside"
            )
    for i, bn_param in enumerate(getattr(model, "bn_params", ())):
        for key in ("running_mean", "running_var"):
            value = bn_param.get(key)
            if value is not None and not np.isfinite(value).all():
                inputs = "" if X is None else f"the inputs reach |x| = {np.abs(X).max():.3g}, "
                return (
                    f"bn_params[{i}][{key!r}] became non-finite ({_non_finite(value)}) {where}: "
                    f"the batch's statistics overflowed {np.asarray(value).dtype} ({inputs}the "
                    f"weights |w| = {_largest(model.params):.3g}); scale the inputs (subtract "
                    f"the mean image, divide by the standard deviation) or {ADVICE}"
                )
    if grads is not None and math.isfinite(loss):
        for name in model.params:
            dw = grads.get(name)
            if dw is not None and not np.isfinite(dw).all():
                return (
                    f"the gradient of {name!r} holds {_non_finite(dw)} {where}, though the "
                    f"parameters and the loss ({loss:.4g}) are finite: the model's backward pass "
                    "produced it"
                )
    if update is not None:
        name, w = update
        return (
            f"the update rule made {name!r} non-finite ({_non_finite(w)}) {where} from a finite "
            f"gradient (largest |d{name}| = {np.abs(grads[name]).max():.3g}): the step was too "
            f"large; {ADVICE}"
        )
    return (
        f"the loss became {loss} {where} with finite parameters and running averages (the "
        f"largest |w| is {_largest(model.params):.3g}): the forward pass overflowed, the run "
        f"diverged; {ADVICE}"
    )


def _largest(params):
    return max((float(np.abs(w).max()) for w in params.values() if w.size), default=0.0)


def _non_finite(value):
    value = np.asarray(value)
    nan = int(np.count_nonzero(np.isnan(value)))
    inf = int(np.count_nonzero(np.isinf(value)))
    parts = [f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else ""]
    return f"{' and '.join(p for p in parts if p)} of {value.size} values"


def running_statistics(model):
    """Copies of the running averages in each of model.bn_params (none for a model without)."""
    keys = ("running_mean", "running_var")
    return [
        {key: np.array(bn_param[key]) for key in keys if key in bn_param}
        for bn_param in getattr(model, "bn_params", [])
    ]


def _check_model(model):
    if not isinstance(getattr(model, "params", None), dict) or not callable(
        getattr(model, "loss", None)
    ):
        raise TypeError(
            f"model must have a .params dict and a .loss(X, y=None) method; got {type(model)}"
        )


def _check_data(data, num_classes=None):
    """Raise an error saying what is wrong if data is not a consistent train/val split."""
    if not isinstance(data, dict):
        raise TypeError(
            f"data must be a dict with keys {list(DATA_KEYS)}, got {type(data).__name__}"
        )
    missing = [key for key in DATA_KEYS if key not in data]
    if missing:
        raise ValueError(f"data must be a dict with keys {list(DATA_KEYS)}; missing {missing}")
    for split in ("train", "val"):
        X, y = _check_split(f"X_{split}", f"y_{split}", data[f"X_{split}"], data[f"y_{split}"])
        # Checked once here rather than in every layer call: a NaN in the data would otherwise
        # surface as a "diverged" run, blamed on the learning rate.
        if X.dtype.kind in "fc" and not np.isfinite(X).all():
            bad = int(np.count_nonzero(~np.isfinite(X).reshape(X.shape[0], -1).all(axis=1)))
            raise ValueError(
                f"X_{split} has NaN or infinite values in {bad} of {X.shape[0]} samples"
            )
        _check_label_range(f"y_{split}", y, num_classes)
    if data["X_val"].shape[1:] != data["X_train"].shape[1:]:
        raise ValueError(
            f"X_val samples have shape {data['X_val'].shape[1:]} "
            f"but X_train samples have shape {data['X_train'].shape[1:]}"
        )


def _check_label_range(y_name, y, num_classes=None):
    """Raise an error naming y unless its labels are classes of the model (>= 0 when it does not
    say how many it has): a label out of range would crash the loss in training, and count as a
    wrong prediction in an accuracy."""
    low, high = int(y.min()), int(y.max())
    if low < 0 or (num_classes is not None and high >= num_classes):
        expected = (
            f"0..{num_classes - 1} (the model's num_classes is {num_classes})"
            if num_classes is not None
            else ">= 0"
        )
        raise ValueError(
            f"{y_name} must hold class labels {expected}, got labels from {low} to {high}"
        )


def _check_split(X_name, y_name, X, y):
    """Raise an error naming X or y unless they are N > 0 samples and N integer labels."""
    if not isinstance(X, np.ndarray) or X.ndim < 1 or X.shape[0] == 0:
        got = f"shape {X.shape}" if isinstance(X, np.ndarray) else type(X).__name__
        raise ValueError(f"{X_name} must be a non-empty numpy array of shape (N, ...), got {got}")
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.integer):
        got = f"dtype {y.dtype}" if isinstance(y, np.ndarray) else type(y).__name__
        raise ValueError(f"{y_name} must be a numpy array of integer labels, got {got}")
    if y.shape != X.shape[:1]:
        raise ValueError(
            f"{y_name} must have shape ({X.shape[0]},) to match {X_name} of shape "
            f"{X.shape}; got {y.shape}"
        )
    return X, y


def _as_dtype(X, dtype):
    """X in the floating dtype a model computes in; X itself if it has it, if dtype is None, or
    if the copy would be large (the model then casts each batch, as it would anyway)."""
    if not isinstance(dtype, np.dtype) or dtype.kind != "f" or X.dtype.kind not in "iuf":
        return X
    if X.dtype != dtype and X.size * dtype.itemsize > MAX_CAST_BYTES:
        return X
    return X.astype(dtype, copy=False)


def _check_optim_config(rule, optim_config):
    """A built-in rule's config is checked now, once (numpy scalars become floats); a custom
    rule's is only copied."""
    if rule in optim.UPDATE_RULES:
        return optim.check_config(rule, optim_config)
    if optim_config is None or isinstance(optim_config, dict):
        return dict(optim_config or {})
    raise TypeError(f"optim_config must be a dict or None, got {type(optim_config).__name__}")


def _check_batch_size(model, batch_size):
    """batch_size as an int >= 1; 1 is refused for a model that batch-normalises in training."""
    batch_size = require_int("batch_size", batch_size, minimum=1)
    if batch_size == 1 and getattr(model, "normalization", None) == "batchnorm":
        raise ValueError(
            "batch_size must be at least 2 for a model with batch normalization, got 1: the "
            "variance of a batch of one example is 0, so batch norm outputs beta whatever the "
            "input and no gradient reaches the layers below it (the network cannot learn). Use "
            "batch_size >= 2 (CS231n trains with 50 to 200), or layer norm, which normalises "
            "each example over its own features"
        )
    return batch_size


def _check_callable(name, function):
    if function is not None and not callable(function):
        raise TypeError(f"{name} must be a function or None, got {type(function).__name__}")
    return function


def _check_trainable(trainable, params):
    """trainable as a dict from parameter names to None (the whole array) or a boolean mask of
    the parameter's shape; None stays None (every parameter)."""
    if trainable is None:
        return None
    if isinstance(trainable, str) or not isinstance(trainable, dict | list | tuple | set):
        raise TypeError(
            "trainable must be None, a collection of parameter names or a dict from names to "
            f"True or a boolean mask, got {type(trainable).__name__} {trainable!r:.60}"
        )
    entries = trainable.items() if isinstance(trainable, dict) else ((n, True) for n in trainable)
    checked = {}
    for name, mask in entries:
        if name not in params:
            raise ValueError(
                f"trainable names {name!r}, which is not a parameter of the model; its "
                f"parameters are {sorted(params)}"
            )
        if mask is True:
            checked[name] = None
            continue
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != params[name].shape:
            raise ValueError(
                f"trainable[{name!r}] must be True or a boolean mask of shape "
                f"{params[name].shape}, got {mask.dtype} of shape {mask.shape}"
            )
        checked[name] = mask
    if not checked:
        raise ValueError("trainable names no parameter: nothing would be trained")
    return checked


def _check_path(name, path):
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path or None, got {type(path).__name__}")
    return None if path is None else os.fspath(path)


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
