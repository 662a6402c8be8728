"""The estimate without labels from a score summary against ``estimate_for_version`` on the scores.

Calibrations are real (``fit_calibration`` on synthetic reference scores and labels); every value
of the summary's estimate must lie within its stated bound of the in-memory one, and the bounds
must be small enough to be of use.
"""

from __future__ import annotations

import numpy as np
import pytest

from include.errors import ConfigurationError, EmptyBatchError
from include.evaluation.calibration import CALIBRATION_KEY, fit_calibration
from include.evaluation.estimation import (
    MIN_REFERENCE_CLASS_ROWS,
    NO_CALIBRATION,
    estimate_for_version,
)
from include.evaluation.expected_metrics import _moments
from include.streaming.estimate import bin_ranges, summary_estimate
from include.streaming.scores import ScoreSummary

REFERENCE_ROWS = 20_000


def _fraud(rng, rows):
    """2 % positives; the negatives crowd near 0."""
    labels = rng.random(rows) < 0.02
    return np.where(labels, rng.beta(2.0, 8.0, rows), rng.beta(0.6, 60.0, rows)), labels


def _balanced(rng, rows):
    labels = rng.random(rows) < 0.5
    return np.where(labels, rng.beta(5.0, 4.0, rows), rng.beta(4.0, 5.0, rows)), labels


KINDS = {"fraud": (_fraud, 0.1, 2e-4), "balanced": (_balanced, 0.5, 2e-5)}
"""Scores, threshold, and the largest bound these scores may get."""


def _metadata(kind, seed=7):
    make, threshold, _ = KINDS[kind]
    scores, labels = make(np.random.default_rng(seed), REFERENCE_ROWS)
    calibration = fit_calibration(scores, labels, threshold=threshold)
    return {CALIBRATION_KEY: calibration.to_dict(), "threshold": threshold}, calibration


def _summary(threshold, scores, labels=None):
    summary = ScoreSummary.empty(threshold)
    summary.update(scores, labels)
    return summary


def _assert_within_bounds(estimate, bounds, expected, largest):
    assert estimate.untrusted == expected.untrusted
    assert set(estimate.values) == set(expected.values) == set(bounds)
    for key, value in expected.values.items():
        assert abs(estimate.values[key] - value) <= bounds[key], key
        assert bounds[key] <= largest, key
    for count, value in expected.expected_confusion.items():
        assert estimate.expected_confusion[count] == pytest.approx(value, rel=1e-3), count


@pytest.mark.parametrize("rows", [100_000, 1_000_000])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_estimate_within_its_bounds_of_the_in_memory_estimate(kind, rows):
    metadata, calibration = _metadata(kind)
    make, threshold, largest = KINDS[kind]
    scores, _ = make(np.random.default_rng(rows), rows)
    inside = (scores >= calibration.score_min) & (scores <= calibration.score_max)
    scores = scores[inside]
    expected = estimate_for_version(metadata, scores)
    assert set(expected.values) == {
        f"estimated_{m}{end}"
        for m in ("auc", "accuracy", "precision", "recall", "f1")
        for end in ("", "_ci_low", "_ci_high")
    }
    estimate, bounds = summary_estimate(metadata, _summary(threshold, scores))
    _assert_within_bounds(estimate, bounds, expected, largest)


def test_labelled_and_unlabelled_rows_all_count():
    metadata, _ = _metadata("balanced")
    rng = np.random.default_rng(3)
    scores, labels = _balanced(rng, 50_000)
    given = labels.astype(np.float64)
    given[rng.random(scores.size) < 0.4] = np.nan
    expected = estimate_for_version(metadata, scores)
    estimate, bounds = summary_estimate(metadata, _summary(0.5, scores, given))
    _assert_within_bounds(estimate, bounds, expected, KINDS["balanced"][2])


def test_merged_partitions_give_the_estimate_of_the_whole():
    metadata, _ = _metadata("fraud")
    scores, _ = _fraud(np.random.default_rng(5), 60_000)
    parts = [_summary(0.1, chunk) for chunk in np.array_split(scores, 3)]
    merged = parts[2].merge(parts[0]).merge(parts[1])
    whole, whole_bounds = summary_estimate(metadata, _summary(0.1, scores))
    estimate, bounds = summary_estimate(metadata, merged)
    assert estimate.values == whole.values
    assert bounds == whole_bounds


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_weighted_sums_equal_the_repeated_scores(kind):
    _, calibration = _metadata(kind)
    make, threshold, _ = KINDS[kind]
    rng = np.random.default_rng(11)
    # few distinct scores (ties) and some zero weights, beyond the knots on both sides too
    values = np.unique(np.round(make(rng, 3_000)[0], 3))
    values = np.r_[0.0, values, 1.0]
    weights = rng.integers(0, 40, values.size)
    repeated = np.repeat(values, weights)
    for flag_rows, flag_values in (
        (repeated >= threshold, values >= threshold),
        (np.repeat(values * 1000 % 2 < 1, weights), values * 1000 % 2 < 1),  # not a suffix
    ):
        expected = _moments(calibration, repeated, flag_rows)
        got = _moments(calibration, values, flag_values, weights.astype(np.float64))
        assert set(got[0]) == set(expected[0])
        assert got[1] == expected[1]
        for metric, (value, variance) in expected[0].items():
            assert got[0][metric][0] == pytest.approx(value, rel=1e-12, abs=0.0), metric
            assert got[0][metric][1] == pytest.approx(variance, rel=1e-12, abs=0.0), metric
        for count, value in expected[2].items():
            assert got[2][count] == pytest.approx(value, rel=1e-12, abs=1e-9), count


