"""Internal covariate shift, measured as the papers measured it (chapters 12 and 13).

- Ioffe & Szegedy (2015, section 4.1, Figure 1): a network of three hidden layers of 100
  sigmoids on MNIST, trained with and without batch norm; the test accuracy against the steps,
  and the 15th, 50th and 85th percentiles of one last-hidden-layer unit's input over training.
- Santurkar et al. (2018, Definition 2.1): the internal covariate shift of layer i at a step is
  ``||G - G'||``, G the gradient of layer i's weights, G' the same gradient after the layers below
  took this step's update; reported relative, ``||G - G'|| / ||G||``, and as cos(G, G').
- Santurkar et al. (2018, section 2.1, Figure 2): "noisy" batch norm, a random scale and shift
  after every batch-norm layer, redrawn at every step, makes the distributions shift more than
  without batch norm; does the network still train as well as with batch norm?

``shift_run`` trains one variant ("standard", "batchnorm", "noisy") of Ioffe's network with the
Solver and a ``ShiftProbe`` and returns a ``ShiftRun``: everything measured, as arrays. The
functions after it summarise a run (steps to an accuracy, drift of the percentiles, step-to-step
shift, mean ICS).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from nndl.arguments import require_int, require_number

# Ioffe & Szegedy's network and training (section 4.1): 3 x 100 sigmoids, small Gaussian weights
# (std 0.01 here), batches of 60, plain SGD (rate 1.0 here; the paper gives none).
HIDDEN_DIMS = (100, 100, 100)
WEIGHT_SCALE = 0.01
BATCH_SIZE = 60
LEARNING_RATE = 1.0
PERCENTILES = (15, 50, 85)
VARIANTS = ("standard", "batchnorm", "noisy")
# Santurkar's noise after each batch-norm layer: a scale between 1/2 and 2 and a shift in [-1, 1].
NOISE_SCALE, NOISE_SHIFT = 2.0, 1.0


def prepare_images(data, num_train=None, num_test=None) -> dict[str, np.ndarray]:
    """The chapters' data: images flattened to rows, in float64, divided by the training
    pixels' standard deviation (one number, so that the digits, whose pixels have a std of
    about 6, and Fashion-MNIST, about 75, both feed the network pixels of unit variance);
    optionally the first num_train training and num_test test images only.

    Inputs:
    - data: a dataset's dict (``nndl.data.load_dataset``), with X_train ... y_test
    - num_train, num_test: how many training / test images to keep (None: all)

    Returns:
    - dict X_train, y_train, X_val, y_val, X_test, y_test, and "scale": the divisor, as an array
    """
    missing = {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test"} - set(data)
    if missing:
        raise ValueError(f"prepare_images: data lacks {sorted(missing)}")
    num_train = require_int("prepare_images: num_train", num_train, 1, none=True)
    num_test = require_int("prepare_images: num_test", num_test, 1, none=True)
    cut = {"train": num_train, "val": None, "test": num_test}
    out = {}
    for split, n in cut.items():
        X, y = data[f"X_{split}"][:n], data[f"y_{split}"][:n]
        out[f"X_{split}"] = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        out[f"y_{split}"] = np.asarray(y)
    scale = out["X_train"].std()
    for split in cut:
        out[f"X_{split}"] /= scale
    out["scale"] = np.array(scale)
    return out


class NoiseRedraw:
    """``Solver(on_step=NoiseRedraw(...))``: a new ``norm_noise`` before every step, from the
    noise's own generator (so that the minibatches are those of the run without noise)."""

    def __init__(self, seed, scale=NOISE_SCALE, shift=NOISE_SHIFT):
        self.rng = np.random.default_rng(seed)
        self.scale = require_number("NoiseRedraw: scale", scale, 1)
        self.shift = require_number("NoiseRedraw: shift", shift, 0)

    def __call__(self, model, iteration):
        model.draw_norm_noise(self.rng, self.scale, self.shift)


def last_activation_input(model, X) -> np.ndarray:
    """The input of the last hidden layer's activations, (N, H), in train mode on the batch X
    (batch norm with X's own statistics, the running averages untouched; the model's noise, if
    any, applied)."""
    _, (*layers, _) = model.forward_layers(X, "train", [{} for _ in model.bn_params])
    return layers[-1].activation_input


