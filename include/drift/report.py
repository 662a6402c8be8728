"""The drift report: one self-contained HTML page from the drift analysis stored with an evaluation.

This module shapes the analysis for the page: what each section shows, its numbers written for
reading (``report_format``) and its charts drawn (``report_charts``); the markup is the template
``include/templates/report/report.html``, its styles ``report.css`` inlined. The page opens offline
and fetches nothing, and has no script. Every string from the data (feature names, categories,
periods) is escaped by the template. Any part of the analysis may be missing: its section says
"n/a" or is left out, never crashes.

    html = render_drift_report(evaluation.drift_analysis)
    write_drift_report(analysis, Path("reports/2017Q4.html"))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
    as_edge,
    as_mapping,
    as_number,
    as_records,
    as_strings,
    format_metric,
    format_number,
    format_pvalue,
    format_statistic,
)
from include.files import write_atomically
from include.templating import render_html

MAX_LISTED_CATEGORIES = 6


# --- features ---------------------------------------------------------------------------------


def _is_drifted(feature: Mapping[str, Any]) -> bool:
    if feature.get("drifted") is not None:
        return bool(feature.get("drifted"))
    return bool(feature.get("pvalue_drifted") or feature.get("psi_drifted"))


def _drift_order(feature: Mapping[str, Any]) -> tuple[bool, float]:
    psi = as_number(feature.get("psi"))
    return (not _is_drifted(feature), -psi if psi is not None else math.inf)


def sort_by_drift(features: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Drifted features first, then by PSI, largest first; features without a PSI last."""
    return sorted(features, key=_drift_order)


def _pvalue(feature: Mapping[str, Any]) -> Any:
    for key in ("pvalue_adjusted", "ks_pvalue", "chi2_pvalue"):
        if as_number(feature.get(key)) is not None:
            return feature[key]
    return None


def _test_statistic(feature: Mapping[str, Any]) -> str:
    if as_number(feature.get("ks_statistic")) is not None:
        return f"KS {format_statistic(feature['ks_statistic'])}"
    if as_number(feature.get("chi2_statistic")) is not None:
        return f"χ² {format_number(feature['chi2_statistic'])}"
    return NA


