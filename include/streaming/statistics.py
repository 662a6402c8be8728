"""Per-column statistics of a batch from its merged summaries, as ``column_statistics`` gives them.

:func:`summary_statistics` returns the same :class:`ColumnStatistics` records as
``include.evaluation.profile.column_statistics`` on the whole batch, and for each column the
largest distance of each field to the in-memory value (0 where exact):

- Exact: ``count``, ``missing``, ``infinite``, ``min``, ``max``, the histogram's ``edges`` (the
  same ``linspace`` over the exact min and max), and every field of a categorical column (its
  values, with their types, counts, order and shares: :class:`CategorySummary` counts them all).
- ``distinct`` of a numeric column: exact while the summary keeps the distinct values (up to
  ``EXACT_DISTINCT``), else the HyperLogLog estimate within its 3-standard-deviation bound
  (``get_lower_bound(3)``/``get_upper_bound(3)``, 99.7 % confidence; the sketch hashes with a
  fixed seed, so one batch always gives the same estimate).
- ``mean`` and ``std``: Chan's merged moments, within a bound from standard floating-point error
  analysis of both paths (pairwise sums in blocks of 128 and one Chan step per summarised chunk),
  with the largest magnitude and range of the values: at most a few ulps of the values' scale
  times the number of chunks for the mean.
- ``quantiles``: each order statistic the linear interpolation reads lies between the reference
  edges whose exact cumulative counts enclose its rank (always true) and, with ``sketch=True``,
  between the KLL sketch's retained values whose ranks, widened by its normalized rank error,
  enclose it (the sketch's stated 99 % confidence on its largest rank error, so per column with
  more rows than the sketch keeps). Where the summary keeps the distinct values, the bracket
  shrinks to the values inside it (often one: exact). The estimate is the sketch's order
  statistic clipped into the bracket; the bound is its largest distance to the bracket's ends.
- ``histogram.counts``: the counts below each edge bracketed the same way (exact counts on the
  reference edges, the KLL rank within its error with ``sketch=True``); a bin's bound is the sum
  of its two edges' bounds and the returned bound the largest over the bins. The counts sum to
  the exact number of finite values.

While the KLL sketch is not in estimation mode (few rows) it holds every finite value and every
field is computed from them as in memory: exact. With ``sketch=False`` every bound holds with
certainty (exact counts only), at the cost of wider quantile and histogram bounds where the
batch lies far outside the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from include.evaluation.profile import (
    QUANTILES,
    ColumnStatistics,
    Histogram,
    categorical_record,
    sorted_histogram,
    sorted_quantile,
)
from include.streaming.columns import EXACT_DISTINCT, CategorySummary, NumericSummary

HLL_STD_DEVS = 3
"""Standard deviations of the HyperLogLog bound on a numeric column's distinct values."""

_ULP = 2.0**-53
_EXACT = ("count", "missing", "infinite", "min", "max", "histogram.edges")


def summary_statistics(
    numeric: Mapping[str, NumericSummary],
    categorical: Mapping[str, CategorySummary],
    *,
    top_k: int = 10,
    bins: int = 20,
    sketch: bool = True,
) -> tuple[list[ColumnStatistics], dict[str, dict[str, float]]]:
    """``column_statistics`` of a batch from its summaries (numeric first, in the given order)
    and the bounds: column → field → largest distance to the in-memory value (module docstring).

    Fields are named as in ``ColumnStatistics``; quantiles as ``quantiles.p50``, the histogram as
    ``histogram.edges`` and ``histogram.counts`` (largest error of a bin), categorical top values
    as ``top_values`` and ``others_share``. ``sketch=False`` leaves the KLL sketch out of the
    quantile and histogram bounds, which then hold with certainty.
    """
    if top_k < 0 or bins < 1:
        raise ValueError(f"need top_k >= 0 and bins >= 1, got top_k={top_k}, bins={bins}")
    records: list[ColumnStatistics] = []
    bounds: dict[str, dict[str, float]] = {}
    for name, summary in numeric.items():
        record, bound = _numeric(name, summary, bins, sketch)
        records.append(record)
        bounds[name] = bound
    for name, summary in categorical.items():
        records.append(_categorical(name, summary, top_k))
        bounds[name] = dict.fromkeys(
            ("count", "missing", "distinct", "top_values", "others_share"), 0.0
        )
    return records, bounds


