"""Score one batch with a saved model and measure it: performance, column statistics, a sample.

What the record says besides the numbers (stored in its ``labels``, text → text):

- ``undefined:<metric>``: why a performance metric is absent (``no positive in the batch``);
- ``untrusted:estimated_<metric>``: why an estimated metric is absent (the batch's scores fall
  outside the reference's range, the calibration is poor on the reference...);
- ``note:<topic>``: a warning about the numbers: ``note:auc`` (an AUC from one or two rows of a
  class), ``note:in_sample`` (the batch overlaps the rows the model was trained on, or an external
  model's reference period), ``note:duplicate_ids`` (exact duplicate rows dropped),
  ``note:partial_labels`` (realised performance from the labelled rows only),
  ``note:no_labels`` (no row labelled yet: no realised performance), ``note:estimation`` (the
  model version has no calibration to estimate performance with), ``note:estimate_track_record``
  (the estimates' intervals were widened because earlier periods' labels showed them too narrow).

Every evaluation of a model version with a calibration also estimates performance from the
scores of every row, labelled or not (``estimated_auc``, ... with 95 % intervals; see
``include.evaluation.estimation``), so the estimate stands beside the realised value once labels
land. The intervals also carry the version's track record (``include.evaluation.track_record``):
how far its earlier estimates fell from their realised values.

Labels arrive late: a row whose label is missing is not labelled yet. Realised performance is
measured on the labelled rows; drift, column statistics and the sample use every row. The metrics
``labelled_rows`` and ``label_share`` say how much of the batch was labelled; ``in_sample`` (1/0)
and ``duplicate_rows_dropped`` let a check read the other facts above.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.drift.analysis import DriftAnalysis, analyse_drift, with_performance
from include.errors import EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY
from include.evaluation.calibration import METRICS as ESTIMATED
from include.evaluation.estimation import PerformanceEstimate, estimate_for_version
from include.evaluation.metrics import PerformanceMetrics, binary_metrics
from include.evaluation.notes import (
    NO_CALIBRATION_NOTE,
    distinct_rows,
    label_notes,
    overlap_with_training,
)
from include.evaluation.profile import ColumnStatistics, column_statistics, sample_positions
from include.evaluation.track_record import NO_TRACK_RECORD, TrackRecord
from include.mes.records import EvaluationRecord
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    feature_frame,
    known_labels,
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
    in_sample: bool | None = None  # None: the model records no period to compare with
    duplicates: dict[str, Any] | None = None  # None: no id column to find them by
    notes: dict[str, str] = field(default_factory=dict)  # topic → warning (see the module doc)
    labelled_rows: int = 0  # rows whose label was known, behind ``performance``
    estimate: PerformanceEstimate | None = None  # None: the model version has no calibration

    @property
    def labelled(self) -> bool:
        """Whether the evaluation has realised performance (some rows were labelled)."""
        return self.performance is not None

    @property
    def label_share(self) -> float:
        return self.labelled_rows / self.row_count if self.row_count else 0.0

    @property
    def undefined_metrics(self) -> dict[str, str]:
        """Performance metric → why this batch cannot define it."""
        return dict(self.performance.undefined) if self.performance is not None else {}

    @property
    def untrusted_estimates(self) -> dict[str, str]:
        """Estimated metric (``estimated_auc``) → why it is not estimated for this batch."""
        if self.estimate is None:
            return {}
        untrusted = dict(self.estimate.untrusted)
        if "all" in untrusted:
            why = untrusted.pop("all")
            untrusted |= dict.fromkeys(ESTIMATED, why)
        return {f"estimated_{metric}": why for metric, why in untrusted.items()}

    @property
    def all_notes(self) -> dict[str, str]:
        """Every warning about the numbers: the metrics' own (``auc``) and the evaluation's."""
        own = dict(self.performance.notes) if self.performance is not None else {}
        reference = self.drift.reference if self.drift is not None else {}
        if reference.get("small"):
            # On the record's labels, so the CLI, the MES page and the checks' readers see it.
            own["small_reference"] = (
                f"small reference: {reference.get('rows')} rows ({reference.get('description')})"
                + (f"; {reference['note']}" if reference.get("note") else "")
            )
        return {**own, **self.notes}

    def metrics(self) -> dict[str, float]:
        """Every scalar a check can read, by name; performance only when labels were there."""
        metrics = {
            "row_count": float(self.row_count),
            "labelled_rows": float(self.labelled_rows),
            "label_share": self.label_share,
        }
        if self.in_sample is not None:
            metrics["in_sample"] = float(self.in_sample)
        if self.duplicates is not None:
            metrics["duplicate_rows_dropped"] = float(self.duplicates["rows_dropped"])
        if self.performance is not None:
            metrics.update(self.performance.as_dict())
        if self.estimate is not None:
            metrics.update(self.estimate.as_dict())
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
                **{f"undefined:{name}": why for name, why in self.undefined_metrics.items()},
                **{f"untrusted:{name}": why for name, why in self.untrusted_estimates.items()},
                **{f"note:{topic}": text for topic, text in self.all_notes.items()},
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
    track: TrackRecord = NO_TRACK_RECORD,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> Evaluation:
    """Score the batch, compute every metric and analyse drift against the model's reference.

    Realised performance is measured on the rows whose label is known (none: it is skipped, never
    faked); with ``labelled=False`` the label is not read at all. Drift, column statistics and
    the sample use every row, and so does the estimate of performance from the scores (with the
    model version's calibration, its intervals widened by ``track``, the version's track record).
    ``stage(name)`` wraps each step (``score``, ``performance``, ``estimate``, ``column
    statistics``, ``sample``, and the drift steps), so a caller can time or log them.
    """
    if batch.empty:
        raise EmptyBatchError(
            f"the batch of {period} is empty: no rows with {period.start} <= "
            f"{config.date_column} < {period.end}; check the period or load its data"
        )
    batch, duplicates = distinct_rows(batch, model, config, period)
    labels = known_labels(batch, config) if labelled else None
    with stage("score"):
        proba = predict_proba(model, batch, config)
    performance = None
    if labels is not None and labels.count:
        with stage("performance"):
            performance = binary_metrics(
                labels.values,
                proba[labels.labelled],
                threshold=model.threshold,
                cost_matrix=config.cost_matrix,
            )
    with stage("estimate"):
        # A version saved before calibrations were kept gets no estimate (a note says why).
        estimate = (
            estimate_for_version(model.metadata, proba).widened(track.variance)
            if CALIBRATION_KEY in model.metadata
            else None
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
        analysis = analyse_drift(model, batch, proba, config, period, stage=stage)
        analysis = with_performance(analysis, model, performance)
    in_sample, in_sample_note = overlap_with_training(model, period)
    notes = {"in_sample": in_sample_note} if in_sample_note else {}
    if duplicates and duplicates["rows_dropped"]:
        notes["duplicate_ids"] = duplicates["note"]
    if labels is not None:
        notes.update(label_notes(labels, batch, config))
    if estimate is None:
        notes["estimation"] = NO_CALIBRATION_NOTE
    elif track.describe():
        notes["estimate_track_record"] = track.describe()
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
        in_sample=in_sample,
        duplicates=duplicates,
        notes=notes,
        labelled_rows=labels.count if labels is not None else 0,
        estimate=estimate,
    )
