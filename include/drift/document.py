"""The drift analysis as stored with the evaluation, read by the drift report and the MES page.

``DriftDocument`` is the JSON kept in the evaluation's ``drift`` (its keys and values are the
store's contract): the reference and the batch described, the drift settings, the domain
classifier's result with its verdict, one row per feature (its statistics beside both
importances), the drifted and riskiest features, prediction drift and performance drift.
:meth:`include.drift.analysis.DriftAnalysis.document` builds it; ``model_validate`` reads a
stored one back.
"""

from __future__ import annotations

from typing import Any

from include.drift.domain_classifier import DataDrift, RiskyFeature
from include.drift.feature_drift import FeatureDrift
from include.json_records import JsonFloat, JsonRecord, json_record


@json_record()
class StoredDataDrift(DataDrift):
    """The domain classifier's result with its one-line verdict (at the default level)."""

    verdict: str


@json_record(kw_only=True)
class FeatureRow(FeatureDrift):
    """A feature's drift beside its drift importance (domain classifier) and model importance."""

    drift_importance: JsonFloat | None = None
    model_importance: JsonFloat | None = None


@json_record(kw_only=True)
class PredictionDrift(JsonRecord):
    """Drift of the model's output: predicted class shares (chi²) and probabilities (KS, PSI)."""

    reference_positive_share: JsonFloat | None
    current_positive_share: JsonFloat | None
    chi2_statistic: JsonFloat | None
    chi2_pvalue: JsonFloat | None
    proba_ks_statistic: JsonFloat | None
    proba_ks_pvalue: JsonFloat | None
    proba_wasserstein: JsonFloat | None
    proba_psi: JsonFloat | None
    drifted: bool
    histogram: dict[str, Any] | None
    class_histogram: dict[str, Any] | None


@json_record(kw_only=True)
class DriftDocument(JsonRecord):
    """The stored analysis; ``performance_drift`` is :func:`performance_drift`'s mapping of
    metric to reference, current, change and, when known, intervals and significance."""

    reference: dict[str, Any]
    current: dict[str, Any]
    settings: dict[str, Any]
    data_drift: StoredDataDrift
    features: list[FeatureRow]
    drifted_features: list[str]
    riskiest_features: list[RiskyFeature]
    prediction_drift: PredictionDrift
    performance_drift: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """``model_dump(mode="json")``: what the store keeps."""
        return self.model_dump(mode="json")
