"""Performance estimated from scores alone, checked against synthetic truth.

Labels are drawn as Bernoulli(truth(score)), so the realised metrics they give are known once
drawn; the estimate, made without them, must match in expectation and cover them with its
intervals.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from include.errors import DataValidationError, EmptyBatchError, ModelIntegrityError
from include.evaluation.calibration import CALIBRATION_KEY, METRICS, Calibration, fit_calibration
from include.evaluation.estimation import NO_CALIBRATION, estimate_for_version, estimate_performance
from tests.unit.evaluation.conftest import beta_scores, identity_calibration, realised


def coverage_and_error(truth, *, reference_rows: int, batches: int, seed: int, threshold=0.5):
    """Share of realised metrics inside the interval, and mean absolute error, per metric.

    Each batch gets its own reference, so the calibration's error varies as it would.
    """
    rng = np.random.default_rng(seed)
    inside: dict[str, list[bool]] = {metric: [] for metric in METRICS}
    errors: dict[str, list[float]] = {metric: [] for metric in METRICS}
    for _ in range(batches):
        reference = beta_scores(rng, reference_rows)
        calibration = fit_calibration(reference, rng.random(reference_rows) < truth(reference))
        scores = beta_scores(rng, 1_000)
        labels = rng.random(scores.size) < truth(scores)
        estimate = estimate_performance(calibration, scores, threshold)
        actual = realised(labels, scores, threshold)
        for metric in METRICS:
            key = f"estimated_{metric}"
            if key in estimate.values and metric in actual:
                low, high = estimate.values[f"{key}_ci_low"], estimate.values[f"{key}_ci_high"]
                inside[metric].append(low <= actual[metric] <= high)
                errors[metric].append(abs(estimate.values[key] - actual[metric]))
    return (
        {metric: float(np.mean(hits)) for metric, hits in inside.items()},
        {metric: float(np.mean(values)) for metric, values in errors.items()},
        {metric: len(hits) for metric, hits in inside.items()},
    )


def test_a_perfectly_calibrated_score_gives_the_expected_confusion_matrix_exactly():
    rng = np.random.default_rng(0)
    scores = beta_scores(rng, 2_000)
    predicted = scores >= 0.4
    estimate = estimate_performance(identity_calibration(), scores, 0.4)

    expected = {
        "true_positive": np.sum(scores * predicted),
        "false_positive": np.sum((1 - scores) * predicted),
        "false_negative": np.sum(scores * ~predicted),
        "true_negative": np.sum((1 - scores) * ~predicted),
    }
    assert estimate.expected_confusion == pytest.approx(expected, rel=1e-12)
    tp, fp = expected["true_positive"], expected["false_positive"]
    fn, tn = expected["false_negative"], expected["true_negative"]
    assert estimate.values["estimated_accuracy"] == pytest.approx((tp + tn) / 2_000, rel=1e-12)
    assert estimate.values["estimated_precision"] == pytest.approx(tp / (tp + fp), rel=1e-12)
    assert estimate.values["estimated_recall"] == pytest.approx(tp / (tp + fn), rel=1e-12)
    assert estimate.values["estimated_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-12)

    # ... which is what the labels average to
    draws = rng.random((4_000, scores.size)) < scores
    mean_tp = np.mean(np.sum(draws & predicted, axis=1))
    assert mean_tp == pytest.approx(tp, abs=4 * np.sqrt(np.sum(scores * (1 - scores))) / 60)


def test_the_expected_auc_counts_every_pair_with_ties_as_halves():
    rng = np.random.default_rng(1)
    scores = np.round(beta_scores(rng, 300), 2)  # many tied scores
    p = identity_calibration().calibrated(scores)
    # E[correct pairs] / E[positives x negatives], pair by pair (i != j)
    above = (scores[:, None] > scores[None, :]) + 0.5 * (scores[:, None] == scores[None, :])
    np.fill_diagonal(above, 0.0)
    right = np.sum(p[:, None] * (1 - p[None, :]) * above)
    pairs = p.sum() * (1 - p).sum() - np.sum(p * (1 - p))

    estimate = estimate_performance(identity_calibration(), scores, 0.5)

    assert estimate.values["estimated_auc"] == pytest.approx(right / pairs, rel=1e-10)


def test_the_interval_width_matches_the_spread_of_the_realised_metric():
    """With a calibration known exactly, the interval is the labels' own spread: ± 1.96 sd."""
    rng = np.random.default_rng(2)
    scores = beta_scores(rng, 2_000)
    estimate = estimate_performance(identity_calibration(), scores, 0.5)
    draws = [realised(rng.random(scores.size) < scores, scores, 0.5) for _ in range(1_500)]
    for metric in METRICS:
        simulated = np.std([draw[metric] for draw in draws])
        values = estimate.values
        half = (values[f"estimated_{metric}_ci_high"] - values[f"estimated_{metric}_ci_low"]) / 2
        assert half / 1.959964 == pytest.approx(simulated, rel=0.12), metric
        assert np.mean([draw[metric] for draw in draws]) == pytest.approx(
            values[f"estimated_{metric}"], abs=simulated / 5
        )


