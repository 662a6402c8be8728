"""A user's rows in a PostgreSQL table, view or materialized view (see ``sources.py``).

The needed columns are selected with the period in a parameterised ``WHERE date >= %s AND date <
%s`` when the date column is a date or a timestamp (timestamps with a time zone are cut at UTC
midnight), and fetched a block at a time through a server-side cursor, in a read-only
transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import pandas as pd
import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import URL

from include.data.batches import as_datetimes, period_bounds
from include.data.postgres_store import connect_url
from include.data.rows import CHUNK_ROWS, chunk_rows, columns_to_load, finish, first_line
from include.db import parse_url
from include.errors import (
    ConfigurationError,
    DatasetNotFoundError,
    DataValidationError,
    StoreError,
)
from include.periods import Period

FETCH_ROWS = 50_000
_SQL_DATE_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")
_SQL_TEXT_TYPES = ("text", "character varying", "character")
# Tables, views, materialized views, foreign tables, partitioned tables.
_READABLE_KINDS = ("r", "v", "m", "f", "p")


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
            select = self._select(cursor, period, columns)
            blocks = list(_fetch(cursor.connection, select.query, select.parameters, select.load))
            if not blocks:
                blocks = [pd.DataFrame({column: pd.Series(dtype=object) for column in select.load})]
            frame = _typed(pd.concat(blocks, ignore_index=True), select.types)
        return self._finished(frame, period, select)

    def chunks(
        self,
        *,
        period: Period | None = None,
        columns: Sequence[str] | None = None,
        rows: int = CHUNK_ROWS,
    ) -> Iterator[pd.DataFrame]:
        """A block of rows at a time from a server-side cursor, in one read-only transaction."""
        rows = chunk_rows(rows)
        with self._cursor("read") as cursor:
            select = self._select(cursor, period, columns)
            for block in _fetch(
                cursor.connection, select.query, select.parameters, select.load, rows
            ):
                frame = self._finished(_typed(block, select.types), period, select)
                if len(frame):
                    yield frame

    def _select(self, cursor, period: Period | None, columns: Sequence[str] | None) -> _Select:
        """The SELECT of the columns asked for, the period in its WHERE when the date column is
        a date or a timestamp."""
        relation = self._relation(cursor)
        if relation is None:
            raise DatasetNotFoundError(
                f"{self.describe()} does not exist (or this user may not see it): check "
                "data.table (schema.name; names are case-sensitive when created quoted) "
                "and the database in the URL"
            )
        oid, schema, name, _kind = relation
        types = _relation_columns(cursor, oid)
        wanted, load = columns_to_load(
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
        return _Select(query, parameters, load, wanted, filtered, types)

    def _finished(
        self, frame: pd.DataFrame, period: Period | None, select: _Select
    ) -> pd.DataFrame:
        if self.date_column in frame.columns:
            frame[self.date_column] = self._dates(frame[self.date_column])
        return finish(
            frame, self.describe(), self.date_column, period, select.filtered, select.wanted
        )

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
                f"{url.username or '(default)'}: {first_line(exc)}. Check that the server is "
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
                f"PostgreSQL failed to {action} {self.describe()}: {first_line(exc)}"
            ) from None
        finally:
            connection.close()


_DECIMAL_AS_FLOAT = psycopg2.extensions.new_type(
    psycopg2.extensions.DECIMAL.values,
    "MES_DECIMAL_AS_FLOAT",
    lambda value, _cursor: None if value is None else float(value),
)


class _Select(NamedTuple):
    query: sql.Composable
    parameters: list
    load: list[str]  # the columns selected
    wanted: list[str] | None  # the columns returned (None: all)
    filtered: bool  # whether the WHERE keeps the period
    types: dict[str, str]  # every column's SQL type


def _fetch(
    connection,
    query: sql.Composable,
    parameters: list,
    columns: list[str],
    rows: int = FETCH_ROWS,
) -> Iterator[pd.DataFrame]:
    """The query's rows, a block of ``rows`` at a time through a server-side cursor."""
    psycopg2.extensions.register_type(_DECIMAL_AS_FLOAT, connection)
    with connection.cursor(name="mes_rows") as cursor:
        cursor.itersize = rows
        cursor.execute(query, parameters)
        while block := cursor.fetchmany(rows):
            yield pd.DataFrame.from_records(block, columns=columns)


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
