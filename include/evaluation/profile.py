"""Per-column statistics of an evaluated batch, as the model evaluation store keeps them.

A profile says what the batch looked like — size, missing values, distribution of each feature —
so that a drift found later can be read against the data itself. Every number is a plain Python
``int``/``float`` (NaN becomes ``None``), ready for JSON. Numeric columns are sorted once and
everything (min, max, quantiles, distinct values, histogram) is read off the sorted array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from include.drift.columns import check_features
from include.errors import DataValidationError
from include.json_records import JsonRecord, json_record

QUANTILES: dict[str, float] = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
"""Quantiles of every numeric column, linearly interpolated (numpy's default ``linear``)."""


@json_record()
class Histogram(JsonRecord):
    """Counts of finite values in equal-width bins ``[edges[i], edges[i+1])``, the last closed."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@json_record()
class TopValue(JsonRecord):
    """One frequent category: its value, its number of rows and its share of all rows."""

    value: str | int | float | bool
    count: int
    share: float


_KEYS = {
    "numeric": {"infinite", "mean", "std", "min", "max", "quantiles", "histogram"},
    "categorical": {"top_values", "others_share"},
}
"""The keys a column's JSON holds besides those every column has, by kind."""


@json_record()
class ColumnStatistics(JsonRecord):
    """Statistics of one column of a batch.

    Every column has ``count`` (rows, missing included), ``missing`` (null/NaN) and ``distinct``
    (distinct non-missing values). A numeric column adds ``infinite`` (±inf, which are left out
    of everything below), ``mean``, ``std`` (sample, ddof=1), ``min``, ``max``, ``quantiles``
    (``p01`` … ``p99``, linear interpolation between order statistics as numpy's default) and a
    ``histogram``. A categorical column adds ``top_values`` (most frequent first, ties by value)
    and ``others_share``: the share of rows holding a non-missing value outside the top values.
    Shares are of all rows, so top shares + others_share + missing/count = 1. Statistics that are
    undefined (no finite value, a single value for ``std``, no row for a share) are ``None``.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    count: int
    missing: int
    distinct: int
    infinite: int | None = None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float | None] | None = None
    histogram: Histogram | None = None
    top_values: tuple[TopValue, ...] | None = None
    others_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (``model_dump(mode="json")``); only the keys of the column's kind."""
        kept = {"name", "kind", "count", "missing", "distinct", *_KEYS[self.kind]}
        dumped = self.model_dump(mode="json", include=kept)
        if self.kind == "numeric" and self.quantiles is None:
            dumped["quantiles"] = {}
        return dumped


def column_statistics(
    frame: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    top_k: int = 10,
    bins: int = 20,
) -> list[ColumnStatistics]:
    """Statistics of the listed columns of ``frame``: numeric ones first, each in listed order.

    Raises :class:`DataValidationError` when a listed column is absent, listed twice, or a
    numeric column holds values that are not numbers.
    """
    if top_k < 0 or bins < 1:
        raise ValueError(f"need top_k >= 0 and bins >= 1, got top_k={top_k}, bins={bins}")
    check_features(frame, [*numeric, *categorical], "batch")
    return [_numeric_statistics(frame[name], name, bins) for name in numeric] + [
        _categorical_statistics(frame[name], name, top_k) for name in categorical
    ]


def sample_positions(row_count: int, max_rows: int = 50_000, seed: int = 0) -> np.ndarray:
    """Sorted positions of a uniform sample of at most ``max_rows`` of ``row_count`` rows.

    The same arguments always give the same positions; all rows when there are few enough.
    """
    if max_rows < 0:
        raise ValueError(f"max_rows must be >= 0, got {max_rows}")
    if row_count <= max_rows:
        return np.arange(row_count)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(row_count, size=max_rows, replace=False))


