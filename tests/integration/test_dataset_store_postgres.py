"""Datasets as PostgreSQL tables, on a real server: round trips, period reads, atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from include.data import postgres_store
from include.data.batches import select_period
from include.data.generator import generate_tables
from include.data.prepare import prepare_transactions
from include.data.storage import (
    PostgresDatasetStore,
    load_tables,
    open_dataset_store,
    save_tables,
)
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period

pytestmark = pytest.mark.integration

Q2 = Period.parse("2017Q2")


@pytest.fixture
def store(postgres_url: str) -> PostgresDatasetStore:
    return PostgresDatasetStore(postgres_url)


@pytest.fixture(scope="module")
def prepared() -> pd.DataFrame:
    return prepare_transactions(generate_tables(transactions_per_quarter=2_000))


def tables_in(url: str, schema: str) -> list[str]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            [schema],
        )
        names = [row[0] for row in cursor.fetchall()]
    connection.close()
    return names


def mixed_frame() -> pd.DataFrame:
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


def test_a_written_frame_reads_back_equal_with_its_dtypes(store: PostgresDatasetStore) -> None:
    frame = mixed_frame()
    store.write("mixed", frame)
    pd.testing.assert_frame_equal(store.read("mixed"), frame)


def test_the_tutorial_tables_and_prepared_dataset_round_trip(
    postgres_url: str, prepared: pd.DataFrame
) -> None:
    store = open_dataset_store(postgres_url)
    tables = generate_tables(transactions_per_quarter=500)
    save_tables(store, tables)
    store.write("transactions_prepared", prepared)
    loaded = load_tables(store)
    for name in ("transactions", "cardholders", "merchants"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(tables, name))
    pd.testing.assert_frame_equal(store.read("transactions_prepared"), prepared)
    assert store.names() == ["cardholders", "merchants", "transactions", "transactions_prepared"]


def test_a_period_read_returns_exactly_the_rows_of_the_period(
    store: PostgresDatasetStore, prepared: pd.DataFrame
) -> None:
    store.write("transactions_prepared", prepared)
    batch = store.read("transactions_prepared", date_column="purchase_date", period=Q2)
    pd.testing.assert_frame_equal(batch, select_period(prepared, "purchase_date", Q2))

    ids = store.read(
        "transactions_prepared", columns=["transaction_id"], date_column="purchase_date", period=Q2
    )
    assert list(ids.columns) == ["transaction_id"]
    assert ids["transaction_id"].tolist() == batch["transaction_id"].tolist()


def test_the_period_filter_runs_in_the_database(
    store: PostgresDatasetStore, prepared: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write("transactions_prepared", prepared)
    parsed_rows: list[int] = []
    parse = postgres_store._parse_csv

    def counting_parse(data: bytes, columns: list[str], types: dict[str, str]) -> pd.DataFrame:
        frame = parse(data, columns, types)
        parsed_rows.append(len(frame))
        return frame

    monkeypatch.setattr(postgres_store, "_parse_csv", counting_parse)
    batch = store.read("transactions_prepared", date_column="purchase_date", period=Q2)
    assert parsed_rows == [len(batch)]
    assert len(batch) < len(prepared) / 2


@pytest.mark.parametrize(
    ("column", "rows"),
    [("when", ["a", ""]), ("when_in_paris", ["a", None]), ("Amount (USD) %", None)],
)
def test_period_reads_respect_bounds_time_zones_and_odd_column_names(
    store: PostgresDatasetStore, column: str, rows: list | None
) -> None:
    store.write("mixed", mixed_frame())
    if rows is None:  # not a date column: a clear error, not an SQL one
        with pytest.raises(DataValidationError, match="should hold dates"):
            store.read("mixed", date_column=column, period=Q2)
        return
    batch = store.read(
        "mixed", columns=["objects", "Amount (USD) %"], date_column=column, period=Q2
    )
    assert batch["objects"].tolist() == rows


def test_dates_stored_as_text_are_filtered_after_reading(store: PostgresDatasetStore) -> None:
    store.write("daily", pd.DataFrame({"day": ["2017-03-31", "2017-04-01", "2017-07-01"]}))
    assert store.read("daily", date_column="day", period=Q2)["day"].tolist() == ["2017-04-01"]


def test_a_write_the_server_refuses_leaves_the_old_table_and_no_stray_one(
    store: PostgresDatasetStore, postgres_url: str
) -> None:
    old = pd.DataFrame({"name": ["kept"]})
    store.write("names", old)
    with pytest.raises(DataValidationError, match="refused to write dataset 'names'"):
        store.write("names", pd.DataFrame({"name": ["ok", "NUL \x00 byte"]}))
    pd.testing.assert_frame_equal(store.read("names"), old)
    assert tables_in(postgres_url, "datasets") == ["names"]


def test_a_write_interrupted_during_the_load_leaves_the_old_table(
    store: PostgresDatasetStore, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = pd.DataFrame({"x": np.arange(10)})
    store.write("numbers", old)

    def interrupted(self: object, size: int = -1) -> bytes:
        raise ConnectionResetError("client went away")

    monkeypatch.setattr(postgres_store._CsvStream, "read", interrupted)
    with pytest.raises(Exception, match="client went away"):
        store.write("numbers", pd.DataFrame({"x": np.arange(100)}))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.read("numbers"), old)
    assert tables_in(postgres_url, "datasets") == ["numbers"]


def test_reading_a_missing_dataset_says_where_it_looked_and_what_to_do(
    store: PostgresDatasetStore,
) -> None:
    with pytest.raises(DatasetNotFoundError, match="holds no datasets yet") as raised:
        store.read("transactions_prepared")
    assert "PostgreSQL schema datasets at" in str(raised.value)
    assert "generate" in str(raised.value)
    store.write("merchants", pd.DataFrame({"x": [1]}))
    with pytest.raises(DatasetNotFoundError, match="it holds merchants"):
        store.read("transactions_prepared")
    assert store.exists("merchants")
    assert not store.exists("transactions_prepared")


def test_unknown_columns_and_unsafe_names_are_refused(store: PostgresDatasetStore) -> None:
    store.write("numbers", pd.DataFrame({"x": [1], "y": [2]}))
    with pytest.raises(DataValidationError, match=r"no column\(s\) 'z'; it has x, y"):
        store.read("numbers", columns=["z"])
    with pytest.raises(ConfigurationError, match="dataset name"):
        store.write('numbers"; DROP TABLE datasets.numbers; --', pd.DataFrame({"x": [1]}))
    assert store.read("numbers")["x"].tolist() == [1]


def test_schemas_keep_their_datasets_apart(postgres_url: str) -> None:
    first = PostgresDatasetStore(postgres_url, schema="first")
    second = PostgresDatasetStore(postgres_url, schema="second")
    first.write("numbers", pd.DataFrame({"x": [1]}))
    assert first.names() == ["numbers"]
    assert second.names() == []


def test_a_table_written_by_someone_else_reads_with_sensible_dtypes(
    store: PostgresDatasetStore, postgres_url: str
) -> None:
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA datasets")
        cursor.execute(
            "CREATE TABLE datasets.external (id integer, amount numeric(10, 2), "
            "label varchar(10), seen timestamptz, day date)"
        )
        cursor.execute(
            "INSERT INTO datasets.external VALUES "
            "(1, 12.50, 'x', '2017-04-01 12:00+02', '2017-04-01'), (2, NULL, NULL, NULL, NULL)"
        )
    connection.close()
    frame = store.read("external")
    assert frame["id"].tolist() == [1, 2]
    assert frame["amount"].iloc[0] == 12.5
    assert pd.isna(frame["amount"].iloc[1])
    assert frame["label"].iloc[0] == "x"
    assert frame["seen"].iloc[0] == pd.Timestamp("2017-04-01 10:00", tz="UTC")
    assert len(store.read("external", date_column="day", period=Q2)) == 1
