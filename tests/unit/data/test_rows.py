"""include/data/rows: what the row sources share (chunk sizes, columns to read, the period kept)."""

from __future__ import annotations

import pandas as pd
import pytest

from include.data.rows import CHUNK_ROWS, chunk_rows, columns_to_load, finish, first_line
from include.errors import ConfigurationError, DataValidationError
from include.periods import Period

AVAILABLE = ["trans_date", "amount", "category", "is_fraud"]
MAY = Period.parse("2019-05")


def test_the_default_chunk_is_a_valid_chunk_size():
    assert chunk_rows(CHUNK_ROWS) == CHUNK_ROWS


@pytest.mark.parametrize("rows", [1, 1000])
def test_whole_numbers_of_one_or_more_are_chunk_sizes(rows):
    assert chunk_rows(rows) == rows


@pytest.mark.parametrize("rows", [0, -5, 2.5, "100", True, None])
def test_other_chunk_sizes_are_refused_with_the_value(rows):
    with pytest.raises(ConfigurationError, match="whole number >= 1"):
        chunk_rows(rows)


def test_all_columns_without_a_period_reads_everything():
    assert columns_to_load("table t", AVAILABLE, None, "trans_date", None) == (None, None)


def test_all_columns_with_a_period_reads_everything():
    assert columns_to_load("table t", AVAILABLE, None, "trans_date", MAY) == (None, None)


def test_a_period_adds_the_date_column_to_what_is_read_not_to_what_is_returned():
    wanted, load = columns_to_load("table t", AVAILABLE, ["amount"], "trans_date", MAY)
    assert wanted == ["amount"]
    assert load == ["amount", "trans_date"]


def test_the_date_column_is_not_read_twice():
    wanted, load = columns_to_load(
        "table t", AVAILABLE, ["trans_date", "amount"], "trans_date", MAY
    )
    assert wanted == load == ["trans_date", "amount"]


def test_a_single_column_name_and_repeats_are_read_once():
    assert columns_to_load("t", AVAILABLE, "amount", "trans_date", None) == (
        ["amount"],
        ["amount"],
    )
    wanted, _ = columns_to_load("t", AVAILABLE, ["amount", "category", "amount"], "x", None)
    assert wanted == ["amount", "category"]


def test_asking_for_no_columns_is_refused():
    with pytest.raises(ConfigurationError, match="give None for all"):
        columns_to_load("table t", AVAILABLE, [], "trans_date", None)


def test_missing_columns_are_named_with_what_exists():
    with pytest.raises(DataValidationError) as caught:
        columns_to_load("table t", AVAILABLE, ["amount", "merchant", "zip"], "trans_date", None)
    message = str(caught.value)
    assert "table t" in message
    assert "'merchant', 'zip'" in message
    assert "trans_date, amount, category, is_fraud" in message


def test_a_period_without_the_date_column_is_refused():
    with pytest.raises(DataValidationError, match="no date column 'when'"):
        columns_to_load("table t", AVAILABLE, None, "when", MAY)


def test_without_a_period_the_date_column_need_not_exist():
    assert columns_to_load("t", AVAILABLE, ["amount"], "when", None) == (["amount"], ["amount"])


FRAME = pd.DataFrame(
    {
        "trans_date": pd.to_datetime(
            ["2019-04-30 12:00", "2019-05-01 00:00", "2019-05-31 23:59", "2019-06-01 00:00"]
        ),
        "amount": [1.0, 2.0, 3.0, 4.0],
    },
    index=[10, 11, 12, 13],
)


def test_finish_keeps_the_period_when_the_source_did_not_filter():
    result = finish(FRAME, "t", "trans_date", MAY, filtered=False, wanted=None)
    assert result["amount"].tolist() == [2.0, 3.0]
    assert result.index.tolist() == [0, 1]


def test_finish_trusts_a_source_that_filtered():
    result = finish(FRAME, "t", "trans_date", MAY, filtered=True, wanted=None)
    assert result["amount"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert result.index.tolist() == [0, 1, 2, 3]


def test_finish_returns_only_the_wanted_columns_after_filtering_on_the_date():
    result = finish(FRAME, "t", "trans_date", MAY, filtered=False, wanted=["amount"])
    assert list(result.columns) == ["amount"]
    assert result["amount"].tolist() == [2.0, 3.0]


def test_finish_names_the_source_when_its_dates_are_bad():
    bad = pd.DataFrame({"trans_date": ["not a date"], "amount": [1.0]})
    with pytest.raises(DataValidationError, match=r"^table t: "):
        finish(bad, "table t", "trans_date", MAY, filtered=False, wanted=None)


def test_first_line_is_the_first_non_empty_line_or_the_error_type():
    assert first_line(ValueError("\n  connection refused\n  detail: x\n")) == "connection refused"
    assert first_line(KeyError()) == "KeyError"
