"""Reading a user's rows from Parquet files and folders (hive partitions, time zones)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.data.sources import (
    ParquetRows,
    RowSource,
)
from include.errors import DatasetNotFoundError, DataValidationError
from tests.unit.data.conftest import Q2, digest, rows


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


def test_a_flat_folder_of_monthly_files_with_time_zones(tmp_path: Path) -> None:
    folder = tmp_path / "monthly"
    (folder / "2017").mkdir(parents=True)
    data = rows().assign(when=rows()["when"].dt.tz_localize("UTC"))
    data.iloc[:3].to_parquet(folder / "2017" / "first.parquet")
    data.iloc[3:].to_parquet(folder / "2017" / "second.parquet")
    batch = ParquetRows(folder, date_column="when").read(period=Q2, columns=["amount", "when"])
    assert sorted(batch["amount"]) == [2.0, 3.0, 4.0]
    assert str(batch["when"].dt.tz) == "UTC"
