"""Reading a source in chunks (``RowSource.chunks``): the same rows as ``read``, a bounded block at
a time, from every kind of source (Parquet file and folder, CSV, PostgreSQL table, dataset store),
on a real PostgreSQL server."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from include.data.sources import CsvRows, ParquetRows, PostgresRows, RowSource, StoreRows
from include.data.storage import ParquetDatasetStore
from include.errors import ConfigurationError, DataValidationError
from include.periods import Period

pytestmark = pytest.mark.integration

ROWS = 5_000
CHUNK = 700
Q2 = Period.parse("2017Q2")


def frame() -> pd.DataFrame:
    """A year of rows, in date order, with a missing amount and a missing code now and then."""
    rng = np.random.default_rng(14)
    seconds = np.sort(rng.integers(0, 365 * 86_400, ROWS))
    amount = rng.normal(100.0, 30.0, ROWS).round(2)
    amount[::97] = np.nan
    codes = rng.choice(["001", "020", "300"], ROWS).astype(object)
    codes[::89] = None
    return pd.DataFrame(
        {
            "when": pd.Timestamp("2017-01-01") + pd.to_timedelta(seconds, unit="s"),
            "amount": amount,
            "zip": codes,
            "label": rng.integers(0, 2, ROWS),
        }
    )


def postgres_source(url: str, data: pd.DataFrame) -> PostgresRows:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS chunked_rows; CREATE TABLE chunked_rows "
            '("when" timestamp, amount double precision, zip text, label integer)'
        )
        rows = [
            (when.to_pydatetime(), None if math.isnan(amount) else amount, code, int(label))
            for when, amount, code, label in data.itertuples(index=False)
        ]
        cursor.executemany("INSERT INTO chunked_rows VALUES (%s, %s, %s, %s)", rows)
    connection.close()
    return PostgresRows(url, "chunked_rows", date_column="when")


@pytest.fixture(
    params=["parquet file", "parquet folder", "hive folder", "csv", "postgresql", "dataset store"]
)
def source(request, tmp_path: Path) -> RowSource:
    data = frame()
    kind = request.param
    if kind == "parquet file":
        data.to_parquet(tmp_path / "rows.parquet", row_group_size=1_000)
        return ParquetRows(tmp_path / "rows.parquet", date_column="when")
    if kind == "parquet folder":
        folder = tmp_path / "rows"
        folder.mkdir()
        for month, rows in data.groupby(data["when"].dt.month):
            rows.to_parquet(folder / f"2017-{month:02d}.parquet")
        return ParquetRows(folder, date_column="when")
    if kind == "hive folder":
        # month=1/part.parquet ...: the month is a column of the dataset, read from the path
        folder = tmp_path / "hive"
        for month, rows in data.groupby(data["when"].dt.month):
            (folder / f"month={month}").mkdir(parents=True)
            rows.to_parquet(folder / f"month={month}" / "part.parquet", row_group_size=300)
        return ParquetRows(folder, date_column="when")
    if kind == "csv":
        data.assign(when=data["when"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(
            tmp_path / "rows.csv", index=False
        )
        return CsvRows(
            tmp_path / "rows.csv",
            date_column="when",
            text_columns=["zip"],
            numeric_columns=["amount"],
        )
    if kind == "postgresql":
        return postgres_source(request.getfixturevalue("postgres_url"), data)
    store = ParquetDatasetStore(tmp_path / "store")
    store.write("rows", data)
    return StoreRows(store, "rows", date_column="when")


@pytest.mark.parametrize(
    ("period", "columns"),
    [(None, None), (Q2, None), (Q2, ["amount", "zip"]), (Period.parse("2017-02"), ["label"])],
    ids=["everything", "a quarter", "a quarter, two columns", "a month, one column"],
)
def test_the_chunks_put_together_are_what_read_returns(source, period, columns) -> None:
    whole = source.read(period=period, columns=columns)
    chunks = list(source.chunks(period=period, columns=columns, rows=CHUNK))
    assert all(0 < len(chunk) <= CHUNK for chunk in chunks)
    assert all(chunk.index.equals(pd.RangeIndex(len(chunk))) for chunk in chunks)
    assert len(chunks) >= math.ceil(len(whole) / CHUNK)
    together = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(together, whole)
    assert list(together.columns) == list(whole.columns)


def test_a_period_without_rows_gives_no_chunk(source) -> None:
    assert list(source.chunks(period=Period.parse("2019Q1"), rows=CHUNK)) == []


def test_bad_chunk_sizes_and_missing_columns_are_refused(source) -> None:
    for rows in (0, -5, 2.5, True):
        with pytest.raises(ConfigurationError, match="rows per chunk must be a whole number"):
            next(source.chunks(rows=rows))
    with pytest.raises(DataValidationError, match="no column"):
        next(source.chunks(columns=["amount", "nope"], rows=CHUNK))
