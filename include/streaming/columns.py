"""Per-feature summaries of a batch, chunk by chunk: what univariate drift needs, in fixed memory.

:class:`NumericSummary` keeps counts on the reference's own fine quantile edges (which contain
the edges of the decile PSI and of the display histogram), the row, missing and infinite counts,
the moments and an Apache DataSketches KLL quantile sketch. :class:`CategorySummary` keeps the
exact rows per category. Both merge by addition, so partitions summarised by separate tasks
give the summary of the whole batch.

:mod:`include.streaming.comparisons` reads the drift statistics off a reference summary and a
current one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import pandas as pd
from datasketches import hll_sketch, hll_union, kll_doubles_sketch, tgt_hll_type
from pydantic import Field, PlainValidator, model_validator

from include.drift.columns import count_categories, read_numeric
from include.drift.reference import NumericReference
from include.drift.stats.binning import bin_counts, sorted_quantiles
from include.errors import ConfigurationError, EmptyBatchError
from include.evaluation.profile import plain_value
from include.streaming import encoding

FINE_QUANTILES = 1000
"""The reference edges are its quantiles at ``1/1000 … 999/1000``: each bin holds 0.1 % of the
reference, which bounds what the bins alone leave unknown of its CDF."""
TAIL_QUANTILES = np.array([1e-6, 1e-5, 1e-4])
"""And at these ranks from either end: a heavy tail's few extreme values span most of its range,
and the Wasserstein bound grows with the widths of the outer bins."""

KLL_K = 400
"""KLL accuracy parameter: a rank error of 0.86 % (99 % confidence, ``get_cdf``), about 10 kB of
sketch at any number of rows."""

HLL_LG_K = 12
"""HyperLogLog size (``2**12`` registers, HLL_8, 4 kB): a relative standard error of 1.6 % on the
number of distinct finite values, once there are more than :data:`EXACT_DISTINCT`."""
EXACT_DISTINCT = 1024
"""Up to this many distinct finite values a summary keeps them all (``distinct_values``): the
distinct count is then exact, and the values pin order statistics between the exact counts."""

_NUMERIC = "mes-numeric-summary"
_CATEGORY = "mes-category-summary"
_VERSION = 1


def reference_edges(reference: NumericReference) -> np.ndarray:
    """The inner edges of a feature's summaries, from the reference profile's sorted values.

    The reference's quantiles at :data:`FINE_QUANTILES` steps and :data:`TAIL_QUANTILES` (numpy's
    linear method), with its
    decile edges and display-histogram edges added, so that the decile PSI and the histogram are
    exact on the summaries. Read from the sorted values the profile keeps today (exact and
    simple); a reference too large to sort would need its edges from a first pass with a sketch,
    and its deciles would then be approximate. Empty for a reference without finite values.
    """
    if reference.values.size == 0:
        return np.empty(0)
    ranks = np.arange(1, FINE_QUANTILES) / FINE_QUANTILES
    ranks = np.concatenate((TAIL_QUANTILES, ranks, 1 - TAIL_QUANTILES))
    fine = sorted_quantiles(reference.values, ranks)
    edges = np.concatenate((fine, reference.decile_edges, reference.histogram_edges))
    return np.unique(edges)


@dataclass(eq=False)
class NumericSummary:
    """One numeric feature of a batch: counts, moments and a quantile sketch of its finite values.

    ``counts`` has one entry per right-closed bin of ``edges`` (the outer two open, see
    :mod:`include.drift.stats.binning`). ``mean`` and ``m2`` (sum of squared deviations) merge
    by Chan et al.'s parallel update, exact up to rounding; ``parts`` counts the non-empty chunks
    summarised (each one Chan step, which bounds the rounding). ``positive_infinite`` counts the
    +inf among ``infinite``. ``distinct_values`` holds the distinct finite values, sorted, while
    there are at most :data:`EXACT_DISTINCT` (None beyond), ``distinct_sketch`` a HyperLogLog
    sketch of them. At 10 million rows it holds about 8 kB of edges, 8 kB of counts, 10 kB of
    KLL sketch and 4 kB of HLL sketch.
    """

    name: str
    edges: np.ndarray
    counts: np.ndarray
    sketch: kll_doubles_sketch
    rows: int = 0
    missing: int = 0
    infinite: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    positive_infinite: int = 0
    distinct_sketch: hll_sketch = field(default_factory=lambda: _empty_hll())
    distinct_values: np.ndarray | None = field(default_factory=lambda: np.empty(0))
    parts: int = 0

    @classmethod
    def empty(cls, name: str, edges: np.ndarray) -> NumericSummary:
        """A summary of no rows on ``edges`` (strictly ascending, finite)."""
        edges = np.asarray(edges, dtype=np.float64)
        if edges.ndim != 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ConfigurationError(
                f"feature {name!r}: edges must be finite and strictly ascending; derive them "
                "with reference_edges"
            )
        counts = np.zeros(edges.size + 1, dtype=np.int64)
        return cls(name, edges, counts, kll_doubles_sketch(KLL_K))

    @property
    def finite(self) -> int:
        return int(self.counts.sum())

    def update(self, chunk: pd.Series) -> None:
        """Add a chunk of the column (in place); DataValidationError if it holds non-numbers."""
        column = read_numeric(chunk, self.name)
        values = column.values
        self.rows += column.rows
        self.missing += column.missing
        self.infinite += column.infinite
        if column.infinite:
            raw = chunk.to_numpy(dtype=np.float64, na_value=np.nan)
            self.positive_infinite += int(np.count_nonzero(np.isposinf(raw)))
        if values.size == 0:
            return
        self.counts += bin_counts(values, self.edges)
        distinct = values[np.concatenate(([True], np.diff(values) != 0))]
        for value in distinct.tolist():
            self.distinct_sketch.update(value)
        self.distinct_values = _union(self.distinct_values, distinct)
        self.parts += 1
        self.sketch.update(values)
        chunk_mean = float(values.mean())
        chunk_m2 = float(np.square(values - chunk_mean).sum())
        self._add_moments(values.size, chunk_mean, chunk_m2, float(values[0]), float(values[-1]))

    def merge(self, other: NumericSummary) -> NumericSummary:
        """The summary of both batches (a new one); ConfigurationError unless both are of the
        same feature on the same edges."""
        _check_same(self, other)
        if not np.array_equal(self.edges, other.edges):
            raise ConfigurationError(
                f"cannot merge summaries of {self.name!r} on different edges; summarise every "
                "partition with the edges of the same reference profile"
            )
        sketch = kll_doubles_sketch.deserialize(self.sketch.serialize())
        sketch.merge(other.sketch)
        merged = NumericSummary(
            self.name,
            self.edges,
            self.counts + other.counts,
            sketch,
            self.rows + other.rows,
            self.missing + other.missing,
            self.infinite + other.infinite,
            self.minimum,
            self.maximum,
            self.mean,
            self.m2,
        )
        merged._add_moments(other.finite, other.mean, other.m2, other.minimum, other.maximum)
        merged.positive_infinite = self.positive_infinite + other.positive_infinite
        union = hll_union(HLL_LG_K)
        union.update(self.distinct_sketch)
        union.update(other.distinct_sketch)
        merged.distinct_sketch = union.get_result(tgt_hll_type.HLL_8)
        merged.distinct_values = _union(self.distinct_values, other.distinct_values)
        merged.parts = self.parts + other.parts
        return merged

    def variance(self, ddof: int = 0) -> float:
        """Variance of the finite values (``numpy.var(values, ddof=ddof)``, equal up to rounding:
        Chan's update keeps a relative error of a few ulps per merge)."""
        if self.finite <= ddof:
            raise EmptyBatchError(f"feature {self.name!r}: too few finite values for a variance")
        return self.m2 / (self.finite - ddof)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe document; :meth:`from_dict` reads it back."""
        has_values = self.finite > 0
        return {
            "format": _NUMERIC,
            "version": _VERSION,
            "name": self.name,
            "edges": encoding.pack_floats(self.edges),
            "counts": encoding.pack_counts(self.counts),
            "sketch": encoding.pack(self.sketch.serialize()),
            "rows": self.rows,
            "missing": self.missing,
            "infinite": self.infinite,
            "minimum": self.minimum if has_values else None,
            "maximum": self.maximum if has_values else None,
            "mean": self.mean,
            "m2": self.m2,
            "positive_infinite": self.positive_infinite,
            "distinct_sketch": encoding.pack(self.distinct_sketch.serialize_compact()),
            "distinct_values": None
            if self.distinct_values is None
            else encoding.pack_floats(self.distinct_values),
            "parts": self.parts,
        }

    @classmethod
    def from_dict(cls, document: Any) -> NumericSummary:
        """The summary :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        entry = encoding.read(_NumericDocument, document, _NUMERIC, _VERSION, "numeric summary")
        fields = dict(entry)  # the document's entries are the summary's fields
        if not entry.finite:
            fields.update(minimum=math.inf, maximum=-math.inf)
        return cls(**fields)

    def _add_moments(self, n: int, mean: float, m2: float, low: float, high: float) -> None:
        """Chan et al.'s pairwise update of the count, mean and M2 by another part's."""
        if n == 0:
            return
        before = self.finite - n  # counts already include the new part
        total = before + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * before * n / total
        self.minimum, self.maximum = min(self.minimum, low), max(self.maximum, high)


class _NumericDocument(encoding.Document):
    """What :meth:`NumericSummary.to_dict` writes: ``minimum`` and ``maximum`` are None when
    there is no finite value; the counts, sketch and moments must agree."""

    name: encoding.FeatureName
    edges: encoding.PackedEdges
    counts: encoding.PackedCounts
    sketch: Annotated[kll_doubles_sketch, encoding.sketch_of(kll_doubles_sketch, "sketch")]
    rows: encoding.Count
    missing: encoding.Count
    infinite: encoding.Count
    minimum: encoding.Number | None
    maximum: encoding.Number | None
    mean: encoding.Number
    m2: encoding.Number
    positive_infinite: encoding.Count
    distinct_sketch: Annotated[hll_sketch, encoding.sketch_of(hll_sketch, "HLL sketch")]
    distinct_values: encoding.PackedEdges | None
    parts: encoding.Count

    @property
    def finite(self) -> int:
        return int(self.counts.sum())

    @model_validator(mode="after")
    def _agrees(self) -> _NumericDocument:
        if self.counts.size != self.edges.size + 1:
            raise ValueError(
                f"counts: expected {self.edges.size + 1} counts, got {self.counts.size}"
            )
        finite = self.finite
        for key in ("minimum", "maximum"):
            if finite and getattr(self, key) is None:
                raise ValueError(f"{key}: None is not a finite number")
        if (
            self.rows != finite + self.missing + self.infinite
            or self.sketch.n != finite
            or self.positive_infinite > self.infinite
            or (self.distinct_values is not None and self.distinct_values.size > finite)
            or self.m2 < 0
            or (finite and not self.minimum <= self.mean <= self.maximum)
            or (not finite and (self.minimum, self.maximum) != (None, None))
        ):
            raise ValueError("its counts, sketch and moments do not agree")
        return self


def _empty_hll() -> hll_sketch:
    return hll_sketch(HLL_LG_K, tgt_hll_type.HLL_8)


def _union(left: np.ndarray | None, right: np.ndarray | None) -> np.ndarray | None:
    """The sorted distinct values of both, or None once more than :data:`EXACT_DISTINCT`."""
    if left is None or right is None:
        return None
    union = np.union1d(left, right)
    return union if union.size <= EXACT_DISTINCT else None


@dataclass(eq=False)
class CategorySummary:
    """One categorical feature of a batch: exact rows per category as text, missing values as
    ``(missing)`` (as ``count_categories``, what drift compares), and exact rows per non-missing
    value as the column statistics show it (``rows_per_value``: numpy scalars unwrapped, anything
    exotic as text, as ``profile.plain_value``), so ``7`` and ``"7"`` stay apart there. A value
    seen as an int in one chunk and as an equal float in another (an integer column that turned
    float where a chunk has a missing value) is kept as the float, as pandas concatenates them."""

    name: str
    rows_per_category: dict[str, int] = field(default_factory=dict)
    rows_per_value: dict[str | int | float | bool, int] = field(default_factory=dict)

    def update(self, chunk: pd.Series) -> None:
        """Add a chunk of the column (in place)."""
        for category, rows in count_categories(chunk).items():
            self.rows_per_category[category] = self.rows_per_category.get(category, 0) + rows
        counts = chunk.value_counts(dropna=True, sort=False)
        for value, rows in zip(counts.index, counts.to_numpy(), strict=True):
            if rows > 0:  # a pandas Categorical lists its unused categories with count 0
                _add_value(self.rows_per_value, plain_value(value), int(rows))

    def merge(self, other: CategorySummary) -> CategorySummary:
        """The summary of both batches (a new one), adding the counts."""
        _check_same(self, other)
        merged = dict(self.rows_per_category)
        for category, rows in other.rows_per_category.items():
            merged[category] = merged.get(category, 0) + rows
        values = dict(self.rows_per_value)
        for value, rows in other.rows_per_value.items():
            _add_value(values, value, rows)
        return CategorySummary(self.name, merged, values)

    def counts(self) -> dict[str, int]:
        """Rows per category, most frequent first (ties by text): ``count_categories`` of the
        whole batch, exactly."""
        return dict(sorted(self.rows_per_category.items(), key=lambda item: (-item[1], item[0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _CATEGORY,
            "version": _VERSION,
            "name": self.name,
            "counts": self.counts(),
            "values": [[value, rows] for value, rows in self.rows_per_value.items()],
        }

    @classmethod
    def from_dict(cls, document: Any) -> CategorySummary:
        """The summary :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        entry = encoding.read(_CategoryDocument, document, _CATEGORY, _VERSION, "category summary")
        values: dict[str | int | float | bool, int] = {}
        for value, rows in entry.values:
            _add_value(values, value, rows)
        return cls(entry.name, {c: n for c, n in entry.counts.items() if n > 0}, values)


def _value_pairs(pairs: Any) -> list[tuple[str | int | float | bool, int]]:
    """``[[value, rows], ...]``: values as JSON holds them (finite numbers), rows counted."""
    if not isinstance(pairs, list) or not all(
        isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[0], str | int | float | bool)
        and (not isinstance(pair[0], float) or math.isfinite(pair[0]))
        for pair in pairs
    ):
        raise ValueError("values must be [value, rows] pairs")
    return [(value, encoding.as_count(rows)) for value, rows in pairs]


class _CategoryDocument(encoding.Document):
    """What :meth:`CategorySummary.to_dict` writes."""

    name: encoding.FeatureName
    counts: Annotated[
        dict[str, encoding.Count], encoding.mapping_of("counts must map category text to rows")
    ] = Field(title="rows of")
    values: Annotated[list[tuple[str | int | float | bool, int]], PlainValidator(_value_pairs)]


def _add_value(table: dict[Any, int], value: Any, rows: int) -> None:
    """Add ``rows`` of ``value``; a float equal to an int key replaces that key (see above)."""
    if rows <= 0:
        return
    if isinstance(value, float) and value in table:
        rows += table.pop(value)
    table[value] = table.get(value, 0) + rows


def _check_same(summary: Any, other: Any) -> None:
    if type(other) is not type(summary) or other.name != summary.name:
        raise ConfigurationError(
            f"cannot merge the {type(summary).__name__} of {summary.name!r} with the "
            f"{type(other).__name__} of {getattr(other, 'name', None)!r}: merge each feature's "
            "partial summaries with each other"
        )