def sample_rows(frame: pd.DataFrame, max_rows: int = 50_000, seed: int = 0) -> pd.DataFrame:
    """A uniform sample of at most ``max_rows`` rows, in their original order, index reset."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    return frame.iloc[sample_positions(len(frame), max_rows, seed)].reset_index(drop=True)


def _numeric_statistics(series: pd.Series, name: str, bins: int) -> ColumnStatistics:
    values = _as_float(series, name)
    missing = int(np.count_nonzero(np.isnan(values)))
    finite = values[np.isfinite(values)]
    infinite = values.size - missing - finite.size
    distinct_infinities = int(np.isposinf(values).any()) + int(np.isneginf(values).any())
    if finite.size == 0:
        return ColumnStatistics(
            name=name,
            kind="numeric",
            count=values.size,
            missing=missing,
            distinct=distinct_infinities,
            infinite=infinite,
            quantiles=dict.fromkeys(QUANTILES),
        )
    finite.sort()
    std = float(np.std(finite, ddof=1)) if finite.size > 1 else None
    return ColumnStatistics(
        name=name,
        kind="numeric",
        count=values.size,
        missing=missing,
        distinct=int(np.count_nonzero(np.diff(finite))) + 1 + distinct_infinities,
        infinite=infinite,
        mean=float(np.mean(finite)),
        std=std,
        min=float(finite[0]),
        max=float(finite[-1]),
        quantiles={key: sorted_quantile(finite, q) for key, q in QUANTILES.items()},
        histogram=sorted_histogram(finite, bins),
    )


def _categorical_statistics(series: pd.Series, name: str, top_k: int) -> ColumnStatistics:
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts.to_numpy() > 0]  # a pandas Categorical lists unused categories too
    values = [plain_value(value) for value in counts.index]
    return categorical_record(name, len(series), values, counts.to_numpy(), top_k)


def categorical_record(
    name: str, rows: int, values: Sequence[Any], counts: np.ndarray, top_k: int
) -> ColumnStatistics:
    """A categorical column's statistics from its ``rows`` and the rows of each distinct
    non-missing value (plain Python values, ``counts`` in the same order); shared with the
    streaming path, whose summaries hold these counts exactly."""
    present = int(counts.sum())
    # order: count descending, then value ascending (factorize sorts mixed types safely)
    value_rank, _ = pd.factorize(pd.Index(list(values), dtype=object), sort=True)
    order = np.lexsort((value_rank, -counts))[:top_k]
    top_values = tuple(
        TopValue(value=values[i], count=int(counts[i]), share=int(counts[i]) / rows) for i in order
    )
    others = present - sum(top.count for top in top_values)
    return ColumnStatistics(
        name=name,
        kind="categorical",
        count=rows,
        missing=rows - present,
        distinct=len(values),
        top_values=top_values,
        others_share=others / rows if rows else None,
    )


def sorted_quantile(ascending: np.ndarray, q: float) -> float:
    """numpy's ``linear`` quantile read off an already sorted array."""
    position = (ascending.size - 1) * q
    below = math.floor(position)
    above = min(below + 1, ascending.size - 1)
    low, high, t = float(ascending[below]), float(ascending[above]), position - below
    # numpy's two-sided lerp, exact at both ends and monotone in t
    return low + (high - low) * t if t < 0.5 else high - (high - low) * (1 - t)


def sorted_histogram(ascending: np.ndarray, bins: int) -> Histogram:
    """``numpy.histogram(values, bins)`` read off an already sorted array of finite values."""
    low, high = float(ascending[0]), float(ascending[-1])
    if low == high:  # as numpy: a constant column gets the range [value - 0.5, value + 0.5]
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    if not np.isfinite(edges).all():  # high - low overflows: interpolate without the difference
        share = np.linspace(0.0, 1.0, bins + 1)
        edges = low * (1.0 - share) + high * share
        edges[0], edges[-1] = low, high
    starts = np.searchsorted(ascending, edges[:-1], side="left")
    ends = np.append(starts[1:], ascending.size)  # the last bin includes its right edge
    return Histogram(
        edges=tuple(float(edge) for edge in edges),
        counts=tuple(int(c) for c in ends - starts),
    )


def _as_float(series: pd.Series, name: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == object):
        raise DataValidationError(
            f"column {name!r} is listed as numeric but has type {series.dtype}; "
            "list it as categorical or convert it to numbers"
        )
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        example = series.dropna().iloc[:3].tolist()
        raise DataValidationError(
            f"column {name!r} is listed as numeric but holds values that are not numbers, "
            f"such as {example}; list it as categorical or convert it to numbers"
        ) from None


def plain_value(value: Any) -> str | int | float | bool:
    """A category as a JSON value: numpy scalars unwrapped, anything exotic as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)
