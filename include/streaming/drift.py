"""Univariate drift of a batch from its summaries: the ``FeatureDrift`` of ``univariate_drift``.

:func:`summary_drift` reads each feature's drift off the mergeable summaries of a batch
(:class:`~include.streaming.partition.BatchSummary`'s ``numeric`` and ``categorical``) and the
reference profile, through the record builders of the in-memory path (``numeric_drift``,
``categorical_drift`` of :mod:`include.drift.univariate`) and its ``apply_rule``.

Exact: every categorical statistic (the summaries hold the counts), the missing-share tests, the
numeric display histogram and the decile PSI (their edges are among the summaries' edges).
Within a bound: the KS statistic and the Wasserstein distance
(:mod:`include.streaming.comparisons`), and what follows from them: the KS p-value, the effect
size, the adjusted p-values (the correction mixes every feature's p-value) and the flags. The
bounds are returned beside the records, so a reader knows which numbers and which flags the
streaming path could not settle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from include.drift.reference import NumericReference, ReferenceProfile
from include.drift.rule import DriftRule
from include.drift.stats.ks import EXACT_MAX_SIZE, kstwo_sf
from include.drift.stats.wasserstein import reference_spread
from include.drift.univariate import (
    DistributionComparison,
    FeatureDrift,
    apply_rule,
    categorical_drift,
    numeric_drift,
)
from include.errors import ConfigurationError, DataValidationError, EmptyBatchError
from include.streaming.columns import CategorySummary, NumericSummary, reference_edges
from include.streaming.comparisons import summary_decile_psi, summary_ks, summary_wasserstein

FLAGS = ("pvalue_drifted", "material", "distribution_drifted", "missing_drifted", "drifted")
"""The flags of ``apply_rule`` that an inexact statistic can move."""

Bounds = dict[str, dict[str, float]]


class _Measured(NamedTuple):
    """A feature's unflagged record, and the same with every inexact statistic at the end of its
    bound that makes the feature look least drifted and most drifted."""

    drift: FeatureDrift
    least: FeatureDrift
    most: FeatureDrift
    bounds: dict[str, float]


def summary_drift(
    profile: ReferenceProfile,
    numeric: Mapping[str, NumericSummary],
    categorical: Mapping[str, CategorySummary],
    rule: DriftRule | None = None,
    **settings: Any,
) -> tuple[list[FeatureDrift], Bounds]:
    """``univariate_drift(profile, batch, rule=rule, **settings)`` from the batch's summaries.

    ``numeric`` and ``categorical`` hold a summary per feature of ``profile`` (more are
    ignored), each numeric one on the edges ``reference_edges`` gives for the profile. Returns
    the records, flagged by ``apply_rule``, and the bounds: feature → field → the largest
    distance between the value returned and the in-memory one. A numeric feature whose two sides
    hold finite values has ``ks_statistic``, ``ks_pvalue``, ``wasserstein`` and ``effect_size``;
    any feature has ``pvalue_adjusted`` or ``missing_pvalue_adjusted`` when the correction can
    carry another feature's uncertainty into it, and a flag of :data:`FLAGS` with the bound 1.0
    when a statistic within its bound of a threshold could turn it (``apply_rule`` gives one
    value of the flag at each end of the bounds; the in-memory flag is one of the two, since the
    rule and the correction are monotone). Fields not listed are exact. The bounds hold with the
    confidence :mod:`include.streaming.comparisons` states.

    The KS p-value is ``kstwo_sf`` of the statistic, as in memory when a side holds more than
    10,000 finite values; when neither does, the in-memory path uses the exact distribution,
    which a summary cannot reproduce, and ``ks_pvalue``'s bound reaches both 0 and 1.

    Raises DataValidationError when a feature has no summary or the summaries count different
    rows, EmptyBatchError for a batch without rows, ConfigurationError for summaries on other
    edges than the profile's.
    """
    rule = replace(rule or DriftRule(), **settings)
    absent = [f.name for f in profile.numeric if f.name not in numeric]
    absent += [f.name for f in profile.categorical if f.name not in categorical]
    if absent:
        raise DataValidationError(
            f"the batch summary has no summary of feature(s) {absent}: summarise the batch with "
            "the features of the reference profile"
        )
    rows = {numeric[f.name].rows for f in profile.numeric}
    rows |= {sum(categorical[f.name].rows_per_category.values()) for f in profile.categorical}
    if len(rows) > 1:
        raise DataValidationError(
            f"the feature summaries count different rows ({sorted(rows)}): they are not of one "
            "batch; merge the same partitions for every feature"
        )
    if rows == {0}:
        raise EmptyBatchError("the current batch has no rows: there is no drift to measure")
    measured = [_numeric(f, numeric[f.name]) for f in profile.numeric]
    measured += [
        _exact(categorical_drift(f, categorical[f.name].counts(), rule))
        for f in profile.categorical
    ]
    flagged = apply_rule([m.drift for m in measured], rule)
    least = apply_rule([m.least for m in measured], rule)
    most = apply_rule([m.most for m in measured], rule)
    bounds: Bounds = {}
    for drift, low, high, entry in zip(flagged, least, most, measured, strict=True):
        feature = dict(entry.bounds)
        for name in ("pvalue_adjusted", "missing_pvalue_adjusted"):
            distance = _distance(getattr(drift, name), getattr(low, name), getattr(high, name))
            if distance > 0:
                feature[name] = distance
        feature |= {name: 1.0 for name in FLAGS if getattr(low, name) != getattr(high, name)}
        if feature:
            bounds[drift.feature] = feature
    return flagged, bounds


def reference_summary(reference: NumericReference) -> NumericSummary:
    """The summary of a numeric feature's reference values on its own edges: the counts and
    moments exact, the sketch as any summary's. Built from the profile's sorted values, with its
    row, missing and infinite counts."""
    summary = NumericSummary.empty(reference.name, reference_edges(reference))
    summary.update(pd.Series(reference.values, copy=False))
    summary.rows, summary.missing = reference.rows, reference.missing
    summary.infinite = reference.infinite
    return summary


def _numeric(reference: NumericReference, current: NumericSummary) -> _Measured:
    """A numeric feature's record from its summary, with the ends of its bounds."""
    counts = {"rows": current.rows, "missing": current.missing, "infinite": current.infinite}
    shares = _shares(current, reference.histogram_edges) if current.finite else None
    if not (reference.values.size and current.finite):
        drift = numeric_drift(reference, **counts, histogram_shares=shares, comparison=None)
        return _exact(drift)
    ref = reference_summary(reference)
    ks = summary_ks(ref, current)
    wasserstein = summary_wasserstein(ref, current)
    psi = summary_decile_psi(ref, current, reference.decile_edges)
    comparison = DistributionComparison(ks.statistic, ks.pvalue, wasserstein.value, psi)
    drift = numeric_drift(reference, **counts, histogram_shares=shares, comparison=comparison)
    sizes = (ref.finite, current.finite)
    low_d, high_d = max(ks.statistic - ks.bound, 0.0), min(ks.statistic + ks.bound, 1.0)
    if max(sizes) > EXACT_MAX_SIZE:
        p_high, p_low = _ks_pvalue(low_d, *sizes), _ks_pvalue(high_d, *sizes)
    else:
        p_high, p_low = 1.0, 0.0
    spread = reference_spread(reference.values)
    scale = None if spread is None else spread[0]
    low_w = max(wasserstein.value - wasserstein.bound, 0.0)
    high_w = wasserstein.value + wasserstein.bound
    least = _at(drift, low_d, p_high, low_w, scale)
    most = _at(drift, high_d, p_low, high_w, scale)
    bounds = {
        "ks_statistic": ks.bound,
        "ks_pvalue": _distance(ks.pvalue, p_low, p_high),
        "wasserstein": wasserstein.bound,
    }
    if scale is not None:
        bounds["effect_size"] = wasserstein.bound / scale
    return _Measured(drift, least, most, bounds)