def internal_covariate_shift(model, X, y, learning_rate) -> tuple[np.ndarray, np.ndarray]:
    """Santurkar et al.'s (2018) Definition 2.1 for plain SGD, on the batch (X, y), for each
    hidden layer's weights W1 .. W{L-1}: G = dL/dW_i; G' = dL/dW_i after every parameter of the
    layers below i (weights, biases, batch norm's gamma and beta) took its SGD step
    ``-learning_rate * gradient``. The model is left as it was (batch norm uses the batch's
    statistics; the running averages are untouched; the noise, if any, is the same draw for G
    and G').

    Returns:
    - relative: ``||G - G'|| / ||G||`` per hidden layer (layer 1 has no layer below: 0)
    - cosine: cos(G, G') per hidden layer (layer 1: 1)
    """
    params = model.params
    _, grads = model.batch_loss(X, y)
    relative, cosine = [], []
    try:
        for i in range(1, model.num_layers):
            model.params = {
                name: w - learning_rate * grads[name] if _layer(name) < i else w
                for name, w in params.items()
            }
            _, moved = model.batch_loss(X, y)
            G, G_moved = grads[f"W{i}"].ravel(), moved[f"W{i}"].ravel()
            norm, norm_moved = np.linalg.norm(G), np.linalg.norm(G_moved)
            relative.append(np.linalg.norm(G - G_moved) / norm)
            cosine.append(G @ G_moved / (norm * norm_moved))
    finally:
        model.params = params
    return np.array(relative), np.array(cosine)


def _layer(name: str) -> int:
    """The layer number of a parameter name: W3 -> 3, gamma12 -> 12."""
    return int(name[len(name.rstrip("0123456789")) :])


@dataclass
class ShiftProbe:
    """The Solver's probe for ``shift_run`` (``probe_every=1``): every ``every`` steps the test
    accuracy and the percentiles of the last hidden layer's inputs on ``X_fixed``; with
    ``moments_every``, at two consecutive steps of every ``moments_every`` (k and k + 1), each
    last-layer unit's mean and std over the step's minibatch (what the layer above sees at that
    update); every ``ics_every`` steps Santurkar's ICS."""

    X_test: np.ndarray
    y_test: np.ndarray
    X_fixed: np.ndarray
    every: int
    ics_every: int | None
    learning_rate: float
    moments_every: int | None = None

    def __call__(self, model, X, y, iteration) -> dict:
        out = {}
        if iteration % self.every == 0:
            scores = model.loss(self.X_test)  # test mode: no noise, running averages
            out["accuracy"] = float(np.mean(np.argmax(scores, axis=1) == self.y_test))
            inputs = last_activation_input(model, self.X_fixed)
            out["percentiles"] = np.percentile(inputs, PERCENTILES, axis=0)
        if X is None:
            return out
        if self.moments_every and iteration % self.moments_every in (0, 1):
            inputs = last_activation_input(model, X)
            out["moments"] = (inputs.mean(axis=0), inputs.std(axis=0))
        if self.ics_every and iteration % self.ics_every == 0:
            out["ics"] = internal_covariate_shift(model, X, y, self.learning_rate)
        return out


@dataclass
class ShiftRun:
    """What ``shift_run`` measured on one variant.

    - steps, accuracy: the steps of the records (0, every, ..., num_iterations) and the test
      accuracy there
    - percentiles: (T, 3, H), the 15th, 50th and 85th percentiles of each last-hidden-layer
      unit's input on the fixed batch at those steps
    - ics_steps, ics_relative, ics_cosine: Santurkar's ICS, (K,) steps and (K, L - 1) values
    - means, stds: (P, 2, H), each last-layer unit's mean and std over the minibatches of a pair
      of consecutive steps (k, k + 1), for every moments_every-th k (empty unless asked for)
    - loss_history: the minibatch losses; seconds: the run's CPU time
    """

    variant: str
    steps: np.ndarray
    accuracy: np.ndarray
    percentiles: np.ndarray
    ics_steps: np.ndarray
    ics_relative: np.ndarray
    ics_cosine: np.ndarray
    means: np.ndarray
    stds: np.ndarray
    loss_history: np.ndarray
    seconds: float = field(default=0.0, compare=False)


