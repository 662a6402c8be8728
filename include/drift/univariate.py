"""Univariate drift: each feature of a batch against the model's reference profile, on all rows.

Numeric features get the Kolmogorov–Smirnov test, the Wasserstein distance and the PSI over the
reference's deciles, all on finite values (missing and infinite values are counted apart).
Categorical features get the chi-square test on counts and the PSI over categories, missing
values being a category of their own, with new and vanished categories listed. One
multiple-testing correction is applied across all features' p-values together. A feature is
flagged when its adjusted p-value is at most ``alpha`` or its PSI exceeds ``psi_threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from include.drift.columns import (
    MISSING_CATEGORY,
    check_features,
    count_categories,
    read_numeric,
)
from include.drift.reference import (
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    build_reference_profile,
)
from include.drift.stats.binning import bin_shares
from include.drift.stats.chi_square import chi_square_counts
from include.drift.stats.corrections import CORRECTIONS, Correction, adjust_pvalues
from include.drift.stats.ecdf import joint_ecdf
from include.drift.stats.ks import ks_two_sample
from include.drift.stats.psi import decile_psi, population_stability_index
from include.drift.stats.wasserstein import wasserstein_distance
from include.errors import EmptyBatchError

__all__ = [
    "FeatureDrift",
    "ReferenceProfile",
    "build_reference_profile",
    "univariate_drift",
]

TOP_CATEGORIES = 20
"""A categorical histogram shows this many categories at most; the rest are ``(others)``."""
OTHERS = "(others)"
SMALL_SAMPLE = 100
"""Below this many values on a side, the result carries a note: the PSI is noisy."""


@dataclass(frozen=True, kw_only=True)
class FeatureDrift:
    """The drift of one feature between the reference and the current batch.

    Numeric features fill ``ks_statistic``/``ks_pvalue`` (small p = drift), ``wasserstein``
    (feature units, large = drift) and ``psi`` over the reference deciles, on finite values;
    ``*_infinite`` count the ±inf values left out. Categorical features fill
    ``chi2_statistic``/``chi2_pvalue``/``chi2_dof`` and ``psi`` over categories, and list
    ``new_categories`` (in the batch, not in the reference; most frequent first) and
    ``vanished_categories``. A statistic that cannot be computed (no finite value on a side) is
    None and ``note`` says why; ``note`` also warns of samples too small to read the PSI.

    ``pvalue_adjusted`` is the test's p-value after the multiple-testing correction (the raw one
    when the correction is ``none``). ``pvalue_drifted``: adjusted p ≤ alpha; ``psi_drifted``:
    PSI > threshold; ``drifted``: either.

    ``histogram`` compares the shares of reference and current. Numeric: ``edges`` (23 values,
    the first −inf and the last +inf: the outer bins are open; bins closed on the right),
    ``reference`` and ``current`` (22 shares of the finite values; ``current`` None without
    any). Categorical: ``categories`` (the at most 20 with the largest reference + current share,
    then ``(others)`` when some are left out), ``reference`` and ``current`` (shares of all
    rows). ``to_dict`` gives JSON-ready values: lists, plain floats, None for NaN and ±inf.
    """

    feature: str
    kind: Literal["numeric", "categorical"]
    reference_rows: int
    current_rows: int
    reference_missing_share: float
    current_missing_share: float
    reference_infinite: int | None = None
    current_infinite: int | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    psi: float | None = None
    chi2_statistic: float | None = None
    chi2_pvalue: float | None = None
    chi2_dof: int | None = None
    pvalue_adjusted: float | None = None
    new_categories: tuple[str, ...] = ()
    vanished_categories: tuple[str, ...] = ()
    pvalue_drifted: bool = False
    psi_drifted: bool = False
    drifted: bool = False
    histogram: Mapping[str, Any] | None = None
    note: str | None = None

    @property
    def pvalue(self) -> float | None:
        """The raw p-value of the feature's test (KS or chi-square), before any correction."""
        return self.ks_pvalue if self.kind == "numeric" else self.chi2_pvalue

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values."""
        return {field.name: _plain(getattr(self, field.name)) for field in fields(self)}


def univariate_drift(
    profile: ReferenceProfile,
    current: pd.DataFrame,
    *,
    alpha: float = 0.05,
    psi_threshold: float = 0.2,
    correction: Correction = "none",
) -> list[FeatureDrift]:
    """Drift of every feature of ``profile`` in ``current`` (all rows), in the profile's order.

    Raises :class:`DataValidationError` naming a feature that is absent from ``current`` or
    holds non-numbers where numbers are expected, :class:`EmptyBatchError` for a batch without
    rows, and ValueError for settings out of range.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    if not psi_threshold > 0:
        raise ValueError(f"psi_threshold must be > 0, got {psi_threshold}")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}")
    check_features(current, list(profile.features), "current")
    if len(current) == 0:
        raise EmptyBatchError("the current batch has no rows: there is no drift to measure")
    measured = [_numeric_drift(f, current[f.name]) for f in profile.numeric]
    measured += [_categorical_drift(f, current[f.name]) for f in profile.categorical]
    raw = [math.nan if d.pvalue is None else d.pvalue for d in measured]
    adjusted = adjust_pvalues(np.array(raw, dtype=np.float64), correction)
    return [
        _flagged(drift, pvalue, alpha, psi_threshold)
        for drift, pvalue in zip(measured, adjusted, strict=True)
    ]


