"""The model's view of a batch: its features with the types the configuration declares."""

from __future__ import annotations

import pandas as pd

from include.config import MonitoringConfig
from include.errors import DataValidationError

# Columns the scored rows carry: the probability of the positive class, and the predicted class.
PROBABILITY_COLUMN = "proba"
PREDICTION_COLUMN = "prediction"


def feature_frame(batch: pd.DataFrame, config: MonitoringConfig) -> pd.DataFrame:
    """The configured features, numeric ones as float64 and categorical ones as strings.

    Categorical values are compared as text (``7`` and ``"7"`` are one category); missing values
    stay missing. Raises DataValidationError naming every absent or non-numeric feature.
    """
    missing = [column for column in config.features if column not in batch.columns]
    if missing:
        raise DataValidationError(
            f"the batch lacks the model's feature column(s) {missing}; "
            "check the column names against the configuration"
        )
    columns = {}
    wrong_type = []
    for column in config.numeric_features:
        values = batch[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            columns[column] = values.astype("float64")
        else:
            wrong_type.append(f"{column} ({values.dtype})")
    if wrong_type:
        raise DataValidationError(
            f"numeric feature(s) hold non-numeric values: {', '.join(wrong_type)}; "
            "fix the data or declare them as categorical_features in the configuration"
        )
    for column in config.categorical_features:
        values = batch[column]
        text = values.astype("string").astype(object)
        columns[column] = text.where(values.notna(), None)
    return pd.DataFrame(columns, index=batch.index)


def predictions_frame(proba, threshold: float) -> pd.DataFrame:
    """The model's outputs as columns: probability and predicted class (1 = positive)."""
    return pd.DataFrame({PROBABILITY_COLUMN: proba, PREDICTION_COLUMN: (proba >= threshold) * 1})


def binary_labels(batch: pd.DataFrame, config: MonitoringConfig) -> pd.Series:
    """The label as 0/1 (1 = the configured positive class)."""
    if config.label not in batch.columns:
        raise DataValidationError(
            f"the batch has no label column {config.label!r}: performance cannot be measured; "
            "add the label or evaluate without labels"
        )
    labels = batch[config.label]
    if labels.isna().any():
        raise DataValidationError(
            f"label {config.label!r} is missing on {int(labels.isna().sum())} row(s); "
            "drop or fill those rows before evaluating"
        )
    positive = _as_label_value(config.positive_class, labels)
    values = set(pd.unique(labels))
    if len(values) > 2 or (len(values) == 2 and positive not in values):
        raise DataValidationError(
            f"label {config.label!r} is not binary with positive class "
            f"{config.positive_class!r}: found values {sorted(map(str, values))[:5]}"
        )
    return (labels == positive).astype("int8")


def _as_label_value(positive: int | str, labels: pd.Series) -> object:
    """The positive class in the label column's own type (``1`` for ints, ``"1"`` for text)."""
    if pd.api.types.is_numeric_dtype(labels) and isinstance(positive, str):
        try:
            return float(positive)
        except ValueError:
            return positive
    if not pd.api.types.is_numeric_dtype(labels):
        return str(positive)
    return positive
