"""The contract every dataset store keeps, as one suite of tests that each store's module runs.

A store's test module subclasses :class:`DatasetStoreContract` and gives it a ``case`` fixture
(a :class:`StoreCase`): the store, empty, plus the few things that differ by backend (where a
message says it looked, how to list what lies underneath, how to break a write half way). Every
test here then runs against that store: round trips with the dtypes kept, exact period reads,
writes that replace a dataset all at once, and the same errors with the same messages.
What only one backend does (Parquet row groups, SQL filters, schemas) stays in its own module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from include.data.batches import select_period
from include.data.storage import DatasetStore
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period
from include.tutorial.datasets import load_tables, save_tables
from include.tutorial.generator import generate_tables
from include.tutorial.prepare import prepare_transactions

Q2 = Period.parse("2017Q2")


@dataclass
class StoreCase:
    """An empty store and what its backend needs for the contract's tests.

    ``where``: text that a message about the store contains to say where it looked.
    ``stored``: what lies underneath, sorted (file names in the folder, tables in the schema).
    ``entry``: the name of a dataset's entry in ``stored`` (``x.parquet``, ``x``).
    ``break_writes``: makes the store's next writes fail half way (after some of the new data is
    out); returns the exception type and the message pattern the failure raises.
    """

    store: DatasetStore
    where: str
    stored: Callable[[], list[str]]
    entry: Callable[[str], str]
    break_writes: Callable[[pytest.MonkeyPatch], tuple[type[BaseException], str]]


@functools.cache
def prepared_transactions() -> pd.DataFrame:
    """The tutorial's prepared transactions, 2,000 a quarter (made once; do not modify)."""
    return prepare_transactions(generate_tables(transactions_per_quarter=2_000))


