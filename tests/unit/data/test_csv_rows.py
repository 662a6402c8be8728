"""Reading a user's rows from CSV files: dates, codes as text, numbers, separators, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from include.data.sources import (
    CsvRows,
)
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from tests.unit.data.conftest import Q2, digest


def test_a_csv_file_parses_dates_keeps_codes_as_text_and_numbers_as_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "when,amount,zip,label\n"
        "2017-03-31 23:59:59,1.5,01234,0\n"
        "2017-04-01,2,02345,1\n"
        "2017-06-30T23:59:59,,03456,0\n"
        "2017-07-01,4.25,,1\n"
    )
    before = digest(path)
    source = CsvRows(path, date_column="when", text_columns=["zip"], numeric_columns=["amount"])
    everything = source.read()
    assert pd.api.types.is_datetime64_any_dtype(everything["when"])
    assert pd.api.types.is_float_dtype(everything["amount"])
    assert everything["zip"].tolist()[:3] == ["01234", "02345", "03456"]
    assert pd.isna(everything["zip"].iloc[3])
    batch = source.read(period=Q2)
    assert batch["zip"].tolist() == ["02345", "03456"]
    assert source.read(period=Q2, columns=["label"]).to_dict("list") == {"label": [1, 0]}
    assert digest(path) == before


def test_a_semicolon_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffwhen;amount;zip;label\n2017-04-02;3;99;1\n".encode())
    batch = CsvRows(path, date_column="when", text_columns=["zip"]).read(period=Q2)
    assert batch.to_dict("list")["zip"] == ["99"]


def test_csv_errors_say_what_and_where(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DatasetNotFoundError, match=r"no CSV file at .*nowhere.csv"):
        CsvRows(missing, date_column="when").read()
    assert not CsvRows(missing, date_column="when").exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match=r"empty.csv is empty"):
        CsvRows(empty, date_column="when").read()
    dates = tmp_path / "dates.csv"
    dates.write_text("when,amount\n31/12/2017,1\n")
    with pytest.raises(DataValidationError, match=r"dates.csv.*'31/12/2017'.*ISO 8601"):
        CsvRows(dates, date_column="when").read(period=Q2)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text('when,amount\n2017-04-01,"1,234.5"\n')
    with pytest.raises(DataValidationError, match=r"'amount' of CSV file .*'1,234.5'"):
        CsvRows(numbers, date_column="when", numeric_columns=["amount"]).read()
    with pytest.raises(DataValidationError, match=r"no date column 'day'"):
        CsvRows(numbers, date_column="day").read(period=Q2)
    with pytest.raises(DataValidationError, match=r"no column.*'nope'.*its columns are when"):
        CsvRows(numbers, date_column="when").read(columns=["nope"])
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"when,amount\n2017-04-01,\xff\xfe\n")
    with pytest.raises(DataValidationError, match=r"not UTF-8"):
        CsvRows(broken, date_column="when").read()
    with pytest.raises(ConfigurationError, match=r"is a folder, not a CSV file"):
        CsvRows(tmp_path, date_column="when").read()
