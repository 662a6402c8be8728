"""The full drift analysis of one evaluated batch against the model's reference.

Global data drift (the domain classifier), feature drift importance beside the model's own
importance, univariate drift of every feature on all rows, prediction drift and performance drift.
Everything is kept with the evaluation; every scalar is also a named metric a check can read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.drift.document import DriftDocument, FeatureRow, PredictionDrift, StoredDataDrift
from include.drift.domain_classifier import (
    DataDrift,
    RiskyFeature,
    domain_classifier_drift,
    riskiest_features,
)
from include.drift.rule import DriftRule
from include.drift.univariate import FeatureDrift, univariate_drift
from include.evaluation.metrics import PerformanceMetrics
from include.json_records import json_record
from include.metric_catalog import FEATURE_METRICS as CATALOG_FEATURE_METRICS
from include.model.features import PREDICTION_COLUMN, PROBABILITY_COLUMN, predictions_frame
from include.model.registry import SavedModel
from include.periods import Period

# Per-feature statistics published as metrics "<statistic>:<feature>", e.g. "psi:card_age"
# (drift_importance comes from the domain classifier, not from a feature's statistics).
FEATURE_METRICS = tuple(name for name in CATALOG_FEATURE_METRICS if name != "drift_importance")


@json_record()
class DriftAnalysis:
    """Everything measured about how the batch differs from the reference (validated when
    built); :meth:`document` is what the store keeps."""

    reference: dict[str, Any]
    current: dict[str, Any]
    settings: dict[str, Any]
    data_drift: DataDrift
    features: list[FeatureDrift]
    model_importance: dict[str, float]
    riskiest: list[RiskyFeature]
    probability: FeatureDrift
    predicted_class: FeatureDrift
    performance: dict[str, dict[str, Any]]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def metrics(self) -> dict[str, float]:
        """Every scalar of the analysis by metric name, for the MES and its checks."""
        data = self.data_drift
        metrics: dict[str, Any] = {
            "data_drift": data.value,
            "data_drift_pvalue": data.pvalue,
            "data_drift_ci_low": data.ci_low,
            "data_drift_ci_high": data.ci_high,
            "drifted_features": len(self.drifted_features),
            "drifted_features_share": len(self.drifted_features) / max(len(self.features), 1),
            "prediction_drift_psi": self.probability.psi,
            "prediction_drift_ks_statistic": self.probability.ks_statistic,
            "prediction_drift_ks_pvalue": self.probability.ks_pvalue,
            "prediction_drift_chi2_pvalue": self.predicted_class.chi2_pvalue,
            "prediction_drift_positive_share_change": self._positive_share_change(),
        }
        for feature in self.features:
            for statistic in FEATURE_METRICS:
                metrics[f"{statistic}:{feature.feature}"] = getattr(feature, statistic)
            metrics[f"drift_importance:{feature.feature}"] = data.feature_importance.get(
                feature.feature
            )
        for name, values in self.performance.items():
            metrics[f"performance_change:{name}"] = values.get("change")
            if "significant" in values:
                metrics[f"performance_change_significant:{name}"] = float(values["significant"])
        return {k: float(v) for k, v in metrics.items() if _is_number(v)}

    def feature_rows(self) -> list[dict[str, Any]]:
        """One row per feature for ``mes.feature_drift``: statistics plus both importances."""
        return [row.model_dump(mode="json") for row in self._feature_rows()]

    def document(self) -> DriftDocument:
        """The analysis as stored with the evaluation and rendered in the drift report."""
        data_drift = self.data_drift
        return DriftDocument(
            reference=self.reference,
            current=self.current,
            settings=self.settings,
            data_drift=StoredDataDrift(**vars(data_drift), verdict=data_drift.verdict()),
            features=self._feature_rows(),
            drifted_features=self.drifted_features,
            riskiest_features=self.riskiest,
            prediction_drift=self._prediction_drift(),
            performance_drift=self.performance,
        )

    def to_dict(self) -> dict[str, Any]:
        """:meth:`document` as JSON (``to_dict``: the name its callers and tests use)."""
        return self.document().to_dict()

    def _feature_rows(self) -> list[FeatureRow]:
        importance = self.data_drift.feature_importance
        return [
            FeatureRow(
                **vars(feature),
                drift_importance=importance.get(feature.feature),
                model_importance=self.model_importance.get(feature.feature),
            )
            for feature in self.features
        ]

    def _positive_share_change(self) -> float | None:
        shares = self._class_shares()
        if shares is None:
            return None
        return shares[1] - shares[0]

    def _class_shares(self) -> tuple[float, float] | None:
        """Share of predicted positives in the reference and in the batch."""
        histogram = self.predicted_class.histogram or {}
        categories = list(histogram.get("categories", []))
        if "1" not in categories:
            return None
        index = categories.index("1")
        return histogram["reference"][index], histogram["current"][index]

    def _prediction_drift(self) -> PredictionDrift:
        shares = self._class_shares() or (None, None)
        return PredictionDrift(
            reference_positive_share=shares[0],
            current_positive_share=shares[1],
            chi2_statistic=self.predicted_class.chi2_statistic,
            chi2_pvalue=self.predicted_class.chi2_pvalue,
            proba_ks_statistic=self.probability.ks_statistic,
            proba_ks_pvalue=self.probability.ks_pvalue,
            proba_wasserstein=self.probability.wasserstein,
            proba_psi=self.probability.psi,
            drifted=bool(self.probability.drifted or self.predicted_class.drifted),
            histogram=self.probability.histogram,
            class_histogram=self.predicted_class.histogram,
        )


def analyse_drift(
    model: SavedModel,
    batch: pd.DataFrame,
    proba: np.ndarray,
    config: MonitoringConfig,
    period: Period,
    *,
    performance: Mapping[str, float] | None = None,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> DriftAnalysis:
    """Analyse the batch (all its rows, with the model's probabilities) against the reference."""
    with stage("data drift"):
        data_drift = sampled_data_drift(model, batch, config)
    rule = DriftRule.from_settings(config.drift)
    with stage("univariate drift"):
        features = univariate_drift(model.feature_profile, batch, rule=rule)
    with stage("prediction drift"):
        probability, predicted_class = _prediction_drift(model, proba, rule)
    return assemble_analysis(
        model,
        config,
        rows=len(batch),
        period=period,
        data_drift=data_drift,
        features=features,
        probability=probability,
        predicted_class=predicted_class,
        performance=performance,
    )


def sampled_data_drift(
    model: SavedModel, rows: pd.DataFrame, config: MonitoringConfig
) -> DataDrift:
    """The domain classifier's data drift of ``rows`` (a batch, or a uniform sample of one)
    against the model's reference, with the configuration's drift settings."""
    settings = config.drift
    return domain_classifier_drift(
        model.reference,
        rows,
        numeric=config.numeric_features,
        categorical=config.categorical_features,
        sample_size=settings.sample_size,
        seed=settings.seed,
    )


def assemble_analysis(
    model: SavedModel,
    config: MonitoringConfig,
    *,
    rows: int,
    period: Period,
    data_drift: DataDrift,
    features: list[FeatureDrift],
    probability: FeatureDrift,
    predicted_class: FeatureDrift,
    performance: Mapping[str, float] | None = None,
) -> DriftAnalysis:
    """The analysis of a batch of ``rows`` rows from its measured parts (in memory or from
    summaries), with the reference described and the riskiest features ranked."""
    rule = DriftRule.from_settings(config.drift)
    model_importance = dict(model.metadata.get("feature_importances", {}))
    return DriftAnalysis(
        reference=describe_reference(model, rule),
        current={"period": period.name, "rows": rows},
        settings=config.drift.model_dump(),
        data_drift=data_drift,
        features=features,
        model_importance=model_importance,
        riskiest=riskiest_features(data_drift.feature_importance, model_importance),
        probability=probability,
        predicted_class=predicted_class,
        performance=performance_drift(model.metadata.get("test_metrics", {}), performance),
    )


def with_performance(
    analysis: DriftAnalysis, model: SavedModel, performance: PerformanceMetrics | None
) -> DriftAnalysis:
    """The analysis with the batch's realised performance beside the reference's, with the
    reasons of undefined metrics, which a plain mapping of numbers cannot carry (unchanged
    without realised performance)."""
    if performance is None:
        return analysis
    compared = performance_drift(
        model.metadata.get("test_metrics", {}),
        performance.as_dict(),
        undefined=performance.undefined,
    )
    return replace(analysis, performance=compared)


SMALL_REFERENCE_NOTE = (
    "the reference holds {rows} rows: the drift statistics compare against very few rows; only "
    "large changes can be told apart from chance; effect sizes are not used (fewer than "
    "{limit} rows, whatever the batch), each feature is flagged on its p-value alone"
)


def describe_reference(model: SavedModel, rule: DriftRule) -> dict[str, Any]:
    """What the batch is compared with: the model version, period, description, rows, and
    whether the reference is small, with what that means (``note``).

    Model versions that record no ``reference`` in their metadata (trained before it was
    recorded) compared against the test split of their training period: its rows are read from
    the reference profile. A reference is small when its metadata says so or when it holds fewer
    rows than the drift rule needs for effect sizes.
    """
    period = model.metadata["training_period"]["name"]
    recorded = model.metadata.get("reference")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    rows = recorded.get("rows")
    if not isinstance(rows, int) or isinstance(rows, bool):
        rows = model.feature_profile.rows
    description = recorded.get("description") or f"the test split of the training period {period}"
    notes = [recorded["note"]] if recorded.get("note") else []
    # effect sizes need a harmonic mean of both sides' rows of min_rows_for_effect_size, which
    # no batch reaches against a reference of fewer than half of it
    limit = math.ceil(rule.min_rows_for_effect_size / 2)
    too_few = rows < limit
    if too_few:
        notes.append(SMALL_REFERENCE_NOTE.format(rows=f"{rows:,}", limit=f"{limit:,}"))
    return {
        "model_version": model.version,
        "period": period,
        "description": description,
        "rows": rows,
        "small": bool(recorded.get("small")) or too_few,
        "effect_sizes_used": not too_few,
        "note": "; ".join(note.rstrip(". ") for note in notes) or None,
    }


def _prediction_drift(
    model: SavedModel, proba: np.ndarray, rule: DriftRule
) -> tuple[FeatureDrift, FeatureDrift]:
    """Drift of the predicted probability (KS, PSI) and of the predicted class shares (chi²)."""
    drift = univariate_drift(
        model.prediction_profile, predictions_frame(proba, model.threshold), rule=rule
    )
    by_name = {d.feature: d for d in drift}
    return by_name[PROBABILITY_COLUMN], by_name[PREDICTION_COLUMN]


_Z95 = 1.959963984540054


def performance_drift(
    reference: Mapping[str, float],
    current: Mapping[str, float] | None,
    *,
    undefined: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each performance metric of the batch beside the reference's (its test split).

    A metric the batch cannot define (``undefined``: metric → reason) is listed with its reason,
    no current value and no change: a change is never made up from an undefined metric.

    A metric with 95 % intervals (``<metric>_ci_low``/``_ci_high``) gets ``significant``: whether
    the change is beyond what the batches' sizes explain. With the reference's interval too, it is
    a two-sided z-test at 5 % of the difference of two independent estimates, each standard error
    read off its interval (width / 3.92); without it (models registered before intervals), whether
    the reference value lies outside the batch's interval.
    """
    if not current:
        return {}
    drift: dict[str, dict[str, Any]] = {}
    for name, value in current.items():
        if name.endswith(("_ci_low", "_ci_high")):
            continue
        if name not in reference or not _is_number(value):
            continue
        before = reference[name]
        change = value - before if _is_number(before) else None
        drift[name] = {"reference": before, "current": value, "change": change}
        bounds = _interval(current, name)
        if bounds is None or change is None:
            continue
        drift[name].update(current_ci_low=bounds[0], current_ci_high=bounds[1])
        reference_bounds = _interval(reference, name)
        if reference_bounds is not None:
            drift[name].update(
                reference_ci_low=reference_bounds[0], reference_ci_high=reference_bounds[1]
            )
            spread = math.hypot(
                (bounds[1] - bounds[0]) / (2 * _Z95),
                (reference_bounds[1] - reference_bounds[0]) / (2 * _Z95),
            )
            significant = abs(change) > _Z95 * spread
        else:
            significant = not bounds[0] <= before <= bounds[1]
        drift[name]["significant"] = bool(significant)
    for name, reason in (undefined or {}).items():
        if name in reference:
            drift[name] = {
                "reference": reference[name],
                "current": None,
                "change": None,
                "undefined": reason,
            }
    return drift


def _interval(metrics: Mapping[str, Any], name: str) -> tuple[float, float] | None:
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    return (float(low), float(high)) if _is_number(low) and _is_number(high) else None


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and bool(np.isfinite(value))
        and not isinstance(value, bool)
    )
