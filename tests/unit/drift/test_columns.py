from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.drift.columns import MISSING_CATEGORY, count_categories, read_numeric
from include.errors import DataValidationError


def test_numeric_values_are_sorted_finite_with_missing_and_infinite_counted():
    series = pd.Series([3.0, np.nan, -np.inf, 1.0, np.inf, None, 2.0])

    column = read_numeric(series, "amount")

    assert column.values.tolist() == [1.0, 2.0, 3.0]
    assert (column.rows, column.missing, column.infinite) == (7, 2, 2)
    assert series.iloc[0] == 3.0  # the caller's data is not sorted in place


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1, 2, None], dtype="Int64"),
        pd.Series([True, False, True]),
        pd.Series([1, 2.5, None], dtype=object),
    ],
)
def test_nullable_boolean_and_object_numbers_are_numeric(series):
    assert read_numeric(series, "x").values.size == series.notna().sum()


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(["1.5", "2"]),
        pd.Series([1.5, "2", "abc"], dtype=object),
        pd.Series(pd.to_datetime(["2017-01-01"])),
        pd.Series([1, 2]).astype("category"),
    ],
)
def test_non_numbers_in_a_numeric_feature_are_refused_naming_it(series):
    with pytest.raises(DataValidationError, match="feature 'card_age' is listed as numeric"):
        read_numeric(series, "card_age")


def test_categories_are_text_missing_is_one_category_and_whole_floats_lose_their_point():
    series = pd.Series([7, "7", 7.0, None, np.nan, "b", pd.NA, 2.5], dtype=object)

    assert count_categories(series) == {"7": 3, MISSING_CATEGORY: 3, "2.5": 1, "b": 1}


def test_integer_codes_match_whatever_their_dtype():
    as_int = count_categories(pd.Series([12, 12, 3]))
    as_float = count_categories(pd.Series([12.0, 12.0, 3.0, np.nan]))

    assert as_int == {"12": 2, "3": 1}
    assert as_float == {"12": 2, "3": 1, MISSING_CATEGORY: 1}


def test_unused_pandas_categories_are_not_counted():
    series = pd.Series(pd.Categorical(["a", "a"], categories=["a", "b"]))

    assert count_categories(series) == {"a": 2}
