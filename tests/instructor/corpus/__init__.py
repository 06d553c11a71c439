"""A corpus of CS231n assignment-2 solutions written the way real students write them.

Each entry is a whole function in CS231n's signature, written for nndl in the idioms of public
students' solutions (read in public repositories, never copied: see ``REPOSITORIES``), with its
metadata: the task, the CS231n function it implements, the idioms it exercises, which
repositories' idiom it follows, the other layer functions its body calls by name, the entries it
must be graded with (a backward pass reads its own forward's cache) and, for a wrong entry, the
diagnosis ``nndl lab check`` must give.

The phase-2 harness pastes an entry's *body* (``Entry.body``) into the solution region of the
same function of a student copy. So a body uses only the function's CS231n arguments, ``np`` and
the layer functions named in ``calls``; it assigns CS231n's return names; and the convention it
follows is nndl's where the two differ: ``dropout_param['p']`` is the probability of *dropping*
a unit (CS231n 2017; CS231n 2018+ passes the keep probability: the corpus's wrong entries hold
that slip). ``tests/instructor/corpus/verify.py`` proves every correct entry correct and every
wrong entry wrong, independently of nndl's grader.

One module per task; ``CORRECT`` and ``WRONG`` list every entry in a fixed order.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

# The repositories whose solutions were read for this corpus (repository: year, as its name or
# layout says). ``Entry.follows`` names only these.
REPOSITORIES = {
    "0809zheng/CS231n-assignment2019": 2019,
    "AKSoo/CS231n-2017": 2017,
    "AnirudhM1/CS231n-2022-Solutions": 2022,
    "AgainstEntropy/CS231n-assignment2021": 2021,
    "Aneureka/cs231n-assignments-2018": 2018,
    "1219521375/CS231n2020": 2020,
    "0suh/cs231n_2021": 2021,
    "BatyrM/CS231n-Spring-2020": 2020,
    "Zeqiang-Lai/CS231n": 2017,
    "Amapocho/CS231n-Spring-2021": 2021,
    "zlotus/cs231n": 2017,
    "xxayt/CS231n-2023-Assignments": 2023,
    "Bachery/CS231n-2019spring": 2019,
    "6217Steve99/CS231n-2020": 2020,
    "ctttt1119/cs231n": 2020,
}

# The idiom classes an entry may exercise (its ``idioms``); every one is exercised by at least
# one correct entry (a test holds the corpus to it).
IDIOMS = {
    "whole function": "the function as a student's file has it: CS231n's scaffold lines included",
    "rebinding x": "the input (x, dout, X, input_dim...) rebound to a reshaped or transposed array",
    "transpose": "the statistics of another axis taken through a transpose (.T, transpose(...))",
    "tuple cache": "the cache is a plain tuple",
    "dict cache": "the cache is a dict with string keys",
    "list cache": "the cache is a list",
    "rand mask": "a dropout mask from np.random.rand / np.random.random (the global generator)",
    "bool mask": "the dropout mask is stored as booleans and rescaled where it is used",
    "binomial mask": "the dropout mask drawn with np.random.binomial",
    "randn init": "weights drawn with weight_scale * np.random.randn (or np.random.normal)",
    "in-place update": "an update written into an array in place (w -= ..., w += v, dx /= N)",
    "reshape(N, -1)": "x.reshape(N, -1) to flatten the examples",
    "np.prod": "D = np.prod(x.shape[1:]) to flatten the examples",
    "float32": "runs in float32 end to end, or casts with astype(x.dtype)",
    "keepdims": "sums and means with keepdims=True",
    "np.mean/np.var": "the statistics with np.mean / np.var (or x.mean / x.var)",
    "explicit sums": "the statistics as sums divided by a count",
    "1/np.sqrt": "the inverse standard deviation as 1 / np.sqrt(var + eps)",
    "power": "(var + eps) ** -0.5 or np.power(var + eps, -1.5)",
    "relu x > 0": "the ReLU gradient as dout * (x > 0) or a mask on x <= 0",
    "relu x >= 0": "the ReLU gradient passed at x == 0 too (a valid subgradient)",
    "group reshape": "group norm through x.reshape(N, G, C // G, H, W)",
    "group loop": "group norm through a loop over the groups",
    "adam t before": "Adam's step count incremented before the bias correction",
    "raw moments stored": "Adam stores the raw moments and keeps the bias-corrected ones local",
    "einsum": "np.einsum for the sums",
    "dot": "np.dot / .dot / @ for the products",
    "kratzert graph": "the staged backward as the nine-node graph of Kratzert's blog",
    "staged": "the backward through dmean and dvar with the terms written out",
    "closed form": "the simplified one-line backward",
    "calls batch norm": "a layer written on batch norm's own functions (spatial batch norm)",
    "helper layers": "the network built from layer_utils' sandwich layers",
    "fstring names": "parameter names built with f-strings",
    "str names": "parameter names built with 'W' + str(i)",
    "config locals": "an update rule that copies config entries into locals and writes back",
    "config in place": "an update rule that updates config['m'], config['v'] ... directly",
    "one-hot": "labels as one-hot rows",
    "log of probabilities": "the softmax loss as the log of the (shifted) probabilities",
    "log-sum-exp": "the softmax loss through shifted scores minus log(sum(exp))",
}


@dataclass(frozen=True)
class Entry:
    """One corpus entry: a function and what it is.

    - function: the Python function; its body is the entry (``body``)
    - task: the lab task it belongs to, e.g. "batchnorm_backward"
    - implements: the CS231n function it implements, e.g. "batchnorm_backward_alt",
      "FullyConnectedNet.__init__" (the parameter initialisation) or "FullyConnectedNet.loss"
    - idioms: keys of ``IDIOMS`` it exercises
    - follows: repositories (keys of ``REPOSITORIES``) whose idiom it follows
    - calls: other layer functions its body calls by name (the student's own, in a copy)
    - companions: names of corpus entries graded with it (the forward whose cache it reads)
    - diagnosis: for a wrong entry, the text ``nndl lab check``'s line must contain
    - mistake: for a wrong entry, what is wrong, in a sentence
    - advice: for a correct entry, properties the assignment does not ask for that it does not
      have (the lab may advise, never fail): "modifies x in place", "float64 output for float32
      input", ...
    """

    function: Callable
    task: str
    implements: str
    idioms: tuple[str, ...]
    follows: tuple[str, ...]
    calls: tuple[str, ...] = ()
    companions: tuple[str, ...] = ()
    diagnosis: str | None = None
    mistake: str = ""
    advice: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def kind(self) -> str:
        return "correct" if self.diagnosis is None else "wrong"

    @property
    def source(self) -> str:
        """The whole function, as a student would paste it (the def line names the entry)."""
        return textwrap.dedent(inspect.getsource(self.function))

    @property
    def body(self) -> str:
        """The function's body without its docstring, dedented: what the phase-2 harness pastes
        into the solution region."""
        source = self.source
        definition = ast.parse(source).body[0]
        statements = definition.body
        if (
            isinstance(statements[0], ast.Expr)
            and isinstance(statements[0].value, ast.Constant)
            and isinstance(statements[0].value.value, str)
        ):
            statements = statements[1:]
        lines = source.splitlines(keepends=True)
        first = statements[0].lineno - 1
        # comments directly above the first statement belong to the body
        while first > definition.body[0].end_lineno and lines[first - 1].strip().startswith("#"):
            first -= 1
        return textwrap.dedent("".join(lines[first : definition.end_lineno]))


_REGISTRY: list[Entry] = []


def entries_of(task: str):
    """The decorators ``correct(...)`` and ``wrong(...)`` that register a task's entries."""

    def correct(implements, idioms, follows, calls=(), companions=(), advice=()):
        def register(function):
            _REGISTRY.append(
                Entry(function, task, implements, tuple(idioms), tuple(follows), tuple(calls),
                      tuple(companions), advice=tuple(advice))
            )  # fmt: skip
            return function

        return register

    def wrong(implements, diagnosis, mistake, idioms=(), follows=(), calls=(), companions=()):
        def register(function):
            _REGISTRY.append(
                Entry(function, task, implements, tuple(idioms), tuple(follows), tuple(calls),
                      tuple(companions), diagnosis=diagnosis, mistake=mistake)
            )  # fmt: skip
            return function

        return register

    return correct, wrong


TASK_MODULES = (
    "affine",
    "relu",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "dropout",
    "losses",
    "fc_net",
    "optim",
    "layernorm",
    "spatial_batchnorm",
    "spatial_groupnorm",
    "rmsnorm",
)

for _module in TASK_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

ENTRIES: tuple[Entry, ...] = tuple(_REGISTRY)
CORRECT: tuple[Entry, ...] = tuple(e for e in ENTRIES if e.kind == "correct")
WRONG: tuple[Entry, ...] = tuple(e for e in ENTRIES if e.kind == "wrong")
BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES}
