"""The drift report: one self-contained HTML page from the drift analysis stored with an evaluation.

This module shapes the analysis for the page: what each section shows, its numbers written for
reading (``report_format``) and its charts drawn (``report_charts``); the markup is the template
``include/templates/report/report.html``, its styles ``report.css`` inlined. The page opens offline
and fetches nothing, and has no script. Every string from the data (feature names, categories,
periods) is escaped by the template.

The analysis is read once into the typed :class:`~include.drift.document.DriftDocument`
(:meth:`~include.drift.document.StoredPart.read`), which accepts any stored form: a part that is
missing or does not fit reads as absent, and its section says "n/a" or is left out, never
crashes.

    html = render_drift_report(evaluation.drift_analysis)
    write_drift_report(analysis, Path("reports/2017Q4.html"))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from include.drift.document import (
    DriftDocument,
    FeatureRow,
    Histogram,
    MetricChange,
    PredictionDrift,
    Side,
    StoredDataDrift,
    StoredSettings,
)
from include.drift.report_charts import (
    COLOURS,
    Point,
    accuracy_gauge,
    categorical_histogram,
    importance_scatter,
    interval_whiskers,
    numeric_histogram,
    percent,
)
from include.drift.report_format import (
    NA,
    format_metric,
    format_number,
    format_pvalue,
    format_statistic,
)
from include.files import write_atomically
from include.templating import render_html

__all__ = ["format_pvalue", "render_drift_report", "sort_by_drift", "write_drift_report"]

MAX_LISTED_CATEGORIES = 6

_Feature = TypeVar("_Feature", FeatureRow, Mapping[str, Any])


# --- features ---------------------------------------------------------------------------------


def _is_drifted(feature: FeatureRow) -> bool:
    if feature.drifted is not None:
        return feature.drifted
    return feature.pvalue_drifted or feature.psi_drifted


def _drift_order(feature: FeatureRow | Mapping[str, Any]) -> tuple[bool, float]:
    row = feature if isinstance(feature, FeatureRow) else FeatureRow.read(feature)
    return (not _is_drifted(row), -row.psi if row.psi is not None else math.inf)


def sort_by_drift(features: Sequence[_Feature]) -> list[_Feature]:
    """Drifted features first, then by PSI, largest first; features without a PSI last. Takes
    the document's rows or stored ones (mappings, read as rows for the order)."""
    return sorted(features, key=_drift_order)


def _pvalue(feature: FeatureRow) -> float | None:
    candidates = (feature.pvalue_adjusted, feature.ks_pvalue, feature.chi2_pvalue)
    return next((p for p in candidates if p is not None), None)


def _test_statistic(feature: FeatureRow) -> str:
    if feature.ks_statistic is not None:
        return f"KS {format_statistic(feature.ks_statistic)}"
    if feature.chi2_statistic is not None:
        return f"χ² {format_number(feature.chi2_statistic)}"
    return NA


def _flags(feature: FeatureRow, settings: StoredSettings) -> list[tuple[str, str]]:
    """The feature's flags as (text, badge kind)."""
    alpha, psi_threshold = settings.alpha, settings.psi_threshold
    flags = []
    if feature.pvalue_drifted:
        flags.append((f"p ≤ {alpha:g}" if alpha else "p-value", "warn"))
    if feature.material is True:
        flags.append((f"material ({_effect_text(feature, settings)})", "warn"))
    elif feature.material is False and feature.pvalue_drifted:
        flags.append((f"not material ({_effect_text(feature, settings)})", "info"))
    if feature.flag_basis == "significance alone":
        flags.append(("significance alone: too few rows for an effect size", "info"))
    if feature.psi_drifted:
        flags.append((f"PSI > {psi_threshold:g}" if psi_threshold else "PSI", "info"))
    before, after = feature.reference_missing_share, feature.current_missing_share
    if before is not None and after is not None and abs(after - before) >= 0.01:
        kind = "warn" if feature.missing_drifted else "info"
        flags.append((f"missing {percent(before)} → {percent(after)}", kind))
    if feature.note:
        flags.append((feature.note, "info"))
    return flags


def _effect_text(feature: FeatureRow, settings: StoredSettings) -> str:
    """The effect size beside its threshold, e.g. "W/IQR 0.31 ≥ 0.1"."""
    numeric = feature.kind == "numeric"
    name = "W/IQR" if numeric else "JS"
    threshold = settings.wasserstein_threshold if numeric else settings.jensen_shannon_threshold
    value = feature.effect_size
    shown = f"{name} {format_statistic(value)}" if value is not None else name
    if threshold is None or value is None:
        return shown
    return f"{shown} {'≥' if value >= threshold else '<'} {threshold:g}"


