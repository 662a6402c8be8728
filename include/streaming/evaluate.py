"""The evaluation of a batch from its merged summary: the same ``Evaluation`` as in memory.

:func:`evaluate_summary` turns a :class:`~include.streaming.partition.BatchSummary` (one pass
over the batch's chunks, or the merge of its partitions') into the
:class:`~include.evaluation.evaluate.Evaluation` that ``evaluate_batch`` returns for the same
rows, built by the same record builders:

- exact: the row and label counts, the confusion matrix and every metric read off it, the
  categorical drift, the missing-value tests, the decile PSI, the quality gate's findings, the
  predicted-class drift, the notes;
- within a bound computed from the summary (returned, and stored with the drift analysis under
  ``current.streamed.bounds``): the AUC and its interval, the lift, the KS statistic and
  Wasserstein distance of each numeric feature and of the probability, what follows from them
  (p-values, effect sizes, flags), the quantiles, distinct counts and histograms of the column
  statistics, and the estimated metrics (see each module for its bound);
- drawn from a uniform sample of the same size as in memory: the domain classifier's data drift
  (the in-memory path samples the batch too, so both are draws of one distribution, each with
  its interval) and the stored sample.

What the streaming path does not do: look for exact duplicate rows under ``id_column`` (they can
sit in different chunks); the evaluation says so in ``note:duplicates_unchecked``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from include.config import MonitoringConfig
from include.drift.analysis import (
    DriftAnalysis,
    assemble_analysis,
    sampled_data_drift,
    with_performance,
)
from include.drift.rule import DriftRule
from include.errors import EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY
from include.evaluation.evaluate import (
    Evaluation,
)
from include.evaluation.notes import (
    NO_CALIBRATION_NOTE,
    counted_label_notes,
    overlap_with_training,
)
from include.evaluation.track_record import NO_TRACK_RECORD, TrackRecord
from include.model.features import PREDICTION_COLUMN, PROBABILITY_COLUMN
from include.model.registry import SavedModel
from include.periods import Period
from include.streaming.drift import summary_drift
from include.streaming.estimate import summary_estimate
from include.streaming.partition import BatchSummary
from include.streaming.performance import summary_metrics
from include.streaming.statistics import summary_statistics

Bounds = dict[str, dict[str, float]]


def evaluate_summary(
    model: SavedModel,
    summary: BatchSummary,
    config: MonitoringConfig,
    period: Period,
    *,
    labelled: bool = True,
    partitions: int = 1,
    track: TrackRecord = NO_TRACK_RECORD,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> tuple[Evaluation, Bounds]:
    """The evaluation of the summarised batch, and the bounds of its inexact numbers.

    ``labelled=False``: the summary was built without reading the label (no realised
    performance). ``partitions``: how many partial summaries were merged (recorded). Bounds map
    a part (``performance``, ``estimate``, ``columns:<name>``, ``drift:<feature>``,
    ``prediction:<column>``) to field → the largest distance to the in-memory value.
    """
    if summary.rows == 0:
        raise EmptyBatchError(
            f"the batch of {period} is empty: no rows with {period.start} <= "
            f"{config.date_column} < {period.end}; check the period or load its data"
        )
    bounds: Bounds = {}
    performance = None
    if labelled and summary.labelled:
        with stage("performance"):
            measured = summary_metrics(summary.scores, cost_matrix=config.cost_matrix)
        performance = measured.metrics
        _add(bounds, "performance", measured.bounds)
    estimate = None
    with stage("estimate"):
        if CALIBRATION_KEY in model.metadata:
            estimate, estimate_bounds = summary_estimate(model.metadata, summary.scores)
            estimate = estimate.widened(track.variance)
            _add(bounds, "estimate", estimate_bounds)
    with stage("column statistics"):
        columns, column_bounds = summary_statistics(
            {name: summary.numeric[name] for name in config.numeric_features},
            {name: summary.categorical[name] for name in config.categorical_features},
        )
        for name, fields in column_bounds.items():
            _add(bounds, f"columns:{name}", fields)
    rows = summary.sample.sample()
    with stage("sample"):
        sample = rows.iloc[: config.sample_size].reset_index(drop=True)
    analysis, drift_bounds = _analyse(model, summary, rows, config, period, stage)
    bounds |= drift_bounds
    analysis = with_performance(analysis, model, performance)
    analysis = replace(
        analysis,
        current={
            **analysis.current,
            "streamed": {"partitions": partitions, "bounds": bounds, "in_doubt": in_doubt(bounds)},
        },
    )
    in_sample, in_sample_note = overlap_with_training(model, period)
    notes = {"in_sample": in_sample_note} if in_sample_note else {}
    if config.id_column:
        notes["duplicates_unchecked"] = (
            f"the batch was evaluated in chunks ({summary.rows:,} rows): rows repeated under one "
            f"{config.id_column} were not looked for"
        )
    if labelled:
        notes.update(
            counted_label_notes(
                summary.labelled,
                summary.rows,
                column_present=summary.label_present,
                columns=rows,
                config=config,
            )
        )
    if estimate is None:
        notes["estimation"] = NO_CALIBRATION_NOTE
    elif track.describe():
        notes["estimate_track_record"] = track.describe()
    doubtful = in_doubt(bounds)
    if doubtful:
        notes["streamed_flags"] = (
            "evaluated in chunks: within the bounds of the streamed statistics the drift flag of "
            + ", ".join(doubtful)
            + " could go either way (each is given as its estimate says)"
        )
    quality = summary.quality.report().to_dict() if summary.quality is not None else None
    evaluation = Evaluation(
        period=period,
        model_name=config.name,
        model_version=model.version,
        row_count=summary.rows,
        performance=performance,
        columns=columns,
        sample=sample,
        quality=quality,
        drift=analysis,
        in_sample=in_sample,
        duplicates=None,
        notes=notes,
        labelled_rows=summary.labelled if labelled else 0,
        estimate=estimate,
    )
    return evaluation, bounds


def in_doubt(bounds: Bounds) -> list[str]:
    """The features (and model outputs) whose ``drifted`` flag the bounds leave undecided: a
    flag of the drift rule's steps (``pvalue_drifted``, ``material`` ...) in doubt while the
    final flag is not changes nothing a reader sees, and is only in the bounds."""
    return [
        part.split(":", 1)[1]
        for part, fields in bounds.items()
        if part.startswith(("drift:", "prediction:")) and fields.get("drifted")
    ]


def _analyse(
    model: SavedModel,
    summary: BatchSummary,
    rows: Any,
    config: MonitoringConfig,
    period: Period,
    stage: Callable[[str], AbstractContextManager],
) -> tuple[DriftAnalysis, Bounds]:
    """The drift analysis of ``analyse_drift`` from the summary and its sample ``rows``."""
    with stage("data drift"):
        data_drift = sampled_data_drift(model, rows, config)
    rule = DriftRule.from_settings(config.drift)
    bounds: Bounds = {}
    with stage("univariate drift"):
        features, feature_bounds = summary_drift(
            model.feature_profile, summary.numeric, summary.categorical, rule
        )
    for name, fields in feature_bounds.items():
        _add(bounds, f"drift:{name}", fields)
    with stage("prediction drift"):
        predictions, prediction_bounds = summary_drift(
            model.prediction_profile,
            {PROBABILITY_COLUMN: summary.probability},
            {PREDICTION_COLUMN: summary.predicted},
            rule,
        )
    for name, fields in prediction_bounds.items():
        _add(bounds, f"prediction:{name}", fields)
    by_name = {drift.feature: drift for drift in predictions}
    analysis = assemble_analysis(
        model,
        config,
        rows=summary.rows,
        period=period,
        data_drift=data_drift,
        features=features,
        probability=by_name[PROBABILITY_COLUMN],
        predicted_class=by_name[PREDICTION_COLUMN],
    )
    return analysis, bounds


def _add(bounds: Bounds, part: str, fields: dict[str, float]) -> None:
    kept = {name: float(value) for name, value in fields.items() if value}
    if kept:
        bounds[part] = kept