def _numeric(
    name: str, summary: NumericSummary, bins: int, sketch: bool
) -> tuple[ColumnStatistics, dict[str, float]]:
    n = summary.finite
    negative = summary.infinite - summary.positive_infinite
    infinities = int(summary.positive_infinite > 0) + int(negative > 0)
    bound = dict.fromkeys(_EXACT, 0.0)
    common = {
        "name": name,
        "kind": "numeric",
        "count": summary.rows,
        "missing": summary.missing,
        "infinite": summary.infinite,
    }
    if n == 0:
        bound |= {"distinct": 0.0} | {f"quantiles.{key}": 0.0 for key in QUANTILES}
        record = ColumnStatistics(**common, distinct=infinities, quantiles=dict.fromkeys(QUANTILES))
        return record, bound
    values = np.empty(0) if summary.sketch.is_estimation_mode() else _all_values(summary)
    if values.size == n:  # the sketch holds every value: computed as in memory
        bound |= dict.fromkeys(("distinct", "mean", "std", "histogram.counts"), 0.0)
        bound |= {f"quantiles.{key}": 0.0 for key in QUANTILES}
        record = ColumnStatistics(
            **common,
            distinct=int(np.count_nonzero(np.diff(values))) + 1 + infinities,
            mean=float(np.mean(values)),
            std=float(np.std(values, ddof=1)) if n > 1 else None,
            min=float(values[0]),
            max=float(values[-1]),
            quantiles={key: sorted_quantile(values, q) for key, q in QUANTILES.items()},
            histogram=sorted_histogram(values, bins),
        )
        return record, bound
    reader = _Reader(summary, sketch)
    distinct, bound["distinct"] = _distinct(summary)
    mean_bound, std, std_bound = _moment_bounds(summary)
    bound |= {"mean": mean_bound, "std": std_bound}
    quantiles = {}
    for key, q in QUANTILES.items():
        quantiles[key], bound[f"quantiles.{key}"] = reader.quantile(q)
    histogram, bound["histogram.counts"] = reader.histogram(bins)
    record = ColumnStatistics(
        **common,
        distinct=distinct + infinities,
        mean=summary.mean,
        std=std,
        min=summary.minimum,
        max=summary.maximum,
        quantiles=quantiles,
        histogram=histogram,
    )
    return record, bound


def _items(summary: NumericSummary) -> tuple[np.ndarray, np.ndarray]:
    """The KLL sketch's retained values, ascending and distinct, and its count of rows at or
    below each (its inclusive rank times n). The ranks come from ``get_cdf``, not from the
    iterator's weights: in datasketches 5.2 those are wrong after some merges (all 1)."""
    items = np.unique(np.array([item for item, _ in summary.sketch], dtype=np.float64))
    if not summary.sketch.is_estimation_mode():  # every value once: exact ranks
        return items, np.searchsorted(np.sort(_all_values(summary)), items, side="right")
    cdf = np.asarray(summary.sketch.get_cdf(items.tolist(), inclusive=True))[:-1]
    return items, np.round(cdf * summary.finite).astype(np.int64)


def _all_values(summary: NumericSummary) -> np.ndarray:
    """Every finite value, sorted, from a sketch that is not in estimation mode."""
    return np.sort(np.array([item for item, _ in summary.sketch], dtype=np.float64))


