"""The inputs of every metric: what is accepted, and what each refusal says."""

from __future__ import annotations

import numpy as np
import pytest

from include.errors import DataValidationError
from include.evaluation.inputs import (
    validated_scores_and_labels,
    validated_threshold,
    zero_one_labels,
)


def test_labels_of_any_numeric_or_boolean_type_become_booleans() -> None:
    for labels in ([0, 1, 1], [0.0, 1.0, 1.0], [False, True, True], np.array(["0", "1", "1"])):
        assert zero_one_labels(np.asarray(labels)).tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0.0, np.nan, 1.0], "1 labels are missing"),
        ([0, 2, 1], "found 1 other values such as \\[2\\]"),
        (["no", "yes", "no"], "map the labels to 0/1 first"),
    ],
)
def test_other_labels_are_refused_with_what_to_do(labels, message) -> None:
    with pytest.raises(DataValidationError, match=message):
        zero_one_labels(np.asarray(labels, dtype=object if isinstance(labels[0], str) else None))


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 1], [0.2, np.nan], "1 predicted probabilities are NaN"),
        ([0, 1], [0.2, 1.5], "found values from 0.2 to 1.5"),
        ([0, 1, 1], [0.2, 0.3], "3 labels, 2 probabilities"),
        ([], [], "no rows"),
        ([0, 1], [[0.8, 0.2], [0.1, 0.9]], "one-dimensional"),
        ([0, 1], ["a", "b"], "must be numbers between 0 and 1"),
    ],
)
def test_bad_scores_are_refused(labels, scores, message) -> None:
    with pytest.raises(DataValidationError, match=message):
        validated_scores_and_labels(labels, scores)


def test_scores_come_back_as_floats_beside_boolean_labels() -> None:
    labels, scores = validated_scores_and_labels([1, 0], [0.75, 0.25])

    assert labels.tolist() == [True, False]
    assert scores.dtype == np.float64


@pytest.mark.parametrize(
    ("value", "message"), [("high", "must be a number"), (1.2, "in \\[0, 1\\]")]
)
def test_a_threshold_outside_zero_one_is_refused(value, message) -> None:
    assert validated_threshold("0.3") == 0.3
    with pytest.raises(DataValidationError, match=message):
        validated_threshold(value)
