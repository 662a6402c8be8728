"""Reading feature columns the same way for the reference profile and for each batch.

Numeric columns become sorted float64 arrays of their finite values, with missing (null/NaN)
and infinite values counted apart. Categorical columns become counts per category, categories
compared as text so that one category stored as ``7`` in one batch and ``"7"`` in another is
the same; missing values are a category of their own, :data:`MISSING_CATEGORY`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from include.errors import DataValidationError

MISSING_CATEGORY = "(missing)"
"""The category of missing values (None, NaN, NA, NaT) in a categorical feature."""

_NUMERIC_OBJECT_KINDS = frozenset(
    {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}
)


@dataclass(frozen=True, eq=False)
class NumericColumn:
    """A numeric column: its finite values sorted ascending, and what was left out."""

    values: np.ndarray
    rows: int
    missing: int
    infinite: int


def check_features(frame: pd.DataFrame, features: Sequence[str], side: str) -> None:
    """DataValidationError unless ``frame`` is a DataFrame holding each feature exactly once."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"the {side} data must be a pandas DataFrame, got {type(frame)}")
    repeated = sorted({name for name in features if features.count(name) > 1})
    if repeated:
        raise DataValidationError(f"features listed twice or as both kinds: {repeated}")
    absent = [name for name in features if name not in frame.columns]
    if absent:
        raise DataValidationError(
            f"feature(s) {absent} missing from the {side} data, which has the columns "
            f"{list(frame.columns)[:30]}; add them or remove them from the feature list"
        )
    ambiguous = [name for name in features if np.count_nonzero(frame.columns == name) > 1]
    if ambiguous:
        raise DataValidationError(f"the {side} data has several columns named {ambiguous}")


def read_numeric(series: pd.Series, name: str) -> NumericColumn:
    """The column as sorted finite float64 values; DataValidationError if it holds non-numbers."""
    values = _as_float(series, name)
    finite = values[np.isfinite(values)]  # a copy: sorting it leaves the caller's frame alone
    finite.sort()
    missing = int(np.count_nonzero(np.isnan(values)))
    return NumericColumn(finite, values.size, missing, values.size - missing - finite.size)


def count_categories(series: pd.Series) -> dict[str, int]:
    """Rows per category as text, most frequent first (ties by text); missing is a category."""
    counts = series.value_counts(dropna=False, sort=False)
    by_text: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        if count > 0:  # a pandas Categorical lists its unused categories with count 0
            label = category_label(value)
            by_text[label] = by_text.get(label, 0) + int(count)
    return dict(sorted(by_text.items(), key=lambda item: (-item[1], item[0])))


def category_label(value: Any) -> str:
    """A category as text. Whole floats lose their ``.0``: a column of integer codes turns float
    as soon as it has a missing value, and ``12.0`` must stay the category ``12``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (not isinstance(value, str | bytes) and _is_missing(value)):
        return MISSING_CATEGORY
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are not missing scalars
        return False


def _as_float(series: pd.Series, name: str) -> np.ndarray:
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
    if pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        numeric = kind in _NUMERIC_OBJECT_KINDS
    if not numeric:
        examples = _non_numbers(series)
        raise DataValidationError(
            f"feature {name!r} is listed as numeric but holds {dtype} values"
            + (f" such as {examples}" if examples else "")
            + "; list it as categorical or convert it to numbers"
        )
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"feature {name!r} is listed as numeric but cannot be read as numbers: {exc}"
        ) from None


def _non_numbers(series: pd.Series, limit: int = 3) -> list:
    examples = []
    for value in series.dropna().head(1000):
        if not isinstance(value, int | float | np.number):
            examples.append(value)
            if len(examples) == limit:
                break
    return examples
