"""What the quality gate reports: one finding per failed expectation, and the batch's report.

``QualityReport`` is stored with the evaluation (``to_dict``: its fields, ``passed`` and the
``summary`` line); the finding builders say in one sentence what broke an expectation, for the
gate (:mod:`include.quality.gate`) and the streaming tally (:mod:`include.streaming.quality`)
alike.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

import pandas as pd
from pydantic import computed_field

from include.json_records import JsonFloat, JsonRecord, json_record
from include.quality.expectations import NumericRange
from include.quality.usability import percent, plain, plural

_RANGE = "expect_column_values_to_be_between"
_CATEGORIES = "expect_column_values_to_be_in_set"
_NOT_NULL = "expect_column_values_to_not_be_null"
_SHORT_NAMES = {_RANGE: "out of range", _CATEGORIES: "new categories", _NOT_NULL: "missing values"}
_EXAMPLES = 3


@json_record()
class QualityFinding(JsonRecord):
    """One failed expectation: the column, the expectation, and how many values broke it."""

    column: str
    expectation: str  # the Great Expectations expectation type
    message: str
    unexpected_count: int
    unexpected_share: JsonFloat  # of the non-missing values; of all rows for missing values
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable specifics

    def to_dict(self) -> dict[str, Any]:
        """``model_dump(mode="json")``, under the name its callers use."""
        return self.model_dump(mode="json")


@json_record()
class QualityReport(JsonRecord):
    """The non-fatal outcome of validating one batch."""

    row_count: int
    warnings: tuple[QualityFinding, ...] = ()
    label_checked: bool = True
    notes: tuple[str, ...] = ()  # what was not checked, and why
    # rows whose label is known (labels arrive late); None when the label was not checked
    labelled_rows: int | None = None

    @computed_field
    @property
    def passed(self) -> bool:
        """True when no expectation failed."""
        return not self.warnings

    def to_dict(self) -> dict[str, Any]:
        """As stored with the evaluation: ``model_dump(mode="json")`` (with ``passed``) and the
        ``summary`` line."""
        return {**self.model_dump(mode="json"), "summary": self.summary()}

    def summary(self) -> str:
        """One line for a task log."""
        label = "" if self.label_checked else " (label not checked)"
        notes = "".join(f"; {note}" for note in self.notes)
        if self.passed:
            return (
                f"data quality passed: {plural(self.row_count, 'row')}, no warnings{label}{notes}"
            )
        items = "; ".join(
            f"{w.column} not checked"
            if "error" in w.details
            else f"{w.column} {_SHORT_NAMES.get(w.expectation, w.expectation)} "
            f"({w.unexpected_count:,}, {percent(w.unexpected_share)})"
            for w in self.warnings
        )
        return (
            f"data quality: {plural(len(self.warnings), 'warning')} on "
            f"{plural(self.row_count, 'row')}{label}: {items}{notes}"
        )


def range_finding(
    column: str,
    count: int,
    share: float,
    bounds: NumericRange,
    *,
    below: int,
    above: int,
    observed: tuple[Any, Any],
) -> QualityFinding:
    """The finding of values outside ``bounds``: ``observed`` is the column's smallest and
    largest non-missing value (infinite ones included)."""
    low, high = observed
    details = {
        "expected_min": bounds.minimum,
        "expected_max": bounds.maximum,
        "observed_min": _finite_or_none(low),
        "observed_max": _finite_or_none(high),
        "below": below,
        "above": above,
    }
    message = (
        f"{column}: {_counted(count, share)} outside the reference range [{bounds.minimum:g}, "
        f"{bounds.maximum:g}] ({below:,} below, {above:,} above); observed {low:g} to {high:g}"
    )
    return QualityFinding(column, _RANGE, message, count, share, details)


def category_finding(
    column: str, count: int, share: float, new_categories: int, largest: list[tuple[Any, int]]
) -> QualityFinding:
    """The finding of values in categories the reference never showed: ``largest`` lists the
    new categories with their rows, most rows first (ties in category order), as
    ``value_counts`` does; the first few are the examples."""
    shown = largest[:_EXAMPLES]
    details = {
        "new_categories": new_categories,
        "examples": {str(k): int(v) for k, v in shown},
    }
    written = ", ".join(f"{plain(v)!r} ({plural(n, 'row')})" for v, n in shown)
    message = (
        f"{column}: {_counted(count, share)} in "
        f"{plural(new_categories, 'category', 'categories')} not seen in the reference, "
        f"e.g. {written}"
    )
    return QualityFinding(column, _CATEGORIES, message, count, share, details)


def missing_finding(column: str, count: int, share: float, reference: float) -> QualityFinding:
    """The finding of more missing values than the reference had (``reference``, its share)."""
    message = (
        f"{column}: {plural(count, 'missing value')} ({percent(share)}; the reference had "
        f"{percent(reference)})"
    )
    return QualityFinding(column, _NOT_NULL, message, count, share, {"reference_share": reference})


def _counted(count: int, share: float) -> str:
    return f"{plural(count, 'value')} ({percent(share)})"


def _finite_or_none(value: Any) -> float | None:
    """A float JSON can hold: None for missing and infinite values."""
    number = None if value is None or pd.isna(value) else float(value)
    return number if number is not None and math.isfinite(number) else None
