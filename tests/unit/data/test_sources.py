"""Where a model's rows are read from: the configured source, the dataset store, a table."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.config import parse_config
from include.data.sources import (
    CsvRows,
    ParquetRows,
    PostgresRows,
    StoreRows,
    open_reference_rows,
    open_rows,
)
from include.data.storage import ParquetDatasetStore
from include.errors import ConfigurationError
from tests.unit.data.conftest import Q2, rows


def config(data: dict | None = None, **extra) -> object:
    raw = {
        "name": "my_model",
        "label": "label",
        "date_column": "when",
        "numeric_features": ["amount"],
        "categorical_features": ["zip"],
        "reference_period": "2017Q1",
        "model": {"source": "predictions", "score_column": "score"},
        **extra,
    }
    if data is not None:
        raw["data"] = data
    return parse_config(raw)


def test_open_rows_picks_the_configured_source(tmp_path: Path) -> None:
    store = ParquetDatasetStore(tmp_path / "store")
    store.write("transactions_prepared", rows())
    from_store = open_rows(config(), store)
    assert isinstance(from_store, StoreRows)
    assert from_store.read(period=Q2)["amount"].tolist() == [2.0, 3.0, 4.0]
    assert "transactions_prepared" in from_store.describe()
    assert open_reference_rows(config(), store) is None

    rows().to_csv(tmp_path / "mine.csv", index=False)
    csv = open_rows(config({"path": str(tmp_path / "mine.csv")}), store)
    assert isinstance(csv, CsvRows)
    assert csv.read(period=Q2)["zip"].tolist() == ["02345", "03456", "04567"]
    reference = open_reference_rows(
        config(reference_dataset={"path": str(tmp_path / "mine.csv")}), store
    )
    assert isinstance(reference, CsvRows)
    parquet = open_rows(config({"path": str(tmp_path / "store")}), store)
    assert isinstance(parquet, ParquetRows)


def test_a_table_needs_a_postgresql_url_and_never_shows_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MES_DATASETS", raising=False)
    store = ParquetDatasetStore(tmp_path)
    with pytest.raises(ConfigurationError, match=r"data.table 'public.sales' needs a PostgreSQL"):
        open_rows(config({"table": "public.sales"}), store)
    monkeypatch.setenv("MES_DATASETS", "postgresql://me:s3cret@db.example:5433/shop")
    source = open_rows(config({"table": "public.sales"}), store)
    assert isinstance(source, PostgresRows)
    assert source.describe() == "PostgreSQL table or view public.sales at db.example:5433/shop"
    assert "s3cret" not in source.describe()
