"""Reading a user's own rows: Parquet files and folders, CSV files, and the dataset store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.config import parse_config
from include.data.sources import (
    CsvRows,
    ParquetRows,
    PostgresRows,
    RowSource,
    StoreRows,
    open_reference_rows,
    open_rows,
)
from include.data.storage import ParquetDatasetStore
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period

Q2 = Period.parse("2017Q2")


def rows() -> pd.DataFrame:
    """Six rows around the edges of 2017Q2: its first and last instant, and just outside."""
    return pd.DataFrame(
        {
            "when": pd.to_datetime(
                [
                    "2017-03-31 23:59:59",
                    "2017-04-01 00:00:00",
                    "2017-05-15 12:00:00",
                    "2017-06-30 23:59:59",
                    "2017-07-01 00:00:00",
                    "2017-08-01 00:00:00",
                ]
            ),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "zip": ["01234", "02345", "03456", "04567", "05678", "06789"],
            "label": [0, 1, 0, 1, 0, 1],
        }
    )


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


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_a_parquet_file_reads_one_half_open_period(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    rows().to_parquet(path)
    before = digest(path)
    source = ParquetRows(path, date_column="when")
    assert isinstance(source, RowSource)
    assert source.exists()
    batch = source.read(period=Q2)
    assert batch["amount"].tolist() == [2.0, 3.0, 4.0]
    assert list(batch.index) == [0, 1, 2]
    assert len(source.read()) == 6
    assert source.read(period=Q2, columns=["zip"]).columns.tolist() == ["zip"]
    assert source.describe() == f"Parquet file {path}"
    assert digest(path) == before


def test_a_parquet_folder_of_daily_files_and_hive_partitions(tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    data = rows()
    for index, row in data.iterrows():
        day = row["when"].strftime("%Y-%m-%d")
        part = folder / f"day={day}"
        part.mkdir(parents=True)
        frame = data.iloc[[index]]
        if index == 5:  # a later file whose amounts came out as integers
            frame = frame.assign(amount=frame["amount"].astype("int64"))
        frame.to_parquet(part / "part-0.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.parquet").write_text("not parquet")
    before = digest(folder)
    source = ParquetRows(folder, date_column="when")
    assert source.exists()
    assert source.describe() == f"Parquet folder {folder}"
    batch = source.read(period=Q2)
    assert batch.sort_values("amount")["amount"].tolist() == [2.0, 3.0, 4.0]
    assert "day" in batch.columns  # the partition key is a column
    assert len(source.read()) == 6
    assert digest(folder) == before


def test_parquet_dates_as_text_are_filtered_after_reading(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    rows().assign(when=rows()["when"].dt.strftime("%Y-%m-%dT%H:%M:%S")).to_parquet(path)
    batch = ParquetRows(path, date_column="when").read(period=Q2, columns=["amount"])
    assert batch["amount"].tolist() == [2.0, 3.0, 4.0]


def test_a_csv_file_parses_dates_keeps_codes_as_text_and_numbers_as_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "when,amount,zip,label\n"
        "2017-03-31 23:59:59,1.5,01234,0\n"
        "2017-04-01,2,02345,1\n"
        "2017-06-30T23:59:59,,03456,0\n"
        "2017-07-01,4.25,,1\n"
    )
    before = digest(path)
    source = CsvRows(path, date_column="when", text_columns=["zip"], numeric_columns=["amount"])
    everything = source.read()
    assert pd.api.types.is_datetime64_any_dtype(everything["when"])
    assert pd.api.types.is_float_dtype(everything["amount"])
    assert everything["zip"].tolist()[:3] == ["01234", "02345", "03456"]
    assert pd.isna(everything["zip"].iloc[3])
    batch = source.read(period=Q2)
    assert batch["zip"].tolist() == ["02345", "03456"]
    assert source.read(period=Q2, columns=["label"]).to_dict("list") == {"label": [1, 0]}
    assert digest(path) == before


def test_a_semicolon_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffwhen;amount;zip;label\n2017-04-02;3;99;1\n".encode())
    batch = CsvRows(path, date_column="when", text_columns=["zip"]).read(period=Q2)
    assert batch.to_dict("list")["zip"] == ["99"]


def test_csv_errors_say_what_and_where(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DatasetNotFoundError, match=r"no CSV file at .*nowhere.csv"):
        CsvRows(missing, date_column="when").read()
    assert not CsvRows(missing, date_column="when").exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match=r"empty.csv is empty"):
        CsvRows(empty, date_column="when").read()
    dates = tmp_path / "dates.csv"
    dates.write_text("when,amount\n31/12/2017,1\n")
    with pytest.raises(DataValidationError, match=r"dates.csv.*'31/12/2017'.*ISO 8601"):
        CsvRows(dates, date_column="when").read(period=Q2)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text('when,amount\n2017-04-01,"1,234.5"\n')
    with pytest.raises(DataValidationError, match=r"'amount' of CSV file .*'1,234.5'"):
        CsvRows(numbers, date_column="when", numeric_columns=["amount"]).read()
    with pytest.raises(DataValidationError, match=r"no date column 'day'"):
        CsvRows(numbers, date_column="day").read(period=Q2)
    with pytest.raises(DataValidationError, match=r"no column.*'nope'.*its columns are when"):
        CsvRows(numbers, date_column="when").read(columns=["nope"])
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"when,amount\n2017-04-01,\xff\xfe\n")
    with pytest.raises(DataValidationError, match=r"not UTF-8"):
        CsvRows(broken, date_column="when").read()
    with pytest.raises(ConfigurationError, match=r"is a folder, not a CSV file"):
        CsvRows(tmp_path, date_column="when").read()


def test_parquet_errors_say_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"no Parquet file or folder at"):
        ParquetRows(tmp_path / "none.parquet", date_column="when").read()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    source = ParquetRows(empty, date_column="when")
    assert not source.exists()
    with pytest.raises(DatasetNotFoundError, match=r"holds no \*.parquet files"):
        source.read()
    fake = tmp_path / "fake.parquet"
    fake.write_text("this is not parquet")
    with pytest.raises(DataValidationError, match=r"cannot read Parquet file .*fake.parquet"):
        ParquetRows(fake, date_column="when").read()
    good = tmp_path / "good.parquet"
    rows().to_parquet(good)
    with pytest.raises(DataValidationError, match=r"no date column 'day'"):
        ParquetRows(good, date_column="day").read(period=Q2)
    pq.write_table(pa.table({"when": [1, 2]}), tmp_path / "numbers.parquet")
    with pytest.raises(DataValidationError, match=r"should hold dates"):
        ParquetRows(tmp_path / "numbers.parquet", date_column="when").read(period=Q2)


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


def test_a_flat_folder_of_monthly_files_with_time_zones(tmp_path: Path) -> None:
    folder = tmp_path / "monthly"
    (folder / "2017").mkdir(parents=True)
    data = rows().assign(when=rows()["when"].dt.tz_localize("UTC"))
    data.iloc[:3].to_parquet(folder / "2017" / "first.parquet")
    data.iloc[3:].to_parquet(folder / "2017" / "second.parquet")
    batch = ParquetRows(folder, date_column="when").read(period=Q2, columns=["amount", "when"])
    assert sorted(batch["amount"]) == [2.0, 3.0, 4.0]
    assert str(batch["when"].dt.tz) == "UTC"
