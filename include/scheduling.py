"""Which period a monitoring run evaluates.

A scheduled or backfill run evaluates the period of the model's cadence that closed just before
the run's logical date (the end of its data interval, where the timetable gives one): the
quarterly run due on 2018-01-01 evaluates 2017Q4, and Airflow's backfill over 2017 fills the MES
with one evaluation per quarter. A manual run evaluates the period its Params ask for; ``latest``
(the default of a model's own DAGs) is the latest complete period at the time of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from include.errors import PeriodError
from include.periods import PERIOD_HELP, Period, latest_complete_period, parse_periods

LATEST = "latest"
SCHEDULED_RUN_TYPES = ("scheduled", "backfill")


def run_period(
    cadence: str,
    *,
    run_type: str | None,
    requested: str | None,
    logical_date: datetime | None = None,
    data_interval_end: datetime | None = None,
    run_after: datetime | None = None,
) -> Period:
    """The period one run evaluates.

    ``run_type`` is the Airflow run's type (``scheduled``, ``backfill``, ``manual``,
    ``asset_triggered``); ``requested`` is the period the run's Params name (``latest`` or any
    period syntax). Scheduled and backfill runs ignore ``requested``: their logical date decides.
    """
    if run_type in SCHEDULED_RUN_TYPES:
        when = data_interval_end or logical_date
        if when is None:
            raise PeriodError(f"a {run_type} run without a logical date cannot choose its period")
        return latest_complete_period(cadence, when)
    text = (requested or LATEST).strip()
    if text.lower() == LATEST:
        return latest_complete_period(cadence, run_after or logical_date or datetime.now(UTC))
    return Period.parse(text)


def requested_periods(
    cadence: str, texts: Sequence[str], *, when: datetime | None = None
) -> list[Period]:
    """Periods of a manual multi-period run (``latest`` allowed), refusing duplicates."""
    if isinstance(texts, str) or not texts:
        raise PeriodError(f"give a list of at least one period: {PERIOD_HELP}")
    resolved = [
        latest_complete_period(cadence, when or datetime.now(UTC)).name
        if str(text).strip().lower() == LATEST
        else str(text)
        for text in texts
    ]
    return parse_periods(resolved)
