"""A user's rows in PostgreSQL tables and views, on a real server; and ``generate`` into a
PostgreSQL dataset store, which never overwrites a table it did not write."""

from __future__ import annotations

import pandas as pd
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from include.cli import main
from include.data.sources import PostgresRows, open_rows
from include.data.storage import PostgresDatasetStore
from include.errors import DatasetNotFoundError, DataValidationError, StoreError
from include.periods import Period
from include.tutorial import TUTORIAL_DATASETS
from include.tutorial.datasets import generate_tutorial_data
from include.tutorial.generator import generate_tables
from include.tutorial.provenance import ForeignDatasetError

pytestmark = pytest.mark.integration

Q2 = Period.parse("2017Q2")

SALES = """
CREATE SCHEMA shop;
CREATE TABLE shop.sales (
    sold_at timestamp, sold_on date, sold_utc timestamptz, sold_text text,
    amount numeric(10, 2), units integer, plan varchar(10), churned boolean
);
INSERT INTO shop.sales VALUES
    ('2017-03-31 23:59:59', '2017-03-31', '2017-03-31 23:59:59+00', '2017-03-31', 1.50, 1, 'a', true),
    ('2017-04-01 00:00:00', '2017-04-01', '2017-04-01 00:00:00+00', '2017-04-01', 2.25, 2, 'b', false),
    ('2017-06-30 23:59:59', '2017-06-30', '2017-06-30 23:59:59+00', '2017-06-30', 3.00, NULL, NULL, true),
    ('2017-07-01 00:00:00', '2017-07-01', '2017-07-01 00:00:00+00', '2017-07-01', 4.00, 4, 'd', false);
CREATE VIEW shop.recent_sales AS SELECT sold_at, amount, plan FROM shop.sales WHERE units > 1;
CREATE VIEW "Shop_View" AS SELECT sold_at, amount FROM shop.sales;
CREATE MATERIALIZED VIEW shop.sales_summary AS SELECT sold_on, sum(amount) AS total
    FROM shop.sales GROUP BY sold_on;
"""  # noqa: E501


def run_sql(url: str, statements: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(statements)
    connection.close()


def query(url: str, statement: str) -> list[tuple]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall()
    connection.close()
    return rows


@pytest.fixture
def shop(postgres_url: str) -> str:
    run_sql(postgres_url, SALES)
    return postgres_url


@pytest.mark.parametrize("date_column", ["sold_at", "sold_on", "sold_utc", "sold_text"])
def test_a_table_reads_one_half_open_period_on_any_kind_of_date(
    shop: str, date_column: str
) -> None:
    source = PostgresRows(shop, "shop.sales", date_column=date_column)
    assert source.exists()
    batch = source.read(period=Q2)
    assert batch["amount"].tolist() == [2.25, 3.0]
    assert pd.api.types.is_float_dtype(batch["amount"])
    assert pd.api.types.is_datetime64_any_dtype(batch[date_column])
    assert list(batch.index) == [0, 1]
    assert len(source.read()) == 4
    only = source.read(period=Q2, columns=["plan", "units"])
    assert only.columns.tolist() == ["plan", "units"]
    assert only["plan"].tolist()[0] == "b"


def test_views_and_materialized_views_read_like_tables(shop: str) -> None:
    view = PostgresRows(shop, "shop.recent_sales", date_column="sold_at")
    assert view.read(period=Q2).to_dict("list")["plan"] == ["b"]
    assert len(PostgresRows(shop, "Shop_View", date_column="sold_at").read(period=Q2)) == 2
    summary = PostgresRows(shop, "shop.sales_summary", date_column="sold_on")
    assert sorted(summary.read(period=Q2)["total"]) == [2.25, 3.0]


def test_unquoted_names_are_found_in_lower_case_and_on_the_search_path(shop: str) -> None:
    run_sql(shop, "CREATE VIEW public.sales_view AS SELECT * FROM shop.sales")
    assert len(PostgresRows(shop, "Sales_View", date_column="sold_at").read(period=Q2)) == 2
    assert len(PostgresRows(shop, "SHOP.SALES", date_column="sold_at").read(period=Q2)) == 2


def test_reading_changes_nothing(shop: str) -> None:
    before = query(shop, "SELECT * FROM shop.sales ORDER BY sold_at")
    tables = query(shop, "SELECT count(*) FROM pg_class")
    PostgresRows(shop, "shop.sales", date_column="sold_at").read(period=Q2)
    assert query(shop, "SELECT * FROM shop.sales ORDER BY sold_at") == before
    assert query(shop, "SELECT count(*) FROM pg_class") == tables


def test_errors_say_what_and_where_without_the_password(shop: str) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"shop.nothing at .* does not exist"):
        PostgresRows(shop, "shop.nothing", date_column="sold_at").read()
    assert not PostgresRows(shop, "shop.nothing", date_column="sold_at").exists()
    with pytest.raises(DataValidationError, match=r"no date column 'day'.*its columns are sold_at"):
        PostgresRows(shop, "shop.sales", date_column="day").read(period=Q2)
    with pytest.raises(DataValidationError, match=r"no column.*'nope'"):
        PostgresRows(shop, "shop.sales", date_column="sold_at").read(columns=["nope"])
    with pytest.raises(DataValidationError, match=r"'units' .* has type integer"):
        PostgresRows(shop, "shop.sales", date_column="units").read(period=Q2)
    # Nothing listens on port 1: the connection fails, and the error keeps the password out.
    wrong = make_url(shop).set(password="not-the-password-xyz", port=1)
    url = wrong.render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"cannot connect to read PostgreSQL") as caught:
        PostgresRows(url, "shop.sales", date_column="sold_at").read()
    assert "not-the-password-xyz" not in str(caught.value)


