"""The loss landscape along the gradient, with and without batch normalization: chapter 14.

Santurkar et al. (2018, section 3, Figure 4) move a network's parameters along the negative
gradient by a range of step sizes, at steps during training, and record how much the loss
varies, how much the gradient changes ("gradient predictiveness") and the largest gradient
change per distance moved (the "effective beta-smoothness"). Bjorck et al. (2018) ask what that
buys: the largest learning rate at which plain SGD still trains, and how the loss changes with
the size of a first step. Every function here needs only ``FullyConnectedNet.loss`` and
parameter arithmetic; the training is plain SGD (w <- w - lr * g) on minibatches drawn with
replacement, as in the papers' analyses.

The networks are deep ReLU networks with He initialisation (weights of standard deviation
sqrt(2 / fan_in)), the kind both papers measured; the inputs are divided by one number, the
training pixels' standard deviation, so that every dataset feeds the network pixels of unit
variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nndl.arguments import require_int, require_number
from nndl.why.common import full_loss, he_network, one_blas_thread, unit_data

# The training images each dataset's chapter uses: all of the digits, a fifth of Fashion-MNIST
# (10,000 images: the landscape needs many distinct minibatches, not the whole set).
NUM_TRAIN = {"digits": None, "fashion-mnist": 10_000, "cifar10": 10_000}
# "Trains": after the run, the full training loss is below half that of uniform scores over ten
# classes (ln(10) / 2) and the loss was finite at every step.
TRAINED_LOSS = math.log(10) / 2


def training_images(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """The training images (N, D) of unit-variance pixels and their labels that the chapter's
    runs draw minibatches from: ``NUM_TRAIN[dataset]`` of them."""
    data = unit_data(dataset, NUM_TRAIN.get(dataset, 10_000))
    return data["X_train"], data["y_train"]


def flat(grads, names) -> np.ndarray:
    """The gradients of ``names``, concatenated into one vector."""
    return np.concatenate([grads[name].ravel() for name in names])


@dataclass
class Probe:
    """What happens along the negative gradient from one point, on one minibatch.

    ``losses[k]`` is the loss after a move of ``steps[k]`` (a multiple of the gradient, or a
    distance along its direction); the three summaries are Santurkar et al.'s.
    """

    loss: float  # the loss where the probe starts
    gradient_norm: float  # ||g|| there
    losses: np.ndarray  # the loss after each move
    loss_variation: float  # max - min of the losses along the moves (the start included)
    gradient_change: float  # max over the moves of ||g(w') - g(w)|| ("gradient predictiveness")
    beta: float  # max over the moves of ||g(w') - g(w)|| / ||w' - w|| (effective smoothness)


def along_gradient(model, X, y, steps, unit: bool = False) -> Probe:
    """Move ``model``'s parameters from w to w' = w - s g (or, with ``unit``, w - s g / ||g||,
    a distance s) for each s in ``steps``, with g the gradient of the loss on (X, y), and
    measure the loss and the gradient at each w'. Batch norm uses the batch's own statistics
    (``FullyConnectedNet.batch_loss``: the running averages are left untouched); the parameters
    are put back afterwards.
    """
    saved_params = {name: value.copy() for name, value in model.params.items()}
    names = list(saved_params)
    with np.errstate(all="ignore"):
        loss, grads = model.batch_loss(X, y)
        g = flat(grads, names)
        norm = float(np.linalg.norm(g))
        direction = {n: grads[n] / norm for n in names} if unit else grads
        losses, changes, betas = [], [], []
        for s in steps:
            for n in names:
                model.params[n] = saved_params[n] - s * direction[n]
            moved_loss, moved_grads = model.batch_loss(X, y)
            change = float(np.linalg.norm(flat(moved_grads, names) - g))
            distance = s if unit else s * norm
            losses.append(float(moved_loss))
            changes.append(change)
            betas.append(change / distance)
    model.params = saved_params
    losses = np.array(losses)
    return Probe(
        loss=float(loss),
        gradient_norm=norm,
        losses=losses,
        loss_variation=float(np.nanmax([*losses, loss]) - np.nanmin([*losses, loss])),
        gradient_change=float(np.nanmax(changes)),
        beta=float(np.nanmax(betas)),
    )


def sgd_step(model, X, y, learning_rate: float) -> float:
    """One step of plain SGD on the minibatch (X, y); returns its loss."""
    loss, grads = model.loss(X, y)
    for name, grad in grads.items():
        model.params[name] -= learning_rate * grad
    return float(loss)


@dataclass
class LandscapeRun:
    """Probes along the gradient at checkpoints of one SGD training (``landscape``)."""

    checkpoints: list[int]  # the steps probed (before that step's update)
    by_multiple: list[Probe]  # moves of eta * g, eta a multiple of the learning rate
    by_distance: list[Probe]  # moves of a fixed distance along -g / ||g||
    loss_history: list[float] = field(default_factory=list)
    final_loss: float = math.nan  # the full training loss at the end (test mode)

    def mean(self, kind: str, quantity: str) -> float:
        """The mean over the checkpoints of a Probe's ``quantity`` ("loss_variation",
        "gradient_change", "beta") for moves ``kind`` ("multiple" or "distance")."""
        probes = self.by_multiple if kind == "multiple" else self.by_distance
        return float(np.mean([getattr(p, quantity) for p in probes]))


@one_blas_thread
def landscape(
    dataset: str,
    batchnorm: bool,
    *,
    hidden_dims: Sequence[int] = (100,) * 5,
    learning_rate: float = 0.1,
    num_steps: int = 300,
    probe_every: int = 30,
    multiples: Sequence[float] = (0.25, 0.5, 1, 2, 4),
    distances: Sequence[float] = (0.1, 0.2, 0.5, 1, 2),
    batch_size: int = 60,
    seed: int = 0,
) -> LandscapeRun:
    """Santurkar et al.'s Figure 4, on a deep ReLU network: train with plain SGD at
    ``learning_rate`` for ``num_steps`` steps of ``batch_size`` images; every ``probe_every``
    steps, on that step's minibatch and before its update, probe along the gradient by
    ``multiples`` of the learning rate (their procedure) and by fixed ``distances`` (the same
    distance for both networks, whatever the size of their gradients).

    Inputs:
    - dataset: "digits", "fashion-mnist" or "cifar10" (its ``NUM_TRAIN`` training images)
    - batchnorm: whether every hidden layer is batch-normalised
    - seed: the initial weights and the order of the minibatches

    Returns a LandscapeRun.
    """
    X, y = training_images(dataset)
    learning_rate = require_number("learning_rate", learning_rate)
    num_steps = require_int("num_steps", num_steps)
    probe_every = require_int("probe_every", probe_every)
    model = he_network(X.shape[1], hidden_dims, batchnorm, seed)
    rng = np.random.default_rng(seed)
    etas = learning_rate * np.asarray(multiples, dtype=float)
    run = LandscapeRun([], [], [])
    with np.errstate(all="ignore"):
        for step in range(num_steps):
            batch = rng.choice(len(y), batch_size)
            if step % probe_every == 0:
                run.checkpoints.append(step)
                run.by_multiple.append(along_gradient(model, X[batch], y[batch], etas))
                run.by_distance.append(
                    along_gradient(model, X[batch], y[batch], distances, unit=True)
                )
            run.loss_history.append(sgd_step(model, X[batch], y[batch], learning_rate))
    run.final_loss = full_loss(model, X[:2000], y[:2000])
    return run


@one_blas_thread
def train_loss_after(
    dataset: str,
    batchnorm: bool,
    learning_rate: float,
    *,
    hidden_dims: Sequence[int] = (100,) * 5,
    num_steps: int = 300,
    batch_size: int = 60,
    seed: int = 0,
) -> float:
    """The full training loss (test mode, the first 2,000 training images) after
    ``num_steps`` steps of plain SGD at ``learning_rate``; inf as soon as a minibatch's loss is
    not finite (the run diverged). A module-level function of picklable arguments, for
    ``nndl.experiments.sweep``."""
    X, y = training_images(dataset)
    model = he_network(X.shape[1], hidden_dims, batchnorm, seed)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        for _ in range(num_steps):
            batch = rng.choice(len(y), batch_size)
            if not math.isfinite(sgd_step(model, X[batch], y[batch], learning_rate)):
                return math.inf
    return full_loss(model, X[:2000], y[:2000])


def largest_trained(learning_rates, final_losses, threshold: float = TRAINED_LOSS):
    """The largest of ``learning_rates`` whose run ended below ``threshold`` (None if none)."""
    trained = [
        lr for lr, loss in zip(learning_rates, final_losses, strict=True) if loss < threshold
    ]
    return max(trained) if trained else None


@one_blas_thread
def first_step_change(dataset: str, batchnorm: bool, alphas, *, seed: int = 0, batch_size=60):
    """Bjorck et al.'s relative loss change of a first step: (L(w - alpha g) - L(w)) / L(w) at
    initialisation, on one minibatch, for each alpha in ``alphas``; the 5 x 100 ReLU network."""
    X, y = training_images(dataset)
    model = he_network(X.shape[1], (100,) * 5, batchnorm, seed)
    batch = np.random.default_rng(seed).choice(len(y), batch_size)
    probe = along_gradient(model, X[batch], y[batch], alphas)
    return (probe.losses - probe.loss) / probe.loss
