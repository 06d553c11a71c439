"""The one table of layers: one record per layer, read by everything that lists layers.

``FullyConnectedNet(normalization=...)`` takes the normalizations of this table and calls the
functions it names through ``nndl.layer_utils``' sandwich layers; ``nndl.layers`` exports the
functions it names (``__all__``); the lab's task table (``nndl.lab.tasks``), the pytest markers
(``tests/conftest.py``), the student copy's ``nndl/fast.py`` and the tests' parametrisations are
built from it; ``derivations`` is looked up by the name it gives. Adding a layer is adding its
files and one record here.

The table names functions (module and name, ``Function``) rather than importing them, so that
importing it imports none of the layers' modules: the lab reads it to list its tasks, and a
student's half-written module then fails its own tasks only. A ``Function`` imports its module
when it is called or resolved, so that a reader follows a record to the code by the names it
shows.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Function:
    """A function of nndl named by its module and its name, e.g. ``Function("nndl.batchnorm",
    "batchnorm_forward")``; calling it calls that function, as the module has it now (the lab
    may have put a student's function there)."""

    module: str
    name: str

    def resolve(self) -> Callable:
        # sys.modules first: a network calls its layers' passes at every step
        module = sys.modules.get(self.module) or importlib.import_module(self.module)
        return getattr(module, self.name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"

    @property
    def path(self) -> str:
        """The module's file relative to the project root, e.g. "nndl/batchnorm.py"."""
        return self.module.replace(".", "/") + ".py"


def _in(module: str) -> Callable[..., Any]:
    """``_in("nndl.layers")("affine_forward")`` is ``Function("nndl.layers", "affine_forward")``;
    several names give a tuple."""

    def named(*names: str):
        functions = tuple(Function(module, name) for name in names)
        return functions[0] if len(functions) == 1 else functions

    return named


@dataclass(frozen=True)
class LabTask:
    """A lab task: the functions a student writes for it, in the order of their files.

    - name: the task's name, also its pytest marker
    - chapter: the book chapter that explains it
    - points: what it is worth in an autograder (the tasks add up to 100)
    - functions: the functions that hold its solution regions, of one module or of several
      (batch norm's tasks write the normalization core too)
    - graded: the functions its check is called with, in the order of the check's parameters
    - check: the grading function (``nndl.lab.checks``), which returns the problems it found

    A task whose check calls another task's code (spatial batch norm calls batch norm) is graded
    once that task passes: the lab records the calls while it grades (``nndl.lab.runner``).
    """

    name: str
    chapter: int
    points: int
    functions: tuple[Function, ...]
    graded: tuple[Function, ...]
    check: Function


@dataclass(frozen=True)
class Example:
    """A small input for the tests that run every layer of the table alike: x's shape, the shape
    of the layer's parameters (gamma, beta) and the forward's arguments between the parameters and
    the parameter dict (group norm's number of groups G)."""

    x_shape: tuple[int, ...]
    param_shape: tuple[int, ...]
    args: tuple = ()


@dataclass(frozen=True)
class Layer:
    """One layer.

    - name: its name, e.g. "batchnorm": ``FullyConnectedNet(normalization="batchnorm")``
    - title: in words, for messages and the book
    - forward, backward, backward_alt: the forward pass and the staged and closed-form backward
      passes (the clearest correct code, what a student writes; backward_alt None for a layer
      with one backward pass, backward None for a loss, whose forward returns the gradient)
    - fast_forward, fast_backward: the fast kernels (``nndl.fast``) that the network and the
      benchmarks use instead, or None; held to the reference by the same witnesses
    - cache: the name of the cache type its forward returns (a NamedTuple), or None
    - derivation: the name of its derivation in ``derivations.DERIVATIONS`` (train mode)
    - param: the name of its parameter dict, e.g. "bn_param", or None
    - defaults: the entries of that dict a network sets for every layer, with their defaults
    - params: the learnable parameters a network gives each such layer, e.g. ("gamma", "beta")
    - normalization: whether ``FullyConnectedNet(normalization=name)`` can use it
    - example: an input for the tests that run every layer alike, or None
    - exports: what ``nndl.layers`` exports of it, besides its passes (its cache type...)
    - tasks: its lab tasks
    - chapter: the chapter that introduces it
    """

    name: str
    title: str
    forward: Function
    backward: Function | None
    backward_alt: Function | None = None
    fast_forward: Function | None = None
    fast_backward: Function | None = None
    cache: str | None = None
    derivation: str | None = None
    param: str | None = None
    defaults: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    params: tuple[str, ...] = ()
    normalization: bool = False
    example: Example | None = None
    exports: tuple[str, ...] = ()
    tasks: tuple[LabTask, ...] = ()
    chapter: int = 6

    @property
    def module(self) -> str:
        """The module of its forward pass, e.g. "nndl.batchnorm"."""
        return self.forward.module

    @property
    def passes(self) -> tuple[Function, ...]:
        """Its forward and backward passes, as ``nndl.layers`` exports them."""
        return tuple(f for f in (self.forward, self.backward, self.backward_alt) if f)

    @property
    def network_forward(self) -> Function:
        """The forward pass a network uses: the fast kernel, else the reference."""
        return self.fast_forward or self.forward

    @property
    def network_backward(self) -> Function:
        """The backward pass a network uses: the fast kernel, else the closed form, else the
        staged one."""
        return self.fast_backward or self.backward_alt or self.backward


_layers, _checks = _in("nndl.layers"), "nndl.lab.checks"
_core, _fast = _in("nndl.normalization"), _in("nndl.fast")
_batchnorm, _layernorm, _spatial = _in("nndl.batchnorm"), _in("nndl.layernorm"), _in("nndl.spatial")
# bn_param's defaults (CS231n's); the other normalizations have no running averages.
BN_DEFAULTS = MappingProxyType({"eps": 1e-5, "momentum": 0.9})
NORM_DEFAULTS = MappingProxyType({"eps": 1e-5})

LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            name="affine",
            title="affine layer",
            forward=_layers("affine_forward"),
            backward=_layers("affine_backward"),
            derivation="affine",
            exports=("AffineCache",),
            tasks=(
                LabTask(
                    "affine",
                    6,
                    8,
                    functions=_layers("affine_forward", "affine_backward"),
                    graded=_layers("affine_forward", "affine_backward"),
                    check=Function(f"{_checks}.layers", "check_affine"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="relu",
            title="ReLU",
            forward=_layers("relu_forward"),
            backward=_layers("relu_backward"),
            derivation="relu",
            tasks=(
                LabTask(
                    "relu",
                    6,
                    4,
                    functions=_layers("relu_forward", "relu_backward"),
                    graded=_layers("relu_forward", "relu_backward"),
                    check=Function(f"{_checks}.layers", "check_relu"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="dropout",
            title="inverted dropout",
            forward=_layers("dropout_forward"),
            backward=_layers("dropout_backward"),
            derivation="dropout",
            param="dropout_param",
            exports=("DropoutCache",),
            tasks=(
                LabTask(
                    "dropout",
                    6,
                    8,
                    functions=_layers("dropout_forward", "dropout_backward"),
                    graded=_layers("dropout_forward", "dropout_backward"),
                    check=Function(f"{_checks}.layers", "check_dropout"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="svm_loss",
            title="multiclass SVM loss",
            forward=_layers("svm_loss"),
            backward=None,
            derivation="svm_loss",
            tasks=(
                LabTask(
                    "losses",
                    6,
                    8,
                    functions=_layers("svm_loss", "softmax_loss"),
                    graded=_layers("svm_loss", "softmax_loss"),
                    check=Function(f"{_checks}.losses", "check_losses"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="softmax_loss",
            title="softmax loss",
            forward=_layers("softmax_loss"),
            backward=None,
            derivation="softmax_loss",
        ),
        Layer(
            name="batchnorm",
            title="batch normalization",
            forward=_batchnorm("batchnorm_forward"),
            backward=_batchnorm("batchnorm_backward"),
            backward_alt=_batchnorm("batchnorm_backward_alt"),
            fast_forward=_fast("batchnorm_forward"),
            fast_backward=_fast("batchnorm_backward_alt"),
            cache="NormalizationCache",
            derivation="batchnorm_train",
            param="bn_param",
            defaults=BN_DEFAULTS,
            params=("gamma", "beta"),
            normalization=True,
            example=Example((4, 5), (5,)),
            exports=("BN_MODES", "NormalizationCache"),
            chapter=2,
            tasks=(
                LabTask(
                    "batchnorm_forward",
                    2,
                    12,
                    functions=(_core("normalization_forward"), _batchnorm("batchnorm_forward")),
                    graded=(_batchnorm("batchnorm_forward"),),
                    check=Function(f"{_checks}.batchnorm", "check_batchnorm_forward"),
                ),
                LabTask(
                    "batchnorm_backward",
                    4,
                    16,
                    functions=(_core("normalization_backward"), _batchnorm("batchnorm_backward")),
                    graded=_batchnorm("batchnorm_forward", "batchnorm_backward"),
                    check=Function(f"{_checks}.batchnorm", "check_batchnorm_backward"),
                ),
                LabTask(
                    "batchnorm_backward_alt",
                    5,
                    8,
                    functions=(
                        _core("normalization_backward_alt"),
                        _batchnorm("batchnorm_backward_alt"),
                    ),
                    graded=_batchnorm("batchnorm_forward", "batchnorm_backward_alt"),
                    check=Function(f"{_checks}.batchnorm", "check_batchnorm_backward_alt"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="layernorm",
            title="layer normalization",
            forward=_layernorm("layernorm_forward"),
            backward=_layernorm("layernorm_backward"),
            backward_alt=_layernorm("layernorm_backward_alt"),
            fast_backward=_fast("layernorm_backward_alt"),
            cache="NormalizationCache",
            derivation="layernorm",
            param="ln_param",
            defaults=NORM_DEFAULTS,
            params=("gamma", "beta"),
            normalization=True,
            example=Example((4, 5), (5,)),
            chapter=10,
            tasks=(
                LabTask(
                    "layernorm",
                    10,
                    4,
                    functions=_layernorm(
                        "layernorm_forward", "layernorm_backward", "layernorm_backward_alt"
                    ),
                    graded=_layernorm(
                        "layernorm_forward", "layernorm_backward", "layernorm_backward_alt"
                    ),
                    check=Function(f"{_checks}.normalization", "check_layernorm"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="rmsnorm",
            title="RMS normalization",
            forward=_in("nndl.rmsnorm")("rmsnorm_forward"),
            backward=_in("nndl.rmsnorm")("rmsnorm_backward"),
            backward_alt=_in("nndl.rmsnorm")("rmsnorm_backward_alt"),
            cache="RMSNormCache",
            derivation="rmsnorm",
            param="rms_param",
            defaults=NORM_DEFAULTS,
            params=("gamma",),
            normalization=True,
            example=Example((4, 5), (5,)),
            exports=("RMSNormCache",),
            chapter=10,
            tasks=(
                LabTask(
                    "rmsnorm",
                    10,
                    4,
                    functions=_in("nndl.rmsnorm")(
                        "rmsnorm_forward", "rmsnorm_backward", "rmsnorm_backward_alt"
                    ),
                    graded=_in("nndl.rmsnorm")(
                        "rmsnorm_forward", "rmsnorm_backward", "rmsnorm_backward_alt"
                    ),
                    check=Function(f"{_checks}.rmsnorm", "check_rmsnorm"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="spatial_batchnorm",
            title="spatial batch normalization",
            forward=_spatial("spatial_batchnorm_forward"),
            backward=_spatial("spatial_batchnorm_backward"),
            backward_alt=_spatial("spatial_batchnorm_backward_alt"),
            fast_backward=_fast("spatial_batchnorm_backward_alt"),
            cache="SpatialBatchNormCache",
            derivation="spatial_batchnorm",
            param="bn_param",
            defaults=BN_DEFAULTS,
            params=("gamma", "beta"),
            example=Example((2, 3, 4, 5), (3,)),
            exports=("SpatialBatchNormCache",),
            chapter=11,
            tasks=(
                LabTask(
                    "spatial_batchnorm",
                    11,
                    4,
                    functions=_spatial(
                        "spatial_batchnorm_forward",
                        "spatial_batchnorm_backward",
                        "spatial_batchnorm_backward_alt",
                    ),
                    graded=_spatial(
                        "spatial_batchnorm_forward",
                        "spatial_batchnorm_backward",
                        "spatial_batchnorm_backward_alt",
                    ),
                    check=Function(f"{_checks}.spatial", "check_spatial_batchnorm"),
                ),
            ),
        ),  # fmt: skip
        Layer(
            name="spatial_groupnorm",
            title="spatial group normalization",
            forward=_spatial("spatial_groupnorm_forward"),
            backward=_spatial("spatial_groupnorm_backward"),
            backward_alt=_spatial("spatial_groupnorm_backward_alt"),
            fast_backward=_fast("spatial_groupnorm_backward_alt"),
            cache="NormalizationCache",
            derivation="spatial_groupnorm",
            param="gn_param",
            defaults=NORM_DEFAULTS,
            params=("gamma", "beta"),
            example=Example((2, 6, 4, 5), (1, 6, 1, 1), args=(2,)),
            chapter=11,
            tasks=(
                LabTask(
                    "spatial_groupnorm",
                    11,
                    8,
                    functions=_spatial(
                        "spatial_groupnorm_forward",
                        "spatial_groupnorm_backward",
                        "spatial_groupnorm_backward_alt",
                    ),
                    graded=_spatial(
                        "spatial_groupnorm_forward",
                        "spatial_groupnorm_backward",
                        "spatial_groupnorm_backward_alt",
                    ),
                    check=Function(f"{_checks}.spatial", "check_spatial_groupnorm"),
                ),
            ),
        ),  # fmt: skip
    )
}


# The layers ``FullyConnectedNet(normalization=...)`` takes, by name.
NORMALIZATIONS: dict[str, Layer] = {n: layer for n, layer in LAYERS.items() if layer.normalization}


def exported_names() -> list[str]:
    """What ``nndl.layers`` exports of the table's layers: their passes and their ``exports``."""
    names = {f.name for layer in LAYERS.values() for f in layer.passes}
    return sorted(names | {name for layer in LAYERS.values() for name in layer.exports})


def fast_kernels() -> dict[Function, Function]:
    """Each fast kernel of ``nndl.fast`` and the reference function it stands in for (the
    student copy's ``nndl/fast.py`` is these as aliases of the student's own functions)."""
    pairs = {}
    for layer in LAYERS.values():
        if layer.fast_forward:
            pairs[layer.fast_forward] = layer.forward
        if layer.fast_backward:
            pairs[layer.fast_backward] = layer.backward_alt
    return pairs
