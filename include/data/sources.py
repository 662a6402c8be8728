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
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from psycopg2 import sql
from sqlalchemy.engine import URL

from include.config import DataSource, MonitoringConfig
from include.data.batches import as_datetimes, period_bounds, select_period
from include.data.postgres_store import connect_url
from include.data.storage import POSTGRES_SCHEMES, DatasetStore, PostgresDatasetStore
from include.db import parse_url
from include.errors import (
    ConfigurationError,
    DatasetNotFoundError,
    DataValidationError,
    StoreError,
)
from include.periods import Period

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
FETCH_ROWS = 50_000
_SEPARATORS = (",", ";", "\t", "|")
_SQL_DATE_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")
_SQL_TEXT_TYPES = ("text", "character varying", "character")
# Tables, views, materialized views, foreign tables, partitioned tables.
_READABLE_KINDS = ("r", "v", "m", "f", "p")
_KIND_NAMES = {"v": "view", "m": "materialized view", "f": "foreign table"}


@runtime_checkable
class RowSource(Protocol):
    """The rows of one source of data."""

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The rows with ``period.start <= date < period.end`` (all rows without a period), only
        ``columns`` if given (in that order; the date column only when asked for), indexed 0..n-1.
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
    text = os.environ.get("MES_DATASETS", "").strip()
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
        dataset = self._dataset()
        wanted, load = _columns_to_load(
            self.describe(), dataset.schema.names, columns, self.date_column, period
        )
        row_filter = None
        if period is not None:
            field = dataset.schema.field(self.date_column)
            if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
                row_filter = _arrow_period_filter(field, period)
        try:
            frame = dataset.to_table(columns=load, filter=row_filter).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"cannot read {self.describe()}: {exc}") from None
        filtered = row_filter is not None
        return _finish(frame, self.describe(), self.date_column, period, filtered, wanted)

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
                f"cannot read {self.describe()} as Parquet: {_first_line(exc)}"
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
        separator, header = self._header()
        wanted, load = _columns_to_load(self.describe(), header, columns, self.date_column, period)
        load = load if load is not None else header
        dtypes = {column: "str" for column in (*self.text_columns, self.date_column)}
        chunks = []
        with self._reading():
            for chunk in pd.read_csv(
                self.path,
                sep=separator,
                usecols=load,
                dtype={column: kind for column, kind in dtypes.items() if column in load},
                chunksize=CSV_CHUNK_ROWS,
                encoding="utf-8-sig",
            ):
                if self.date_column in chunk.columns:
                    chunk[self.date_column] = self._dates(chunk[self.date_column])
                    if period is not None:
                        chunk = select_period(chunk, self.date_column, period)
                chunks.append(chunk)
        if not chunks:
            chunks = [pd.DataFrame({column: pd.Series(dtype=object) for column in load})]
        frame = pd.concat(chunks, ignore_index=True)[load]
        for column in self.numeric_columns:
            if column in frame.columns:
                frame[column] = self._numbers(frame[column], column)
        return frame[wanted].reset_index(drop=True) if wanted is not None else frame

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
                f"cannot read {self.describe()} as CSV: {_first_line(exc)}"
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


