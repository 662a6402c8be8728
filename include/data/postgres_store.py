"""Datasets as PostgreSQL tables: one table per dataset, in one schema (``datasets`` by default).

A write creates a table under a temporary name, bulk-loads it with ``COPY``, then drops the old
table and renames the new one, all in one transaction: a failed write leaves the old dataset as it
was and no stray table behind. The written frame's pandas dtypes are kept in the table comment, so
a read gives back the same dtypes. A read for one period filters in the SQL ``WHERE`` clause.
Identifiers are always quoted, and values go to the server as parameters or, inside ``COPY``,
which takes none, through psycopg2's own literal quoting.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql
from sqlalchemy.engine import URL

from include.data.batches import period_bounds, select_period
from include.data.store_common import (
    DATASET_NAME,
    arrow_table,
    as_objects,
    check_columns,
    check_dataset_name,
    dataset_not_found,
)
from include.db import parse_url
from include.errors import ConfigurationError, DataValidationError, StoreError
from include.periods import Period

CONNECT_TIMEOUT_SECONDS = 10
COPY_CHUNK_ROWS = 65_536
_TEMPORARY_PREFIX = "_mes_new_"
_PROVENANCE_KEY = "mes_generated"
_MAX_IDENTIFIER_BYTES = 63
# extra_float_digits = 3: doubles as shortest exact text (PostgreSQL 12+), all digits before.
_SESSION_SETTINGS = "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3"
_DATE_TYPES = ("timestamp without time zone", "timestamp with time zone", "date")
# PostgreSQL column type -> Arrow type used to parse COPY's CSV output.
_READ_TYPES = {
    "boolean": pa.bool_(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "numeric": pa.float64(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us"),
    "date": pa.date32(),
}


class PostgresDatasetStore:
    """One table per dataset in schema ``schema`` of the database at ``url``."""

    def __init__(self, url: str, schema: str = "datasets") -> None:
        self._url: URL = parse_url(url, what="dataset store URL", error=ConfigurationError)
        if not self._url.drivername.startswith(("postgresql", "postgres")):
            raise ConfigurationError(
                f"a PostgreSQL dataset store needs a postgresql:// URL, not {self._url.drivername}"
            )
        if not isinstance(schema, str) or not DATASET_NAME.fullmatch(schema):
            raise ConfigurationError(
                f"schema name {schema!r} is not valid: use 1 to 63 letters, digits and underscores"
            )
        self.schema = schema

    def describe(self) -> str:
        return f"PostgreSQL schema {self.schema} at {self._address()}"

    @property
    def url(self) -> str:
        """The database URL, password included: for connecting, never for messages."""
        return self._url.render_as_string(hide_password=False)

    def generated_records(self) -> dict[str, dict[str, Any]]:
        """The provenance records of the datasets that ``generate`` wrote here, by name (kept in
        each table's comment, beside its pandas dtypes)."""
        with self._cursor("read which datasets were generated") as cursor:
            cursor.execute(
                "SELECT c.relname, d.description FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 "
                "AND d.classoid = 'pg_class'::regclass "
                "WHERE n.nspname = %s AND c.relkind = 'r'",
                [self.schema],
            )
            rows = cursor.fetchall()
        records = {}
        for name, comment in rows:
            try:
                record = json.loads(comment).get(_PROVENANCE_KEY)
            except (ValueError, AttributeError):
                continue  # a table commented by someone else
            if isinstance(record, dict):
                records[name] = record
        return records

    def record_generated(self, name: str, record: dict[str, Any]) -> None:
        """Keep ``record`` as the provenance of dataset ``name``, in its table's comment."""
        check_dataset_name(name)
        with self._cursor(f"record dataset {name!r} as generated") as cursor:
            dtypes = _stored_dtypes(cursor, self.schema, name)
            cursor.execute(
                sql.SQL("COMMENT ON TABLE {} IS %s").format(sql.Identifier(self.schema, name)),
                [json.dumps({"pandas_dtypes": dtypes, _PROVENANCE_KEY: record})],
            )

    def exists(self, name: str) -> bool:
        check_dataset_name(name)
        with self._cursor(f"look up dataset {name!r}") as cursor:
            return bool(_column_types(cursor, self.schema, name))

    def names(self) -> list[str]:
        with self._cursor("list datasets") as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                [self.schema],
            )
            rows = cursor.fetchall()
        return [
            row[0]
            for row in rows
            if DATASET_NAME.fullmatch(row[0]) and not row[0].startswith(_TEMPORARY_PREFIX)
        ]

    def write(self, name: str, frame: pd.DataFrame) -> None:
        check_dataset_name(name)
        table = _csv_ready(name, arrow_table(name, frame))
        dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
        target = sql.Identifier(self.schema, name)
        staging = sql.Identifier(self.schema, f"{_TEMPORARY_PREFIX}{uuid.uuid4().hex}")
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(field.name), sql.SQL(_sql_type(name, field)))
            for field in table.schema
        )
        with self._cursor(f"write dataset {name!r}") as cursor:
            cursor.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(staging, columns))
            cursor.copy_expert(
                sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(staging),
                _CsvStream(table),
                size=1 << 20,
            )
            cursor.execute(
                sql.SQL("COMMENT ON TABLE {} IS %s").format(staging),
                [json.dumps({"pandas_dtypes": dtypes})],
            )
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
            cursor.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(staging, sql.Identifier(name))
            )

    def read(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        date_column: str | None = None,
        period: Period | None = None,
    ) -> pd.DataFrame:
        check_dataset_name(name)
        with self._cursor(f"read dataset {name!r}") as cursor:
            types = _column_types(cursor, self.schema, name)
            if not types:
                raise dataset_not_found(name, self.describe(), self.names())
            wanted = check_columns(name, list(types), columns, date_column, period)
            dtypes = _stored_dtypes(cursor, self.schema, name)
            filter_later = period is not None and types[date_column] not in _DATE_TYPES
            selected = list(dict.fromkeys(wanted if wanted is not None else types))
            if filter_later and date_column not in selected:
                selected.append(date_column)
            where = sql.SQL("")
            if period is not None and not filter_later:
                # COPY takes no bind parameters; sql.Literal quotes values as execute() would.
                start, end = _bounds(period, types[date_column], dtypes.get(date_column))
                where = sql.SQL(" WHERE {column} >= {start} AND {column} < {end}").format(
                    column=sql.Identifier(date_column),
                    start=sql.Literal(start),
                    end=sql.Literal(end),
                )
            query = sql.SQL("COPY (SELECT {} FROM {}{}) TO STDOUT WITH (FORMAT csv)").format(
                sql.SQL(", ").join(
                    _select_expression(column, types[column]) for column in selected
                ),
                sql.Identifier(self.schema, name),
                where,
            )
            buffer = io.BytesIO()
            cursor.copy_expert(query, buffer, size=1 << 20)
        frame = _restore_dtypes(_parse_csv(buffer.getvalue(), selected, types), types, dtypes)
        if filter_later:
            frame = select_period(frame, date_column, period)
        if wanted is not None:
            frame = frame[wanted]
        return frame.reset_index(drop=True)

    @contextlib.contextmanager
    def _cursor(self, action: str) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor in one transaction, committed on success; errors become StoreError."""
        connection = self._connect()
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(_SESSION_SETTINGS)
                yield cursor
        except psycopg2.DataError as exc:
            raise DataValidationError(
                f"PostgreSQL refused to {action} in {self.describe()}: {_first_line(exc)}"
            ) from None
        except psycopg2.Error as exc:
            raise StoreError(
                f"PostgreSQL failed to {action} in {self.describe()}: {_first_line(exc)}"
            ) from None
        finally:
            connection.close()

    def _connect(self) -> psycopg2.extensions.connection:
        url = self._url
        try:
            connection = connect_url(url)
        except psycopg2.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self._address()} as user "
                f"{url.username or '(default)'}: {_first_line(exc)}. Check that the server is "
                "running and that the dataset store URL (host, port, database, user, password) "
                "is right"
            ) from None
        connection.set_client_encoding("UTF8")
        return connection

    def _address(self) -> str:
        host = self._url.host or "local socket"
        return f"{host}:{self._url.port or 5432}/{self._url.database or '(default database)'}"


def connect_url(url: URL) -> psycopg2.extensions.connection:
    """A psycopg2 connection to the database of a SQLAlchemy URL.

    The URL's parts go as keyword arguments, not as a DSN: libpq's errors about a malformed DSN
    quote it, password included. Raises ``psycopg2.Error``; callers say what failed and where.
    """
    options = {
        key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()
    }
    return psycopg2.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        **options,
    )


class _CsvStream:
    """The rows of an Arrow table as CSV, produced a batch at a time as COPY reads them."""

    def __init__(self, table: pa.Table) -> None:
        self._batches = iter(table.to_batches(max_chunksize=COPY_CHUNK_ROWS))
        self._chunk, self._offset = b"", 0

    def read(self, size: int = -1) -> bytes:
        while self._offset >= len(self._chunk):
            batch = next(self._batches, None)
            if batch is None:
                return b""
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
            self._chunk, self._offset = sink.getvalue().to_pybytes(), 0
        end = len(self._chunk) if size is None or size < 0 else self._offset + size
        piece = self._chunk[self._offset : end]
        self._offset += len(piece)
        return piece


def _column_types(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> dict[str, str]:
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, name],
    )
    return dict(cursor.fetchall())


def _stored_dtypes(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> dict[str, str]:
    """The pandas dtypes the table was written with, from its comment ({} if unknown)."""
    cursor.execute(
        "SELECT d.description FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0 "
        "AND d.classoid = 'pg_class'::regclass "
        "WHERE n.nspname = %s AND c.relname = %s",
        [schema, name],
    )
    rows = cursor.fetchall()
    try:
        return dict(json.loads(rows[0][0])["pandas_dtypes"]) if rows else {}
    except (ValueError, KeyError, TypeError):
        return {}  # a table written by someone else, with a comment of their own


def _csv_ready(name: str, table: pa.Table) -> pa.Table:
    """Decode categoricals and type all-missing columns as text, the forms COPY can load."""
    for index, field in enumerate(table.schema):
        if len(field.name.encode()) > _MAX_IDENTIFIER_BYTES or "\x00" in field.name:
            raise DataValidationError(
                f"column name {field.name[:70]!r} of dataset {name!r} cannot be a PostgreSQL "
                f"column: at most {_MAX_IDENTIFIER_BYTES} bytes, no NUL character"
            )
        column = table.column(index)
        if pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type)
        elif pa.types.is_null(field.type):
            column = column.cast(pa.string())
        table = table.set_column(index, field.name, column)
    return table


def _sql_type(name: str, field: pa.Field) -> str:
    kind = field.type
    checks = (
        (pa.types.is_boolean, "boolean"),
        (lambda t: t in (pa.int8(), pa.int16(), pa.uint8()), "smallint"),
        (lambda t: t in (pa.int32(), pa.uint16()), "integer"),
        (lambda t: t in (pa.int64(), pa.uint32()), "bigint"),
        (lambda t: t in (pa.float16(), pa.float32()), "real"),
        (pa.types.is_float64, "double precision"),
        (pa.types.is_date, "date"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "text"),
    )
    if pa.types.is_timestamp(kind):
        return "timestamp with time zone" if kind.tz else "timestamp without time zone"
    for matches, sql_type in checks:
        if matches(kind):
            return sql_type
    raise DataValidationError(
        f"column {field.name!r} of dataset {name!r} has type {kind}, which the PostgreSQL store "
        "does not hold: convert it to integers up to 64 bits, floats, booleans, dates or text"
    )


def _select_expression(column: str, sql_type: str) -> sql.Composable:
    if sql_type == "timestamp with time zone":
        return sql.SQL("({} AT TIME ZONE 'UTC')").format(sql.Identifier(column))
    if sql_type in _READ_TYPES:
        return sql.Identifier(column)
    return sql.SQL("{}::text").format(sql.Identifier(column))


def _bounds(period: Period, sql_type: str, dtype: str | None) -> list[object]:
    if sql_type == "date":
        return [period.start, period.end]
    tz = None
    if sql_type == "timestamp with time zone":
        tz = getattr(_pandas_dtype(dtype), "tz", None) or "UTC"
    return [bound.to_pydatetime() for bound in period_bounds(period, tz)]


def _parse_csv(data: bytes, columns: list[str], types: dict[str, str]) -> pd.DataFrame:
    arrow_types = {column: _READ_TYPES.get(types[column], pa.string()) for column in columns}
    if not data:
        empty = {column: pa.array([], type=arrow_types[column]) for column in columns}
        return pa.table(empty).to_pandas()
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 24),
        # A one-column row holding NULL is an empty line, so empty lines are rows.
        parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=arrow_types,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas()


def _restore_dtypes(
    frame: pd.DataFrame, types: dict[str, str], dtypes: dict[str, str]
) -> pd.DataFrame:
    """Give each column back the pandas dtype it was written with, when that is known."""
    for column in frame.columns:
        values = frame[column]
        if types[column] == "timestamp with time zone":
            values = values.dt.tz_localize("UTC")
        wanted = _pandas_dtype(dtypes.get(column))
        if wanted is not None and values.dtype != wanted:
            with contextlib.suppress(TypeError, ValueError):
                values = as_objects(values) if wanted == np.dtype(object) else values.astype(wanted)
        frame[column] = values
    return frame


def _pandas_dtype(text: str | None) -> object:
    if text is None:
        return None
    try:
        return pd.api.types.pandas_dtype(text)
    except (TypeError, ValueError):
        return None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