def test_intervals_cover_the_realised_metrics_of_a_calibrated_score():
    coverage, error, counts = coverage_and_error(
        lambda s: s, reference_rows=5_000, batches=200, seed=3
    )

    assert counts == dict.fromkeys(METRICS, 200)
    assert all(share >= 0.90 for share in coverage.values()), coverage
    assert error["accuracy"] < 0.02, error
    assert error["auc"] < 0.025, error


def test_a_miscalibrated_model_calibrated_on_its_reference_still_estimates_well():
    def truth(s):
        return s**2  # the model is overconfident: a score of 0.6 is right 36 % of the time

    coverage, error, _ = coverage_and_error(truth, reference_rows=5_000, batches=150, seed=4)

    assert all(share >= 0.90 for share in coverage.values()), coverage
    # read as probabilities, the raw scores would be far off; calibrated, the estimates are close
    rng = np.random.default_rng(5)
    scores = beta_scores(rng, 100_000)
    raw = estimate_performance(identity_calibration(), scores, 0.5).values
    actual = realised(rng.random(scores.size) < truth(scores), scores, 0.5)
    assert abs(raw["estimated_precision"] - actual["precision"]) > 0.2
    assert error["precision"] < 0.06, error
    assert error["accuracy"] < 0.02, error


def test_a_batch_whose_scores_left_the_reference_range_is_not_estimated():
    rng = np.random.default_rng(6)
    reference = rng.beta(2, 5, 5_000) * 0.8  # scores up to 0.8
    calibration = fit_calibration(reference, rng.random(5_000) < reference)
    shifted = rng.beta(2, 5, 1_000) * 0.8 + 0.3  # a tenth of them above 0.72

    estimate = estimate_performance(calibration, shifted, 0.5)

    assert estimate.values == {}
    assert estimate.as_dict() == {}
    reason = estimate.untrusted["all"]
    assert "outside the reference's score range" in reason
    assert "have shifted" in reason
    # the unshifted batch is estimated
    same = estimate_performance(calibration, rng.beta(2, 5, 1_000) * 0.8, 0.5)
    assert same.untrusted == {}
    assert set(same.values) == {
        f"estimated_{metric}{suffix}"
        for metric in METRICS
        for suffix in ("", "_ci_low", "_ci_high")
    }


def test_one_extreme_row_of_a_small_batch_is_chance_not_a_shift():
    rng = np.random.default_rng(13)
    reference = rng.random(400) * 0.9 + 0.05
    calibration = fit_calibration(reference, rng.random(400) < reference)
    month = rng.random(30) * 0.8 + 0.1

    one_out = estimate_performance(calibration, np.r_[month[:29], 0.99], 0.5)
    four_out = estimate_performance(calibration, np.r_[month[:26], [0.99, 0.98, 0.01, 0.02]], 0.5)

    assert one_out.untrusted == {}
    assert "13.3% of the batch's scores (4 of 30) lie outside" in four_out.untrusted["all"]


