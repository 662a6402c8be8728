from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from include.config import CostMatrix
from include.errors import ConfigurationError, DataValidationError
from include.evaluation.metrics import binary_metrics
from include.streaming.scores import ScoreSummary

COSTS = CostMatrix(true_positive=1.0, false_positive=-1.0, true_negative=0.0, false_negative=-1.0)


def _batch(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced labels (8 % positives) with scores crowding near 0, as a fraud model's."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < 0.08).astype(np.int64)
    scores = np.where(labels == 1, rng.beta(2.0, 3.0, rows), rng.beta(0.6, 12.0, rows))
    return scores, labels


def _summarise(scores, labels, threshold: float, chunks: int = 1) -> ScoreSummary:
    summary = ScoreSummary.empty(threshold)
    for part_scores, part_labels in zip(
        np.array_split(scores, chunks), np.array_split(labels, chunks), strict=True
    ):
        summary.update(part_scores, part_labels)
    return summary


def test_partitions_merged_equal_one_pass_and_the_exact_metrics():
    scores, labels = _batch(300_000)
    whole = _summarise(scores, labels, 0.3)
    parts = [
        _summarise(s, y, 0.3, chunks=3)
        for s, y in zip(np.array_split(scores, 4), np.array_split(labels, 4), strict=True)
    ]
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    exact = binary_metrics(labels, scores, threshold=0.3, cost_matrix=COSTS)

    for part in ("positives", "negatives", "unlabelled"):
        assert np.array_equal(getattr(merged, part), getattr(whole, part))
    assert merged.confusion() == exact.confusion_matrix
    assert merged.predicted_positive_rate() == exact.predicted_positive_rate
    auc = merged.auc()
    assert auc == whole.auc()
    assert abs(auc.value - exact.auc) <= auc.bound
    assert auc.bound < 1e-4


def test_merge_order_does_not_matter():
    scores, labels = _batch(30_000, seed=1)
    parts = [
        _summarise(s, y, 0.5)
        for s, y in zip(np.array_split(scores, 3), np.array_split(labels, 3), strict=True)
    ]
    left = parts[0].merge(parts[1]).merge(parts[2])
    right = parts[2].merge(parts[0].merge(parts[1]))

    for part in ("positives", "negatives", "unlabelled", "calibration_positives"):
        assert np.array_equal(getattr(left, part), getattr(right, part))
    # float sums: the order of additions may change the last bits, nothing more
    for part in ("log_likelihood", "calibration_scores"):
        assert getattr(left, part) == pytest.approx(getattr(right, part), rel=1e-14)


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.5, 0.7, 1.0])
def test_scores_at_the_threshold_are_predicted_positive(threshold):
    scores = np.array([threshold, threshold, np.nextafter(threshold, -1.0), 0.0, 1.0]).clip(0, 1)
    labels = np.array([1, 0, 1, 0, 1])
    summary = _summarise(scores, labels, threshold)

    exact = binary_metrics(labels, scores, threshold=threshold, cost_matrix=COSTS)
    assert summary.confusion() == exact.confusion_matrix


def test_tied_scores_count_one_half_as_the_exact_auc():
    # every score is one of three values: ties within a bin are exact ties, so the AUC is exact
    rng = np.random.default_rng(2)
    scores = rng.choice([0.1, 0.4, 0.9], 10_000)
    labels = (rng.random(10_000) < scores).astype(int)
    auc = _summarise(scores, labels, 0.4).auc()
    exact = binary_metrics(labels, scores, threshold=0.4, cost_matrix=COSTS).auc

    assert auc.value == pytest.approx(exact, abs=1e-15)
    assert abs(auc.value - exact) <= auc.bound


def test_bins_keep_the_order_of_nearby_scores():
    # neighbouring floats around the grid's difficult places: 0, 0.5, 1, the threshold
    seeds = np.array([0.0, 2.0**-40, 0.25, 0.3, 0.5, 0.75, 1.0])
    scores = np.unique(
        np.concatenate([seeds, np.nextafter(seeds, 2.0), np.nextafter(seeds, -1.0)]).clip(0, 1)
    )
    summary = ScoreSummary.empty(0.3)
    index = summary._bin_index(scores)

    assert np.all(np.diff(index) >= 0)
    assert index.max() < summary.bins
    assert np.all((index >= summary.below) == (scores >= 0.3))


def test_unlabelled_rows_count_for_the_predicted_positive_rate_only():
    summary = ScoreSummary.empty(0.5)
    summary.update([0.9, 0.1, 0.6, 0.2], [1, 0, np.nan, None])
    summary.update([0.7, 0.8])

    assert summary.rows == 6
    assert summary.predicted_positive_rate() == 4 / 6
    matrix = summary.confusion()
    assert (matrix.true_positive, matrix.true_negative) == (1, 1)
    assert (matrix.false_positive, matrix.false_negative) == (0, 0)


