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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from datasketches import kll_doubles_sketch

from include.drift.columns import count_categories, read_numeric
from include.drift.reference import NumericReference
from include.drift.stats.binning import bin_counts, sorted_quantiles
from include.errors import ConfigurationError, EmptyBatchError
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
    by Chan et al.'s parallel update, exact up to rounding. At 10 million rows it holds about
    8 kB of edges, 8 kB of counts and 10 kB of sketch.
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
        if values.size == 0:
            return
        self.counts += bin_counts(values, self.edges)
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
        }

    @classmethod
    def from_dict(cls, document: Any) -> NumericSummary:
        """The summary :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        document = encoding.check_header(document, _NUMERIC, _VERSION)
        entry = {key: encoding.field(document, key, _NUMERIC) for key in _NUMERIC_KEYS}
        name = _name(entry["name"], _NUMERIC)
        what = f"numeric summary of {name!r}"
        edges = encoding.unpack_edges(entry["edges"], f"{what}: edges")
        summary = cls.empty(name, edges)
        summary.counts = encoding.unpack_counts(entry["counts"], edges.size + 1, f"{what}: counts")
        try:
            summary.sketch = kll_doubles_sketch.deserialize(encoding.unpack(entry["sketch"], what))
        except (IndexError, RuntimeError, ValueError) as exc:
            raise encoding.malformed(what, f"the sketch cannot be read ({exc})") from None
        for key in ("rows", "missing", "infinite"):
            setattr(summary, key, encoding.count(entry[key], f"{what}: {key}"))
        summary.mean = encoding.number(entry["mean"], f"{what}: mean")
        summary.m2 = encoding.number(entry["m2"], f"{what}: m2")
        finite = summary.finite
        if finite:
            summary.minimum = encoding.number(entry["minimum"], f"{what}: minimum")
            summary.maximum = encoding.number(entry["maximum"], f"{what}: maximum")
        if (
            summary.rows != finite + summary.missing + summary.infinite
            or summary.sketch.n != finite
            or summary.m2 < 0
            or (finite and not summary.minimum <= summary.mean <= summary.maximum)
            or (not finite and (entry["minimum"], entry["maximum"]) != (None, None))
        ):
            raise encoding.malformed(what, "its counts, sketch and moments do not agree")
        return summary

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


_NUMERIC_KEYS = ("name", "edges", "counts", "sketch", "rows", "missing", "infinite")
_NUMERIC_KEYS += ("minimum", "maximum", "mean", "m2")


@dataclass(eq=False)
class CategorySummary:
    """One categorical feature of a batch: exact rows per category as text, missing values as
    ``(missing)`` (as ``count_categories``)."""

    name: str
    rows_per_category: dict[str, int] = field(default_factory=dict)

    def update(self, chunk: pd.Series) -> None:
        """Add a chunk of the column (in place)."""
        for category, rows in count_categories(chunk).items():
            self.rows_per_category[category] = self.rows_per_category.get(category, 0) + rows

    def merge(self, other: CategorySummary) -> CategorySummary:
        """The summary of both batches (a new one), adding the counts."""
        _check_same(self, other)
        merged = dict(self.rows_per_category)
        for category, rows in other.rows_per_category.items():
            merged[category] = merged.get(category, 0) + rows
        return CategorySummary(self.name, merged)

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
        }

    @classmethod
    def from_dict(cls, document: Any) -> CategorySummary:
        """The summary :meth:`to_dict` wrote; DataValidationError saying what is malformed."""
        document = encoding.check_header(document, _CATEGORY, _VERSION)
        name = _name(encoding.field(document, "name", _CATEGORY), _CATEGORY)
        counts = encoding.field(document, "counts", _CATEGORY)
        what = f"category summary of {name!r}"
        if not isinstance(counts, Mapping) or not all(isinstance(c, str) for c in counts):
            raise encoding.malformed(what, "counts must map category text to rows")
        rows = {c: encoding.count(n, f"{what}: rows of {c!r}") for c, n in counts.items()}
        return cls(name, {c: n for c, n in rows.items() if n > 0})


def _check_same(summary: Any, other: Any) -> None:
    if type(other) is not type(summary) or other.name != summary.name:
        raise ConfigurationError(
            f"cannot merge the {type(summary).__name__} of {summary.name!r} with the "
            f"{type(other).__name__} of {getattr(other, 'name', None)!r}: merge each feature's "
            "partial summaries with each other"
        )


def _name(value: Any, kind: str) -> str:
    if not isinstance(value, str):
        raise encoding.malformed(kind, f"the feature name {value!r} is not text")
    return value
