"""include/data/store_common: dataset names, column checks and the errors both stores raise."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from include.data.store_common import (
    arrow_table,
    as_objects,
    check_columns,
    check_dataset_name,
    check_frame,
    dataset_not_found,
)
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period

AVAILABLE = ["trans_date", "amount", "category"]
Q2 = Period.parse("2019Q2")


@pytest.mark.parametrize("name", ["transactions_prepared", "a", "X9_", "a" * 63])
def test_valid_dataset_names_are_returned(name):
    assert check_dataset_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a" * 64, "with-dash", "dotted.name", "space d", "é", None, 5]
)
def test_other_dataset_names_are_refused_saying_what_is_allowed(name):
    with pytest.raises(ConfigurationError, match="1 to 63 letters, digits and underscores"):
        check_dataset_name(name)


def test_all_columns_is_none_and_checks_the_date_column():
    assert check_columns("d", AVAILABLE, None, "trans_date", Q2) is None
    with pytest.raises(DataValidationError, match="'when'"):
        check_columns("d", AVAILABLE, None, "when", Q2)


def test_requested_columns_are_returned_once_each_in_order():
    assert check_columns("d", AVAILABLE, ["category", "amount", "category"], None, None) == [
        "category",
        "amount",
    ]
    assert check_columns("d", AVAILABLE, "amount", None, None) == ["amount"]


def test_the_date_column_is_checked_but_not_added_to_the_result():
    assert check_columns("d", AVAILABLE, ["amount"], "trans_date", Q2) == ["amount"]


def test_a_period_needs_a_date_column():
    with pytest.raises(ConfigurationError, match="needs the date column"):
        check_columns("d", AVAILABLE, None, None, Q2)


def test_no_columns_is_refused():
    with pytest.raises(ConfigurationError, match="give None for all"):
        check_columns("d", AVAILABLE, [], None, None)


def test_missing_columns_are_named_with_those_that_exist():
    with pytest.raises(DataValidationError) as caught:
        check_columns("sales", AVAILABLE, ["amount", "zip"], None, None)
    assert "dataset 'sales' has no column(s) 'zip'" in str(caught.value)
    assert "trans_date, amount, category" in str(caught.value)


def test_a_plain_frame_passes():
    check_frame("d", pd.DataFrame({"a": [1], "b": ["x"]}))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ({"a": [1]}, "must be a pandas DataFrame, got dict"),
        (pd.DataFrame({0: [1]}), "not non-empty strings"),
        (pd.DataFrame({"": [1]}), "not non-empty strings"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), r"repeated column\(s\) \['a'\]"),
    ],
)
def test_frames_that_cannot_be_tables_are_refused(frame, message):
    with pytest.raises(DataValidationError, match=message):
        check_frame("d", frame)


def test_arrow_table_drops_the_index_and_keeps_the_columns():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]}, index=[7, 8])
    table = arrow_table("d", frame)
    assert table.column_names == ["a", "b"]
    assert table.column("a").to_pylist() == [1, 2]
    assert table.column("b").to_pylist() == ["x", None]


def test_arrow_table_refuses_a_column_of_mixed_types():
    frame = pd.DataFrame({"mixed": [1, "one", dt.date(2019, 1, 1)]})
    with pytest.raises(DataValidationError, match="give each column one type"):
        arrow_table("d", frame)


def test_arrow_table_checks_the_frame_first():
    with pytest.raises(DataValidationError, match="repeated"):
        arrow_table("d", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    assert isinstance(arrow_table("d", pd.DataFrame({"a": [1.5]})), pa.Table)


def test_dataset_not_found_lists_what_the_store_holds():
    error = dataset_not_found("sales", "the Parquet store /data", ["a", "b"])
    assert isinstance(error, DatasetNotFoundError)
    assert "dataset 'sales' was not found in the Parquet store /data (it holds a, b)" in str(error)
    assert "include.cli generate" in str(error)


def test_dataset_not_found_in_an_empty_store():
    assert "it holds no datasets yet" in str(dataset_not_found("x", "s", []))


def test_as_objects_gives_none_where_missing():
    values = pd.Series(["a", None, "c"], dtype="string")
    result = as_objects(values)
    assert result.dtype == object
    assert result.tolist() == ["a", None, "c"]
    assert as_objects(pd.Series([1.0, float("nan")])).tolist() == [1.0, None]
