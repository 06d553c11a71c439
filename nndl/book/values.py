"""The numbers a chapter finds by experiment: each printed and glued from one rounding, and
checked by nbval within the tolerance the chapter states for it.

Why: a training run amplifies round-off, so the last bits of every sum (which differ between BLAS
kernels, numpy's SIMD paths and processors) move a run's accuracies and losses in the printed
digits. No printed precision hides that, and a rounding boundary (0.975 printed with two
decimals) turns the smallest difference into a different text. So a chapter states, next to each
such value, how far it may move between machines (measured with ``benchmarks/spread.py``), and
nbval, with ``nndl.book.nbval_plugin``, accepts a value that moved by no more than that; every
other character of the output is compared exactly, so a real change (another learning rate, a
step more) still fails. Exact mathematics (a derivation, a small float64 check) is printed as
before, at a precision round-off cannot reach (``nndl.book.tables.rounded``).

In a chapter::

    from nndl.book.values import glue, measured, printed

    final = measured(run.final_train_acc, ".2f", tolerance=0.02)
    with printed():
        print(f"final training accuracy {final}")
    glue("final", final)  # the prose writes {glue:text}`final`, without a format spec

``printed()`` shows what its block prints as one output whose metadata carries every measured
value printed in it (its number, text and tolerance), and ``glue`` does the same for one value;
the text is the same wherever the value appears, because it is formatted once.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from nndl.book.tables import plain_exponent

GLUE_PREFIX = "application/papermill.record/"  # myst-nb's prefix for glued data
KEY = "nndl"  # the key of an output's metadata that holds its measured values
# Private-use characters that frame a value in captured text: start, index, text, end.
_START, _MIDDLE, _END = "\ue000", "\ue001", "\ue002"
_TAGGED = re.compile(f"{_START}(\\d+){_MIDDLE}(.*?){_END}", re.S)


@dataclass(frozen=True)
class Measured:
    """An experiment's value with the format it is shown in and how far it may move between
    machines: by ``tolerance`` (absolute, in the value's units) or by a ``factor`` (the ratio of
    two machines' values, for a value that only its order of magnitude says anything about)."""

    value: float
    spec: str
    tolerance: float = 0.0
    factor: float | None = None

    @property
    def text(self) -> str:
        """The value as every output and the prose show it: an exponent as ``number`` writes
        one (``3e-5``), and zero as ``0`` whatever the format."""
        return "0" if self.value == 0 else plain_exponent(format(self.value, self.spec))

    def record(self) -> dict:
        """What an output's metadata keeps of the value, for the comparison."""
        value = self.value if math.isfinite(self.value) else repr(self.value)
        return {
            "value": value,
            "shown": self.text,
            "tolerance": self.tolerance,
            "factor": self.factor,
        }

    def __format__(self, spec: str) -> str:
        """The text, tagged inside ``printed()``; ``spec`` may only align it in a column
        (``>9``, ``<6``, ``^8``): the number is formatted once, with the value's own spec."""
        column = re.fullmatch(r"([<>^]?)(\d*)", spec)
        if column is None:
            raise ValueError(
                f"a measured value is formatted once, with the spec it was measured with "
                f"({self.spec!r}); got another one, {spec!r} (only an alignment, like '>9')"
            )
        text = self.text
        if _capture is not None:
            _capture.append(self)
            text = f"{_START}{len(_capture) - 1}{_MIDDLE}{text}{_END}"
        padding = " " * max(0, int(column[2] or 0) - len(self.text))
        if column[1] == "^":
            return padding[: len(padding) // 2] + text + padding[len(padding) // 2 :]
        return padding + text if column[1] == ">" else text + padding

    def __str__(self) -> str:
        return self.__format__("")


def measured(value, spec: str, *, tolerance: float = 0.0, factor: float | None = None) -> Measured:
    """An experiment's ``value`` shown with the format ``spec`` (e.g. ``".2f"``, ``".0%"``,
    ``".1e"``), which may move between machines by ``tolerance`` or by a ``factor``.

    Inputs:
    - value: a real number (a numpy scalar is converted)
    - spec: a format specification, as for ``format(value, spec)``
    - tolerance: how far the value may move, absolute, >= 0
    - factor: how many times larger or smaller it may be, > 1; None: not by a factor

    Returns:
    - a Measured; print it inside ``printed()``, glue it with ``glue``
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        and not hasattr(value, "__float__")
    ):
        raise TypeError(f"measured: value must be a real number, got {value!r}")
    if not tolerance >= 0:
        raise ValueError(f"measured: tolerance must be >= 0, got {tolerance!r}")
    if factor is not None and not factor > 1:
        raise ValueError(f"measured: factor must be > 1 (or None), got {factor!r}")
    try:
        format(float(value), spec)
    except ValueError as error:
        raise ValueError(f"measured: spec {spec!r} does not format a number: {error}") from None
    return Measured(float(value), spec, float(tolerance), None if factor is None else float(factor))


_capture: list[Measured] | None = None


@contextlib.contextmanager
def printed() -> Iterator[None]:
    """Show what the block prints as one output that records the measured values in it."""
    global _capture
    if _capture is not None:
        raise RuntimeError("printed() blocks do not nest")
    _capture = []
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    except BaseException:
        sys.stdout.write(_TAGGED.sub(r"\2", buffer.getvalue()))
        raise
    finally:
        values, _capture = _capture, None
    text, template, shown = untag(buffer.getvalue(), values)
    if text:
        _display({"text/plain": text}, {KEY: {"template": template, "values": shown}})


def untag(tagged: str, values: list[Measured]) -> tuple[str, str, list[dict]]:
    """The text as printed, its template (``str.format`` fields where the values were) and the
    records of the values in the order they appear."""
    shown: list[dict] = []
    text, template, position = [], [], 0
    for match in _TAGGED.finditer(tagged):
        between = tagged[position : match.start()]
        text.append(between)
        template.append(between.replace("{", "{{").replace("}", "}}"))
        text.append(match.group(2))
        template.append("{}")
        shown.append(values[int(match.group(1))].record())
        position = match.end()
    rest = tagged[position:]
    text.append(rest)
    template.append(rest.replace("{", "{{").replace("}", "}}"))
    return "".join(text), "".join(template), shown


def glue(name: str, value) -> None:
    """Glue ``value`` under ``name`` for the prose ({glue:text}`name`), without showing it.

    A Measured is glued as its text, with its record, so that the prose shows exactly what the
    outputs print and nbval compares it within its tolerance; anything else as myst-nb's
    ``glue(name, value, display=False)`` does.
    """
    if not isinstance(value, Measured):
        from myst_nb import glue as myst_glue

        myst_glue(name, value, display=False)
        return
    metadata = {
        "scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX},
        KEY: {"template": "{}", "values": [value.record()]},
    }
    _display({GLUE_PREFIX + "text/plain": repr(value.text)}, metadata)


def _display(data: dict, metadata: dict) -> None:
    from IPython.display import display

    display(data, raw=True, metadata=metadata)


# --------------------------------------------------------------------------------------------
# The comparison (nbval's, through nndl.book.nbval_plugin)
# --------------------------------------------------------------------------------------------


def difference(reference: dict, computed: dict) -> str | None:
    """Why the computed record of a value is not the reference's within the reference's
    tolerance; None when it is.

    The reference (the committed output) states the tolerance; a computed value that states
    another one is a change of the chapter, not a machine's.
    """
    stated = (reference["tolerance"], reference.get("factor"))
    if (computed["tolerance"], computed.get("factor")) != stated:
        return f"the tolerance changed from {stated} to {computed['tolerance'], computed['factor']}"
    a, b = reference["value"], computed["value"]
    if isinstance(a, str) or isinstance(b, str) or stated == (0.0, None):
        return None if reference["shown"] == computed["shown"] else "an exact value changed"
    if abs(a - b) <= reference["tolerance"]:
        return None
    factor = reference.get("factor")
    if factor and a * b > 0 and max(a / b, b / a) <= factor:
        return None
    allowed = f"tolerance {reference['tolerance']:g}" + (f", factor {factor:g}" if factor else "")
    return f"{b!r} is not within the reference {a!r} ({allowed})"


def reconcile(computed: list, reference: list) -> list[str]:
    """Let nbval's exact comparison accept the measured values of a cell that moved within their
    tolerance: each computed output that records measured values, whose text apart from the
    values is the reference's and whose every value is within the reference's tolerance, takes
    the reference's data. Outputs are paired in order, among those that record values.

    Inputs:
    - computed: the outputs of the cell just executed (changed in place)
    - reference: the committed outputs of the cell

    Returns:
    - one line per output left alone, saying which value moved too far (empty when none)
    """
    notes = []
    ours = [o for o in computed if _records(o)]
    theirs = [o for o in reference if _records(o)]
    if len(ours) != len(theirs):
        return [f"{len(ours)} outputs with measured values, the reference has {len(theirs)}"]
    for mine, committed in zip(ours, theirs):
        new, old = _records(mine), _records(committed)
        if new["template"] != old["template"] or len(new["values"]) != len(old["values"]):
            notes.append(f"the text around the measured values changed: {new['template']!r}")
            continue
        moved = [
            f"value {i} ({c['shown']} vs {r['shown']}): {why}"
            for i, (r, c) in enumerate(zip(old["values"], new["values"]))
            if (why := difference(r, c))
        ]
        if moved:
            notes.extend(moved)
        else:
            mine["data"] = dict(committed["data"])
    return notes


def _records(output) -> dict | None:
    return (output.get("metadata") or {}).get(KEY)
