"""Batch periods: ``2017Q2`` quarters, ``2017-05`` months, ``2017-W05`` ISO weeks, ``2017-05-03``
days, or explicit ``start/end`` date ranges; and the period of a cadence that closed last.

A period is half-open: ``start <= date < end``. ``2017Q2`` is 2017-04-01 <= date < 2017-07-01.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from include.errors import PeriodError

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")

Cadence = Literal["quarter", "month", "week", "day"]
CADENCES: tuple[str, ...] = ("quarter", "month", "week", "day")

PERIOD_HELP = (
    "write a quarter as YYYYQn (e.g. 2017Q2), a month as YYYY-MM (e.g. 2017-05), an ISO week as "
    "YYYY-Www (e.g. 2017-W05), a day as YYYY-MM-DD, or a date range as YYYY-MM-DD/YYYY-MM-DD "
    "(end excluded)"
)
# The same syntax as a JSON-schema pattern, for Airflow Params (checked again by Period.parse).
PERIOD_PATTERN = (
    r"^([0-9]{4}Q[1-4]|[0-9]{4}-[0-9]{2}|[0-9]{4}-W[0-9]{2}|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9]{4}-[0-9]{2}-[0-9]{2})$"
)


@dataclass(frozen=True, order=True)
class Period:
    """A half-open date interval with the name it was written as."""

    start: date
    end: date
    name: str

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2017Q2``, ``2017-05`` or ``2017-01-01/2017-02-15``; else raise PeriodError."""
        if not isinstance(text, str):
            raise PeriodError(f"period {text!r} is not a string: {PERIOD_HELP}")
        value = text.strip()
        if match := _QUARTER.match(value):
            year, quarter = int(match[1]), int(match[2])
            start = date(year, 3 * quarter - 2, 1)
            end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
            return cls(start, end, value)
        if match := _MONTH.match(value):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                raise PeriodError(f"period {text!r} has month {month}: {PERIOD_HELP}")
            end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
            return cls(date(year, month, 1), end, value)
        if match := _WEEK.match(value):
            try:
                start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            except ValueError:
                raise PeriodError(
                    f"period {text!r}: {match[1]} has no ISO week {int(match[2])}; {PERIOD_HELP}"
                ) from None
            return cls(start, start + timedelta(days=7), value)
        if _DAY.match(value):
            try:
                day = date.fromisoformat(value)
            except ValueError as exc:
                raise PeriodError(f"period {text!r} is not a valid day: {exc}") from None
            return cls(day, day + timedelta(days=1), value)
        if match := _RANGE.match(value):
            try:
                start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            except ValueError as exc:
                raise PeriodError(f"period {text!r} is not a valid date range: {exc}") from None
            if end <= start:
                raise PeriodError(f"period {text!r} ends before it starts: {PERIOD_HELP}")
            return cls(start, end, value)
        hint = ""
        if re.match(r"^\d{4}Q\d+$", value):
            hint = " (quarters run from Q1 to Q4)"
        elif re.match(r"^Q\d$", value):
            hint = " (the year is missing)"
        raise PeriodError(f"cannot read period {text!r}{hint}: {PERIOD_HELP}")

    def __str__(self) -> str:
        return self.name

    def slices(self, count: int) -> list[Period]:
        """The period cut into ``count`` consecutive date ranges of whole days, as equal as days
        allow (fewer when it has fewer days): the partitions of a batch that separate tasks
        evaluate and one merges (issue 14). Together they cover the period exactly, without
        overlap; each is named as a range (``2017-04-01/2017-05-01``), which :meth:`parse` reads.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise PeriodError(f"a period is cut into a whole number >= 1 of slices, not {count!r}")
        days = (self.end - self.start).days
        count = min(count, days)
        bounds = [self.start + timedelta(days=days * index // count) for index in range(count + 1)]
        return [
            Period(start, end, f"{start.isoformat()}/{end.isoformat()}")
            for start, end in itertools.pairwise(bounds)
        ]


def parse_periods(texts: list[str] | tuple[str, ...]) -> list[Period]:
    """Parse several periods, refusing duplicates so one batch is never evaluated twice a run."""
    periods = [Period.parse(text) for text in texts]
    seen: set[tuple[date, date]] = set()
    for period in periods:
        key = (period.start, period.end)
        if key in seen:
            raise PeriodError(f"period {period.name!r} is listed twice")
        seen.add(key)
    return periods


def period_containing(cadence: str, day: date) -> Period:
    """The period of ``cadence`` (quarter, month, week, day) that holds ``day``."""
    if cadence == "quarter":
        return Period.parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")
    if cadence == "month":
        return Period.parse(f"{day.year}-{day.month:02d}")
    if cadence == "week":
        year, week, _ = day.isocalendar()
        return Period.parse(f"{year}-W{week:02d}")
    if cadence == "day":
        return Period.parse(day.isoformat())
    raise PeriodError(f"unknown cadence {cadence!r}: use one of {', '.join(CADENCES)}")


def latest_complete_period(cadence: str, when: date | datetime) -> Period:
    """The last period of ``cadence`` that ended at or before ``when``.

    A run due on 2018-01-01 (at any hour) of a quarterly model evaluates 2017Q4; one due on
    2018-02-10 evaluates 2017Q4 too, the quarter 2018Q1 being still open.
    """
    day = when.date() if isinstance(when, datetime) else when
    current = period_containing(cadence, day)
    return period_containing(cadence, current.start - timedelta(days=1))
