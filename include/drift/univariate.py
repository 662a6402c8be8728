"""Univariate drift: each feature of a batch against the model's reference profile, on all rows.

Numeric features get the Kolmogorov–Smirnov test, the Wasserstein distance (also divided by the
reference's spread: the effect size) and the PSI over the reference's deciles, all on finite
values (missing and infinite values are counted apart). Categorical features get the chi-square
test on counts, the Jensen–Shannon distance (the effect size) and the PSI, on categories grouped
as :mod:`include.drift.categories` says (missing values a category of their own, rare ones
``(other)``, unseen ones ``(new)``), with new and vanished categories listed. Every feature's
missing share is compared by a two-proportion test and Cohen's h. One multiple-testing correction
is applied across all these p-values together; a feature is flagged when a change is both
significant and material, as :mod:`include.drift.rule` says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from include.drift.categories import group_categories
from include.drift.columns import (
    MISSING_CATEGORY,
    check_features,
    count_categories,
    read_numeric,
)
from include.drift.feature_drift import FeatureDrift
from include.drift.reference import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    build_reference_profile,
)
from include.drift.rule import DriftRule
from include.drift.stats.binning import bin_shares
from include.drift.stats.chi_square import chi_square_counts
from include.drift.stats.corrections import adjust_pvalues
from include.drift.stats.ecdf import joint_ecdf
from include.drift.stats.jensen_shannon import jensen_shannon_distance
from include.drift.stats.ks import ks_two_sample
from include.drift.stats.proportions import two_proportions
from include.drift.stats.psi import decile_psi, population_stability_index
from include.drift.stats.wasserstein import reference_spread, wasserstein_distance
from include.errors import EmptyBatchError

__all__ = [
    "DriftRule",
    "FeatureDrift",
    "ReferenceProfile",
    "apply_rule",
    "build_reference_profile",
    "categorical_drift",
    "numeric_drift",
    "univariate_drift",
]

TOP_CATEGORIES = 20
"""A categorical histogram shows this many categories at most; the rest are ``(others)``."""
OTHERS = "(others)"
_UNTRUSTED = "the effect size is mostly chance and is not used"
LISTED_CATEGORIES = 100
"""New and vanished categories listed at most (most frequent first); the counts say how many."""


def univariate_drift(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    *,
    rule: DriftRule | None = None,
    **settings: Any,
) -> list[FeatureDrift]:
    """Drift of every feature of ``profile`` in ``current`` (all rows), in the profile's order.

    ``rule`` holds the thresholds (:class:`DriftRule` defaults when None); keyword ``settings``
    (``alpha=0.01``, ``correction="holm"``, …) replace single fields of it. Raises
    :class:`DataValidationError` naming a feature that is absent from ``current`` or holds
    non-numbers where numbers are expected, :class:`EmptyBatchError` for a batch without rows,
    and ValueError for settings out of range.
    """
    rule = replace(rule or DriftRule(), **settings)
    check_features(current, list(profile.features), "current")
    if len(current) == 0:
        raise EmptyBatchError("the current batch has no rows: there is no drift to measure")
    measured = [_numeric_drift(f, current[f.name]) for f in profile.numeric]
    measured += [
        categorical_drift(f, count_categories(current[f.name]), rule) for f in profile.categorical
    ]
    return apply_rule(measured, rule)


def apply_rule(measured: list[FeatureDrift], rule: DriftRule) -> list[FeatureDrift]:
    """Flag measured features by ``rule``: the correction across every distribution and
    missing-share p-value together, then significance and materiality per feature. Reads only
    the raw statistics, so it may be applied again with another rule."""
    raw = [math.nan if d.pvalue is None else d.pvalue for d in measured]
    raw += [math.nan if d.missing_pvalue is None else d.missing_pvalue for d in measured]
    adjusted = adjust_pvalues(np.array(raw, dtype=np.float64), rule.correction)
    count = len(measured)
    return [
        _flagged(drift, adjusted[i], adjusted[count + i], rule) for i, drift in enumerate(measured)
    ]


def _missing_test(
    reference_missing: int, reference_rows: int, current_missing: int, current_rows: int
) -> dict:
    """The missing share's change: difference, Cohen's h and the two-proportion p-value (None
    when neither side has a missing value, or both have only: nothing to test, and nothing to
    count in the multiple-testing correction)."""
    test = two_proportions(reference_missing, reference_rows, current_missing, current_rows)
    nothing_to_test = reference_missing + current_missing in (0, reference_rows + current_rows)
    return {
        "missing_share_change": test.difference,
        "missing_effect_size": test.cohens_h,
        "missing_pvalue": None if nothing_to_test else test.pvalue,
    }


class DistributionComparison(NamedTuple):
    """The statistics comparing a numeric feature's finite values on both sides."""

    ks_statistic: float
    ks_pvalue: float
    wasserstein: float
    psi: float


