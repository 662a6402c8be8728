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

import pandas as pd
import psycopg2
from psycopg2 import sql
from sqlalchemy.engine import URL

from include.data.batches import select_period
from include.data.postgres_csv import (
    DATE_TYPES,
    CsvStream,
    column_types,
    csv_ready,
    parse_csv,
    period_literals,
    restore_dtypes,
    select_expression,
    sql_type,
    stored_dtypes,
)
from include.data.store_common import (
    DATASET_NAME,
    arrow_table,
    check_columns,
    check_dataset_name,
    dataset_not_found,
)
from include.db import parse_url
from include.errors import ConfigurationError, DataValidationError, StoreError
from include.periods import Period

CONNECT_TIMEOUT_SECONDS = 10
_TEMPORARY_PREFIX = "_mes_new_"
_PROVENANCE_KEY = "mes_generated"
# extra_float_digits = 3: doubles as shortest exact text (PostgreSQL 12+), all digits before.
_SESSION_SETTINGS = "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3"


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
            dtypes = stored_dtypes(cursor, self.schema, name)
            cursor.execute(
                sql.SQL("COMMENT ON TABLE {} IS %s").format(sql.Identifier(self.schema, name)),
                [json.dumps({"pandas_dtypes": dtypes, _PROVENANCE_KEY: record})],
            )

    def exists(self, name: str) -> bool:
        check_dataset_name(name)
        with self._cursor(f"look up dataset {name!r}") as cursor:
            return bool(column_types(cursor, self.schema, name))

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
        table = csv_ready(name, arrow_table(name, frame))
        dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
        target = sql.Identifier(self.schema, name)
        staging = sql.Identifier(self.schema, f"{_TEMPORARY_PREFIX}{uuid.uuid4().hex}")
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(field.name), sql.SQL(sql_type(name, field)))
            for field in table.schema
        )
        with self._cursor(f"write dataset {name!r}") as cursor:
            cursor.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(staging, columns))
            cursor.copy_expert(
                sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(staging),
                CsvStream(table),
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
            types = column_types(cursor, self.schema, name)
            if not types:
                raise dataset_not_found(name, self.describe(), self.names())
            wanted = check_columns(name, list(types), columns, date_column, period)
            dtypes = stored_dtypes(cursor, self.schema, name)
            filter_later = period is not None and types[date_column] not in DATE_TYPES
            selected = list(dict.fromkeys(wanted if wanted is not None else types))
            if filter_later and date_column not in selected:
                selected.append(date_column)
            where = sql.SQL("")
            if period is not None and not filter_later:
                # COPY takes no bind parameters; sql.Literal quotes values as execute() would.
                start, end = period_literals(period, types[date_column], dtypes.get(date_column))
                where = sql.SQL(" WHERE {column} >= {start} AND {column} < {end}").format(
                    column=sql.Identifier(date_column),
                    start=sql.Literal(start),
                    end=sql.Literal(end),
                )
            query = sql.SQL("COPY (SELECT {} FROM {}{}) TO STDOUT WITH (FORMAT csv)").format(
                sql.SQL(", ").join(select_expression(column, types[column]) for column in selected),
                sql.Identifier(self.schema, name),
                where,
            )
            buffer = io.BytesIO()
            cursor.copy_expert(query, buffer, size=1 << 20)
        frame = restore_dtypes(parse_csv(buffer.getvalue(), selected, types), types, dtypes)
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


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
