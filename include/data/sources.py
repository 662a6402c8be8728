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
evaluation whose batch does not fit in memory (issue 14): Parquet through pyarrow's dataset
scanner (row groups read as they are consumed), CSV a block of lines at a time, PostgreSQL a block
of rows at a time from a server-side cursor. A dataset of the dataset store is read whole, then
cut: the store is the tutorial's, not where big data lives.

Periods are half-open (``start <= date < end``). Reading never changes a source. Errors say what
is wrong and where (never a password): DatasetNotFoundError for a missing file, folder or table,
DataValidationError for unusable content, ConfigurationError for a source that cannot be used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from include.config import DataSource, MonitoringConfig
from include.data.batches import as_datetimes, period_bounds, select_period
from include.data.postgres_rows import PostgresRows
from include.data.rows import CHUNK_ROWS, chunk_rows, columns_to_load, finish, first_line
from include.data.storage import POSTGRES_SCHEMES, DatasetStore, PostgresDatasetStore
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
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

CSV_CHUNK_ROWS = 250_000
_SEPARATORS = (",", ";", "\t", "|")


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


class ParquetRows:
    """A Parquet file, or a folder of Parquet files (read as one dataset, hive partitions too)."""

    def __init__(self, path: str | os.PathLike[str], *, date_column: str) -> None:
        self.path, self.date_column = Path(path), date_column

    def describe(self) -> str:
        kind = "folder" if self.path.is_dir() else "file"
        return f"Parquet {kind} {self.path}"

    def exists(self) -> bool:
        return self.path.is_file() or bool(self.path.is_dir() and self._files())

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        scanner, wanted, filtered = self._scanner(period, columns)
        try:
            frame = scanner.to_table().to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"cannot read {self.describe()}: {exc}") from None
        return finish(frame, self.describe(), self.date_column, period, filtered, wanted)

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """One row group at a time, read on this thread, cut into frames of ``rows``.

        Not the dataset scanner: it reads ahead on background threads as far as the consumer
        lags, whatever its readahead settings (10,000,000 rows consumed at 0.3 s a chunk: 1.5 GiB
        peak), whereas a row group read here is all that is held. The row groups whose
        statistics (and the files whose hive partitions) rule out the period are not read.
        """
        rows = chunk_rows(rows)
        dataset = self._dataset()
        wanted, load, row_filter = self._selection(dataset, period, columns)
        where = self.describe()
        try:
            for fragment in dataset.get_fragments(filter=row_filter):
                for group in fragment.split_by_row_group(filter=row_filter, schema=dataset.schema):
                    table = group.to_table(
                        schema=dataset.schema, columns=load, filter=row_filter, use_threads=False
                    )
                    for batch in table.to_batches(max_chunksize=rows):
                        # One thread: converting on several grows the process by each thread's
                        # malloc arena (10,000,000 rows read: 1,048 MiB threaded, 381 MiB not).
                        frame = batch.to_pandas(use_threads=False)
                        frame = finish(
                            frame, where, self.date_column, period, row_filter is not None, wanted
                        )
                        if len(frame):
                            yield frame
                    del table
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"cannot read {where}: {exc}") from None

    def _selection(
        self, dataset: ds.Dataset, period: Period | None, columns: Sequence[str] | None
    ) -> tuple[list[str] | None, list[str] | None, ds.Expression | None]:
        """(the columns to return, the columns to load, the period as a filter Parquet can apply:
        None unless the date column holds dates or timestamps)."""
        wanted, load = columns_to_load(
            self.describe(), dataset.schema.names, columns, self.date_column, period
        )
        row_filter = None
        if period is not None:
            field = dataset.schema.field(self.date_column)
            if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
                row_filter = _arrow_period_filter(field, period)
        return wanted, load, row_filter

    def _scanner(
        self, period: Period | None, columns: Sequence[str] | None
    ) -> tuple[ds.Scanner, list[str] | None, bool]:
        """(the scanner of the columns to load, the columns to return, whether the scanner keeps
        the period): the period goes to Parquet when the date column holds dates or timestamps."""
        dataset = self._dataset()
        wanted, load, row_filter = self._selection(dataset, period, columns)
        scanner = dataset.scanner(columns=load, filter=row_filter, batch_size=CHUNK_ROWS)
        return scanner, wanted, row_filter is not None

    def _files(self) -> list[Path]:
        """The folder's ``*.parquet`` files, skipping hidden and ``_``-prefixed ones."""
        return sorted(
            path
            for path in self.path.rglob("*.parquet")
            if path.is_file()
            and not any(part.startswith((".", "_")) for part in path.relative_to(self.path).parts)
        )

    def _dataset(self) -> ds.Dataset:
        if self.path.is_file():
            files, base = [self.path], None
        elif self.path.is_dir():
            files, base = self._files(), self.path
            if not files:
                raise DatasetNotFoundError(
                    f"the Parquet folder {self.path} holds no *.parquet files: put the data's "
                    "Parquet files there, or point data.path at the right folder"
                )
        else:
            raise DatasetNotFoundError(
                f"there is no Parquet file or folder at {self.path}: check data.path (relative "
                "paths are read from the configuration file's folder)"
            )
        names = [str(path) for path in files]
        try:
            if base is None:
                return ds.dataset(names[0], format="parquet")
            options = {
                "format": "parquet",
                "partitioning": ds.HivePartitioning.discover(),
                "partition_base_dir": str(base),
            }
            first = ds.dataset(names, **options)
            # Files written on different days may disagree on a column's type (int, then float):
            # read them all with the widest type.
            schema = pa.unify_schemas(
                [first.schema, *(pq.read_schema(name) for name in names)],
                promote_options="permissive",
            )
            return ds.dataset(names, schema=schema, **options)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(
                f"cannot read {self.describe()} as Parquet: {first_line(exc)}"
            ) from None


