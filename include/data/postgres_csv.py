"""Frames through PostgreSQL's ``COPY`` as CSV, both ways, for the dataset store.

Arrow types become column types on the way in (``sql_type``, ``csv_ready``) and the CSV is
produced a batch at a time (``CsvStream``); on the way out, column types become Arrow types to
parse ``COPY``'s output (``parse_csv``), and the pandas dtypes the frame was written with, kept in
the table comment, are given back (``stored_dtypes``, ``restore_dtypes``).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from include.data.batches import period_bounds
from include.data.store_common import as_objects
from include.errors import DataValidationError
from include.periods import Period

COPY_CHUNK_ROWS = 65_536
_MAX_IDENTIFIER_BYTES = 63
DATE_TYPES = ("timestamp without time zone", "timestamp with time zone", "date")
# PostgreSQL column type -> Arrow type used to parse COPY's CSV output.
READ_TYPES = {
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


class CsvStream:
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


def column_types(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> dict[str, str]:
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, name],
    )
    return dict(cursor.fetchall())


def stored_dtypes(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> dict[str, str]:
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


def csv_ready(name: str, table: pa.Table) -> pa.Table:
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


def sql_type(name: str, field: pa.Field) -> str:
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
    for matches, found in checks:
        if matches(kind):
            return found
    raise DataValidationError(
        f"column {field.name!r} of dataset {name!r} has type {kind}, which the PostgreSQL store "
        "does not hold: convert it to integers up to 64 bits, floats, booleans, dates or text"
    )


def select_expression(column: str, column_type: str) -> sql.Composable:
    if column_type == "timestamp with time zone":
        return sql.SQL("({} AT TIME ZONE 'UTC')").format(sql.Identifier(column))
    if column_type in READ_TYPES:
        return sql.Identifier(column)
    return sql.SQL("{}::text").format(sql.Identifier(column))


def period_literals(period: Period, column_type: str, dtype: str | None) -> list[object]:
    """The period's bounds as values to compare with a date column of ``column_type``."""
    if column_type == "date":
        return [period.start, period.end]
    tz = None
    if column_type == "timestamp with time zone":
        tz = getattr(pandas_dtype(dtype), "tz", None) or "UTC"
    return [bound.to_pydatetime() for bound in period_bounds(period, tz)]


def parse_csv(data: bytes, columns: list[str], types: dict[str, str]) -> pd.DataFrame:
    arrow_types = {column: READ_TYPES.get(types[column], pa.string()) for column in columns}
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


def restore_dtypes(
    frame: pd.DataFrame, types: dict[str, str], dtypes: dict[str, str]
) -> pd.DataFrame:
    """Give each column back the pandas dtype it was written with, when that is known."""
    for column in frame.columns:
        values = frame[column]
        if types[column] == "timestamp with time zone":
            values = values.dt.tz_localize("UTC")
        wanted = pandas_dtype(dtypes.get(column))
        if wanted is not None and values.dtype != wanted:
            with contextlib.suppress(TypeError, ValueError):
                values = as_objects(values) if wanted == np.dtype(object) else values.astype(wanted)
        frame[column] = values
    return frame


def pandas_dtype(text: str | None) -> object:
    if text is None:
        return None
    try:
        return pd.api.types.pandas_dtype(text)
    except (TypeError, ValueError):
        return None