def _numeric_drift(reference: NumericReference, series: pd.Series) -> FeatureDrift:
    column = read_numeric(series, reference.name)
    ref, cur = reference.values, column.values
    comparison = None
    if ref.size and cur.size:
        ecdf = joint_ecdf(ref, cur)  # merged once, read by both the KS test and the distance
        ks = ks_two_sample(ref, cur, ecdf=ecdf)
        wasserstein = wasserstein_distance(ref, cur, ecdf=ecdf)
        comparison = DistributionComparison(
            ks.statistic, ks.pvalue, wasserstein, decile_psi(ref, cur)[0]
        )
    return numeric_drift(
        reference,
        rows=column.rows,
        missing=column.missing,
        infinite=column.infinite,
        histogram_shares=bin_shares(cur, reference.histogram_edges) if cur.size else None,
        comparison=comparison,
    )


def numeric_drift(
    reference: NumericReference,
    *,
    rows: int,
    missing: int,
    infinite: int,
    histogram_shares: np.ndarray | None,
    comparison: DistributionComparison | None,
) -> FeatureDrift:
    """A numeric feature's drift, before the rule, from what is known of the current batch: its
    row, missing and infinite counts, the shares of its finite values in the reference's display
    bins and the statistics comparing them with the reference's (both None when a side holds no
    finite value). Shared with the streaming path (:mod:`include.streaming.drift`), which reads
    all of it off summaries."""
    common: dict[str, Any] = {
        "feature": reference.name,
        "kind": "numeric",
        "reference_rows": reference.rows,
        "current_rows": rows,
        "reference_missing_share": reference.missing / reference.rows,
        "current_missing_share": missing / rows,
        "reference_infinite": reference.infinite,
        "current_infinite": infinite,
        "histogram": _numeric_histogram(reference, histogram_shares),
        **_missing_test(reference.missing, reference.rows, missing, rows),
    }
    finite = (("reference", reference.values.size), ("current batch", rows - missing - infinite))
    empty = [side for side, size in finite if not size]
    if bool(empty) != (comparison is None):
        raise ValueError("a comparison is given exactly when both sides hold finite values")
    if comparison is None:
        return FeatureDrift(
            **common,
            note=f"no finite value in the {' nor in the '.join(empty)} (all missing or "
            "infinite): the distribution cannot be compared; its missing share can",
        )
    spread = reference_spread(reference.values)
    notes = []
    if reference.values[0] == reference.values[-1]:
        notes.append(
            "the reference holds a single value, so the deciles collapse to one edge and any "
            "change of value is material"
        )
    return FeatureDrift(
        **common,
        **comparison._asdict(),
        effect_size=None if spread is None else comparison.wasserstein / spread[0],
        effect_size_measure="wasserstein / reference "
        + ("spread (constant)" if spread is None else spread[1]),
        note="; ".join(notes) or None,
    )


def categorical_drift(
    reference: CategoricalReference, current_counts: Mapping[str, int], rule: DriftRule
) -> FeatureDrift:
    """A categorical feature's drift, before the rule, from the current batch's rows per
    category (``count_categories``: most frequent first, missing values ``(missing)``). Shared
    with the streaming path, whose category summaries hold these counts exactly."""
    rows = sum(current_counts.values())
    reference_counts = dict(zip(reference.categories, reference.counts, strict=True))
    new = [c for c in current_counts if c not in reference_counts]  # most frequent first
    categories = [*reference.categories, *new]
    ref = np.array([reference_counts.get(c, 0) for c in categories], dtype=np.int64)
    cur = np.array([current_counts.get(c, 0) for c in categories], dtype=np.int64)
    grouped = group_categories(
        reference_counts,
        current_counts,
        rare_share=rule.rare_category_share,
        max_categories=rule.max_categories,
    )
    chi2 = chi_square_counts(grouped.reference, grouped.current)
    group_ref = grouped.reference / grouped.reference.sum()
    group_cur = grouped.current / grouped.current.sum()
    notes = []
    if len(categories) == 1:
        notes.append("a single category on both sides: there is nothing to compare")
    reference_missing = reference_counts.get(MISSING_CATEGORY, 0)
    current_missing = current_counts.get(MISSING_CATEGORY, 0)
    vanished = [c for c in reference.categories if c not in current_counts]
    return FeatureDrift(
        feature=reference.name,
        kind="categorical",
        reference_rows=reference.rows,
        current_rows=rows,
        reference_missing_share=reference_missing / reference.rows,
        current_missing_share=current_missing / rows,
        chi2_statistic=chi2.statistic,
        chi2_pvalue=chi2.pvalue,
        chi2_dof=chi2.dof,
        psi=population_stability_index(group_ref, group_cur),
        jensen_shannon=jensen_shannon_distance(group_ref, group_cur),
        effect_size=jensen_shannon_distance(group_ref, group_cur),
        effect_size_measure="jensen-shannon distance",
        new_categories=tuple(new[:LISTED_CATEGORIES]),
        new_category_count=len(new),
        new_share=sum(current_counts[c] for c in new) / rows,
        vanished_categories=tuple(vanished[:LISTED_CATEGORIES]),
        histogram=_category_histogram(categories, ref / ref.sum(), cur / cur.sum()),
        note="; ".join(notes) or None,
        **_missing_test(reference_missing, reference.rows, current_missing, rows),
    )


