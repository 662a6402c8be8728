"""Where a model's rows are read from: the user's own Parquet, CSV or PostgreSQL, or the store.

A :class:`RowSource` reads the rows of one source, all of them or one period's, only the columns
asked for. :func:`open_rows` gives the source of a configuration's data (``data``, else dataset
``dataset`` of the dataset store) and :func:`open_reference_rows` that of its reference dataset.

- Parquet file or folder (many files, e.g. one per day; ``key=value`` folders are read as hive
  partitions): the period filter goes to Parquet, which skips row groups and files outside it,
  when the date column holds dates or timestamps; text dates are filtered after reading.
- CSV file: read in chunks, the date column parsed (ISO 8601 text), the period kept; categorical
  features are read as text (``007`` stays ``007``), numeric ones must be numbers. The separator
  is ``,``, or ``;``, tab or ``|`` when the header line uses that instead.
- PostgreSQL table, view or materialized view: ``SELECT`` of the needed columns with the period in
  a parameterised ``WHERE date >= %s AND date < %s``; timestamps with a time zone are cut at UTC
  midnight.

:meth:`RowSource.chunks` gives the same rows as consecutive frames of a bounded size, for an
evaluation whose batch does not fit in memory (issue 14): Parquet a row group at a time
(only those the period can hold), CSV a block of lines at a time, PostgreSQL a block
of rows at a time from a server-side cursor. A dataset of the dataset store is read whole, then
cut: the store is the tutorial's, not where big data lives.

Periods are half-open (``start <= date < end``). Reading never changes a source. Errors say what
is wrong and where (never a password): DatasetNotFoundError for a missing file, folder or table,
DataValidationError for unusable content, ConfigurationError for a source that cannot be used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from include.config import DataSource, MonitoringConfig
from include.data.csv_rows import CsvRows
from include.data.parquet_rows import ParquetRows
from include.data.postgres_rows import PostgresRows
from include.data.rows import CHUNK_ROWS, chunk_rows
from include.data.storage import POSTGRES_SCHEMES, DatasetStore, PostgresDatasetStore
from include.errors import ConfigurationError
from include.periods import Period
from include.settings import current

__all__ = [
    "CsvRows",
    "ParquetRows",
    "PostgresRows",
    "RowSource",
    "StoreRows",
    "open_reference_rows",
    "open_rows",
]


@runtime_checkable
class RowSource(Protocol):
    """The rows of one source of data."""

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The rows with ``period.start <= date < period.end`` (all rows without a period), only
        ``columns`` if given (in that order; the date column only when asked for), indexed 0..n-1.
        """

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """The rows :meth:`read` returns, as consecutive frames of at most ``rows`` rows (fewer
        where the source cuts them), each indexed 0..n-1; none when there is no row. Put together
        they equal :meth:`read`'s frame, except that a column's type is decided chunk by chunk.
        """

    def exists(self) -> bool:
        """Whether the source is there to be read (a file, a folder of Parquet files, a table)."""

    def describe(self) -> str:
        """What and where the source is, for logs and messages (never a password)."""


def open_rows(config: MonitoringConfig, datasets: DatasetStore) -> RowSource:
    """The rows of ``config``: its ``data``, else dataset ``config.dataset`` of ``datasets``."""
    if config.data is None:
        return StoreRows(datasets, config.dataset, date_column=config.date_column)
    return _open_source(config.data, config, datasets, "data")


def open_reference_rows(config: MonitoringConfig, datasets: DatasetStore) -> RowSource | None:
    """The rows of ``config.reference_dataset``; None when the configuration names none."""
    if config.reference_dataset is None:
        return None
    return _open_source(config.reference_dataset, config, datasets, "reference_dataset")


def _open_source(
    source: DataSource, config: MonitoringConfig, datasets: DatasetStore, setting: str
) -> RowSource:
    if source.table is not None:
        url = source.url or _datasets_url(datasets)
        if url is None:
            raise ConfigurationError(
                f"{setting}.table {source.table!r} needs a PostgreSQL database: give "
                f"{setting}.url (postgresql://user:${{PASSWORD_VARIABLE}}@host:5432/dbname), or "
                "set MES_DATASETS to a postgresql:// URL"
            )
        return PostgresRows(url, source.table, date_column=config.date_column)
    path = Path(source.path).expanduser()
    if source.file_format == "csv":
        return CsvRows(
            path,
            date_column=config.date_column,
            text_columns=config.categorical_features,
            numeric_columns=config.numeric_features,
        )
    return ParquetRows(path, date_column=config.date_column)


def _datasets_url(datasets: DatasetStore) -> str | None:
    """The dataset store's PostgreSQL URL: ``MES_DATASETS``, else the open store's own."""
    text = (current().mes_datasets or "").strip()
    if text.split("://", 1)[0].split("+", 1)[0].lower() in POSTGRES_SCHEMES and "://" in text:
        return text
    if isinstance(datasets, PostgresDatasetStore):
        return datasets.url
    return None


class StoreRows:
    """Dataset ``name`` of a dataset store (the tutorial's way, and any ``dataset:`` without
    ``data:``)."""

    def __init__(self, store: DatasetStore, name: str, *, date_column: str) -> None:
        self.store, self.name, self.date_column = store, name, date_column

    def describe(self) -> str:
        return f"dataset {self.name!r} of {self.store.describe()}"

    def exists(self) -> bool:
        return self.store.exists(self.name)

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        return self.store.read(
            self.name,
            columns=columns,
            date_column=self.date_column if period is not None else None,
            period=period,
        )

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """Read whole, then cut (see the module docstring)."""
        rows = chunk_rows(rows)
        frame = self.read(period=period, columns=columns)
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows].reset_index(drop=True)
