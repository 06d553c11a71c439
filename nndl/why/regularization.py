"""Is batch normalization a regularizer? Chapter 15's measurements.

Two experiments. The gap between training and validation accuracy at *equal training loss*, for
networks with and without batch normalization, dropout and an L2 penalty: a regularizer should
narrow it. And Frankle et al.'s (2021): train only batch norm's gamma and beta, every weight
frozen at its random initialisation, against as many randomly chosen weights trained instead.
Both train with Adam (``nndl.optim.adam``) in a plain loop over ``FullyConnectedNet.loss``: a
parameter left out of the trainable set is never updated, and a weight outside a mask gets a
zero gradient, so Adam's moments stay zero and it never moves. (``Solver(trainable=...)`` can
train a subset too, but it evaluates sampled accuracies every epoch and ends on the parameters
of the best validation accuracy; these experiments need the full training loss after every
epoch, a stop at a target loss and the final parameters.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from nndl.arguments import require_int, require_number
from nndl.optim import adam
from nndl.why.common import accuracy, full_loss, he_network, one_blas_thread, unit_data

# The settings of chapters 7 and 8: 1,000 training images; up to 2,000 validation images.
NUM_TRAIN = 1000
NUM_VAL = 2000

# The networks of the gap experiment: FullyConnectedNet options by name.
REGULARIZERS: dict[str, dict] = {
    "plain": {},
    "batch norm": {"batchnorm": True},
    "dropout": {"dropout": 0.3},
    "L2": {"reg": 1e-2},
    "batch norm + dropout": {"batchnorm": True, "dropout": 0.3},
}

# Frankle et al.'s variants: what is trained, and the learning rate.
FRANKLE = {
    "all parameters": 1e-3,
    "gamma and beta": 1e-2,
    "output layer": 1e-2,
    "random weights": 1e-2,
}


class Adam:
    """Adam over a chosen subset of a model's parameters (``nndl.optim.adam``, one state per
    parameter); ``masks`` limit a parameter's update to some of its entries."""

    def __init__(self, model, names, learning_rate: float, masks: Mapping | None = None):
        unknown = sorted(set(names) - set(model.params))
        if unknown:
            raise ValueError(f"Adam: names {unknown} are not parameters of the model")
        self.model = model
        self.names = list(names)
        self.masks = dict(masks or {})
        self.configs = {name: {"learning_rate": learning_rate} for name in self.names}

    def step(self, X, y) -> float:
        """One update on the minibatch (X, y); returns its loss."""
        loss, grads = self.model.loss(X, y)
        for name in self.names:
            grad = grads[name] * self.masks[name] if name in self.masks else grads[name]
            self.model.params[name], self.configs[name] = adam(
                self.model.params[name], grad, self.configs[name]
            )
        return float(loss)


@dataclass
class GapRun:
    """One network of the gap experiment: its histories, one entry per epoch (test mode)."""

    name: str
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)

    def first_epoch_below(self, loss: float) -> int | None:
        """The first epoch (counted from 1) whose training loss is at most ``loss``."""
        below = [e for e, value in enumerate(self.train_loss, start=1) if value <= loss]
        return below[0] if below else None

    def gap(self, epoch: int) -> float:
        """Training minus validation accuracy after ``epoch`` (counted from 1)."""
        return self.train_acc[epoch - 1] - self.val_acc[epoch - 1]


