"""What a registered (externally built) model version records, computed once on the reference.

The reference is scored by the model or read from its score column, then measured and profiled
exactly as a trained model's test split is (see ``registry.register_model``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from include.config import MonitoringConfig
from include.drift.univariate import build_reference_profile
from include.errors import DataValidationError
from include.evaluation.calibration import CALIBRATION_KEY, fit_calibration
from include.evaluation.metrics import binary_metrics
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    binary_labels,
    feature_frame,
    predictions_frame,
)
from include.model.mlflow_model import source_libraries
from include.model.sources import (
    SourceIdentity,
    column_classes,
    column_scores,
    describe_reference,
    model_scores,
    positive_index,
)
from include.model.training import TrainedModel, library_versions
from include.quality.gate import derive_expectations

# Permutation importances of an external model: on at most this many reference rows.
IMPORTANCE_ROWS = 2_000


def external_version(
    config: MonitoringConfig,
    reference: pd.DataFrame,
    identity: SourceIdentity,
    model: Any,
    reference_description: str,
) -> TrainedModel:
    """Everything a registered version records, computed once on the reference rows.

    The reference is scored (by the model, or read from the score column), then profiled for
    drift and quality exactly as a trained model's test split is. ``test_metrics`` are the
    metrics on the reference when it is labelled: the model's performance where it is known to
    be good, which later batches are compared with.
    """
    settings = config.model
    if config.label not in reference.columns:
        raise DataValidationError(
            f"the reference rows ({reference_description}) lack the label {config.label!r}: "
            "the reference must be labelled (its label classes and performance are what batches "
            "are checked against)"
        )
    threshold = settings.fixed_threshold
    index = 1
    if model is None:
        scores = column_scores(reference, settings.score_column)
        if settings.prediction_column:
            column_classes(reference, settings.prediction_column, config)  # validated up front
    else:
        index = positive_index(model, config)
        scores = model_scores(model, feature_frame(reference, config), index)
    labels = binary_labels(reference, config)
    metrics = binary_metrics(
        labels.to_numpy(), scores, threshold=threshold, cost_matrix=config.cost_matrix
    )
    importances, method = _importances(model, reference, labels, index, config)
    described = describe_reference(reference, config, reference_description)
    period = described.get("period") or {"name": "reference", "start": None, "end": None}
    metadata: dict[str, Any] = {
        "version": identity.version,
        "source": settings.source,
        settings.source: identity.details,
        "model_name": config.name,
        "features": [{"name": f, "type": "numeric"} for f in config.numeric_features]
        + [{"name": f, "type": "categorical"} for f in config.categorical_features],
        "label": config.label,
        "positive_class": config.positive_class,
        "positive_index": index,
        "date_column": config.date_column,
        "threshold": float(threshold),
        "reference": described,
        # What the drift analysis names as the reference's period; for a registered model it is
        # the reference period (or "reference" for a reference dataset), not a training period.
        "training_period": period,
        "test_metrics": metrics.as_dict(),
        CALIBRATION_KEY: fit_calibration(
            scores,
            labels.to_numpy(),
            times=reference[config.date_column].reset_index(drop=True)
            if config.date_column in reference.columns
            else None,
            threshold=threshold,
        ).to_dict(),
        "feature_importances": importances,
        "feature_importances_method": method,
        "library_versions": {**library_versions(), **source_libraries(settings.source)},
        "quality_expectations": derive_expectations(reference, config).to_dict(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return TrainedModel(
        pipeline=model,
        metadata=metadata,
        reference=reference.reset_index(drop=True),
        feature_profile=build_reference_profile(
            reference, numeric=config.numeric_features, categorical=config.categorical_features
        ),
        prediction_profile=build_reference_profile(
            predictions_frame(scores, threshold),
            numeric=[PROBABILITY_COLUMN],
            categorical=[PREDICTION_COLUMN],
        ),
    )


def _importances(
    model: Any,
    reference: pd.DataFrame,
    labels: pd.Series,
    index: int,
    config: MonitoringConfig,
) -> tuple[dict[str, float], str]:
    """Feature importances summing to 1, and how they were found.

    ``model``: the model's own ``feature_importances_`` when they are per configured feature;
    ``permutation``: drop in ROC AUC on at most IMPORTANCE_ROWS reference rows; ``none``: no
    model to permute (predictions) or a single class in the reference, all zeros.
    """
    features = list(config.features)
    zeros = {feature: 0.0 for feature in features}
    if model is None:
        return zeros, "none: the predictions source has no model to measure importances on"
    own = getattr(model, "feature_importances_", None)
    names = getattr(model, "feature_names_in_", None)
    if own is not None and names is not None and list(names) == features:
        shares = np.clip(np.asarray(own, dtype="float64"), 0.0, None)
        total = shares.sum()
        return {f: float(v) for f, v in zip(features, shares / (total or 1.0), strict=True)}, (
            "model"
        )
    rows = min(len(reference), IMPORTANCE_ROWS)
    sample_x = feature_frame(reference.iloc[:rows], config)
    sample_y = labels.iloc[:rows]
    if sample_y.nunique() < 2:
        return zeros, "none: the reference rows hold a single class"

    drops = np.clip(_auc_drops(model, sample_x, sample_y, index, config.model.seed), 0.0, None)
    total = drops.sum()
    shares = drops / total if total > 0 else drops
    return {f: float(v) for f, v in zip(features, shares, strict=True)}, "permutation"


def _auc_drops(
    model: Any, x: pd.DataFrame, y: pd.Series, index: int, seed: int, repeats: int = 3
) -> np.ndarray:
    """Mean drop in ROC AUC when each feature's values are shuffled (permutation importance).

    Written out rather than scikit-learn's ``permutation_importance``, which insists on an
    estimator with ``fit``: an external model only has to score.
    """
    rng = np.random.default_rng(seed)
    baseline = roc_auc_score(y, model_scores(model, x, index))
    drops = np.zeros(x.shape[1])
    for position, column in enumerate(x.columns):
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[column] = x[column].to_numpy()[rng.permutation(len(x))]
            drops[position] += baseline - roc_auc_score(y, model_scores(model, shuffled, index))
    return drops / repeats
