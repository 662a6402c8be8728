"""Rows of the MES tables: an evaluation record turned into the rows to insert, and rows read back
into stored evaluations.

Everything written is built and validated here before the store opens its transaction, so a
refused record costs no round trip and leaves nothing behind.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from include.errors import StoreError
from include.mes.records import EvaluationRecord, StoredEvaluation, finite_metrics, json_safe
from include.mes.schema import column_statistics, evaluation_samples, feature_drift

FEATURE_DRIFT_COLUMNS = {c.name for c in feature_drift.columns} - {"evaluation_id", "details"}
SUMMARY_COLUMNS = (
    "evaluation_id",
    "store_name",
    "model_name",
    "model_version",
    "name",
    "period_start",
    "period_end",
    "created_at",
    "row_count",
    "labelled",
    "metrics",
)


def prepare_rows(
    evaluation_id: str, record: EvaluationRecord
) -> tuple[dict[str, Any], list[tuple[sa.Table, list[dict[str, Any]]]]]:
    """Everything to insert, built (and validated) before the transaction starts."""
    if not record.store_name or not record.model_version:
        raise StoreError("an evaluation needs a store name and a model version")
    if record.row_count < 0:
        raise StoreError(f"row_count must not be negative, got {record.row_count}")
    row = {
        "evaluation_id": evaluation_id,
        "store_name": record.store_name,
        "model_name": record.model_name,
        "model_version": record.model_version,
        "name": record.display_name,
        "labels": json_safe(dict(record.labels)),
        "period_start": datetime.combine(record.period.start, datetime.min.time()),
        "period_end": datetime.combine(record.period.end, datetime.min.time()),
        "created_at": datetime.now(UTC),
        "row_count": int(record.row_count),
        "labelled": bool(record.labelled),
        "metrics": finite_metrics(record.metrics),
        "confusion_matrix": json_safe(record.confusion_matrix),
        "quality": json_safe(record.quality),
        "drift": json_safe(record.drift),
    }
    stats_rows = [
        {
            "evaluation_id": evaluation_id,
            "column_name": str(stats["name"]),
            "kind": str(stats["kind"]),
            "statistics": json_safe(stats),
        }
        for stats in record.column_statistics
    ]
    drift_rows = [_feature_drift_row(evaluation_id, item) for item in record.feature_drift]
    sample_rows = []
    if record.sample is not None:
        buffer = io.BytesIO()
        record.sample.to_parquet(buffer, index=False)
        sample_rows.append(
            {
                "evaluation_id": evaluation_id,
                "format": "parquet",
                "row_count": len(record.sample),
                "content": buffer.getvalue(),
            }
        )
    children = [
        (column_statistics, stats_rows),
        (feature_drift, drift_rows),
        (evaluation_samples, sample_rows),
    ]
    return row, children


def _feature_drift_row(evaluation_id: str, item: dict[str, Any]) -> dict[str, Any]:
    row = {name: None for name in FEATURE_DRIFT_COLUMNS}
    details = {}
    for key, value in item.items():
        if key in FEATURE_DRIFT_COLUMNS:
            row[key] = value if key == "new_categories" else json_safe(value)
        else:
            details[key] = value
    row["new_categories"] = json_safe(row["new_categories"])
    row.update(evaluation_id=evaluation_id, details=json_safe(details))
    return row


def with_utc(row: Mapping[str, Any], column: str) -> dict[str, Any]:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    values = dict(row)
    if values[column].tzinfo is None:
        values[column] = values[column].replace(tzinfo=UTC)
    return values


def stored_evaluation(row: Any) -> StoredEvaluation:
    created_at = with_utc(row, "created_at")["created_at"]
    return StoredEvaluation(
        evaluation_id=row["evaluation_id"],
        store_name=row["store_name"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        name=row["name"],
        labels=row["labels"] or {},
        period_start=row["period_start"],
        period_end=row["period_end"],
        created_at=created_at,
        row_count=row["row_count"],
        labelled=row["labelled"],
        metrics=row["metrics"] or {},
        confusion_matrix=row["confusion_matrix"],
        quality=row["quality"],
        drift=row["drift"],
    )
