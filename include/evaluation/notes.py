"""What an evaluation says besides its numbers: the notes on labels, overlap and duplicates.

Stored in the record's ``labels`` as ``note:<topic>`` (see ``evaluate``'s docstring): whether the
batch is partly or not at all labelled yet, whether it overlaps the rows the model was trained on
(or an external model's reference), and which exact duplicate rows were dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from include.config import MonitoringConfig
from include.errors import DataValidationError
from include.evaluation.estimation import NO_CALIBRATION
from include.model.features import KnownLabels
from include.model.registry import SavedModel
from include.periods import Period
from include.quality.usability import closest_column, percent

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