def shift_run(
    data,
    variant,
    *,
    seed=0,
    num_iterations=3000,
    every=100,
    ics_every=300,
    moments_every=None,
    learning_rate=LEARNING_RATE,
    num_fixed=1000,
) -> ShiftRun:
    """Train Ioffe & Szegedy's network (3 x 100 sigmoids, weights N(0, 0.01^2), batches of 60,
    plain SGD) for num_iterations steps and measure it with a ``ShiftProbe``. A module-level
    function of picklable arguments: ``nndl.experiments.sweep`` runs the variants side by side.

    Inputs:
    - data: ``prepare_images``'s dict (X_train ... y_test)
    - variant: "standard" (no normalization), "batchnorm", or "noisy" (batch norm followed by
      Santurkar's noise, redrawn every step; off at test time)
    - seed: the initial weights, the minibatches and the noise
    - num_iterations, every, ics_every (None: no ICS), moments_every (None: no moments): what
      to measure how often (see ``ShiftProbe``)
    - learning_rate: SGD's
    - num_fixed: the first this many test images are the fixed batch of the percentiles

    Returns:
    - a ShiftRun
    """
    from nndl.experiments import train_network

    if variant not in VARIANTS:
        raise ValueError(f"shift_run: variant must be one of {VARIANTS}, got {variant!r}")
    every = require_int("shift_run: every", every, 1)
    probe = ShiftProbe(
        data["X_test"], data["y_test"], data["X_test"][:num_fixed], every, ics_every,
        learning_rate, moments_every,
    )  # fmt: skip
    noisy = variant == "noisy"
    start = time.process_time()
    run = train_network(
        {key: data[key] for key in ("X_train", "y_train", "X_val", "y_val")},
        list(HIDDEN_DIMS),
        WEIGHT_SCALE,
        variant != "standard",
        batch_size=BATCH_SIZE,
        learning_rate=learning_rate,
        seed=seed,
        update_rule="sgd",
        activation="sigmoid",
        num_iterations=num_iterations,
        probe=probe,
        on_step=NoiseRedraw(seed + 1) if noisy else None,
        num_train_samples=100,
        num_val_samples=100,
    )
    seconds = time.process_time() - start
    records = [(step, r) for step, r in run.probes if "accuracy" in r]
    ics = [(step, r["ics"]) for step, r in run.probes if "ics" in r]
    moments = {step: r["moments"] for step, r in run.probes if "moments" in r}
    pairs = [(step, step + 1) for step in moments if step + 1 in moments]
    means = [[moments[k][0] for k in pair] for pair in pairs]
    stds = [[moments[k][1] for k in pair] for pair in pairs]
    return ShiftRun(
        variant=variant,
        steps=np.array([step for step, _ in records]),
        accuracy=np.array([r["accuracy"] for _, r in records]),
        percentiles=np.array([r["percentiles"] for _, r in records]),
        ics_steps=np.array([step for step, _ in ics], dtype=int),
        ics_relative=np.array([rel for _, (rel, _) in ics]).reshape(len(ics), -1),
        ics_cosine=np.array([cos for _, (_, cos) in ics]).reshape(len(ics), -1),
        means=np.array(means),
        stds=np.array(stds),
        loss_history=np.array(run.loss_history),
        seconds=seconds,
    )


# --------------------------------------------------------------------------------------------
# Summaries of a run
# --------------------------------------------------------------------------------------------


def steps_to(run: ShiftRun, level: float) -> float:
    """The first recorded step at which the test accuracy reached ``level`` (inf: never)."""
    reached = np.nonzero(run.accuracy >= level)[0]
    return float(run.steps[reached[0]]) if len(reached) else math.inf


def median_drift(run: ShiftRun) -> float:
    """How far the typical unit's median input moves during training: for each unit the range
    (max - min over the records) of its median, then the median over the units."""
    medians = run.percentiles[:, 1, :]
    return float(np.median(medians.max(axis=0) - medians.min(axis=0)))


def typical_unit(run: ShiftRun) -> int:
    """The unit whose median's range is the median over the units (the one to plot)."""
    medians = run.percentiles[:, 1, :]
    drift = medians.max(axis=0) - medians.min(axis=0)
    return int(np.argsort(drift)[len(drift) // 2])


def spread_growth(run: ShiftRun, first: int = 1) -> float:
    """How much the typical unit's 15-85 spread grows: the median over the units of the spread
    at the last record, over that at record ``first`` (1: the first step after the start,
    whose tiny weights give every unit almost the same input)."""
    spread = run.percentiles[:, 2, :] - run.percentiles[:, 0, :]
    return float(np.median(spread[-1]) / np.median(spread[first]))


def step_shift(run: ShiftRun) -> float:
    """How much the distribution the layer above sees moves from one step to the next: the mean
    absolute change of each unit's minibatch mean plus that of its minibatch std, over the units
    and the recorded pairs of consecutive steps (needs ``moments_every``)."""
    if len(run.means) == 0:
        raise ValueError("step_shift: the run recorded no moments (shift_run(moments_every=k))")
    change = np.abs(run.means[:, 1] - run.means[:, 0]).mean()
    return float(change + np.abs(run.stds[:, 1] - run.stds[:, 0]).mean())


def mean_ics(run: ShiftRun, layers=slice(1, None)) -> float:
    """Santurkar's relative ICS averaged over the measurements and the layers (by default
    every hidden layer but the first, which has none)."""
    return float(run.ics_relative[:, layers].mean())