class CsvRows:
    """A CSV file with a header line; dates as ISO 8601 text (``2017-04-01``, with a time or
    not)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        date_column: str,
        text_columns: Sequence[str] = (),
        numeric_columns: Sequence[str] = (),
    ) -> None:
        self.path, self.date_column = Path(path), date_column
        self.text_columns, self.numeric_columns = tuple(text_columns), tuple(numeric_columns)

    def describe(self) -> str:
        return f"CSV file {self.path}"

    def exists(self) -> bool:
        return self.path.is_file()

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        wanted, load = self._columns(period, columns)
        chunks = list(self._blocks(period, load, CSV_CHUNK_ROWS))
        if not chunks:
            chunks = [pd.DataFrame({column: pd.Series(dtype=object) for column in load})]
        frame = self._numeric(pd.concat(chunks, ignore_index=True)[load])
        return frame[wanted].reset_index(drop=True) if wanted is not None else frame

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """A block of lines at a time; a bad number is reported for the block it is in."""
        wanted, load = self._columns(period, columns)
        for block in self._blocks(period, load, chunk_rows(rows)):
            if len(block):
                frame = self._numeric(block[load])
                yield (frame[wanted] if wanted is not None else frame).reset_index(drop=True)

    def _columns(
        self, period: Period | None, columns: Sequence[str] | None
    ) -> tuple[list[str] | None, list[str]]:
        _, header = self._header()
        wanted, load = columns_to_load(self.describe(), header, columns, self.date_column, period)
        return wanted, load if load is not None else header

    def _blocks(self, period: Period | None, load: list[str], rows: int) -> Iterator[pd.DataFrame]:
        """Blocks of ``rows`` lines, their dates parsed and the period kept (maybe empty)."""
        separator, _ = self._header()
        dtypes = {column: "str" for column in (*self.text_columns, self.date_column)}
        with self._reading():
            for chunk in pd.read_csv(
                self.path,
                sep=separator,
                usecols=load,
                dtype={column: kind for column, kind in dtypes.items() if column in load},
                chunksize=rows,
                encoding="utf-8-sig",
            ):
                if self.date_column in chunk.columns:
                    chunk[self.date_column] = self._dates(chunk[self.date_column])
                    if period is not None:
                        chunk = select_period(chunk, self.date_column, period)
                yield chunk

    def _numeric(self, frame: pd.DataFrame) -> pd.DataFrame:
        for column in self.numeric_columns:
            if column in frame.columns:
                frame[column] = self._numbers(frame[column], column)
        return frame

    def _header(self) -> tuple[str, list[str]]:
        with self._reading():
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                line = handle.readline()
            if not line.strip():
                raise DataValidationError(
                    f"{self.describe()} is empty: its first line must name the columns"
                )
            separator = max(_SEPARATORS, key=line.count)
            separator = separator if line.count(separator) else ","
            header = list(pd.read_csv(self.path, sep=separator, nrows=0, encoding="utf-8-sig"))
        return separator, header

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """File and parser errors as errors that say which file and what to do."""
        try:
            yield
        except FileNotFoundError:
            raise DatasetNotFoundError(
                f"there is no CSV file at {self.path}: check data.path (relative paths are read "
                "from the configuration file's folder)"
            ) from None
        except IsADirectoryError:
            raise ConfigurationError(
                f"{self.path} is a folder, not a CSV file: for a folder of files, use Parquet "
                "(format: parquet)"
            ) from None
        except UnicodeDecodeError:
            raise DataValidationError(
                f"{self.describe()} is not UTF-8 text: save it as UTF-8 CSV"
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise DataValidationError(
                f"cannot read {self.describe()} as CSV: {first_line(exc)}"
            ) from None
        except OSError as exc:
            raise DataValidationError(f"cannot read {self.describe()}: {exc.strerror}") from None

    def _dates(self, values: pd.Series) -> pd.Series:
        try:
            return as_datetimes(values, self.date_column)
        except DataValidationError as exc:
            raise DataValidationError(f"{self.describe()}: {exc}") from None

    def _numbers(self, values: pd.Series, column: str) -> pd.Series:
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            return values
        numbers = pd.to_numeric(values, errors="coerce")
        unreadable = numbers.isna() & values.notna()
        if unreadable.any():
            raise DataValidationError(
                f"column {column!r} of {self.describe()} is a numeric feature but "
                f"{int(unreadable.sum())} value(s) are not numbers, e.g. "
                f"{values[unreadable].iloc[0]!r}: write numbers with a dot for decimals and no "
                "thousands separator, leave missing values empty, or declare the column under "
                "categorical_features"
            )
        return numbers


def _arrow_period_filter(field: pa.Field, period: Period) -> pc.Expression:
    if pa.types.is_date(field.type):
        start, end = period.start, period.end
    else:
        start, end = (bound.to_pydatetime() for bound in period_bounds(period, field.type.tz))
    column = pc.field(field.name)
    return (column >= pa.scalar(start, type=field.type)) & (column < pa.scalar(end, field.type))
