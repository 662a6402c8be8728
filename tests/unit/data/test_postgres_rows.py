"""include/data/postgres_rows without a server: the table it names, its URL checks and errors.

Reading rows by period and in chunks runs against a real PostgreSQL in
tests/integration/test_sources_postgres.py and test_source_chunks.py; a port where nothing listens
stands in for a server that is down.
"""

from __future__ import annotations

import pytest

from include.data.postgres_rows import PostgresRows
from include.errors import ConfigurationError, StoreError

DOWN = "postgresql://reader:s3cret@127.0.0.1:1/warehouse"


def test_a_schema_qualified_table_is_split_into_schema_and_name():
    rows = PostgresRows(DOWN, "sales.transactions", date_column="day")
    assert (rows.schema, rows.name, rows.table, rows.date_column) == (
        "sales",
        "transactions",
        "sales.transactions",
        "day",
    )


def test_a_bare_table_name_is_looked_up_on_the_search_path():
    rows = PostgresRows(DOWN, "transactions", date_column="day")
    assert rows.schema is None
    assert rows.name == "transactions"


def test_the_description_names_the_table_and_address_without_the_password():
    description = PostgresRows(DOWN, "sales.t", date_column="d").describe()
    assert description == "PostgreSQL table or view sales.t at 127.0.0.1:1/warehouse"
    local = PostgresRows("postgresql://u@/", "t", date_column="d").describe()
    assert local == "PostgreSQL table or view t at local socket:5432/(default database)"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/d", "needs a postgresql:// URL, not mysql://"),
        ("  ", "data's PostgreSQL URL is empty"),
    ],
)
def test_other_urls_are_configuration_errors(url, message):
    with pytest.raises(ConfigurationError, match=message):
        PostgresRows(url, "t", date_column="d")


def test_a_server_that_is_down_is_a_store_error_naming_the_table_not_the_password():
    rows = PostgresRows(DOWN, "sales.t", date_column="d")
    with pytest.raises(StoreError) as caught:
        rows.exists()
    message = str(caught.value)
    assert message.startswith(
        "cannot connect to read PostgreSQL table or view sales.t at 127.0.0.1:1/warehouse "
        "as user reader"
    )
    assert "s3cret" not in message


def test_a_bad_chunk_size_is_refused_before_connecting():
    rows = PostgresRows(DOWN, "t", date_column="d")
    with pytest.raises(ConfigurationError, match="rows per chunk"):
        next(rows.chunks(rows=0))
