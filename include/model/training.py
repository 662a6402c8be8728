"""Train the monitored model on the reference period, keeping its test split as the reference.

As in the tutorial's Split recipe, the reference period (Q1 2017) is split into a training part
and a held-out test part; the test part is what later batches are compared with for drift.
"""

from __future__ import annotations

import hashlib
import pickle
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from include.config import MonitoringConfig
from include.data.batches import select_period
from include.drift.univariate import ReferenceProfile, build_reference_profile
from include.errors import DataValidationError, EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY, fit_calibration
from include.evaluation.metrics import binary_metrics, choose_threshold
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    binary_labels,
    feature_frame,
    predictions_frame,
)
from include.quality.gate import derive_expectations

# Permutation importances are measured on at most this many test rows: enough for a stable
# ranking, cheap enough to train in seconds.
IMPORTANCE_ROWS = 5_000


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline with everything needed to save, load and monitor it."""

    pipeline: Pipeline
    metadata: dict[str, Any]
    reference: pd.DataFrame
    feature_profile: ReferenceProfile
    prediction_profile: ReferenceProfile


def build_pipeline(config: MonitoringConfig) -> Pipeline:
    """The scikit-learn pipeline for the configured estimator."""
    numeric, categorical = list(config.numeric_features), list(config.categorical_features)
    seed = config.model.seed
    if config.model.estimator == "hist_gradient_boosting":
        encode = ColumnTransformer(
            [
                ("numeric", "passthrough", numeric),
                (
                    "categorical",
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=-1,
                        max_categories=250,
                    ),
                    categorical,
                ),
            ],
            verbose_feature_names_out=False,
        )
        # Negative codes (unknown categories) are treated as missing by the estimator.
        estimator = HistGradientBoostingClassifier(
            categorical_features=list(range(len(numeric), len(numeric) + len(categorical))),
            random_state=seed,
        )
        return Pipeline([("encode", encode), ("classify", estimator)])
    one_hot = OneHotEncoder(
        handle_unknown="infrequent_if_exist", max_categories=20, min_frequency=0.01
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("one_hot", one_hot),
        ]
    )
    if config.model.estimator == "random_forest":
        numeric_steps = SimpleImputer(strategy="mean")
        estimator = RandomForestClassifier(
            n_estimators=100, max_depth=12, n_jobs=-1, random_state=seed
        )
    else:
        numeric_steps = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
        estimator = LogisticRegression(max_iter=1_000)
    encode = ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)]
    )
    return Pipeline([("encode", encode), ("classify", estimator)])


def train_model(prepared: pd.DataFrame, config: MonitoringConfig) -> TrainedModel:
    """Fit the model on the reference period of the prepared dataset."""
    period = config.reference
    data = select_period(prepared, config.date_column, period)
    if data.empty:
        raise EmptyBatchError(
            f"no rows in the reference period {period} ({period.start} <= "
            f"{config.date_column} < {period.end}): generate or load the training data first"
        )
    labels = binary_labels(data, config)
    if labels.nunique() < 2:
        raise DataValidationError(
            f"the reference period {period} holds a single class of {config.label!r}: "
            "a classifier cannot be trained on it"
        )
    features = feature_frame(data, config)
    train_x, test_x, train_y, test_y, _, test_index = train_test_split(
        features,
        labels,
        np.arange(len(data)),
        test_size=config.model.test_size,
        random_state=config.model.seed,
        stratify=labels,
    )
    pipeline = build_pipeline(config).fit(train_x, train_y)
    proba = pipeline.predict_proba(test_x)[:, 1]
    threshold = config.model.threshold or choose_threshold(test_y.to_numpy(), proba)
    test_metrics = binary_metrics(
        test_y.to_numpy(), proba, threshold=threshold, cost_matrix=config.cost_matrix
    )
    order = np.argsort(test_index)
    reference = data.iloc[test_index[order]].reset_index(drop=True)
    reference_proba = proba[order]
    metadata = {
        "model_name": config.name,
        "estimator": config.model.estimator,
        "features": [{"name": f, "type": "numeric"} for f in config.numeric_features]
        + [{"name": f, "type": "categorical"} for f in config.categorical_features],
        "label": config.label,
        "positive_class": config.positive_class,
        "date_column": config.date_column,
        "threshold": float(threshold),
        "training_period": {
            "name": period.name,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "train_rows": len(train_x),
        "test_rows": len(test_x),
        "test_metrics": test_metrics.as_dict(),
        # on the held-out split, never the training rows: the scores unlabelled batches will get
        CALIBRATION_KEY: fit_calibration(
            proba,
            test_y.to_numpy(),
            times=data[config.date_column].iloc[test_index].reset_index(drop=True),
            threshold=threshold,
        ).to_dict(),
        "feature_importances": _importances(pipeline, test_x, test_y, config),
        "library_versions": library_versions(),
        "quality_expectations": derive_expectations(reference, config).to_dict(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata["version"] = model_version(pipeline, period.name)
    return TrainedModel(
        pipeline=pipeline,
        metadata=metadata,
        reference=reference,
        feature_profile=build_reference_profile(
            reference, numeric=config.numeric_features, categorical=config.categorical_features
        ),
        prediction_profile=build_reference_profile(
            predictions_frame(reference_proba, threshold),
            numeric=[PROBABILITY_COLUMN],
            categorical=[PREDICTION_COLUMN],
        ),
    )


def model_version(pipeline: Pipeline, period_name: str) -> str:
    """A version id from the fitted model's content: the same fit gives the same id."""
    digest = hashlib.sha256(pickle.dumps(pipeline, protocol=5)).hexdigest()
    return f"{period_name}-{digest[:8]}"


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def _importances(
    pipeline: Pipeline, test_x: pd.DataFrame, test_y: pd.Series, config: MonitoringConfig
) -> dict[str, float]:
    """Permutation importance of each feature on the test split (drop in ROC AUC), summing to 1.

    Measured on the original features, so one-hot or ordinal encodings need no summing back.
    """
    rows = min(len(test_x), IMPORTANCE_ROWS)
    sample_x, sample_y = test_x.iloc[:rows], test_y.iloc[:rows]
    if sample_y.nunique() < 2:
        return {feature: 0.0 for feature in config.features}
    result = permutation_importance(
        pipeline,
        sample_x,
        sample_y,
        scoring="roc_auc",
        n_repeats=3,
        random_state=config.model.seed,
        n_jobs=1,
    )
    drops = np.clip(result.importances_mean, 0.0, None)
    total = drops.sum()
    shares = drops / total if total > 0 else drops
    return {feature: float(share) for feature, share in zip(test_x.columns, shares, strict=True)}
