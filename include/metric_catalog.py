"""The names of the metrics an evaluation can have, so that a check on a misspelt metric is
refused when it is declared rather than coming back EMPTY at every run.

Kept free of numpy, pandas and scikit-learn: configurations are validated when a DAG file is
parsed. ``tests/unit/test_metric_catalog.py`` compares these names with those of real evaluations,
so the list cannot fall behind the code that computes the metrics.
"""

from __future__ import annotations

from collections.abc import Iterable

PERFORMANCE_METRICS = (
    "precision",
    "recall",
    "f1",
    "accuracy",
    "mcc",
    "hamming_loss",
    "cost_matrix_gain",
    "auc",
    "log_loss",
    "lift",
    "calibration_loss",
    "threshold",
    "positive_rate",
    "predicted_positive_rate",
)
"""Realised metrics, from a batch's labelled rows (absent when no row is labelled yet). A metric
the batch cannot define (recall with no positive, AUC with one class) is absent too, its reason
in the evaluation's labels as ``undefined:<metric>``. ``positive_rate`` is the share of
positives among the labelled rows."""

CI_METRICS = tuple(
    f"{metric}_ci_{side}"
    for metric in ("auc", "accuracy", "precision", "recall")
    for side in ("low", "high")
)
"""95 % intervals of a labelled batch's metrics: Wilson (accuracy, precision, recall), DeLong
(AUC); absent when their metric is undefined."""

ESTIMATED_METRICS = (
    "estimated_auc",
    "estimated_accuracy",
    "estimated_precision",
    "estimated_recall",
    "estimated_f1",
)
"""Performance estimated from the model's calibrated scores on every row, labelled or not
(SPEC section 8), when the model version carries a calibration. Absent when the estimate cannot
be trusted, the reason in the evaluation's labels as ``untrusted:<metric>`` (``untrusted:all``
for every one)."""

ESTIMATED_CI_METRICS = tuple(
    f"{metric}_ci_{side}" for metric in ESTIMATED_METRICS for side in ("low", "high")
)
"""95 % intervals of the estimated metrics."""

ESTIMATED_TRACK_METRICS = tuple(f"{metric}_track_sd" for metric in ESTIMATED_METRICS)
"""The standard deviation added to an estimated metric's interval by the model version's track
record: how far the estimates of its earlier, since labelled, periods fell from their realised
values beyond what their intervals allowed (0 while they held)."""

DRIFT_METRICS = (
    "data_drift",
    "data_drift_pvalue",
    "data_drift_ci_low",
    "data_drift_ci_high",
    "drifted_features",
    "drifted_features_share",
    "prediction_drift_psi",
    "prediction_drift_ks_statistic",
    "prediction_drift_ks_pvalue",
    "prediction_drift_chi2_pvalue",
    "prediction_drift_positive_share_change",
)
"""Metrics of the drift analysis (section 3 of the SPEC)."""

BATCH_METRICS = (
    "row_count",
    "labelled_rows",
    "label_share",
    "in_sample",
    "duplicate_rows_dropped",
)
"""``labelled_rows``: rows whose label was known when evaluated (labels arrive late), behind the
realised metrics; ``label_share``: that share of ``row_count`` (0 to 1). ``in_sample``: 1 when
the batch overlaps the model's training period (an external model's reference period), else 0;
``duplicate_rows_dropped``: exact duplicate rows under ``id_column`` (only with ``id_column``
set)."""

FEATURE_METRICS = (
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "wasserstein",
    "chi2_statistic",
    "chi2_pvalue",
    "pvalue_adjusted",
    "effect_size",
    "missing_share_change",
    "drift_importance",
)
"""Per-feature metrics, named ``<statistic>:<feature>`` (e.g. ``psi:card_age``). ``effect_size``
is the Wasserstein distance over the reference's IQR (numeric) or the Jensen–Shannon distance
(categorical); ``missing_share_change`` the current minus the reference missing share."""

PREFIXED_PERFORMANCE = ("performance_change",)
"""Per-performance-metric metrics, named ``<prefix>:<metric>`` (e.g. ``performance_change:auc``,
``performance_change:positive_rate``: the change of the label share)."""

PREFIXED_INTERVAL = ("performance_change_significant",)
"""1 when the change of a metric with an interval (``performance_change_significant:auc``) is
beyond what the batches' sizes explain (5 %), else 0."""


_PLAIN_METRICS = (
    *BATCH_METRICS,
    *PERFORMANCE_METRICS,
    *CI_METRICS,
    *ESTIMATED_METRICS,
    *ESTIMATED_CI_METRICS,
    *ESTIMATED_TRACK_METRICS,
    *DRIFT_METRICS,
)


def metric_names(features: Iterable[str]) -> frozenset[str]:
    """Every metric name an evaluation of a model with these features can carry."""
    features = tuple(features)
    names = {*_PLAIN_METRICS}
    names.update(f"{statistic}:{feature}" for statistic in FEATURE_METRICS for feature in features)
    names.update(
        f"{prefix}:{metric}" for prefix in PREFIXED_PERFORMANCE for metric in PERFORMANCE_METRICS
    )
    names.update(
        f"{prefix}:{metric.removesuffix('_ci_low')}"
        for prefix in PREFIXED_INTERVAL
        for metric in CI_METRICS
        if metric.endswith("_ci_low")
    )
    return frozenset(names)


def unknown_metric_message(metric: str, features: Iterable[str]) -> str | None:
    """None when ``metric`` can exist; else a sentence saying what the names look like."""
    known = metric_names(features)
    if metric in known:
        return None
    prefix, _, rest = metric.partition(":")
    if rest and prefix in FEATURE_METRICS:
        return (
            f"metric {metric!r}: {rest!r} is not a feature of this model "
            f"(its features: {', '.join(sorted(features)) or 'none'})"
        )
    close = sorted(name for name in known if ":" not in name and _close(name, metric))
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"no evaluation can have metric {metric!r}{hint}; metrics are "
        f"{', '.join(_PLAIN_METRICS)}, "
        f"<statistic>:<feature> with statistic one of {', '.join(FEATURE_METRICS)}, "
        "performance_change:<performance metric>, and "
        "performance_change_significant:<auc, accuracy, precision or recall>"
    )


def _close(a: str, b: str) -> bool:
    a, b = a.lower().replace(" ", "_"), b.lower().replace(" ", "_")
    return a == b or a in b or b in a