def _at(
    drift: FeatureDrift, statistic: float, pvalue: float, wasserstein: float, scale: float | None
) -> FeatureDrift:
    """The record with the KS test and the distance at one end of their bounds."""
    return replace(
        drift,
        ks_statistic=statistic,
        ks_pvalue=pvalue,
        wasserstein=wasserstein,
        effect_size=None if scale is None else wasserstein / scale,
    )


def _exact(drift: FeatureDrift) -> _Measured:
    return _Measured(drift, drift, drift, {})


def _ks_pvalue(statistic: float, reference_size: int, current_size: int) -> float:
    """``kstwo_sf`` at the effective size, as ``ks_two_sample`` and ``summary_ks``."""
    larger, smaller = sorted([float(reference_size), float(current_size)], reverse=True)
    return kstwo_sf(statistic, float(np.round(larger * smaller / (larger + smaller))))


def _shares(summary: NumericSummary, edges: np.ndarray) -> np.ndarray:
    """Shares of the summary's finite values in the right-closed bins of ``edges`` (among the
    summary's edges): ``bin_shares`` of its values, exactly."""
    position = np.searchsorted(summary.edges, edges)
    if position.size and (
        position.max() >= summary.edges.size or not np.array_equal(summary.edges[position], edges)
    ):
        raise ConfigurationError(
            f"feature {summary.name!r}: the display-histogram edges are not among the summary's "
            "edges; summarise the batch with reference_edges of the same reference profile"
        )
    cumulative = np.concatenate(([0], np.cumsum(summary.counts)))
    closed = np.concatenate(([0], cumulative[position + 1], [summary.finite]))
    return np.diff(closed) / summary.finite


def _distance(value: float | None, *ends: float | None) -> float:
    """The largest distance from ``value`` to either end (0 when they are None)."""
    if value is None:
        return 0.0
    return max(abs(end - value) for end in ends if end is not None)