def _category_list(values: Sequence[str]) -> dict[str, Any]:
    """The first categories to list, and how many more there are."""
    return {"shown": values[:MAX_LISTED_CATEGORIES], "more": len(values) - MAX_LISTED_CATEGORIES}


def _feature(feature: FeatureRow, settings: StoredSettings) -> dict[str, Any]:
    """One feature's row of the table and its histogram, as shown."""
    new = frozenset(feature.new_categories)
    pvalue = format_pvalue(_pvalue(feature))
    return {
        "name": feature.feature or NA,
        "kind": feature.kind,
        "drifted": _is_drifted(feature),
        "psi": format_statistic(feature.psi),
        "test": _test_statistic(feature),
        "pvalue": pvalue,
        "effect_size": format_statistic(feature.effect_size),
        "wasserstein": format_number(feature.wasserstein),
        "drift_importance": format_statistic(feature.drift_importance),
        "model_importance": format_statistic(feature.model_importance),
        "flags": _flags(feature, settings),
        "listed_new": _category_list(list(feature.new_categories)),
        "new": _category_list(sorted(new)) if new else None,
        "vanished": _category_list(list(feature.vanished_categories)),
        "stats": f"PSI {format_statistic(feature.psi)} · p {pvalue}",
        "chart": _histogram(feature.histogram, new),
    }


# --- sections ---------------------------------------------------------------------------------


def _header(
    document: DriftDocument, reference: Side, current: Side, settings: StoredSettings
) -> dict[str, Any]:
    thresholds = None
    if document.settings:  # any settings stored, even of another version
        effects = [
            ("W/IQR", settings.wasserstein_threshold),
            ("JS", settings.jensen_shannon_threshold),
            ("missing h", settings.missing_threshold),
        ]
        thresholds = {
            "alpha": format_number(settings.alpha),
            "correction": _correction(settings),
            "material": ", ".join(
                f"{name} ≥ {format_number(value)}" for name, value in effects if value is not None
            ),
        }
    streamed = current.streamed
    return {
        "model_version": reference.model_version or NA,
        "sides": [
            (name, side.period or NA, format_number(side.rows))
            for name, side in (("Reference", reference), ("Current", current))
        ],
        "thresholds": thresholds,
        "description": reference.description,
        # How a batch evaluated in chunks was read, and the flags its bounds leave undecided.
        "streamed": {
            "partitions": streamed.partitions or 1,
            "in_doubt": ", ".join(streamed.in_doubt),
        }
        if streamed
        else None,
        "small_reference": _small_reference(reference),
    }


def _correction(settings: StoredSettings) -> str | None:
    return None if settings.correction in (None, "none") else settings.correction


def _small_reference(reference: Side) -> dict[str, str] | None:
    """A warning that stands out when the reference is small, saying what that means."""
    if not reference.small:
        return None
    rows = format_number(reference.rows)
    note = reference.note or (
        f"the reference holds {rows} rows: the drift statistics compare against very few rows; "
        "only large changes can be told apart from chance"
    )
    return {"rows": rows, "note": note}


def _data_drift(data: StoredDataDrift | None, alpha: float) -> dict[str, Any] | None:
    if data is None:
        return None
    value, low, high, pvalue = data.value, data.ci_low, data.ci_high, data.pvalue
    details = [f"p-value {format_pvalue(pvalue)}"]
    if data.rows_per_side is not None:
        details.append(f"{format_number(data.rows_per_side)} rows per side")
    if data.test_rows is not None:
        details.append(f"accuracy on {format_number(data.test_rows)} held-out rows")
    return {
        "drifted": pvalue is not None and pvalue <= alpha,
        "value": NA if value is None else f"{value:.2f}",
        "interval": f"95 % CI {low:.2f}–{high:.2f}" if low is not None and high is not None else "",
        "gauge": accuracy_gauge(value, low, high) if value is not None else None,
        "verdict": data.verdict,
        "details": " · ".join(details),
    }


def _prediction(prediction: PredictionDrift | None) -> dict[str, Any] | None:
    if prediction is None:
        return None
    before, after = prediction.reference_positive_share, prediction.current_positive_share
    return {
        "drifted": prediction.drifted,
        "rows": [
            ("Predicted positives", f"{percent(before)} → {percent(after)}"),
            ("Class shares χ² p-value", format_pvalue(prediction.chi2_pvalue)),
            (
                "Probability KS",
                f"{format_statistic(prediction.proba_ks_statistic)} "
                f"(p {format_pvalue(prediction.proba_ks_pvalue)})",
            ),
            ("Probability PSI", format_statistic(prediction.proba_psi)),
        ],
        "chart": _histogram(prediction.histogram),
    }