def test_open_rows_takes_the_dataset_stores_database_by_default(
    shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from include.config import parse_config

    monkeypatch.delenv("MES_DATASETS", raising=False)
    config = parse_config(
        {
            "name": "shop_model",
            "label": "churned",
            "date_column": "sold_at",
            "numeric_features": ["amount"],
            "categorical_features": ["plan"],
            "reference_period": "2017Q1",
            "data": {"table": "shop.recent_sales"},
            "model": {"source": "predictions", "score_column": "score"},
        }
    )
    source = open_rows(config, PostgresDatasetStore(shop))
    assert source.read(period=Q2)["plan"].tolist() == ["b"]


def test_generating_into_postgresql_twice_and_refusing_a_users_table(
    postgres_url: str,
) -> None:
    store = PostgresDatasetStore(postgres_url)
    generate_tutorial_data(store, transactions_per_quarter=300)
    generate_tutorial_data(store, transactions_per_quarter=300, seed=3)
    assert sorted(store.generated_records()) == sorted(TUTORIAL_DATASETS)
    # The provenance goes into the table's comment beside the dtypes the store reads back with.
    generated = generate_tables(transactions_per_quarter=300, seed=3).cardholders
    pd.testing.assert_frame_equal(store.read("cardholders"), generated)

    run_sql(postgres_url, "UPDATE datasets.merchants SET latitude = latitude + 1")
    before = query(postgres_url, "SELECT count(*) FROM datasets.transactions")
    with pytest.raises(ForeignDatasetError, match=r"'merchants' \(changed since generate"):
        generate_tutorial_data(store, transactions_per_quarter=200)
    assert query(postgres_url, "SELECT count(*) FROM datasets.transactions") == before

    run_sql(postgres_url, "DROP TABLE datasets.merchants")
    store.write("merchants", pd.DataFrame({"merchant_id": ["mine"]}))
    with pytest.raises(ForeignDatasetError, match=r"'merchants' \(not written by generate\)"):
        generate_tutorial_data(store, transactions_per_quarter=200)
    assert store.read("merchants")["merchant_id"].tolist() == ["mine"]


def test_the_cli_refuses_a_users_table_in_a_postgresql_store(
    postgres_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    monkeypatch.setenv("MES_DATASETS", postgres_url)
    for variable in ("MES_CONFIG", "MES_CONFIG_DIR", "MES_DATABASE_URL", "MES_MODELS"):
        monkeypatch.delenv(variable, raising=False)
    PostgresDatasetStore(postgres_url).write("transactions", pd.DataFrame({"mine": [1, 2]}))
    assert main(["generate", "--transactions-per-quarter", "200"]) == 1
    assert "'transactions' (not written by generate)" in capsys.readouterr().err
    assert PostgresDatasetStore(postgres_url).names() == ["transactions"]
