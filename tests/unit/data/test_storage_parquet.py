"""Datasets kept as Parquet files: round trips, period reads, atomic replacement, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from include.data import parquet_store
from include.data.batches import select_period
from include.data.generator import generate_tables
from include.data.prepare import prepare_transactions
from include.data.storage import ParquetDatasetStore, load_tables, save_tables
from include.errors import (
    ConfigurationError,
    DatasetNotFoundError,
    DataValidationError,
    StoreError,
)
from include.periods import Period

Q2 = Period.parse("2017Q2")


@pytest.fixture
def store(tmp_path: Path) -> ParquetDatasetStore:
    return ParquetDatasetStore(tmp_path / "datasets")


@pytest.fixture(scope="module")
def prepared() -> pd.DataFrame:
    return prepare_transactions(generate_tables(transactions_per_quarter=2_000))


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.Series(["a", "", None, 'quote " comma , newline \n end'], dtype="str"),
            "objects": pd.Series(["a", "", None, "b"], dtype=object),
            "category": pd.Categorical(["u", "v", "u", None]),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "small": np.array([1, 2, 3, 4], dtype="int32"),
            "ratio": [1.5, np.nan, np.inf, 0.1 + 0.2],
            "flag": [True, False, True, False],
            "when": pd.to_datetime(
                ["2017-04-01 00:00:00.123456", "2017-06-30 23:59:59", None, "2017-07-01"],
                format="ISO8601",
            ).astype("datetime64[ns]"),
            "when_in_paris": pd.to_datetime(
                ["2017-04-01 00:30", "2017-03-31 23:30", "2017-05-01", "2017-07-01"],
                format="ISO8601",
            ).tz_localize("Europe/Paris"),
        }
    )


def test_a_written_frame_reads_back_equal_with_its_dtypes(store: ParquetDatasetStore) -> None:
    frame = mixed_frame()
    store.write("mixed", frame)
    pd.testing.assert_frame_equal(store.read("mixed"), frame)


def test_the_tutorial_tables_round_trip(store: ParquetDatasetStore) -> None:
    tables = generate_tables(transactions_per_quarter=500)
    save_tables(store, tables)
    loaded = load_tables(store)
    for name in ("transactions", "cardholders", "merchants"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(tables, name))
    assert store.names() == ["cardholders", "merchants", "transactions"]


def test_the_index_is_not_stored(store: ParquetDatasetStore) -> None:
    store.write("indexed", pd.DataFrame({"x": [1, 2]}, index=[7, 9]))
    assert store.read("indexed").index.equals(pd.RangeIndex(2))


def test_a_period_read_returns_exactly_the_rows_of_the_period(
    store: ParquetDatasetStore, prepared: pd.DataFrame
) -> None:
    store.write("transactions_prepared", prepared)
    batch = store.read("transactions_prepared", date_column="purchase_date", period=Q2)
    pd.testing.assert_frame_equal(batch, select_period(prepared, "purchase_date", Q2))
    assert batch["purchase_date"].min() >= pd.Timestamp("2017-04-01")
    assert batch["purchase_date"].max() < pd.Timestamp("2017-07-01")


def test_a_period_read_can_leave_out_the_date_column(
    store: ParquetDatasetStore, prepared: pd.DataFrame
) -> None:
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


@pytest.mark.parametrize(("column", "rows"), [("when", ["a", ""]), ("when_in_paris", ["a", None])])
def test_period_reads_respect_the_bounds_and_time_zones(
    store: ParquetDatasetStore, column: str, rows: list
) -> None:
    store.write("mixed", mixed_frame())
    batch = store.read("mixed", columns=["objects"], date_column=column, period=Q2)
    assert batch["objects"].tolist() == rows


def test_dates_stored_as_text_are_filtered_after_reading(store: ParquetDatasetStore) -> None:
    store.write("daily", pd.DataFrame({"day": ["2017-03-31", "2017-04-01", "2017-07-01"]}))
    batch = store.read("daily", date_column="day", period=Q2)
    assert batch["day"].tolist() == ["2017-04-01"]


def test_a_failed_write_leaves_the_old_dataset_and_no_stray_file(
    store: ParquetDatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = pd.DataFrame({"x": [1, 2, 3]})
    store.write("numbers", old)

    def fail_half_way(table: object, where: object, **_options: object) -> None:
        where.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_store.pq, "write_table", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        store.write("numbers", pd.DataFrame({"x": [4, 5, 6]}))
    pd.testing.assert_frame_equal(store.read("numbers"), old)
    assert [path.name for path in store.root.iterdir()] == ["numbers.parquet"]


def test_a_frame_that_cannot_be_stored_is_refused_before_touching_the_old_one(
    store: ParquetDatasetStore,
) -> None:
    store.write("numbers", pd.DataFrame({"x": [1]}))
    with pytest.raises(DataValidationError, match=r"cannot store dataset 'numbers'.*column x"):
        store.write("numbers", pd.DataFrame({"x": [1, "two"]}, dtype=object))
    assert store.read("numbers")["x"].tolist() == [1]
    assert [path.name for path in store.root.iterdir()] == ["numbers.parquet"]


def test_reading_a_missing_dataset_says_where_it_looked_and_what_to_do(
    store: ParquetDatasetStore,
) -> None:
    with pytest.raises(DatasetNotFoundError) as empty:
        store.read("transactions_prepared")
    assert str(store.root) in str(empty.value)
    assert "holds no datasets yet" in str(empty.value)
    assert "generate" in str(empty.value)

    store.write("merchants", pd.DataFrame({"x": [1]}))
    with pytest.raises(DatasetNotFoundError, match="it holds merchants"):
        store.read("transactions_prepared")
    assert store.exists("merchants")
    assert not store.exists("transactions_prepared")


def test_unknown_columns_are_named(store: ParquetDatasetStore) -> None:
    store.write("numbers", pd.DataFrame({"x": [1], "y": [2]}))
    with pytest.raises(DataValidationError, match="no column\\(s\\) 'z'; it has x, y"):
        store.read("numbers", columns=["x", "z"])
    with pytest.raises(DataValidationError, match="'when'"):
        store.read("numbers", date_column="when", period=Q2)


def test_a_period_without_a_date_column_is_refused(store: ParquetDatasetStore) -> None:
    store.write("numbers", pd.DataFrame({"x": [1]}))
    with pytest.raises(ConfigurationError, match="needs the date column"):
        store.read("numbers", period=Q2)


@pytest.mark.parametrize("name", ["../outside", "with space", "", "a.parquet", "x" * 64])
def test_dataset_names_must_be_plain_identifiers(store: ParquetDatasetStore, name: str) -> None:
    with pytest.raises(ConfigurationError, match="dataset name"):
        store.write(name, pd.DataFrame({"x": [1]}))


def test_a_damaged_file_is_reported_as_a_store_error(store: ParquetDatasetStore) -> None:
    store.root.mkdir(parents=True)
    (store.root / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(StoreError, match="cannot read dataset 'broken'"):
        store.read("broken")


def test_files_are_written_in_row_groups_so_period_reads_can_skip_them(
    store: ParquetDatasetStore,
) -> None:
    rows = 3 * parquet_store.ROW_GROUP_ROWS
    store.write("big", pd.DataFrame({"x": np.arange(rows)}))
    assert pq.ParquetFile(store.path("big")).metadata.num_row_groups == 3
