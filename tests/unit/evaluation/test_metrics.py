from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from include.config import CostMatrix
from include.errors import DataValidationError
from include.evaluation.metrics import (
    _ORDER,
    INTERVAL_METRICS,
    NO_NEGATIVE,
    NO_POSITIVE,
    NO_PREDICTED_POSITIVE,
    ConfusionMatrix,
    PerformanceMetrics,
    binary_metrics,
    choose_threshold,
    undefined_text,
)

COSTS = CostMatrix()


def scored_batch(seed: int, n: int = 3_000, positive_rate: float = 0.2):
    """Labels and probabilities with many tied scores (two decimals), strictly inside (0, 1)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive_rate).astype(int)
    proba = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0.01, 0.99).round(2)
    return y, proba


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.0, 0.35, 0.5, 0.99, 1.0])
def test_threshold_metrics_match_scikit_learn(seed, threshold):
    y, proba = scored_batch(seed)
    predicted = (proba >= threshold).astype(int)

    result = binary_metrics(y, proba, threshold=threshold, cost_matrix=COSTS)

    tn, fp, fn, tp = sk.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    assert result.confusion_matrix == ConfusionMatrix(
        true_positive=tp, false_positive=fp, true_negative=tn, false_negative=fn
    )
    if predicted.any():
        assert result.precision == pytest.approx(sk.precision_score(y, predicted))
    else:  # threshold 1: nothing flagged; scikit-learn's zero_division=0 would fake a 0.0
        assert result.precision is None
        assert result.undefined["precision"] == "no predicted positive in the batch"
    assert result.recall == pytest.approx(sk.recall_score(y, predicted, zero_division=0))
    assert result.f1 == pytest.approx(sk.f1_score(y, predicted, zero_division=0))
    assert result.accuracy == pytest.approx(sk.accuracy_score(y, predicted))
    if predicted.all() or not predicted.any():  # scikit-learn's 0.0 would be made up
        assert result.mcc is None
        assert result.undefined["mcc"].startswith("no predicted")
    else:
        assert result.mcc == pytest.approx(sk.matthews_corrcoef(y, predicted), abs=1e-12)
    assert result.hamming_loss == pytest.approx(sk.hamming_loss(y, predicted))
    assert result.predicted_positive_rate == pytest.approx(predicted.mean())
    assert result.positive_rate == pytest.approx(y.mean())
    assert result.threshold == threshold


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("positive_rate", [0.5, 0.02])
def test_auc_and_log_loss_match_scikit_learn_with_tied_scores(seed, positive_rate):
    y, proba = scored_batch(seed, positive_rate=positive_rate)
    assert np.unique(proba).size < proba.size / 10  # heavily tied

    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)

    assert result.auc == pytest.approx(sk.roc_auc_score(y, proba), abs=1e-12)
    assert result.log_loss == pytest.approx(sk.log_loss(y, proba), rel=1e-12)


def test_auc_counts_a_tie_between_classes_as_one_half():
    result = binary_metrics([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], threshold=0.5, cost_matrix=COSTS)
    # pairs (pos, neg): (0.5, 0.5) tie → ½, the three others ordered correctly → 3.5 / 4
    assert result.auc == pytest.approx(0.875)


def test_log_loss_clips_certain_wrong_predictions_at_1e_15():
    result = binary_metrics([1, 0], [0.0, 1.0], threshold=0.5, cost_matrix=COSTS)
    assert result.log_loss == pytest.approx(-math.log(1e-15))


def test_cost_matrix_gain_is_the_mean_gain_per_row():
    # tp = 2, fp = 1, tn = 3, fn = 1
    y = [1, 1, 0, 0, 0, 0, 1]
    proba = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4]
    costs = CostMatrix(true_positive=10, true_negative=1, false_positive=-3, false_negative=-5)

    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=costs)

    assert result.confusion_matrix.to_dict() == {
        "true_positive": 2,
        "false_positive": 1,
        "true_negative": 3,
        "false_negative": 1,
    }
    assert result.cost_matrix_gain == pytest.approx((2 * 10 + 3 * 1 - 3 - 5) / 7)


def test_lift_is_the_top_decile_positive_rate_over_the_overall_rate():
    # 20 rows, 5 positives (rate 0.25); top decile = 2 rows: one positive → rate 0.5 → lift 2
    y = np.zeros(20, dtype=int)
    y[[0, 5, 6, 7, 8]] = 1
    proba = np.linspace(0.01, 0.2, 20)[::-1].copy()  # row 0 highest, row 1 second
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)
    assert result.lift == pytest.approx(0.5 / 0.25)


def test_lift_top_decile_is_rounded_up_and_exact():
    # n = 30 → exactly 3 rows (0.1 * 30 is 3.0000000000000004 in floating point)
    y = np.zeros(30, dtype=int)
    y[[0, 1, 2, 10]] = 1
    proba = np.linspace(0.9, 0.1, 30)
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)
    assert result.lift == pytest.approx((3 / 3) / (4 / 30))  # 4 rows would give 3/4
    # n = 15 → ceil(1.5) = 2 rows; positives at ranks 1 and 3 → 1 of 2 in the top
    y = np.zeros(15, dtype=int)
    y[[0, 2]] = 1
    proba = np.linspace(0.9, 0.1, 15)
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)
    assert result.lift == pytest.approx((1 / 2) / (2 / 15))


def test_lift_breaks_ties_at_the_cut_by_row_order():
    # top decile of 10 rows = 1 row; all scores tie, so row 0 is taken
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    proba = np.full(10, 0.3)
    assert binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS).lift == pytest.approx(5.0)
    y = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
    assert binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS).lift == 0.0


def test_calibration_loss_is_the_expected_calibration_error_over_ten_bins():
    y = [0, 1, 0, 1, 1]
    proba = [0.05, 0.15, 0.15, 0.95, 1.0]  # bins [0, .1), [.1, .2), [.9, 1] (1.0 included)
    # bin 0: |0.05 − 0|·1/5; bin 1: |0.15 − 0.5|·2/5; bin 9: |0.975 − 1|·2/5
    expected = 0.05 / 5 + 0.35 * 2 / 5 + 0.025 * 2 / 5
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)
    assert result.calibration_loss == pytest.approx(expected)


def test_perfectly_calibrated_constant_prediction_has_no_calibration_loss():
    y = [1, 0, 0, 0]
    result = binary_metrics(y, [0.25] * 4, threshold=0.5, cost_matrix=COSTS)
    assert result.calibration_loss == pytest.approx(0.0)


def test_a_batch_without_positives_leaves_undefined_metrics_out_with_the_reason():
    y = np.zeros(50, dtype=int)
    proba = np.linspace(0, 1, 50)
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)

    undefined = {"recall", "f1", "mcc", "auc", "log_loss", "lift"}
    assert result.undefined == dict.fromkeys(sorted(undefined, key=_ORDER.index), NO_POSITIVE)
    assert all(getattr(result, name) is None for name in undefined)
    values = result.as_dict()
    assert not undefined & values.keys()
    assert not any(name.startswith(("recall_ci", "auc_ci")) for name in values)
    assert all(math.isfinite(v) for v in values.values())
    assert values["precision"] == 0.0  # 25 flagged, none positive: defined, and 0
    assert values["positive_rate"] == 0.0
    assert values["accuracy"] == 0.5


def test_a_batch_of_positives_only_has_no_auc_log_loss_or_mcc():
    proba = np.linspace(0, 1, 50)
    only_positives = binary_metrics(np.ones(50), proba, threshold=0.5, cost_matrix=COSTS)
    assert only_positives.undefined == {
        "mcc": NO_NEGATIVE,
        "auc": NO_NEGATIVE,
        "log_loss": NO_NEGATIVE,
    }
    assert only_positives.lift == pytest.approx(1.0)
    assert only_positives.recall == pytest.approx(0.5)


def test_no_predicted_positive_leaves_precision_and_mcc_undefined_but_recall_zero():
    y = np.array([1, 0, 0, 1, 0, 0, 0, 0])
    result = binary_metrics(y, np.full(8, 0.2), threshold=0.5, cost_matrix=COSTS)
    assert result.undefined == {"precision": NO_PREDICTED_POSITIVE, "mcc": NO_PREDICTED_POSITIVE}
    assert result.recall == 0.0
    assert result.f1 == 0.0  # positives missed: F1 is 0, not undefined
    assert "precision_ci_low" not in result.as_dict()
    assert undefined_text(result.undefined["precision"]) == (
        "undefined (no predicted positive in the batch)"
    )


@pytest.mark.parametrize(("positives", "warned"), [(1, True), (2, True), (3, False)])
def test_an_auc_from_one_or_two_positives_comes_with_a_warning(positives, warned):
    y = np.zeros(200, dtype=int)
    y[:positives] = 1
    proba = np.linspace(0.9, 0.1, 200)
    result = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS)
    assert result.auc == 1.0
    assert ("auc" in result.notes) is warned
    if warned:
        assert f"AUC from {positives} positive" in result.notes["auc"]
    # the mirror case: one negative
    mirror = binary_metrics(1 - y, proba[::-1], threshold=0.5, cost_matrix=COSTS)
    assert ("auc" in mirror.notes) is warned


def test_as_dict_names_every_metric():
    y, proba = scored_batch(0, n=200)
    values = binary_metrics(y, proba, threshold=0.5, cost_matrix=COSTS).as_dict()
    assert list(values) == [
        "precision",
        "recall",
        "f1",
        "accuracy",
        "mcc",
        "hamming_loss",
        "cost_matrix_gain",
        "auc",
        "log_loss",
        "lift",
        "calibration_loss",
        "threshold",
        "positive_rate",
        "predicted_positive_rate",
        "auc_ci_low",
        "auc_ci_high",
        "accuracy_ci_low",
        "accuracy_ci_high",
        "precision_ci_low",
        "precision_ci_high",
        "recall_ci_low",
        "recall_ci_high",
    ]
    assert all(type(value) is float for value in values.values())
    for name in INTERVAL_METRICS:
        assert values[f"{name}_ci_low"] <= values[name] <= values[f"{name}_ci_high"]


def test_metrics_are_immutable():
    result = binary_metrics([0, 1], [0.2, 0.8], threshold=0.5, cost_matrix=COSTS)
    assert isinstance(result, PerformanceMetrics)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.auc = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "labels",
    [
        [True, False, True, False],
        [1.0, 0.0, 1.0, 0.0],
        pd.Series([1, 0, 1, 0], dtype="Int64"),
        np.array([1, 0, 1, 0], dtype=np.uint8),
    ],
    ids=["bool", "float", "nullable-int", "uint8"],
)
def test_labels_may_be_any_zero_one_array(labels):
    result = binary_metrics(labels, [0.9, 0.1, 0.4, 0.6], threshold=0.5, cost_matrix=COSTS)
    assert result.confusion_matrix == ConfusionMatrix(1, 1, 1, 1)


@pytest.mark.parametrize(
    ("y_true", "proba", "threshold", "message"),
    [
        ([0, 1, 1], [0.1, 0.2], 0.5, "differ in length"),
        ([], [], 0.5, "no rows"),
        ([0, 2, 1], [0.1, 0.2, 0.3], 0.5, "labels must be 0 or 1"),
        ([0, np.nan, 1], [0.1, 0.2, 0.3], 0.5, "1 labels are missing"),
        (["no", "yes"], [0.1, 0.2], 0.5, "map the labels to 0/1"),
        ([0, 1], [0.1, 1.2], 0.5, r"must lie in \[0, 1\]"),
        ([0, 1], [-0.1, 0.2], 0.5, r"must lie in \[0, 1\]"),
        ([0, 1], [0.1, np.nan], 0.5, "1 predicted probabilities are NaN"),
        ([0, 1], ["a", "b"], 0.5, "must be numbers"),
        ([0, 1], [[0.9, 0.1], [0.2, 0.8]], 0.5, "one-dimensional"),
        ([0, 1], [0.1, 0.9], math.nan, "threshold must lie in"),
        ([0, 1], [0.1, 0.9], 1.5, "threshold must lie in"),
        ([0, 1], [0.1, 0.9], "high", "threshold must be a number"),
    ],
)
def test_wrong_inputs_raise_a_clear_error(y_true, proba, threshold, message):
    with pytest.raises(DataValidationError, match=message):
        binary_metrics(y_true, proba, threshold=threshold, cost_matrix=COSTS)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_choose_threshold_maximises_f1_over_the_distinct_scores(seed):
    y, proba = scored_batch(seed, n=1_000, positive_rate=0.1)
    candidates = np.unique(proba)
    f1 = np.array([sk.f1_score(y, proba >= t, zero_division=0) for t in candidates])
    best = candidates[f1 == f1.max()].max()

    chosen = choose_threshold(y, proba)

    assert chosen == best
    assert sk.f1_score(y, proba >= chosen) == pytest.approx(f1.max())


def test_choose_threshold_prefers_the_highest_of_equally_good_thresholds():
    # thresholds 0.8 and 0.5 both give F1 = 2/3; 0.8 flags fewer rows
    y = [1, 0, 0, 1]
    proba = [0.8, 0.7, 0.6, 0.5]
    assert choose_threshold(y, proba) == 0.8


def test_choose_threshold_needs_a_positive_label():
    with pytest.raises(DataValidationError, match="no row has the positive label"):
        choose_threshold([0, 0, 0], [0.1, 0.5, 0.9])
    with pytest.raises(DataValidationError, match="differ in length"):
        choose_threshold([0, 1], [0.1])