def test_log_loss_and_calibration_sums_of_the_labelled_rows():
    scores, labels = _batch(50_000, seed=4)
    scores[:50] = 0.0  # certain and partly wrong: clipped to 1e-15 as the log loss clips
    scores[50:100] = 1.0
    summary = _summarise(scores, labels, 0.3, chunks=5)
    summary.update([0.05, 0.95, 1.0], [np.nan, None, np.nan])  # unlabelled: no sum moves
    clipped = np.clip(np.where(labels == 1, scores, 1.0 - scores), 1e-15, 1.0 - 1e-15)
    calibration_bin = np.minimum((scores * 10).astype(int), 9)

    assert summary.log_likelihood == pytest.approx(
        [np.log(clipped[labels == 0]).sum(), np.log(clipped[labels == 1]).sum()], rel=1e-12
    )
    assert summary.calibration_scores == pytest.approx(
        np.bincount(calibration_bin, weights=scores, minlength=10), rel=1e-12
    )
    assert np.array_equal(
        summary.calibration_positives, np.bincount(calibration_bin[labels == 1], minlength=10)
    )
    exact = binary_metrics(labels, scores, threshold=0.3, cost_matrix=COSTS)
    assert -summary.log_likelihood.sum() / summary.labelled_rows == pytest.approx(
        exact.log_loss, rel=1e-12
    )


def test_empty_chunks_change_nothing():
    summary = ScoreSummary.empty(0.5)
    summary.update([], [])
    summary.update(np.array([0.2, 0.8]), np.array([0, 1]))
    summary.update(np.empty(0))

    assert summary.rows == 2
    assert summary.auc() == (1.0, 0.0)


def test_auc_needs_both_classes():
    summary = ScoreSummary.empty(0.5)
    summary.update([0.2, 0.8], [1, 1])

    with pytest.raises(DataValidationError, match="no labelled negative"):
        summary.auc()
    with pytest.raises(DataValidationError, match="no rows"):
        ScoreSummary.empty(0.5).predicted_positive_rate()


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        ([0.2, 1.5], None, "outside"),
        ([0.2, np.nan], None, "NaN"),
        (["a"], None, "not numbers"),
        ([0.2, 0.3], [1, 2], "0, 1 or missing"),
        ([0.2, 0.3], [1], "2 scores but 1 labels"),
    ],
)
def test_bad_chunks_are_refused(scores, labels, message):
    with pytest.raises(DataValidationError, match=message):
        ScoreSummary.empty(0.5).update(scores, labels)


def test_merging_other_thresholds_or_grids_is_refused():
    base = ScoreSummary.empty(0.5)

    with pytest.raises(ConfigurationError, match="different thresholds or grids"):
        base.merge(ScoreSummary.empty(0.4))
    with pytest.raises(ConfigurationError, match="different thresholds or grids"):
        base.merge(ScoreSummary.empty(0.5, relative_bits=8))
    with pytest.raises(ConfigurationError, match="threshold must lie in"):
        ScoreSummary.empty(1.2)


def test_round_trip_through_json():
    scores, labels = _batch(20_000, seed=3)
    summary = _summarise(scores, labels, 0.35)
    summary.update([0.1, 0.9])
    document = json.loads(json.dumps(summary.to_dict()))
    restored = ScoreSummary.from_dict(document)

    assert restored.to_dict() == summary.to_dict()
    assert restored.auc() == summary.auc()
    assert restored.confusion() == summary.confusion()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("negatives"), "'negatives' is missing"),
        (lambda d: d.update(format="other"), "declares format 'other'"),
        (lambda d: d.update(threshold="half"), "not a finite number"),
        (lambda d: d.update(threshold=2.0), "threshold must lie in"),
        (lambda d: d.update(relative_bits=-1), "not a count"),
        (lambda d: d.update(positives="!!"), "cannot be decoded"),
        (lambda d: d.update(version=1), "version 1, expected 'mes-score-summary' version 2"),
        (lambda d: d.pop("log_likelihood"), "'log_likelihood' is missing"),
        (lambda d: d.update(log_likelihood=[0.0]), "list of 2 numbers"),
        (lambda d: d.update(log_likelihood=[-1.0, 0.5]), "log-likelihood sum is positive"),
        (lambda d: d.update(log_likelihood=[0.0, float("nan")]), "not a finite number"),
        (lambda d: d.update(calibration_scores=[-1.0] + [0.0] * 9), "sum of scores is negative"),
        (lambda d: d.update(calibration_positives=[1.5] + [0] * 9), "not a count"),
        (lambda d: d.update(calibration_positives=[1] + [0] * 9), "hold 1 positives, the score"),
        (
            lambda d: d.update(
                positives=ScoreSummary.empty(0.5, uniform_bits=4).to_dict()["positives"]
            ),
            "expected 145410 counts",
        ),
    ],
)
def test_malformed_documents_are_refused(change, message):
    document = ScoreSummary.empty(0.5).to_dict()
    change(document)

    with pytest.raises(DataValidationError, match=message):
        ScoreSummary.from_dict(document)


def test_negative_counts_are_refused():
    summary = ScoreSummary.empty(0.5)
    summary.positives[3] = -1

    with pytest.raises(DataValidationError, match="negative"):
        ScoreSummary.from_dict(summary.to_dict())


def test_a_summary_the_earlier_code_wrote_loads_and_is_written_the_same():
    # written by ScoreSummary.to_dict at commit 70e39ca
    stored = Path(__file__).parents[1] / "stored" / "score_summary.json"
    document = json.loads(stored.read_text())

    assert ScoreSummary.from_dict(document).to_dict() == document
