"""Quarter, month and date-range periods, and the errors for what is not one."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from include.errors import PeriodError
from include.periods import Period, parse_periods


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2017Q1", date(2017, 1, 1), date(2017, 4, 1)),
        ("2017Q2", date(2017, 4, 1), date(2017, 7, 1)),
        ("2017Q4", date(2017, 10, 1), date(2018, 1, 1)),
        ("2017-12", date(2017, 12, 1), date(2018, 1, 1)),
        ("2017-01-15/2017-02-01", date(2017, 1, 15), date(2017, 2, 1)),
    ],
)
def test_periods_are_half_open_intervals(text: str, start: date, end: date) -> None:
    period = Period.parse(text)
    assert (period.start, period.end, str(period)) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2017Q5", "quarters run from Q1 to Q4"),
        ("2017Q0", "quarters run from Q1 to Q4"),
        ("Q2", "the year is missing"),
        ("2017-13", "month 13"),
        ("2017-02-01/2017-01-01", "ends before it starts"),
        ("2017-02-30/2017-03-01", "not a valid date range"),
        ("last quarter", "write a quarter as YYYYQn"),
    ],
)
def test_what_is_not_a_period_says_why_and_how_to_write_one(text: str, hint: str) -> None:
    with pytest.raises(PeriodError, match=hint) as caught:
        Period.parse(text)
    assert repr(text) in str(caught.value)


def test_a_period_listed_twice_is_refused() -> None:
    assert [p.name for p in parse_periods(["2017Q2", "2017Q3"])] == ["2017Q2", "2017Q3"]
    with pytest.raises(PeriodError, match="listed twice"):
        parse_periods(["2017Q2", "2017Q3", "2017Q2"])


def test_a_non_string_period_is_refused() -> None:
    with pytest.raises(PeriodError, match="not a string"):
        Period.parse(20172)


@pytest.mark.parametrize(
    ("period", "count", "expected"),
    [
        ("2017Q2", 3, ["2017-04-01/2017-05-01", "2017-05-01/2017-05-31", "2017-05-31/2017-07-01"]),
        ("2017-05-03", 4, ["2017-05-03/2017-05-04"]),
        ("2017-W05", 1, ["2017-01-30/2017-02-06"]),
        ("2017-02", 2, ["2017-02-01/2017-02-15", "2017-02-15/2017-03-01"]),
    ],
)
def test_a_period_cuts_into_consecutive_slices_of_whole_days(period, count, expected) -> None:
    whole = Period.parse(period)
    slices = whole.slices(count)
    assert [s.name for s in slices] == expected
    assert [Period.parse(s.name) for s in slices] == slices
    assert slices[0].start == whole.start
    assert slices[-1].end == whole.end
    assert all(a.end == b.start for a, b in itertools.pairwise(slices))


@pytest.mark.parametrize("count", [0, -1, 2.0, True, "3"])
def test_a_bad_slice_count_is_refused(count) -> None:
    with pytest.raises(PeriodError, match="whole number >= 1 of slices"):
        Period.parse("2017Q2").slices(count)
