"""What the dataset stores share: valid dataset names, column checks, and their error messages."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from include.errors import ConfigurationError, DatasetNotFoundError, DataValidationError
from include.periods import Period

# The pattern of dataset names in the monitoring configuration, within PostgreSQL's 63 bytes.
DATASET_NAME = re.compile(r"[A-Za-z0-9_]{1,63}")


def check_dataset_name(name: str) -> str:
    """``name`` if it is a valid dataset name, else ConfigurationError saying what is allowed."""
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise ConfigurationError(
            f"dataset name {name!r} is not valid: use 1 to 63 letters, digits and underscores "
            "(e.g. transactions_prepared)"
        )
    return name


def check_columns(
    name: str,
    available: Sequence[str],
    columns: Sequence[str] | None,
    date_column: str | None,
    period: Period | None,
) -> list[str] | None:
    """The requested columns once each (None: all), after checking that they all exist."""
    if period is not None and not date_column:
        raise ConfigurationError(
            f"reading period {period} of dataset {name!r} needs the date column to filter on"
        )
    if isinstance(columns, str):
        columns = [columns]
    if columns is not None and not columns:
        raise ConfigurationError(f"asked for no columns of dataset {name!r}: give None for all")
    requested = [*(columns or []), *([date_column] if date_column else [])]
    missing = [column for column in dict.fromkeys(requested) if column not in available]
    if missing:
        raise DataValidationError(
            f"dataset {name!r} has no column(s) {', '.join(map(repr, missing))}; "
            f"it has {', '.join(available)}"
        )
    return None if columns is None else list(dict.fromkeys(columns))


def check_frame(name: str, frame: pd.DataFrame) -> None:
    """Refuse frames that cannot be stored as a table: not a frame, unnamed or repeated columns."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"dataset {name!r} must be a pandas DataFrame, got {type(frame).__name__}"
        )
    bad = [column for column in frame.columns if not isinstance(column, str) or not column]
    if bad:
        raise DataValidationError(
            f"dataset {name!r} has column names that are not non-empty strings: {bad[:5]}"
        )
    repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
    if repeated:
        raise DataValidationError(f"dataset {name!r} has repeated column(s) {repeated}")


def arrow_table(name: str, frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table without its index; DataValidationError if a column won't go."""
    check_frame(name, frame)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise DataValidationError(
            f"cannot store dataset {name!r}: {exc}; give each column one type"
        ) from None


def dataset_not_found(name: str, store: str, held: Sequence[str]) -> DatasetNotFoundError:
    """The error for reading a dataset a store does not hold, listing the ones it does hold."""
    holding = f"it holds {', '.join(held)}" if held else "it holds no datasets yet"
    return DatasetNotFoundError(
        f"dataset {name!r} was not found in {store} ({holding}). Write it first (for the "
        "tutorial data: python -m include.cli generate, which generates and stores the tables "
        "and the prepared transactions), or point the pipeline at the store that holds it"
    )


def as_objects(values: pd.Series) -> pd.Series:
    """Text read back into the ``object`` dtype it was written with, None where missing."""
    return values.astype(object).where(values.notna(), None)
