"""The model's view of a batch: its features with the types the configuration declares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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
    """The label as 0/1 (1 = the configured positive class), every row labelled."""
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
    return _as_binary(labels, config)


@dataclass(frozen=True)
class KnownLabels:
    """The labels a batch holds so far: which rows carry one, and those labels as 0/1."""

    labelled: np.ndarray  # bool, one per row of the batch
    values: np.ndarray  # int8 0/1, one per labelled row, in row order
    column_present: bool

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def share(self) -> float:
        """The share of the batch's rows that are labelled (0 for an empty batch)."""
        return self.count / len(self.labelled) if len(self.labelled) else 0.0


def known_labels(batch: pd.DataFrame, config: MonitoringConfig) -> KnownLabels:
    """The labels of the rows labelled so far (labels arrive late: a fraud label weeks after
    the transaction).

    A row whose label is missing (null, NaN, empty text) is not labelled yet; a batch without
    the label column has no labelled row. A label that is there but is not one of the two
    classes is an error (DataValidationError), as in ``binary_labels``.
    """
    if config.label not in batch.columns:
        return KnownLabels(np.zeros(len(batch), bool), np.zeros(0, np.int8), column_present=False)
    column = batch[config.label]
    labelled = ~missing_labels(column).to_numpy()
    values = column[labelled].infer_objects()  # an object column of ints and None: ints
    binary = _as_binary(values, config).to_numpy() if len(values) else np.zeros(0, np.int8)
    return KnownLabels(labelled, binary, column_present=True)


def missing_labels(labels: pd.Series) -> pd.Series:
    """True where a label is not known (yet): null, NaN, or text that is empty or blank."""
    missing = labels.isna()
    if pd.api.types.is_object_dtype(labels) or pd.api.types.is_string_dtype(labels):
        text = labels[~missing]
        is_text = text.map(lambda v: isinstance(v, str)).astype(bool)
        blank = text[is_text].str.strip().eq("")
        missing = missing | blank.reindex(labels.index, fill_value=False).astype(bool)
    return missing


def _as_binary(labels: pd.Series, config: MonitoringConfig) -> pd.Series:
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
