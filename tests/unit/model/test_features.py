"""include/model/features: the model's view of a batch, its outputs, and its labels as 0/1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.config import parse_config
from include.errors import DataValidationError
from include.model.features import (
    PREDICTION_COLUMN,
    PROBABILITY_COLUMN,
    binary_labels,
    feature_frame,
    known_labels,
    missing_labels,
    predictions_frame,
)


def _config(positive_class: int | str = 1):
    return parse_config(
        {
            "name": "fraud",
            "label": "is_fraud",
            "positive_class": positive_class,
            "date_column": "day",
            "numeric_features": ["amount", "flag"],
            "categorical_features": ["category"],
            "reference_period": "2019Q1",
        }
    )


BATCH = pd.DataFrame(
    {
        "amount": [1, 2, 3],
        "flag": [True, False, True],
        "category": [7, "7", None],
        "other": ["x", "y", "z"],
        "is_fraud": [0, 1, 0],
    },
    index=[5, 6, 7],
)


def test_features_are_the_configured_columns_with_their_types():
    frame = feature_frame(BATCH, _config())
    assert list(frame.columns) == ["amount", "flag", "category"]
    assert frame["amount"].dtype == np.float64
    assert frame["flag"].tolist() == [1.0, 0.0, 1.0]
    assert frame.index.tolist() == [5, 6, 7]


def test_categories_compare_as_text_and_missing_stays_missing():
    categories = feature_frame(BATCH, _config())["category"]
    assert categories.tolist() == ["7", "7", None]
    assert categories.dtype == object


def test_absent_features_are_all_named():
    with pytest.raises(DataValidationError, match=r"\['amount', 'category'\]"):
        feature_frame(BATCH[["flag", "is_fraud"]], _config())


def test_non_numeric_numeric_features_are_named_with_their_type():
    batch = BATCH.assign(amount=["1", "2", "3"])
    with pytest.raises(
        DataValidationError, match=r"non-numeric values: amount \(.*categorical_features"
    ):
        feature_frame(batch, _config())


def test_predictions_are_positive_from_the_threshold_up():
    proba = np.array([0.1, 0.5, 0.49, 0.9])
    frame = predictions_frame(proba, 0.5)
    assert list(frame.columns) == [PROBABILITY_COLUMN, PREDICTION_COLUMN]
    assert frame[PREDICTION_COLUMN].tolist() == [0, 1, 0, 1]
    assert frame[PROBABILITY_COLUMN].tolist() == proba.tolist()


def test_binary_labels_mark_the_positive_class():
    assert binary_labels(BATCH, _config()).tolist() == [0, 1, 0]


def test_a_text_label_with_a_numeric_positive_class_compares_as_text():
    batch = BATCH.assign(is_fraud=["no", "1", "no"])
    assert binary_labels(batch, _config(1)).tolist() == [0, 1, 0]


def test_a_numeric_label_with_a_text_positive_class_compares_as_a_number():
    assert binary_labels(BATCH.assign(is_fraud=[0.0, 1.0, 0.0]), _config("1")).tolist() == [0, 1, 0]


def test_a_text_positive_class_on_text_labels():
    batch = BATCH.assign(is_fraud=["legit", "fraud", "fraud"])
    assert binary_labels(batch, _config("fraud")).tolist() == [0, 1, 1]


def test_one_class_only_is_still_binary():
    assert binary_labels(BATCH.assign(is_fraud=[0, 0, 0]), _config()).tolist() == [0, 0, 0]


def test_binary_labels_refuse_a_missing_column_or_missing_labels():
    with pytest.raises(DataValidationError, match="no label column 'is_fraud'"):
        binary_labels(BATCH.drop(columns="is_fraud"), _config())
    with pytest.raises(DataValidationError, match="missing on 1 row"):
        binary_labels(BATCH.assign(is_fraud=[0, None, 1]), _config())


@pytest.mark.parametrize(
    "labels", [[0, 1, 2], ["a", "b", "b"]], ids=["three classes", "positive absent"]
)
def test_labels_that_are_not_binary_with_the_positive_class_are_refused(labels):
    with pytest.raises(DataValidationError, match="is not binary with positive class 1"):
        binary_labels(BATCH.assign(is_fraud=labels), _config())


def test_missing_labels_are_null_nan_or_blank_text():
    labels = pd.Series([None, np.nan, "", "  ", "0", 1, "fraud"], dtype=object)
    assert missing_labels(labels).tolist() == [True, True, True, True, False, False, False]
    assert missing_labels(pd.Series([1.0, np.nan])).tolist() == [False, True]


def test_known_labels_keep_the_labelled_rows_in_order():
    batch = pd.DataFrame({"is_fraud": [1, None, 0, "", 1]}, dtype=object)
    known = known_labels(batch, _config())
    assert known.column_present
    assert known.labelled.tolist() == [True, False, True, False, True]
    assert known.values.tolist() == [1, 0, 1]
    assert known.count == 3
    assert known.share == 3 / 5


def test_a_batch_without_the_label_column_has_no_labelled_row():
    known = known_labels(BATCH.drop(columns="is_fraud"), _config())
    assert not known.column_present
    assert known.labelled.tolist() == [False, False, False]
    assert known.count == 0
    assert known.share == 0.0


def test_an_unlabelled_or_empty_batch_has_share_zero():
    assert known_labels(BATCH.assign(is_fraud=None), _config()).share == 0.0
    assert known_labels(BATCH.iloc[:0], _config()).share == 0.0


def test_a_known_label_outside_the_two_classes_is_refused():
    with pytest.raises(DataValidationError, match="not binary"):
        known_labels(BATCH.assign(is_fraud=[0, 1, 5]), _config())