def _numeric_histogram(reference: NumericReference, current: np.ndarray | None) -> dict | None:
    """Shares of the finite values in the reference's display bins (None without any), given
    the current batch's shares (None without any finite value)."""
    if not reference.values.size:
        return None
    return {
        "edges": [-math.inf, *reference.histogram_edges.tolist(), math.inf],
        "reference": reference.histogram_shares.tolist(),
        "current": None if current is None else current.tolist(),
    }


def _category_histogram(
    categories: list[str], reference: np.ndarray, current: np.ndarray
) -> dict[str, list]:
    """The largest categories by reference + current share, the rest summed as ``(others)``."""
    order = np.argsort(-(reference + current), kind="stable")
    top, rest = order[:TOP_CATEGORIES], order[TOP_CATEGORIES:]
    histogram = {
        "categories": [categories[i] for i in top],
        "reference": reference[top].tolist(),
        "current": current[top].tolist(),
    }
    if rest.size:
        histogram["categories"].append(OTHERS)
        histogram["reference"].append(float(reference[rest].sum()))
        histogram["current"].append(float(current[rest].sum()))
    return histogram


def _flagged(
    drift: FeatureDrift, pvalue: float, missing_pvalue: float, rule: DriftRule
) -> FeatureDrift:
    """Apply the rule to both changes of a feature (:mod:`include.drift.rule`)."""
    adjusted = None if math.isnan(pvalue) else float(pvalue)
    missing_adjusted = None if math.isnan(missing_pvalue) else float(missing_pvalue)
    rows = (drift.reference_rows, drift.current_rows)
    values = rows if drift.kind == "categorical" else _finite_values(drift)
    # the distribution's effect size reads the values compared, the missing share's all rows
    trusted = rule.trusts_effect_size(*values) if adjusted is not None else True
    missing_trusted = rule.trusts_effect_size(*rows)
    significant = adjusted is not None and adjusted <= rule.alpha
    material = None
    if trusted and drift.effect_size is not None:
        threshold = (
            rule.wasserstein_threshold if drift.kind == "numeric" else rule.jensen_shannon_threshold
        )
        material = drift.effect_size >= threshold
    elif trusted and drift.wasserstein is not None:  # a constant reference: any change counts
        material = drift.wasserstein > 0
    distribution_drifted = significant and material is not False
    missing_significant = missing_adjusted is not None and missing_adjusted <= rule.alpha
    missing_material = abs(drift.missing_effect_size) >= rule.missing_threshold
    missing_drifted = missing_significant and (missing_material or not missing_trusted)
    notes = [part for part in (drift.note or "").split("; ") if part and _UNTRUSTED not in part]
    if not (trusted and missing_trusted):
        what, sizes = ("finite values", values) if not trusted else ("rows", rows)
        if drift.kind == "categorical":
            what = "rows"
        notes.append(
            f"only {sizes[0]:,} {what} in the reference and {sizes[1]:,} in the current batch "
            f"(worth fewer than {rule.min_rows_for_effect_size:,} a side): {_UNTRUSTED}, the "
            "flag rests on the p-value alone"
        )
    return replace(
        drift,
        pvalue_adjusted=adjusted,
        missing_pvalue_adjusted=missing_adjusted,
        pvalue_drifted=significant,
        material=material,
        distribution_drifted=distribution_drifted,
        missing_drifted=missing_drifted,
        psi_drifted=drift.psi is not None and drift.psi > rule.psi_threshold,
        drifted=distribution_drifted or missing_drifted,
        effect_size_trusted=trusted and missing_trusted,
        flag_basis="significance and effect size"
        if trusted and missing_trusted
        else "significance alone",
        note="; ".join(notes) or None,
    )


def _finite_values(drift: FeatureDrift) -> tuple[int, int]:
    """Finite values compared on each side of a numeric feature."""
    return tuple(
        round(rows * (1 - missing)) - (infinite or 0)
        for rows, missing, infinite in (
            (drift.reference_rows, drift.reference_missing_share, drift.reference_infinite),
            (drift.current_rows, drift.current_missing_share, drift.current_infinite),
        )
    )
