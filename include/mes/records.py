"""What goes into the model evaluation store and what comes back out of it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from include.periods import Period


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation to store: a model version scored on one period's batch.

    ``metrics`` maps metric names to numbers; values that are not finite numbers (an AUC on a
    batch with one class, say) are left out rather than stored as a fake number.
    ``column_statistics`` items carry ``name`` and ``kind``; ``feature_drift`` items carry
    ``feature`` and ``kind`` plus the statistics named in ``include.mes.schema.feature_drift``
    (anything else lands in their ``details``).
    """

    store_name: str
    model_name: str
    model_version: str
    period: Period
    row_count: int
    metrics: Mapping[str, float]
    labelled: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    confusion_matrix: Mapping[str, int] | None = None
    quality: Mapping[str, Any] | None = None
    drift: Mapping[str, Any] | None = None
    column_statistics: Sequence[Mapping[str, Any]] = ()
    feature_drift: Sequence[Mapping[str, Any]] = ()
    sample: pd.DataFrame | None = None
    name: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.period.name


@dataclass(frozen=True)
class StoredEvaluation:
    """One row of ``mes.evaluations``."""

    evaluation_id: str
    store_name: str
    model_name: str
    model_version: str
    name: str
    labels: dict[str, str]
    period_start: datetime
    period_end: datetime
    created_at: datetime
    row_count: int
    labelled: bool
    metrics: dict[str, float]
    confusion_matrix: dict[str, int] | None
    quality: dict[str, Any] | None
    drift: dict[str, Any] | None


@dataclass(frozen=True)
class EvaluationSummary:
    """One row of ``mes.evaluations`` without its bulky JSON (quality and drift): what a listing
    of many evaluations needs (its small ``labels`` included)."""

    evaluation_id: str
    store_name: str
    model_name: str
    model_version: str
    name: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    row_count: int
    labelled: bool
    metrics: dict[str, float]
    has_drift: bool
    # why a metric is absent (``undefined:<metric>``) and warnings (``note:<topic>``), among others
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredCheck:
    """The latest outcome of one check on one evaluation (a row of ``mes.check_results``)."""

    evaluation_id: str
    check_name: str
    metric: str | None
    outcome: str
    value: float | None
    message: str
    checked_at: datetime
    checked_by: dict[str, Any] | None


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric over the evaluations of a store."""

    evaluation_id: str
    name: str
    model_version: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    value: float


def finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Keep the metrics that are finite numbers, as plain floats."""
    kept = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            kept[str(key)] = number
    return kept


def json_safe(value: Any) -> Any:
    """Turn numpy/pandas scalars, dates and non-finite floats into what JSON can hold."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or value is pd.NA or value is pd.NaT:  # NaT is a datetime: test it first
        return None
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)
