"""include/data/postgres_store without a server: what it checks before connecting, and how it says
it cannot connect.

Reading and writing datasets run against a real PostgreSQL in
tests/integration/test_dataset_store_postgres.py (the dataset store contract and the
store-specific cases); a port where nothing listens stands in for a server that is down.
"""

from __future__ import annotations

import pandas as pd
import pytest

from include.data.postgres_store import PostgresDatasetStore
from include.errors import ConfigurationError, DataValidationError, StoreError

DOWN = "postgresql://mes:s3cret@127.0.0.1:1/warehouse"


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/d", "postgres://u@h/d", "postgresql+psycopg2://u@h/d"]
)
def test_postgresql_urls_are_accepted(url):
    assert PostgresDatasetStore(url).schema == "datasets"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "needs a postgresql:// URL, not sqlite"),
        ("", "dataset store URL is empty"),
        ("postgresql://u:p@ss@h/d", "more than one @"),
    ],
)
def test_other_urls_are_configuration_errors(url, message):
    with pytest.raises(ConfigurationError, match=message):
        PostgresDatasetStore(url)


@pytest.mark.parametrize("schema", ["", "my-schema", "a.b", "x" * 64, None])
def test_schema_names_are_plain_identifiers(schema):
    with pytest.raises(ConfigurationError, match="schema name"):
        PostgresDatasetStore("postgresql://u@h/d", schema)


def test_the_description_has_the_address_but_never_the_password():
    store = PostgresDatasetStore(DOWN, "tutorial")
    assert store.describe() == "PostgreSQL schema tutorial at 127.0.0.1:1/warehouse"
    assert PostgresDatasetStore("postgresql:///d").describe() == (
        "PostgreSQL schema datasets at local socket:5432/d"
    )


def test_the_url_keeps_the_password_for_connecting():
    assert PostgresDatasetStore(DOWN).url == DOWN


def test_a_server_that_is_down_is_a_store_error_without_the_password():
    store = PostgresDatasetStore(DOWN)
    with pytest.raises(StoreError) as caught:
        store.names()
    message = str(caught.value)
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/warehouse as user mes")
    assert "Check that the server is running" in message
    assert "s3cret" not in message


def test_bad_names_and_frames_are_refused_before_connecting():
    store = PostgresDatasetStore(DOWN)
    with pytest.raises(ConfigurationError, match="dataset name 'bad name' is not valid"):
        store.exists("bad name")
    with pytest.raises(ConfigurationError, match="not valid"):
        store.write("a;drop", pd.DataFrame({"x": [1]}))
    with pytest.raises(DataValidationError, match="repeated"):
        store.write("ok", pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(ConfigurationError, match="not valid"):
        store.read("../x")
    with pytest.raises(ConfigurationError, match="not valid"):
        store.record_generated("bad name", {})