def mixed_frame() -> pd.DataFrame:
    """One column of each dtype a store keeps, with missing values, odd text and time zones."""
    return pd.DataFrame(
        {
            "text": pd.Series(["a", "", None, 'quote " comma , newline \n end'], dtype="str"),
            "objects": pd.Series(["a", "", None, "b"], dtype=object),
            "category": pd.Categorical(["u", "v", "u", None]),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "small": np.array([1, 2, 3, 4], dtype="int32"),
            "single": np.array([1.5, 2.25, -3.0, 4.0], dtype="float32"),
            "ratio": [1.5, np.nan, np.inf, 0.1 + 0.2],
            "flag": [True, False, True, False],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
            "when": pd.to_datetime(
                ["2017-04-01 00:00:00.123456", "2017-06-30 23:59:59", None, "2017-07-01"],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "when_in_paris": pd.to_datetime(
                ["2017-04-01 00:30", "2017-03-31 23:30", "2017-05-01", "2017-07-01"],
                format="ISO8601",
            ).tz_localize("Europe/Paris"),
            "Amount (USD) %": [1.0, 2.0, 3.0, 4.0],
            "nothing": [None, None, None, None],
        }
    )


class DatasetStoreContract:
    """The tests every dataset store passes; subclasses provide the ``case`` fixture."""

    @pytest.fixture
    def case(self) -> StoreCase:
        raise NotImplementedError("a store's test class provides the case fixture")

    @pytest.fixture
    def store(self, case: StoreCase) -> DatasetStore:
        return case.store

    def test_a_written_frame_reads_back_equal_with_its_dtypes(self, store: DatasetStore) -> None:
        frame = mixed_frame()
        store.write("mixed", frame)
        pd.testing.assert_frame_equal(store.read("mixed"), frame)

    def test_the_tutorial_tables_and_prepared_dataset_round_trip(self, store: DatasetStore) -> None:
        assert isinstance(store, DatasetStore)
        tables = generate_tables(transactions_per_quarter=500)
        save_tables(store, tables)
        store.write("transactions_prepared", prepared_transactions())
        loaded = load_tables(store)
        for name in ("transactions", "cardholders", "merchants"):
            pd.testing.assert_frame_equal(getattr(loaded, name), getattr(tables, name))
        pd.testing.assert_frame_equal(store.read("transactions_prepared"), prepared_transactions())
        assert store.names() == [
            "cardholders",
            "merchants",
            "transactions",
            "transactions_prepared",
        ]

    def test_the_index_is_not_stored(self, store: DatasetStore) -> None:
        store.write("indexed", pd.DataFrame({"x": [1, 2]}, index=[7, 9]))
        assert store.read("indexed").index.equals(pd.RangeIndex(2))

    def test_a_period_read_returns_exactly_the_rows_of_the_period(
        self, store: DatasetStore
    ) -> None:
        prepared = prepared_transactions()
        store.write("transactions_prepared", prepared)
        batch = store.read("transactions_prepared", date_column="purchase_date", period=Q2)
        pd.testing.assert_frame_equal(batch, select_period(prepared, "purchase_date", Q2))
        assert batch["purchase_date"].min() >= pd.Timestamp("2017-04-01")
        assert batch["purchase_date"].max() < pd.Timestamp("2017-07-01")

        ids = store.read(
            "transactions_prepared",
            columns=["transaction_id"],
            date_column="purchase_date",
            period=Q2,
        )
        assert list(ids.columns) == ["transaction_id"]
        assert ids["transaction_id"].tolist() == batch["transaction_id"].tolist()

    def test_a_period_read_can_leave_out_the_date_column(self, store: DatasetStore) -> None:
        prepared = prepared_transactions()
        store.write("transactions_prepared", prepared)
        batch = store.read(
            "transactions_prepared",
            columns=["transaction_id", "authorized_flag"],
            date_column="purchase_date",
            period=Q2,
        )
        assert list(batch.columns) == ["transaction_id", "authorized_flag"]
        expected = select_period(prepared, "purchase_date", Q2)["transaction_id"]
        assert batch["transaction_id"].tolist() == expected.tolist()

    @pytest.mark.parametrize(
        ("column", "rows"),
        [("when", ["a", ""]), ("when_in_paris", ["a", None]), ("Amount (USD) %", None)],
    )
    def test_period_reads_respect_bounds_time_zones_and_odd_column_names(
        self, store: DatasetStore, column: str, rows: list | None
    ) -> None:
        store.write("mixed", mixed_frame())
        if rows is None:  # not a date column: a clear error, not a backend's
            with pytest.raises(DataValidationError, match="should hold dates"):
                store.read("mixed", date_column=column, period=Q2)
            return
        batch = store.read(
            "mixed", columns=["objects", "Amount (USD) %"], date_column=column, period=Q2
        )
        assert list(batch.columns) == ["objects", "Amount (USD) %"]
        assert batch["objects"].tolist() == rows

    def test_dates_stored_as_text_are_filtered_after_reading(self, store: DatasetStore) -> None:
        store.write("daily", pd.DataFrame({"day": ["2017-03-31", "2017-04-01", "2017-07-01"]}))
        batch = store.read("daily", date_column="day", period=Q2)
        assert batch["day"].tolist() == ["2017-04-01"]

    def test_a_write_that_fails_half_way_leaves_the_old_dataset_and_nothing_stray(
        self, case: StoreCase, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        old = pd.DataFrame({"x": np.arange(10)})
        case.store.write("numbers", old)
        error, message = case.break_writes(monkeypatch)
        with pytest.raises(error, match=message):
            case.store.write("numbers", pd.DataFrame({"x": np.arange(100)}))
        monkeypatch.undo()
        pd.testing.assert_frame_equal(case.store.read("numbers"), old)
        assert case.stored() == [case.entry("numbers")]

    def test_a_frame_that_cannot_be_stored_is_refused_before_touching_the_old_one(
        self, case: StoreCase
    ) -> None:
        case.store.write("numbers", pd.DataFrame({"x": [1]}))
        with pytest.raises(DataValidationError, match=r"cannot store dataset 'numbers'.*column x"):
            case.store.write("numbers", pd.DataFrame({"x": [1, "two"]}, dtype=object))
        assert case.store.read("numbers")["x"].tolist() == [1]
        assert case.stored() == [case.entry("numbers")]

    def test_reading_a_missing_dataset_says_where_it_looked_and_what_to_do(
        self, case: StoreCase
    ) -> None:
        store = case.store
        with pytest.raises(DatasetNotFoundError, match="holds no datasets yet") as empty:
            store.read("transactions_prepared")
        assert case.where in str(empty.value)
        assert store.describe() in str(empty.value)
        assert "generate" in str(empty.value)

        store.write("merchants", pd.DataFrame({"x": [1]}))
        with pytest.raises(DatasetNotFoundError, match="it holds merchants"):
            store.read("transactions_prepared")
        assert store.exists("merchants")
        assert not store.exists("transactions_prepared")

    def test_unknown_columns_are_named(self, store: DatasetStore) -> None:
        store.write("numbers", pd.DataFrame({"x": [1], "y": [2]}))
        for columns in (["z"], ["x", "z"]):
            with pytest.raises(DataValidationError, match=r"no column\(s\) 'z'; it has x, y"):
                store.read("numbers", columns=columns)
        with pytest.raises(DataValidationError, match="'when'"):
            store.read("numbers", date_column="when", period=Q2)

    def test_a_period_without_a_date_column_is_refused(self, store: DatasetStore) -> None:
        store.write("numbers", pd.DataFrame({"x": [1]}))
        with pytest.raises(ConfigurationError, match="needs the date column"):
            store.read("numbers", period=Q2)

    @pytest.mark.parametrize(
        "name",
        [
            "../outside",
            "with space",
            "",
            "a.parquet",
            "x" * 64,
            'numbers"; DROP TABLE datasets.numbers; --',
        ],
    )
    def test_dataset_names_must_be_plain_identifiers(self, case: StoreCase, name: str) -> None:
        case.store.write("numbers", pd.DataFrame({"x": [1]}))
        with pytest.raises(ConfigurationError, match="dataset name"):
            case.store.write(name, pd.DataFrame({"x": [2]}))
        assert case.store.read("numbers")["x"].tolist() == [1]
        assert case.stored() == [case.entry("numbers")]
