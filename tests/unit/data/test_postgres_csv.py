"""Frames through PostgreSQL's COPY as CSV: the types both ways, without a server."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from include.data.postgres_csv import (
    CsvStream,
    csv_ready,
    pandas_dtype,
    parse_csv,
    restore_dtypes,
    sql_type,
)
from include.errors import DataValidationError


@pytest.mark.parametrize(
    ("arrow", "expected"),
    [
        (pa.bool_(), "boolean"),
        (pa.int16(), "smallint"),
        (pa.uint16(), "integer"),
        (pa.int64(), "bigint"),
        (pa.float32(), "real"),
        (pa.float64(), "double precision"),
        (pa.date32(), "date"),
        (pa.string(), "text"),
        (pa.timestamp("us"), "timestamp without time zone"),
        (pa.timestamp("us", tz="UTC"), "timestamp with time zone"),
    ],
)
def test_arrow_types_become_column_types(arrow, expected) -> None:
    assert sql_type("rows", pa.field("x", arrow)) == expected


def test_a_type_the_store_cannot_hold_says_what_to_convert_to() -> None:
    with pytest.raises(DataValidationError, match="column 'x' of dataset 'rows' has type uint64"):
        sql_type("rows", pa.field("x", pa.uint64()))


def test_categoricals_are_decoded_and_empty_columns_become_text() -> None:
    frame = pd.DataFrame({"kind": pd.Categorical(["a", "b"]), "none": [None, None]})
    table = csv_ready("rows", pa.Table.from_pandas(frame, preserve_index=False))

    assert sql_type("rows", table.schema.field("kind")) == "text"
    assert table.schema.field("none").type == pa.string()


def test_a_column_name_postgresql_cannot_hold_is_refused() -> None:
    table = pa.table({"x" * 64: [1]})
    with pytest.raises(DataValidationError, match="at most 63 bytes"):
        csv_ready("rows", table)


def test_the_csv_stream_gives_every_row_in_pieces_of_the_size_asked() -> None:
    table = pa.table({"n": list(range(100_000)), "t": ["a,b"] * 100_000})
    stream = CsvStream(table)
    pieces = iter(lambda: stream.read(1 << 16), b"")
    text = b"".join(pieces).decode()

    assert text.count("\n") == 100_000
    assert text.splitlines()[1] == '1,"a,b"'


def test_copy_output_is_parsed_with_the_column_types_and_dtypes_restored() -> None:
    data = b"1,t,2017-04-01 10:00:00,x\n,f,,\n"
    types = {
        "n": "bigint",
        "b": "boolean",
        "at": "timestamp with time zone",
        "s": "text",
    }
    frame = parse_csv(data, list(types), types)
    frame = restore_dtypes(frame, types, {"n": "Int64", "s": "object"})

    assert frame["n"].dtype == "Int64"
    assert frame["n"].isna().tolist() == [False, True]
    assert frame["b"].tolist() == [True, False]
    assert str(frame["at"].dt.tz) == "UTC"
    assert frame["s"].tolist() == ["x", None]


def test_no_rows_give_empty_columns_of_their_types() -> None:
    frame = parse_csv(b"", ["n"], {"n": "double precision"})

    assert frame.empty
    assert frame["n"].dtype == "float64"


def test_an_unknown_dtype_text_is_ignored() -> None:
    assert pandas_dtype("not-a-dtype") is None
    assert pandas_dtype(None) is None