def test_bin_ranges_are_each_bins_exact_lowest_and_highest_score():
    rng = np.random.default_rng(2)
    scores = np.r_[rng.random(20_000), 10 ** -rng.uniform(0.3, 13, 20_000), 0.0, 1.0, 0.3]
    scores = np.r_[scores, 1.0 - scores]
    summary = _summary(0.3, scores)
    index = summary._bin_index(scores)
    low, high = bin_ranges(summary, index)
    assert np.all(low <= scores)
    assert np.all(scores <= high)
    assert np.array_equal(summary._bin_index(low), index)
    assert np.array_equal(summary._bin_index(high), index)
    below = np.nextafter(low, -np.inf)
    above = np.nextafter(high, np.inf)
    assert np.all(summary._bin_index(below[low > 0]) < index[low > 0])
    assert np.all(summary._bin_index(above[high < 1]) > index[high < 1])
    # the threshold is the lowest score of the first bin at or above it
    assert low[scores == 0.3][0] == 0.3


def test_scores_outside_the_reference_range_give_the_same_reason():
    metadata, calibration = _metadata("balanced")
    rng = np.random.default_rng(4)
    scores, _ = _balanced(rng, 20_000)
    scores = scores[
        (scores > calibration.score_min + 0.01) & (scores < calibration.score_max - 0.01)
    ]
    shifted = np.r_[scores, np.full(600, min(1.0, calibration.score_max + 0.02))]
    for batch in (scores, shifted):
        expected = estimate_for_version(metadata, batch)
        estimate, bounds = summary_estimate(metadata, _summary(0.5, batch))
        assert estimate.untrusted == expected.untrusted
        assert set(estimate.values) == set(expected.values)
    assert "outside the reference's score range" in expected.untrusted["all"]
    assert bounds == {}


def test_a_bin_straddling_the_range_counts_as_outside():
    metadata, calibration = _metadata("balanced")
    rng = np.random.default_rng(6)
    scores, _ = _balanced(rng, 10_000)
    high = calibration.score_max
    scores = np.r_[np.clip(scores, calibration.score_min, high), np.full(500, high)]
    expected = estimate_for_version(metadata, scores)
    assert expected.untrusted == {}  # the rows at the range's end are inside
    estimate, _ = summary_estimate(metadata, _summary(0.5, scores))
    # the summary cannot tell them from rows just above it: the cautious side
    assert "outside the reference's score range" in estimate.untrusted["all"]


def test_reasons_that_do_not_read_the_scores_are_the_same():
    rng = np.random.default_rng(8)
    scores = rng.random(2_000)
    labels = np.zeros(2_000, dtype=bool)
    labels[: MIN_REFERENCE_CLASS_ROWS - 1] = True
    small = {CALIBRATION_KEY: fit_calibration(scores, labels).to_dict(), "threshold": 0.5}
    batch = rng.random(1_000)
    for metadata in (small, {"threshold": 0.5}):
        estimate, bounds = summary_estimate(metadata, _summary(0.5, batch))
        assert estimate.untrusted == estimate_for_version(metadata, batch).untrusted
        assert estimate.values == {}
        assert bounds == {}
    assert summary_estimate({"threshold": 0.5}, _summary(0.5, batch))[0].untrusted == {
        "all": NO_CALIBRATION
    }


def test_empty_summary_and_wrong_threshold_are_refused():
    metadata, _ = _metadata("balanced")
    with pytest.raises(EmptyBatchError):
        estimate_for_version(metadata, np.array([]))
    with pytest.raises(EmptyBatchError):
        summary_estimate(metadata, ScoreSummary.empty(0.5))
    with pytest.raises(ConfigurationError, match="threshold"):
        summary_estimate(metadata, _summary(0.4, np.array([0.2, 0.6])))


def test_an_estimate_with_every_score_bin_filled_stays_within_its_bounds():
    # its time is measured by benchmarks/evaluate_period.py, not asserted here
    rng = np.random.default_rng(9)
    reference, labels = _balanced(rng, REFERENCE_ROWS)
    reference[:2], labels[:2] = (0.0, 1.0), (False, True)  # the range is all of [0, 1]
    calibration = fit_calibration(reference, labels, threshold=0.5)
    metadata = {CALIBRATION_KEY: calibration.to_dict(), "threshold": 0.5}
    rows = 1_000_000
    near = 10 ** -rng.uniform(0.3, 12.1, rows)
    scores = np.r_[rng.random(rows), near, 1.0 - near]
    summary = _summary(0.5, scores)
    assert np.count_nonzero(summary.unlabelled) > 120_000
    estimate, bounds = summary_estimate(metadata, summary)
    expected = estimate_for_version(metadata, scores)
    assert estimate.untrusted == expected.untrusted == {}
    for key, value in expected.values.items():
        assert abs(estimate.values[key] - value) <= bounds[key], key
