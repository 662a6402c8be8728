"""Cutting a dataset into batches: the rows whose date falls in a period.

A period is half-open (``start <= date < end``), so consecutive periods never share a row. Dates
may be stored as datetimes or as ISO 8601 strings; anything else is refused with the column name
and an example of a value that could not be read.
"""

from __future__ import annotations

import pandas as pd

from include.errors import DataValidationError
from include.periods import Period

DATE_FORMAT_HELP = "write dates as ISO 8601, e.g. 2017-04-01 or 2017-04-01 13:45:00"


def select_period(df: pd.DataFrame, date_column: str, period: Period) -> pd.DataFrame:
    """The rows of ``df`` with ``period.start <= date_column < period.end``, newly indexed 0..n-1.

    Rows without a date belong to no period.
    """
    if date_column not in df.columns:
        raise DataValidationError(
            f"the date column {date_column!r} is not in the data; its columns are "
            f"{', '.join(map(str, df.columns))}"
        )
    dates = as_datetimes(df[date_column], date_column)
    start, end = period_bounds(period, dates.dt.tz)
    mask = (dates >= start) & (dates < end)
    return df.loc[mask.to_numpy()].reset_index(drop=True)


def period_bounds(period: Period, tz: object = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period's start and end as timestamps, in ``tz`` when the dates carry a time zone."""
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if tz is not None:
        start, end = start.tz_localize(tz), end.tz_localize(tz)
    return start, end


def as_datetimes(values: pd.Series, column: str) -> pd.Series:
    """``values`` as datetime64, parsing strings; DataValidationError when they are not dates."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        raise DataValidationError(
            f"column {column!r} should hold dates but has dtype {values.dtype}; {DATE_FORMAT_HELP}"
        )
    try:
        parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    except (ValueError, TypeError) as exc:
        # Raised despite errors="coerce" for mixed time-zone offsets or unorderable objects.
        raise DataValidationError(
            f"cannot read the dates in column {column!r}: {exc}; {DATE_FORMAT_HELP}"
        ) from None
    unreadable = parsed.isna() & values.notna()
    if unreadable.any():
        example = values[unreadable].iloc[0]
        raise DataValidationError(
            f"cannot read {int(unreadable.sum())} value(s) of column {column!r} as dates, "
            f"e.g. {example!r}; {DATE_FORMAT_HELP}"
        )
    if not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
        raise DataValidationError(
            f"cannot read the values of column {column!r} as dates of one time zone; "
            f"{DATE_FORMAT_HELP}"
        )
    return parsed
