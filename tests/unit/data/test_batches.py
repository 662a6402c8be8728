"""Selecting the rows of one period: half-open bounds, dates as datetimes or text, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from include.data.batches import select_period
from include.errors import DataValidationError
from include.periods import Period

AROUND_Q2 = [
    "2017-03-31 23:59:59",
    "2017-04-01 00:00:00",
    "2017-06-30 23:59:59.999999",
    "2017-07-01 00:00:00",
]


def frame(dates: list) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": range(len(dates)), "purchase_date": dates}, index=range(10, 10 + len(dates))
    )


def test_a_quarter_runs_from_its_first_day_up_to_the_next_quarter() -> None:
    batch = select_period(
        frame(pd.to_datetime(AROUND_Q2, format="ISO8601")), "purchase_date", Period.parse("2017Q2")
    )
    assert batch["row"].tolist() == [1, 2]


def test_dates_written_as_text_are_parsed_and_kept_as_given() -> None:
    batch = select_period(frame(AROUND_Q2), "purchase_date", Period.parse("2017Q2"))
    assert batch["row"].tolist() == [1, 2]
    assert batch["purchase_date"].tolist() == AROUND_Q2[1:3]


def test_months_and_date_ranges_select_their_days() -> None:
    dates = pd.to_datetime(
        ["2017-04-30", "2017-05-01", "2017-05-31 12:00", "2017-06-01"], format="ISO8601"
    )
    assert select_period(frame(dates), "purchase_date", Period.parse("2017-05"))[
        "row"
    ].tolist() == [1, 2]
    in_range = select_period(frame(dates), "purchase_date", Period.parse("2017-05-01/2017-05-31"))
    assert in_range["row"].tolist() == [1]


def test_time_zone_aware_dates_use_the_period_in_their_own_zone() -> None:
    dates = pd.to_datetime(["2017-03-31 23:30", "2017-04-01 00:30"]).tz_localize("Europe/Paris")
    assert select_period(frame(dates), "purchase_date", Period.parse("2017Q2"))["row"].tolist() == [
        1
    ]


def test_rows_without_a_date_belong_to_no_period() -> None:
    batch = select_period(frame(["2017-04-02", None]), "purchase_date", Period.parse("2017Q2"))
    assert batch["row"].tolist() == [0]


def test_the_batch_is_a_new_frame_with_a_fresh_index() -> None:
    source = frame(pd.to_datetime(AROUND_Q2, format="ISO8601"))
    batch = select_period(source, "purchase_date", Period.parse("2017Q2"))
    assert batch.index.equals(pd.RangeIndex(2))
    batch.loc[0, "row"] = -1
    assert source["row"].tolist() == [0, 1, 2, 3]


def test_an_empty_period_gives_an_empty_frame_with_the_same_columns() -> None:
    batch = select_period(
        frame(pd.to_datetime(AROUND_Q2, format="ISO8601")), "purchase_date", Period.parse("2017Q4")
    )
    assert batch.empty
    assert list(batch.columns) == ["row", "purchase_date"]


def test_a_missing_date_column_is_named_with_the_columns_there_are() -> None:
    with pytest.raises(DataValidationError, match=r"'when' is not in the data.*row, purchase_date"):
        select_period(frame(AROUND_Q2), "when", Period.parse("2017Q2"))


def test_unreadable_dates_are_named_with_an_example() -> None:
    with pytest.raises(
        DataValidationError, match=r"1 value\(s\) of column 'purchase_date'.*'31/04/2017'"
    ):
        select_period(frame(["2017-04-02", "31/04/2017"]), "purchase_date", Period.parse("2017Q2"))


def test_numbers_are_not_taken_for_dates() -> None:
    with pytest.raises(
        DataValidationError, match="'purchase_date' should hold dates but has dtype int64"
    ):
        select_period(frame([20170401, 20170402]), "purchase_date", Period.parse("2017Q2"))
