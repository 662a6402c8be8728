from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from include.config import CostMatrix
from include.errors import DataValidationError
from include.evaluation.metrics import binary_metrics
from include.streaming.performance import summary_metrics
from include.streaming.scores import ScoreSummary

COSTS = CostMatrix(true_positive=5.0, false_positive=-1.0, true_negative=0.0, false_negative=-5.0)

BOUNDED = ("auc", "auc_ci_low", "auc_ci_high", "lift")
ROUNDED = ("log_loss", "calibration_loss")
SLACK = 1e-12  # rounding of the two computations: a bound can be reached exactly


def _fraud(rng, rows):
    """1 % positives, most scores of both classes in the lowest hundredth."""
    labels = (rng.random(rows) < 0.01).astype(np.int64)
    scores = np.where(labels == 1, rng.beta(2.0, 3.0, rows), rng.beta(0.6, 12.0, rows))
    return scores, labels


def _balanced(rng, rows):
    labels = (rng.random(rows) < 0.5).astype(np.int64)
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(0.0, 1.0, rows) + 1.5 * labels - 0.75)))
    return scores, labels


def _middle_band(rng, rows):
    """Both classes' scores in one band 0.05 wide around 0.5: the grid's hardest case."""
    labels = (rng.random(rows) < 0.3).astype(np.int64)
    return 0.5 + 0.01 * rng.normal(size=rows) + 0.005 * labels, labels


def _two_decimals(rng, rows):
    """Scores rounded to 0.01: thousands of rows tied at the threshold 0.35 and at the cut."""
    scores, labels = _balanced(rng, rows)
    return scores.round(2), labels


def _certain(rng, rows):
    """Scores of exactly 0 and 1, some of them wrong: the log loss clips them."""
    labels = (rng.random(rows) < 0.2).astype(np.int64)
    scores = np.where(rng.random(rows) < 0.9, labels, 1 - labels).astype(np.float64)
    scores[rng.random(rows) < 0.3] = rng.random()
    return scores, labels


def _negatives_only(rng, rows):
    return rng.beta(0.6, 12.0, rows), np.zeros(rows, dtype=np.int64)


def _positives_only(rng, rows):
    return rng.beta(2.0, 3.0, rows), np.ones(rows, dtype=np.int64)