def test_a_score_not_monotone_in_the_label_rate_is_a_poor_calibration():
    rng = np.random.default_rng(7)
    scores = rng.random(5_000)
    labels = rng.random(5_000) < np.where(scores > 0.5, 1.2 - scores, scores)  # up, then down

    calibration = fit_calibration(scores, labels)
    estimate = estimate_performance(calibration, rng.random(1_000), 0.5)

    assert estimate.values == {}
    assert "the calibration is poor on the reference" in estimate.untrusted["all"]
    assert calibration.quality["p_value"] < 0.001
    assert calibration.quality["ece"] > 0.05


def test_a_small_reference_gives_wider_intervals_that_still_cover():
    coverage, _, counts = coverage_and_error(lambda s: s, reference_rows=400, batches=150, seed=8)
    assert all(share >= 0.90 for share in coverage.values()), coverage
    assert counts["accuracy"] >= 135  # some batches fall outside a small reference's range

    rng = np.random.default_rng(9)
    scores = beta_scores(rng, 1_000)
    widths = []
    for rows in (400, 20_000):
        reference = beta_scores(rng, rows)
        calibration = fit_calibration(reference, rng.random(rows) < reference)
        values = estimate_performance(calibration, scores, 0.5).values
        widths.append(values["estimated_auc_ci_high"] - values["estimated_auc_ci_low"])
    assert widths[0] > 1.5 * widths[1]


def test_a_reference_with_too_few_positives_or_one_class_is_not_estimated():
    rng = np.random.default_rng(10)
    scores = rng.random(2_000)
    labels = np.zeros(2_000, dtype=bool)
    labels[np.argsort(scores)[-20:]] = True  # 20 positives

    estimate = estimate_performance(fit_calibration(scores, labels), scores, 0.5)
    assert estimate.values == {}
    assert estimate.untrusted["all"].startswith("the reference holds 20 positive label(s)")

    single = fit_calibration(scores, np.ones(2_000, dtype=bool))
    reason = estimate_performance(single, scores, 0.5).untrusted["all"]
    assert reason.startswith("the reference holds 0 negative label(s), fewer than 30")


def test_a_batch_predicted_all_negative_has_no_precision_and_zero_recall():
    rng = np.random.default_rng(11)
    reference = beta_scores(rng, 5_000)
    calibration = fit_calibration(reference, rng.random(5_000) < reference)
    scores = np.clip(beta_scores(rng, 1_000), None, 0.79)

    none_flagged = estimate_performance(calibration, scores, 0.8)
    assert none_flagged.untrusted == {
        "precision": "no predicted positive in the batch: precision is undefined"
    }
    values = none_flagged.values
    assert (values["estimated_recall"], values["estimated_recall_ci_high"]) == (0.0, 0.0)
    assert (values["estimated_f1"], values["estimated_f1_ci_high"]) == (0.0, 0.0)
    assert 0.6 < values["estimated_accuracy"] < 0.8

    all_flagged = estimate_performance(calibration, scores, 0.0).values
    assert all_flagged["estimated_recall"] == all_flagged["estimated_recall_ci_low"] == 1.0
    assert all_flagged["estimated_accuracy"] == pytest.approx(all_flagged["estimated_precision"])


def test_a_batch_with_almost_no_expected_positive_has_no_recall_f1_or_auc():
    calibration = identity_calibration()
    scores = np.full(200, 0.005)  # one positive expected

    estimate = estimate_performance(calibration, scores, 0.5)

    assert set(estimate.untrusted) == {"auc", "precision", "recall", "f1"}
    assert "only 1.0 positive row(s) expected" in estimate.untrusted["recall"]
    assert set(estimate.values) == {
        "estimated_accuracy",
        "estimated_accuracy_ci_low",
        "estimated_accuracy_ci_high",
    }


def test_predicted_classes_can_be_given_instead_of_the_threshold():
    scores = np.linspace(0.01, 0.99, 500)
    by_threshold = estimate_performance(identity_calibration(), scores, 0.5)
    given = estimate_performance(
        identity_calibration(), scores, 0.9, predicted=(scores >= 0.5).astype(int)
    )
    assert given.values == by_threshold.values