def _distinct(summary: NumericSummary) -> tuple[int, float]:
    """Distinct finite values: exact from the kept values, else HLL within its bound."""
    if summary.distinct_values is not None:
        return int(summary.distinct_values.size), 0.0
    hll = summary.distinct_sketch
    low = max(float(hll.get_lower_bound(HLL_STD_DEVS)), float(EXACT_DISTINCT + 1))
    high = min(float(hll.get_upper_bound(HLL_STD_DEVS)), float(summary.finite))
    estimate = min(max(round(hll.get_estimate()), math.ceil(low)), math.floor(high))
    return int(estimate), float(max(estimate - low, high - estimate, 0.0))


def _moment_bounds(summary: NumericSummary) -> tuple[float, float | None, float]:
    """Bounds on the mean's and the sample std's distance to numpy's on the sorted values.

    Both paths sum in pairwise blocks of 128 (``γ = (128 + log2 n + 3) u`` relative to the
    sums of magnitudes) and the summary adds one Chan step of a few roundings per part: a mean
    within ``(2γ/u + 8 parts) u M`` (``M`` the largest magnitude); M2 within ``(2γ/u + 4 parts) u``
    relative, plus ``n e²`` per path for the rounded mean and ``parts (2 R e + e²) n / 4`` for the
    rounded deltas of the Chan steps (``R`` the range).
    """
    n, parts = summary.finite, max(summary.parts, 1)
    scale = max(abs(summary.minimum), abs(summary.maximum))
    spread = summary.maximum - summary.minimum
    gamma = 128 + math.log2(n) + 3
    mean_error = (2 * gamma + 8 * parts) * _ULP * scale
    if n < 2:
        return mean_error, None, 0.0
    m2_error = (2 * gamma + 4 * parts) * _ULP * summary.m2 + 2 * n * mean_error**2
    m2_error += parts * (2 * spread * mean_error + mean_error**2) * n / 4
    variance = summary.m2 / (n - 1)
    variance_error = m2_error / (n - 1)
    std = math.sqrt(variance)
    # |√a − √b| = |a − b| / (√a + √b), with the true variance at least variance − error
    denominator = std + math.sqrt(max(variance - variance_error, 0.0))
    std_error = math.sqrt(variance_error)
    if denominator > 0:
        std_error = min(std_error, variance_error / denominator)
    return mean_error, std, std_error


