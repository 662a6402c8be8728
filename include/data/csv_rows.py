"""A user's rows in a CSV file (see ``sources.py``).

Read in chunks, the date column parsed (ISO 8601 text), the period kept; categorical features are
read as text (``007`` stays ``007``), numeric ones must be numbers. The separator is ``,``, or
``;``, tab or ``|`` when the header line uses that instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from include.data.batches import as_datetimes, select_period
from include.data.rows import CHUNK_ROWS, chunk_rows, columns_to_load, first_line
from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period

CSV_CHUNK_ROWS = 250_000
_SEPARATORS = (",", ";", "\t", "|")


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