@one_blas_thread
def train_gap(
    dataset: str,
    name: str,
    *,
    hidden_dims: Sequence[int] = (100,) * 3,
    num_epochs: int = 150,
    stop_below: float | None = 0.05,
    batch_size: int = 50,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> GapRun:
    """Train the network ``REGULARIZERS[name]`` (ReLU, He initialisation) with Adam on the
    first ``NUM_TRAIN`` training images of ``dataset`` for ``num_epochs`` epochs of minibatches
    drawn at random, or until the first epoch after which the training loss is at most
    ``stop_below`` (None: never stop early); after every epoch record the training loss and
    accuracy on all of them and the validation accuracy and loss, in test mode (no dropout,
    running averages, no L2 penalty)."""
    if name not in REGULARIZERS:
        raise ValueError(f"train_gap: name must be one of {sorted(REGULARIZERS)}, got {name!r}")
    num_epochs = require_int("num_epochs", num_epochs)
    data = unit_data(dataset, NUM_TRAIN, NUM_VAL)
    X, y = data["X_train"], data["y_train"]
    options = dict(REGULARIZERS[name])
    batchnorm = options.pop("batchnorm", False)
    rng = np.random.default_rng(seed)
    # A Generator: a new dropout mask at every step, reproducibly.
    model = he_network(X.shape[1], hidden_dims, batchnorm, rng, **options)
    optimizer = Adam(model, model.params, require_number("learning_rate", learning_rate))
    run = GapRun(name)
    per_epoch = max(len(y) // batch_size, 1)
    for _ in range(num_epochs):
        for _ in range(per_epoch):
            batch = rng.choice(len(y), batch_size)
            optimizer.step(X[batch], y[batch])
        run.train_loss.append(full_loss(model, X, y))
        run.train_acc.append(accuracy(model, X, y))
        run.val_acc.append(accuracy(model, data["X_val"], data["y_val"]))
        run.val_loss.append(full_loss(model, data["X_val"], data["y_val"]))
        if stop_below is not None and run.train_loss[-1] <= stop_below:
            break
    return run


def affine_names(model) -> list[str]:
    """Batch norm's scales and shifts: gamma1, beta1, gamma2, ..."""
    return [name for name in model.params if name.startswith(("gamma", "beta"))]


def random_masks(model, count: int, rng) -> dict[str, np.ndarray]:
    """Boolean masks over the weight matrices W1..WL that together select ``count`` entries,
    chosen uniformly among all of them."""
    weights = [f"W{i}" for i in range(1, model.num_layers + 1)]
    sizes = [model.params[name].size for name in weights]
    chosen = np.zeros(sum(sizes), dtype=bool)
    chosen[rng.choice(sum(sizes), count, replace=False)] = True
    pieces = np.split(chosen, np.cumsum(sizes)[:-1])
    return {
        name: piece.reshape(model.params[name].shape)
        for name, piece in zip(weights, pieces, strict=True)
    }


@dataclass
class FrankleRun:
    """One of Frankle et al.'s variants after training."""

    variant: str
    trained: int  # how many parameters were trained
    train_acc: float
    val_acc: float
    early_val_acc: float  # after a tenth of the steps: before the run settles
    disabled: float  # the fraction of gammas with |gamma| < 0.1 (features switched off)


@one_blas_thread
def train_frankle(
    dataset: str,
    variant: str,
    *,
    hidden_dims: Sequence[int] = (100,) * 6,
    num_steps: int = 1000,
    batch_size: int = 50,
    seed: int = 0,
) -> FrankleRun:
    """Frankle et al.'s experiment on a batch-normalised ReLU network (He initialisation),
    trained with Adam for ``num_steps`` minibatches at the learning rate ``FRANKLE[variant]``:

    - "all parameters": everything;
    - "gamma and beta": only batch norm's scales and shifts, every weight and bias frozen at
      its initial value (the output layer's too);
    - "output layer": only the last affine layer (a linear classifier on random features);
    - "random weights": as many weights as there are gammas and betas, chosen at random
      anywhere in the weight matrices, the rest frozen.
    """
    if variant not in FRANKLE:
        raise ValueError(f"train_frankle: variant must be one of {list(FRANKLE)}, got {variant!r}")
    data = unit_data(dataset, NUM_TRAIN, NUM_VAL)
    X, y = data["X_train"], data["y_train"]
    model = he_network(X.shape[1], hidden_dims, True, seed)
    last = model.num_layers
    masks = None
    if variant == "all parameters":
        names = list(model.params)
    elif variant == "gamma and beta":
        names = affine_names(model)
    elif variant == "output layer":
        names = [f"W{last}", f"b{last}"]
    else:
        count = sum(model.params[name].size for name in affine_names(model))
        masks = random_masks(model, count, np.random.default_rng(seed + 1))
        names = list(masks)
    optimizer = Adam(model, names, FRANKLE[variant], masks)
    trained = (
        sum(int(m.sum()) for m in masks.values())
        if masks
        else sum(model.params[n].size for n in names)
    )
    rng = np.random.default_rng(seed)
    early = np.nan
    for step in range(1, require_int("num_steps", num_steps) + 1):
        batch = rng.choice(len(y), batch_size)
        optimizer.step(X[batch], y[batch])
        if step == num_steps // 10:
            early = accuracy(model, data["X_val"], data["y_val"])
    gammas = np.concatenate([model.params[n] for n in model.params if n.startswith("gamma")])
    return FrankleRun(
        variant=variant,
        trained=trained,
        train_acc=accuracy(model, X, y),
        val_acc=accuracy(model, data["X_val"], data["y_val"]),
        early_val_acc=early,
        disabled=float(np.mean(np.abs(gammas) < 0.1)),
    )