class _Reader:
    """Brackets of order statistics and of counts below a value, from one numeric summary."""

    def __init__(self, summary: NumericSummary, sketch: bool) -> None:
        self.n = summary.finite
        self.low, self.high = summary.minimum, summary.maximum
        self.edges = summary.edges
        self.at_or_below = np.cumsum(summary.counts)[:-1]  # exact rows <= each edge
        self.values = summary.distinct_values
        self.items, self.ranks = _items(summary)  # ranks: the sketch's rows <= each item
        self.error = summary.sketch.normalized_rank_error(False) * self.n if sketch else math.inf

    def order_statistic(self, j: int) -> tuple[float, float, float]:
        """The ``j``-th smallest finite value (from 0): estimate, lowest and highest possible."""
        if j == 0:
            return self.low, self.low, self.low
        if j == self.n - 1:
            return self.high, self.high, self.high
        rank = j + 1
        below, above = -math.inf, math.inf  # x_j > below, x_j <= above
        edge = np.searchsorted(self.at_or_below, rank, side="left")
        if edge < self.edges.size:
            above = self.edges[edge]
        if edge > 0:
            below = self.edges[edge - 1]
        if math.isfinite(self.error):
            first = np.searchsorted(self.ranks, rank + self.error, side="left")
            if first < self.items.size:
                above = min(above, self.items[first])
            last = np.searchsorted(self.ranks, rank - self.error, side="left") - 1
            if last >= 0:
                below = max(below, self.items[last])
        lowest, highest = max(self.low, below), min(self.high, above)
        if self.values is not None:  # x_j is one of the kept values
            last = self.values.size - 1
            first = min(np.searchsorted(self.values, below, side="right"), last)
            lowest = max(self.values[first], self.low)
            final = max(np.searchsorted(self.values, highest, side="right") - 1, 0)
            highest = self.values[final]
        if lowest > highest:  # the sketch missed its bound: keep what the exact counts say
            return self._without_sketch(j)
        estimate = self.items[min(np.searchsorted(self.ranks, rank), self.items.size - 1)]
        return float(min(max(estimate, lowest), highest)), float(lowest), float(highest)

    def _without_sketch(self, j: int) -> tuple[float, float, float]:
        error, self.error = self.error, math.inf
        try:
            return self.order_statistic(j)
        finally:
            self.error = error

    def quantile(self, q: float) -> tuple[float, float]:
        """numpy's linear quantile: estimate and bound."""
        position = (self.n - 1) * q
        below = math.floor(position)
        above = min(below + 1, self.n - 1)
        t = position - below
        first, second = self.order_statistic(below), self.order_statistic(above)
        estimate, lowest, highest = (_lerp(first[i], second[i], t) for i in range(3))
        bound = max(estimate - lowest, highest - estimate, 0.0)
        if bound > 0:  # the interpolation rounds: a few ulps of slack
            bound += 4 * _ULP * max(abs(lowest), abs(highest))
        return estimate, bound

    def below(self, value: float) -> tuple[int, int, int]:
        """Rows strictly below ``value``: estimate, fewest and most possible."""
        if value <= self.low:
            return 0, 0, 0
        if value > self.high:
            return self.n, self.n, self.n
        below_top = math.nextafter(value, -math.inf)  # the largest value that counts
        bottom = value  # the smallest value that does not count
        if self.values is not None:
            below_top = self.values[np.searchsorted(self.values, value, side="left") - 1]
            bottom = self.values[min(np.searchsorted(self.values, value), self.values.size - 1)]
            bottom = bottom if bottom >= value else math.inf
        fewest, most = 0, self.n
        edge = np.searchsorted(self.edges, bottom, side="left") - 1  # last edge < bottom
        if edge >= 0:
            fewest = int(self.at_or_below[edge])
        edge = np.searchsorted(self.edges, below_top, side="left")  # first edge >= below_top
        if edge < self.edges.size:
            most = int(self.at_or_below[edge])
        item = np.searchsorted(self.items, value, side="left")  # items below value
        estimate = int(self.ranks[item - 1]) if item > 0 else 0
        if math.isfinite(self.error):
            sketch_low = math.ceil(estimate - self.error)
            sketch_high = math.floor(estimate + self.error)
            if max(fewest, sketch_low) <= min(most, sketch_high):
                fewest, most = max(fewest, sketch_low), min(most, sketch_high)
        return min(max(estimate, fewest), most), fewest, most

    def histogram(self, bins: int) -> tuple[Histogram, float]:
        """The equal-width histogram over [min, max] and the largest error of a bin's count."""
        edges = sorted_histogram(np.array([self.low, self.high]), bins).edges
        cumulative, errors = [], []
        for value in edges[:-1]:
            estimate, fewest, most = self.below(value)
            cumulative.append(estimate)
            errors.append(max(estimate - fewest, most - estimate))
        cumulative.append(self.n)
        errors.append(0)
        counts = np.diff(cumulative)
        bin_errors = np.add(errors[:-1], errors[1:])
        return Histogram(edges, tuple(int(c) for c in counts)), float(bin_errors.max())


def _lerp(low: float, high: float, t: float) -> float:
    """numpy's two-sided linear interpolation, as ``profile.sorted_quantile``."""
    return low + (high - low) * t if t < 0.5 else high - (high - low) * (1 - t)


def _categorical(name: str, summary: CategorySummary, top_k: int) -> ColumnStatistics:
    rows = sum(summary.rows_per_category.values())
    values = list(summary.rows_per_value)
    counts = np.array([summary.rows_per_value[value] for value in values], dtype=np.int64)
    return categorical_record(name, rows, values, counts, top_k)