def _numeric_drift(reference: NumericReference, series: pd.Series) -> FeatureDrift:
    column = read_numeric(series, reference.name)
    ref, cur = reference.values, column.values
    common: dict[str, Any] = {
        "feature": reference.name,
        "kind": "numeric",
        "reference_rows": reference.rows,
        "current_rows": column.rows,
        "reference_missing_share": reference.missing / reference.rows,
        "current_missing_share": column.missing / column.rows,
        "reference_infinite": reference.infinite,
        "current_infinite": column.infinite,
        "histogram": _numeric_histogram(reference, cur),
    }
    empty = [
        side for side, values in (("reference", ref), ("current batch", cur)) if not values.size
    ]
    if empty:
        return FeatureDrift(
            **common,
            note=f"no finite value in the {' nor in the '.join(empty)} (all missing or "
            "infinite): the statistics cannot be computed",
        )
    ecdf = joint_ecdf(ref, cur)  # merged once, read by both the KS test and the distance
    ks = ks_two_sample(ref, cur, ecdf=ecdf)
    wasserstein = wasserstein_distance(ref, cur, ecdf=ecdf)
    psi, _ = decile_psi(ref, cur)
    notes = []
    if ref[0] == ref[-1]:
        notes.append("the reference holds a single value, so the deciles collapse to one edge")
    notes += _small_sample_notes(ref.size, cur.size, "finite values")
    return FeatureDrift(
        **common,
        ks_statistic=ks.statistic,
        ks_pvalue=ks.pvalue,
        wasserstein=wasserstein,
        psi=psi,
        note="; ".join(notes) or None,
    )


def _categorical_drift(reference: CategoricalReference, series: pd.Series) -> FeatureDrift:
    current_counts = count_categories(series)
    reference_counts = dict(zip(reference.categories, reference.counts, strict=True))
    new = tuple(c for c in current_counts if c not in reference_counts)
    categories = [*reference.categories, *new]
    ref = np.array([reference_counts.get(c, 0) for c in categories], dtype=np.int64)
    cur = np.array([current_counts.get(c, 0) for c in categories], dtype=np.int64)
    chi2 = chi_square_counts(ref, cur)
    ref_shares, cur_shares = ref / ref.sum(), cur / cur.sum()
    notes = []
    if len(categories) == 1:
        notes.append("a single category on both sides: there is nothing to compare")
    notes += _small_sample_notes(int(ref.sum()), int(cur.sum()), "rows")
    return FeatureDrift(
        feature=reference.name,
        kind="categorical",
        reference_rows=reference.rows,
        current_rows=len(series),
        reference_missing_share=reference_counts.get(MISSING_CATEGORY, 0) / reference.rows,
        current_missing_share=current_counts.get(MISSING_CATEGORY, 0) / len(series),
        chi2_statistic=chi2.statistic,
        chi2_pvalue=chi2.pvalue,
        chi2_dof=chi2.dof,
        psi=population_stability_index(ref_shares, cur_shares),
        new_categories=new,
        vanished_categories=tuple(c for c in reference.categories if c not in current_counts),
        histogram=_category_histogram(categories, ref_shares, cur_shares),
        note="; ".join(notes) or None,
    )


def _numeric_histogram(reference: NumericReference, current: np.ndarray) -> dict | None:
    """Shares of the finite values in the reference's display bins (None without any)."""
    if not reference.values.size:
        return None
    return {
        "edges": [-math.inf, *reference.histogram_edges.tolist(), math.inf],
        "reference": reference.histogram_shares.tolist(),
        "current": bin_shares(current, reference.histogram_edges).tolist()
        if current.size
        else None,
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


def _small_sample_notes(reference_size: int, current_size: int, what: str) -> list[str]:
    return [
        f"only {size} {what} in the {side}: the PSI of so few is large by chance, read the p-value"
        for side, size in (("reference", reference_size), ("current batch", current_size))
        if size < SMALL_SAMPLE
    ]


def _flagged(drift: FeatureDrift, pvalue: float, alpha: float, threshold: float) -> FeatureDrift:
    adjusted = None if math.isnan(pvalue) else float(pvalue)
    pvalue_drifted = adjusted is not None and adjusted <= alpha
    psi_drifted = drift.psi is not None and drift.psi > threshold
    return replace(
        drift,
        pvalue_adjusted=adjusted,
        pvalue_drifted=pvalue_drifted,
        psi_drifted=psi_drifted,
        drifted=pvalue_drifted or psi_drifted,
    )


def _plain(value: Any) -> Any:
    """A value as JSON: numpy scalars unwrapped, tuples as lists, NaN and ±inf as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