def _importance(document: DriftDocument) -> Any:
    """The scatter of drift against model importance, the dots it could not label and how many
    features it leaves out; None without a feature that has both importances."""
    drift_importance = document.data_drift.feature_importance if document.data_drift else {}
    risky = document.riskiest_features
    risky_names = {r.feature for r in risky}
    known: dict[str, tuple[float | None, float | None]] = {}
    for record in [*document.features, *risky]:
        before = known.get(record.feature, (None, None))
        model, drift = record.model_importance, record.drift_importance
        known[record.feature] = (
            model if model is not None else before[0],
            drift if drift is not None else before[1],
        )
    for name, value in drift_importance.items():
        model, drift = known.get(name, (None, None))
        known[name] = (model, drift if drift is not None else value)
    points = [
        Point(name, model, drift, name in risky_names)
        for name, (model, drift) in known.items()
        if model is not None and drift is not None
    ]
    if not points:
        return None
    chart, unlabelled = importance_scatter(points)
    return {"chart": chart, "unlabelled": unlabelled, "missing": len(known) - len(points)}


def _histogram(stored: Mapping[str, Any] | None, new: frozenset[str] = frozenset()) -> Any:
    """The chart of one histogram, or None when its parts are missing or do not line up."""
    histogram = Histogram.read(stored)
    reference = [v or 0.0 for v in histogram.reference]
    current = [v or 0.0 for v in histogram.current or ()]
    if not reference or len(reference) != len(current):
        return None
    if histogram.categories is not None:
        names = list(histogram.categories)
        if len(names) != len(reference):
            return None
        return categorical_histogram(names, reference, current, new)
    edges = list(histogram.edges)
    if len(edges) != len(reference) + 1 or any(e is None for e in edges[1:-1]):
        return None
    return numeric_histogram(edges, reference, current)


def _performance(performance: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each metric, reference against current, with 95 % intervals drawn where they exist; an
    undefined metric says why, and a change says whether it is beyond the intervals."""
    rows = []
    for name, stored in performance.items():
        values = MetricChange.read(stored)
        before, after = values.reference, values.current
        change = values.change
        if change is None and before is not None and after is not None:
            change = after - before
        reference_ci = _bounds(values.reference_ci_low, values.reference_ci_high)
        current_ci = _bounds(values.current_ci_low, values.current_ci_high)
        rows.append(
            {
                "name": name,
                "reference": _with_interval(before, reference_ci),
                "current": _with_interval(after, current_ci),
                "undefined": values.undefined if values.undefined and after is None else None,
                "change": format_metric(change, signed=True),
                "significant": values.significant,
                "chart": interval_whiskers(before, reference_ci, after, current_ci, format_metric)
                if current_ci
                else None,
            }
        )
    return rows


def _bounds(low: float | None, high: float | None) -> tuple[float, float] | None:
    return (low, high) if low is not None and high is not None else None


def _with_interval(value: float | None, bounds: tuple[float, float] | None) -> tuple[str, ...]:
    """The value, and its interval's bounds when it has one."""
    if value is None or bounds is None:
        return (format_metric(value),)
    return format_metric(value), format_metric(bounds[0]), format_metric(bounds[1])


def _default_title(reference: Side, current: Side) -> str:
    return (
        f"Drift report: {current.period or 'current batch'} against "
        f"{reference.period or 'the reference'}"
    )


def render_drift_report(analysis: Mapping[str, Any], *, title: str | None = None) -> str:
    """The drift analysis of one evaluation (any stored form) as one self-contained HTML
    document."""
    document = DriftDocument.read(analysis)
    reference, current = Side.read(document.reference), Side.read(document.current)
    settings = StoredSettings.read(document.settings)
    features = [_feature(feature, settings) for feature in sort_by_drift(document.features)]
    return render_html(
        "report/report.html",
        title=title or _default_title(reference, current),
        header=_header(document, reference, current, settings),
        data_drift=_data_drift(document.data_drift, settings.alpha or 0.05),
        prediction=_prediction(document.prediction_drift),
        importance=_importance(document),
        features=features,
        correction=_correction(settings),
        performance=_performance(document.performance_drift),
        colours=COLOURS,
    )


def write_drift_report(
    analysis: Mapping[str, Any], path: Path, *, title: str | None = None
) -> Path:
    """Render the report and write it to ``path`` whole: readers never see half a file."""
    document = render_drift_report(analysis, title=title)
    return write_atomically(path, lambda handle: handle.write(document.encode("utf-8")))
