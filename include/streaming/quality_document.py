"""The document a :class:`~include.streaming.quality.QualityTally` travels as between tasks.

:class:`TallyDocument` is the pydantic model of what ``QualityTally.to_dict`` writes: the
expectations and configuration it was tallied against, and its counts, one entry per column of
the expectations, none beyond the rows. ``QualityTally.from_dict`` validates a document with it
(:func:`include.streaming.encoding.read`) and then builds the tally.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, model_validator

from include.config import MonitoringConfig
from include.quality.expectations import ReferenceExpectations
from include.streaming import encoding


def extreme(value: float) -> float | str:
    """A non-missing extreme as JSON can hold it: infinities as text."""
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _names(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError("columns must be a list of names")
    return value


def _read_extreme(value: Any) -> float:
    """A non-missing extreme as :func:`extreme` wrote it."""
    return float(value) if value in ("inf", "-inf") else encoding.as_number(value)


Extreme = Annotated[float, PlainValidator(_read_extreme)]


class _NumericCountsDocument(encoding.Document, extra="forbid"):
    non_missing: encoding.Count
    below: encoding.Count
    above: encoding.Count
    minimum: Extreme | None  # None when there is no non-missing value
    maximum: Extreme | None

    @model_validator(mode="after")
    def _extremes_given(self) -> _NumericCountsDocument:
        if self.non_missing and None in (self.minimum, self.maximum):
            raise ValueError("None is not a finite number")
        return self


class _CategoryCountsDocument(encoding.Document, extra="forbid"):
    non_missing: encoding.Count
    new_rows: encoding.Count
    new: Annotated[
        dict[str, encoding.Count], encoding.mapping_of("new must map category text to rows")
    ] = Field(title="rows of")
    dropped: encoding.Count


class TallyDocument(encoding.Document):
    """What :meth:`QualityTally.to_dict` writes: the counts of each of the expectations'
    columns, none beyond the rows."""

    expectations: ReferenceExpectations
    config: MonitoringConfig
    check_label: bool
    rows: encoding.Count
    labelled: encoding.Count
    columns: Annotated[list[str], BeforeValidator(_names)]
    missing: dict[str, encoding.Count]
    numeric: dict[str, _NumericCountsDocument]
    categorical: dict[str, _CategoryCountsDocument]

    @model_validator(mode="after")
    def _agrees(self) -> TallyDocument:
        expected = self.expectations
        for key, names in (
            ("missing", expected.missing_share),
            ("numeric", expected.numeric),
            ("categorical", expected.categorical),
        ):
            if sorted(getattr(self, key)) != sorted(names):
                raise ValueError(f"{key}: expected entries {sorted(names)}")
        if self.labelled > self.rows or any(rows > self.rows for rows in self.missing.values()):
            raise ValueError("its counts exceed its rows")
        return self
