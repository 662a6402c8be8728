"""Choosing a dataset store from a location, and what a user sees when PostgreSQL is unreachable."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

from include.data.storage import (
    DatasetStore,
    ParquetDatasetStore,
    PostgresDatasetStore,
    open_dataset_store,
)
from include.errors import ConfigurationError, StoreError


@pytest.mark.parametrize("location", [None, "", "  "])
def test_no_location_means_parquet_files_under_mes_home(
    location: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    store = open_dataset_store(location)
    assert isinstance(store, ParquetDatasetStore)
    assert store.root == tmp_path / "datasets"
    assert store.describe() == f"parquet files in {tmp_path / 'datasets'}"


def test_a_folder_means_parquet_files_there(tmp_path: Path) -> None:
    for location in (tmp_path, str(tmp_path)):
        store = open_dataset_store(location)
        assert isinstance(store, ParquetDatasetStore)
        assert store.root == tmp_path
        assert isinstance(store, DatasetStore)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://monitor:s3cret@db.example.com:6543/models",
        "postgresql+psycopg2://monitor:s3cret@db.example.com:6543/models",
    ],
)
def test_a_postgresql_url_means_tables_there_and_its_password_is_never_shown(url: str) -> None:
    store = open_dataset_store(url)
    assert isinstance(store, PostgresDatasetStore)
    assert store.describe() == "PostgreSQL schema datasets at db.example.com:6543/models"
    assert "s3cret" not in store.describe()


def test_other_kinds_of_url_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="s3://"):
        open_dataset_store("s3://bucket/datasets")


def test_an_invalid_schema_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="schema name"):
        PostgresDatasetStore("postgresql://u@localhost/db", schema='x"; drop table y; --')


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_gives_a_store_error_naming_it_without_the_password() -> None:
    port = closed_port()
    store = PostgresDatasetStore(f"postgresql://monitor:s3cret@127.0.0.1:{port}/models")
    with pytest.raises(StoreError) as raised:
        store.read("transactions_prepared")
    message = str(raised.value)
    assert f"127.0.0.1:{port}/models" in message
    assert "s3cret" not in message
    assert "running" in message
    with pytest.raises(StoreError):
        store.write("transactions_prepared", pd.DataFrame({"x": [1]}))
