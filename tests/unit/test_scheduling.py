"""Which period a run evaluates: scheduled and backfill runs by their logical date, manual runs by
their Params."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from include.errors import PeriodError
from include.periods import Period, latest_complete_period, period_containing
from include.scheduling import requested_periods, run_period


@pytest.mark.parametrize(
    ("cadence", "due", "expected"),
    [
        ("quarter", datetime(2018, 1, 1, 6, tzinfo=UTC), "2017Q4"),
        ("quarter", datetime(2017, 4, 1, 0, tzinfo=UTC), "2017Q1"),
        ("quarter", datetime(2018, 2, 10, tzinfo=UTC), "2017Q4"),
        ("month", datetime(2013, 3, 1, 6, tzinfo=UTC), "2013-02"),
        ("month", datetime(2013, 1, 1, 6, tzinfo=UTC), "2012-12"),
        ("week", datetime(2018, 1, 1, 6, tzinfo=UTC), "2017-W52"),
        ("week", datetime(2021, 1, 4, tzinfo=UTC), "2020-W53"),
        ("day", datetime(2018, 3, 1, 6, tzinfo=UTC), "2018-02-28"),
    ],
)
def test_a_scheduled_run_evaluates_the_period_that_closed_before_its_logical_date(
    cadence, due, expected
) -> None:
    for run_type in ("scheduled", "backfill"):
        period = run_period(cadence, run_type=run_type, requested="2017Q4", logical_date=due)
        assert period.name == expected
        assert period.end <= due.date()


def test_the_data_interval_end_wins_over_the_logical_date() -> None:
    period = run_period(
        "quarter",
        run_type="scheduled",
        requested=None,
        logical_date=datetime(2017, 10, 1, tzinfo=UTC),
        data_interval_end=datetime(2018, 1, 1, tzinfo=UTC),
    )
    assert period.name == "2017Q4"


def test_consecutive_scheduled_runs_cover_every_period_once() -> None:
    dues = [datetime(2013, month, 1, 6, tzinfo=UTC) for month in range(2, 13)]
    periods = [
        run_period("month", run_type="backfill", requested=None, logical_date=d) for d in dues
    ]
    assert [p.name for p in periods] == [f"2013-{m:02d}" for m in range(1, 12)]
    for before, after in itertools.pairwise(periods):
        assert before.end == after.start


def test_a_manual_run_takes_its_param_in_any_period_syntax() -> None:
    for text in ("2017Q2", "2017-05", "2017-W05", "2017-05-03", "2017-01-01/2017-02-15"):
        assert run_period("quarter", run_type="manual", requested=text).name == text


def test_a_manual_run_defaults_to_the_latest_complete_period() -> None:
    now = datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert run_period("quarter", run_type="manual", requested="latest", run_after=now).name == (
        "2026Q3"
    )
    assert run_period("month", run_type="manual", requested=None, run_after=now).name == "2026-10"


def test_a_bad_param_is_refused_with_the_syntax() -> None:
    with pytest.raises(PeriodError, match="write a quarter as YYYYQn"):
        run_period("quarter", run_type="manual", requested="Q4 2017")


def test_requested_periods_resolve_latest_and_refuse_duplicates() -> None:
    when = datetime(2018, 1, 5, tzinfo=UTC)
    assert [p.name for p in requested_periods("quarter", ["2017Q2", "latest"], when=when)] == [
        "2017Q2",
        "2017Q4",
    ]
    with pytest.raises(PeriodError, match="listed twice"):
        requested_periods("quarter", ["2017Q4", "latest"], when=when)


def test_weeks_and_days_parse_as_half_open_periods() -> None:
    week = Period.parse("2017-W01")
    assert (week.start, week.end) == (date(2017, 1, 2), date(2017, 1, 9))
    day = Period.parse("2017-02-28")
    assert (day.start, day.end) == (date(2017, 2, 28), date(2017, 3, 1))
    with pytest.raises(PeriodError, match="no ISO week 54"):
        Period.parse("2017-W54")
    with pytest.raises(PeriodError, match="not a valid day"):
        Period.parse("2017-02-30")
    assert period_containing("week", date(2017, 1, 1)).name == "2016-W52"
    assert latest_complete_period("day", date(2017, 3, 1)).name == "2017-02-28"
