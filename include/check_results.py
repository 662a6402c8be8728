"""What a check found: its outcome, the result stored and pushed to XCom, and a table of them.

``CheckResult`` travels as JSON (``to_dict``; ``model_validate`` reads it back) through XCom
into the MES (``mes.check_results``). Several results give one outcome, the worst: ERROR >
WARNING > OK > EMPTY (see :mod:`include.checks`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from include.json_records import JsonFloat, JsonRecord, json_record


class CheckOutcome(StrEnum):
    """What a check found; ``str(outcome)`` is its name, e.g. ``"WARNING"``."""

    EMPTY = "EMPTY"
    OK = "OK"
    WARNING = "WARNING"
    ERROR = "ERROR"

    @property
    def severity(self) -> int:
        """0 for EMPTY up to 3 for ERROR: the order used to pick the worst outcome."""
        return _SEVERITY[self]


_SEVERITY = {
    CheckOutcome.EMPTY: 0,
    CheckOutcome.OK: 1,
    CheckOutcome.WARNING: 2,
    CheckOutcome.ERROR: 3,
}


@json_record()
class CheckResult(JsonRecord):
    """The outcome of one check on one evaluation, with a sentence saying why; its JSON form
    (``to_dict``, ``model_validate``) travels through XCom and into the store."""

    name: str
    metric: str | None
    outcome: CheckOutcome
    value: JsonFloat | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, fit for XCom and for logs: ``model_dump(mode="json")``, under the
        name its callers and tests use."""
        return self.model_dump(mode="json")


def worst_outcome(results: Iterable[CheckResult]) -> CheckOutcome:
    """ERROR > WARNING > OK > EMPTY; EMPTY when there are no results."""
    return max((r.outcome for r in results), key=_SEVERITY.__getitem__, default=CheckOutcome.EMPTY)


def format_table(results: Sequence[CheckResult]) -> str:
    """A fixed-width text table of the results, for task logs and emails."""
    header = ("check", "metric", "value", "outcome", "message")
    rows = [
        (
            r.name,
            r.metric or "-",
            "-" if r.value is None else _fmt(r.value),
            r.outcome.value,
            r.message,
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(row: Sequence[str]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        return "  ".join([*cells, row[-1]]).rstrip()

    rule = "  ".join("-" * width for width in [*widths, len(header[-1])])
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _read_metric(metrics: Mapping[str, Any], metric: str) -> tuple[float | None, str]:
    """The metric as a float, or None and why it cannot be judged."""
    if metric not in metrics:
        return None, f"metric {metric} is missing from the evaluation"
    raw = metrics[metric]
    value = _number(raw)
    if value is None:
        return None, f"{metric} = {raw!r} is not a finite number"
    return value, ""


def _number(raw: Any, *, allow_text: bool = False) -> float | None:
    """A finite float, or None; booleans are not numbers, text only when ``allow_text``."""
    if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not allow_text):
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(number: float) -> str:
    return f"{number:.6g}"