def _one_positive(rng, rows):
    scores, labels = _fraud(rng, rows)
    labels[:] = 0
    labels[np.argsort(scores)[-rows // 50]] = 1  # ranked among the top 2 %
    return scores, labels


BATCHES = {
    "fraud": (_fraud, 0.3),
    "balanced": (_balanced, 0.5),
    "middle band": (_middle_band, 0.505),
    "ties at the threshold": (_two_decimals, 0.35),
    "scores of 0 and 1": (_certain, 0.5),
    "no predicted positive": (_fraud, 1.0),
    "all predicted positive": (_balanced, 0.0),
    "negatives only": (_negatives_only, 0.3),
    "positives only": (_positives_only, 0.3),
    "one positive": (_one_positive, 0.3),
}


def _summarise(scores, labels, threshold, partitions=1, chunks=1) -> ScoreSummary:
    """Each partition summarised chunk by chunk, as a mapped task would, then merged."""
    merged = None
    for part_scores, part_labels in zip(
        np.array_split(scores, partitions), np.array_split(labels, partitions), strict=True
    ):
        summary = ScoreSummary.empty(threshold)
        for chunk_scores, chunk_labels in zip(
            np.array_split(part_scores, chunks), np.array_split(part_labels, chunks), strict=True
        ):
            summary.update(chunk_scores, chunk_labels)
        merged = summary if merged is None else merged.merge(summary)
    return merged


def _assert_matches(result, exact):
    """Exact fields equal, log and calibration loss to rounding, the rest within its bound."""
    metrics, bounds = result
    for field in dataclasses.fields(exact):
        value, expected = getattr(metrics, field.name), getattr(exact, field.name)
        if expected is None or field.name not in BOUNDED + ROUNDED:
            assert value == expected, field.name
        elif field.name in ROUNDED:
            assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), field.name
        else:
            assert abs(value - expected) <= bounds[field.name] + SLACK, field.name
    assert set(bounds) == {name for name in BOUNDED if getattr(exact, name) is not None}


@pytest.mark.parametrize("batch", BATCHES)
def test_merged_partitions_give_binary_metrics_exactly_or_within_the_bounds(batch):
    make, threshold = BATCHES[batch]
    scores, labels = make(np.random.default_rng(len(batch)), 100_000)
    exact = binary_metrics(labels, scores, threshold=threshold, cost_matrix=COSTS)

    one_pass = summary_metrics(_summarise(scores, labels, threshold), cost_matrix=COSTS)
    merged = summary_metrics(
        _summarise(scores, labels, threshold, partitions=4, chunks=3), cost_matrix=COSTS
    )

    _assert_matches(one_pass, exact)
    _assert_matches(merged, exact)
    assert merged.bounds == one_pass.bounds


@pytest.mark.parametrize("batch", ["fraud", "balanced", "middle band", "one positive"])
def test_auc_interval_from_the_bins_is_within_1e_3_of_delong_at_100k_rows(batch):
    make, threshold = BATCHES[batch]
    scores, labels = make(np.random.default_rng(7), 100_000)
    exact = binary_metrics(labels, scores, threshold=threshold, cost_matrix=COSTS)

    metrics, bounds = summary_metrics(_summarise(scores, labels, threshold), cost_matrix=COSTS)

    for end in ("auc_ci_low", "auc_ci_high"):
        assert abs(getattr(metrics, end) - getattr(exact, end)) <= bounds[end] + SLACK
    if batch != "one positive":  # Hanley–McNeil's bound is loose: √ of the AUC's bound
        assert bounds["auc_ci_low"] < 1e-3


def test_lift_bound_covers_every_order_of_rows_tied_at_the_cut():
    # 3,000 rows tied at 0.9, both classes: the top decile (1,000 rows) ends among them, and
    # which of them enter depends on row order alone
    rng = np.random.default_rng(3)
    scores = np.concatenate([np.full(3_000, 0.9), rng.uniform(0.0, 0.8, 7_000)])
    labels = np.concatenate([rng.random(3_000) < 0.6, rng.random(7_000) < 0.1]).astype(int)
    (metrics, bounds) = summary_metrics(_summarise(scores, labels, 0.5), cost_matrix=COSTS)

    tied = np.arange(3_000)
    positives_first = np.concatenate([tied[np.argsort(-labels[:3_000])], np.arange(3_000, 10_000)])
    negatives_first = np.concatenate([tied[np.argsort(labels[:3_000])], np.arange(3_000, 10_000)])
    lifts = [
        binary_metrics(labels[order], scores[order], threshold=0.5, cost_matrix=COSTS).lift
        for order in (positives_first, negatives_first, rng.permutation(10_000))
    ]

    assert bounds["lift"] > 0.1
    assert all(abs(metrics.lift - lift) <= bounds["lift"] + SLACK for lift in lifts)
    # the bound is reached by one of the two extreme orders
    assert max(abs(metrics.lift - lift) for lift in lifts[:2]) == pytest.approx(bounds["lift"])


def test_unlabelled_rows_are_left_out():
    scores, labels = _fraud(np.random.default_rng(4), 20_000)
    summary = _summarise(scores, labels, 0.3)
    with_unlabelled = _summarise(scores, labels, 0.3)
    with_unlabelled.update(np.random.default_rng(5).random(5_000))
    with_unlabelled.update([0.1, 0.9, 0.95], [np.nan, None, np.nan])

    assert summary_metrics(with_unlabelled, cost_matrix=COSTS) == summary_metrics(
        summary, cost_matrix=COSTS
    )


def test_a_summary_without_a_labelled_row_has_no_realised_performance():
    summary = ScoreSummary.empty(0.5)
    summary.update([0.2, 0.7, 0.9])

    with pytest.raises(DataValidationError, match=r"no labelled row \(3 rows without a label\)"):
        summary_metrics(summary, cost_matrix=COSTS)
    with pytest.raises(DataValidationError, match="no labelled row"):
        summary_metrics(ScoreSummary.empty(0.5), cost_matrix=COSTS)
