"""Datasets as PostgreSQL tables, on a real server: the dataset store contract, plus what only
PostgreSQL does (the period filter in SQL, values the server refuses, schemas, foreign tables)."""

from __future__ import annotations

import pandas as pd
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from include.data import postgres_csv, postgres_store
from include.data.storage import PostgresDatasetStore, open_dataset_store
from include.errors import DataValidationError
from tests.support.dataset_store_contract import (
    Q2,
    DatasetStoreContract,
    StoreCase,
    prepared_transactions,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def store(postgres_url: str) -> PostgresDatasetStore:
    return PostgresDatasetStore(postgres_url)


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


def interrupt_writes_during_the_load(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[type[BaseException], str]:
    """The next writes lose their client while COPY is loading the new table."""

    def interrupted(self: object, size: int = -1) -> bytes:
        raise ConnectionResetError("client went away")

    monkeypatch.setattr(postgres_csv.CsvStream, "read", interrupted)
    return Exception, "client went away"


class TestPostgresDatasetStore(DatasetStoreContract):
    @pytest.fixture
    def case(self, postgres_url: str) -> StoreCase:
        store = open_dataset_store(postgres_url)
        assert isinstance(store, PostgresDatasetStore)
        return StoreCase(
            store=store,
            where="PostgreSQL schema datasets at",
            stored=lambda: tables_in(postgres_url, "datasets"),
            entry=lambda name: name,
            break_writes=interrupt_writes_during_the_load,
        )


def test_the_period_filter_runs_in_the_database(
    store: PostgresDatasetStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = prepared_transactions()
    store.write("transactions_prepared", prepared)
    parsed_rows: list[int] = []
    parse = postgres_csv.parse_csv

    def counting_parse(data: bytes, columns: list[str], types: dict[str, str]) -> pd.DataFrame:
        frame = parse(data, columns, types)
        parsed_rows.append(len(frame))
        return frame

    monkeypatch.setattr(postgres_store, "parse_csv", counting_parse)
    batch = store.read("transactions_prepared", date_column="purchase_date", period=Q2)
    assert parsed_rows == [len(batch)]
    assert len(batch) < len(prepared) / 2


def test_a_write_the_server_refuses_leaves_the_old_table_and_no_stray_one(
    store: PostgresDatasetStore, postgres_url: str
) -> None:
    old = pd.DataFrame({"name": ["kept"]})
    store.write("names", old)
    with pytest.raises(DataValidationError, match="refused to write dataset 'names'"):
        store.write("names", pd.DataFrame({"name": ["ok", "NUL \x00 byte"]}))
    pd.testing.assert_frame_equal(store.read("names"), old)
    assert tables_in(postgres_url, "datasets") == ["names"]


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
