"""Score one batch with a saved model and measure it: performance, column statistics, a sample."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.drift.analysis import DriftAnalysis, analyse_drift
from include.errors import EmptyBatchError
from include.evaluation.metrics import PerformanceMetrics, binary_metrics
from include.evaluation.profile import ColumnStatistics, column_statistics, sample_positions
from include.mes.records import EvaluationRecord
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    binary_labels,
    feature_frame,
)
from include.model.registry import SavedModel
from include.model.sources import column_classes, column_scores, model_scores
from include.periods import Period


@dataclass(frozen=True)
class Evaluation:
    """One model version measured on one period's batch."""

    period: Period
    model_name: str
    model_version: str
    row_count: int
    performance: PerformanceMetrics | None
    columns: list[ColumnStatistics]
    sample: pd.DataFrame
    quality: dict[str, Any] | None = None
    drift: DriftAnalysis | None = None

    @property
    def labelled(self) -> bool:
        return self.performance is not None

    def metrics(self) -> dict[str, float]:
        """Every scalar a check can read, by name; performance only when labels were there."""
        metrics = {"row_count": float(self.row_count)}
        if self.performance is not None:
            metrics.update(self.performance.as_dict())
        if self.drift is not None:
            metrics.update(self.drift.metrics())
        return metrics

    def to_record(self, store_name: str, labels: dict[str, str] | None = None) -> EvaluationRecord:
        return EvaluationRecord(
            store_name=store_name,
            model_name=self.model_name,
            model_version=self.model_version,
            period=self.period,
            row_count=self.row_count,
            metrics=self.metrics(),
            labelled=self.labelled,
            labels={
                "model:name": self.model_name,
                "model:version": self.model_version,
                "evaluation:period": self.period.name,
                **(labels or {}),
            },
            confusion_matrix=(
                self.performance.confusion_matrix.to_dict() if self.performance else None
            ),
            quality=self.quality,
            drift=self.drift.to_dict() if self.drift else None,
            feature_drift=self.drift.feature_rows() if self.drift else (),
            column_statistics=[stats.to_dict() for stats in self.columns],
            sample=self.sample,
        )


def predict_proba(model: SavedModel, batch: pd.DataFrame, config: MonitoringConfig) -> np.ndarray:
    """Probability of the positive class for each row of the batch.

    From the model (trained, file or MLflow), or, for the predictions source, read from the
    batch's score column (validated: numbers in [0, 1], none missing).
    """
    if model.source == "predictions":
        return column_scores(batch, model.metadata["predictions"]["score_column"])
    return model_scores(model.pipeline, feature_frame(batch, config), model.positive_index)


def predicted_classes(
    model: SavedModel, batch: pd.DataFrame, proba: np.ndarray, config: MonitoringConfig
) -> np.ndarray:
    """The predicted class (1 = positive) of each row: the batch's prediction column when the
    predictions source names one, else the probability at or above the model's threshold."""
    column = (model.metadata.get("predictions") or {}).get("prediction_column")
    if model.source == "predictions" and column:
        return column_classes(batch, column, config)
    return (proba >= model.threshold).astype("int8")


def evaluate_batch(
    model: SavedModel,
    batch: pd.DataFrame,
    config: MonitoringConfig,
    period: Period,
    *,
    labelled: bool = True,
    quality: dict[str, Any] | None = None,
    drift: bool = True,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> Evaluation:
    """Score the batch, compute every metric and analyse drift against the model's reference.

    Without labels, performance is skipped (drift is not: it needs no labels).
    ``stage(name)`` wraps each step (``score``, ``performance``, ``column statistics``,
    ``sample``, and the drift steps), so a caller can time or log them.
    """
    if batch.empty:
        raise EmptyBatchError(
            f"the batch of {period} is empty: no rows with {period.start} <= "
            f"{config.date_column} < {period.end}; check the period or load its data"
        )
    labels = binary_labels(batch, config) if labelled else None
    with stage("score"):
        proba = predict_proba(model, batch, config)
    performance = None
    if labels is not None:
        with stage("performance"):
            performance = binary_metrics(
                labels.to_numpy(),
                proba,
                threshold=model.threshold,
                cost_matrix=config.cost_matrix,
            )
    with stage("column statistics"):
        columns = column_statistics(
            batch, numeric=config.numeric_features, categorical=config.categorical_features
        )
    with stage("sample"):
        rows = sample_positions(len(batch), config.sample_size, seed=config.model.seed)
        sample = batch.iloc[rows].reset_index(drop=True)
        sample[PROBABILITY_COLUMN] = proba[rows]
        sample[PREDICTION_COLUMN] = predicted_classes(model, batch, proba, config)[rows]
    analysis = None
    if drift:
        analysis = analyse_drift(
            model,
            batch,
            proba,
            config,
            period,
            performance=performance.as_dict() if performance else None,
            stage=stage,
        )
    return Evaluation(
        period=period,
        model_name=config.name,
        model_version=model.version,
        row_count=len(batch),
        performance=performance,
        columns=columns,
        sample=sample,
        quality=quality,
        drift=analysis,
    )
