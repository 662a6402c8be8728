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
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from include.config import MonitoringConfig
from include.drift.analysis import DriftAnalysis, analyse_drift, with_performance
from include.errors import DataValidationError, EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY
from include.evaluation.calibration import METRICS as ESTIMATED
from include.evaluation.estimation import NO_CALIBRATION, PerformanceEstimate, estimate_for_version
from include.evaluation.metrics import PerformanceMetrics, binary_metrics
from include.evaluation.profile import ColumnStatistics, column_statistics, sample_positions
from include.evaluation.track_record import NO_TRACK_RECORD, TrackRecord
from include.mes.records import EvaluationRecord
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    KnownLabels,
    feature_frame,
    known_labels,
)
from include.model.registry import SavedModel
from include.model.sources import column_classes, column_scores, model_scores
from include.periods import Period
from include.quality.usability import closest_column, percent


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


NO_CALIBRATION_NOTE = NO_CALIBRATION


def label_notes(labels: KnownLabels, batch: pd.DataFrame, config: MonitoringConfig) -> dict:
    """``partial_labels`` when some rows are not labelled yet, ``no_labels`` when none is."""
    return counted_label_notes(
        labels.count,
        len(labels.labelled),
        column_present=labels.column_present,
        columns=batch,
        config=config,
    )


def counted_label_notes(
    labelled: int,
    rows: int,
    *,
    column_present: bool,
    columns: pd.DataFrame,
    config: MonitoringConfig,
) -> dict:
    """:func:`label_notes` from the counts: ``labelled`` of ``rows`` rows, whether the label
    column was there, and a frame with the batch's columns (to suggest a misspelt label)."""
    if labelled == rows:
        return {}
    if labelled:
        return {
            "partial_labels": (
                f"realised metrics from {labelled:,} of {rows:,} rows "
                f"({percent(labelled / rows)}): the other rows are not labelled yet"
            )
        }
    if column_present:
        why = f"label {config.label!r} is missing on all {rows:,} rows"
    else:
        close = closest_column(config.label, columns, config)
        why = f"the batch has no label column {config.label!r}" + (
            f" (did you mean {close!r}?)" if close else ""
        )
    return {"no_labels": f"no realised performance: {why}, no row is labelled yet"}


IN_SAMPLE_NOTE = (
    "in-sample evaluation: {period} overlaps the model's training period {trained} "
    "({start} to {end}); the model has seen these rows, so its metrics are optimistic and say "
    "little about how it does on new data"
)
OVERLAPS_REFERENCE_NOTE = (
    "the batch overlaps the model's reference period {trained} ({start} to {end}): drift is "
    "measured partly against the batch itself, and if the model was fitted on these rows its "
    "metrics are optimistic"
)


def overlap_with_training(model: SavedModel, period: Period) -> tuple[bool | None, str | None]:
    """Whether the period overlaps the rows behind the model, and a note saying so.

    A model trained here: its training period (its training rows are in it). A model trained
    elsewhere: its reference period, a weaker warning, since its training rows are unknown.
    (None, None) when the model records no period (a reference dataset without dates).
    """
    trained = model.metadata.get("training_period") or {}
    try:
        start = date.fromisoformat(str(trained["start"]))
        end = date.fromisoformat(str(trained["end"]))
    except (KeyError, TypeError, ValueError):
        return None, None
    if not (period.start < end and start < period.end):
        return False, None
    template = IN_SAMPLE_NOTE if model.source == "train" else OVERLAPS_REFERENCE_NOTE
    note = template.format(
        period=period.name, trained=trained.get("name") or "", start=start, end=end
    )
    return True, note


DUPLICATE_EXAMPLES = 5


def distinct_rows(
    batch: pd.DataFrame, model: SavedModel, config: MonitoringConfig, period: Period
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The batch with exact duplicate rows dropped, and what was dropped (None without an id
    column).

    With ``id_column`` set, a row is one case: the same id twice with the same values (features,
    date, label, scores) is one row delivered twice (a retried load, a join that fanned out) and
    is counted once. The same id with different values cannot be settled here (which label, which
    score is right?): the batch is refused with the ids, rather than evaluated twice or at random.
    """
    id_column = config.id_column
    if not id_column or id_column not in batch.columns:
        return batch, None
    settings = model.metadata.get("predictions") or {}
    columns = [
        c
        for c in dict.fromkeys(
            (
                id_column,
                config.date_column,
                config.label,
                *config.features,
                settings.get("score_column"),
                settings.get("prediction_column"),
            )
        )
        if c is not None and c in batch.columns
    ]
    repeated = batch.duplicated(subset=columns, keep="first")
    dropped = int(repeated.sum())
    distinct = batch.loc[~repeated] if dropped else batch
    conflicting = distinct[id_column][distinct[id_column].duplicated(keep=False)]
    if len(conflicting):
        ids = conflicting.drop_duplicates()
        raise DataValidationError(
            f"the batch of {period} has {len(ids):,} {id_column} values on {len(conflicting):,} "
            f"rows that differ in their values, e.g. {_examples(ids)}: the id column is meant to "
            "name one case, and the monitor cannot tell which row is right; keep one row per "
            f"{id_column} (say, the latest score) before evaluating, or unset id_column"
        )
    examples = batch.loc[repeated, id_column].drop_duplicates()
    note = (
        f"{dropped:,} exact duplicate rows dropped ({len(examples):,} {id_column} values repeated,"
        f" e.g. {_examples(examples)}): the batch counts {len(distinct):,} distinct rows of "
        f"{len(batch):,} delivered"
    )
    return distinct.reset_index(drop=True) if dropped else batch, {
        "id_column": id_column,
        "rows_delivered": len(batch),
        "rows_dropped": dropped,
        "ids_repeated": len(examples),
        "examples": [str(v) for v in examples.head(DUPLICATE_EXAMPLES)],
        "note": note if dropped else None,
    }


def _examples(values: pd.Series) -> str:
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values.head(3))
    return shown + (", ..." if len(values) > 3 else "")