def test_a_version_saved_before_calibrations_gets_no_estimate_with_the_reason():
    scores = np.linspace(0.01, 0.99, 100)
    old = estimate_for_version({"threshold": 0.5}, scores)
    assert old.values == {}
    assert old.untrusted == {"all": NO_CALIBRATION}
    assert NO_CALIBRATION.startswith("this model version was saved before score calibrations")

    metadata = {"threshold": 0.5, CALIBRATION_KEY: identity_calibration().to_dict()}
    assert estimate_for_version(metadata, scores) == estimate_performance(
        identity_calibration(), scores, 0.5
    )
    with pytest.raises(ModelIntegrityError):
        estimate_for_version({"threshold": 0.5, CALIBRATION_KEY: {"method": "isotonic"}}, scores)


@pytest.mark.parametrize(
    ("scores", "threshold", "error", "message"),
    [
        ([], 0.5, EmptyBatchError, "no rows"),
        ([0.2, float("nan")], 0.5, DataValidationError, "NaN"),
        ([0.2, 1.7], 0.5, DataValidationError, "must lie in [0, 1]"),
        ([0.2, 0.3], 1.5, DataValidationError, "threshold must lie in [0, 1]"),
        ([[0.2, 0.3]], 0.5, DataValidationError, "one-dimensional"),
    ],
)
def test_scores_that_are_not_probabilities_are_refused(scores, threshold, error, message):
    with pytest.raises(error) as caught:
        estimate_performance(identity_calibration(), scores, threshold)
    assert message in str(caught.value)


def test_the_tutorial_model_stores_a_calibration_whose_intervals_hold_its_later_quarters(
    prepared_data, trained_model, tutorial_config
):
    from include.data.batches import select_period
    from include.model.features import binary_labels, feature_frame
    from include.periods import Period

    metadata = json.loads(json.dumps(trained_model.metadata))
    calibration = Calibration.from_dict(metadata[CALIBRATION_KEY])
    assert calibration.reference_rows == metadata["test_rows"]

    for quarter in ("2017Q2", "2017Q3", "2017Q4"):
        batch = select_period(prepared_data, tutorial_config.date_column, Period.parse(quarter))
        scores = trained_model.pipeline.predict_proba(feature_frame(batch, tutorial_config))[:, 1]
        estimate = estimate_for_version(metadata, scores)
        labels = binary_labels(batch, tutorial_config).to_numpy()
        actual = realised(labels, scores, metadata["threshold"])

        assert estimate.untrusted == {}, quarter
        for metric in METRICS:
            low = estimate.values[f"estimated_{metric}_ci_low"]
            high = estimate.values[f"estimated_{metric}_ci_high"]
            assert low <= actual[metric] <= high, (quarter, metric)


def test_a_registered_model_calibrates_on_its_labelled_reference(tmp_path):
    from include.config import parse_config
    from include.model.registry import register_model

    rng = np.random.default_rng(14)
    scores = rng.beta(2, 5, 3_000)
    labels = rng.random(scores.size) < scores**2  # an overconfident model of someone else's
    reference = pd.DataFrame(
        {
            "day": pd.Timestamp("2017-01-01") + pd.to_timedelta(rng.integers(0, 90, 3_000), "D"),
            "amount": rng.random(3_000),
            "score": scores,
            "churned": labels.astype("int64"),
        }
    )
    config = parse_config(
        {
            "name": "churn",
            "label": "churned",
            "date_column": "day",
            "reference_period": "2017Q1",
            "batch_periods": ["2017Q2"],
            "numeric_features": ["amount"],
            "model": {"source": "predictions", "score_column": "score"},
        }
    )

    model = register_model(config, reference, root=tmp_path, reference_description="Q1 scores")

    stored = Calibration.from_dict(model.metadata[CALIBRATION_KEY])
    assert (
        stored.to_dict()
        == fit_calibration(
            scores, labels, times=reference["day"], threshold=model.metadata["threshold"]
        ).to_dict()
    )
    # 90 days of a stationary relation: twelve runs of 250 rows, no drift beyond noise
    assert stored.drift["chunks"] == 12
    assert all(stored.drift[metric] < 0.03**2 for metric in METRICS)
    assert stored.calibrated(np.array([0.6]))[0] == pytest.approx(0.36, abs=0.08)