class PostgresRows:
    """A PostgreSQL table, view or materialized view (``schema.name``, or ``name`` found on the
    search path)."""

    def __init__(self, url: str, table: str, *, date_column: str) -> None:
        self._url: URL = parse_url(url, what="data's PostgreSQL URL", error=ConfigurationError)
        if not self._url.drivername.startswith(("postgresql", "postgres")):
            raise ConfigurationError(
                f"a PostgreSQL table needs a postgresql:// URL, not {self._url.drivername}://"
            )
        schema, _, name = table.rpartition(".")
        self.schema, self.name, self.date_column = schema or None, name, date_column
        self.table = table

    def describe(self) -> str:
        host = self._url.host or "local socket"
        database = self._url.database or "(default database)"
        return (
            f"PostgreSQL table or view {self.table} at {host}:{self._url.port or 5432}/{database}"
        )

    def exists(self) -> bool:
        with self._cursor("look up") as cursor:
            return self._relation(cursor) is not None

    def read(
        self, *, period: Period | None = None, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        with self._cursor("read") as cursor:
            relation = self._relation(cursor)
            if relation is None:
                raise DatasetNotFoundError(
                    f"{self.describe()} does not exist (or this user may not see it): check "
                    "data.table (schema.name; names are case-sensitive when created quoted) "
                    "and the database in the URL"
                )
            oid, schema, name, _kind = relation
            types = _relation_columns(cursor, oid)
            wanted, load = _columns_to_load(
                self.describe(), list(types), columns, self.date_column, period
            )
            load = load if load is not None else list(types)
            where, parameters, filtered = sql.SQL(""), [], False
            if period is not None:
                kind = types[self.date_column]
                if kind in _SQL_DATE_TYPES:
                    where = sql.SQL(" WHERE {date} >= %s AND {date} < %s").format(
                        date=sql.Identifier(self.date_column)
                    )
                    parameters = _sql_bounds(period, kind)
                    filtered = True
                elif not kind.startswith(_SQL_TEXT_TYPES):
                    raise DataValidationError(
                        f"the date column {self.date_column!r} of {self.describe()} has type "
                        f"{kind}: it must be a date, a timestamp or ISO 8601 text"
                    )
            query = sql.SQL("SELECT {} FROM {}{}").format(
                sql.SQL(", ").join(map(sql.Identifier, load)),
                sql.Identifier(schema, name),
                where,
            )
            frame = _typed(_fetch(cursor.connection, query, parameters, load), types)
        if self.date_column in frame.columns:
            frame[self.date_column] = self._dates(frame[self.date_column])
        return _finish(frame, self.describe(), self.date_column, period, filtered, wanted)

    def _dates(self, values: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(values):
            return values
        try:
            return as_datetimes(values, self.date_column)
        except DataValidationError as exc:
            raise DataValidationError(f"{self.describe()}: {exc}") from None

    def _relation(self, cursor) -> tuple[int, str, str, str] | None:
        """(oid, schema, name, kind) of the table or view; names tried as written, then in lower
        case (unquoted names are lower case in PostgreSQL)."""
        for schema, name in dict.fromkeys(
            [(self.schema, self.name), (self.schema and self.schema.lower(), self.name.lower())]
        ):
            cursor.execute(
                "SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = %s AND c.relkind = ANY(%s) AND "
                "(n.nspname = %s OR (%s IS NULL AND n.nspname = ANY(current_schemas(false)))) "
                "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1",
                [name, list(_READABLE_KINDS), schema, schema],
            )
            row = cursor.fetchone()
            if row is not None:
                return row
        return None

    @contextlib.contextmanager
    def _cursor(self, action: str) -> Iterator[psycopg2.extensions.cursor]:
        """A read-only transaction; database errors say what failed and where."""
        url = self._url
        try:
            connection = connect_url(url)
        except psycopg2.Error as exc:
            raise StoreError(
                f"cannot connect to read {self.describe()} as user "
                f"{url.username or '(default)'}: {_first_line(exc)}. Check that the server is "
                "running and that the URL (host, port, database, user, password) is right"
            ) from None
        try:
            connection.set_session(readonly=True)
            connection.set_client_encoding("UTF8")
            with connection, connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
                yield cursor
        except psycopg2.Error as exc:
            raise StoreError(
                f"PostgreSQL failed to {action} {self.describe()}: {_first_line(exc)}"
            ) from None
        finally:
            connection.close()


_DECIMAL_AS_FLOAT = psycopg2.extensions.new_type(
    psycopg2.extensions.DECIMAL.values,
    "MES_DECIMAL_AS_FLOAT",
    lambda value, _cursor: None if value is None else float(value),
)


def _fetch(connection, query: sql.Composable, parameters: list, columns: list[str]) -> pd.DataFrame:
    """The query's rows, fetched a block at a time through a server-side cursor."""
    psycopg2.extensions.register_type(_DECIMAL_AS_FLOAT, connection)
    frames = []
    with connection.cursor(name="mes_rows") as cursor:
        cursor.itersize = FETCH_ROWS
        cursor.execute(query, parameters)
        while rows := cursor.fetchmany(FETCH_ROWS):
            frames.append(pd.DataFrame.from_records(rows, columns=columns))
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    return pd.concat(frames, ignore_index=True)


# PostgreSQL types -> the pandas dtype of their column when no row came back to infer it from.
_EMPTY_DTYPES = {
    "smallint": "int64",
    "integer": "int64",
    "bigint": "int64",
    "real": "float64",
    "double precision": "float64",
    "numeric": "float64",
    "boolean": "bool",
    "timestamp without time zone": "datetime64[us]",
    "timestamp with time zone": "datetime64[us, UTC]",
    "date": "datetime64[us]",
}


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """SQL dates as datetimes (psycopg2 gives ``datetime.date`` objects), and the columns of an
    empty result typed from their SQL types."""
    for column in frame.columns:
        kind = types[column].split("(", 1)[0]
        if frame.empty and kind in _EMPTY_DTYPES:
            frame[column] = frame[column].astype(_EMPTY_DTYPES[kind])
        elif kind == "date":
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _relation_columns(cursor, oid: int) -> dict[str, str]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [oid],
    )
    return dict(cursor.fetchall())


def _sql_bounds(period: Period, kind: str) -> list[object]:
    if kind == "date":
        return [period.start, period.end]
    return [bound.to_pydatetime() for bound in period_bounds(period)]


def _columns_to_load(
    where: str,
    available: Sequence[str],
    columns: Sequence[str] | None,
    date_column: str,
    period: Period | None,
) -> tuple[list[str] | None, list[str] | None]:
    """(the columns to return, the columns to read; None: all), after checking they exist."""
    if isinstance(columns, str):
        columns = [columns]
    if columns is not None and not columns:
        raise ConfigurationError(f"asked for no columns of {where}: give None for all")
    if period is not None and date_column not in available:
        raise DataValidationError(
            f"{where} has no date column {date_column!r} (date_column in the configuration); "
            f"its columns are {', '.join(available)}"
        )
    wanted = None if columns is None else list(dict.fromkeys(columns))
    missing = [column for column in wanted or () if column not in available]
    if missing:
        raise DataValidationError(
            f"{where} has no column(s) {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(available)}"
        )
    if wanted is None:
        return None, None
    load = [*wanted, date_column] if period is not None and date_column not in wanted else wanted
    return wanted, load


def _finish(
    frame: pd.DataFrame,
    where: str,
    date_column: str,
    period: Period | None,
    filtered: bool,
    wanted: list[str] | None,
) -> pd.DataFrame:
    """The period kept (when the source could not filter it) and only the wanted columns."""
    if period is not None and not filtered:
        try:
            frame = select_period(frame, date_column, period)
        except DataValidationError as exc:
            raise DataValidationError(f"{where}: {exc}") from None
    if wanted is not None:
        frame = frame[wanted]
    return frame.reset_index(drop=True)


def _arrow_period_filter(field: pa.Field, period: Period) -> pc.Expression:
    if pa.types.is_date(field.type):
        start, end = period.start, period.end
    else:
        start, end = (bound.to_pydatetime() for bound in period_bounds(period, field.type.tz))
    column = pc.field(field.name)
    return (column >= pa.scalar(start, type=field.type)) & (column < pa.scalar(end, field.type))


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