def _flags(feature: Mapping[str, Any], settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The feature's flags as (text, badge kind)."""
    alpha = as_number(settings.get("alpha"))
    psi_threshold = as_number(settings.get("psi_threshold"))
    flags = []
    if feature.get("pvalue_drifted"):
        flags.append((f"p ≤ {alpha:g}" if alpha else "p-value", "warn"))
    if feature.get("material") is True:
        flags.append((f"material ({_effect_text(feature, settings)})", "warn"))
    elif feature.get("material") is False and feature.get("pvalue_drifted"):
        flags.append((f"not material ({_effect_text(feature, settings)})", "info"))
    if feature.get("flag_basis") == "significance alone":
        flags.append(("significance alone: too few rows for an effect size", "info"))
    if feature.get("psi_drifted"):
        flags.append((f"PSI > {psi_threshold:g}" if psi_threshold else "PSI", "info"))
    before = as_number(feature.get("reference_missing_share"))
    after = as_number(feature.get("current_missing_share"))
    if before is not None and after is not None and abs(after - before) >= 0.01:
        kind = "warn" if feature.get("missing_drifted") else "info"
        flags.append((f"missing {percent(before)} → {percent(after)}", kind))
    if feature.get("note"):
        flags.append((str(feature["note"]), "info"))
    return flags


def _effect_text(feature: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The effect size beside its threshold, e.g. "W/IQR 0.31 ≥ 0.1"."""
    numeric = feature.get("kind") == "numeric"
    name = "W/IQR" if numeric else "JS"
    threshold = as_number(
        settings.get("wasserstein_threshold" if numeric else "jensen_shannon_threshold")
    )
    value = as_number(feature.get("effect_size"))
    shown = f"{name} {format_statistic(value)}" if value is not None else name
    if threshold is None or value is None:
        return shown
    return f"{shown} {'≥' if value >= threshold else '<'} {threshold:g}"


def _category_list(values: Sequence[str]) -> dict[str, Any]:
    """The first categories to list, and how many more there are."""
    return {"shown": values[:MAX_LISTED_CATEGORIES], "more": len(values) - MAX_LISTED_CATEGORIES}


def _feature(feature: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """One feature's row of the table and its histogram, as shown."""
    new = frozenset(as_strings(feature.get("new_categories")))
    pvalue = format_pvalue(_pvalue(feature))
    return {
        "name": feature.get("feature") or NA,
        "kind": feature.get("kind"),
        "drifted": _is_drifted(feature),
        "psi": format_statistic(feature.get("psi")),
        "test": _test_statistic(feature),
        "pvalue": pvalue,
        "effect_size": format_statistic(feature.get("effect_size")),
        "wasserstein": format_number(feature.get("wasserstein")),
        "drift_importance": format_statistic(feature.get("drift_importance")),
        "model_importance": format_statistic(feature.get("model_importance")),
        "flags": _flags(feature, settings),
        "listed_new": _category_list(as_strings(feature.get("new_categories"))),
        "new": _category_list(sorted(new)) if new else None,
        "vanished": _category_list(as_strings(feature.get("vanished_categories"))),
        "stats": f"PSI {format_statistic(feature.get('psi'))} · p {pvalue}",
        "chart": _histogram(as_mapping(feature.get("histogram")), new),
    }


# --- sections ---------------------------------------------------------------------------------


def _header(analysis: Mapping[str, Any]) -> dict[str, Any]:
    reference, current = as_mapping(analysis.get("reference")), as_mapping(analysis.get("current"))
    settings = as_mapping(analysis.get("settings"))
    thresholds = None
    if settings:
        correction = settings.get("correction")
        effects = [
            ("W/IQR", settings.get("wasserstein_threshold")),
            ("JS", settings.get("jensen_shannon_threshold")),
            ("missing h", settings.get("missing_threshold")),
        ]
        thresholds = {
            "alpha": format_number(settings.get("alpha")),
            "correction": None if correction in (None, "none") else correction,
            "material": ", ".join(
                f"{name} ≥ {format_number(value)}" for name, value in effects if value is not None
            ),
        }
    streamed = as_mapping(current.get("streamed"))
    return {
        "model_version": reference.get("model_version") or NA,
        "sides": [
            (name, side.get("period") or NA, format_number(side.get("rows")))
            for name, side in (("Reference", reference), ("Current", current))
        ],
        "thresholds": thresholds,
        "description": reference.get("description"),
        # How a batch evaluated in chunks was read, and the flags its bounds leave undecided.
        "streamed": {
            "partitions": streamed.get("partitions") or 1,
            "in_doubt": ", ".join(str(name) for name in streamed.get("in_doubt") or []),
        }
        if streamed
        else None,
        "small_reference": _small_reference(reference),
    }


def _small_reference(reference: Mapping[str, Any]) -> dict[str, str] | None:
    """A warning that stands out when the reference is small, saying what that means."""
    if not reference.get("small"):
        return None
    rows = format_number(reference.get("rows"))
    note = reference.get("note") or (
        f"the reference holds {rows} rows: the drift statistics compare against very few rows; "
        "only large changes can be told apart from chance"
    )
    return {"rows": rows, "note": note}


def _data_drift(data: Mapping[str, Any], alpha: float) -> dict[str, Any] | None:
    if not data:
        return None
    value, low, high = (as_number(data.get(k)) for k in ("value", "ci_low", "ci_high"))
    pvalue = as_number(data.get("pvalue"))
    drifted = data.get("drifted")
    if drifted is None:
        drifted = pvalue is not None and pvalue <= alpha
    rows = as_number(data.get("rows_per_side"))
    details = [f"p-value {format_pvalue(pvalue)}"]
    if rows is not None:
        details.append(f"{format_number(rows)} rows per side")
    if as_number(data.get("test_rows")) is not None:
        details.append(f"accuracy on {format_number(data.get('test_rows'))} held-out rows")
    return {
        "drifted": drifted,
        "value": NA if value is None else f"{value:.2f}",
        "interval": f"95 % CI {low:.2f}–{high:.2f}" if low is not None and high is not None else "",
        "gauge": accuracy_gauge(value, low, high) if value is not None else None,
        "verdict": data.get("verdict"),
        "details": " · ".join(details),
    }


def _prediction(prediction: Mapping[str, Any]) -> dict[str, Any] | None:
    if not prediction:
        return None
    before = as_number(prediction.get("reference_positive_share"))
    after = as_number(prediction.get("current_positive_share"))
    return {
        "drifted": bool(prediction.get("drifted")),
        "rows": [
            ("Predicted positives", f"{percent(before)} → {percent(after)}"),
            ("Class shares χ² p-value", format_pvalue(prediction.get("chi2_pvalue"))),
            (
                "Probability KS",
                f"{format_statistic(prediction.get('proba_ks_statistic'))} "
                f"(p {format_pvalue(prediction.get('proba_ks_pvalue'))})",
            ),
            ("Probability PSI", format_statistic(prediction.get("proba_psi"))),
        ],
        "chart": _histogram(as_mapping(prediction.get("histogram"))),
    }


def _importance(analysis: Mapping[str, Any], features: list[Mapping[str, Any]]) -> Any:
    """The scatter of drift against model importance, the dots it could not label and how many
    features it leaves out; None without a feature that has both importances."""
    drift_importance = as_mapping(as_mapping(analysis.get("data_drift")).get("feature_importance"))
    risky = as_records(analysis.get("riskiest_features"))
    risky_names = {str(r.get("feature")) for r in risky}
    known: dict[str, tuple[float | None, float | None]] = {}
    for record in [*features, *risky]:
        name = str(record.get("feature"))
        before = known.get(name, (None, None))
        model = as_number(record.get("model_importance"))
        drift = as_number(record.get("drift_importance"))
        known[name] = (
            model if model is not None else before[0],
            drift if drift is not None else before[1],
        )
    for name, value in drift_importance.items():
        model, drift = known.get(str(name), (None, None))
        known[str(name)] = (model, drift if drift is not None else as_number(value))
    points = [
        Point(name, model, drift, name in risky_names)
        for name, (model, drift) in known.items()
        if model is not None and drift is not None
    ]
    if not points:
        return None
    chart, unlabelled = importance_scatter(points)
    return {"chart": chart, "unlabelled": unlabelled, "missing": len(known) - len(points)}


def _histogram(histogram: Mapping[str, Any], new: frozenset[str] = frozenset()) -> Any:
    """The chart of one histogram, or None when its parts are missing or do not line up."""
    reference = [as_number(v) or 0.0 for v in histogram.get("reference") or []]
    current = [as_number(v) or 0.0 for v in histogram.get("current") or []]
    if not reference or len(reference) != len(current):
        return None
    categories = histogram.get("categories")
    if categories is not None:
        names = as_strings(categories)
        if len(names) != len(reference):
            return None
        return categorical_histogram(names, reference, current, new)
    edges = [as_edge(e) for e in histogram.get("edges") or []]
    if len(edges) != len(reference) + 1 or any(e is None for e in edges[1:-1]):
        return None
    return numeric_histogram(edges, reference, current)


def _performance(performance: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each metric, reference against current, with 95 % intervals drawn where they exist; an
    undefined metric says why, and a change says whether it is beyond the intervals."""
    rows = []
    for name, values in performance.items():
        values = as_mapping(values)
        before, after = as_number(values.get("reference")), as_number(values.get("current"))
        change = values.get("change")
        if as_number(change) is None and before is not None and after is not None:
            change = after - before
        reference_ci, current_ci = _bounds(values, "reference"), _bounds(values, "current")
        reason = values.get("undefined")
        rows.append(
            {
                "name": name,
                "reference": _with_interval(before, reference_ci),
                "current": _with_interval(after, current_ci),
                "undefined": reason if reason and after is None else None,
                "change": format_metric(change, signed=True),
                "significant": values.get("significant"),
                "chart": interval_whiskers(before, reference_ci, after, current_ci, format_metric)
                if current_ci
                else None,
            }
        )
    return rows


def _bounds(values: Mapping[str, Any], side: str) -> tuple[float, float] | None:
    low, high = as_number(values.get(f"{side}_ci_low")), as_number(values.get(f"{side}_ci_high"))
    return (low, high) if low is not None and high is not None else None


def _with_interval(value: float | None, bounds: tuple[float, float] | None) -> tuple[str, ...]:
    """The value, and its interval's bounds when it has one."""
    if value is None or bounds is None:
        return (format_metric(value),)
    return format_metric(value), format_metric(bounds[0]), format_metric(bounds[1])


def _default_title(analysis: Mapping[str, Any]) -> str:
    reference, current = as_mapping(analysis.get("reference")), as_mapping(analysis.get("current"))
    return (
        f"Drift report: {current.get('period') or 'current batch'} against "
        f"{reference.get('period') or 'the reference'}"
    )


def render_drift_report(analysis: Mapping[str, Any], *, title: str | None = None) -> str:
    """The drift analysis of one evaluation as one self-contained HTML document."""
    analysis = as_mapping(analysis)
    settings = as_mapping(analysis.get("settings"))
    records = as_records(analysis.get("features"))
    features = [_feature(feature, settings) for feature in sort_by_drift(records)]
    correction = settings.get("correction")
    return render_html(
        "report/report.html",
        title=title or _default_title(analysis),
        header=_header(analysis),
        data_drift=_data_drift(
            as_mapping(analysis.get("data_drift")), as_number(settings.get("alpha")) or 0.05
        ),
        prediction=_prediction(as_mapping(analysis.get("prediction_drift"))),
        importance=_importance(analysis, records),
        features=features,
        correction=None if correction in (None, "none") else correction,
        performance=_performance(as_mapping(analysis.get("performance_drift"))),
        colours=COLOURS,
    )


def write_drift_report(
    analysis: Mapping[str, Any], path: Path, *, title: str | None = None
) -> Path:
    """Render the report and write it to ``path`` whole: readers never see half a file."""
    document = render_drift_report(analysis, title=title)
    return write_atomically(path, lambda handle: handle.write(document.encode("utf-8")))
