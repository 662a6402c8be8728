"""What every kind of row source shares: the columns to read, the period kept, chunk sizes."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from include.data.batches import select_period
from include.errors import ConfigurationError, DataValidationError
from include.periods import Period

CHUNK_ROWS = 250_000
"""Rows per frame of ``RowSource.chunks`` by default: about 20 MB for 10 numeric columns."""


def chunk_rows(rows: int) -> int:
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigurationError(f"rows per chunk must be a whole number >= 1, not {rows!r}")
    return rows


def columns_to_load(
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


def finish(
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


def first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
